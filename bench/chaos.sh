#!/usr/bin/env bash
# Chaos under steady load: "202 means durable" checked while Redis, PostgreSQL and the collector fail.
#
#   bench/chaos.sh [short|full]     short: ~2 minutes, run by scripts/test; full: the published figures
#
# Builds the release collector and load generator (CHAOS_PROFILE=dev: the debug build instead, which the test
# suite has already compiled — scripts/test uses it; the faults and checks are the same), then starts PRIVATE servers on free ports — a redis-server
# (no persistence: a killed Redis comes back empty) and a PostgreSQL cluster in a temporary directory (initdb,
# trust auth) — so the shared Redis on 6379 and PostgreSQL on 5432 are never touched. Each scenario runs one
# collector (PostgreSQL + Redis) on a fresh site and data directory under one steady open-loop load
# (examples/loadgen), while a sampler reads the spool gauge from /metrics every 0.5 s:
#
#   1 redis-kill   Redis SIGKILLed mid-load, restarted (empty) a few seconds later.
#   2a pg-stop     PostgreSQL stopped (-m fast) for 60 s (short: 10 s) with the default 1 GiB spool: the spool
#                  absorbs the outage, so no beacon may be refused.
#   2b pg-stop-cap The same (-m immediate, crash recovery at start) with a small spool cap: once the spool is
#                  full, 503 + Retry-After; every 503 must be the spool-full one (footfall_spool_full_total),
#                  come with Retry-After, and only after the spool reached its cap.
#   3 collector-kill  The collector SIGKILLed at random moments 20 times (short: 3) — while serving, while
#                  starting — and restarted on the same data directory each time.
#   3b kill-backlog  The collector SIGKILLed while PostgreSQL is down and the spool holds the outage's backlog,
#                  restarted like a supervisor would (it cannot start without PostgreSQL: retried every second),
#                  then SIGKILLed again while it replays that backlog, and restarted.
#
# Every scenario ends with the load generator's own stored check (every acknowledged id is in `events`) and
# then a check of every id it sent against the database:
#   lost        acknowledged (202) ids not stored — must be 0;
#   duplicated  event rows beyond one per id, plus events counted twice in their session's `events` counter
#               (a replayed segment must change nothing) — must be 0;
#   phantom     stored ids that were answered with something other than 202 (503, refused...) — must be 0;
#   unacked     stored ids whose answer never arrived (connection closed by a kill, timeout): the collector
#               had spooled them, so storing them is right; this is why `stored` may exceed `acked`.
# Split sessions: the load sends each visitor (one IP + User-Agent) an event about once a second, so every
# visitor's events of a run are minutes, never 30 minutes, apart: without faults each visitor has exactly one
# session, and `sessions - distinct visitors` counts the sessions a fault split off. Scenarios 2 and 3 are the
# control (Redis stays up: 0 expected).
# Drain: from the PostgreSQL start command until the spool gauge is back at its pre-outage level
# (≤ max(64 KiB, 1.5 × the largest pre-outage sample)).
# Exits non-zero on any loss, duplicate, phantom or refused-beacon rule broken. The work directory (logs,
# ids, samples) is removed on success and kept on failure. CHAOS_SEED fixes the kill moments.
set -euo pipefail
mode=${1:-short}
case "$mode" in
  short) rate=600 s1=(5 3 7) s2=(5 10 10) kills=3 s3_secs=15 small_cap=$((1 << 20)) ;;
  full) rate=2000 s1=(15 5 20) s2=(20 60 40) kills=20 s3_secs=60 small_cap=$((2 << 20)) ;;
  *) echo "usage: $0 [short|full]" >&2; exit 2 ;;
esac
visitors=$rate # one event per visitor per second on average
root=$(cd "$(dirname "$0")/.." && pwd)

fail() { echo "chaos: $*" >&2; exit 1; }
need() { command -v "$1" > /dev/null || fail "$1 is required ($2)"; }
need redis-server "apt-get install redis-server"
need redis-cli "apt-get install redis-server"
need psql "apt-get install postgresql"
need curl "apt-get install curl"
pg_bin=${CHAOS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)}
[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] || fail "PostgreSQL server binaries not found (apt-get install postgresql, or CHAOS_PG_BIN)"
if [ "$(id -u)" = 0 ]; then
  id postgres > /dev/null 2>&1 || fail "running as root needs the postgres user to own the private cluster"
  need runuser "util-linux"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

