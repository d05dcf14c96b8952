#!/usr/bin/env bash
# The demo: set-up, build, then the local provider and the demo app (scripts/dev.mjs prints the
# URL to open). PIXY_ISSUER / PIXY_CLIENT_ID point the demo at another provider.
set -euo pipefail
cd "$(dirname "$0")/.."
PIXY_SETUP_BROWSER=0 bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/dev.mjs
