#!/usr/bin/env bash
# Benchmark against oidc-client-ts in the same Chromium and local provider (bench/bench.mjs);
# writes bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node bench/bench.mjs
