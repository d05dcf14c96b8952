#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, on a fresh machine with a Rust
# toolchain, Node and npm. Each step checks first, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  log "adding rust-src (lets the package build rebuild std for size)"
  rustup component add rust-src || log "rust-src unavailable: the package builds without it, somewhat larger"
fi

# wasm-bindgen-cli must match the wasm-bindgen crate version exactly.
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  log "installing wasm-bindgen-cli $want (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# wasm-pack runs the browser tests (`wasm-pack test --headless --chrome`).
if [ "${PIXY_SETUP_BROWSER:-1}" = 1 ] && ! command -v wasm-pack >/dev/null; then
  log "installing wasm-pack (about 7 minutes, once)"
  cargo install wasm-pack --locked
fi

# wasm-opt comes from npm's binaryen (package.json), not from apt.
need_apt=()
if [ "${PIXY_SETUP_BROWSER:-1}" = 1 ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dev dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
