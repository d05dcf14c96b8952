// A small hand-written OpenID provider that misbehaves on demand, for the conformance tests
// (the scenarios are listed in tests/e2e/conformance.test.mjs). No login UI: /authorize answers at once. Listens on
// 127.0.0.1 only; close() stops it.
//
//   const op = await startHostile();
//   op.setScenario("rp-id_token-aud");
//   ... drive a client against op.issuer ...
//   op.tokenRequests.length, op.userinfoRequests, op.jwksRequests, op.requests
//   await op.close();
//
// Every response carries `Cache-Control: no-store`, so the browser's HTTP cache never hides a
// JWKS or discovery fetch. `prompt=none` authorization requests are always answered with
// `error=login_required` (there are no provider sessions here), with the correct `state` and
// `iss`: the scenarios only bend interactive logins.
import http from "node:http";
import { generateKeyPair, exportJWK, exportSPKI, SignJWT } from "jose";
import { atHashFor, b64u, now, rand, readBody, s256 } from "./util.mjs";

export const CLIENT_ID = "hostile-client";
export const DEFAULT_SUB = "hostile-sub-1";
export { s256 };
/** OIDC Core 3.1.3.6: left half of SHA-256 of the ASCII access token (RS256/PS256/ES256). */
export const atHash = (accessToken) => atHashFor("RS256", accessToken);

/** Flip one bit in the middle of a JWS signature: structurally fine, cryptographically wrong. */
function corruptSignature(jwt) {
  const [h, p, s] = jwt.split(".");
  const sig = Buffer.from(s, "base64url");
  sig[sig.length >> 1] ^= 0x01;
  return `${h}.${p}.${b64u(sig)}`;
}

async function makeKey(alg, kid) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { alg, kid, publicKey, privateKey, jwk };
}

/**
 * Scenario table. Each entry may define:
 *   metadata(md, ctx)        mutate the discovery document
 *   discoveryBody(ctx)       replace the discovery response entirely: { status, type, body }
 *   jwks(ctx)                the list of key records published at /jwks
 *   authResponse(p, ctx)     mutate the URLSearchParams sent back to redirect_uri
 *   signing(ctx)             { key, kid? (false = no kid header), alg? }
 *   claims(c, ctx)           mutate the ID token claims
 *   idToken(jwt, ctx)        post-process the signed ID token
 *   tokenResponse(ctx)       replace the token response entirely: { status, type, body }
 *   userinfo(u, ctx)         mutate the userinfo response
 * and `expect`: what a conforming client does ({ accept: true, sub } or { reject, codes, stage }),
 * used by tests/e2e/conformance.test.mjs.
 */
