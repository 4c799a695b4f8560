#!/usr/bin/env bash
# The whole side-by-side benchmark in one command (see docs/bench/model.md):
#   shared/model/wasm-bench/run.sh [--simd] [--small] [--repeat N] [--no-browser]
# Installs the pinned JS peers from npm into $WIREMAP_BENCH_CACHE
# (default ~/.cache/wiremap-bench), bundles them with esbuild, builds our
# layout for wasm32 with wasm-bindgen, then runs the native driver, which
# also runs our layout natively and Graphviz sfdp (apt-get install graphviz)
# and drives headless Chromium. Output: Markdown on stdout.
# --simd builds the WASM with the simd128 target feature (the layout's SIMD
# paths; the same positions bit for bit); without it, a scalar WASM build
# (the workspace otherwise builds every wasm32 target with simd128).
set -euo pipefail
simd=0
args=()
for a in "$@"; do
  if [ "$a" = "--simd" ]; then simd=1; else args+=("$a"); fi
done
here="$(cd "$(dirname "$0")" && pwd)"
cache="${WIREMAP_BENCH_CACHE:-$HOME/.cache/wiremap-bench}"
npm_dir="$cache/npm"
site="$cache/site"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

pins="d3-force@3.0.1 ngraph.graph@20.1.2 ngraph.forcelayout@3.3.1 graphology@0.26.0 graphology-layout-forceatlas2@0.10.1 esbuild@0.28.2"
mkdir -p "$npm_dir" "$site"
if [ "$(cat "$npm_dir/.pins" 2>/dev/null || true)" != "$pins" ]; then
  echo "npm: installing $pins" >&2
  (cd "$npm_dir" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund --save-exact $pins >&2)
  echo "$pins" > "$npm_dir/.pins"
fi
cp "$here/page/engines.js" "$npm_dir/engines.js"
(cd "$npm_dir" && ./node_modules/.bin/esbuild engines.js --bundle --format=iife \
  --global-name=Engines --minify --log-level=warning --outfile="$site/engines.bundle.js")

want="0.2.130"
have="$(wasm-bindgen --version | awk '{print $2}')"
if [ "$have" != "$want" ]; then
  echo "wasm-bindgen CLI $have found, $want needed (cargo install wasm-bindgen-cli --version $want)" >&2
  exit 1
fi
# Only for the wasm32 build (the native driver ignores it). The variable
# overrides the workspace's .cargo/config.toml, which builds every wasm32
# target (the web app included) with simd128.
if [ "$simd" = 1 ]; then
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
else
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=""
fi
(cd "$here" && cargo build --release --lib --target wasm32-unknown-unknown)
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasm_bench.wasm"
cp "$here/page/index.html" "$here/page/bench.js" "$site/"

(cd "$here" && cargo build --release --bin wasm-bench)
if [ "$simd" = 1 ]; then echo "WASM build: +simd128"; else echo "WASM build: no simd128"; fi
echo
exec "$CARGO_TARGET_DIR/release/wasm-bench" --site "$site" ${args[@]+"${args[@]}"}
