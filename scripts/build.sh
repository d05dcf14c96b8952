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
  CARGO_TARGET_DIR=target/size RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
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
# What createOidc loads is one minified module, pkg/index.js: the API (index.js), the shell
# (client.js, io.js), the config key and wasm-bindgen's glue, bundled (one request, one gzip
# dictionary). errors.js stays its own module: pixy-oidc/mock throws the very same OidcError.
# The framework bindings and the mock stay as written.
node_modules/.bin/esbuild pkg/index.js --bundle --external:./errors.js --minify --format=esm \
  --log-level=warning --outfile=pkg/index.js.min
mv pkg/index.js.min pkg/index.js
rm pkg/client.js pkg/io.js pkg/pixy_oidc.js
for f in errors.js config-key.js; do
  node_modules/.bin/esbuild "pkg/$f" --minify --format=esm --log-level=warning --outfile="pkg/$f.min"
  mv "pkg/$f.min" "pkg/$f"
done
if [ -f scripts/build-global.mjs ]; then
  node scripts/build-global.mjs
fi
# A .gitignore of "*" inside pkg/ would make npm pack leave every file out.
rm -f pkg/.gitignore
echo "built pkg/: $(ls pkg | tr '\n' ' ')"
