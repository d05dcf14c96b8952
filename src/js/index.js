// pixy-oidc: the public JavaScript API (see API.md). The protocol runs in Rust/wasm; this file
// loads the module, keeps the snapshot (isLoggedIn, claims) that UI bindings read, and turns
// errors into OidcError instances.
import initModule from "./pixy_oidc.js";
import { startClient } from "./client.js";
import { OidcError } from "./errors.js";
import { configKey } from "./config-key.js";

export { OidcError };

// The page URL as it was when the library loaded: a callback is captured before an app's
// router can rewrite it.
let bootHref = typeof location !== "undefined" ? location.href : undefined;

// Inside the hidden silent-authentication iframe, the page hands the provider's answer to its
// parent before anything else, and the library does nothing more here.
const inSilentFrame =
  typeof window !== "undefined" && window.parent !== window && window.name === "pixy-oidc-silent";
if (inSilentFrame) {
  try {
    window.parent.postMessage(`pixy-oidc:silent:${location.href}`, location.origin);
  } catch {
    // A parent on another origin: nothing to tell.
  }
}


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

/** `redirectTo` as the core takes it: a string (a URL object is read as its text). */
function target(redirectTo) {
  if (redirectTo === undefined || typeof redirectTo === "string") return redirectTo;
  if (typeof URL !== "undefined" && redirectTo instanceof URL) return redirectTo.href;
  throw new OidcError("invalid_redirect_to", "redirectTo must be a string: a path or a URL on this origin");
}

class Oidc {
  #client = null;
  #listeners = new Set();
  #isLoggedIn = false;
  #claims = null;

  /** @internal */
  _attach(client) {
    this.#client = client;
    this._refresh();
  }

  /** @internal Re-reads the snapshot from the core. */
  _refresh() {
    const c = this.#client;
    this.#isLoggedIn = c ? c.isLoggedIn : false;
    const claims = c ? c.claims() : null;
    this.#claims = claims === null ? null : Object.freeze(claims);
  }

  /** @internal */
  _emit(type, error) {
    this._refresh();
    const event = error === undefined ? { type } : { type, error: toOidcError(error) };
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (e) {
        (globalThis.reportError ?? ((x) => setTimeout(() => { throw x; })))(e);
      }
    }
  }

  get isLoggedIn() {
    return this.#isLoggedIn;
  }

  get claims() {
    return this.#claims;
  }

  login({ redirectTo, extraAuthParams } = {}) {
    return (async () => this.#client.login(target(redirectTo), extraAuthParams ? JSON.stringify(extraAuthParams) : undefined))().then(
      never,
      (e) => Promise.reject(toOidcError(e)),
    );
  }

  getTokens() {
    return this.#client.getTokens().catch((e) => Promise.reject(toOidcError(e)));
  }

  renewTokens() {
    return this.#client.renewTokens().catch((e) => Promise.reject(toOidcError(e)));
  }

  getUserInfo() {
    return this.#client.getUserInfo().catch((e) => Promise.reject(toOidcError(e)));
  }

  logout({ redirectTo } = {}) {
    try {
      this.#client.logout(target(redirectTo));
    } catch (e) {
      return Promise.reject(toOidcError(e));
    }
    return never();
  }

  subscribe(listener) {
    if (typeof listener !== "function") throw new TypeError("subscribe expects a function");
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

const instances = new Map();

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
  if (existing) return existing;
  if (inSilentFrame) return never();
  const href = bootHref ?? (typeof location !== "undefined" ? location.href : "");
  bootHref = undefined;
  const oidc = new Oidc();
  const created = (async () => {
    if (typeof window === "undefined") {
      throw new OidcError("invalid_config", "createOidc runs in a browser page");
    }
    await initWasm();
    const client = await startClient(
      JSON.stringify(config ?? null),
      href,
      (type, error) => oidc._emit(type, error),
    );
    oidc._attach(client);
    return oidc;
  })().catch((e) => {
    instances.delete(key);
    throw toOidcError(e);
  });
  instances.set(key, created);
  return created;
}
