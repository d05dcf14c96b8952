// pixy-oidc's browser shell: it feeds the session engine (Rust, src/proto/engine) events and
// carries out the actions the engine gives back: fetch, WebCrypto, sessionStorage for the login
// in flight, the hidden iframe, navigation, the other tabs (BroadcastChannel, Web Locks), the
// one timer the engine asks for. It decides nothing: every rule is the engine's.
import { Client as Engine } from "./pixy_oidc.js";
import { checkFrame, describe, digest, frame, generateKey, popup, send, sign, verify } from "./io.js";

/** A `__proto__` member of the provider's JSON must never become an object's prototype. */
const noProto = (k, v) => (k === "__proto__" ? undefined : v);

function storage() {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

function stored() {
  const s = storage();
  const out = [];
  for (let i = 0; s && i < s.length; i++) {
    const k = s.key(i);
    // The engine keeps what is its own (logins in flight, markers, the provider's documents).
    if (k !== null) out.push([k, s.getItem(k) ?? ""]);
  }
  return out;
}

export class Shell {
  /** `onState(claims)` when the session changes, `onEmit(event)` for the app's listeners. */
  constructor(onState, onEmit) {
    this.engine = new Engine();
    this.onState = onState;
    this.onEmit = onEmit;
    this.queue = [];
    this.busy = false;
    this.promises = new Map();
    this.nextCmd = 1;
    this.aborts = new Map();
    this.frames = new Map();
    this.checks = new Map();
    this.popups = new Map();
    this.locks = new Map();
    this.channel = null;
    this.timer = undefined;
    /** The DPoP key pair (CryptoKeys; the private one not extractable), in memory only. */
    this.key = null;
    this.offeredKey = null;
    this.onOnline = () => this.run({ type: "online" });
    this.onVisible = () => document.visibilityState === "visible" && this.run({ type: "visible" });
    // The user's activity, at most one report per `activityEvery` ms (the engine's number).
    this.activityEvery = 0;
    this.activityAt = -Infinity;
    this.onActivity = () => {
      const now = Date.now();
      if (now - this.activityAt < this.activityEvery) return;
      this.activityAt = now;
      this.run({ type: "activity" });
    };
  }

  /** Starts or stops reporting activity: pointer, keys, scroll, focus. */
  watchActivity(every) {
    const on = every > 0;
    if (on === this.activityEvery > 0) return;
    this.activityEvery = every;
    const opts = { capture: true, passive: true };
    for (const type of ["pointerdown", "pointermove", "keydown", "wheel", "scroll", "touchstart", "focus"]) {
      if (on) addEventListener(type, this.onActivity, opts);
      else removeEventListener(type, this.onActivity, opts);
    }
  }

  /** Starts the engine; resolves to `{ restoredVia }` once it knows whether a user is logged in. */
  start(config, href, held) {
    const p = new Promise((resolve, reject) => this.promises.set(0, { resolve, reject }));
    globalThis.performance?.mark?.("pixy:start");
    const secure = globalThis.isSecureContext !== false;
    let embedder;
    if (typeof window !== "undefined" && window.parent !== window) {
      // A frame: who embeds it (a front-channel logout page is embedded by the provider).
      const referrer = () => (document.referrer ? new URL(document.referrer).origin : "");
      embedder = location.ancestorOrigins?.[0] ?? referrer();
    }
    this.run({ type: "start", config: JSON.stringify(config ?? null), href, stored: stored(), secure, held, embedder });
    return p;
  }

  /** A command of the app: its promise settles when the engine says so. */
  command(name, args = {}) {
    if (!this.engine) return Promise.reject({ code: "internal_error", message: "the client was closed" });
    const cmd = this.nextCmd++;
    const p = new Promise((resolve, reject) => this.promises.set(cmd, { resolve, reject }));
    this.run({ type: "command", cmd, name, ...args });
    return p;
  }

  /** Hands events to the engine one at a time, in order, and carries out its actions. */
  run(event) {
    globalThis.performance?.mark?.(`pixy:event:${event.type}`, { detail: event.id ?? null });
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.engine && this.queue.length) {
        const out = this.engine.handle(Date.now(), JSON.stringify(this.queue.shift()));
        // A malformed event is a bug in this file: loud, never a default.
        if (out[0] === "!") throw Object.assign(new Error("pixy-oidc: engine refused an event"), JSON.parse(out.slice(1)));
        const { actions, wake } = JSON.parse(out, noProto);
        for (const a of actions) this.perform(a);
        clearTimeout(this.timer);
        this.timer = wake === null ? undefined : setTimeout(() => this.run({ type: "timer" }), Math.max(0, wake - Date.now()));
      }
    } finally {
      this.busy = false;
      // close() called by a listener while this ran: the engine had the event; now let go.
      if (this.closing) this.teardown();
    }
  }

  /** Runs the event a promise resolves to. */
  later(promise) {
    promise.then((event) => this.engine && this.run(event));
  }

  perform(a) {
    globalThis.performance?.mark?.(`pixy:do:${a.do}`, { detail: a.id ?? null });
    const s = storage();
    switch (a.do) {
      case "listen":
        try {
          this.channel = new BroadcastChannel(a.channel);
          this.channel.onmessage = (e) => {
            const d = e.data;
            if (typeof d === "string") this.run({ type: "tab", msg: d });
            else if (typeof d?.msg === "string") {
              // A session's DPoP key, in memory (structured clone); taken if the engine says so.
              this.offeredKey = d.key ?? null;
              this.run({ type: "tab", msg: d.msg });
            }
          };
        } catch {
          this.channel = null;
        }
        addEventListener("online", this.onOnline);
        document.addEventListener("visibilitychange", this.onVisible);
        break;
      case "fetch": {
        globalThis.performance?.mark?.(`pixy:fetch:${a.form ? "token" : a.authorization ? "userinfo" : a.url.includes("/.well-known/") ? "discovery" : "jwks"}`, { detail: a.id });
        const c = new AbortController();
        this.aborts.set(a.id, c);
        this.later(send(a, c.signal).finally(() => this.aborts.delete(a.id)));
        break;
      }
      case "abort":
        this.aborts.get(a.id)?.abort();
        this.aborts.delete(a.id);
        break;
      case "digest":
        this.later(digest(a));
        break;
      case "verify":
        this.later(verify(a));
        break;
      case "store":
        try {
          s.setItem(a.key, a.value);
          if (a.id !== undefined) this.queue.push({ type: "stored", id: a.id });
        } catch (e) {
          if (a.id !== undefined) this.queue.push({ type: "failed", id: a.id, reason: "storage", detail: describe(e) });
        }
        break;
      case "remove":
        try {
          s?.removeItem(a.key);
        } catch {
          // Nothing to remove.
        }
        break;
      case "frame":
        this.frames.set(
          a.id,
          frame(a.url, (href) => this.run(href === undefined ? { type: "frameLoaded", id: a.id } : { type: "frame", id: a.id, href })),
        );
        break;
      case "closeFrame":
        this.frames.get(a.id)?.();
        this.frames.delete(a.id);
        this.checks.delete(a.id);
        break;
      case "popup": {
        const p = popup((href) => this.run({ type: "popup", id: a.id, href }));
        if (p) this.popups.set(a.id, p);
        else this.queue.push({ type: "failed", id: a.id, reason: "blocked", detail: "window.open returned null" });
        break;
      }
      case "popupGo":
        this.popups.get(a.id)?.go(a.url);
        break;
      case "checkPopup":
        if (this.popups.get(a.id)?.closed() ?? true) this.queue.push({ type: "popupClosed", id: a.id });
        break;
      case "closePopup":
        this.popups.get(a.id)?.close();
        this.popups.delete(a.id);
        break;
      case "watchActivity":
        this.watchActivity(a.every);
        break;
      case "checkFrame": {
        const [post, close] = checkFrame(a.url, (status) =>
          this.run(status === undefined ? { type: "frameLoaded", id: a.id } : { type: "check", id: a.id, status }),
        );
        this.checks.set(a.id, post);
        this.frames.set(a.id, close);
        break;
      }
      case "checkPost":
        this.checks.get(a.id)?.(a.msg, a.origin);
        break;
      case "navigate":
        try {
          location.assign(a.url);
        } catch {
          // The page stays; nothing else in this batch depends on it.
        }
        break;
      case "replaceUrl":
        try {
          history.replaceState(history.state, "", a.url);
        } catch {
          // The URL stays; nothing else depends on it.
        }
        break;
      case "post":
        this.channel?.postMessage(a.key ? { msg: a.msg, key: this.key } : a.msg);
        break;
      case "generateKey":
        this.keygen = a.id;
        this.later(
          generateKey(a).then(([pair, event]) => {
            // Only the pair the engine still waits for: a key taken from another tab (or a
            // session that ended) meanwhile stays.
            if (pair && this.keygen === a.id) this.key = pair;
            return event;
          }),
        );
        break;
      case "sign":
        this.later(sign(a, this.key));
        break;
      case "dropKey":
        this.key = null;
        this.keygen = null;
        break;
      case "takeKey":
        this.key = this.offeredKey;
        this.keygen = null;
        break;
      case "lock": {
        const c = new AbortController();
        let release = () => {};
        const held = new Promise((r) => (release = r));
        this.locks.set(a.id, () => (c.abort(), release()));
        // ifAvailable cannot go with an abort signal: such a request is answered at once.
        const options = a.ifAvailable ? { ifAvailable: true } : { mode: a.shared ? "shared" : "exclusive", signal: c.signal };
        try {
          navigator.locks
            .request(a.name, options, (lock) => {
              if (lock === null) {
                this.run({ type: "failed", id: a.id, reason: "blocked", detail: "held by another tab" });
                return undefined;
              }
              this.run({ type: "lockGranted", id: a.id });
              return held;
            })
            .catch(() => {
              // Refused (not our abort): as without Web Locks, this tab alone decides.
              if (!c.signal.aborted) this.run({ type: "lockGranted", id: a.id });
            });
        } catch {
          // No Web Locks: this tab alone decides.
          this.queue.push({ type: "lockGranted", id: a.id });
        }
        break;
      }
      case "unlock":
        this.locks.get(a.id)?.();
        this.locks.delete(a.id);
        break;
      case "queryLocks": {
        // null: this browser cannot tell (no Web Locks, or the query failed).
        const names = (q) => (q?.held ?? []).map((l) => l.name).filter((n) => n?.startsWith(a.prefix));
        let q;
        try {
          q = navigator.locks.query().then(names, () => null);
        } catch {
          q = Promise.resolve(null);
        }
        this.later(q.then((list) => ({ type: "locks", id: a.id, names: list })));
        break;
      }
      case "state":
        this.onState(a.claims);
        break;
      case "emit":
        this.onEmit(a);
        break;
      case "resolve":
      case "reject": {
        const p = this.promises.get(a.cmd);
        this.promises.delete(a.cmd);
        if (a.do === "resolve") p?.resolve(a.value);
        else p?.reject(a.error);
        break;
      }
      case "debug":
        console.info(`[pixy-oidc] ${a.msg}`);
        break;
      case "console":
        console.error(`[pixy-oidc] ${a.msg}`);
        break;
      default:
        throw new Error(`pixy-oidc: unknown action ${a.do}`);
    }
  }

  /** Lets go of everything: the engine's state, timers, listeners, the channel, locks, frames. */
  close() {
    if (!this.engine || this.closing) return;
    this.closing = true;
    this.run({ type: "close" });
    if (!this.busy) this.teardown();
  }

  teardown() {
    if (!this.engine) return;
    clearTimeout(this.timer);
    this.channel?.close();
    removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onVisible);
    for (const c of this.aborts.values()) c.abort();
    for (const close of this.frames.values()) close();
    for (const p of this.popups.values()) p.close();
    this.watchActivity(0);
    for (const unlock of this.locks.values()) unlock();
    this.engine.free();
    this.engine = null;
    this.key = null;
    this.run = () => {};
  }
}
