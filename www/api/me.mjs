// The demo apps' protected API route, GET /api/me, answering with the user's sub (and name). Used
// by the Vite dev and preview servers (apiMePlugin), by `npm start` (scripts/dev.mjs) and by the
// end-to-end tests (createApiMe). It takes two kinds of access token:
//
//  - `Authorization: Bearer <token>`: accepted when the provider's userinfo endpoint accepts it
//    (a DPoP-bound token is refused there, as it should be);
//  - `Authorization: DPoP <token>` with a `DPoP` proof header (RFC 9449): the proof is checked as a
//    resource server must (checkDpopRequest below: signature with the header's key, typ, alg,
//    htm, htu, iat, ath, jti not replayed, optional server nonce), and the token's `cnf.jkt` must be
//    the thumbprint of the proof's key. The token's `cnf.jkt` comes from the provider's
//    introspection endpoint (with `introspection` credentials, or those the local test provider
//    registered for its issuer in this process), or from the token itself when it is a JWT signed
//    with the issuer's keys.
//
// checkDpopRequest is also the check of tests/support/resource.mjs (the test resource server).
// Only node:crypto here: the example apps' vite.config.js import this file in projects that have
// no jose (tests/e2e/apps.test.mjs builds them in a fresh project); jose is loaded only for a JWT
// access token.
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";

/** Algorithms a proof may use. */
export const DPOP_ALGS = ["ES256"];
/** How far a proof's iat may be from now, in seconds. */
export const DPOP_IAT_WINDOW_S = 60;

const b64u = (buf) => Buffer.from(buf).toString("base64url");
/** RFC 9449 4.2: ath, the base64url SHA-256 of the access token's ASCII octets. */
export const accessTokenHash = (token) => b64u(createHash("sha256").update(token, "ascii").digest());

/**
 * Seen proof ids, each kept for twice the iat window (a proof older than that is refused on iat).
 * `add(jti)` returns false when the jti was seen already.
 */
export function createJtiCache() {
  const seen = new Map(); // jti -> forget after (ms)
  return {
    add(jti) {
      const now = Date.now();
      for (const [k, until] of seen) if (until < now) seen.delete(k);
      if (seen.has(jti)) return false;
      seen.set(jti, now + 2 * DPOP_IAT_WINDOW_S * 1000);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}

/** Server-provided nonces (RFC 9449 9): random, valid for five minutes. */
export function createNonces({ lifetimeMs = 5 * 60_000 } = {}) {
  const valid = new Map(); // nonce -> expires (ms)
  return {
    issue() {
      const n = b64u(randomBytes(18));
      valid.set(n, Date.now() + lifetimeMs);
      return n;
    },
    check(n) {
      const until = typeof n === "string" ? valid.get(n) : undefined;
      return until !== undefined && until >= Date.now();
    },
  };
}

/** RFC 7638 thumbprint (SHA-256) of an EC or OKP public JWK. */
export function jwkThumbprint(jwk) {
  const members = jwk.kty === "EC" ? ["crv", "kty", "x", "y"] : jwk.kty === "OKP" ? ["crv", "kty", "x"] : ["e", "kty", "n"];
  const canonical = `{${members.map((k) => `${JSON.stringify(k)}:${JSON.stringify(jwk[k])}`).join(",")}}`;
  return b64u(createHash("sha256").update(canonical).digest());
}

/** A compact JWS's parts, decoded; throws on anything malformed. */
function decodeJws(jws) {
  const parts = jws.split(".");
  if (parts.length !== 3) throw new Error("not three parts");
  const json = (p) => {
    const v = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v;
  };
  return { header: json(parts[0]), payload: json(parts[1]), signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], "base64url") };
}

/** A refusal: status, WWW-Authenticate and a JSON body saying why. */
function refuse(error, description, extra = {}) {
  const params = [];
  if (error) params.push(`error="${error}"`, `error_description="${description.replace(/["\\]/g, "")}"`);
  params.push(`algs="${DPOP_ALGS.join(" ")}"`);
  return { ok: false, status: 401, error, description, wwwAuthenticate: `DPoP ${params.join(", ")}`, ...extra };
}

