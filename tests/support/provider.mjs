// A real OpenID provider for the demo and the end-to-end tests, built on oidc-provider v9.
//
//  - public clients only (token_endpoint_auth_method "none"), PKCE S256 required;
//  - any user name logs in: sub = the name, claims derived from it;
//  - plain HTML interaction pages (no external resources): a login form when a login is needed,
//    consent granted automatically, and a "Deny" button that ends the interaction with
//    access_denied;
//  - RP-initiated logout that needs no click (the confirmation form submits itself);
//  - every POST to the token endpoint is recorded in `tokenRequests`, every RP-initiated logout
//    request in `endSessions`, every authorization request in `authRequests`;
//  - pause()/resume() make the whole server unavailable (503 or dropped connections);
//  - DPoP (RFC 9449) and pushed authorization requests (PAR, RFC 9126) are on, as oidc-provider 9
//    has them by default: a DPoP proof on the token request binds the tokens, nothing requires
//    one. Options: `dpop` (off, or nonces required), `par` (off, or required by the metadata),
//    and per client `dpop_bound_access_tokens` and `require_pushed_authorization_requests`.
//    Every token request records its DPoP proof (`dpop`: header and claims, or null), every
//    authorization request whether it came by `request_uri` (`par`), every push is recorded in
//    `parRequests`, and every userinfo request its Authorization scheme and proof;
//  - token introspection is on, for one confidential client, `introspectionClient` (a resource
//    server learns a token's `cnf.jkt` there: see tests/support/resource.mjs).
//  - `latency` (ms, default 0; setLatency() changes it) holds every request that long before it is
//    answered, on every route (discovery, JWKS, authorization redirects, token, userinfo, the
//    interaction pages): a provider tens of milliseconds away, as real ones are.
//
// CLI: `node tests/support/provider.mjs` serves http://127.0.0.1:9090 with client "pixy-demo"
// (redirect and post-logout URI http://localhost:5173/). PIXY_PROVIDER_PORT changes the port.
import http from "node:http";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { decodeJwt, decodeProtectedHeader } from "jose";

// oidc-provider 9 warns "Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release." with
// console.warn while its module loads, on any Node before 22 (it checks process.release.lts).
// It runs fine on Node 20.19+, the version this repository requires (package.json "engines",
// set by Vite 8), and the warning would only be noise in `npm start` and `npm test`. So the
// module is imported with that one message (and nothing else) held back; every other warning,
// including oidc-provider's others, still shows.
const Provider = await (async () => {
  const warn = console.warn;
  console.warn = (...args) => {
    if (typeof args[0] === "string" && args[0].includes("oidc-provider WARNING: Unsupported runtime.")) return;
    warn.apply(console, args);
  };
  try {
    return (await import("oidc-provider")).default;
  } finally {
    console.warn = warn;
  }
})();

const LOCAL_INTROSPECTION = Symbol.for("pixy-oidc.test-provider.introspection");

const DEFAULT_TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  IdToken: 3600,
  RefreshToken: 24 * 3600,
  Session: 24 * 3600,
  Interaction: 600,
  Grant: 24 * 3600,
};

const html = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const STYLE = `body{font:16px/1.4 system-ui,sans-serif;background:#f3f4f6;margin:0;padding:3rem 1rem;color:#111}
main{max-width:22rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin-bottom:.3rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;margin-bottom:1rem}
button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #888;cursor:pointer}
button.primary{background:#2563eb;color:#fff;border-color:#2563eb}.muted{color:#666;font-size:.9rem}`;

const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;

function readForm(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (c) => {
      data += c;
      if (data.length > 64 * 1024) reject(new Error("body too large"));
    });
    req.on("end", () => resolve(Object.fromEntries(new URLSearchParams(data))));
    req.on("error", reject);
  });
}

function account(sub) {
  const local = sub.toLowerCase().replace(/[^a-z0-9._-]+/g, ".") || "user";
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        name: sub,
        preferred_username: sub,
        email: `${local}@example.test`,
        email_verified: true,
      };
    },
  };
}

