// A resource server for the DPoP tests (RFC 9449 7): GET /api/me on http://127.0.0.1:<port>
// accepts only `Authorization: DPoP <token>` with a valid DPoP proof whose key is the one the token
// is bound to (the token's `cnf.jkt`, learnt by introspection at the provider with its
// confidential client `provider.introspectionClient`). The check is www/api/me.mjs's
// checkDpopRequest: signature with the header's jwk (ES256), typ dpop+jwt, htm, htu (the URL
// without query or fragment), iat within 60 s, ath = base64url(SHA-256(token)), jti never seen
// before, and in nonce mode a nonce it gave (first answer: 401 use_dpop_nonce with DPoP-Nonce).
// Anything else is answered 401 with a WWW-Authenticate saying why.
//
// CORS for the app origins given (Authorization and DPoP request headers; DPoP-Nonce and
// WWW-Authenticate exposed). Every request is recorded in `requests`.
import http from "node:http";
import { checkDpopRequest, createJtiCache, createNonces, introspector } from "../../www/api/me.mjs";

/**
 * @param {{ issuer: string, introspectionClient: { client_id: string, client_secret: string },
 *           origins?: string[], requireNonce?: boolean, host?: string, port?: number }} opts
 *   origins: app origins allowed by CORS (none by default; Node's requests need none).
 *   requireNonce: answer use_dpop_nonce to any proof without a nonce this server gave.
 * @returns {Promise<{ origin: string, url: string, port: number, requests: object[],
 *   setRequireNonce(b: boolean): void, close(): Promise<void> }>}
 *   url: the /api/me URL.
 */
export async function startResourceServer(opts) {
  const host = opts.host ?? "127.0.0.1";
  const origins = new Set(opts.origins ?? []);
  let requireNonce = !!opts.requireNonce;
  const nonces = createNonces();
  const jtis = createJtiCache();
  const requests = [];
  let introspectionEndpoint;
  const tokenInfo = introspector({
    ...opts.introspectionClient,
    endpoint: async () => {
      if (!introspectionEndpoint) {
        const r = await fetch(`${opts.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
        introspectionEndpoint = (await r.json()).introspection_endpoint;
        if (!introspectionEndpoint) throw new Error("the provider has no introspection endpoint");
      }
      return introspectionEndpoint;
    },
  });

  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    const origin = req.headers.origin;
    const cors = origin && origins.has(origin)
      ? {
          "access-control-allow-origin": origin,
          "access-control-expose-headers": "DPoP-Nonce, WWW-Authenticate",
          vary: "Origin",
        }
      : {};
    const url = new URL(req.url, `http://${req.headers.host}`);
    const entry = {
      at: Date.now(),
      method: req.method,
      path: url.pathname,
      origin,
      authorization: req.headers.authorization,
      dpop: req.headers.dpop,
      status: 0,
    };
    requests.push(entry);
    const send = (status, body, headers = {}) => {
      entry.status = status;
      entry.body = body;
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...cors, ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === "OPTIONS") {
      entry.status = 204;
      res.writeHead(204, {
        ...cors,
        ...(cors["access-control-allow-origin"]
          ? {
              "access-control-allow-methods": "GET, POST",
              "access-control-allow-headers": "Authorization, DPoP, Content-Type",
              "access-control-max-age": "600",
            }
          : {}),
      });
      res.end();
      return;
    }
    if (url.pathname !== "/api/me") return send(404, { error: "not_found" });
    if (req.method !== "GET" && req.method !== "POST") return send(405, { error: "method_not_allowed" }, { allow: "GET, POST" });
    const result = await checkDpopRequest({
      method: req.method,
      url: url.href,
      authorization: req.headers.authorization,
      dpop: req.headers.dpop,
      jtis,
      nonces: requireNonce ? nonces : null,
      tokenInfo,
    });
    if (!result.ok) {
      entry.error = result.error;
      entry.description = result.description;
      const headers = result.wwwAuthenticate ? { "www-authenticate": result.wwwAuthenticate } : {};
      if (result.nonce) headers["dpop-nonce"] = result.nonce;
      return send(result.status, { error: result.error ?? "missing_token", error_description: result.description }, headers);
    }
    entry.jkt = result.jkt;
    entry.proof = result.proof;
    return send(200, { sub: result.info.sub, client_id: result.info.client_id, jkt: result.jkt, scope: result.info.scope });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host === "localhost" ? "127.0.0.1" : host, resolve);
  });
  const port = server.address().port;
  const origin = `http://${host}:${port}`;
  return {
    origin,
    url: `${origin}/api/me`,
    port,
    requests,
    /** Whether a proof must carry a nonce this server gave (from now on). */
    setRequireNonce(b) {
      requireNonce = !!b;
    },
    /** Allows one more app origin by CORS. */
    allowOrigin(o) {
      origins.add(o);
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
