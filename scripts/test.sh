#!/usr/bin/env bash
# Every test: format and lint, native protocol tests, browser (wasm) tests in Chromium, and the
# end-to-end tests against a real OpenID provider in a real Chromium. Does its own set-up.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "set-up"
bash scripts/setup.sh

step "format and lint"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --quiet -- -D warnings

step "native tests (proto)"
cargo test --quiet

step "browser tests (wasm in Chromium, with the repo's webdriver.json)"
CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=60 wasm-pack test --headless --chrome

step "build the package"
bash scripts/build.sh

step "end-to-end and package tests (node --test)"
mapfile -t files < <(find tests -name '*.test.mjs' -not -path '*/node_modules/*' | sort)
node --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