/**
 * @param {{
 *   port?: number, host?: string,
 *   clients?: { client_id: string, redirect_uris: string[], post_logout_redirect_uris?: string[],
 *               dpop_bound_access_tokens?: boolean, require_pushed_authorization_requests?: boolean }[],
 *   ttl?: Partial<Record<"AccessToken"|"IdToken"|"RefreshToken"|"Session"|"Interaction"|"Grant"|"AuthorizationCode", number>>,
 *   rotateRefreshToken?: boolean,
 *   cookieSameSite?: "none" | "lax",
 *   quiet?: boolean,
 *   dpop?: false | { requireNonce?: boolean },
 *   par?: false | { required?: boolean },
 *   latency?: number,
 * }} opts
 *   cookieSameSite: "none" (default) sends the provider's session cookie as `SameSite=None; Secure`
 *   (Chromium accepts Secure cookies from http://127.0.0.1 and http://localhost), so a hidden
 *   iframe on the app's origin sees the session when the browser allows third-party cookies, as
 *   with real providers. "lax" keeps oidc-provider's default.
 *   dpop: false turns oidc-provider's DPoP off (no dpop_signing_alg_values_supported, a DPoP header
 *   is ignored and tokens are Bearer). `{ requireNonce }` (true or false) gives the provider a nonce
 *   secret, so it offers nonces (a `DPoP-Nonce` header on every answer to a DPoP request, exposed
 *   to CORS); with requireNonce true, a proof without a valid nonce is answered `use_dpop_nonce`
 *   (400 at the token and PAR endpoints, 401 at userinfo). `setDpopRequireNonce(b)` changes it
 *   while the provider runs (only when `{ requireNonce }` was given). Default: DPoP on, no nonces.
 *   par: false turns PAR off (no pushed_authorization_request_endpoint); `{ required: true }` makes
 *   the metadata say require_pushed_authorization_requests: true and refuses any authorization
 *   request not pushed. Default: PAR offered, not required. A client's own
 *   `require_pushed_authorization_requests` refuses that client's non-pushed requests (the metadata
 *   does not show it).
 */
