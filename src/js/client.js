// pixy-oidc's browser shell: it performs what the protocol core (Rust, src/browser/core.rs)
// asks for (fetch, WebCrypto, the login in flight in sessionStorage, the hidden iframe, other
// tabs, timers) and hands every answer back to the core, which decides. No token is written
// anywhere but the wasm module's memory and the other tabs' (BroadcastChannel, in memory).
import { call } from "./pixy_oidc.js";
import { b64u, describe, digest, fail, LOGIN_PREFIX, navigate, put, randomBytes, send, session, silentFrame, take, verify } from "./io.js";

/** How long a starting tab waits for another tab to hand over its session. */
const TAB_HANDOVER_MS = 25;
/** How long a tab that finds another tab renewed waits for that tab's new tokens. */
const CATCH_UP_MS = 500;
/** Renew this long before the access token expires. */
const RENEW_LEEWAY_MS = 30000;
/** Timers sleep at most this long, then look at the wall clock (devices sleep). */
const MAX_TIMER_MS = 30000;

const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const never = () => new Promise(() => {});
const transient = (e) => ["network_error", "timeout", "http_error"].includes(e?.code);
/** A final renewal error, told as the end of the session (the provider's error kept). */
const expired = (e) => ({
  code: "session_expired",
  message: e?.message ?? String(e),
  error: e?.error,
  errorDescription: e?.errorDescription,
});

/**
 * Runs a step of the core: arguments and result travel as JSON text; an error comes back as
 * `!` and its JSON, and is thrown here.
 */
function step(op, args) {
  const r = call(op, JSON.stringify(args));
  if (r[0] === "!") throw JSON.parse(r.slice(1));
  return JSON.parse(r);
}

/** Deletes expired (and unreadable) logins in flight. */
function sweep(t) {
  const s = session();
  if (!s) return;
  const stale = [];
  for (let i = 0; i < s.length; i++) {
    const key = s.key(i);
    if (key?.startsWith(LOGIN_PREFIX) && !step("pendingLive", [s.getItem(key) ?? "", t])) stale.push(key);
  }
  for (const key of stale) s.removeItem(key);
}

const getFlag = (key) => session()?.getItem(key) != null;
function setFlag(key, on) {
  try {
    const s = session();
    if (on) s?.setItem(key, "1");
    else s?.removeItem(key);
  } catch {
    // A full or refused sessionStorage only costs the marker.
  }
}

/**
 * The latest session generation any tab of this app holds (how many times any tab renewed
 * the session). Each tab holds a shared Web Lock named after its session's generation; the
 * browser's lock manager answers for all tabs at once and in order, so a tab that gets the
 * renewal lock sees what the previous holder installed. (localStorage does not: its writes
 * reach other tabs late, and a soak with three tabs caught one sending a rotated refresh
 * token.) A number, never a token.
 */
async function sharedGeneration(app) {
  const prefix = `pixy-oidc:gen:${app}:`;
  let n = 0;
  try {
    for (const { name } of (await navigator.locks.query()).held ?? []) {
      if (name?.startsWith(prefix)) n = Math.max(n, Number(name.slice(prefix.length)) || 0);
    }
  } catch {
    // No Web Locks: the tabs only compare what they hand each other.
  }
  return n;
}

function replaceUrl(url) {
  try {
    history.replaceState(null, "", url);
  } catch (e) {
    throw fail("invalid_redirect_to", `history.replaceState: ${describe(e)}`);
  }
}

/** One renewal in all tabs at a time (Web Locks), or just this one where they are missing. */
function withLock(name, f) {
  let p;
  try {
    p = navigator.locks.request(name, f);
  } catch {
    return f();
  }
  return p;
}

class Client {
  constructor(id, emit) {
    /** Runs a step of this client's core. */
    this.core = (op, ...args) => step(op, [id, ...args]);
    this.emitFn = emit;
    this.settings = this.core("settings");
    this.key = this.settings.key;
    this.failures = 0;
    this.timer = undefined;
    this.renewing = null;
    this.waiting = null;
    this.channel = null;
    this.advertised = 0;
    this.advertising = Promise.resolve();
    this.stopAdvertising = () => {};
    /** Until startClient returns, nothing renews: the start may be mid-exchange itself. */
    this.started = false;
    this.onOnline = () => {
      this.failures = 0;
      this.schedule();
    };
  }

  /** Lets go of the tabs, the network events and the timer (a start that failed). */
  close() {
    this.channel?.close();
    this.channel = null;
    removeEventListener("online", this.onOnline);
    clearTimeout(this.timer);
    this.core("endSession");
    this.stopAdvertising();
  }

