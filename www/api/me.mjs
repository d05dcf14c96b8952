// The demo apps' protected API route, GET /api/me: it accepts a bearer access token only when the
// provider's userinfo endpoint accepts it, and answers with the user's sub and name. Used by the
// Vite dev and preview servers (apiMePlugin) and by the end-to-end tests (createApiMe).

/**
 * @param {{ issuer: string | (() => string) }} options
 * @returns {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => Promise<void>}
 */
export function createApiMe({ issuer }) {
  const userinfo = new Map(); // issuer -> userinfo endpoint
  return async function apiMe(req, res) {
    const send = (status, body) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(req.headers.authorization ?? "");
    if (!match) return send(401, { error: "missing_token" });
    try {
      const iss = typeof issuer === "function" ? issuer() : issuer;
      if (!userinfo.has(iss)) {
        const r = await fetch(`${iss.replace(/\/$/, "")}/.well-known/openid-configuration`, {
          signal: AbortSignal.timeout(5000),
        });
        userinfo.set(iss, (await r.json()).userinfo_endpoint);
      }
      const r = await fetch(userinfo.get(iss), {
        headers: { authorization: `Bearer ${match[1]}` },
        signal: AbortSignal.timeout(5000),
      });
      if (!r.ok) return send(401, { error: "invalid_token", userinfoStatus: r.status });
      const user = await r.json();
      return send(200, { sub: user.sub, name: user.name, checkedBy: "userinfo" });
    } catch (e) {
      return send(502, { error: "provider_unreachable", message: String(e?.message ?? e) });
    }
  };
}

/** Serves /api/me in `vite` and `vite preview`; the provider is $PIXY_ISSUER or the local one. */
export function apiMePlugin() {
  const apiMe = createApiMe({ issuer: () => process.env.PIXY_ISSUER ?? "http://127.0.0.1:9090" });
  // A block body: a function returned from configureServer would be taken for a post hook.
  const mount = (server) => {
    server.middlewares.use("/api/me", (req, res, next) => (req.method === "GET" ? apiMe(req, res) : next()));
  };
  return { name: "pixy-demo-api-me", configureServer: mount, configurePreviewServer: mount };
}
