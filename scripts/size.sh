#!/usr/bin/env bash
# Size report: builds the release package and prints the gzip -9 bytes of each file a browser
# downloads to use createOidc, their sum against the budget, and the largest items of the wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${PIXY_SIZE_BUDGET:-46080}

PIXY_SETUP_BROWSER=0 bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null

total=0
printf '%-28s %10s %10s\n' "file" "bytes" "gzip -9"
for f in pkg/pixy_oidc_bg.wasm pkg/index.js pkg/errors.js; do
  raw=$(wc -c <"$f")
  gz=$(gzip -9c "$f" | wc -c)
  total=$((total + gz))
  printf '%-28s %10d %10d\n' "$f" "$raw" "$gz"
done
printf '%-28s %10s %10d   (budget %d: %s)\n' "sum (what createOidc loads)" "" "$total" "$BUDGET" \
  "$([ "$total" -le "$BUDGET" ] && echo within || echo OVER)"
printf '%-28s %10d %10d\n' "pkg/pixy-oidc.global.js" "$(wc -c <pkg/pixy-oidc.global.js)" "$(gzip -9c pkg/pixy-oidc.global.js | wc -c)"

if ! command -v twiggy >/dev/null; then
  echo "(installing twiggy for the breakdown, once)"
  cargo install twiggy --quiet >/dev/null 2>&1 || { echo "twiggy unavailable: no breakdown"; exit 0; }
fi
# A build with symbol names, optimised the same way, for the breakdown.
tmp=$(mktemp -d)
src=target/size/wasm32-unknown-unknown/release/pixy_oidc.wasm
[ -f "$src" ] || src=target/wasm32-unknown-unknown/release/pixy_oidc.wasm
wasm-bindgen --target web --no-typescript --keep-debug --out-dir "$tmp" --out-name named "$src"
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --debuginfo \
  -o "$tmp/named_bg.wasm" "$tmp/named_bg.wasm"
echo
echo "largest items of the wasm (twiggy top; names kept for this listing only):"
twiggy top -n 25 "$tmp/named_bg.wasm" | grep -v 'function names' | cut -c1-140
rm -rf "$tmp"
