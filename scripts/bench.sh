#!/usr/bin/env bash
# Benchmark against oidc-client-ts in the same Chromium and local provider (bench/bench.mjs);
# writes bench/RESULTS.md. Arguments go to bench.mjs: `npm run bench -- --latency 40` (the
# provider's added latency in ms, default 40; also BENCH_LATENCY_MS), BENCH_REPS (10),
# BENCH_RENEWALS (10; 0 skips the 3-tab renewal phase).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node bench/bench.mjs "$@"