profile=${CHAOS_PROFILE:-release}
case "$profile" in release) out=release ;; dev) out=debug ;; *) fail "CHAOS_PROFILE is release or dev" ;; esac
cargo build --profile "$profile" --quiet --manifest-path "$root/Cargo.toml" -p footfall-collector -p footfall-loadgen
bin="$root/target/$out"
work=$(mktemp -d /tmp/footfall-chaos.XXXXXX)
chmod 755 "$work"
free_port() { # below the kernel's ephemeral range (32768-), and nobody answering on it
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    (echo > "/dev/tcp/127.0.0.1/$port") 2> /dev/null || { echo "$port"; return; }
  done
  fail "no free port found"
}
now() { date +%s.%N; }
seed=${CHAOS_SEED:-$RANDOM}

# --- processes of this script, stopped by pid on exit ------------------------------------------------------
redis_pid='' collector_pid='' loadgen_pid='' sampler_pid='' pg_up=0 ok=0
stop_pid() { [ -n "$1" ] && kill -9 "$1" 2> /dev/null && wait "$1" 2> /dev/null || true; }
cleanup() {
  stop_pid "$sampler_pid"; stop_pid "$loadgen_pid"; stop_pid "$collector_pid"; stop_pid "$redis_pid"
  [ "$pg_up" = 1 ] && as_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate -w stop > /dev/null 2>&1 || true
  if [ "$ok" = 1 ]; then rm -rf "$work"; else echo "chaos: logs, ids and samples kept in $work" >&2; fi
}
trap cleanup EXIT

# --- private Redis ------------------------------------------------------------------------------------------
redis_port=$(free_port)
mkdir -p "$work/redis"
redis_start() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/redis" \
    --logfile "$work/redis/redis.log" &
  redis_pid=$!
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && return; sleep 0.05; done
  fail "private redis-server on port $redis_port did not start"
}
redis_kill() { kill -9 "$redis_pid"; wait "$redis_pid" 2> /dev/null || true; redis_pid=''; }

# --- private PostgreSQL ------------------------------------------------------------------------------------
pg_port=$(free_port)
mkdir -p "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$work/pg"
as_pg "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 > "$work/pg/initdb.log" 2>&1 ||
  fail "initdb failed: $(tail -3 "$work/pg/initdb.log")"
pg_start() {
  as_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 120 \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=60" start > /dev/null ||
    fail "private PostgreSQL did not start: $(tail -3 "$work/pg/server.log")"
  pg_up=1
}
pg_stop() { as_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -m "$1" -w stop > /dev/null; pg_up=0; }
started=$(date +%s)
pg_start
redis_start
sql() { psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d footfall "$@"; }
psql -qX -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE footfall" > /dev/null

export FOOTFALL_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/footfall"
export FOOTFALL_REDIS_URL="redis://127.0.0.1:$redis_port"
export FOOTFALL_SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export FOOTFALL_TRUSTED_PROXIES=127.0.0.1 FOOTFALL_LOG=warn
"$bin/footfall" migrate > "$work/migrate.log" 2>&1 || fail "migrate: $(tail -3 "$work/migrate.log")"
echo "== chaos $mode ($profile build): $rate events/s from $visitors visitors; private Redis :$redis_port, PostgreSQL :$pg_port; seed $seed; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- collector, load, spool sampler --------------------------------------------------------------------------
collector_start() {
  "$bin/footfall" serve >> "$dir/collector.log" 2>&1 &
  collector_pid=$!
}
collector_wait_ready() {
  for _ in $(seq 600); do
    curl -sf -m 1 "$base/healthz" > /dev/null 2>&1 && return
    kill -0 "$collector_pid" 2> /dev/null || fail "collector exited at start: $(tail -5 "$dir/collector.log")"
    sleep 0.1
  done
  fail "collector did not answer /healthz within 60 s"
}
# Like a supervisor: start, and start again after a second whenever it exits, until it answers /healthz.
collector_up() {
  local deadline=$(($(date +%s) + 180))
  attempts=0
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ -n "$collector_pid" ] && kill -0 "$collector_pid" 2> /dev/null || { collector_start; attempts=$((attempts + 1)); }
    curl -sf -m 1 "$base/healthz" > /dev/null 2>&1 && return
    kill -0 "$collector_pid" 2> /dev/null || { wait "$collector_pid" 2> /dev/null || true; collector_pid=''; sleep 1; }
    sleep 0.1
  done
  fail "collector did not come back within 180 s: $(tail -5 "$dir/collector.log")"
}
collector_kill() { kill -9 "$collector_pid" 2> /dev/null || true; wait "$collector_pid" 2> /dev/null || true; collector_pid=''; }
metric() { curl -sf -m 2 "$base/metrics" | awk -v name="$1" '$1 == name {print $2}'; }
sampler() {
  while :; do
    echo "$(now) $(curl -sf -m 0.4 "$base/metrics" 2> /dev/null | awk '$1 == "footfall_spool_bytes" {print $2}')"
    sleep 0.5
  done
}

