#!/usr/bin/env python3
"""Writes fuzz/corpus/<target>/ from real inputs: the protocol's beacon vectors, API.md's query shapes, page
and referrer URLs, and user agents from uap-core's test suite. Re-run after the protocol vectors change:
    python3 fuzz/seeds/make_corpus.py
Files are named by their SHA-1, as libFuzzer names corpus entries."""
import hashlib, json, os, pathlib, urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "fuzz" / "corpus"
NOW = 1_795_000_000_000


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def fill(text):
    return (text.replace("SITE", "s1").replace("HOST", "example.com")
            .replace("LONG2100", "a" * 2100).replace("NAME65", "n" * 65))


# Beacons: the first byte says who sends (0 a browser, 1 a server with an events:write key).
vectors = json.loads((ROOT / "protocol" / "beacon-vectors.json").read_text())
for v in vectors["valid"] + vectors["invalid"]:
    if "body" in v:
        body = fill(json.dumps(v["body"]))
    elif "raw" in v:
        body = fill(v["raw"])
    elif "raw_hex" in v:
        body = bytes.fromhex(v["raw_hex"]).decode("latin-1")
    else:
        continue
    for sender in (b"\x00", b"\x01"):
        write("beacon", sender + body.encode("latin-1", "ignore") if "raw_hex" in v else sender + body.encode())
server = [
    {"site": "s1", "type": "pageview", "url": "https://example.com/import", "ip": "192.0.2.7",
     "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0", "time": NOW - 86_400_000},
    {"site": "s1", "type": "identify", "url": "https://example.com/", "user": "u-1", "ip": "2001:db8::1",
     "time": "2026-11-20T10:00:00+01:00"},
]
for event in server:
    write("beacon", b"\x01" + json.dumps(event).encode())
write("beacon", b"\x00" + json.dumps([{"site": "s1", "type": "engagement", "url": "https://example.com/#/app?x=1",
                                        "pv": "p", "engaged_ms": 1200, "scroll": 40, "sections": {"a": 5},
                                        "props": {"f": 1.5e300, "t": "\u00e9\u0000"}}]).encode())

# Queries: the first byte says which form (even: a POST body, odd: a GET query string).
queries = [
    {"site": "s1", "metrics": ["visitors", "visits", "pageviews", "bounce_rate"], "date_range": ["2026-11-01", "2026-11-20"],
     "timezone": "Europe/Paris", "dimensions": ["page"],
     "filters": [["is", "country", ["DE", "FR"]], ["contains", "page", ["/blog"]]],
     "order_by": [["visitors", "desc"]], "limit": 100, "offset": 0, "compare": "previous_period"},
    {"site": "s1", "metrics": ["pageviews", "visits"], "date_range": "30d", "timezone": "Asia/Tokyo", "dimensions": ["time:day"]},
    {"site": "s1", "metrics": ["visitors"], "date_range": "today", "dimensions": ["time:hour"]},
    {"site": "s1", "metrics": ["visitors", "time_on_page"], "date_range": "year", "dimensions": ["section"]},
    {"site": "s1", "metrics": ["engagement_score", "conversion_rate"], "date_range": "all", "dimensions": ["time:month", "channel"]},
    {"site": "s1", "metrics": ["visits"], "date_range": "7d", "dimensions": ["time:week", "browser", "os"],
     "filters": [["not_contains", "referrer", ["spam"]], ["is_not", "visitor_type", ["anonymous"]]]},
    {"site": "s1", "metrics": ["visitors"], "date_range": ["1970-01-01", "1970-01-02"], "compare": "previous_period"},
    {"site": "s1", "metrics": ["visitors"], "date_range": ["9999-12-30", "9999-12-31"], "timezone": "Pacific/Kiritimati"},
    {"site": "s1", "metrics": ["visitors"], "date_range": "7d", "timezone": "UTC'; DROP TABLE events; --"},
]
for q in queries:
    write("query", b"\x00" + json.dumps(q).encode())
for q in queries[:6]:
    params = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in q.items()}
    write("query", b"\x01" + urllib.parse.urlencode(params).encode())
write("query", b"\x01site=s1&metrics=visitors,pageviews&date_range=month&limit=10&offset=5")

# URLs: page URLs and referrers; a line break separates utm_source from utm_medium for the campaign check.
urls = [
    "https://Example.com/a/b?x=1&utm_source=nl&utm_medium=email&utm_campaign=nov#top",
    "https://www.example.com./blog/post?ref=hn&token=abc123",
    "http://[2001:db8::1]:8080/p?utm_term=a+b&utm_content=%C3%A9",
    "https://xn--bcher-kva.example/%2e%2e/a/./b/../c?utm_source=",
    "https://www.google.co.uk/search?q=secret+words",
    "https://www.linkedin.com/jobs/view/1?trk=abc",
    "https://mail.google.com/mail/u/0/#inbox",
    "android-app://com.google.android.gm/",
    "https://user:pass@example.com/login?password=hunter2",
    "newsletter\nemail",
    "google\ncpc",
    "javascript:alert(1)",
]
for u in urls:
    write("url", u)

# User agents: a spread of uap-core's own test cases, plus crawlers and nonsense.
uas = []
tests = pathlib.Path("/usr/share/uap-core/tests/test_ua.yaml")
if tests.exists():
    lines = [l.split("user_agent_string:", 1)[1].strip() for l in tests.read_text().splitlines() if "user_agent_string:" in l]
    for l in lines[:: max(1, len(lines) // 120)]:
        if l[:1] in "'\"":
            l = l[1:-1].replace("''", "'")
        uas.append(l)
uas += [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
    "",
]
for ua in uas:
    write("user_agent", ua)
