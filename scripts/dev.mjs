// The demo runner (`npm start`): a local OpenID provider on http://127.0.0.1:9090 (client
// "pixy-demo") and, on one app origin, http://localhost:5173:
//
//   /                  the plain demo page (www/index.html, every API call and event)
//   /react/            the React example (www/react, built with Vite into www/react/dist)
//   /vue/              the Vue example (www/vue, built into www/vue/dist)
//   /script-tag.html   the script-tag page (www/script-tag.html)
//   /api/me            the examples' protected API route (www/api/me.mjs)
//   /pkg/, /config.js  the built package, and window.PIXY_CONFIG for every page
//
// Build the package first (bash scripts/build.sh; `npm start` does). The two apps are built with
// Vite at start (a second or two, offline): what a browser gets is what `vite build` makes.
//
// Point the demo at another provider instead (no local provider is started):
//   PIXY_ISSUER=https://idp.example.com/realms/demo PIXY_CLIENT_ID=spa \
//   PIXY_SCOPES="openid profile email" PIXY_PORT=5173 node scripts/dev.mjs
// and register there, as redirect URIs and post-logout redirect URIs, every page's URL:
// http://localhost:5173/, http://localhost:5173/react/, http://localhost:5173/vue/ and
// http://localhost:5173/script-tag.html.
import http from "node:http";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startProvider } from "../tests/support/provider.mjs";
import { createApiMe } from "../www/api/me.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The framework examples: URL prefix -> source directory (each has `base` = its prefix). */
export const APPS = { "/react/": "www/react", "/vue/": "www/vue" };

/** The page URLs a provider must accept as redirect and post-logout redirect URIs. */
export const pageUrls = (origin) => [`${origin}/`, `${origin}/react/`, `${origin}/vue/`, `${origin}/script-tag.html`];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

/** `vite build` of each example into `<outRoot>/<name>` (default: www/<name>/dist). */
export async function buildApps({ outRoot } = {}) {
  const { build } = await import("vite");
  const out = {};
  for (const [prefix, dir] of Object.entries(APPS)) {
    const name = path.basename(dir);
    const outDir = outRoot ? path.join(outRoot, name) : path.join(root, dir, "dist");
    await build({
      root: path.join(root, dir),
      configFile: path.join(root, dir, "vite.config.js"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
    out[prefix] = outDir;
  }
  return out;
}

/**
 * The app origin's server. `dists`: prefix -> built app directory (buildApps()). Every
 * `…/config.js` is window.PIXY_CONFIG (`config`, changeable with setConfig).
 */
export async function startDevServer({ port = 5173, host = "localhost", config = {}, dists }) {
  let current = config;
  const apiMe = createApiMe({ issuer: () => current.issuer });
  const mounts = [["/pkg/", path.join(root, "pkg")], ...Object.entries(dists), ["/", path.join(root, "www")]];

  async function send(res, file) {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(body);
  }
  const isFile = async (file) => existsSync(file) && (await stat(file)).isFile();

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://x");
      if (url.pathname === "/api/me") {
        if (req.method === "GET") return await apiMe(req, res);
        res.writeHead(405, { allow: "GET" });
        return res.end();
      }
      if (url.pathname.endsWith("/config.js")) {
        res.writeHead(200, { "content-type": TYPES[".js"], "cache-control": "no-store" });
        return res.end(`window.PIXY_CONFIG = ${JSON.stringify(current)};\n`);
      }
      // /react and /vue without the slash: to the app.
      if (dists[`${url.pathname}/`]) {
        res.writeHead(302, { location: `${url.pathname}/${url.search}` });
        return res.end();
      }
      for (const [prefix, dir] of mounts) {
        if (!url.pathname.startsWith(prefix)) continue;
        let file = path.normalize(path.join(dir, decodeURIComponent(url.pathname.slice(prefix.length))));
        if (!file.startsWith(dir)) break;
        if (existsSync(file) && (await stat(file)).isDirectory()) file = path.join(file, "index.html");
        if (await isFile(file)) return await send(res, file);
        // An app's client-side routes (no file extension) get its index.html.
        if (dists[prefix] && !path.extname(url.pathname)) return await send(res, path.join(dir, "index.html"));
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host === "localhost" ? "127.0.0.1" : host, resolve);
  });
  return {
    origin: `http://${host}:${server.address().port}`,
    setConfig(c) {
      current = c;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Everything `npm start` runs: the apps built, the app server, and (without `issuer`) the local
 * provider with client `clientId` registered for every page. Port 0 picks free ports (tests).
 */
export async function startDev({ appPort = 5173, providerPort = 9090, issuer, clientId = "pixy-demo", scopes, outRoot } = {}) {
  const dists = await buildApps({ outRoot });
  const app = await startDevServer({ port: appPort, dists });
  let provider = null;
  try {
    if (!issuer) {
      const urls = pageUrls(app.origin);
      provider = await startProvider({
        port: providerPort,
        host: "127.0.0.1",
        quiet: true,
        clients: [{ client_id: clientId, redirect_uris: urls, post_logout_redirect_uris: urls }],
      });
    }
  } catch (e) {
    await app.close();
    throw e;
  }
  const config = { issuer: issuer ?? provider.issuer, clientId, ...(scopes ? { scopes } : {}) };
  app.setConfig(config);
  return {
    origin: app.origin,
    config,
    provider,
    close: () => Promise.allSettled([app.close(), provider?.close()]),
  };
}

async function main() {
  if (!existsSync(path.join(root, "pkg", "index.js"))) {
    console.error("pkg/index.js is missing; run `bash scripts/build.sh` first (npm start does).");
    process.exit(2);
  }
  const external = process.env.PIXY_ISSUER;
  if (external && !process.env.PIXY_CLIENT_ID) {
    console.error("PIXY_ISSUER is set but PIXY_CLIENT_ID is not.");
    process.exit(2);
  }
  let dev = null;
  const stop = async (code = 0) => {
    setTimeout(() => process.exit(code), 3000).unref();
    await dev?.close();
    process.exit(code);
  };
  process.once("SIGINT", () => stop(0));
  process.once("SIGTERM", () => stop(0));
  try {
    dev = await startDev({
      appPort: Number(process.env.PIXY_PORT ?? 5173),
      issuer: external,
      clientId: process.env.PIXY_CLIENT_ID ?? "pixy-demo",
      scopes: process.env.PIXY_SCOPES?.split(/\s+/).filter(Boolean),
    });
  } catch (err) {
    console.error(err?.code === "EADDRINUSE" ? `port ${err.port} is already in use (another demo running?)` : err);
    await stop(1);
    return;
  }
  const { origin, config } = dev;
  console.log("");
  console.log(`  pixy-oidc demo:  ${origin}/`);
  console.log(`  React example:   ${origin}/react/`);
  console.log(`  Vue example:     ${origin}/vue/`);
  console.log(`  script tag:      ${origin}/script-tag.html`);
  console.log(`  provider:        ${config.issuer}${external ? "" : " (local, in memory)"}`);
  console.log(`  client id:       ${config.clientId}`);
  if (config.scopes) console.log(`  scopes:          ${config.scopes.join(" ")}`);
  console.log("");
  console.log(
    external
      ? `  Register ${pageUrls(origin).join(", ")} at that provider; log in with an account there.`
      : '  Open a page, click "Log in" and sign in with any user name (no password).',
  );
  console.log("  Ctrl-C stops everything.");
  console.log("");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