# scenario_begin NAME SECONDS [extra env...]: fresh site, data dir and collector; load and sampler started.
scenario_begin() {
  name=$1 seconds=$2
  shift 2
  dir="$work/$name"
  mkdir -p "$dir"
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  export FOOTFALL_LISTEN="127.0.0.1:$port" FOOTFALL_DATA_DIR="$dir/data"
  unset FOOTFALL_SPOOL__MAX_BYTES FOOTFALL_SPOOL__SEGMENT_BYTES
  for assignment in "$@"; do export "${assignment?}"; done
  domain="$name.example.com"
  site=$("$bin/footfall" site add "$domain" --id "chaos-$name" 2> "$dir/site.log") || fail "site add: $(cat "$dir/site.log")"
  site_id=$(sql -c "SELECT id FROM sites WHERE public_id = '$site'")
  collector_start
  collector_wait_ready
  sampler > "$dir/spool.samples" &
  sampler_pid=$!
  t0=$(now)
  "$bin/loadgen" --url "$base" --site "$site" --domain "$domain" --rate "$rate" --seconds "$seconds" \
    --visitors "$visitors" --database-url "$FOOTFALL_DATABASE_URL" \
    --ids-out "$dir/ids.csv" --summary-json "$dir/summary.json" > "$dir/loadgen.out" 2>&1 &
  loadgen_pid=$!
  echo "-- $name: $rate events/s for $seconds s"
}
at() { # sleep until SECONDS after the load started
  local wait
  wait=$(awk -v t0="$t0" -v s="$1" -v now="$(now)" 'BEGIN {d = t0 + s - now; print (d > 0 ? d : 0)}')
  sleep "$wait"
}

failures=()
check() { # check CONDITION-AS-TEXT RESULT(0/1)
  if [ "$2" != 0 ]; then failures+=("$name: $1"); echo "   FAIL: $1"; fi
}
printf '%s\n' "scenario offered acked stored lost duplicated phantom unacked split_sessions peak_spool drain_s 503s" > "$work/table"

