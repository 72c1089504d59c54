#!/usr/bin/env bash
# Ingestion benchmark: runs release collectors and the open-loop load generator on this machine and prints
# events/s, latency percentiles, CPU of the collector(s), Redis and PostgreSQL, memory, and whether every
# acknowledged event was stored.
#
#   bench/ingest.sh embedded [RATE] [SECONDS]    SQLite + in-process sessions (the default install)
#   bench/ingest.sh production [RATE] [SECONDS]  PostgreSQL + Redis (needs both running, see README)
#   bench/ingest.sh stored [RATE] [SECONDS]      production, into the existing database FOOTFALL_BENCH_DATABASE_URL
#                                                (e.g. one filled with 10 M events by KEEP=1 bench/query.sh)
#   bench/ingest.sh pair [RATE] [SECONDS]        two collectors sharing Redis and PostgreSQL, RATE/2 each
# PROFILE=1 samples the (first) collector with `perf record` during the load and prints where its CPU went.
set -euo pipefail
mode=${1:-embedded}
rate=${2:-10000}
seconds=${3:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
# BIN_DIR=dir runs the `footfall` and `loadgen` binaries found there instead (to compare two builds).
if [ -z "${BIN_DIR:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p footfall-collector -p footfall-loadgen
fi
bin="${BIN_DIR:-$root/target/release}"
work=$(mktemp -d /tmp/footfall-bench.XXXXXX)
export FOOTFALL_DATA_DIR="$work/data" FOOTFALL_TRUSTED_PROXIES=127.0.0.1 FOOTFALL_LOG=warn
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
production_env() {
  export FOOTFALL_REDIS_URL="redis://127.0.0.1:6379"
  export FOOTFALL_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}
collectors=1
case "$mode" in
  embedded)
    export FOOTFALL_DATABASE_URL="sqlite://$work/footfall.db?mode=rwc"
    unset FOOTFALL_REDIS_URL ;;
  production | pair)
    db="ff_bench_$(date +%s)"
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
    export FOOTFALL_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    production_env
    [ "$mode" = pair ] && collectors=2 ;;
  stored)
    : "${FOOTFALL_BENCH_DATABASE_URL:?set it to the database to load into}"
    export FOOTFALL_DATABASE_URL="$FOOTFALL_BENCH_DATABASE_URL"
    production_env
    echo "== already stored: $(psql -Atc 'SELECT COUNT(*) FROM events' "$FOOTFALL_DATABASE_URL") events" ;;
  *) echo "usage: $0 embedded|production|stored|pair [RATE] [SECONDS]" >&2; exit 2 ;;
esac
domain="bench-$(date +%s%N).example.com"
site=$("$bin/footfall" site add "$domain")
pids=()
ports=()
# A failed run keeps its directory (collector logs, spool) for a look at what happened.
trap 'kill "${pids[@]}" 2>/dev/null || true; [ "${status:-1}" = 0 ] && rm -rf "$work" || echo "kept $work" >&2' EXIT
for i in $(seq 1 "$collectors"); do
  port=$(free_port)
  # Each collector has its own spool (its own data directory), as on separate machines.
  FOOTFALL_LISTEN="127.0.0.1:$port" FOOTFALL_DATA_DIR="$work/data$i" "$bin/footfall" serve 2> "$work/collector$i.log" &
  pids+=($!)
  ports+=("$port")
done
for port in "${ports[@]}"; do
  until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.1; done
done

ticks=$(getconf CLK_TCK)
# CPU ticks of processes: the collectors, and for production Redis and every PostgreSQL process.
ticks_of() { for p in 0 "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2> /dev/null || echo 0; done | paste -sd+ | bc; }
service_pids() { [ "$mode" = embedded ] || { pgrep -x redis-server; pgrep -u postgres; } | tr '\n' ' '; }
rss() { for p in "${pids[@]}"; do awk '/VmRSS/ {print int($2/1024)}' "/proc/$p/status"; done | paste -sd' '; }
peak_rss() { for p in "${pids[@]}"; do awk '/VmHWM/ {print int($2/1024)}' "/proc/$p/status"; done | paste -sd' '; }
echo "== $mode: $rate events/s for $seconds s ($collectors collector(s), idle RSS $(rss) MB)"
before_collectors=$(ticks_of "${pids[@]}")
before_services=$(ticks_of $(service_pids))
per_collector=$((rate / collectors))
if [ "${PROFILE:-0}" = 1 ]; then
  perf record -q -F 499 -g -o "$work/perf.data" -p "${pids[0]}" 2> /dev/null &
  profiler=$!
fi
gens=()
for port in "${ports[@]}"; do
  /usr/bin/time -f "generator:     %U s user + %S s system CPU, %M KB max RSS" "$bin/loadgen" --url "http://127.0.0.1:$port" --site "$site" --domain "$domain" --rate "$per_collector" --seconds "$seconds" \
    --database-url "$FOOTFALL_DATABASE_URL" > "$work/loadgen-$port.log" 2>&1 &
  gens+=($!)
done
status=0
for g in "${gens[@]}"; do wait "$g" || status=1; done
if [ -n "${profiler:-}" ]; then
  kill -INT "$profiler"; wait "$profiler" 2> /dev/null || true
  echo "-- where the collector's CPU went (perf, self time, top symbols)"
  perf report -i "$work/perf.data" --no-children --sort dso --stdio 2> /dev/null | grep -E '^ +[0-9]' | tr -s ' ' | head -8
  perf report -i "$work/perf.data" --no-children --sort dso,symbol --percent-limit 1 --stdio 2> /dev/null \
    | grep -E '^ +[0-9]' | tr -s ' ' | head -40
fi
for port in "${ports[@]}"; do
  [ "$collectors" -gt 1 ] && echo "-- collector on :$port"
  cat "$work/loadgen-$port.log"
done
# Drained (the loss check waited for it): now CPU covers the events' whole way into PostgreSQL.
after_collectors=$(ticks_of "${pids[@]}")
after_services=$(ticks_of $(service_pids))
events=$((rate * seconds))
cpu_c=$(echo "scale=1; ($after_collectors - $before_collectors) / $ticks" | bc)
cpu_s=$(echo "scale=1; ($after_services - $before_services) / $ticks" | bc)
fallbacks=0
for port in "${ports[@]}"; do
  f=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^footfall_session_fallbacks_total/ {print $2}')
  fallbacks=$((fallbacks + ${f:-0}))
done
echo "degraded:      $fallbacks session touches served by the fallback store (must be 0)"
echo "collector:     RSS $(rss) MB after load (peak $(peak_rss) MB), $cpu_c CPU-s = $(echo "scale=1; $cpu_c * 1000000 / $events" | bc) CPU-s per million events"
if [ "$mode" != embedded ]; then
  echo "services:      Redis + PostgreSQL $cpu_s CPU-s; all together $(echo "scale=1; ($cpu_c + $cpu_s) * 1000000 / $events" | bc) CPU-s per million events"
else
  sqlite3 "$work/footfall.db" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null 2>&1 || true
  echo "disk:          $(du -b "$work/footfall.db" | cut -f1) bytes SQLite for $events events = $(( $(du -b "$work/footfall.db" | cut -f1) / events )) bytes/event (incl. sessions and indexes)"
fi
if [ -n "${db:-}" ]; then
  kill "${pids[@]}" 2> /dev/null || true
  wait "${pids[@]}" 2> /dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db" postgres
fi
exit $status
