#!/usr/bin/env bash
# Ingestion benchmark: runs a release collector and the open-loop load generator on this machine and prints
# events/s, latency percentiles, collector CPU and memory, and whether every acknowledged event was stored.
#
#   bench/ingest.sh embedded [RATE] [SECONDS]    SQLite + in-process sessions (the default install)
#   bench/ingest.sh production [RATE] [SECONDS]  PostgreSQL + Redis (needs both running, see README)
set -euo pipefail
mode=${1:-embedded}
rate=${2:-10000}
seconds=${3:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p footfall-collector -p footfall-loadgen
bin="$root/target/release"
work=$(mktemp -d /tmp/footfall-bench.XXXXXX)
export FOOTFALL_DATA_DIR="$work/data" FOOTFALL_TRUSTED_PROXIES=127.0.0.1 FOOTFALL_LOG=warn
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export FOOTFALL_LISTEN="127.0.0.1:$port"
case "$mode" in
  embedded)
    export FOOTFALL_DATABASE_URL="sqlite://$work/footfall.db?mode=rwc"
    unset FOOTFALL_REDIS_URL ;;
  production)
    db="ff_bench_$(date +%s)"
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
    export FOOTFALL_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    export FOOTFALL_REDIS_URL="redis://127.0.0.1:6379"
    export FOOTFALL_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" ;;
  *) echo "usage: $0 embedded|production [RATE] [SECONDS]" >&2; exit 2 ;;
esac
site=$("$bin/footfall" site add example.com)
"$bin/footfall" serve 2> "$work/collector.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.1; done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"; }
echo "== $mode: $rate events/s for $seconds s (collector pid $pid, idle RSS $(rss) MB)"
cpu_before=$(cpu)
"$bin/loadgen" --url "http://127.0.0.1:$port" --site "$site" --rate "$rate" --seconds "$seconds" \
  --database-url "$FOOTFALL_DATABASE_URL"
cpu_after=$(cpu)
echo "degraded:      $(curl -s "http://127.0.0.1:$port/metrics" | awk '/^footfall_session_fallbacks_total/ {print $2}') session touches served by the fallback store (must be 0)"
events=$((rate * seconds))
echo "collector:     RSS $(rss) MB after load, $(echo "scale=1; ($cpu_after - $cpu_before) / $ticks" | bc) CPU-s," \
  "$(echo "scale=1; ($cpu_after - $cpu_before) / $ticks * 1000000 / $events" | bc) CPU-s per million events"
if [ "$mode" = embedded ]; then
  sqlite3 "$work/footfall.db" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null 2>&1 || true
  echo "disk:          $(du -b "$work/footfall.db" | cut -f1) bytes SQLite for $events events = $(( $(du -b "$work/footfall.db" | cut -f1) / events )) bytes/event (incl. sessions and indexes)"
fi
