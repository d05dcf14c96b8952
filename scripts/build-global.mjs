// Writes pkg/pixy-oidc.global.js: the script-tag build. One classic script (an esbuild IIFE of
// pkg/index.js) that defines `window.PixyOidc` ({ createOidc, OidcError, ... }) and loads
// pixy_oidc_bg.wasm from beside itself.
//
// The ES module finds its wasm with `new URL("pixy_oidc_bg.wasm", import.meta.url)`. A classic
// script has no import.meta, so every `import.meta.url` is replaced by the script's own URL,
// read from document.currentScript while the script first runs (that is the only moment it is
// set). Run after pkg/index.js and the wasm-bindgen output are in pkg/: `node scripts/build-global.mjs`.
import { build } from "esbuild";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = path.join(process.env.PIXY_PKG_DIR ?? path.join(root, "pkg"));
const entry = path.join(pkg, "index.js");
const outfile = path.join(pkg, "pixy-oidc.global.js");

if (!existsSync(entry)) {
  console.error(`build-global: ${entry} is missing; build the package first.`);
  process.exit(1);
}

// Evaluated once, at the top of the IIFE, while document.currentScript is this script.
const scriptUrlShim = `
export const __pixyScriptUrl =
  (typeof document !== "undefined" && document.currentScript && document.currentScript.src) ||
  (typeof location !== "undefined" ? location.href : "file:///");
`;

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: "iife",
  globalName: "PixyOidc",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
  define: { "import.meta.url": "__pixyScriptUrl" },
  banner: { js: "/* pixy-oidc script-tag build: defines window.PixyOidc; loads pixy_oidc_bg.wasm from beside this file. */" },
  plugins: [
    {
      name: "script-url",
      setup(b) {
        b.onResolve({ filter: /^pixy:script-url$/ }, () => ({ path: "script-url", namespace: "pixy" }));
        b.onLoad({ filter: /.*/, namespace: "pixy" }, () => ({ contents: scriptUrlShim, loader: "js" }));
      },
    },
  ],
  inject: ["pixy:script-url"],
});

const bytes = result.metafile.outputs[path.relative(process.cwd(), outfile)]?.bytes;
const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("pixy:"));
for (const bad of inputs.filter((f) => /node_modules\/(react|vue)/.test(f))) {
  console.error(`build-global: ${bad} must not be part of the script-tag build`);
  process.exit(1);
}
console.log(`build-global: wrote ${path.relative(process.cwd(), outfile)}${bytes ? ` (${bytes} bytes)` : ""}`);
