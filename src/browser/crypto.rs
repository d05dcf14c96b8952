//! WebCrypto: random bytes and JWS signature verification. The browser's own, exact
//! implementations, so no RSA or elliptic-curve code ships in the wasm.

use super::js_error;
use crate::proto::jose::{Alg, Jwk};
use crate::proto::{Code, Result};
use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> core::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_key(
        format: &str,
        key: &Object,
        alg: &Object,
        extractable: bool,
        usages: &Array,
    ) -> core::result::Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = digest, catch)]
    fn subtle_digest(alg: &str, data: &[u8]) -> core::result::Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        alg: &Object,
        key: &JsValue,
        signature: &[u8],
        data: &[u8],
    ) -> core::result::Result<Promise, JsValue>;
}

/// Fills `buf` from `crypto.getRandomValues` (a CSPRNG).
pub fn random(buf: &mut [u8]) -> Result<()> {
    get_random_values(buf)
        .map(|_| ())
        .map_err(|e| js_error(Code::CryptoError, "crypto.getRandomValues", &e))
}

fn object(pairs: &[(&str, &JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// The JWK as WebCrypto wants it: only the key material, so a provider's `alg`, `use` or
/// `key_ops` members (or their absence, as at Entra) cannot make the import fail.
fn key_object(jwk: &Jwk) -> Object {
    let mut pairs: Vec<(&str, JsValue)> = vec![("kty", s(&jwk.kty)), ("ext", JsValue::TRUE)];
    for (name, value) in [
        ("crv", &jwk.crv),
        ("n", &jwk.n),
        ("e", &jwk.e),
        ("x", &jwk.x),
        ("y", &jwk.y),
    ] {
        if let Some(v) = value {
            pairs.push((name, s(v)));
        }
    }
    let refs: Vec<(&str, &JsValue)> = pairs.iter().map(|(k, v)| (*k, v)).collect();
    object(&refs)
}

/// (import parameters, verify parameters) for an algorithm.
fn params(alg: Alg) -> (Object, Object) {
    let hash = s(alg.hash().web_name());
    match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 => {
            let name = s("RSASSA-PKCS1-v1_5");
            (
                object(&[("name", &name), ("hash", &hash)]),
                object(&[("name", &name)]),
            )
        }
        Alg::PS256 | Alg::PS384 | Alg::PS512 => {
            let name = s("RSA-PSS");
            // RFC 7518 §3.5: the salt is as long as the hash.
            let salt = JsValue::from_f64(alg.hash().output_len() as f64);
            (
                object(&[("name", &name), ("hash", &hash)]),
                object(&[("name", &name), ("saltLength", &salt)]),
            )
        }
        Alg::ES256 | Alg::ES384 | Alg::ES512 => {
            let name = s("ECDSA");
            let curve = s(alg.crv().unwrap_or("P-256"));
            (
                object(&[("name", &name), ("namedCurve", &curve)]),
                object(&[("name", &name), ("hash", &hash)]),
            )
        }
        Alg::EdDSA => {
            let name = s("Ed25519");
            (object(&[("name", &name)]), object(&[("name", &name)]))
        }
    }
}

/// The WebCrypto digest of `data`.
pub async fn digest(hash: crate::proto::jose::Hash, data: &[u8]) -> Result<Vec<u8>> {
    let promise = subtle_digest(hash.web_name(), data)
        .map_err(|e| js_error(Code::CryptoError, "crypto.subtle.digest", &e))?;
    let buf = JsFuture::from(promise)
        .await
        .map_err(|e| js_error(Code::CryptoError, "crypto.subtle.digest", &e))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// Whether `signature` over `data` verifies with `jwk` under `alg`. A key WebCrypto cannot
/// import counts as not verifying (it cannot have made the signature).
pub async fn verify(jwk: &Jwk, alg: Alg, data: &[u8], signature: &[u8]) -> Result<bool> {
    let (import_params, verify_params) = params(alg);
    let usages = Array::of1(&s("verify"));
    let key = match import_key("jwk", &key_object(jwk), &import_params, false, &usages) {
        Ok(p) => match JsFuture::from(p).await {
            Ok(k) => k,
            Err(_) => return Ok(false),
        },
        Err(e) => {
            return Err(js_error(
                Code::CryptoError,
                "WebCrypto is unavailable (crypto.subtle needs a secure context)",
                &e,
            ))
        }
    };
    let promise = subtle_verify(&verify_params, &key, signature, data)
        .map_err(|e| js_error(Code::CryptoError, "crypto.subtle.verify", &e))?;
    match JsFuture::from(promise).await {
        Ok(v) => Ok(v.as_bool().unwrap_or(false)),
        Err(_) => Ok(false),
    }
}
