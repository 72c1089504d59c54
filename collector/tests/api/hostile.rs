//! Hostile clients and hostile input (issue 7): slow clients are cut off by the header and body timeouts, a
//! gzip bomb costs neither memory nor time, and no byte sequence sent to the beacon endpoint and no query sent to
//! the stats API makes the collector answer 500 or panic. These run against `footfall serve` child processes,
//! so a panic anywhere in the collector shows in its log.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// A collector process on a fresh database with one site and keys, and no limits that would get in the way.
struct Collector {
    process: CollectorProcess,
    site: String,
    stats_key: String,
    events_key: String,
    client: reqwest::Client,
    db: DatabaseConnection,
}

impl Collector {
    async fn start(db: Db, label: &str) -> Collector {
        let dir = temp_dir(label);
        let url = fresh_database(db, &dir).await;
        let env = production_env(
            &url,
            &dir,
            &[
                ("FOOTFALL_LIMITS__API_PER_HOUR", "0"),
                ("FOOTFALL_INGEST__MAX_EVENTS_PER_VISITOR_MINUTE", "0"),
                ("FOOTFALL_SPOOL__SEGMENT_MAX_AGE_MS", "20"),
            ],
        );
        let site = cli_site(&env, &url, &[DOMAIN]).await;
        let stats_key = footfall_cli(&env, &["key", "add", "--scope", "stats:read"]);
        let events_key = footfall_cli(&env, &["key", "add", "--scope", "events:write", "--site", &site]);
        let process = CollectorProcess::start(&env, dir.join("collector.log"));
        let db = footfall::store::connect(&url, 1).await.unwrap();
        Collector { process, site, stats_key, events_key, client: reqwest::Client::new(), db }
    }

