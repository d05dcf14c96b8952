// The browser I/O that the shell (client.js) performs for the session engine: fetch, WebCrypto,
// the hidden iframe. Plain functions with no state, so the wasm browser tests
// (src/browser/tests.rs) drive them directly. Every number they use comes in the action.

/** The hidden iframe's and the login popup's names, and the messages their pages post. */
export const FRAME_NAME = "pixy-oidc-silent";
export const MESSAGE_PREFIX = "pixy-oidc:silent:";
export const POPUP_NAME = "pixy-oidc-popup";
export const POPUP_PREFIX = "pixy-oidc:popup:";

/**
 * Inside the hidden iframe or the login popup, the page hands the provider's answer to the page
 * that opened it (only to that page's origin, which is this one). True when this page is one.
 */
export function answerParent() {
  if (typeof window === "undefined") return false;
  const to =
    window.name === FRAME_NAME && window.parent !== window
      ? [window.parent, MESSAGE_PREFIX]
      : window.name === POPUP_NAME && window.opener && window.opener !== window
        ? [window.opener, POPUP_PREFIX]
        : null;
  if (!to) return false;
  try {
    to[0].postMessage(to[1] + location.href, location.origin);
  } catch {
    // An opener on another origin: nothing to tell.
  }
  return true;
}

/**
 * The login popup, opened blank (now, while the click counts) and sent to the provider later:
 * `report` gets the URL its page posts back (only this window's page, on this origin). `null`
 * when the browser refuses to open it.
 */
export function popup(report) {
  const w = 480;
  const h = 640;
  const left = Math.max(0, (globalThis.screenX ?? 0) + ((globalThis.outerWidth ?? w) - w) / 2);
  const top = Math.max(0, (globalThis.screenY ?? 0) + ((globalThis.outerHeight ?? h) - h) / 2);
  let win = null;
  try {
    win = window.open("about:blank", POPUP_NAME, `popup=yes,width=${w},height=${h},left=${left},top=${top}`);
  } catch {
    // Refused.
  }
  if (!win) return null;
  const onMessage = (e) => {
    if (e.source !== win || e.origin !== location.origin) return;
    if (typeof e.data === "string" && e.data.startsWith(POPUP_PREFIX)) report(e.data.slice(POPUP_PREFIX.length));
  };
  addEventListener("message", onMessage);
  return {
    go(url) {
      try {
        win.location.href = url;
      } catch {
        // The window went elsewhere meanwhile; the engine sees it closed or silent.
      }
    },
    closed: () => win.closed,
    close() {
      removeEventListener("message", onMessage);
      try {
        win.close();
      } catch {
        // Gone already.
      }
    },
  };
}

/** A hidden iframe element loading `url`, styled through CSSOM (a strict `style-src` allows it). */
function hidden(url, name) {
  const el = document.createElement("iframe");
  if (name) el.name = name;
  el.setAttribute("aria-hidden", "true");
  el.tabIndex = -1;
  Object.assign(el.style, { position: "absolute", width: "0", height: "0", border: "0", visibility: "hidden" });
  el.src = url;
  return el;
}

/**
 * The provider's check-session page in a hidden iframe: `report(undefined)` once loaded, then
 * `report(status)` with each answer it posts (only that frame's, from the provider's origin).
 * Returns `[post(msg, origin), remove()]`.
 */
export function checkFrame(url, report) {
  const el = hidden(url);
  const origin = new URL(url).origin;
  const onMessage = (e) => {
    if (e.source === el.contentWindow && e.origin === origin && typeof e.data === "string") report(e.data);
  };
  addEventListener("message", onMessage);
  el.addEventListener("load", () => report(undefined));
  (document.body ?? document.documentElement).appendChild(el);
  return [
    (msg, to) => el.contentWindow?.postMessage(msg, to),
    () => {
      removeEventListener("message", onMessage);
      el.remove();
    },
  ];
}