/**
 * Checks one request that should carry a DPoP-bound access token. Never throws.
 *
 * @param {{
 *   method: string, url: string,
 *   authorization?: string, dpop?: string | string[],
 *   jtis: ReturnType<typeof createJtiCache>,
 *   nonces?: ReturnType<typeof createNonces> | null,
 *   tokenInfo: (token: string) => Promise<{ active: boolean, jkt?: string, [k: string]: unknown }>,
 *   now?: () => number,
 * }} req
 *   url: the full URL the request was sent to (query and fragment are ignored).
 *   tokenInfo: what the provider says of the token (introspection or a verified JWT); `jkt` is its
 *   `cnf.jkt`.
 * @returns {Promise<{ ok: true, token: string, jkt: string, info: object, proof: object }
 *   | { ok: false, status: number, error?: string, description?: string, wwwAuthenticate: string, nonce?: string }>}
 */
export async function checkDpopRequest(req) {
  const now = req.now ?? (() => Math.floor(Date.now() / 1000));
  const auth = req.authorization ?? "";
  const m = /^(\S+) ([\x21-\x7e]+)$/.exec(auth);
  if (!m) return refuse(undefined, "no access token");
  const [, scheme, token] = m;
  if (scheme.toLowerCase() === "bearer") {
    return refuse("invalid_token", "a DPoP-bound access token must come with the DPoP scheme, not Bearer");
  }
  if (scheme.toLowerCase() !== "dpop") return refuse("invalid_token", `unsupported authorization scheme ${scheme}`);

  const header = req.dpop;
  if (header === undefined || header === "") return refuse("invalid_dpop_proof", "missing DPoP proof");
  if (Array.isArray(header) || /[,\s]/.test(header)) return refuse("invalid_dpop_proof", "more than one DPoP proof");

  let jws;
  try {
    jws = decodeJws(header);
  } catch {
    return refuse("invalid_dpop_proof", "the DPoP proof is not a JWS");
  }
  const { header: protectedHeader, payload } = jws;
  if (protectedHeader.typ !== "dpop+jwt") return refuse("invalid_dpop_proof", `typ must be dpop+jwt, got ${protectedHeader.typ}`);
  if (!DPOP_ALGS.includes(protectedHeader.alg)) return refuse("invalid_dpop_proof", `alg ${protectedHeader.alg} not accepted`);
  const jwk = protectedHeader.jwk;
  if (!jwk || typeof jwk !== "object") return refuse("invalid_dpop_proof", "the proof has no jwk header");
  if ("d" in jwk) return refuse("invalid_dpop_proof", "the proof's jwk holds a private key");
  if (jwk.kty !== "EC" || jwk.crv !== "P-256") return refuse("invalid_dpop_proof", "the proof's jwk is not a P-256 key");
  try {
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: "jwk" });
    const good =
      jws.signature.length === 64 && verify("sha256", Buffer.from(jws.signingInput), { key, dsaEncoding: "ieee-p1363" }, jws.signature);
    if (!good) return refuse("invalid_dpop_proof", "the proof's signature does not verify with its jwk");
  } catch (e) {
    return refuse("invalid_dpop_proof", `the proof's jwk is not a usable key: ${e.message}`);
  }

  if (typeof payload.jti !== "string" || !payload.jti || payload.jti.length > 256) {
    return refuse("invalid_dpop_proof", "jti missing");
  }
  if (payload.htm !== req.method) return refuse("invalid_dpop_proof", `htm ${payload.htm} is not ${req.method}`);
  const expected = new URL(req.url);
  expected.search = "";
  expected.hash = "";
  const htu = typeof payload.htu === "string" ? URL.parse(payload.htu) : null;
  if (!htu) return refuse("invalid_dpop_proof", "htu missing or not a URL");
  if (htu.search || htu.hash) return refuse("invalid_dpop_proof", "htu must have no query or fragment");
  if (htu.href !== expected.href) return refuse("invalid_dpop_proof", `htu ${htu.href} is not ${expected.href}`);
  if (typeof payload.iat !== "number" || Math.abs(now() - payload.iat) > DPOP_IAT_WINDOW_S) {
    return refuse("invalid_dpop_proof", "iat missing or not within 60 s of now");
  }
  if (payload.ath !== accessTokenHash(token)) return refuse("invalid_dpop_proof", "ath is not the hash of this access token");
  if (req.nonces && !req.nonces.check(payload.nonce)) {
    const nonce = req.nonces.issue();
    return {
      ...refuse("use_dpop_nonce", payload.nonce === undefined ? "a nonce is required" : "the nonce is not valid"),
      nonce,
    };
  }
  if (!req.jtis.add(payload.jti)) return refuse("invalid_dpop_proof", "the proof was used before (jti replay)");

  let info;
  try {
    info = await req.tokenInfo(token);
  } catch (e) {
    return { ok: false, status: 502, error: "provider_unreachable", description: String(e?.message ?? e), wwwAuthenticate: "" };
  }
  if (!info?.active) return refuse("invalid_token", "the access token is not active");
  if (!info.jkt) return refuse("invalid_token", "the access token is not DPoP-bound (no cnf.jkt)");
  const thumbprint = jwkThumbprint(jwk);
  if (info.jkt !== thumbprint) return refuse("invalid_dpop_proof", "the proof's key is not the key the token is bound to");
  return { ok: true, token, jkt: thumbprint, info, proof: { header: protectedHeader, claims: payload } };
}