    fn socket(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.process.port))
    }

    /// Posts raw bytes as a browser's beacon (or, with `key`, as a server-side sender); status and JSON body.
    async fn beacon(&self, body: impl Into<Vec<u8>>, key: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/event", self.process.address()))
            .header("content-type", "text/plain")
            .body(body.into());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("the collector answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn query_post(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/query", self.process.address()))
            .bearer_auth(&self.stats_key)
            .json(body)
            .send()
            .await
            .expect("the collector answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The GET form; `query` is sent exactly as given (already percent-encoded where it should be).
    async fn query_get(&self, query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/api/v1/query?{query}", self.process.address()))
            .bearer_auth(&self.stats_key)
            .send()
            .await
            .expect("the collector answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let statement = sea_orm::Statement::from_string(self.db.get_database_backend(), sql);
        let row = self.db.query_one(statement).await.unwrap_or_else(|e| panic!("table {table}: {e}")).unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    async fn wait_for_events(&self, n: i64) {
        wait_until(Duration::from_secs(20), || async { self.count("events").await >= n }).await;
        assert_eq!(self.count("events").await, n, "stored events");
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/PID/status");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn assert_no_panic(&self) {
        let log = std::fs::read_to_string(&self.process.log).unwrap();
        assert!(!log.contains("panicked"), "the collector panicked:\n{log}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Slow clients

/// What a raw connection saw: the server's bytes, and when it closed the connection (if it did).
struct Trickled {
    answer: String,
    closed_after: Option<Duration>,
}

/// Sends `prefix` at once, then `pattern` one byte every `pace` (round and round, so it never completes),
/// reading whatever the server says until it closes the connection or `give_up` passes.
async fn trickle(address: SocketAddr, prefix: &[u8], pattern: &[u8], pace: Duration, give_up: Duration) -> Trickled {
    send_repeatedly(address, prefix, pattern, 1, pace, give_up).await
}

/// The same, `step` bytes at a time.
async fn send_repeatedly(
    address: SocketAddr,
    prefix: &[u8],
    pattern: &[u8],
    step: usize,
    pace: Duration,
    give_up: Duration,
) -> Trickled {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(prefix).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut tick = tokio::time::interval(pace);
    let mut next = pattern.iter().copied().cycle();
    let mut write_failed = false;
    let closed_after = loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break Some(started.elapsed()),
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            },
            _ = tick.tick() => {
                if started.elapsed() > give_up {
                    break None;
                }
                if !write_failed && !pattern.is_empty() {
                    // A write fails once the server has reset the connection; the read then says so.
                    let bytes: Vec<u8> = next.by_ref().take(step).collect();
                    write_failed = writer.write_all(&bytes).await.is_err();
                }
            }
        }
    };
    Trickled { answer: String::from_utf8_lossy(&answer).into_owned(), closed_after }
}

const HEAD: &str = "POST /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n";

fn assert_cut_off(what: &str, seen: &Trickled, timeout: Duration, status: &str) {
    let closed =
        seen.closed_after.unwrap_or_else(|| panic!("{what}: still connected; the server said {:?}", seen.answer));
    assert!(
        closed >= timeout - Duration::from_secs(1) && closed <= timeout + Duration::from_secs(4),
        "{what}: cut off after {closed:?}, the timeout is {timeout:?}"
    );
    assert!(seen.answer.starts_with(&format!("HTTP/1.1 {status}")), "{what}: the server said {:?}", seen.answer);
}

/// A connection's first request head must arrive within the header timeout. (Later heads on a kept-alive
/// connection are not timed by actix-http; see `startup::HEADER_TIMEOUT`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_headers_slowly_gets_408_and_is_disconnected() {
    let collector = Collector::start(Db::Sqlite, "slow-head").await;
    let timeout = footfall::startup::HEADER_TIMEOUT;
    let give_up = timeout + Duration::from_secs(10);
    let pace = Duration::from_millis(300);
    let head = trickle(collector.socket(), HEAD.as_bytes(), b"X-Slow: 1\r\n", pace, give_up);
    // Not a byte at all: the same limit.
    let silent = trickle(collector.socket(), b"", b"", pace, give_up);
    let (head, silent) = tokio::join!(head, silent);
    assert_cut_off("slow head", &head, timeout, "408");
    let closed = silent.closed_after.expect("a silent connection is closed");
    assert!(closed <= timeout + Duration::from_secs(4), "silent connection closed after {closed:?}");
    collector.assert_no_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_body_slowly_gets_408_and_is_disconnected() {
    let collector = Collector::start(Db::Sqlite, "slow-body").await;
    let timeout = footfall::ingest::body::BODY_TIMEOUT;
    let pace = Duration::from_millis(300);
    let give_up = timeout + Duration::from_secs(10);
    let sized = format!("{HEAD}Content-Length: 2000\r\n\r\n");
    let sized = trickle(collector.socket(), sized.as_bytes(), b" ", pace, give_up);
    let chunked = format!("{HEAD}Transfer-Encoding: chunked\r\n\r\n");
    let chunked = trickle(collector.socket(), chunked.as_bytes(), b"1\r\n \r\n", pace, give_up);
    let (sized, chunked) = tokio::join!(sized, chunked);
    for (what, seen) in [("slow sized body", &sized), ("slow chunked body", &chunked)] {
        assert_cut_off(what, seen, timeout, "408");
        assert!(seen.answer.contains(r#""code":"body_timeout""#), "{what}: {:?}", seen.answer);
    }
    // An endless chunked body sent as fast as possible: 413, and the rest is not drained for ever.
    let endless = format!("{HEAD}Transfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
    let pace = Duration::from_millis(1);
    let seen =
        send_repeatedly(collector.socket(), endless.as_bytes(), chunk.as_bytes(), chunk.len(), pace, give_up).await;
    assert!(seen.answer.starts_with("HTTP/1.1 413"), "{:?}", seen.answer);
    let closed = seen.closed_after.expect("an endless body's connection is closed");
    assert!(closed < Duration::from_secs(5), "endless body cut off after {closed:?}");
    // The collector is unharmed.
    let (status, _) = collector.beacon(pageview(&collector.site, "/after-slow").to_string(), None).await;
    assert_eq!(status, 202);
    collector.assert_no_panic();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bombs_are_refused_quickly_and_memory_stays_flat() {
    let collector = Collector::start(Db::Sqlite, "gzip-bomb").await;
    // Just under the 64 KiB cap compressed, about 60 MiB inflated: the biggest bomb that gets past the raw cap.
    let bomb = gzip(&vec![0u8; 60 << 20]);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    // Warm up (worker threads, allocator arenas, the UA parser) before taking the baseline.
    for i in 0..20 {
        let (status, _) = collector.beacon(pageview(&collector.site, &format!("/warm{i}")).to_string(), None).await;
        assert_eq!(status, 202);
    }
    let before = collector.rss_kib();
    let mut slowest = Duration::ZERO;
    for round in 0..10 {
        let sends = (0..8).map(|_| {
            let request = collector
                .client
                .post(format!("{}/api/event", collector.process.address()))
                .header("content-encoding", "gzip")
                .body(bomb.clone());
            async move {
                let started = Instant::now();
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body, started.elapsed())
            }
        });
        for (status, body, took) in futures_util::future::join_all(sends).await {
            assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "round {round}");
            slowest = slowest.max(took);
        }
    }
    let after = collector.rss_kib();
    eprintln!("80 gzip bombs: RSS {before} KiB → {after} KiB, slowest answer {slowest:?}");
    assert!(after < before + 8 * 1024, "RSS grew from {before} KiB to {after} KiB");
    assert!(slowest < Duration::from_secs(1), "a bomb took {slowest:?} to refuse");
    collector.assert_no_panic();
}

/// Sign-in routes take no compressed body at all: a bomb is refused from its headers, before a byte of it is
/// inflated. (actix's JSON extractor used to inflate a whole chunk before its size limit applied: 32 clients
/// took a collector from 150 MB to 1.6 GB RSS with 2 MB of traffic.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bombs_to_sign_in_are_refused_before_inflating_and_memory_stays_flat() {
    let collector = Collector::start(Db::Sqlite, "login-bomb").await;
    // 64 MiB of spaces in 65 KB, as the probe sent.
    let bomb = gzip(&vec![b' '; 64 << 20]);
    for i in 0..20 {
        let (status, _) = collector.beacon(pageview(&collector.site, &format!("/warm{i}")).to_string(), None).await;
        assert_eq!(status, 202);
    }
    let before = collector.rss_kib();
    let mut slowest = Duration::ZERO;
    for round in 0..25 {
        let sends = ["login", "setup", "login", "setup"].map(|route| {
            let request = collector
                .client
                .post(format!("{}/api/v1/auth/{route}", collector.process.address()))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                // Each from its own address, so the sign-in limit (5 a minute per address) is not what stops it.
                .header("x-forwarded-for", format!("198.51.{round}.{}", route.len()))
                .body(bomb.clone());
            async move {
                let started = Instant::now();
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body, started.elapsed())
            }
        });
        for (status, body, took) in futures_util::future::join_all(sends).await {
            assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_encoding")), "round {round}");
            slowest = slowest.max(took);
        }
    }
    let after = collector.rss_kib();
    eprintln!("100 gzip bombs to sign-in: RSS {before} KiB → {after} KiB, slowest answer {slowest:?}");
    assert!(after < before + 8 * 1024, "RSS grew from {before} KiB to {after} KiB");
    assert!(slowest < Duration::from_millis(500), "a bomb took {slowest:?} to refuse");
    collector.assert_no_panic();
}

/// Every route with a body has the ingestion's deadline, and a body announced but never sent holds no slot:
/// `Content-Length: 60000` and silence on `/api/v1/auth/login` used to hold its connection 130 s and more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_missing_body_on_any_route_is_cut_off_like_ingestion() {
    let collector = Collector::start(Db::Sqlite, "slow-api-body").await;
    let timeout = footfall::http::edge::BODY_TIMEOUT;
    let give_up = timeout + Duration::from_secs(10);
    let pace = Duration::from_millis(300);
    let login = "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    let silent = format!("{login}Content-Length: 60000\r\n\r\n");
    let silent = trickle(collector.socket(), silent.as_bytes(), b"", pace, give_up);
    let sized = format!("{login}Content-Length: 2000\r\n\r\n");
    let sized = trickle(collector.socket(), sized.as_bytes(), b" ", pace, give_up);
    let query = format!(
        "POST /api/v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n",
        collector.stats_key
    );
    let chunked = format!("{query}Transfer-Encoding: chunked\r\n\r\n");
    let chunked = trickle(collector.socket(), chunked.as_bytes(), b"1\r\n \r\n", pace, give_up);
    // A route that reads no body at all: the connection is closed after the answer instead of being drained.
    let ignored = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let ignored = trickle(collector.socket(), ignored.as_bytes(), b"1\r\n \r\n", pace, give_up);
    let (silent, sized, chunked, ignored) = tokio::join!(silent, sized, chunked, ignored);
    for (what, seen) in [("announced, never sent", &silent), ("slow sized", &sized), ("slow chunked", &chunked)] {
        assert_cut_off(what, seen, timeout, "408");
        assert!(seen.answer.contains(r#""code":"body_timeout""#), "{what}: {:?}", seen.answer);
    }
    assert!(ignored.answer.starts_with("HTTP/1.1 200"), "{:?}", ignored.answer);
    let closed = ignored.closed_after.expect("an unread body's connection is closed");
    assert!(closed < Duration::from_secs(2), "an unread chunked body held its connection {closed:?}");

    // Many such clients at once hold no slot past the deadline: the collector answers meanwhile and after.
    // (Queries, not sign-ins: sign-in attempts are limited per address, and these all come from loopback.)
    let silent_query = format!("{query}Content-Length: 60000\r\n\r\n");
    let crowd: Vec<_> =
        (0..200).map(|_| trickle(collector.socket(), silent_query.as_bytes(), b"", pace, give_up)).collect();
    let crowd = futures_util::future::join_all(crowd);
    let health = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let started = Instant::now();
        let status = collector.client.get(format!("{}/healthz", collector.process.address())).send().await;
        (status.map(|r| r.status().as_u16()).ok(), started.elapsed())
    };
    let (crowd, (health, took)) = tokio::join!(crowd, health);
    assert_eq!(health, Some(200), "/healthz during 200 silent bodies");
    // Bounds with room for a loaded CI machine (the suite runs tests in parallel); idle, it answers in
    // milliseconds and the last connection closes at 10.5 s (printed above).
    assert!(took < Duration::from_secs(5), "/healthz took {took:?} during 200 silent bodies");
    let longest = crowd.iter().map(|seen| seen.closed_after.expect("closed")).max().unwrap_or_default();
    let answered = crowd.iter().filter(|seen| seen.answer.starts_with("HTTP/1.1 408")).count();
    eprintln!("200 silent bodies: {answered} answered 408, the last connection closed after {longest:?}");
    assert_eq!(answered, crowd.len());
    assert!(longest <= timeout + Duration::from_secs(3), "a silent body held its slot {longest:?}");
    collector.assert_no_panic();
}

// ---------------------------------------------------------------------------------------------------------
// Hostile beacons

/// The JSON type a beacon field takes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Type {
    Text,
    Int,
    Bool,
    Object,
    /// `time`: RFC 3339 text or epoch milliseconds.
    TextOrInt,
}

/// Every field of the wire protocol (DESIGN.md §3) and the server-side fields of API.md (Ingestion), with
/// whether it is required and whether only a sender with an `events:write` key may set it.
const FIELDS: &[(&str, Type, bool, bool)] = &[
    ("id", Type::Text, false, false),
    ("site", Type::Text, true, false),
    ("type", Type::Text, true, false),
    ("url", Type::Text, true, false),
    ("referrer", Type::Text, false, false),
    ("title", Type::Text, false, false),
    ("pv", Type::Text, false, false),
    ("screen", Type::Int, false, false),
    ("group", Type::Text, false, false),
    ("engaged_ms", Type::Int, false, false),
    ("scroll", Type::Int, false, false),
    ("sections", Type::Object, false, false),
    ("name", Type::Text, false, false),
    ("props", Type::Object, false, false),
    ("user", Type::Text, false, false),
    ("remember", Type::Bool, false, false),
    ("ts", Type::Int, false, false),
    ("webdriver", Type::Bool, false, false),
    ("dnt", Type::Bool, false, false),
    ("ip", Type::Text, false, true),
    ("user_agent", Type::Text, false, true),
    ("time", Type::TextOrInt, false, true),
];

#[test]
fn the_field_table_covers_every_field_of_the_protocol_vectors() {
    let vectors: Value = serde_json::from_str(include_str!("../../../protocol/beacon-vectors.json")).unwrap();
    for vector in vectors["valid"].as_array().unwrap() {
        let events = match &vector["body"] {
            Value::Array(events) => events.clone(),
            event => vec![event.clone()],
        };
        for event in events {
            for field in event.as_object().unwrap().keys() {
                assert!(
                    field == "future_field" || FIELDS.iter().any(|(name, ..)| name == field),
                    "`{field}` (vector `{}`) is missing from FIELDS",
                    vector["name"]
                );
            }
        }
    }
}

/// One JSON value of each shape.
fn shapes() -> [(&'static str, Value); 6] {
    [
        ("string", json!("7")),
        ("number", json!(7)),
        ("array", json!(["x"])),
        ("object", json!({"x": 1})),
        ("null", Value::Null),
        ("bool", json!(true)),
    ]
}

fn fits(field_type: Type, shape: &str) -> bool {
    matches!(
        (field_type, shape),
        (Type::Text, "string")
            | (Type::Int, "number")
            | (Type::Bool, "bool")
            | (Type::Object, "object")
            | (Type::TextOrInt, "string" | "number")
    )
}

/// What the collector must answer: a status and, for errors, a code.
type Expected = (u16, Option<String>);

/// A named body, sent with an optional key, and what must come back.
type Case<'a> = (String, Vec<u8>, Option<&'a str>, Expected);

fn expect(status: u16, code: Option<&str>) -> Expected {
    (status, code.map(str::to_owned))
}

/// Sends each case and collects every answer that differs from its expectation (all of them, not the first).
async fn check_all(collector: &Collector, cases: Vec<Case<'_>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, body, key, expected) in cases {
        let (status, answer) = collector.beacon(body, key).await;
        let code = answer["error"]["code"].as_str().map(str::to_owned);
        let message_ok = status < 400 || answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty());
        if (status, code.clone()) != expected || !message_ok || status >= 500 {
            wrong.push(format!("{name}: expected {expected:?}, got {status} {answer}"));
        }
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_type_in_any_beacon_field_is_a_400_with_a_code() {
    let collector = Collector::start(Db::Sqlite, "wrong-types").await;
    let base = json!({"site": collector.site, "type": "pageview", "url": format!("https://{DOMAIN}/typed")});
    let mut cases = Vec::new();
    let mut accepted = 0;
    for (field, field_type, required, trusted) in FIELDS {
        let key = trusted.then_some(collector.events_key.as_str());
        for (shape, value) in shapes() {
            if fits(*field_type, shape) {
                continue;
            }
            let mut event = base.clone();
            event[*field] = value.clone();
            let expected = match (shape, *required) {
                // null is "absent": fine for optional fields, missing for required ones.
                ("null", false) => expect(202, None),
                ("null", true) => expect(400, Some("missing_field")),
                _ => expect(400, Some("invalid_field")),
            };
            accepted += u16::from(expected.0 == 202) as i64;
            cases.push((format!("`{field}` as {shape}"), event.to_string().into_bytes(), key, expected.clone()));
            // The same inside a batch, after a good event: the whole batch is refused.
            if expected.0 == 400 {
                let batch = json!([base, event]);
                cases.push((
                    format!("`{field}` as {shape}, 2nd of a batch"),
                    batch.to_string().into_bytes(),
                    key,
                    expected,
                ));
            }
        }
    }
    // What the objects hold has its types too.
    for (name, value) in [
        ("props value array", json!({"props": {"k": [1]}})),
        ("props value object", json!({"props": {"k": {"a": 1}}})),
        ("props value null", json!({"props": {"k": null}})),
        ("sections value string", json!({"sections": {"intro": "100"}})),
        ("sections value fraction", json!({"sections": {"intro": 1.5}})),
        ("sections value bool", json!({"sections": {"intro": true}})),
        ("sections value null", json!({"sections": {"intro": null}})),
        ("sections value array", json!({"sections": {"intro": [1]}})),
    ] {
        let mut event = base.clone();
        for (k, v) in value.as_object().unwrap() {
            event[k] = v.clone();
        }
        cases.push((name.to_owned(), event.to_string().into_bytes(), None, expect(400, Some("invalid_field"))));
    }
    let wrong = check_all(&collector, cases).await;
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
    collector.wait_for_events(accepted).await;
    collector.assert_no_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bytes_surrogates_huge_numbers_and_deep_nesting_are_400s() {
    let collector = Collector::start(Db::Sqlite, "malformed-bytes").await;
    let site = collector.site.clone();
    let event = |extra: &str| format!(r#"{{"site":"{site}","type":"pageview","url":"https://{DOMAIN}/x"{extra}}}"#);
    let bad = |code: &str| expect(400, Some(code));
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |name: &str, body: Vec<u8>, expected: Expected| {
        cases.push((name.to_owned(), body, None, expected));
    };

    // Invalid UTF-8, wherever it is.
    let with_bytes = |bytes: &[u8]| {
        let open = format!(r#"{{"site":"{site}","type":"pageview","url":"https://{DOMAIN}/x","title":""#);
        [open.as_bytes(), bytes, b"\"}"].concat()
    };
    for (name, bytes) in [
        ("0xff", &b"\xff"[..]),
        ("lone continuation byte", b"\x80"),
        ("overlong slash", b"\xc0\xaf"),
        ("UTF-8-encoded surrogate", b"\xed\xa0\x80"),
        ("truncated 3-byte sequence", b"\xe2\x82"),
        ("Latin-1 e acute", b"caf\xe9"),
        ("code point above U+10FFFF", b"\xf4\x90\x80\x80"),
    ] {
        add(&format!("invalid UTF-8 in a value: {name}"), with_bytes(bytes), bad("invalid_utf8"));
    }
    let mut key = event("").into_bytes();
    key.truncate(key.len() - 1);
    key.extend_from_slice(b",\"k\xff\":1}");
    add("invalid UTF-8 in a key", key, bad("invalid_utf8"));
    add("invalid UTF-8 at the very end", [event("").as_bytes(), b"\xf0"].concat(), bad("invalid_utf8"));
    let utf16: Vec<u8> = event("").encode_utf16().flat_map(u16::to_le_bytes).collect();
    add("UTF-16 with its byte order mark", [&b"\xff\xfe"[..], &utf16].concat(), bad("invalid_utf8"));
    // Without one, UTF-16 of ASCII is valid UTF-8 (with NULs between the letters), and not JSON.
    add("UTF-16 without a byte order mark", utf16, bad("invalid_json"));

    // Lone surrogates as JSON escapes.
    for (name, escape) in [
        ("lone high", r"\ud800"),
        ("lone low", r"\udfff"),
        ("high then a letter", r"\ud800\u0041"),
        ("low then high", r"\udc00\ud800"),
        ("high at the end of text", r"abc\udbff"),
    ] {
        add(
            &format!("lone surrogate in a value: {name}"),
            event(&format!(r#","title":"{escape}""#)).into(),
            bad("invalid_json"),
        );
    }
    add("lone surrogate in a key", event(r#","\ud800":1"#).into(), bad("invalid_json"));
    add("lone surrogate in a props key", event(r#","props":{"\udfff":1}"#).into(), bad("invalid_json"));
    add("a real surrogate pair is fine", event(r#","title":"\ud83d\ude00""#).into(), expect(202, None));

    // Huge numbers: out of f64's range is not JSON we take; out of a field's range is an invalid field.
    let two_64_plus_1 = "18446744073709551617";
    for (field, number) in [
        ("screen", "1e400"),
        ("engaged_ms", "-1e400"),
        ("ts", &format!("1{}", "0".repeat(5000))),
        ("props", r#"{"n":1e400}"#),
    ] {
        add(
            &format!("`{field}` = {}", &number[..number.len().min(12)]),
            event(&format!(r#","{field}":{number}"#)).into(),
            bad("invalid_json"),
        );
    }
    for field in ["screen", "engaged_ms", "scroll", "ts"] {
        for number in [two_64_plus_1, "9223372036854775808", "-9223372036854775809", "1e300", "-1", "0.5"] {
            add(
                &format!("`{field}` = {number}"),
                event(&format!(r#","{field}":{number}"#)).into(),
                bad("invalid_field"),
            );
        }
    }
    add(
        "`sections` value 2^64+1",
        event(&format!(r#","sections":{{"a":{two_64_plus_1}}}"#)).into(),
        bad("invalid_field"),
    );
    add(
        "`props` value 2^64+1 is a number like any other",
        event(&format!(r#","props":{{"a":{two_64_plus_1}}}"#)).into(),
        expect(202, None),
    );

    // Deep nesting, 10,000 levels, everywhere.
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    add("10k nested arrays", deep_array.clone().into(), bad("invalid_json"));
    add("10k nested objects", deep_object.clone().into(), bad("invalid_json"));
    add("10k unclosed arrays", "[".repeat(10_000).into(), bad("invalid_json"));
    add("10k nested arrays in props", event(&format!(r#","props":{deep_array}"#)).into(), bad("invalid_json"));
    add(
        "10k nested objects in an unknown field",
        event(&format!(r#","extra":{deep_object}"#)).into(),
        bad("invalid_json"),
    );
    add("a batch of 10k-deep arrays", format!("[{deep_array}]").into(), bad("invalid_json"));

    // Other shapes of nonsense.
    add("byte order mark", [b"\xef\xbb\xbf", event("").as_bytes()].concat(), bad("invalid_json"));
    add("NaN", event(r#","screen":NaN"#).into(), bad("invalid_json"));
    add("trailing garbage", format!("{} x", event("")).into(), bad("invalid_json"));
    add("two objects", format!("{}{}", event(""), event("")).into(), bad("invalid_json"));
    add("a lone string", br#""pageview""#.to_vec(), bad("not_an_event"));
    add("null", b"null".to_vec(), bad("not_an_event"));
    add("a NUL byte between tokens", format!("{}\0", event("")).into(), bad("invalid_json"));
    add("a duplicated field", event(r#","title":"a","title":"b""#).into(), expect(202, None));

    let accepted = cases.iter().filter(|c| c.3 .0 == 202).count() as i64;
    let wrong = check_all(&collector, cases).await;
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
    let (status, _) = collector.beacon(event(""), None).await;
    assert_eq!(status, 202, "the collector still takes good beacons");
    collector.wait_for_events(accepted + 1).await;
    collector.assert_no_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_any_text_is_refused_or_stored_never_stuck_on_postgresql() {
    // PostgreSQL text and jsonb cannot hold U+0000: an event acknowledged with one would never reach SQL.
    let collector = Collector::start(Db::Postgres, "nul-text").await;
    let site = collector.site.clone();
    let page = |kind: &str, extra: Value| {
        let mut event = json!({"site": site, "type": kind, "url": format!("https://{DOMAIN}/nul")});
        for (k, v) in extra.as_object().unwrap() {
            event[k] = v.clone();
        }
        event
    };
    let cases = [
        ("title", page("pageview", json!({"title": "a\u{0}b"}))),
        ("referrer", page("pageview", json!({"referrer": "https://other.example/a\u{0}b"}))),
        ("pv", page("pageview", json!({"pv": "pv\u{0}1"}))),
        ("group", page("pageview", json!({"group": "g\u{0}"}))),
        ("utm_source", json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}/?utm_source=a%00b")})),
        ("ref", json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}/?ref=%00")})),
        ("url path", json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}/a\u{0}b")})),
        ("fragment", json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}/#a\u{0}b")})),
        ("name", page("interaction", json!({"name": "n\u{0}"}))),
        ("props key", page("interaction", json!({"name": "n", "props": {"k\u{0}": 1}}))),
        ("props value", page("interaction", json!({"name": "n", "props": {"k": "v\u{0}"}}))),
        ("sections key", page("engagement", json!({"pv": "p", "engaged_ms": 10, "sections": {"s\u{0}": 5}}))),
        ("user", page("identify", json!({"user": "u\u{0}"}))),
    ];
    let mut acknowledged = 0;
    let mut wrong = Vec::new();
    for (name, event) in cases {
        match collector.beacon(event.to_string(), None).await {
            (202, _) => acknowledged += 1,
            (400, answer) if answer["error"]["code"] == "invalid_field" => {}
            (status, answer) => wrong.push(format!("NUL in {name}: {status} {answer}")),
        }
    }
    let trusted =
        json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}/"), "user_agent": "UA\u{0}"});
    match collector.beacon(trusted.to_string(), Some(&collector.events_key)).await {
        (202, _) => acknowledged += 1,
        (400, answer) if answer["error"]["code"] == "invalid_field" => {}
        (status, answer) => wrong.push(format!("NUL in user_agent: {status} {answer}")),
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Everything acknowledged is stored, and what follows is not held up behind it.
    assert_eq!(collector.beacon(pageview(&site, "/after-nul").to_string(), None).await.0, 202);
    collector.wait_for_events(acknowledged + 1).await;
    collector.assert_no_panic();
}

// ---------------------------------------------------------------------------------------------------------
// Hostile queries

/// Text that would change a query's meaning if it were ever pasted into SQL.
const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE events; --",
    "\"; DROP TABLE sites; --",
    "x') OR 1=1 --",
    "1; DELETE FROM events",
    "$1",
    "?",
    "%",
    "_",
    "\\",
    "\\'",
    "visitors)/*",
    "page UNION SELECT password_hash FROM users --",
];

/// Every way a query parameter can carry an injection, on a live collector: each must be a 400 with a code,
/// except filter values, which are data — bound, never pasted — and must answer 200 with the right rows.
async fn injection_in_every_query_parameter_is_refused_or_bound(db: Db) {
    let collector = Collector::start(db, "query-injection").await;
    let site = collector.site.clone();
    for path in ["/a", "/b", "/o'reilly", "/100%25", "/x_y"] {
        assert_eq!(collector.beacon(pageview(&site, path).to_string(), None).await.0, 202);
    }
    collector.wait_for_events(5).await;
    let (events, sites) = (collector.count("events").await, collector.count("sites").await);
    let base = json!({"site": site, "metrics": ["pageviews"], "date_range": "7d"});
    let with = |changes: Value| {
        let mut q = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            q[k] = v.clone();
        }
        q
    };

    let mut refused: Vec<(String, Value)> = Vec::new();
    for text in INJECTIONS {
        let text = *text;
        refused.push((format!("timezone {text:?}"), with(json!({"timezone": format!("UTC{text}")}))));
        refused.push((format!("metric {text:?}"), with(json!({"metrics": [format!("visitors{text}")]}))));
        refused.push((format!("dimension {text:?}"), with(json!({"dimensions": [format!("page{text}")]}))));
        refused.push((
            format!("filter operator {text:?}"),
            with(json!({"filters": [[format!("is{text}"), "page", ["/a"]]]})),
        ));
        refused.push((
            format!("filter dimension {text:?}"),
            with(json!({"filters": [["is", format!("page{text}"), ["/a"]]]})),
        ));
        refused
            .push((format!("order key {text:?}"), with(json!({"order_by": [[format!("pageviews{text}"), "desc"]]}))));
        refused.push((
            format!("order direction {text:?}"),
            with(json!({"order_by": [["pageviews", format!("desc{text}")]]})),
        ));
        refused.push((format!("date keyword {text:?}"), with(json!({"date_range": format!("7d{text}")}))));
        refused
            .push((format!("date {text:?}"), with(json!({"date_range": [format!("2026-01-01{text}"), "2026-01-02"]}))));
        refused.push((format!("compare {text:?}"), with(json!({"compare": format!("previous_period{text}")}))));
        refused.push((format!("limit {text:?}"), with(json!({"limit": format!("10{text}")}))));
        refused.push((format!("offset {text:?}"), with(json!({"offset": format!("0{text}")}))));
    }
    // Wrong shapes and extremes of each parameter.
    for (name, changes) in [
        ("timezone as a number", json!({"timezone": 1})),
        ("timezone empty", json!({"timezone": ""})),
        ("timezone as a path", json!({"timezone": "../../../../etc/passwd"})),
        ("timezone with NUL", json!({"timezone": "UTC\u{0}"})),
        ("timezone 100 KB", json!({"timezone": "A".repeat(60_000)})),
        ("metrics as a string", json!({"metrics": "visitors"})),
        ("metrics as objects", json!({"metrics": [{"visitors": 1}]})),
        ("dimensions as a number", json!({"dimensions": 3})),
        ("filters as a string", json!({"filters": "page = '/a'"})),
        ("filter as an object", json!({"filters": [{"op": "is"}]})),
        ("filter values as a string", json!({"filters": [["is", "page", "/a"]]})),
        ("filter values of numbers", json!({"filters": [["is", "page", [1]]]})),
        ("filter values nested", json!({"filters": [["is", "page", [["/a"]]]]})),
        ("filter value with NUL", json!({"filters": [["is", "page", ["/a\u{0}"]]]})),
        ("filter of four parts", json!({"filters": [["is", "page", ["/a"], "x"]]})),
        ("order_by as a string", json!({"order_by": "visitors desc"})),
        ("order_by of three parts", json!({"order_by": [["pageviews", "desc", "x"]]})),
        ("date_range of three dates", json!({"date_range": ["2026-01-01", "2026-01-02", "2026-01-03"]})),
        ("date_range of numbers", json!({"date_range": [20260101, 20260102]})),
        ("date_range as an object", json!({"date_range": {"from": "2026-01-01"}})),
        ("date_range year 0", json!({"date_range": ["0000-01-01", "0000-01-02"]})),
        ("date_range at the first date chrono knows", json!({"date_range": ["-262143-01-01", "-262143-01-02"]})),
        ("date_range at the last date chrono knows", json!({"date_range": ["262142-12-30", "262142-12-31"]})),
        (
            "date_range far future, compared",
            json!({"date_range": ["262142-12-30", "262142-12-31"], "compare": "previous_period"}),
        ),
        (
            "date_range far past, compared",
            json!({"date_range": ["-262143-01-01", "-262143-01-02"], "compare": "previous_period"}),
        ),
        (
            "date_range far future by month",
            json!({"date_range": ["262142-12-01", "262142-12-31"], "dimensions": ["time:month"]}),
        ),
        (
            "date_range far past by week",
            json!({"date_range": ["-262143-01-01", "-262143-01-31"], "dimensions": ["time:week"]}),
        ),
        (
            "date_range far future by hour",
            json!({"date_range": ["262142-12-31", "262142-12-31"], "dimensions": ["time:hour"]}),
        ),
        ("date_range 30 February", json!({"date_range": ["2026-02-30", "2026-03-01"]})),
        ("limit negative", json!({"limit": -1})),
        ("limit 2^64+1", json!({"limit": 18446744073709551617u128.to_string().parse::<f64>().unwrap()})),
        ("limit fractional", json!({"limit": 1.5})),
        ("limit huge", json!({"limit": u64::MAX})),
        ("offset huge", json!({"offset": u64::MAX})),
        ("offset negative", json!({"offset": -5})),
        ("site as a number", json!({"site": 1})),
        ("site empty", json!({"site": ""})),
        ("site with NUL", json!({"site": format!("{site}\u{0}")})),
        ("site 60 KB", json!({"site": "s".repeat(60_000)})),
        ("compare as a bool", json!({"compare": true})),
    ] {
        refused.push((name.to_owned(), with(changes)));
    }
    // A site id that could exist is looked up (and not found); any other is refused before any lookup.
    let could_exist = |id: &str| id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    for text in INJECTIONS.iter().filter(|t| !could_exist(t)) {
        refused.push((format!("site {text:?}"), with(json!({"site": format!("{site}{text}")}))));
    }
    let mut wrong = Vec::new();
    for text in INJECTIONS.iter().filter(|t| could_exist(t)) {
        let (status, answer) = collector.query_post(&with(json!({"site": format!("{site}{text}")}))).await;
        if (status, answer["error"]["code"].as_str()) != (404, Some("not_found")) {
            wrong.push(format!("POST site {text:?}: expected 404, got {status} {answer}"));
        }
    }
    for (name, query) in &refused {
        let (status, answer) = collector.query_post(query).await;
        if status != 400 || answer["error"]["code"].as_str().is_none_or(str::is_empty) {
            wrong.push(format!("POST {name}: {status} {answer}"));
        }
    }

    // The GET form: the same parameters as query text, including what cannot even be decoded.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let get_base = format!("site={site}&metrics=pageviews&date_range=7d");
    let mut get_cases: Vec<(String, String)> = Vec::new();
    for text in INJECTIONS {
        let e = enc(text);
        for param in
            ["timezone=UTC", "dimensions=page", "order_by=pageviews", "compare=previous_period", "limit=10", "offset=0"]
        {
            get_cases.push((format!("GET {param}{text:?}"), format!("{get_base}&{param}{e}")));
        }
        get_cases.push((format!("GET metrics {text:?}"), format!("site={site}&date_range=7d&metrics=pageviews{e}")));
        get_cases.push((format!("GET date_range {text:?}"), format!("site={site}&metrics=pageviews&date_range=7d{e}")));
        if !could_exist(text) {
            get_cases.push((format!("GET site {text:?}"), format!("site={site}{e}&metrics=pageviews&date_range=7d")));
        }
        get_cases.push((
            format!("GET filter dimension {text:?}"),
            format!("{get_base}&filters={}", enc(&json!([["is", format!("page{text}"), ["/a"]]]).to_string())),
        ));
    }
    for (name, query) in [
        ("invalid percent-encoding", format!("{get_base}&timezone=%ff%fe")),
        ("truncated percent-encoding", format!("{get_base}&timezone=%2")),
        ("filters not JSON", format!("{get_base}&filters=[[\"is\"")),
        ("filters 10k deep", format!("{get_base}&filters={}", "%5B".repeat(10_000))),
        ("limit negative", format!("{get_base}&limit=-1")),
        ("limit 2^64+1", format!("{get_base}&limit=18446744073709551617")),
        ("unknown parameter", format!("{get_base}&sql=1")),
    ] {
        get_cases.push((format!("GET {name}"), query));
    }
    for (name, query) in &get_cases {
        let (status, answer) = collector.query_get(query).await;
        if status != 400 || answer["error"]["code"].as_str().is_none_or(str::is_empty) {
            wrong.push(format!("{name}: {status} {answer}"));
        }
    }

    // Filter values are data: bound as parameters, they select exactly what they say.
    let pageviews = |answer: &Value| answer["results"][0]["metrics"][0].as_i64();
    let mut values: Vec<(&str, &str, i64)> = Vec::new();
    for text in INJECTIONS {
        let matching = if *text == "%" || *text == "_" { 1 } else { 0 };
        values.push(("is", text, 0));
        values.push(("is_not", text, 5));
        values.push(("not_contains", text, 5 - matching));
        values.push(("contains", text, matching));
    }
    values.extend([("is", "/o'reilly", 1), ("contains", "'", 1), ("contains", "'reil", 1), ("is_not", "/o'reilly", 4)]);
    for (op, value, expected) in values {
        let (status, answer) = collector.query_post(&with(json!({"filters": [[op, "page", [value]]]}))).await;
        if status != 200 || pageviews(&answer) != Some(expected) {
            wrong.push(format!("filter {op} page {value:?}: expected {expected} page views, got {status} {answer}"));
        }
    }
    // The same value on every filterable dimension (API.md) matches nothing, and breaks nothing.
    for dimension in [
        "page",
        "entry_page",
        "exit_page",
        "hostname",
        "title",
        "referrer",
        "source",
        "channel",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "country",
        "region",
        "city",
        "browser",
        "browser_version",
        "os",
        "os_version",
        "device",
        "screen",
        "interaction",
        "group",
        "audience",
        "visitor_type",
    ] {
        for text in INJECTIONS {
            let query = with(json!({"filters": [["is", dimension, [text]]], "dimensions": [dimension]}));
            let (status, answer) = collector.query_post(&query).await;
            if status != 200 || answer["meta"]["total_rows"] != 0 {
                wrong.push(format!("filter is {dimension} {text:?}: expected no rows, got {status} {answer}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
    // The tables are all still there, untouched.
    assert_eq!((collector.count("events").await, collector.count("sites").await), (events, sites));
    assert!(collector.count("users").await >= 0 && collector.count("api_keys").await >= 2);
    let (status, answer) = collector.query_post(&base).await;
    assert_eq!((status, pageviews(&answer)), (200, Some(5)));
    collector.assert_no_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_injection_is_refused_or_bound_on_sqlite() {
    injection_in_every_query_parameter_is_refused_or_bound(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_injection_is_refused_or_bound_on_postgresql() {
    injection_in_every_query_parameter_is_refused_or_bound(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_id_that_cannot_exist_is_not_found_on_every_endpoint_on_postgresql() {
    // `%00` decodes to U+0000, which PostgreSQL refuses to even compare: it must never reach SQL.
    let collector = Collector::start(Db::Postgres, "impossible-site").await;
    let address = collector.process.address();
    let mut wrong = Vec::new();
    for site in ["x%00", "%27%3B--", &"s".repeat(2000)] {
        for path in ["sessions", "sessions/1", "conversions", "bots", "realtime", "export?date_range=7d&format=csv"] {
            let url = format!("{address}/api/v1/sites/{site}/{path}");
            let response = collector.client.get(&url).bearer_auth(&collector.stats_key).send().await.unwrap();
            let status = response.status().as_u16();
            if !matches!(status, 400 | 404) {
                wrong.push(format!("{url}: {status} {}", response.text().await.unwrap_or_default()));
            }
        }
        let url = format!("{address}/api/v1/presence?site={site}&page=/");
        let status = collector.client.get(&url).send().await.unwrap().status().as_u16();
        if !matches!(status, 400 | 404) {
            wrong.push(format!("{url}: {status}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    collector.assert_no_panic();
}