export async function startProvider(opts = {}) {
  const host = opts.host ?? "127.0.0.1";
  const clients = opts.clients ?? [
    {
      client_id: "pixy-demo",
      redirect_uris: ["http://localhost:5173/"],
      post_logout_redirect_uris: ["http://localhost:5173/"],
    },
  ];
  const ttl = { ...DEFAULT_TTL, ...(opts.ttl ?? {}) };
  const rotate = opts.rotateRefreshToken ?? true;
  const sameSiteNone = (opts.cookieSameSite ?? "none") === "none";
  const dpopEnabled = opts.dpop !== false;
  const dpopNonces = dpopEnabled && typeof opts.dpop?.requireNonce === "boolean";
  let requireNonce = dpopNonces && opts.dpop.requireNonce;
  const parEnabled = opts.par !== false;
  const parRequired = parEnabled && !!opts.par?.required;
  // The confidential client a resource server introspects tokens with.
  const introspectionClient = { client_id: "pixy-rs", client_secret: crypto.randomBytes(24).toString("base64url") };

  const tokenRequests = [];
  const endSessions = [];
  const authRequests = [];
  const userinfoRequests = [];
  const parRequests = [];
  let paused = null; // null | "503" | "drop"
  let latency = Math.max(0, Number(opts.latency ?? 0)) || 0;
  let handler = (_req, res) => {
    res.writeHead(503);
    res.end();
  };

  const sockets = new Set();
  const server = http.createServer((req, res) => {
    if (latency > 0) setTimeout(() => serve(req, res), latency);
    else serve(req, res);
  });
  function serve(req, res) {
    if (paused === "drop") {
      req.socket.destroy();
      return;
    }
    if (paused) {
      const origin = req.headers.origin;
      res.writeHead(503, {
        "content-type": "text/plain",
        "cache-control": "no-store",
        connection: "close",
        ...(origin ? { "access-control-allow-origin": origin } : {}),
      });
      res.end("provider paused");
      return;
    }
    if (sameSiteNone) {
      // koa's cookie module refuses `secure` on plain http; add it on the way out instead.
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) => {
        if (String(name).toLowerCase() === "set-cookie") {
          const add = (c) => (/;\s*secure/i.test(c) ? c : `${c}; secure`);
          value = Array.isArray(value) ? value.map(add) : add(String(value));
        }
        return setHeader(name, value);
      };
    }
    handler(req, res);
  }
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
  const issuer = `http://${host}:${port}`;

  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: "jwk" }), kid: `k-${crypto.randomUUID().slice(0, 8)}`, use: "sig", alg: "RS256" };

  const allowedOrigins = new Map(
    clients.map((c) => [
      c.client_id,
      new Set(
        [...(c.redirect_uris ?? []), ...(c.post_logout_redirect_uris ?? [])]
          .map((u) => URL.parse(u)?.origin)
          .filter(Boolean),
      ),
    ]),
  );

  const provider = new Provider(issuer, {
    clients: [
      ...clients.map((c) => ({
        client_id: c.client_id,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        application_type: "web",
        ...(c.dpop_bound_access_tokens !== undefined ? { dpop_bound_access_tokens: c.dpop_bound_access_tokens } : {}),
        ...(c.require_pushed_authorization_requests !== undefined
          ? { require_pushed_authorization_requests: c.require_pushed_authorization_requests }
          : {}),
      })),
      {
        ...introspectionClient,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: {
      keys: ["pixy-test-cookie-key-1", "pixy-test-cookie-key-0"],
      long: { httpOnly: true, sameSite: sameSiteNone ? "none" : "lax" },
      short: { httpOnly: true, sameSite: sameSiteNone ? "none" : "lax" },
    },
    pkce: { required: () => true },
    responseTypes: ["code"],
    scopes: ["openid", "profile", "email", "offline_access"],
    claims: {
      openid: ["sub"],
      profile: ["name", "preferred_username"],
      email: ["email", "email_verified"],
    },
    // Scope-requested claims go in the ID token too (nicer for the demo's claims view).
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => account(sub),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: () => rotate,
    clientBasedCORS: (_ctx, origin, client) => allowedOrigins.get(client.clientId)?.has(origin) ?? false,
    ttl,
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      dPoP: {
        enabled: dpopEnabled,
        ...(dpopNonces ? { nonceSecret: crypto.randomBytes(32), requireNonce: () => requireNonce } : {}),
      },
      pushedAuthorizationRequests: { enabled: parEnabled, requirePushedAuthorizationRequests: parRequired },
      introspection: {
        enabled: true,
        // Only the resource server's client may introspect, and any token of this provider.
        allowedPolicy: async (_ctx, client) => client.clientId === introspectionClient.client_id,
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = "html";
          ctx.body = page(
            "Signing out",
            `<h1>Signing out…</h1>${form}
<noscript><button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button></noscript>
<script>
  const f = document.getElementById("op.logoutForm");
  const i = document.createElement("input");
  i.type = "hidden"; i.name = "logout"; i.value = "yes";
  f.appendChild(i);
  f.submit();
</script>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = "html";
          ctx.body = page("Signed out", `<h1 id="signed-out">You are signed out.</h1>`);
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = page(
        "Error",
        `<h1>Something went wrong</h1>${Object.entries(out)
          .map(([k, v]) => `<p><strong>${html(k)}</strong>: <span class="${html(k)}">${html(v)}</span></p>`)
          .join("")}`,
      );
    },
  });
  provider.on("server_error", (_ctx, err) => {
    if (!opts.quiet) console.error("[provider] server_error", err);
  });

  // Recording, and the interaction pages.
  provider.use(async (ctx, next) => {
    const path = ctx.path;
    if (path.startsWith("/interaction/")) {
      await interaction(ctx);
      return;
    }
    if (path === "/auth" && ctx.method === "GET") {
      const params = Object.fromEntries(new URLSearchParams(ctx.querystring));
      const entry = { at: Date.now(), params, par: params.request_uri !== undefined };
      // What was pushed for this request_uri (its prompt, scope, dpop_jkt, ...).
      if (entry.par) entry.pushed = parRequests.find((r) => r.request_uri === params.request_uri)?.params;
      authRequests.push(entry);
    }
    const dpop = ctx.method === "OPTIONS" ? null : readDpop(ctx.get("DPoP"));
    await next();
    if (path === "/token" && ctx.method === "POST") {
      const p = ctx.oidc?.params ?? {};
      const entry = { grant_type: p.grant_type, at: Date.now(), status: ctx.status };
      if (p.refresh_token) entry.refresh_token = p.refresh_token;
      if (p.redirect_uri) entry.redirect_uri = p.redirect_uri;
      if (p.code_verifier) entry.code_verifier = p.code_verifier;
      entry.dpop = dpop;
      if (ctx.status >= 400) entry.error = ctx.body?.error;
      else {
        entry.token_type = ctx.body?.token_type;
        // What it issued, for tests that look for these tokens where they must not be.
        entry.issued = { access_token: ctx.body?.access_token, id_token: ctx.body?.id_token, refresh_token: ctx.body?.refresh_token };
      }
      tokenRequests.push(entry);
    } else if (path === "/request" && ctx.method === "POST") {
      // The form as the client sent it (oidc-provider adds dpop_jkt to its params from the proof).
      const params = { ...(ctx.oidc?.body ?? ctx.oidc?.params ?? {}) };
      for (const [k, v] of Object.entries(params)) if (v === undefined) delete params[k];
      parRequests.push({
        at: Date.now(),
        status: ctx.status,
        origin: ctx.get("Origin") || undefined,
        params,
        dpop,
        ...(ctx.status >= 400
          ? { error: ctx.body?.error, error_description: ctx.body?.error_description }
          : { request_uri: ctx.body?.request_uri }),
      });
    } else if (path === "/session/end") {
      const p = ctx.oidc?.params ?? Object.fromEntries(new URLSearchParams(ctx.querystring));
      endSessions.push({
        at: Date.now(),
        method: ctx.method,
        status: ctx.status,
        id_token_hint: p.id_token_hint,
        client_id: p.client_id,
        post_logout_redirect_uri: p.post_logout_redirect_uri,
        state: p.state,
        ended: false,
      });
    } else if (path === "/me") {
      userinfoRequests.push({
        at: Date.now(),
        method: ctx.method,
        status: ctx.status,
        scheme: /^(\S+)\s/.exec(ctx.get("Authorization"))?.[1],
        dpop,
        wwwAuthenticate: ctx.response.get("WWW-Authenticate") || undefined,
      });
    }
  });
  provider.on("end_session.success", () => {
    const last = endSessions.at(-1);
    if (last) last.ended = true;
  });

  /** The DPoP header as sent, decoded without checking (oidc-provider checks it): or null. */
  function readDpop(header) {
    if (!header) return null;
    try {
      return { header: decodeProtectedHeader(header), claims: decodeJwt(header), jwt: header };
    } catch {
      return { header: null, claims: null, jwt: header };
    }
  }

  async function interaction(ctx) {
    const [, , uid, action] = ctx.path.split("/");
    ctx.set("cache-control", "no-store");
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (e) {
      ctx.status = 400;
      ctx.type = "html";
      ctx.body = page("Error", `<h1>Login session not found</h1><p class="muted">${html(e.message)}</p>`);
      return;
    }
    if (details.uid !== uid) {
      ctx.status = 400;
      ctx.body = "interaction mismatch";
      return;
    }
    const finish = async (result) => {
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
    };

    if (ctx.method === "POST" && action === "abort") {
      await readForm(ctx.req);
      return finish({ error: "access_denied", error_description: "The user denied the request" });
    }
    if (ctx.method === "POST" && action === "login") {
      const { login } = await readForm(ctx.req);
      const name = (login ?? "").trim();
      if (!name) {
        ctx.type = "html";
        ctx.body = loginPage(details, "Enter a user name.");
        return;
      }
      return finish({ login: { accountId: name } });
    }
    if (ctx.method !== "GET" || action) {
      ctx.status = 405;
      return;
    }
    const { prompt } = details;
    if (prompt.name === "login") {
      ctx.type = "html";
      ctx.body = loginPage(details);
      return;
    }
    if (prompt.name === "consent") {
      const { accountId } = details.session;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: details.params.client_id });
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(" "));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(" "));
      }
      const grantId = await grant.save();
      return finish({ consent: details.grantId ? {} : { grantId } });
    }
    ctx.status = 400;
    ctx.body = `unsupported prompt ${prompt.name}`;
  }

  function loginPage(details, message) {
    const client = html(details.params.client_id ?? "");
    return page(
      "Sign in",
      `<h1>Sign in to ${client}</h1>
${message ? `<p class="muted" id="login-message">${html(message)}</p>` : ""}
<form method="post" action="/interaction/${html(details.uid)}/login" autocomplete="off">
  <label for="login">User name <span class="muted">(any name works)</span></label>
  <input id="login" name="login" autofocus required>
  <button type="submit" class="primary">Sign in</button>
</form>
<form method="post" action="/interaction/${html(details.uid)}/abort" style="margin-top:.75rem">
  <button type="submit" name="deny" value="1">Deny</button> <span class="muted">(answers access_denied)</span>
</form>`,
    );
  }

  handler = provider.callback();
  // www/api/me.mjs (the demo's /api/me) finds the introspection client here when it runs in the
  // same process (npm start) and was given none.
  (globalThis[LOCAL_INTROSPECTION] ??= new Map()).set(issuer, introspectionClient);

  return {
    issuer,
    port,
    provider,
    tokenRequests,
    endSessions,
    authRequests,
    userinfoRequests,
    parRequests,
    /** `{ client_id, client_secret }` of the one client allowed at the introspection endpoint. */
    introspectionClient,
    /** Whether a DPoP proof must carry a nonce from now on (needs `dpop: { requireNonce }`). */
    setDpopRequireNonce(value) {
      if (!dpopNonces) throw new Error("startProvider: pass dpop: { requireNonce } to change it later");
      requireNonce = !!value;
    },
    /** @param {"503" | "drop"} [mode] */
    pause(mode = "503") {
      paused = mode === "drop" ? "drop" : "503";
      // Drop idle keep-alive connections so no request slips through on an old socket.
      for (const s of sockets) s.destroy();
    },
    resume() {
      paused = null;
    },
    /** Every request is answered `ms` later from now on (0: at once). */
    setLatency(ms) {
      latency = Math.max(0, Number(ms)) || 0;
    },
    get latency() {
      return latency;
    },
    close: () =>
      new Promise((resolve) => {
        if (globalThis[LOCAL_INTROSPECTION]?.get(issuer) === introspectionClient) globalThis[LOCAL_INTROSPECTION].delete(issuer);
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.PIXY_PROVIDER_PORT ?? 9090);
  const p = await startProvider({ port });
  console.log(`provider: ${p.issuer}  (client pixy-demo, redirect http://localhost:5173/; log in with any user name)`);
  const stop = async () => {
    await p.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
