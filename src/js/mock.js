// pixy-oidc/mock: an in-memory stand-in for an `Oidc` instance, for app tests and demos that run
// without a provider. It has the same members as the real thing; login() and logout() flip the
// state at once and emit the events a real login or logout would. It has no timers: idle warnings
// and logouts that do not come from the app happen when a test says so (simulate...). It never loads the wasm: it
// imports only the core's wasm-free error class, so `err instanceof OidcError` holds.
import { OidcError } from "./errors.js";

/** @deprecated The mock throws the core's own OidcError; this name stays for compatibility. */
export const MockOidcError = OidcError;

const DEFAULT_CLAIMS = Object.freeze({
  sub: "mock-user",
  name: "Mock User",
  preferred_username: "mock-user",
  email: "mock-user@example.test",
  email_verified: true,
});

const base64urlBytes = (bytes) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const base64url = (text) => base64urlBytes(new TextEncoder().encode(text));

/** An unsigned (`alg: none`) JWT carrying the claims: readable by app code, valid nowhere. */
function fakeJwt(claims) {
  return `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.`;
}

const never = () => new Promise(() => {});

const LOGOUT_REASONS = ["user", "otherTab", "idle", "provider"];

/** `url` as a DPoP `htu`: absolute (against the page, when there is one), without query or fragment. */
function htu(url) {
  let u;
  try {
    u = new URL(String(url), globalThis.location?.href);
  } catch {
    return String(url).replace(/[?#].*$/, "");
  }
  u.search = "";
  u.hash = "";
  return u.href;
}

/** The method as fetch sends it: the six standard ones upper-cased, any other as given. */
function normalizeMethod(method) {
  const upper = String(method).toUpperCase();
  return ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].includes(upper) ? upper : String(method);
}

/** base64url(SHA-256(text)) where WebCrypto is available, else a marker (the mock's `ath`). */
async function sha256(text) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return "mock-ath-without-webcrypto";
  return base64urlBytes(new Uint8Array(await subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/**
 * @param {import("./mock.d.ts").MockOidcOptions} [options]
 * @returns {import("./mock.d.ts").MockOidc}
 */
export function createMockOidc(options = {}) {
  const lifetimeMs = (options.accessTokenLifetimeSeconds ?? 3600) * 1000;
  const dpop = Boolean(options.dpop);
  let proofs = 0;
  let loginClaims = options.claims ?? DEFAULT_CLAIMS;
  let isLoggedIn = Boolean(options.isLoggedIn);
  let claims = null;
  let tokens = null;
  let issued = 0;
  let activityReports = 0;
  let idleWarning = false;
  const listeners = new Set();
  if (options.popup != null && options.popup !== "blocked" && options.popup !== "cancelled") {
    throw new TypeError('createMockOidc({ popup }): "blocked", "cancelled", or leave it out');
  }

  /** The given claims, completed with the registered ones an ID token always has. */
  function completeClaims(given) {
    const now = Math.floor(Date.now() / 1000);
    return Object.freeze({ iss: "https://mock.invalid", aud: "mock-client", iat: now, exp: now + lifetimeMs / 1000, ...given });
  }

  function issueTokens() {
    issued += 1;
    const now = Date.now();
    tokens = Object.freeze({
      accessToken: `mock-access-token-${issued}`,
      idToken: fakeJwt(claims),
      tokenType: dpop ? "DPoP" : "Bearer",
      scope: "openid profile",
      accessTokenExpiresAt: now + lifetimeMs,
      ...(options.tokens ?? {}),
    });
  }
  if (isLoggedIn) {
    claims = completeClaims(loginClaims);
    issueTokens();
  }

  function emit(event) {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (e) {
        // A throwing listener must not stop the others, as with the real instance.
        if (typeof globalThis.reportError === "function") globalThis.reportError(e);
        else console.error(e);
      }
    }
  }

  const notLoggedIn = () =>
    Promise.reject(new OidcError("not_logged_in", "Expected a logged-in user, but nobody is logged in (mock)."));

  function signIn(newClaims) {
    if (newClaims) loginClaims = newClaims;
    isLoggedIn = true;
    claims = completeClaims(loginClaims);
    issueTokens();
    emit({ type: "tokensChanged" });
  }

  function signOut(event) {
    const was = isLoggedIn;
    idleWarning = false;
    isLoggedIn = false;
    claims = null;
    tokens = null;
    if (was || event.type === "loggedOut") emit(event);
  }

  /**
   * A fake DPoP proof, marked as such: the JWT header says `alg: "none"` and `pixy_mock: true`, the
   * signature is empty and there is no key (`jwk`). Its claims are the real proof's: `htm`, `htu`
   * (no query or fragment), `iat`, `jti`, and `ath` (SHA-256 of the fake access token). No
   * resource server accepts it.
   */
  async function fakeProof(method, url) {
    proofs += 1;
    const header = { typ: "dpop+jwt", alg: "none", pixy_mock: true };
    const payload = {
      jti: `mock-proof-${proofs}`,
      htm: normalizeMethod(method),
      htu: htu(url),
      iat: Math.floor(Date.now() / 1000),
      ath: await sha256(tokens.accessToken),
    };
    return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.`;
  }

  const noDPoP = () =>
    Promise.reject(
      new OidcError("invalid_config", "createDPoPProof() needs DPoP, but the mock was created without `dpop: true` (mock)."),
    );

  const restoredVia = isLoggedIn ? "callback" : null;
  const mock = {
    get isLoggedIn() {
      return isLoggedIn;
    },
    /** "callback" when created logged in (as after a login's redirect back), else null. */
    get restoredVia() {
      return restoredVia;
    },
    get claims() {
      return claims;
    },
    /**
     * Logs in at once (no redirect), emits `tokensChanged`, and never settles, like a redirect.
     * With `popup: true`: the same, but resolves (no navigation); with the mock's option `popup`
     * set, rejects instead, at once with `popup_blocked` or after a moment with `login_cancelled`,
     * nobody logged in.
     */
    login(loginOptions = {}) {
      options.onLogin?.(loginOptions);
      if (loginOptions?.popup === true) {
        if (options.popup === "blocked") {
          return Promise.reject(
            new OidcError("popup_blocked", "The browser refused to open the login popup (mock: popup \"blocked\")."),
          );
        }
        if (options.popup === "cancelled") {
          return new Promise((_, reject) =>
            setTimeout(() => reject(new OidcError("login_cancelled", "The login popup was closed (mock: popup \"cancelled\").")), 0),
          );
        }
        if (!isLoggedIn) signIn();
        return Promise.resolve();
      }
      if (!isLoggedIn) signIn();
      return never();
    },
    /** Logs out at once, emits `loggedOut` (reason "user"), and never settles, like a redirect. */
    logout(logoutOptions = {}) {
      options.onLogout?.(logoutOptions);
      signOut({ type: "loggedOut", reason: "user" });
      return never();
    },
    getTokens() {
      return isLoggedIn ? Promise.resolve(tokens) : notLoggedIn();
    },
    renewTokens() {
      if (!isLoggedIn) return notLoggedIn();
      issueTokens();
      emit({ type: "tokensChanged" });
      return Promise.resolve(tokens);
    },
    getUserInfo() {
      if (!isLoggedIn) return notLoggedIn();
      return Promise.resolve({ ...(options.userInfo ?? loginClaims) });
    },
    /**
     * The global fetch with `Authorization: Bearer <fake access token>`, or with `dpop: true`
     * `Authorization: DPoP <fake access token>` and a `DPoP` header holding a fake proof. No
     * renewal, no retry. Rejects with code `not_logged_in` when logged out.
     */
    async fetch(input, init) {
      if (!isLoggedIn) return notLoggedIn();
      const isRequest = typeof Request === "function" && input instanceof Request;
      // As fetch itself: the init's headers, if any, replace the request's.
      const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
      headers.set("Authorization", `${tokens.tokenType} ${tokens.accessToken}`);
      if (dpop) {
        const method = init?.method ?? (isRequest ? input.method : "GET");
        const url = isRequest ? input.url : input;
        headers.set("DPoP", await fakeProof(method, url));
      }
      return globalThis.fetch(input, { ...init, headers });
    },
    /**
     * With `dpop: true`, a fake, unsigned proof for the current fake access token (see
     * fakeProof); otherwise rejects with `invalid_config`, as the real one does without `dpop`.
     */
    async createDPoPProof({ method, url } = {}) {
      if (!dpop) return noDPoP();
      if (!isLoggedIn) return notLoggedIn();
      if (typeof method !== "string" || !method || url == null) {
        throw new TypeError("createDPoPProof({ method, url }): a method and a URL are required");
      }
      return fakeProof(method, url);
    },
    subscribe(listener) {
      if (typeof listener !== "function") throw new TypeError("subscribe(listener): listener must be a function");
      const entry = (event) => listener(event);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },

    /** Counts the call (`activityReports`); cancels an idle warning under way (`idleWarningCancelled`). */
    reportActivity() {
      activityReports += 1;
      if (idleWarning) {
        idleWarning = false;
        emit({ type: "idleWarningCancelled" });
      }
    },

    /** Forgets the listeners. */
    close() {
      listeners.clear();
    },

    // Test controls, beyond the Oidc interface.
    /** How often reportActivity() was called. */
    get activityReports() {
      return activityReports;
    },
    /** Emits `idleWarning` with `msLeft` (default 60000), as the real one does before an idle logout. */
    simulateIdleWarning(msLeft = 60_000) {
      if (typeof msLeft !== "number" || !(msLeft >= 0)) throw new TypeError("simulateIdleWarning(msLeft): a number of ms >= 0");
      idleWarning = true;
      emit({ type: "idleWarning", msLeft });
    },
    /** Emits `idleWarningCancelled`, as when there was activity in some tab. */
    simulateIdleWarningCancelled() {
      idleWarning = false;
      emit({ type: "idleWarningCancelled" });
    },
    /**
     * Logs out without logout(): tokens forgotten, `loggedOut` emitted with `reason` ("user",
     * "otherTab", "idle" or "provider"; default "user"). Never navigates.
     */
    simulateLogout(reason = "user") {
      if (!LOGOUT_REASONS.includes(reason)) {
        throw new TypeError(`simulateLogout(reason): one of ${LOGOUT_REASONS.map((r) => `"${r}"`).join(", ")}`);
      }
      signOut({ type: "loggedOut", reason });
    },
    /** The user logged out at the provider: simulateLogout("provider"). */
    simulateProviderLogout() {
      signOut({ type: "loggedOut", reason: "provider" });
    },
    /** Logs in as if a login had just completed (optionally as someone else). */
    simulateLogin(newClaims) {
      signIn(newClaims);
    },
    /** Ends the session as the provider would: logged out, `sessionExpired` emitted. */
    expireSession() {
      signOut({ type: "sessionExpired" });
    },
    /** Emits an `error` event (a MockOidcError with this code unless an error is given). */
    emitError(errorOrCode = "network_error") {
      const error =
        typeof errorOrCode === "string"
          ? new OidcError(errorOrCode, `Simulated error ${errorOrCode} (mock).`)
          : errorOrCode;
      emit({ type: "error", error });
    },
  };
  return mock;
}