  /**
   * Holds the shared lock that tells the other tabs the generation of this tab's session
   * (see sharedGeneration); resolves once the lock is held.
   */
  advertise() {
    const n = this.core("generation");
    if (n === this.advertised) return this.advertising;
    this.advertised = n;
    this.stopAdvertising();
    let stop;
    const until = new Promise((r) => (stop = r));
    this.stopAdvertising = stop;
    this.advertising = new Promise((granted) => {
      if (!n) return granted();
      try {
        navigator.locks
          .request(`pixy-oidc:gen:${this.key}:${n}`, { mode: "shared" }, () => {
            granted();
            return until;
          })
          .catch(granted);
      } catch {
        granted();
      }
    });
    return this.advertising;
  }

  /**
   * An authorization request from the core: `{url, key, pending}`. The PKCE verifier is the
   * base64url of the first 32 random bytes; its SHA-256 comes from WebCrypto.
   */
  async authorize(mode, redirectTo, extraJson, noOffline) {
    const r = randomBytes();
    const verifierDigest = await digest("SHA-256", b64u(r.subarray(0, 32)));
    return this.core("authorize", b64u(r), b64u(verifierDigest), now(), mode, redirectTo, extraJson, location.origin, location.href, noOffline);
  }

  emit(type, error) {
    try {
      this.emitFn(type, error);
    } catch {
      // The wrapper reports listener errors itself.
    }
  }

  send(url, what, options) {
    return send(url, what, this.settings.http, options);
  }

  get redirectFlag() {
    return `pixy-oidc:silent-redirect:${this.key}`;
  }

  get noOfflineFlag() {
    return `pixy-oidc:no-silent-offline:${this.key}`;
  }

  /** Subscribes to the other tabs and to the browser coming back online. */
  listen() {
    try {
      this.channel = new BroadcastChannel(`pixy-oidc:${this.key}`);
      this.channel.onmessage = (e) => this.onTabMessage(e.data);
    } catch {
      this.channel = null;
    }
    addEventListener("online", this.onOnline);
  }

  post(t, s) {
    this.channel?.postMessage(JSON.stringify(s === undefined ? { t } : { t, s }));
  }

  /** Hands this tab's session to the others: `login` after a login, else `session`. */
  broadcast(kind = "session") {
    const s = this.core("transfer");
    if (s !== null) this.post(kind, s);
  }

  onTabMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg?.t === "hello") this.broadcast();
    else if (msg?.t === "logout") this.endSession("loggedOut");
    else if ((msg?.t === "session" || msg?.t === "login") && typeof msg.s === "string") {
      if (this.waiting?.(msg.s)) return;
      // A logged-out tab takes a session only from a login: a renewal that crossed a logout
      // on its way must not log it back in.
      if (msg.t === "session" && !this.core("isLoggedIn")) return;
      if (this.core("adopt", msg.s, now(), true)) {
        this.adopted();
        this.emit("tokensChanged");
      }
    }
  }

  adopted() {
    this.advertise();
    this.failures = 0;
    this.schedule();
  }

  endSession(event, error) {
    clearTimeout(this.timer);
    this.timer = undefined;
    const had = this.core("endSession");
    this.advertise();
    if (had) this.emit(event, error);
  }

  async loadJwks(noCache) {
    const resp = await this.send(this.core("jwksUrl"), "the JWKS request", { noCache });
    this.core("setJwks", ...resp);
  }

  /**
   * Verifies the incoming ID token's signature with WebCrypto (one JWKS refetch on an unknown
   * `kid`: key rotation), then lets the core validate its claims and install the session.
   */
  async verifyAndInstall(info) {
    const core = this.core;
    let atDigest = new Uint8Array(0);
    if (info.hash) {
      atDigest = await digest(info.hash, info.at);
      if (!core("hasJwks")) await this.loadJwks(false);
      let candidates = core("candidates");
      if (candidates === null) {
        await this.loadJwks(true);
        candidates = core("candidates") ?? core("noKey");
      }
      let ok = false;
      for (const jwk of candidates) {
        if (await verify(jwk, info.alg, info.hash, info.input, info.sig)) {
          ok = true;
          break;
        }
      }
      if (!ok) core("badSignature");
    }
    core("install", b64u(atDigest), await sharedGeneration(this.key));
    // Before the renewal lock is let go: the next holder must see this generation.
    await this.advertise();
  }

  /** The code exchange, with the JWKS fetched in parallel. */
  async completeCode(req) {
    // The token request leaves first, then the JWKS request, in parallel.
    const sent = this.send(req.url, "the token request", { form: req.body });
    const prefetch = this.core("hasJwks") ? undefined : this.loadJwks(false).catch(() => {});
    const resp = await sent;
    const info = this.core("acceptTokens", ...resp, now());
    // A failed prefetch is retried (and reported) by the verification.
    await prefetch;
    await this.verifyAndInstall(info);
  }

  /** Silent restore, in API.md's order: another tab, the hidden iframe, then one redirect. */
  async restore() {
    if (await this.askOtherTabs(TAB_HANDOVER_MS)) {
      this.adopted();
      return;
    }
    const mode = this.settings.restore;
    if (mode === "redirect") await this.silentRedirect();
    else if (mode !== "none") {
      try {
        await this.silentLogin(false);
      } catch (e) {
        if (mode === "auto" && e?.code === "login_required" && !this.core("sameSite", location.origin)) {
          await this.silentRedirect();
        }
      }
    }
  }

  askOtherTabs(waitMs) {
    if (!this.channel) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve(false);
      }, waitMs);
      this.waiting = (text) => {
        if (!this.core("adopt", text, now(), false)) return false;
        clearTimeout(timer);
        this.waiting = null;
        resolve(true);
        return true;
      };
      this.post("hello");
    });
  }

  /**
   * `prompt=none` in a hidden iframe. A `consent_required` answer to a request with
   * `offline_access` is retried once without it, and remembered for this browser session
   * (authentik turns that scope into a consent prompt).
   */
  async silentLogin(renewing) {
    const reduced = getFlag(this.noOfflineFlag);
    try {
      await this.silentLoginWith(reduced, renewing);
    } catch (e) {
      if (reduced || e?.error !== "consent_required" || !this.core("hasOffline")) throw e;
      setFlag(this.noOfflineFlag, true);
      await this.silentLoginWith(true, renewing);
    }
  }

  async silentLoginWith(noOffline, renewing) {
    const core = this.core;
    const a = await this.authorize("iframe", undefined, undefined, noOffline);
    const href = await silentFrame(a.url, this.settings.silent);
    core("readCallback", href, true);
    const req = core("codeRequest", a.pending, now(), location.origin, renewing);
    await this.completeCode(req);
  }

  /** One top-level `prompt=none` redirect per browser session; never a loop. */
  async silentRedirect() {
    if (getFlag(this.redirectFlag)) return;
    try {
      const a = await this.authorize("redirect", undefined, undefined, getFlag(this.noOfflineFlag));
      put(a.key, a.pending);
      setFlag(this.redirectFlag, true);
      navigate(a.url);
    } catch {
      return;
    }
    // The page is leaving: createOidc settles on the way back.
    await never();
  }

  /** Arms the renewal timer; it wakes at least every 30 s to read the wall clock. */
  schedule() {
    clearTimeout(this.timer);
    this.timer = undefined;
    const due = this.started ? this.core("dueAt") : null;
    if (due === null) return;
    this.timer = setTimeout(
      () => (now() >= due ? this.renewInBackground() : this.schedule()),
      Math.min(Math.max(due - now(), 0), MAX_TIMER_MS),
    );
  }

  async renewInBackground() {
    try {
      await this.renew(false);
    } catch (e) {
      if (!transient(e)) {
        // Final errors ended the session already (sessionExpired); anything else is told.
        if (this.core("isLoggedIn")) this.emit("error", e);
        return;
      }
      if (this.core("expiresWithin", now(), 0)) {
        this.endSession("sessionExpired", expired(e));
        return;
      }
      // A passing fault while the token is valid is no news for the user: retry, 2 s to 60 s.
      const n = Math.min(this.failures++, 5);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.renewInBackground(), Math.min(2000 * 2 ** n, 60000));
    }
  }

  /** Tokens, renewed first when the access token expires within the leeway. */
  async tokens(force) {
    const core = this.core;
    if (!core("isLoggedIn")) throw fail("not_logged_in", "no user is logged in");
    if (force || core("expiresWithin", now(), RENEW_LEEWAY_MS)) {
      try {
        await this.renew(force);
      } catch (e) {
        const stillValid = core("isLoggedIn") && !core("expiresWithin", now(), 0);
        if (force || !transient(e) || !stillValid) throw e;
      }
    }
    return core("tokens");
  }

  /**
   * One renewal at a time in this tab (concurrent callers share it) and in all tabs (a Web
   * Lock; a tab that gets the lock after another renewed takes the tokens it was handed).
   */
  renew(force) {
    if (!this.renewing) {
      const p = withLock(`pixy-oidc:renew:${this.key}`, async () => {
        await this.catchUp();
        // Another tab may have renewed while this one waited for the lock.
        if (!force && !this.core("expiresWithin", now(), RENEW_LEEWAY_MS)) return;
        await this.doRenew();
        this.broadcast();
      });
      this.renewing = p;
      p.then(
        () => this.renewing === p && (this.renewing = null),
        () => this.renewing === p && (this.renewing = null),
      );
    }
    return this.renewing;
  }

  /**
   * Under the renewal lock: if another tab renewed after this one got its tokens (the shared
   * generation says so), take the new tokens from the other tabs first. A tab that cannot
   * catch up does not renew: its refresh token was rotated, and sending it again would make
   * the provider revoke the whole grant for every tab.
   */
  async catchUp() {
    const shared = await sharedGeneration(this.key);
    const behind = () => this.core("isLoggedIn") && this.core("generation") < shared;
    if (!behind()) return;
    this.post("hello");
    const deadline = now() + CATCH_UP_MS;
    while (behind() && now() < deadline) await sleep(10);
    if (behind()) {
      throw fail("network_error", "another tab renewed the tokens and has not handed them over yet; retrying later");
    }
  }

  async doRenew() {
    const core = this.core;
    const req = core("refreshRequest");
    if (req === null) {
      // No refresh token: a new code through the hidden iframe, for the same user.
      try {
        await this.silentLogin(true);
      } catch (e) {
        if (transient(e)) throw e;
        this.endSession("sessionExpired", expired(e));
        throw expired(e);
      }
    } else {
      const resp = await this.send(req.url, "the refresh request", { form: req.body });
      let info;
      try {
        info = core("acceptTokens", ...resp, now());
      } catch (e) {
        if (e?.error !== "invalid_grant") throw e;
        this.endSession("sessionExpired", expired(e));
        throw expired(e);
      }
      // invalid_grant, but another tab rotated the refresh token and handed it over.
      if (info.skip) return;
      try {
        await this.verifyAndInstall(info);
      } catch (e) {
        // A refreshed ID token about someone else, or forged: the session ends.
        if (!info.hash) throw e;
        this.endSession("sessionExpired", expired(e));
        throw expired(e);
      }
    }
    this.failures = 0;
    this.schedule();
    this.emit("tokensChanged");
  }

  // The surface index.js wraps.

  get isLoggedIn() {
    return this.core("isLoggedIn");
  }

  claims() {
    return this.core("claims");
  }

  async login(redirectTo, extraJson) {
    const a = await this.authorize("interactive", redirectTo, extraJson, false);
    put(a.key, a.pending);
    navigate(a.url);
  }

  getTokens() {
    return this.tokens(false);
  }

  renewTokens() {
    return this.tokens(true);
  }

  async getUserInfo() {
    const core = this.core;
    core("userinfoRequest");
    await this.tokens(false);
    const r = core("userinfoRequest");
    const resp = await this.send(r.url, "the UserInfo request", { bearer: r.token, noCache: true });
    return core("userinfo", ...resp);
  }

  logout(redirectTo) {
    const target = this.core("logoutUrl", redirectTo, location.origin);
    this.renewing = null;
    this.endSession("loggedOut");
    this.post("logout");
    navigate(target);
  }
}

