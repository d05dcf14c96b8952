// pixy-oidc: the public JavaScript API. The session engine runs in Rust/wasm; this file loads
// the module, keeps the snapshot (isLoggedIn, claims) that UI bindings read, and turns errors
// into OidcError instances.
import initModule from "./pixy_oidc.js";
import { Shell } from "./client.js";
import { OidcError } from "./errors.js";
import { configKey } from "./config-key.js";

export { OidcError };

// The page URL as it was when the library loaded: a callback is captured before an app's
// router can rewrite it.
let bootHref = typeof location !== "undefined" ? location.href : undefined;
globalThis.performance?.mark?.("pixy:module");

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
  /** How `createOidc` found the session: "callback", "otherTab", "iframe", "redirect" or null. */
  restoredVia = null;

  /** @internal */
  constructor(shell) {
    this.#shell = shell;
  }

  /** @internal The engine's snapshot changed. */
  _state(claims) {
    this.#claims = claims === null ? null : Object.freeze(claims);
  }

  /** @internal */
  _emit(a) {
    const event = { type: a.type };
    if (a.reason !== undefined) event.reason = a.reason;
    if (a.error !== undefined) event.error = toOidcError(a.error);
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (e) {
        (globalThis.reportError ?? ((x) => setTimeout(() => { throw x; })))(e);
      }
    }
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

  login({ redirectTo, extraAuthParams } = {}) {
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

  renewTokens() {
    return this.#call("renewTokens");
  }

  getUserInfo() {
    return this.#call("getUserInfo");
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

const instances = new Map();

function forget(oidc) {
  for (const [k, v] of instances) if (v.oidc === oidc) instances.delete(k);
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
      const { restoredVia } = await shell.start(config, href);
      oidc.restoredVia = restoredVia;
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
  return entry.promise;
}
