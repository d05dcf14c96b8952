// Small helpers the two hand-written test providers share (hostile.mjs, profiles.mjs).
import { createHash, randomBytes } from "node:crypto";

/** Request bodies larger than this are refused: no test sends one. */
export const MAX_BODY = 1 << 20;

export const b64u = (buf) => Buffer.from(buf).toString("base64url");
export const rand = (n = 24) => b64u(randomBytes(n));
/** Seconds since the epoch, as JWT claims count them. */
export const now = () => Math.floor(Date.now() / 1000);
/** RFC 7636 §4.2: the S256 challenge of a verifier. */
export const s256 = (verifier) => b64u(createHash("sha256").update(verifier, "ascii").digest());

/** OIDC Core 3.1.3.6, with the hash of the signing algorithm (SHA-512 for Ed25519). */
export function atHashFor(alg, accessToken) {
  const h = alg === "EdDSA" ? "sha512" : /384$/.test(alg) ? "sha384" : /512$/.test(alg) ? "sha512" : "sha256";
  const d = createHash(h).update(accessToken, "ascii").digest();
  return b64u(d.subarray(0, d.length / 2));
}

/** Reads a request body as UTF-8, at most MAX_BODY bytes. */
export async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY) throw new Error("body too large");
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}
