#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm, wasm-bindgen (web target), wasm-opt -Oz, the
# hand-written JS entry points and their types, and the script-tag bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
# PIXY_PKG_DIR builds elsewhere (the size script measures variants without touching pkg/).
out_dir=${PIXY_PKG_DIR:-pkg}
export PIXY_PKG_DIR=$out_dir

# Size: with the rust-src component, std is rebuilt for size with panics that abort at once
# (no panic messages or formatting machinery for them). RUSTC_BOOTSTRAP lets the stable
# toolchain accept these two build flags; without rust-src the plain build is used.
out=target/wasm32-unknown-unknown/release/pixy_oidc.wasm
if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  CARGO_TARGET_DIR=target/size RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
    cargo build --lib --release --target wasm32-unknown-unknown --quiet \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
  out=target/size/wasm32-unknown-unknown/release/pixy_oidc.wasm
else
  cargo build --lib --release --target wasm32-unknown-unknown --quiet
fi
rm -rf "$out_dir"
mkdir -p "$out_dir"
wasm-bindgen --target web --no-typescript --out-dir "$out_dir" --out-name pixy_oidc "$out"
# binaryen's wasm-opt from npm (pinned in package.json), after wasm-bindgen so that it also
# shrinks what wasm-bindgen added; nothing from apt. It must be told the features Rust emits.
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o "$out_dir/pixy_oidc_bg.wasm" "$out_dir/pixy_oidc_bg.wasm"
cp src/js/*.js src/js/*.d.ts "$out_dir/"
# What createOidc loads is one minified module, pkg/index.js: the API (index.js), the shell
# (client.js, io.js), the config key and wasm-bindgen's glue, bundled (one request, one gzip
# dictionary). errors.js stays its own module: pixy-oidc/mock throws the very same OidcError.
# The framework bindings and the mock stay as written.
node_modules/.bin/esbuild "$out_dir/index.js" --bundle --external:./errors.js --minify --format=esm \
  --log-level=warning --outfile="$out_dir/index.js.min"
mv "$out_dir/index.js.min" "$out_dir/index.js"
# pixy-oidc/silent: the silent page's few lines, on their own.
node_modules/.bin/esbuild "$out_dir/silent.js" --bundle --minify --format=esm \
  --log-level=warning --outfile="$out_dir/silent.js.min"
mv "$out_dir/silent.js.min" "$out_dir/silent.js"
rm "$out_dir/client.js" "$out_dir/io.js" "$out_dir/pixy_oidc.js"
for f in errors.js config-key.js countdown.js; do
  node_modules/.bin/esbuild "$out_dir/$f" --minify --format=esm --log-level=warning --outfile="$out_dir/$f.min"
  mv "$out_dir/$f.min" "$out_dir/$f"
done
if [ -f scripts/build-global.mjs ]; then
  node scripts/build-global.mjs
fi
# A .gitignore of "*" inside pkg/ would make npm pack leave every file out.
rm -f "$out_dir/.gitignore"
echo "built $out_dir/: $(ls "$out_dir" | tr '\n' ' ')"
