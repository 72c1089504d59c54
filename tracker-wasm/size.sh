#!/usr/bin/env bash
# Prints the bundle's gzipped sizes against the budget (DESIGN.md §8: loader <= 1 KB; loader + glue + wasm
# <= 8 KB, aim for 6) and fails when either is exceeded.
set -euo pipefail
cd "$(dirname "$0")/dist"
LOADER_BUDGET=1024
TOTAL_TARGET=8192
gz() { gzip -9 -n -c "$1" | wc -c; }
loader=$(gz t.js)
glue=$(gz "$(ls footfall-*.js)")
wasm=$(gz "$(ls footfall-*.wasm)")
total=$((loader + glue + wasm))
printf 'tracker bundle (gzip -9): loader %d B, glue %d B, wasm %d B (raw %d B), total %d B\n' \
  "$loader" "$glue" "$wasm" "$(wc -c < "$(ls footfall-*.wasm)")" "$total"
printf 'tracker budget: loader %d/%d B, total %d/%d B\n' "$loader" "$LOADER_BUDGET" "$total" "$TOTAL_TARGET"
status=0
[ "$loader" -le "$LOADER_BUDGET" ] || { echo "tracker: loader over its 1 KB budget" >&2; status=1; }
[ "$total" -le "$TOTAL_TARGET" ] || { echo "tracker: bundle over its 8 KB budget" >&2; status=1; }
exit $status
