#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one run, in a fixed order, on a machine with nothing else running
# (about 90 minutes on 2 cores, 53 of them the 10 M rollups; PostgreSQL and Redis as the README's set-up leaves them):
#
#   bench/all.sh 2>&1 | tee bench-run.txt
#
# `bench/all.sh queries` runs step 1 only, keeping that database and printing its URL;
# `FOOTFALL_BENCH_DATABASE_URL=… bench/all.sh ingest` runs the ingestion steps against it (and leaves it).
#
# 1. queries at 10 M events (PostgreSQL, database kept), and at 1 M events on PostgreSQL and SQLite;
# 2. ingestion into those 10 M events: the production ladder below;
# 3. ingestion, embedded and production: rising rates until the collector falls behind (the maximum is the
#    highest rate fully acknowledged with p99 under 1 s and stored without a backlog), then half that maximum for the latency target, then a
#    profiled run; two collectors sharing Redis and PostgreSQL at the production maximum.
# Override the rate ladders with EMBEDDED_RATES / PRODUCTION_RATES, the 10 M size with BIG_VISITORS.
set -euo pipefail
what=${1:-all}
case "$what" in all | queries | ingest) ;; *) echo "usage: $0 [all|queries|ingest]" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${SECONDS_PER_RUN:-20}
embedded_rates=${EMBEDDED_RATES:-"4000 6000 8000 10000 12000 14000 16000"}
production_rates=${PRODUCTION_RATES:-"3000 4000 5000 6000 7000 8000 10000 12000"}
big_visitors=${BIG_VISITORS:-1500000}

section() { printf '\n######## %s — %s\n' "$1" "$(date -u +%H:%M:%S)"; }
section "machine"
echo "date:       $(date -u +%FT%TZ); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)')"
echo "cpu:        $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "memory:     $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
echo "services:   $(psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version' postgres | sed 's/^/PostgreSQL /'), $(redis-server --version | awk '{print $1, $3}')"
echo "load now:   $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
cargo build --release --quiet -p footfall-collector -p footfall-loadgen
cargo build --release --quiet -p footfall-collector --example query_bench

# Runs a mode at rising rates; prints the maximum rate it kept up with.
ladder() {
  local mode=$1 rates=$2 max=0 log acked p99
  for rate in $rates; do
    section "ingestion, $mode, $rate events/s" >&2
    log=$(mktemp)
    bench/ingest.sh "$mode" "$rate" "$seconds" 2>&1 | tee "$log" >&2 || true
    acked=$(awk '/^acknowledged:/ {s += $2} END {print s}' "$log")
    p99=$(awk '/^latency/ {if ($6 > m) m = $6} END {print m + 0}' "$log")
    drained=$(awk '/^stored check:/ {for (i = 1; i < NF; i++) if ($i == "drained") d = $(i + 1)} END {print d + 0}' "$log")
    stored=$(grep -c '(0 missing)' "$log" || true)
    rm -f "$log"
    # Kept up: ≥ 99 % of what was offered acknowledged with p99 under a second, every acknowledged event stored,
    # and the database not left behind (stored within half the run's length after the load ended).
    if [ -n "$acked" ] && [ "$acked" -ge $((rate * seconds * 99 / 100)) ] && [ "$stored" -gt 0 ] &&
      awk -v p="$p99" -v d="$drained" -v s="$seconds" 'BEGIN {exit !(p < 1000 && d <= s / 2)}'; then
      max=$rate
    else
      break
    fi
  done
  echo "$max"
}

big_url=${FOOTFALL_BENCH_DATABASE_URL:-}
if [ "$what" != ingest ]; then
  section "queries, PostgreSQL, $big_visitors visitors (≈ 10 M events)"
  KEEP=1 bench/query.sh postgres "$big_visitors" | tee /tmp/footfall-bench-big.txt
  big_url=$(sed -n 's/^kept: FOOTFALL_BENCH_DATABASE_URL=//p' /tmp/footfall-bench-big.txt)
  rm -f /tmp/footfall-bench-big.txt
  section "queries, PostgreSQL, 150000 visitors (≈ 1 M events)"
  bench/query.sh postgres 150000
  section "queries, SQLite, 150000 visitors (≈ 1 M events)"
  bench/query.sh sqlite 150000
fi
[ "$what" = queries ] && { section "done (10 M database kept: FOOTFALL_BENCH_DATABASE_URL=$big_url)"; exit 0; }

# Ingestion with 10 M stored: the same ladder as production on an empty database (below), to compare.
if [ -n "$big_url" ]; then
  export FOOTFALL_BENCH_DATABASE_URL="$big_url"
  stored_max=$(ladder stored "$production_rates")
  section "stored: maximum rate kept up with 10 M events stored: $stored_max events/s"
  unset FOOTFALL_BENCH_DATABASE_URL
  [ "$what" = all ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE ${big_url##*/}" postgres
else
  section "stored: skipped (set FOOTFALL_BENCH_DATABASE_URL to a database holding 10 M events)"
fi

for mode in embedded production; do
  rates=$([ "$mode" = embedded ] && echo "$embedded_rates" || echo "$production_rates")
  max=$(ladder "$mode" "$rates")
  section "$mode: maximum rate kept up with: $max events/s; now half of it for latency"
  [ "$max" -gt 0 ] && bench/ingest.sh "$mode" $((max / 2)) $((seconds * 3 / 2)) || true
  section "$mode: profiled at the maximum rate"
  [ "$max" -gt 0 ] && PROFILE=1 bench/ingest.sh "$mode" "$max" "$seconds" || true
  [ "$mode" = production ] && production_max=$max
done

section "two collectors sharing Redis and PostgreSQL, ${production_max} and $((production_max * 3 / 2)) events/s in all"
bench/ingest.sh pair "$production_max" "$seconds" || true
bench/ingest.sh pair $((production_max * 3 / 2)) "$seconds" || true
section "done"
