#!/usr/bin/env bash
# Builds the tracker bundle into dist/: the loader t.js, the wasm-bindgen glue and the wasm module under
# content-hashed names, and manifest.json naming them. The collector embeds dist/ at compile time.
#
# Toolchain: rustup's wasm32-unknown-unknown target when installed; otherwise Debian's rustc-web/cargo-web
# (Rust 1.96, with rust-web-src) building std for wasm32 itself, linked with the rust-lld of the rustup
# toolchain. wasm-bindgen-cli is pinned to the wasm-bindgen crate version; wasm-opt and terser come from npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
WASM_BINDGEN_VERSION=0.2.130
tools="$here/../.tools"
quiet_apt() {
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2> /dev/null | head -1)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" > /dev/null
}

# 1. Tools (each step is skipped when already satisfied).
if ! "$tools/bin/wasm-bindgen" --version 2> /dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  echo "tracker: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once)"
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$tools"
fi
[ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/terser ] || npm ci --no-audit --no-fund --silent

# 2. Compile to wasm32.
target=wasm32-unknown-unknown
if rustup target list --installed 2> /dev/null | grep -q "^$target\$"; then
  cargo build --quiet --release --target "$target"
else
  [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ] || quiet_apt rustc-web cargo-web rust-web-src
  lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
  # Size flags (std is built here too, so they reach it): no panic machinery, no file/line strings, no Debug
  # formatting, and JS values kept in the glue's table rather than an externref table managed by the module.
  # Static data before the stack (at 1 KB, not after a 1 MB stack): every address of a string constant in the
  # code is then a 2-byte number instead of a 3-byte one. LLVM inlines only the smallest functions (the
  # threshold is measured: lower or higher, the gzipped module grows).
  size_flags="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Ctarget-feature=-reference-types"
  size_flags+=" -Clink-arg=--no-stack-first -Cllvm-args=-inline-threshold=10"
  RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$size_flags --remap-path-prefix=$HOME=~ --remap-path-prefix=$here=." \
    /usr/bin/cargo build --quiet --release --target "$target" -Zbuild-std=std,panic_abort
fi

# 3. Bind, shrink, hash.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$tools/bin/wasm-bindgen" --target web --no-typescript --omit-default-module-path --encode-into always \
  --out-dir "$out" --out-name footfall \
  "target/$target/release/footfall_tracker.wasm"
# The module's memory is all zeros at the start and its first kilobyte is never used (static data begins at 1 KB).
features="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals
  --enable-reference-types --enable-multivalue --zero-filled-memory --low-memory-unused"
# shellcheck disable=SC2086 # $features is a list of flags
node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers $features \
  "$out/footfall_bg.wasm" -o "$out/optimized.wasm"
# Short import/export names; glue.mjs renames them in the glue, trims its initialisation and helpers, and says
# which exports the trimmed glue still uses: wasm-metadce removes the others, and what only they reached.
node_modules/.bin/wasm-opt --minify-imports-and-exports-and-modules "$out/optimized.wasm" -o "$out/minified.wasm" \
  > "$out/names.json"
node glue.mjs "$out/footfall.js" "$out/names.json" "$out/minified.wasm" "$out/graph.json" > "$out/trimmed.js"
node_modules/.bin/wasm-metadce --graph-file "$out/graph.json" "$out/minified.wasm" -o "$out/dce.wasm" > /dev/null
# shellcheck disable=SC2086
node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers --strip-target-features $features \
  "$out/dce.wasm" -o "$out/footfall.wasm"
node glue.mjs --check "$out/trimmed.js" "$out/footfall.wasm"
node_modules/.bin/terser "$out/trimmed.js" --module --compress "passes=3,pure_funcs=['console.warn']" --mangle --toplevel \
  -o "$out/glue.js"
hash=$(cat "$out/footfall.wasm" "$out/glue.js" | sha256sum | cut -c1-12)
rm -rf dist && mkdir -p dist
cp "$out/footfall.wasm" "dist/footfall-$hash.wasm"
cp "$out/glue.js" "dist/footfall-$hash.js"
sed -e "s/__GLUE__/footfall-$hash.js/" -e "s/__WASM__/footfall-$hash.wasm/" loader/t.js |
  node_modules/.bin/terser --compress passes=3 --mangle -o dist/t.js
printf '{"loader":"t.js","glue":"footfall-%s.js","wasm":"footfall-%s.wasm"}\n' "$hash" "$hash" > dist/manifest.json
./size.sh
