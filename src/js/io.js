// The browser I/O that pixy-oidc's shell (client.js) performs for the protocol core: fetch,
// WebCrypto, the login in flight in sessionStorage, the hidden iframe. Plain functions with no
// state and no imports, so the wasm browser tests (src/browser/tests.rs) drive them directly.

/** No OIDC document needs a megabyte. */
const MAX_BODY_BYTES = 1024 * 1024;
/** The hidden iframe's name and the message its page posts (see index.js). */
const FRAME_NAME = "pixy-oidc-silent";
const MESSAGE_PREFIX = "pixy-oidc:silent:";
/** sessionStorage keys of logins in flight (proto::authorize::STORAGE_PREFIX). */
export const LOGIN_PREFIX = "pixy-oidc:login:";

export const fail = (code, message) => ({ code, message });
export const describe = (e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
/** Whether a renewal error is passing (retry, keep the session) or final. */

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return "the provider";
  }
}

/**
 * fetch, with `credentials: "omit"` (Okta answers some endpoints with `ACAO: *`), a timeout
 * and a size cap. Resolves to the arguments the core's response steps take.
 */
export async function send(url, what, timeoutMs, { form, bearer, noCache } = {}) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, Math.min(Math.max(timeoutMs, 0), 600000));
  const headers = { Accept: "application/json" };
  if (form !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  // RFC 6750 §2.1: in the header, never in the URL.
  if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
  const late = () => fail("timeout", `${what} to ${originOf(url)} took longer than ${timeoutMs} ms`);
  try {
    let resp;
    try {
      resp = await fetch(url, {
        method: form === undefined ? "GET" : "POST",
        headers,
        body: form,
        credentials: "omit",
        mode: "cors",
        cache: noCache ? "no-store" : "default",
        signal: controller.signal,
      });
    } catch (e) {
      throw timedOut
        ? late()
        : fail(
            "network_error",
            `${what} to ${originOf(url)} failed before any HTTP answer (offline, or refused by CORS?): ${describe(e)}`,
          );
    }
    if (Number(resp.headers.get("content-length")) > MAX_BODY_BYTES) {
      throw fail("invalid_response", `${what}: the response is larger than the ${MAX_BODY_BYTES} bytes accepted`);
    }
    let body;
    try {
      body = await resp.text();
    } catch (e) {
      throw timedOut ? late() : fail("network_error", `${what}: ${describe(e)}`);
    }
    return [resp.status, resp.headers.get("content-type") ?? undefined, body];
  } finally {
    clearTimeout(timer);
  }
}

export function randomBytes() {
  try {
    return crypto.getRandomValues(new Uint8Array(96));
  } catch (e) {
    throw fail("crypto_error", `crypto.getRandomValues: ${describe(e)}`);
  }
}

export const utf8 = (s) => new TextEncoder().encode(s);
export const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
const unb64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** The WebCrypto digest of a string. */
export async function digest(hash, text) {
  try {
    return new Uint8Array(await crypto.subtle.digest(hash, utf8(text)));
  } catch (e) {
    throw fail("crypto_error", `crypto.subtle.digest: ${describe(e)}`);
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
 * Whether `sig` (base64url) over `input` verifies with the JWK under `alg`. A key WebCrypto
 * cannot import counts as not verifying (it cannot have made the signature).
 */
export async function verify(jwk, alg, hash, input, sig) {
  if (!globalThis.crypto?.subtle) {
    throw fail("crypto_error", "WebCrypto is unavailable (crypto.subtle needs a secure context)");
  }
  const [importParams, verifyParams] = params(alg, hash);
  try {
    const key = await crypto.subtle.importKey("jwk", { ...jwk, ext: true }, importParams, false, ["verify"]);
    return await crypto.subtle.verify(verifyParams, key, unb64u(sig), utf8(input));
  } catch {
    return false;
  }
}

export function session() {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

/** Leaves the page for `url`. */
export function navigate(url) {
  try {
    location.assign(url);
  } catch (e) {
    throw fail("invalid_config", `navigating: ${describe(e)}`);
  }
}

export function put(key, json) {
  try {
    sessionStorage.setItem(key, json);
  } catch (e) {
    throw fail("storage_error", `storing the login in flight: ${describe(e)}`);
  }
}

/** Takes the login in flight for `state` out of sessionStorage: one use only. */
export function take(state) {
  const s = session();
  const key = LOGIN_PREFIX + state;
  const text = s?.getItem(key);
  s?.removeItem(key);
  return text ?? undefined;
}

/** `prompt=none` in a hidden iframe: resolves to the URL its page reported. */
export function silentFrame(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const frame = document.createElement("iframe");
    frame.name = FRAME_NAME;
    frame.setAttribute("aria-hidden", "true");
    frame.setAttribute("tabindex", "-1");
    frame.setAttribute("style", "position:absolute;width:0;height:0;border:0;visibility:hidden");
    let timer;
    const done = (href) => {
      clearTimeout(timer);
      removeEventListener("message", onMessage);
      frame.remove();
      if (href === undefined) {
        reject(fail("timeout", "the silent authentication iframe got no answer in time (the provider may refuse framing)"));
      } else resolve(href);
    };
    // Only this frame's page, on this origin, with the expected message.
    const onMessage = (e) => {
      if (e.source !== frame.contentWindow || e.origin !== location.origin) return;
      if (typeof e.data === "string" && e.data.startsWith(MESSAGE_PREFIX)) done(e.data.slice(MESSAGE_PREFIX.length));
    };
    addEventListener("message", onMessage);
    timer = setTimeout(done, timeoutMs);
    frame.src = url;
    (document.body ?? document.documentElement).appendChild(frame);
  });
}

