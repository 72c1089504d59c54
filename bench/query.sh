#!/usr/bin/env bash
# Query benchmark: fills a fresh database with `footfall demo` traffic over 30 days, builds the rollups, and
# times the dashboard's 30-day overview set (summary with comparison, timeseries, pages, sources, countries,
# devices), printing p50/p95 per query and for the whole set: as now (today's settled part and the visits after
# it raw), as at the end of a UTC day (the 30 days to yesterday, its settled part to the cut the job reaches at
# 23:59), and as at the end of a day read raw in full (no settled part). The end-of-day modes also read today's
# events where a statement is bounded below only: BENCHMARKS.md measures them on a copy without today's events.
#
#   bench/query.sh postgres VISITORS    a fresh PostgreSQL database (needs it running, see README)
#   bench/query.sh sqlite VISITORS      a fresh SQLite file
# About 6.7 events per demo visitor: 150000 visitors ≈ 1 M events, 1500000 ≈ 10 M.
# KEEP=1 keeps the database and prints its URL (PostgreSQL: for bench/ingest.sh stored; both: to rerun
# target/release/examples/query_bench against the same data before and after a change). SHAPES_ONLY=1 skips the
# end-of-day modes; SHAPE_ROUNDS=n sets the rounds of every shape (default 5: the filtered shapes take seconds).
set -euo pipefail
store=${1:-postgres}
visitors=${2:-150000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p footfall-collector --bin footfall --example query_bench --example shapes_bench
bin="$root/target/release"
work=$(mktemp -d /tmp/footfall-qbench.XXXXXX)
export FOOTFALL_DATA_DIR="$work/data" FOOTFALL_LOG=warn
case "$store" in
  postgres)
    # Kept databases are not named ff_bench_*, which scripts/services drops.
    db="$([ "${KEEP:-0}" = 1 ] && echo ffkeep || echo ff_bench)_q_$(date +%s)"
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
    export FOOTFALL_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    export FOOTFALL_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" ;;
  sqlite)
    export FOOTFALL_DATABASE_URL="sqlite://$work/footfall.db?mode=rwc" ;;
  *) echo "usage: $0 postgres|sqlite [VISITORS]" >&2; exit 2 ;;
esac
site=$("$bin/footfall" site add bench.example.com)
echo "== demo traffic: $visitors visitors over 30 days into $store"
/usr/bin/time -f "demo: %e s wall, %U s user, %M KB max RSS" "$bin/footfall" demo --site "$site" --days 30 --visitors "$visitors" --seed 1
echo "== rollups"
/usr/bin/time -f "rollup: %e s wall" "$bin/footfall" rollup
if [ "$store" = postgres ]; then psql -q -h 127.0.0.1 -U postgres -c "VACUUM ANALYZE" "$db"; fi
echo "== overview set"
"$bin/examples/query_bench" "$site" 20
echo "== every shape a user clicks: the overview set under each filter and in another zone, breakdowns, hours, sessions"
"$bin/examples/shapes_bench" "$site" "${SHAPE_ROUNDS:-5}"
if [ "${SHAPES_ONLY:-0}" = 1 ]; then END_OF_DAY_MODES=0; fi
if [ "${END_OF_DAY_MODES:-1}" = 1 ]; then
echo "== overview set at the end of a day: yesterday's settled part to the cut the job reaches at 23:59, the visits after it raw"
END_OF_DAY=settled "$bin/examples/query_bench" "$site" 20
echo "== overview set at the end of a day without its settled part (yesterday, a whole day of traffic, read raw)"
END_OF_DAY=raw "$bin/examples/query_bench" "$site" 20
fi
if [ "$store" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size('$db'))" postgres
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept: FOOTFALL_BENCH_DATABASE_URL=$FOOTFALL_DATABASE_URL"
  else
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db" postgres
  fi
else
  du -h "$work/footfall.db" | sed 's/^/database size: /'
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept: FOOTFALL_DATABASE_URL=$FOOTFALL_DATABASE_URL"
    exit 0
  fi
fi
rm -rf "$work"