/**
 * Starts a client: reads the configuration, fetches discovery, and completes a callback if
 * `href` (the page URL as captured before any router ran) is one.
 */
export async function startClient(configJson, href, emit) {
  const t = now();
  const client = new Client(step("new", [configJson, href]), emit);
  const core = client.core;
  sweep(t);
  let state;
  let callbackError;
  try {
    state = core("readCallback", href, false);
  } catch (e) {
    callbackError = e;
  }
  let pending;
  if (state !== null || callbackError) {
    // One use only: the login in flight is deleted, and the response leaves the URL (and
    // the history entry), before anything else can fail.
    if (state) pending = take(state);
    replaceUrl(step("cleanUrl", [href]));
  }
  if (callbackError) throw callbackError;

  try {
    const meta = await client.send(core("discoveryUrl"), "the discovery request");
    core("setMetadata", ...meta);
    client.listen();
    if (state === null) {
      await client.restore();
    } else {
      let req;
      try {
        req = core("codeRequest", pending, t, location.origin, false);
      } catch (e) {
        let mode;
        try {
          mode = JSON.parse(pending).mode;
        } catch {
          // No login in flight.
        }
        // A silent top-level redirect that found no session: logged out, no error, and no
        // second attempt in this browser session.
        if (mode !== "redirect" || e?.code !== "login_required") throw e;
        if (e.error === "consent_required") setFlag(client.noOfflineFlag, true);
      }
      if (req) {
        await client.completeCode(req);
        // A session exists again: a later reload may try one silent redirect.
        setFlag(client.redirectFlag, false);
        replaceUrl(req.to);
        client.broadcast("login");
      }
    }
  } catch (e) {
    client.close();
    throw e;
  }
  client.started = true;
  client.schedule();
  return client;
}