export const describe = (e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
export const utf8 = (s) => new TextEncoder().encode(s);
export const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
const unb64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/**
 * A fetch action: `credentials: "omit"` (Okta answers some endpoints with `ACAO: *`), the
 * access token and a DPoP proof in headers, at most `a.max` bytes of body, counted as read
 * (a chunked or compressed body has no trustworthy Content-Length). Resolves to the event.
 */
export async function send(a, signal) {
  const headers = { Accept: "application/json" };
  if (a.form !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  if (a.authorization !== undefined) headers.Authorization = a.authorization;
  if (a.dpop !== undefined) headers.DPoP = a.dpop;
  const failed = (reason, e) => ({ type: "failed", id: a.id, reason, detail: describe(e) });
  let resp;
  try {
    resp = await fetch(a.url, {
      method: a.form === undefined ? "GET" : "POST",
      headers,
      body: a.form,
      credentials: "omit",
      mode: "cors",
      cache: a.noCache ? "no-store" : "default",
      signal,
    });
  } catch (e) {
    return failed("network", e);
  }
  const chunks = [];
  let size = 0;
  try {
    const reader = resp.body?.getReader();
    for (;;) {
      const r = reader ? await reader.read() : { done: true };
      if (r.done) break;
      size += r.value.length;
      if (size > a.max) {
        reader.cancel().catch(() => {});
        return failed("tooLarge", `more than ${a.max} bytes`);
      }
      chunks.push(r.value);
    }
  } catch (e) {
    return failed("network", e);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return {
    type: "response",
    id: a.id,
    status: resp.status,
    contentType: resp.headers.get("content-type") ?? undefined,
    retryAfter: resp.headers.get("retry-after") ?? undefined,
    dpopNonce: resp.headers.get("dpop-nonce") ?? undefined,
    wwwAuthenticate: resp.headers.get("www-authenticate") ?? undefined,
    body: new TextDecoder().decode(body),
  };
}

/** The DPoP key pair: P-256, the private key not extractable (it never leaves WebCrypto). */
export async function generateKey(a) {
  try {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const { x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return [pair, { type: "key", id: a.id, x, y }];
  } catch (e) {
    return [null, { type: "failed", id: a.id, reason: "crypto", detail: `crypto.subtle.generateKey: ${describe(e)}` }];
  }
}

/** A sign action with the DPoP key: the JWS ES256 signature (r and s). */
export async function sign(a, pair) {
  try {
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, utf8(a.input));
    return { type: "signed", id: a.id, sig: b64u(new Uint8Array(sig)) };
  } catch (e) {
    return { type: "failed", id: a.id, reason: "crypto", detail: `crypto.subtle.sign: ${describe(e)}` };
  }
}

/** A digest action: resolves to the event. */
export async function digest(a) {
  try {
    const d = await crypto.subtle.digest(a.hash, utf8(a.text));
    return { type: "digest", id: a.id, bytes: b64u(new Uint8Array(d)) };
  } catch (e) {
    return { type: "failed", id: a.id, reason: "crypto", detail: `crypto.subtle.digest: ${describe(e)}` };
  }
}

/** WebCrypto's import and verify parameters for a JWS `alg` (RFC 7518 §3). */
function params(alg, hash) {
  switch (alg.slice(0, 2)) {
    case "RS":
      return [{ name: "RSASSA-PKCS1-v1_5", hash }, { name: "RSASSA-PKCS1-v1_5" }];
    case "PS":
      // RFC 7518 §3.5: the salt is as long as the hash.
      return [{ name: "RSA-PSS", hash }, { name: "RSA-PSS", saltLength: hash.slice(4) / 8 }];
    case "ES":
      return [{ name: "ECDSA", namedCurve: alg === "ES512" ? "P-521" : `P-${alg.slice(2)}` }, { name: "ECDSA", hash }];
    default:
      return [{ name: "Ed25519" }, { name: "Ed25519" }];
  }
}

/**
 * A verify action: whether any of its keys verifies the signature. A key WebCrypto cannot
 * import counts as not verifying (it cannot have made the signature).
 */
export async function verify(a) {
  if (!globalThis.crypto?.subtle) {
    return { type: "failed", id: a.id, reason: "crypto", detail: "crypto.subtle is missing (not a secure context)" };
  }
  const [importParams, verifyParams] = params(a.alg, a.hash);
  for (const jwk of a.keys) {
    try {
      const key = await crypto.subtle.importKey("jwk", { ...jwk, ext: true }, importParams, false, ["verify"]);
      if (await crypto.subtle.verify(verifyParams, key, unb64u(a.sig), utf8(a.input))) {
        return { type: "verified", id: a.id, ok: true };
      }
    } catch {
      // Not this key.
    }
  }
  return { type: "verified", id: a.id, ok: false };
}

/**
 * A hidden iframe loading `url`: `report` gets the URL its page posts back (only this frame's
 * page, on this origin, with the expected message) and each load. Returns a function that
 * removes it. Styled through CSSOM, so a strict `style-src` does not block it.
 */
export function frame(url, report) {
  const el = hidden(url, FRAME_NAME);
  const onMessage = (e) => {
    if (e.source !== el.contentWindow || e.origin !== location.origin) return;
    if (typeof e.data === "string" && e.data.startsWith(MESSAGE_PREFIX)) report(e.data.slice(MESSAGE_PREFIX.length));
  };
  addEventListener("message", onMessage);
  el.addEventListener("load", () => report(undefined));
  (document.body ?? document.documentElement).appendChild(el);
  return () => {
    removeEventListener("message", onMessage);
    el.remove();
  };
}
