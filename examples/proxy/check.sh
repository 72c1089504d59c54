#!/usr/bin/env bash
# Runs examples/proxy/nginx.conf and examples/proxy/Caddyfile, as written, in front of a real collector and
# checks what the collector makes of the requests that come through them:
#
#   - two visitors on two client addresses (127.0.0.2 and 127.0.0.3; the proxy is on 127.0.0.1, the only
#     trusted proxy) are two visitors — the collector read each client's address from X-Forwarded-For instead
#     of counting the proxy's one address once;
#   - a client that writes `X-Forwarded-For: 81.2.69.142` itself (London in the GeoIP test database) is still
#     its own address: the same visitor as before, and not placed in GB (a control sent straight to the
#     collector as if by the trusted proxy is placed in GB, so the database does answer for that address);
#   - the dashboard's sign-in cookie is `Secure` through the TLS proxy (X-Forwarded-Proto), and not over
#     plain HTTP straight to the collector;
#   - plain HTTP is redirected to HTTPS, and a real-time stream's first event comes through.
#
#   examples/proxy/check.sh [nginx|caddy|both]      (default: both; FOOTFALL=path to the binary,
#                                                    default target/debug/footfall)
#
# Needs nginx and/or caddy (Debian: apt-get install nginx-light caddy), curl and openssl. Nothing is installed
# or left running: the collector (SQLite, a temporary data directory) and the proxies run on free ports under
# a temporary directory, which is removed at the end. TLS: nginx gets a self-signed certificate made here;
# Caddy, which would get a real one through ACME, cannot on a machine without a public name, so it serves
# `localhost` with its own local CA (what Caddy does for that name by itself) — the certificate's source is the
# only thing that differs from a real set-up.
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-both}
case "$which" in nginx | caddy | both) ;; *) echo "usage: $0 [nginx|caddy|both]" >&2; exit 2 ;; esac
footfall=$(realpath "${FOOTFALL:-target/debug/footfall}")
[ -x "$footfall" ] || { echo "no footfall binary at $footfall (cargo build, or set FOOTFALL)" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in "$tmp"/*.log; do [ -s "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
    exit 1
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # URL [curl options]: until it answers at all, 10 s at most
    for _ in $(seq 100); do curl -s -o /dev/null "$@" && return 0; sleep 0.1; done
    return 1
}

export FOOTFALL_DATABASE_URL="sqlite://$tmp/footfall.db?mode=rwc"
export FOOTFALL_DATA_DIR="$tmp/data"
export FOOTFALL_GEOIP_DB="$PWD/collector/tests/data/geoip/GeoLite2-City-Test.mmdb"
collector_port=$(free_port)
FOOTFALL_LISTEN=127.0.0.1:$collector_port FOOTFALL_TRUSTED_PROXIES=127.0.0.1 \
    "$footfall" serve > "$tmp/collector.log" 2>&1 &
pids+=($!)
collector=http://127.0.0.1:$collector_port
wait_for "$collector/healthz" || fail "the collector did not start"
"$footfall" site add example.com --id proxy-check > /dev/null
key=$("$footfall" key add --scope stats:read 2> /dev/null)
password='correct horse battery staple'
"$footfall" user add admin@example.com --password-stdin <<< "$password" > /dev/null 2>&1

UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
beacon() { # BASE-URL FROM-ADDRESS PATH [curl options]
    local base=$1 from=$2 path=$3
    shift 3
    local status
    status=$(curl -4 -sS -o /dev/null -w '%{http_code}' --interface "$from" "$@" "$base/api/event" \
        -H 'content-type: text/plain' -A "$UA" \
        -d "{\"site\":\"proxy-check\",\"type\":\"pageview\",\"url\":\"https://example.com$path\"}")
    [ "$status" = 202 ] || fail "beacon to $base from $from: HTTP $status"
}
query() { # PATH: "visitors pageviews countries…" of that page, today
    curl -sS "$collector/api/v1/query" -H "authorization: Bearer $key" -H 'content-type: application/json' \
        -d "{\"site\":\"proxy-check\",\"metrics\":[\"visitors\",\"pageviews\"],\"date_range\":\"today\",
             \"dimensions\":[\"country\"],\"filters\":[[\"is\",\"page\",[\"$1\"]]]}" |
        python3 -c 'import json, sys
rows = json.load(sys.stdin)["results"]
print(sum(r["metrics"][0] for r in rows), sum(r["metrics"][1] for r in rows),
      " ".join(sorted(str(r["dimensions"][0]) for r in rows)))'
}
expect_page() { # PATH "VISITORS PAGEVIEWS COUNTRIES": waits up to 10 s for the writer
    local got=
    for _ in $(seq 50); do
        got=$(query "$1")
        [ "$got" = "$2" ] && return 0
        sleep 0.2
    done
    fail "$1: expected visitors, page views, countries '$2', got '$got'"
}
secure_cookie() { # BASE-URL [curl options]: prints "Secure" or "not Secure"
    local base=$1
    shift
    local head
    head=$(curl -sS -D - -o /dev/null "$@" "$base/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"admin@example.com\",\"password\":\"$password\"}" | tr -d '\r')
    grep -qi '^set-cookie: footfall_session=' <<< "$head" || fail "no session cookie from $base: $head"
    if grep -i '^set-cookie: footfall_session=' <<< "$head" | grep -qi '; *secure'; then echo Secure; else echo "not Secure"; fi
}

# The control: the GeoIP database places 81.2.69.142 in GB when a trusted proxy (127.0.0.1) forwards it, and
# a sign-in straight to the collector over plain HTTP gets no Secure cookie.
beacon "$collector" 127.0.0.1 /control -H 'x-forwarded-for: 81.2.69.142'
expect_page /control "1 1 GB"
[ "$(secure_cookie "$collector")" = "not Secure" ] || fail "a plain-HTTP sign-in got a Secure cookie"
echo "ok   control: a trusted proxy's X-Forwarded-For is believed (GB); plain HTTP gives no Secure cookie"

check_proxy() { # NAME HTTPS-BASE HTTP-BASE CA-FILE
    local name=$1 https=$2 http=$3 ca=$4
    wait_for "$https/healthz" --cacert "$ca" || fail "$name did not start"
    [ "$(curl -sS --cacert "$ca" "$https/healthz" -o /dev/null -w '%{http_code}')" = 200 ] ||
        fail "$name: /healthz is not 200 through the proxy"
    local redirect
    redirect=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$http/healthz")
    [[ $redirect =~ ^30[18]\ https:// ]] || fail "$name: plain HTTP is not redirected to HTTPS: $redirect"
    beacon "$https" 127.0.0.2 "/$name" --cacert "$ca"
    beacon "$https" 127.0.0.3 "/$name" --cacert "$ca"
    expect_page "/$name" "2 2 None"
    beacon "$https" 127.0.0.2 "/$name" --cacert "$ca" -H 'x-forwarded-for: 81.2.69.142'
    expect_page "/$name" "2 3 None"
    echo "ok   $name: two client addresses are two visitors; a client's own X-Forwarded-For is not believed"
    [ "$(secure_cookie "$https" --cacert "$ca")" = Secure ] || fail "$name: the sign-in cookie is not Secure"
    echo "ok   $name: the sign-in cookie is Secure over HTTPS"
    curl -sS -N --max-time 2 --cacert "$ca" "$https/api/v1/sites/proxy-check/realtime/stream" \
        -H "authorization: Bearer $key" > "$tmp/$name-stream.txt" 2> /dev/null || true
    grep -q '^data: {' "$tmp/$name-stream.txt" || fail "$name: no real-time event within 2 s"
    echo "ok   $name: a real-time stream (Server-Sent Events) comes through"
}

if [ "$which" != caddy ]; then
    https_port=$(free_port) http_port=$(free_port)
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2> /dev/null
    # The example with this machine's ports and certificate; IPv6 listeners dropped (not every machine has ::1).
    sed -e "s|127.0.0.1:8080|127.0.0.1:$collector_port|" \
        -e "s|listen 80;|listen 127.0.0.1:$http_port;|" -e "s|listen 443 ssl|listen 127.0.0.1:$https_port ssl|" \
        -e '/listen \[::\]/d' -e 's|stats.example.com;|localhost;|' \
        -e "s|/etc/letsencrypt/live/stats.example.com/fullchain.pem|$tmp/cert.pem|" \
        -e "s|/etc/letsencrypt/live/stats.example.com/privkey.pem|$tmp/key.pem|" \
        examples/proxy/nginx.conf > "$tmp/footfall.conf"
    grep -v '^ *#' "$tmp/footfall.conf" | grep -q "stats.example.com\|:8080" && fail "nginx.conf changed: adapt the sed above"
    mkdir -p "$tmp/nginx"
    cat > "$tmp/nginx.conf" << EOF
pid $tmp/nginx.pid;
error_log $tmp/nginx.log;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    include $tmp/footfall.conf;
}
EOF
    nginx -t -p "$tmp/nginx" -c "$tmp/nginx.conf" -g 'daemon off;' 2> "$tmp/nginx-t.log" ||
        fail "nginx -t: $(cat "$tmp/nginx-t.log")"
    nginx -p "$tmp/nginx" -c "$tmp/nginx.conf" -g 'daemon off;' 2>> "$tmp/nginx.log" &
    pids+=($!)
    check_proxy nginx "https://localhost:$https_port" "http://localhost:$http_port" "$tmp/cert.pem"
fi

if [ "$which" != nginx ]; then
    https_port=$(free_port) http_port=$(free_port)
    # Caddy keeps its certificates and local CA under XDG_DATA_HOME; no admin endpoint, and the local CA is not
    # added to this machine's trust store.
    export XDG_DATA_HOME="$tmp/caddy-data" XDG_CONFIG_HOME="$tmp/caddy-config"
    sed -e "s|127.0.0.1:8080|127.0.0.1:$collector_port|" -e 's|^stats.example.com {|localhost {|' \
        -e "0,/^{/s|^{|{\n\tadmin off\n\tskip_install_trust\n\thttp_port $http_port\n\thttps_port $https_port|" \
        examples/proxy/Caddyfile > "$tmp/Caddyfile"
    grep -v '^\s*#' "$tmp/Caddyfile" | grep -q "stats.example.com\|:8080" && fail "Caddyfile changed: adapt the sed above"
    caddy validate --adapter caddyfile --config "$tmp/Caddyfile" > "$tmp/caddy-validate.log" 2>&1 ||
        fail "caddy validate: $(cat "$tmp/caddy-validate.log")"
    caddy run --adapter caddyfile --config "$tmp/Caddyfile" > "$tmp/caddy.log" 2>&1 &
    pids+=($!)
    ca="$XDG_DATA_HOME/caddy/pki/authorities/local/root.crt"
    for _ in $(seq 100); do [ -s "$ca" ] && break; sleep 0.1; done
    check_proxy caddy "https://localhost:$https_port" "http://localhost:$http_port" "$ca"
fi
echo "all proxy checks passed"
