// pixy-oidc: the public JavaScript API. The session engine runs in Rust/wasm; this file loads
// the module, keeps the snapshot (isLoggedIn, claims) that UI bindings read, and turns errors
// into OidcError instances.
import initModule from "./pixy_oidc.js";
import { Shell } from "./client.js";
import { answerParent } from "./io.js";
import { OidcError } from "./errors.js";
import { configKey } from "./config-key.js";

export { OidcError };

// The page URL as it was when the library loaded: a callback is captured before an app's
// router can rewrite it.
let bootHref = typeof location !== "undefined" ? location.href : undefined;
globalThis.performance?.mark?.("pixy:module");

// Inside the hidden silent-authentication iframe, the page hands the provider's answer to its
// parent before anything else, and the library does nothing more here.
const inSilentFrame = answerParent();


function toOidcError(e) {
  if (e instanceof OidcError) return e;
  if (e && typeof e === "object" && typeof e.code === "string" && typeof e.message === "string") {
    return new OidcError(e.code, e.message, e);
  }
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new OidcError("internal_error", `pixy-oidc failed unexpectedly: ${what}`);
}

let wasmReady;
/**
 * Loads the wasm module. Called by createOidc; call it first only to say where the `.wasm` is
 * (a URL, a Response, bytes or a WebAssembly.Module).
 */
export function initWasm(input) {
  if (!wasmReady) {
    wasmReady = initModule(input === undefined ? undefined : { module_or_path: input }).catch((e) => {
      wasmReady = undefined;
      throw new OidcError("wasm_load_failed", `could not load pixy-oidc's wasm module: ${e?.message ?? e}`);
    });
  }
  return wasmReady;
}

const never = () => new Promise(() => {});

function call(listener, event) {
  try {
    listener(event);
  } catch (e) {
    (globalThis.reportError ?? ((x) => setTimeout(() => { throw x; })))(e);
  }
}

/** `redirectTo` as the engine takes it: a string (a URL object is read as its text). */
function target(redirectTo) {
  if (redirectTo === undefined || typeof redirectTo === "string") return redirectTo;
  if (typeof URL !== "undefined" && redirectTo instanceof URL) return redirectTo.href;
  throw new OidcError("invalid_redirect_to", "redirectTo must be a string: a path or a URL on this origin");
}

class Oidc {
  #shell;
  #listeners = new Set();
  #claims = null;
  /**
   * Events of the start (before createOidc resolved), for the listeners that subscribe right
   * after: every one that subscribes in the task in which createOidc resolved, and otherwise
   * the first one to subscribe later. `null` once handed over.
   */
  #early = [];
  #startTask = true;
  /** How `createOidc` found the session: "callback", "otherTab", "iframe", "redirect" or null. */
  restoredVia = null;

  /** @internal */
  constructor(shell) {
    this.#shell = shell;
    // Handed around unbound (ky's `fetch` option, openapi-fetch): they keep their instance.
    this.fetch = this.fetch.bind(this);
    this.createDPoPProof = this.createDPoPProof.bind(this);
  }

  /** @internal The engine's snapshot changed. */
  _state(claims) {
    this.#claims = claims === null ? null : Object.freeze(claims);
  }

