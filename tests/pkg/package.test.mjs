// The package as installed: `npm pack`, install the tarball into a fresh project (offline), then
// import every export under Node's resolution and build apps with Vite. Only what `files` ships is
// available there, so anything missing from the tarball fails here.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { assertBuilt, createConsumer, run, viteBuild } from "./support.mjs";

// Everything the tarball holds. A new file in pkg/ must be added here on purpose (or left out
// through `files` in package.json).
const EXPECTED_FILES = [
  "README.md",
  "package.json",
  "pkg/config-key.js",
  "pkg/countdown.js",
  "pkg/errors.d.ts",
  "pkg/errors.js",
  "pkg/index.d.ts",
  "pkg/index.js",
  "pkg/mock.d.ts",
  "pkg/mock.js",
  "pkg/pixy-oidc.global.js",
  "pkg/pixy_oidc_bg.wasm",
  "pkg/react.d.ts",
  "pkg/react.js",
  "pkg/silent.d.ts",
  "pkg/silent.js",
  "pkg/vue.d.ts",
  "pkg/vue.js",
];
// npm always adds these when they exist.
const OPTIONAL_FILES = ["README.md", "LICENSE", "LICENSE-MIT", "LICENSE-APACHE"];

/** Runs an ES module script in the consumer project (so bare imports resolve from there). */
async function nodeEval(cwd, script) {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

describe("the packed package", { timeout: 300_000 }, () => {
  let consumer;
  before(async () => {
    assertBuilt();
    consumer = await createConsumer();
  });
  after(() => consumer?.close());

  test("ships exactly the needed files", () => {
    const files = consumer.files.filter((f) => !OPTIONAL_FILES.includes(f) || EXPECTED_FILES.includes(f));
    const expected = EXPECTED_FILES.filter((f) => !OPTIONAL_FILES.includes(f) || consumer.files.includes(f));
    assert.deepEqual(files, [...expected].sort());
    for (const f of files) assert.doesNotMatch(f, /\.map$|\.test\.|^src\/|^tests\/|^www\//);
  });

  test("every export target is in the tarball", async () => {
    const manifest = JSON.parse(await readFile(path.join(consumer.installed, "package.json"), "utf8"));
    const targets = [];
    const walk = (v) => (typeof v === "string" ? targets.push(v) : Object.values(v).forEach(walk));
    walk(manifest.exports);
    for (const key of ["main", "module", "types"]) if (manifest[key]) targets.push(manifest[key]);
    for (const t of targets) assert.ok(existsSync(path.join(consumer.installed, t)), `${t} is exported but not shipped`);
    assert.deepEqual(Object.keys(manifest.exports).sort(), [".", "./global", "./mock", "./package.json", "./pixy_oidc_bg.wasm", "./react", "./silent", "./vue"]);
  });

  test("Node: '.' and './mock' import without react or vue installed", async () => {
    assert.equal(existsSync(path.join(consumer.dir, "node_modules/react")), false);
    const result = await nodeEval(
      consumer.dir,
      `
      const core = await import("pixy-oidc");
      const { createMockOidc } = await import("pixy-oidc/mock");
      const mock = createMockOidc({ isLoggedIn: true, claims: { sub: "n" } });
      // wasm init only happens in createOidc; outside a browser it rejects, it does not crash.
      const err = await core.createOidc({ issuer: "https://idp.example", clientId: "c" }).then(() => null, (e) => e);
      const { default: manifest } = await import("pixy-oidc/package.json", { with: { type: "json" } });
      console.log(JSON.stringify({
        core: Object.keys(core).sort(),
        isOidcError: err instanceof core.OidcError,
        code: err?.code,
        mockSub: mock.claims.sub,
        version: manifest.version,
        global: import.meta.resolve("pixy-oidc/global"),
        wasm: import.meta.resolve("pixy-oidc/pixy_oidc_bg.wasm"),
      }));
    `,
    );
    for (const name of ["OidcError", "createOidc", "initWasm"]) assert.ok(result.core.includes(name), name);
    assert.equal(result.isOidcError, true);
    assert.equal(typeof result.code, "string");
    assert.equal(result.mockSub, "n");
    assert.match(result.global, /node_modules\/pixy-oidc\/pkg\/pixy-oidc\.global\.js$/);
    assert.match(result.wasm, /node_modules\/pixy-oidc\/pkg\/pixy_oidc_bg\.wasm$/);
  });

  test("Node: './react' and './vue' import and render on the server with the mock", async () => {
    await consumer.linkFrameworks();
    const result = await nodeEval(
      consumer.dir,
      `
      const { createElement } = await import("react");
      const { renderToString } = await import("react-dom/server");
      const react = await import("pixy-oidc/react");
      const vue = await import("pixy-oidc/vue");
      const { createSSRApp, h } = await import("vue");
      const { renderToString: vueToString } = await import("vue/server-renderer");
      const { createMockOidc } = await import("pixy-oidc/mock");
      const mock = createMockOidc({ isLoggedIn: true, claims: { sub: "ssr-user" } });

      function Who() { const { claims } = react.useOidc(); return createElement("b", null, claims.sub); }
      const reactHtml = renderToString(createElement(react.OidcProvider, { oidc: mock }, createElement(Who)));

      const app = createSSRApp({ setup() { const { claims } = vue.useOidc(); return () => h("i", claims.value.sub); } });
      app.use(vue.createOidcPlugin(mock));
      const vueHtml = await vueToString(app);
      console.log(JSON.stringify({
        react: Object.keys(react).sort(), vue: Object.keys(vue).sort(), reactHtml, vueHtml,
      }));
    `,
    );
    assert.deepEqual(result.react, ["OidcProvider", "RequireLogin", "useOidc", "withLoginRequired"]);
    assert.deepEqual(result.vue, ["createLoginGuard", "createOidcPlugin", "oidcKey", "useOidc"]);
    assert.equal(result.reactHtml, "<b>ssr-user</b>");
    assert.equal(result.vueHtml, "<i>ssr-user</i>");
  });

  test("each entry imports only its own framework", async () => {
    const pkg = path.join(consumer.installed, "pkg");
    const externals = {};
    for (const entry of ["index", "mock", "react", "vue"]) {
      const result = await build({
        entryPoints: [path.join(pkg, `${entry}.js`)],
        bundle: true,
        write: false,
        format: "esm",
        packages: "external",
        metafile: true,
        logLevel: "silent",
      });
      const ext = new Set();
      for (const input of Object.values(result.metafile.inputs)) {
        for (const i of input.imports) if (i.external) ext.add(i.path);
      }
      externals[entry] = [...ext].sort();
    }
    assert.deepEqual(externals, { index: [], mock: [], react: ["react"], vue: ["vue"] });
  });

  test("Vite builds an app that imports every entry, and one that only uses the mock", async () => {
    await consumer.linkFrameworks();
    const apps = {
      all: `
        import { createOidc, OidcError } from "pixy-oidc";
        import { OidcProvider, useOidc, RequireLogin } from "pixy-oidc/react";
        import { createOidcPlugin, createLoginGuard } from "pixy-oidc/vue";
        import { createMockOidc } from "pixy-oidc/mock";
        window.used = [createOidc, OidcError, OidcProvider, useOidc, RequireLogin, createOidcPlugin, createLoginGuard, createMockOidc];
        createOidc(window.PIXY_CONFIG).then((o) => console.log(o.isLoggedIn));
      `,
      mockOnly: `
        import { createMockOidc } from "pixy-oidc/mock";
        const oidc = createMockOidc({ isLoggedIn: true });
        document.body.textContent = oidc.claims.sub;
      `,
      coreOnly: `
        import { createOidc } from "pixy-oidc";
        createOidc(window.PIXY_CONFIG).then((o) => { document.body.textContent = String(o.isLoggedIn); });
      `,
    };
    const out = {};
    for (const [name, main] of Object.entries(apps)) {
      const dir = path.join(consumer.dir, `vite-${name}`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, "index.html"), `<!DOCTYPE html><script type="module" src="/main.js"></script>`);
      await writeFile(path.join(dir, "main.js"), main);
      const dist = path.join(dir, "dist");
      await viteBuild(dir, dist);
      const assets = await readdir(path.join(dist, "assets"));
      let js = "";
      for (const f of assets.filter((a) => a.endsWith(".js"))) js += await readFile(path.join(dist, "assets", f), "utf8");
      out[name] = { assets, js };
    }
    const wasmSize = (await stat(path.join(consumer.installed, "pkg/pixy_oidc_bg.wasm"))).size;
    const hasWasm = ({ assets, js }) => assets.some((a) => a.endsWith(".wasm")) || js.includes("data:application/wasm");
    assert.ok(hasWasm(out.all), "the wasm was not emitted");
    assert.ok(hasWasm(out.coreOnly), "the wasm was not emitted");
    if (wasmSize > 4096) {
      assert.equal(out.all.assets.filter((a) => a.endsWith(".wasm")).length, 1);
    }
    // The mock needs no wasm and no core; the core needs no framework.
    assert.equal(hasWasm(out.mockOnly), false, "a mock-only app must not ship the wasm");
    assert.doesNotMatch(out.mockOnly.js, /pixy_oidc_bg|WebAssembly/);
    assert.doesNotMatch(out.coreOnly.js, /react\.(transitional\.)?element|__v_isRef/);
  });
});
