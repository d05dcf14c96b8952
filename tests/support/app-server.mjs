// A static server for the demo and test apps. Serves www/ at "/", the built package (pkg/) at
// "/pkg/", and "/config.js", which sets window.PIXY_CONFIG so one page can be pointed at any
// provider. Listens on loopback only; close() stops it.
import http from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css",
  ".map": "application/json",
};

/**
 * @param {{ port?: number, host?: string, config?: object, mounts?: Record<string,string>,
 *           extraScript?: string, headers?: Record<string,string> }} opts
 *   mounts: extra URL prefix -> directory (relative to the repo root), checked before www/.
 *   extraScript: appended to /config.js.
 *   headers: added to every response, e.g. a Content-Security-Policy.
 *   The returned `delays` (URL path -> ms) holds back the answers for those paths (a slow network).
 * @returns {Promise<{ origin: string, port: number, close(): Promise<void>, requests: string[],
 *   delays: Record<string, number> }>}
 */
export async function startAppServer(opts = {}) {
  const host = opts.host ?? "localhost";
  const mounts = { "/pkg/": "pkg", ...(opts.mounts ?? {}), "/": "www" };
  const requests = [];
  const delays = {};
  let config = opts.config ?? {};
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    requests.push(url.pathname + url.search);
    if (delays[url.pathname] > 0) await new Promise((r) => setTimeout(r, Math.min(delays[url.pathname], 10_000)));
    for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
    if (url.pathname === "/config.js") {
      res.writeHead(200, { "content-type": TYPES[".js"], "cache-control": "no-store" });
      res.end(`window.PIXY_CONFIG = ${JSON.stringify(config)};\n${opts.extraScript ?? ""}`);
      return;
    }
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!url.pathname.startsWith(prefix)) continue;
      const base = path.join(root, dir);
      let file = path.normalize(path.join(base, decodeURIComponent(url.pathname.slice(prefix.length))));
      if (!file.startsWith(base)) break;
      try {
        if ((await stat(file)).isDirectory()) file = path.join(file, "index.html");
        const body = await readFile(file);
        res.writeHead(200, {
          "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
          "cache-control": "no-store",
        });
        res.end(body);
        return;
      } catch {
        // fall through to the next mount, then 404
      }
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host === "localhost" ? "127.0.0.1" : host, resolve);
  });
  const port = server.address().port;
  return {
    origin: `http://${host}:${port}`,
    port,
    requests,
    delays,
    setConfig(c) {
      config = c;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