  /** @internal createOidc resolved: the start's events go to whoever subscribes in this task. */
  _started() {
    setTimeout(() => {
      this.#startTask = false;
      if (this.#early?.length === 0 || this.#listeners.size) this.#early = null;
    });
  }

  /** @internal */
  _emit(a) {
    const event = { type: a.type };
    if (a.reason !== undefined) event.reason = a.reason;
    if (a.msLeft !== undefined) event.msLeft = a.msLeft;
    if (a.error !== undefined) event.error = toOidcError(a.error);
    if (this.#early && this.#early.length < 20) this.#early.push(event);
    for (const listener of [...this.#listeners]) call(listener, event);
  }

  #call(name, args) {
    return this.#shell.command(name, args).catch((e) => Promise.reject(toOidcError(e)));
  }

  get isLoggedIn() {
    return this.#claims !== null;
  }

  get claims() {
    return this.#claims;
  }

  login({ redirectTo, extraAuthParams, popup } = {}) {
    if (popup === true) {
      // Synchronous up to window.open, so that the click that called it still counts.
      try {
        return this.#call("login", {
          popup: true,
          extraAuthParams: extraAuthParams ? JSON.stringify(extraAuthParams) : undefined,
        }).then(() => undefined);
      } catch (e) {
        return Promise.reject(toOidcError(e));
      }
    }
    return (async () =>
      this.#call("login", {
        redirectTo: target(redirectTo),
        extraAuthParams: extraAuthParams ? JSON.stringify(extraAuthParams) : undefined,
        href: location.href,
      }))().then(never, (e) => Promise.reject(toOidcError(e)));
  }

  getTokens() {
    return this.#call("getTokens");
  }

  /** Counts as the user's activity for the idle logout (a video playing, say). */
  reportActivity() {
    this.#shell.command("activity").catch(() => {});
  }

  renewTokens() {
    return this.#call("renewTokens");
  }

  getUserInfo() {
    return this.#call("getUserInfo");
  }

  /**
   * `fetch` with the access token (`DPoP` and a fresh proof, or `Bearer`), renewed first when
   * due; sent once more when the engine says so (a resource server's DPoP nonce, or a token
   * another tab renewed meanwhile).
   */
  async fetch(input, init) {
    const request = new Request(input, init);
    const at = { method: request.method, url: request.url };
    let headers = await this.#call("fetchHeaders", at);
    for (let attempt = 0; ; attempt++) {
      const r = request.clone();
      r.headers.set("Authorization", headers.authorization);
      if (headers.dpop) r.headers.set("DPoP", headers.dpop);
      const response = await fetch(r);
      const next = await this.#call("fetchAnswer", {
        ...at,
        authorization: headers.authorization,
        status: response.status,
        wwwAuthenticate: response.headers.get("www-authenticate") ?? undefined,
        dpopNonce: response.headers.get("dpop-nonce") ?? undefined,
        attempt,
      });
      if (!next) return response;
      headers = next;
    }
  }

  /** A DPoP proof for `method` `url` with the current access token, for the app's own client. */
  createDPoPProof({ method, url } = {}) {
    return this.#call("createProof", {
      method: String(method ?? "GET").toUpperCase(),
      url: new URL(String(url), location.href).href,
    });
  }

  logout({ redirectTo } = {}) {
    let p;
    try {
      p = this.#call("logout", { redirectTo: target(redirectTo) });
    } catch (e) {
      return Promise.reject(toOidcError(e));
    }
    return p.then(never);
  }

  subscribe(listener) {
    if (typeof listener !== "function") throw new TypeError("subscribe expects a function");
    this.#listeners.add(listener);
    const early = this.#early;
    if (!this.#startTask) this.#early = null;
    if (early?.length) {
      // Delivered after subscribe() returns, in order, unless unsubscribed meanwhile.
      queueMicrotask(() => {
        for (const event of early) if (this.#listeners.has(listener)) call(listener, event);
      });
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  close() {
    this.#shell.close();
    this.#claims = null;
    this.#listeners.clear();
    forget(this);
  }
}

/** The names of the Web Locks held in this origin, or `undefined` where there are none. */
function heldLocks() {
  try {
    return navigator.locks.query().then(
      (q) => (q.held ?? []).map((l) => l.name),
      () => undefined,
    );
  } catch {
    return Promise.resolve(undefined);
  }
}

const instances = new Map();

function forget(oidc) {
  for (const [k, v] of instances) if (v.oidc === oidc) instances.delete(k);
}

/**
 * Holds this page's load event until `done` settles, when the page is in a frame, not loaded
 * yet, and configured for front-channel logout: the provider's logout page waits for its
 * frames' load events and may then navigate away, which would cut the page off while the
 * engine (loading asynchronously) tells the other tabs. A child document opened and not yet
 * closed keeps the page loading. At most 10 s. Whether this page is the front-channel page is
 * the engine's to decide; this only gives it the time.
 */
function holdLoad(config, done) {
  try {
    if (window.parent === window || document.readyState === "complete" || !config?.frontChannelLogoutUri) return;
    const frame = document.createElement("iframe");
    frame.style.display = "none"; // CSSOM: allowed under a style-src policy
    let timer;
    const release = () => {
      clearTimeout(timer);
      try {
        frame.contentDocument?.close();
      } finally {
        frame.remove();
      }
    };
    try {
      (document.body ?? document.documentElement).append(frame);
      frame.contentDocument.open();
    } catch {
      return release();
    }
    timer = setTimeout(release, 10_000);
    done.then(release, release);
  } catch {
    // Only a head start: the start goes on without it.
  }
}

/**
 * Creates the client, or returns the one already created with the same config (React
 * StrictMode calls twice): a callback is processed once, never twice.
 */
export function createOidc(config) {
  let key;
  try {
    key = configKey(config ?? null);
  } catch {
    return Promise.reject(new OidcError("invalid_config", "createOidc expects a plain configuration object"));
  }
  const existing = instances.get(key);
  if (existing) return existing.promise;
  if (inSilentFrame) return never();
  const href = bootHref ?? (typeof location !== "undefined" ? location.href : "");
  bootHref = undefined;
  const entry = { oidc: null, promise: null };
  entry.promise = (async () => {
    if (typeof window === "undefined") {
      throw new OidcError("invalid_config", "createOidc runs in a browser page");
    }
    // Which Web Locks the app's tabs hold, asked while the wasm loads (a fact for the engine).
    const held = heldLocks();
    globalThis.performance?.mark?.("pixy:wasm:start");
    await initWasm();
    globalThis.performance?.mark?.("pixy:wasm:ready");
    let oidc;
    const shell = new Shell(
      (claims) => oidc._state(claims),
      (event) => oidc._emit(event),
    );
    oidc = new Oidc(shell);
    entry.oidc = oidc;
    try {
      const { restoredVia } = await shell.start(config, href, await held);
      oidc.restoredVia = restoredVia;
      oidc._started();
      globalThis.performance?.mark?.("pixy:ready");
    } catch (e) {
      shell.close();
      throw e;
    }
    return oidc;
  })().catch((e) => {
    instances.delete(key);
    throw toOidcError(e);
  });
  instances.set(key, entry);
  holdLoad(config, entry.promise);
  return entry.promise;
}
