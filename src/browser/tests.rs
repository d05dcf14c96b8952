//! Browser tests, run in Chromium by wasm-bindgen-test-runner (`npm test` runs them):
//! WebCrypto signature checks for each algorithm, the random verifier, sessionStorage hygiene,
//! and fetch's handling of bad responses.

use super::{crypto, http, storage};
use crate::proto::authorize::{self, Mode, Options, PendingLogin};
use crate::proto::config::Config;
use crate::proto::discovery::Metadata;
use crate::proto::http::Response;
use crate::proto::jose;
use crate::proto::pkce::Verifier;
use crate::proto::Code;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const b64u = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const enc = (s) => b64u(new TextEncoder().encode(s));
const ALGS = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  RS512: [{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-512" }, { name: "RSASSA-PKCS1-v1_5" }],
  PS256: [{ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, { name: "RSA-PSS", saltLength: 32 }],
  PS384: [{ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-384" }, { name: "RSA-PSS", saltLength: 48 }],
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  ES384: [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};
// Signs a token with a fresh key pair; returns [token, JWKS JSON].
export async function signed(alg, kid) {
  const [gen, sign] = ALGS[alg];
  const pair = await crypto.subtle.generateKey(gen, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  delete jwk.key_ops; delete jwk.ext;
  jwk.kid = kid;
  const input = enc(JSON.stringify({ alg, kid })) + "." + enc(JSON.stringify({ sub: "alice" }));
  const sig = await crypto.subtle.sign(sign, pair.privateKey, new TextEncoder().encode(input));
  return [input + "." + b64u(sig), JSON.stringify({ keys: [jwk] })];
}
export function tamper(token) {
  const [h, , s] = token.split(".");
  return h + "." + enc(JSON.stringify({ sub: "mallory" })) + "." + s;
}
export function rawStorage(key) { return sessionStorage.getItem(key); }
"#)]
extern "C" {
    async fn signed(alg: &str, kid: &str) -> JsValue;
    fn tamper(token: &str) -> String;
    #[wasm_bindgen(js_name = rawStorage)]
    fn raw_storage(key: &str) -> Option<String>;
}

async fn verify_token(token: &str, jwks: &str) -> bool {
    let jws = jose::parse(token).unwrap();
    let keys = jose::parse_jwks(&Response::json(200, jwks)).unwrap();
    match jose::select_keys(&keys, &jws) {
        jose::KeyChoice::Candidates(c) => {
            let mut ok = false;
            for k in c {
                ok |= crypto::verify(k, jws.alg, jws.signing_input.as_bytes(), &jws.signature)
                    .await
                    .unwrap();
            }
            ok
        }
        other => panic!("no candidate key: {other:?}"),
    }
}

async fn good_and_tampered(alg: &str) {
    let pair: js_sys::Array = signed(alg, "k1").await.into();
    let token = pair.get(0).as_string().unwrap();
    let jwks = pair.get(1).as_string().unwrap();
    assert!(
        verify_token(&token, &jwks).await,
        "{alg}: a good signature verifies"
    );
    assert!(
        !verify_token(&tamper(&token), &jwks).await,
        "{alg}: a tampered payload fails"
    );
    let other: js_sys::Array = signed(alg, "k1").await.into();
    assert!(
        !verify_token(&token, &other.get(1).as_string().unwrap()).await,
        "{alg}: another key's JWKS fails"
    );
}

#[wasm_bindgen_test]
async fn webcrypto_verifies_rs256() {
    good_and_tampered("RS256").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_rs512() {
    good_and_tampered("RS512").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_ps256() {
    good_and_tampered("PS256").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_ps384() {
    good_and_tampered("PS384").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_es256() {
    good_and_tampered("ES256").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_es384() {
    good_and_tampered("ES384").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_eddsa() {
    good_and_tampered("EdDSA").await;
}

#[wasm_bindgen_test]
fn random_verifier_is_43_unreserved_chars_and_fresh() {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let mut bytes = [0u8; 32];
        crypto::random(&mut bytes).unwrap();
        let v = Verifier::from_random(&bytes);
        let s = v.secret().to_string();
        assert_eq!(s.len(), 43);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{s}"
        );
        assert!(!seen.contains(&s), "verifiers repeat");
        seen.push(s);
    }
}

fn meta() -> Metadata {
    Metadata {
        issuer: "https://op.example".into(),
        authorization_endpoint: "https://op.example/auth".into(),
        token_endpoint: "https://op.example/token".into(),
        jwks_uri: "https://op.example/jwks".into(),
        userinfo_endpoint: None,
        end_session_endpoint: None,
        revocation_endpoint: None,
        iss_parameter_supported: false,
    }
}

#[wasm_bindgen_test]
fn session_storage_entry_is_deleted_after_use() {
    let cfg = Config::from_json(
        r#"{"issuer":"https://op.example","clientId":"spa"}"#,
        "http://localhost/",
    )
    .unwrap();
    let mut random = [0u8; authorize::RANDOM_BYTES];
    crypto::random(&mut random).unwrap();
    let (_, pending) = authorize::request(
        &cfg,
        &meta(),
        &random,
        js_sys::Date::now(),
        Options {
            redirect_to: "http://localhost/".into(),
            extra: &[],
            mode: Mode::Interactive,
            redirect_uri: None,
        },
    )
    .unwrap();
    let state = pending.state.clone();
    let key = PendingLogin::storage_key(&state);
    storage::put(&pending).unwrap();
    assert!(raw_storage(&key).is_some(), "stored while in flight");
    let taken = storage::take(&state).expect("found by its state");
    assert_eq!(taken, pending);
    assert!(raw_storage(&key).is_none(), "deleted on use");
    assert!(storage::take(&state).is_none(), "one use only");
}

#[wasm_bindgen_test]
fn expired_logins_in_flight_are_swept() {
    let cfg = Config::from_json(
        r#"{"issuer":"https://op.example","clientId":"spa"}"#,
        "http://localhost/",
    )
    .unwrap();
    let (_, old) = authorize::request(
        &cfg,
        &meta(),
        &[3; 96],
        0.0,
        Options {
            redirect_to: "http://localhost/".into(),
            extra: &[],
            mode: Mode::Interactive,
            redirect_uri: None,
        },
    )
    .unwrap();
    storage::put(&old).unwrap();
    storage::sweep(authorize::PENDING_TTL_MS + 1.0);
    assert!(raw_storage(&PendingLogin::storage_key(&old.state)).is_none());
}

fn req(url: &str) -> http::Req<'_> {
    http::Req {
        url,
        what: "the test request",
        form: None,
        bearer: None,
        timeout_ms: 5_000.0,
        no_cache: false,
    }
}

#[wasm_bindgen_test]
async fn fetch_reads_status_type_and_body() {
    let r = http::send(req("data:application/json,%7B%22a%22%3A1%7D"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "{\"a\":1}");
    assert!(crate::proto::http::json_object(&r, "x").is_ok());
}

#[wasm_bindgen_test]
async fn a_5_mb_response_is_an_invalid_response_not_a_trap() {
    let big = format!(
        "data:application/json,%7B%22a%22%3A%22{}%22%7D",
        "x".repeat(5 * 1024 * 1024)
    );
    let r = http::send(req(&big)).await.unwrap();
    let e = crate::proto::http::json_object(&r, "the token response").unwrap_err();
    assert_eq!(e.code, Code::InvalidResponse);
}

#[wasm_bindgen_test]
async fn an_unreachable_host_is_a_network_error() {
    let e = http::send(req("http://127.0.0.1:9/nothing"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::NetworkError);
    assert!(e.message.contains("http://127.0.0.1:9"), "{}", e.message);
}
