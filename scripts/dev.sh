#!/usr/bin/env bash
# The demo: set-up, build, then the local provider and the demo pages (scripts/dev.mjs builds the
# React and Vue examples and prints the URLs to open). PIXY_ISSUER / PIXY_CLIENT_ID point the
# demo at another provider.
set -euo pipefail
cd "$(dirname "$0")/.."
# The one Node.js requirement, as package.json "engines" states it (Vite 8's own).
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (!((maj === 20 && min >= 19) || (maj === 22 && min >= 12) || maj > 22)) {
    console.error(`Node.js ${process.version} is too old: npm start needs 20.19+ or 22.12+ (package.json "engines").`);
    process.exit(1);
  }'
PIXY_SETUP_BROWSER=0 bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/dev.mjs