# scenario_end [DRAIN_FROM_T PRE_OUTAGE_UNTIL_T]: waits for the load and its stored check, then checks every id.
scenario_end() {
  local loadgen_ok=0
  wait "$loadgen_pid" || loadgen_ok=1
  loadgen_pid=''
  sed 's/^/   loadgen | /' "$dir/loadgen.out"
  check "loadgen's stored check (every acknowledged id stored)" "$loadgen_ok"
  # Rows and session counters settle once the last segment is written: let the writer finish.
  for _ in $(seq 120); do [ "$(metric footfall_spool_bytes)" = 0 ] && break; sleep 0.5; done
  stop_pid "$sampler_pid"
  sampler_pid=''
  fallbacks=$(metric footfall_session_fallbacks_total || true) spool_full=$(metric footfall_spool_full_total || true)
  fallbacks=${fallbacks:-0} spool_full=${spool_full:-0}
  sql > "$dir/check.out" << SQL
CREATE TEMP TABLE sent (id uuid PRIMARY KEY, outcome text NOT NULL);
\copy sent FROM '$dir/ids.csv' WITH (FORMAT csv)
SELECT
  (SELECT count(*) FROM sent),
  (SELECT count(*) FROM sent WHERE outcome = '202'),
  (SELECT count(*) FROM events WHERE site_id = $site_id),
  (SELECT count(*) FROM sent s WHERE outcome = '202' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = s.id)),
  (SELECT count(*) - count(DISTINCT id) FROM events WHERE site_id = $site_id),
  (SELECT coalesce(sum(events), 0) FROM sessions WHERE site_id = $site_id),
  (SELECT count(*) FROM events e WHERE site_id = $site_id
     AND NOT EXISTS (SELECT 1 FROM sent s WHERE s.id = e.id AND s.outcome IN ('202', 'closed', 'timeout'))),
  (SELECT count(*) FROM events e JOIN sent s USING (id) WHERE s.outcome IN ('closed', 'timeout')),
  (SELECT count(*) - count(DISTINCT visitor) FROM sessions WHERE site_id = $site_id),
  (SELECT count(DISTINCT visitor) FROM sessions WHERE site_id = $site_id),
  (SELECT count(*) FROM sent WHERE outcome = '503');
