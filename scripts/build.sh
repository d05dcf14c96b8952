#!/usr/bin/env bash
# Builds the npm package into pkg/: release wasm, wasm-bindgen (web target), wasm-opt -Oz, the
# hand-written JS entry points and their types, and the script-tag bundle.
set -euo pipefail
cd "$(dirname "$0")/.."

# Size: with the rust-src component, std is rebuilt for size with panics that abort at once
# (no panic messages or formatting machinery for them). RUSTC_BOOTSTRAP lets the stable
# toolchain accept these two build flags; without rust-src the plain build is used.
out=target/wasm32-unknown-unknown/release/pixy_oidc.wasm
if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  CARGO_TARGET_DIR=target/size RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
    cargo build --lib --release --target wasm32-unknown-unknown --quiet \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
  out=target/size/wasm32-unknown-unknown/release/pixy_oidc.wasm
else
  cargo build --lib --release --target wasm32-unknown-unknown --quiet
fi
rm -rf pkg
mkdir -p pkg target/opt
# Debian's wasm-opt (108) must be told the features Rust 1.95 emits. It runs *before*
# wasm-bindgen: run after, it moves wasm-bindgen's externref table export onto the funcref
# table and the module fails to instantiate ("WebAssembly.Table.set(): Argument 1 is invalid").
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o target/opt/pixy_oidc.wasm "$out"
wasm-bindgen --target web --no-typescript --out-dir pkg --out-name pixy_oidc \
  target/opt/pixy_oidc.wasm
cp src/js/*.js src/js/*.d.ts pkg/
# What createOidc loads is minified (the readable sources stay in src/js/); the framework
# bindings and the mock stay as written.
# client.js takes io.js in (one file to download); the rest keep their module boundaries.
node_modules/.bin/esbuild pkg/client.js --bundle --external:./pixy_oidc.js --minify --format=esm \
  --log-level=warning --outfile=pkg/client.js.min
mv pkg/client.js.min pkg/client.js
rm pkg/io.js
for f in pixy_oidc.js index.js errors.js config-key.js; do
  node_modules/.bin/esbuild "pkg/$f" --minify --format=esm --log-level=warning --outfile="pkg/$f.min"
  mv "pkg/$f.min" "pkg/$f"
done
if [ -f scripts/build-global.mjs ]; then
  node scripts/build-global.mjs
fi
# A .gitignore of "*" inside pkg/ would make npm pack leave every file out.
rm -f pkg/.gitignore
echo "built pkg/: $(ls pkg | tr '\n' ' ')"