/**
 * Token information by RFC 7662 introspection with client_secret_basic.
 * @param {{ endpoint: string | (() => Promise<string>), client_id: string, client_secret: string }} c
 */
export function introspector({ endpoint, client_id, client_secret }) {
  return async (token) => {
    const url = typeof endpoint === "function" ? await endpoint() : endpoint;
    const r = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: new URLSearchParams({ token, token_type_hint: "access_token" }),
      signal: AbortSignal.timeout(5000),
    });
    if (!r.ok) throw new Error(`introspection answered ${r.status}`);
    const body = await r.json();
    return { ...body, active: body.active === true, jkt: body.cnf?.jkt };
  };
}

/** Where the local test provider (tests/support/provider.mjs) leaves its introspection client. */
const LOCAL_INTROSPECTION = Symbol.for("pixy-oidc.test-provider.introspection");

/**
 * @param {{ issuer: string | (() => string),
 *           introspection?: { client_id: string, client_secret: string }
 *                           | (() => { client_id: string, client_secret: string } | undefined) }} options
 *   introspection: credentials for the provider's introspection endpoint, used for DPoP tokens.
 *   Without them: those the local test provider registered for the issuer in this process, or
 *   else only JWT access tokens (verified with the issuer's JWKS) can be checked.
 * @returns {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => Promise<void>}
 */
export function createApiMe({ issuer, introspection }) {
  const metadata = new Map(); // issuer -> discovery document
  const jwks = new Map(); // jwks_uri -> key set
  const jtis = createJtiCache();

  async function discover(iss) {
    if (!metadata.has(iss)) {
      const r = await fetch(`${iss.replace(/\/$/, "")}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5000),
      });
      if (!r.ok) throw new Error(`discovery answered ${r.status}`);
      metadata.set(iss, await r.json());
    }
    return metadata.get(iss);
  }

  async function tokenInfo(iss, token) {
    const meta = await discover(iss);
    const creds =
      (typeof introspection === "function" ? introspection() : introspection) ??
      globalThis[LOCAL_INTROSPECTION]?.get(iss.replace(/\/$/, ""));
    if (creds && meta.introspection_endpoint) {
      return introspector({ endpoint: meta.introspection_endpoint, ...creds })(token);
    }
    // A JWT access token (RFC 9068) signed by the issuer carries cnf.jkt itself.
    if (token.split(".").length !== 3 || !meta.jwks_uri) return { active: false };
    try {
      const { createRemoteJWKSet, jwtVerify } = await import("jose");
      if (!jwks.has(meta.jwks_uri)) jwks.set(meta.jwks_uri, createRemoteJWKSet(new URL(meta.jwks_uri)));
      const { payload } = await jwtVerify(token, jwks.get(meta.jwks_uri), { issuer: meta.issuer });
      return { ...payload, active: true, jkt: payload.cnf?.jkt };
    } catch {
      return { active: false };
    }
  }

  return async function apiMe(req, res) {
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
      res.end(JSON.stringify(body));
    };
    const authorization = req.headers.authorization ?? "";
    try {
      const iss = typeof issuer === "function" ? issuer() : issuer;
      if (/^DPoP /i.test(authorization)) {
        const host = req.headers.host ?? "localhost";
        const proto = req.socket?.encrypted ? "https" : "http";
        const result = await checkDpopRequest({
          method: req.method,
          url: `${proto}://${host}${req.originalUrl ?? req.url}`,
          authorization,
          dpop: req.headers.dpop,
          jtis,
          tokenInfo: (token) => tokenInfo(iss, token),
        });
        if (!result.ok) {
          if (result.status === 502) return send(502, { error: "provider_unreachable", message: result.description });
          return send(result.status, { error: result.error ?? "missing_token", error_description: result.description }, {
            "www-authenticate": result.wwwAuthenticate,
          });
        }
        return send(200, { sub: result.info.sub, checkedBy: "dpop", jkt: result.jkt });
      }
      const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization);
      if (!match) return send(401, { error: "missing_token" });
      const { userinfo_endpoint } = await discover(iss);
      const r = await fetch(userinfo_endpoint, {
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