SQL
  IFS='|' read -r offered acked stored lost dup_rows session_events phantom unacked split visitors_seen n503 < "$dir/check.out"
  local counted_twice=$((session_events > stored ? session_events - stored : 0))
  duplicated=$((dup_rows + counted_twice))
  peak=$(awk 'NF == 2 && $2 > m {m = $2} END {print m + 0}' "$dir/spool.samples")
  drain=-
  if [ $# -ge 2 ]; then
    drain=$(awk -v from="$1" -v pre="$2" -v t0="$t0" '
      NF == 2 && $1 >= t0 && $1 < pre && $2 > base {base = $2}
      NF == 2 && $1 >= from && !done { limit = (1.5 * base > 65536 ? 1.5 * base : 65536)
        if ($2 <= limit) {printf "%.1f", $1 - from; done = 1} }
      END {if (!done) print "never"}' "$dir/spool.samples")
  fi
  retry_missing=$(sed -n 's/.*"retry_after_missing":\([0-9]*\).*/\1/p' "$dir/summary.json")
  [ -n "$retry_missing" ] || fail "loadgen wrote no summary ($dir/summary.json)"
  echo "   ids: $offered sent, $acked acknowledged, $stored stored ($unacked of them unanswered at a kill), $lost lost," \
    "$dup_rows duplicate rows, session event counters $session_events for $stored events, $phantom phantom"
  echo "   sessions: $split split over $visitors_seen visitors; session-store fallbacks $fallbacks; spool peak $peak bytes, drain ${drain} s; 503s $n503 (collector's spool_full $spool_full, without Retry-After $retry_missing)"
  check "no acknowledged event lost ($lost)" "$((lost != 0))"
  check "no event stored twice ($dup_rows rows)" "$((dup_rows != 0))"
  check "session event counters equal stored events ($session_events vs $stored)" "$((session_events != stored))"
  check "no refused event stored ($phantom)" "$((phantom != 0))"
  check "every 503 carries Retry-After ($retry_missing without)" "$((retry_missing != 0))"
  [ "$drain" = never ] && check "spool drained after the outage" 1
  printf '%s\n' "$name $offered $acked $stored $lost $duplicated $phantom $unacked $split $peak $drain $n503" >> "$work/table"
  kill -TERM "$collector_pid" 2> /dev/null && wait "$collector_pid" 2> /dev/null || true
  collector_pid=''
}

# --- 1: Redis SIGKILLed and restarted ----------------------------------------------------------------------
scenario_begin redis-kill $((s1[0] + s1[1] + s1[2]))
at "${s1[0]}"; redis_kill; echo "   $(date +%T) Redis SIGKILLed"
at $((s1[0] + s1[1])); redis_start; echo "   $(date +%T) Redis restarted (empty)"
scenario_end
check "the outage was served by the in-process fallback" "$((fallbacks == 0))"

# --- 2a: PostgreSQL stopped, roomy spool --------------------------------------------------------------------
scenario_begin pg-stop $((s2[0] + s2[1] + s2[2]))
at "${s2[0]}"; pre_until=$(now); pg_stop fast; echo "   $(date +%T) PostgreSQL stopped (fast)"
at $((s2[0] + s2[1])); pg_from=$(now); pg_start; echo "   $(date +%T) PostgreSQL started"
scenario_end "$pg_from" "$pre_until"
check "no 503 while the spool had room ($n503)" "$((n503 != 0))"

# --- 2b: PostgreSQL stopped, small spool: 503 + Retry-After once it is full ----------------------------------
scenario_begin pg-stop-cap $((s2[0] + s2[1] + s2[2])) FOOTFALL_SPOOL__MAX_BYTES=$small_cap FOOTFALL_SPOOL__SEGMENT_BYTES=$((small_cap / 8))
at "${s2[0]}"; pre_until=$(now); pg_stop immediate; echo "   $(date +%T) PostgreSQL stopped (immediate); spool cap $small_cap bytes"
at $((s2[0] + s2[1])); pg_from=$(now); pg_start; echo "   $(date +%T) PostgreSQL started (crash recovery)"
scenario_end "$pg_from" "$pre_until"
check "the full spool refused beacons with 503 ($n503)" "$((n503 == 0))"
check "every 503 was the spool-full one ($n503 answered, $spool_full counted)" "$((n503 != spool_full))"
check "503 only once the spool reached its cap (peak $peak of $small_cap)" "$((peak * 10 < small_cap * 9))"

# --- 3: collector SIGKILLed at random moments and restarted on the same data directory ---------------------
# Kill moments uniform over the load, at least 0.3 s apart, the last one 5 s before its end.
moments=$(awk -v n="$kills" -v len="$s3_secs" -v seed="$seed" 'BEGIN {
  srand(seed); span = len - 7 - 0.3 * n
  for (i = 0; i < n; i++) t[i] = rand() * span
  for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (t[j] < t[i]) {x = t[i]; t[i] = t[j]; t[j] = x}
  for (i = 0; i < n; i++) printf "%.2f\n", 2 + t[i] + 0.3 * i }')
scenario_begin collector-kill "$s3_secs"
starting=0
for moment in $moments; do
  at "$moment"
  curl -sf -m 0.2 "$base/healthz" > /dev/null 2>&1 || starting=$((starting + 1))
  collector_kill
  collector_start
done
echo "   $kills SIGKILLs at ${moments//$'\n'/ } s ($starting of them before the collector answered /healthz)"
collector_wait_ready
scenario_end

# --- 3b: collector SIGKILLed with an outage's backlog in the spool, and again while it replays it ------------
scenario_begin kill-backlog $((s2[0] + s2[1] + s2[2]))
at "${s2[0]}"; pg_stop fast; echo "   $(date +%T) PostgreSQL stopped (fast)"
at $((s2[0] + s2[1] - 2)); backlog=$(metric footfall_spool_bytes || echo "?"); collector_kill
echo "   $(date +%T) collector SIGKILLed with $backlog bytes spooled; restarted"
collector_start
at $((s2[0] + s2[1]))
kill -0 "$collector_pid" 2> /dev/null || echo "   $(date +%T) the restarted collector exited: it cannot start without PostgreSQL"
pg_start; echo "   $(date +%T) PostgreSQL started"
collector_up
echo "   $(date +%T) collector up"
sleep "$(awk -v seed="$seed" 'BEGIN {srand(seed); printf "%.2f", 0.05 + rand() * 0.5}')"
backlog=$(metric footfall_spool_bytes || echo "?"); collector_kill
echo "   $(date +%T) collector SIGKILLed while replaying, $backlog bytes spooled"
collector_up
scenario_end

echo
echo "== chaos $mode summary ($rate events/s, $(($(date +%s) - started)) s after the build; split = sessions beyond one per visitor; drain from PostgreSQL start)"
awk '{for (i = 1; i <= NF; i++) printf (i == 1 ? "%-15s" : "%15s"), $i; print ""}' "$work/table"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
ok=1
echo "chaos $mode: 0 lost, 0 duplicated"