export const SCENARIOS = {
  default: { expect: { accept: true } },

  // Discovery and keys
  "rp-discovery-issuer-not-matching-config": {
    metadata: (md, ctx) => {
      md.issuer = `${ctx.issuer}/not-the-configured-issuer`;
    },
    expect: { reject: true, stage: "discovery", codes: ["issuer_mismatch"] },
  },
  "rp-id_token-kid-absent-single-jwks": {
    jwks: (ctx) => [ctx.keys.rs],
    signing: (ctx) => ({ key: ctx.keys.rs, kid: false }),
    expect: { accept: true },
  },
  "rp-id_token-kid-absent-multiple-jwks": {
    // Two RS256 keys, so `alg` cannot pick one; signed by the second, so "take the first" fails.
    jwks: (ctx) => [ctx.keys.rs, ctx.keys.rs2],
    signing: (ctx) => ({ key: ctx.keys.rs2, kid: false }),
    expect: { either: true, codes: ["invalid_id_token"], stage: "token" },
  },
  "rp-key-rotation-op-sign-key": {
    // Logins before the rotation: JWKS = [rs], signed with rs. The rotation happens when the
    // (rotateAfter + 1)-th token request arrives: from then on JWKS = [rot] and tokens are
    // signed with rot, whose kid the client has never seen. With opts.staleJwksFetches = n, the
    // first n JWKS fetches after the rotation still answer the old set (a lagging cache), which
    // forces a client that fetches keys lazily through its "unknown kid → refetch once" path.
    jwks: (ctx) => {
      if (!ctx.state.rotated) return [ctx.keys.rs];
      ctx.state.staleServed ??= 0;
      if (ctx.state.staleServed < (ctx.opts.staleJwksFetches ?? 0)) {
        ctx.state.staleServed += 1;
        return [ctx.keys.rs];
      }
      return [ctx.keys.rot];
    },
    onTokenRequest: (ctx) => {
      if (ctx.state.tokenCount > (ctx.opts.rotateAfter ?? 1)) ctx.state.rotated = true;
    },
    signing: (ctx) => ({ key: ctx.state.rotated ? ctx.keys.rot : ctx.keys.rs }),
    expect: { accept: true },
  },
  "unknown-kid-after-refetch": {
    signing: (ctx) => ({ key: ctx.keys.ghost }),
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },

  // Authorization response
  "state-wrong": {
    authResponse: (p) => p.set("state", `forged-${rand(8)}`),
    expect: { reject: true, stage: "authorization", codes: ["state_mismatch"] },
  },
  "state-missing": {
    authResponse: (p) => p.delete("state"),
    expect: { reject: true, stage: "authorization", codes: ["state_mismatch"] },
  },
  "error-access_denied": {
    authResponse: (p) => {
      p.delete("code");
      p.set("error", "access_denied");
      p.set("error_description", "The resource owner denied the request");
    },
    expect: { reject: true, stage: "authorization", codes: ["provider_error"], provider: "access_denied" },
  },
  "rfc9207-iss-wrong": {
    authResponse: (p) => p.set("iss", "http://127.0.0.1:9/evil-issuer"),
    expect: { reject: true, stage: "authorization", codes: ["issuer_mismatch"] },
  },
  "rfc9207-iss-missing": {
    authResponse: (p) => p.delete("iss"),
    expect: { reject: true, stage: "authorization", codes: ["issuer_mismatch"] },
  },
  "plain-method-metadata": {
    metadata: (md) => {
      md.code_challenge_methods_supported = ["plain"];
    },
    expect: { accept: true },
  },

  // ID token
  "rp-id_token-bad-sig-rs256": {
    signing: (ctx) => ({ key: ctx.keys.rs }),
    idToken: corruptSignature,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "rp-id_token-bad-sig-es256": {
    signing: (ctx) => ({ key: ctx.keys.es }),
    idToken: corruptSignature,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "rp-id_token-sig-none": {
    metadata: (md) => md.id_token_signing_alg_values_supported.push("none"),
    signing: () => ({ alg: "none" }),
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  hs256: {
    // Key confusion: HMAC keyed with the published RSA public key (SPKI PEM), kid of that key.
    metadata: (md) => md.id_token_signing_alg_values_supported.push("HS256"),
    signing: (ctx) => ({ alg: "HS256", hmacWith: ctx.keys.rs }),
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "claims-with-a-proto-member": {
    // A `__proto__` member in the claims: JSON.parse makes it an own property, never the
    // prototype, and pixy-oidc hands the app claims without it.
    claims: (c) => {
      Object.defineProperty(c, "__proto__", { value: { isAdmin: true }, enumerable: true, writable: true, configurable: true });
    },
    expect: { accept: true, protoDropped: true },
  },
  "rp-id_token-issuer-mismatch": {
    claims: (c) => {
      c.iss = "https://attacker.example/";
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token", "issuer_mismatch"] },
  },
  "iss-missing": {
    claims: (c) => delete c.iss,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token", "issuer_mismatch"] },
  },
  "rp-id_token-aud": {
    claims: (c) => {
      c.aud = "some-other-client";
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "aud-missing": {
    claims: (c) => delete c.aud,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "aud-array-one": {
    claims: (c) => {
      c.aud = [CLIENT_ID];
    },
    expect: { accept: true },
  },
  "rp-id_token-sub": {
    claims: (c) => delete c.sub,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "rp-id_token-iat": {
    claims: (c) => delete c.iat,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "exp-missing": {
    claims: (c) => delete c.exp,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "exp-past": {
    claims: (c) => {
      c.iat = now() - 7200;
      c.auth_time = c.iat;
      c.exp = now() - 3600; // far outside the default 60 s clock skew
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "rp-nonce-invalid": {
    claims: (c) => {
      c.nonce = `not-your-nonce-${rand(8)}`;
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "nonce-missing": {
    claims: (c) => delete c.nonce,
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "rp-id_token-bad-at_hash": {
    claims: (c) => {
      c.at_hash = atHash(`some-other-access-token-${rand(8)}`);
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  "at_hash-absent": {
    claims: (c) => delete c.at_hash,
    expect: { accept: true },
  },
  "azp-wrong": {
    claims: (c) => {
      c.aud = [CLIENT_ID, "other-client"];
      c.azp = "other-client";
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token"] },
  },
  es256: { signing: (ctx) => ({ key: ctx.keys.es }), expect: { accept: true } },
  ps256: { signing: (ctx) => ({ key: ctx.keys.ps }), expect: { accept: true } },

  // UserInfo
  "rp-userinfo-bad-sub-claim": {
    userinfo: (u) => {
      u.sub = "someone-else-entirely";
    },
    expect: { accept: true, userinfoReject: ["invalid_userinfo"] },
  },

  // Malformed input
  "token-not-json": {
    // Truncated JSON that still holds the real tokens: an error message echoing the body leaks them.
    tokenResponse: (ctx) => ({
      status: 200,
      type: "application/json",
      body: JSON.stringify(ctx.goodResponse).slice(0, -1),
    }),
    expect: { reject: true, stage: "token", codes: ["invalid_response"] },
  },
  "token-html-error-page": {
    tokenResponse: () => ({
      status: 500,
      type: "text/html; charset=utf-8",
      body: "<!doctype html><html><head><title>500 Internal Server Error</title></head>" +
        "<body><h1>Internal Server Error</h1><p>Something broke.</p></body></html>",
    }),
    // src/proto/http.rs deliberately reports a non-OAuth error status as `http_error`.
    expect: { reject: true, stage: "token", codes: ["invalid_response", "http_error"] },
  },
  "token-jwt-two-segments": {
    idToken: (jwt) => jwt.split(".").slice(0, 2).join("."),
    expect: { reject: true, stage: "token", codes: ["invalid_id_token", "invalid_response"] },
  },
  "token-bad-base64": {
    idToken: (jwt) => {
      const [h, , s] = jwt.split(".");
      return `${h}.%%not*base64url!!.${s}`;
    },
    expect: { reject: true, stage: "token", codes: ["invalid_id_token", "invalid_response"] },
  },
  "token-huge": {
    tokenResponse: (ctx) => ({
      status: 200,
      type: "application/json",
      body: JSON.stringify({ ...ctx.goodResponse, padding: "A".repeat(5 * 1024 * 1024) }),
    }),
    expect: { reject: true, stage: "token", codes: ["invalid_response"] },
  },
  "discovery-wrong-shape": {
    discoveryBody: (ctx) => ({
      status: 200,
      type: "application/json",
      body: JSON.stringify([{ issuer: ctx.issuer }]),
    }),
    expect: { reject: true, stage: "discovery", codes: ["invalid_response"] },
  },
};

/**
 * @param {{ port?: number }} [opts]
 */
export async function startHostile({ port = 0 } = {}) {
  const keys = {
    rs: await makeKey("RS256", "rs256-a"),
    rs2: await makeKey("RS256", "rs256-b"),
    ps: await makeKey("PS256", "ps256-a"),
    es: await makeKey("ES256", "es256-a"),
    rot: await makeKey("RS256", "rs256-rotated"),
    ghost: await makeKey("RS256", "rs256-never-published"),
  };

  const requests = [];
  const authorizeRequests = [];
  const tokenRequests = [];
  const userinfoRequests = [];
  const jwksRequests = [];
  const discoveryRequests = [];
  const logoutRequests = [];
  /** Every token string this provider handed out (id_token, access_token), for leak checks. */
  const issuedTokens = [];
  const codes = new Map(); // code -> { query, used }
  const accessTokens = new Map(); // access_token -> { sub }

  let scenarioName = "default";
  let scenario = SCENARIOS.default;
  let scenarioOpts = {};
  let state = { tokenCount: 0, rotated: false };
  let issuer = "";

  const ctx = () => ({ issuer, keys, opts: scenarioOpts, state, clientId: CLIENT_ID });

  function metadata() {
    const md = {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      end_session_endpoint: `${issuer}/logout`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256", "PS256", "ES256"],
      token_endpoint_auth_methods_supported: ["none"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid", "profile", "email"],
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "nonce", "at_hash", "name", "email"],
      authorization_response_iss_parameter_supported: true,
    };
    scenario.metadata?.(md, ctx());
    return md;
  }

  async function signIdToken(claims, signing) {
    if (signing.alg === "none") {
      const h = b64u(JSON.stringify({ alg: "none", typ: "JWT" }));
      return `${h}.${b64u(JSON.stringify(claims))}.`;
    }
    if (signing.alg === "HS256") {
      const secret = new TextEncoder().encode(await exportSPKI(signing.hmacWith.publicKey));
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: signing.hmacWith.kid })
        .sign(secret);
    }
    const key = signing.key;
    const header = { alg: key.alg, typ: "JWT" };
    if (signing.kid !== false) header.kid = key.kid;
    return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
  }

  function send(res, origin, status, type, body, extra = {}) {
    const headers = {
      "cache-control": "no-store",
      pragma: "no-cache",
      ...cors(origin),
      ...extra,
    };
    if (type) headers["content-type"] = type;
    if (body != null) headers["content-length"] = Buffer.byteLength(body);
    res.writeHead(status, headers);
    res.end(body ?? undefined);
  }
  const json = (res, origin, status, obj, extra) =>
    send(res, origin, status, "application/json", JSON.stringify(obj), extra);
  function cors(origin) {
    return {
      "access-control-allow-origin": origin || "*",
      "access-control-expose-headers": "www-authenticate",
      vary: "Origin",
    };
  }
  function redirect(res, origin, location) {
    send(res, origin, 302, "text/plain", `Redirecting to ${location}`, { location });
  }

  async function handle(req, res) {
    const url = new URL(req.url, issuer);
    const origin = req.headers.origin;
    const rawBody = req.method === "POST" ? await readBody(req) : "";
    const isForm = (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const body = isForm ? Object.fromEntries(new URLSearchParams(rawBody)) : rawBody;
    const entry = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      rawQuery: url.search,
      body,
      rawBody,
      headers: { ...req.headers },
      scenario: scenarioName,
      at: Date.now(),
    };
    requests.push(entry);

    if (req.method === "OPTIONS") {
      send(res, origin, 204, null, null, {
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers":
          req.headers["access-control-request-headers"] || "authorization, content-type",
        "access-control-max-age": "0",
      });
      return;
    }

    switch (url.pathname) {
      case "/.well-known/openid-configuration": {
        discoveryRequests.push(entry);
        if (scenario.discoveryBody) {
          const r = scenario.discoveryBody(ctx());
          return send(res, origin, r.status, r.type, r.body);
        }
        return json(res, origin, 200, metadata());
      }

      case "/jwks": {
        jwksRequests.push(entry);
        const list = scenario.jwks ? scenario.jwks(ctx()) : [keys.rs, keys.ps, keys.es];
        entry.kids = list.map((k) => k.kid);
        return send(res, origin, 200, "application/jwk-set+json",
          JSON.stringify({ keys: list.map((k) => k.jwk) }));
      }

      case "/authorize": {
        authorizeRequests.push(entry);
        const q = url.searchParams;
        const redirectUri = q.get("redirect_uri");
        let target;
        try {
          target = new URL(redirectUri);
        } catch {
          return send(res, origin, 400, "text/plain", "invalid redirect_uri");
        }
        const p = new URLSearchParams();
        if (q.get("prompt") === "none") {
          // No provider sessions: silent requests always end with login_required.
          entry.silent = true;
          p.set("error", "login_required");
          p.set("error_description", "End-User authentication is required");
          if (q.has("state")) p.set("state", q.get("state"));
          p.set("iss", issuer);
        } else if (q.get("response_type") !== "code" || q.get("client_id") !== CLIENT_ID) {
          p.set("error", q.get("client_id") !== CLIENT_ID ? "unauthorized_client" : "unsupported_response_type");
          if (q.has("state")) p.set("state", q.get("state"));
          p.set("iss", issuer);
        } else {
          const code = rand(24);
          codes.set(code, { query: Object.fromEntries(q), used: false });
          entry.code = code;
          p.set("code", code);
          if (q.has("state")) p.set("state", q.get("state"));
          p.set("iss", issuer);
          scenario.authResponse?.(p, ctx());
        }
        for (const [k, v] of p) target.searchParams.append(k, v);
        entry.redirectedTo = target.href;
        return redirect(res, origin, target.href);
      }

      case "/token": {
        if (req.method !== "POST") return json(res, origin, 405, { error: "invalid_request" });
        tokenRequests.push(entry);
        const b = isForm ? body : {};
        const fail = (error, description) => {
          entry.error = error;
          entry.errorDescription = description;
          return json(res, origin, 400, { error, error_description: description });
        };
        if (b.grant_type !== "authorization_code") return fail("unsupported_grant_type", `grant_type ${b.grant_type}`);
        const stored = codes.get(b.code);
        if (!stored) return fail("invalid_grant", "unknown code");
        if (stored.used) return fail("invalid_grant", "code already used");
        stored.used = true;
        const aq = stored.query;
        entry.authorizeQuery = aq;
        if (b.client_id !== aq.client_id) return fail("invalid_client", "client_id differs from the authorization request");
        entry.redirectUriOk = b.redirect_uri === aq.redirect_uri;
        if (!entry.redirectUriOk) return fail("invalid_grant", "redirect_uri differs from the authorization request");
        entry.pkceOk = aq.code_challenge_method === "S256" &&
          typeof b.code_verifier === "string" &&
          /^[A-Za-z0-9\-._~]{43,128}$/.test(b.code_verifier) &&
          s256(b.code_verifier) === aq.code_challenge;
        if (!entry.pkceOk) return fail("invalid_grant", "PKCE verification failed");

        state.tokenCount += 1;
        scenario.onTokenRequest?.(ctx());
        const c = ctx();
        const accessToken = `at-${rand(32)}`;
        const t = now();
        const claims = {
          iss: issuer,
          sub: scenarioOpts.sub ?? DEFAULT_SUB,
          aud: CLIENT_ID,
          exp: t + 600,
          iat: t,
          auth_time: t,
          at_hash: atHash(accessToken),
          name: "Hostile Hannah",
        };
        if (aq.nonce !== undefined) claims.nonce = aq.nonce;
        scenario.claims?.(claims, c);
        const signing = scenario.signing ? scenario.signing(c) : { key: keys.rs };
        let idToken = await signIdToken(claims, signing);
        if (scenario.idToken) idToken = scenario.idToken(idToken, c);
        accessTokens.set(accessToken, { sub: scenarioOpts.sub ?? DEFAULT_SUB });
        issuedTokens.push(accessToken, idToken);
        entry.issued = { accessToken, idToken, claims };
        const goodResponse = {
          access_token: accessToken,
          token_type: "Bearer",
          expires_in: 600,
          id_token: idToken,
          scope: aq.scope ?? "openid",
        };
        if (scenario.tokenResponse) {
          const r = scenario.tokenResponse({ ...c, goodResponse });
          return send(res, origin, r.status, r.type, r.body);
        }
        return json(res, origin, 200, goodResponse);
      }

      case "/userinfo": {
        userinfoRequests.push(entry);
        const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? "");
        const known = m && accessTokens.get(m[1]);
        entry.bearer = Boolean(m);
        entry.tokenInQuery = url.searchParams.has("access_token") ||
          (typeof body === "object" && "access_token" in body);
        if (!known) {
          return json(res, origin, 401, { error: "invalid_token" }, {
            "www-authenticate": `Bearer error="invalid_token"`,
          });
        }
        const u = { sub: known.sub, name: "Hostile Hannah", email: "hannah@hostile.example" };
        scenario.userinfo?.(u, ctx());
        return json(res, origin, 200, u);
      }

      case "/logout": {
        logoutRequests.push(entry);
        const target = url.searchParams.get("post_logout_redirect_uri");
        if (target) {
          const t = new URL(target);
          if (url.searchParams.has("state")) t.searchParams.set("state", url.searchParams.get("state"));
          return redirect(res, origin, t.href);
        }
        return send(res, origin, 200, "text/html; charset=utf-8", "<!doctype html><p>Logged out.</p>");
      }

      default:
        return send(res, origin, 404, "text/plain", "not found");
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain", ...cors(req.headers.origin) });
        res.end(`hostile provider failure: ${err.message}`);
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  issuer = `http://127.0.0.1:${server.address().port}`;

  return {
    issuer,
    clientId: CLIENT_ID,
    keys,
    requests,
    authorizeRequests,
    tokenRequests,
    userinfoRequests,
    jwksRequests,
    discoveryRequests,
    logoutRequests,
    issuedTokens,
    get scenario() {
      return scenarioName;
    },
    /** Switch behaviour; resets the scenario's own state (key rotation). Logs are kept. */
    setScenario(name, opts = {}) {
      if (!SCENARIOS[name]) throw new Error(`unknown hostile scenario: ${name}`);
      scenarioName = name;
      scenario = SCENARIOS[name];
      scenarioOpts = opts;
      state = { tokenCount: 0, rotated: false };
    },
    /** Empty every request log (in place). */
    clearRequests() {
      for (const a of [requests, authorizeRequests, tokenRequests, userinfoRequests, jwksRequests,
        discoveryRequests, logoutRequests]) a.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
