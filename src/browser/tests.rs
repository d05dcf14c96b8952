//! Browser tests, run in Chromium by wasm-bindgen-test-runner (`npm test` runs them): the
//! wasm core driven through its one entry point (`call`) together with the JS I/O it relies on
//! (`src/js/io.js`): WebCrypto signature checks for each algorithm, the random PKCE verifier
//! and its WebCrypto challenge, sessionStorage hygiene, and fetch's handling of bad responses.

use super::core::{call, key_json};
use crate::proto::b64;
use crate::proto::http::Response;
use crate::proto::jose;
use crate::proto::json::{self, Value};
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
export async function signed(alg, kid, claims = JSON.stringify({ sub: "alice" })) {
  const [gen, sign] = ALGS[alg];
  const pair = await crypto.subtle.generateKey(gen, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  delete jwk.key_ops; delete jwk.ext;
  jwk.kid = kid;
  const input = enc(JSON.stringify({ alg, kid })) + "." + enc(claims);
  const sig = await crypto.subtle.sign(sign, pair.privateKey, new TextEncoder().encode(input));
  return [input + "." + b64u(sig), JSON.stringify({ keys: [jwk] })];
}
export function tamper(token) {
  const [h, , s] = token.split(".");
  return h + "." + enc(JSON.stringify({ sub: "mallory" })) + "." + s;
}
export function rawStorage(key) { return sessionStorage.getItem(key); }
export function sha256Hex(s) { return crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)).then((d) => [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("")); }
"#)]
extern "C" {
    async fn signed(alg: &str, kid: &str) -> JsValue;
    #[wasm_bindgen(js_name = signed)]
    async fn signed_claims(alg: &str, kid: &str, claims: &str) -> JsValue;
    fn tamper(token: &str) -> String;
    #[wasm_bindgen(js_name = rawStorage)]
    fn raw_storage(key: &str) -> Option<String>;
}

#[wasm_bindgen(module = "/src/js/io.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn verify(
        jwk: JsValue,
        alg: &str,
        hash: &str,
        input: &str,
        sig: &str,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = randomBytes)]
    fn random_bytes() -> Vec<u8>;
    #[wasm_bindgen(catch)]
    async fn digest(hash: &str, text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn send(url: &str, what: &str, timeout_ms: f64) -> Result<JsValue, JsValue>;
    fn put(key: &str, json: &str);
    fn take(state: &str) -> Option<String>;
}

/// Runs a core step; `Ok` with the result JSON, or `Err` with the error JSON.
fn step(op: &str, args: &str) -> Result<Value, Value> {
    let out = call(op, args);
    match out.strip_prefix('!') {
        Some(e) => Err(json::parse(e, "error").unwrap()),
        None => Ok(json::parse(&out, "result").unwrap()),
    }
}

fn text(v: &str) -> String {
    let mut out = String::new();
    json::write_str(&mut out, v);
    out
}

/// A client with discovery done, for `https://op.example`.
fn client() -> String {
    let config = text(r#"{"issuer":"https://op.example","clientId":"spa"}"#);
    let id = step("new", &format!("[{config},\"http://localhost/\"]")).unwrap();
    let id = json::number_text(id.as_f64().unwrap());
    let doc = text(
        r#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"],"code_challenge_methods_supported":["S256"]}"#,
    );
    step(
        "setMetadata",
        &format!("[{id},200,\"application/json\",{doc}]"),
    )
    .unwrap();
    id
}

/// Verifies `token` with the keys of `jwks` the core selects, through io.js's WebCrypto call.
async fn verifies(token: &str, jwks: &str) -> bool {
    let jws = jose::parse(token).unwrap();
    let keys = jose::parse_jwks(&Response::json(200, jwks)).unwrap();
    let jose::KeyChoice::Candidates(candidates) = jose::select_keys(&keys, &jws) else {
        panic!("no candidate key");
    };
    let mut ok = false;
    for k in candidates {
        let jwk = js_sys::JSON::parse(&key_json(k)).unwrap();
        let sig = b64::encode(&jws.signature);
        let v = verify(
            jwk,
            jws.alg.name(),
            jws.alg.hash().web_name(),
            &jws.signing_input,
            &sig,
        )
        .await
        .unwrap();
        ok |= v.as_bool().unwrap();
    }
    ok
}

async fn good_and_tampered(alg: &str) {
    let pair: js_sys::Array = signed(alg, "k1").await.into();
    let token = pair.get(0).as_string().unwrap();
    let jwks = pair.get(1).as_string().unwrap();
    assert!(
        verifies(&token, &jwks).await,
        "{alg}: a good signature verifies"
    );
    assert!(
        !verifies(&tamper(&token), &jwks).await,
        "{alg}: a tampered payload fails"
    );
    let other: js_sys::Array = signed(alg, "k1").await.into();
    assert!(
        !verifies(&token, &other.get(1).as_string().unwrap()).await,
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
async fn webcrypto_sha256_gives_the_rfc7636_appendix_b_challenge() {
    let d = digest("SHA-256", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        .await
        .unwrap();
    let d = js_sys::Uint8Array::new(&d).to_vec();
    assert_eq!(
        b64::encode(&d),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

/// An interactive authorization request the way client.js makes one.
async fn authorize(id: &str) -> Value {
    let random = random_bytes();
    assert_eq!(random.len(), 96);
    let verifier = b64::encode(random.get(..32).unwrap());
    let d = digest("SHA-256", &verifier).await.unwrap();
    let d = js_sys::Uint8Array::new(&d).to_vec();
    let args = format!(
        "[{id},\"{}\",\"{}\",{},\"interactive\",null,null,\"http://localhost\",\"http://localhost/\",false]",
        b64::encode(&random),
        b64::encode(&d),
        js_sys::Date::now()
    );
    step("authorize", &args).unwrap()
}

fn query_param(url: &str, name: &str) -> String {
    let q = url.split_once('?').unwrap().1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_string()
}

#[wasm_bindgen_test]
async fn random_verifier_is_43_unreserved_chars_fresh_and_matches_its_challenge() {
    let id = client();
    let mut seen = Vec::new();
    for _ in 0..20 {
        let a = authorize(&id).await;
        let pending = json::parse(a.str_member("pending").unwrap(), "pending").unwrap();
        let v = pending.str_member("verifier").unwrap().to_string();
        assert_eq!(v.len(), 43);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{v}"
        );
        assert!(!seen.contains(&v), "verifiers repeat");
        let url = a.str_member("url").unwrap();
        assert_eq!(query_param(url, "code_challenge_method"), "S256");
        let d = digest("SHA-256", &v).await.unwrap();
        let d = js_sys::Uint8Array::new(&d).to_vec();
        assert_eq!(query_param(url, "code_challenge"), b64::encode(&d));
        seen.push(v);
    }
}

#[wasm_bindgen_test]
async fn session_storage_entry_is_deleted_after_use() {
    let id = client();
    let a = authorize(&id).await;
    let key = a.str_member("key").unwrap();
    let pending = a.str_member("pending").unwrap();
    let state = json::parse(pending, "pending")
        .unwrap()
        .str_member("state")
        .unwrap()
        .to_string();
    put(key, pending);
    assert!(raw_storage(key).is_some(), "stored while in flight");
    assert_eq!(take(&state).as_deref(), Some(pending), "found by its state");
    assert!(raw_storage(key).is_none(), "deleted on use");
    assert!(take(&state).is_none(), "one use only");
}

#[wasm_bindgen_test]
fn expired_logins_in_flight_are_not_live() {
    let id = client();
    let args = format!(
        "[{id},\"{}\",\"{}\",0,\"interactive\",null,null,\"http://localhost\",\"http://localhost/\",false]",
        b64::encode(&[3; 96]),
        b64::encode(&[4; 32])
    );
    let a = step("authorize", &args).unwrap();
    let pending = text(a.str_member("pending").unwrap());
    assert_eq!(
        step("pendingLive", &format!("[{pending},1000]")),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        step("pendingLive", &format!("[{pending},{}]", 11.0 * 60_000.0)),
        Ok(Value::Bool(false))
    );
}

/// `(status, content type, body)` as io.js's `send` resolves it.
async fn fetched(url: &str) -> Result<js_sys::Array, Value> {
    match send(url, "the test request", 5_000.0).await {
        Ok(v) => Ok(v.into()),
        Err(e) => {
            let e = js_sys::JSON::stringify(&e).unwrap().as_string().unwrap();
            Err(json::parse(&e, "error").unwrap())
        }
    }
}

#[wasm_bindgen_test]
async fn fetch_reads_status_type_and_body_and_the_core_reads_them() {
    let r = fetched("data:application/json,%7B%22keys%22%3A%5B%5D%7D")
        .await
        .unwrap();
    assert_eq!(r.get(0).as_f64(), Some(200.0));
    assert_eq!(r.get(1).as_string().as_deref(), Some("application/json"));
    assert_eq!(r.get(2).as_string().as_deref(), Some("{\"keys\":[]}"));
    let id = client();
    let body = text(&r.get(2).as_string().unwrap());
    assert!(step(
        "setJwks",
        &format!("[{id},200,\"application/json\",{body}]")
    )
    .is_ok());
    assert_eq!(step("hasJwks", &format!("[{id}]")), Ok(Value::Bool(true)));
}

#[wasm_bindgen_test]
async fn a_5_mb_response_is_an_invalid_response_not_a_trap() {
    let big = format!(
        "data:application/json,%7B%22keys%22%3A%22{}%22%7D",
        "x".repeat(5 * 1024 * 1024)
    );
    let r = fetched(&big).await.unwrap();
    assert_eq!(r.get(0).as_f64(), Some(200.0));
    let id = client();
    // The core sees the whole body and refuses it: an error, and the module keeps working.
    let args = js_sys::JSON::stringify(&js_sys::Array::of4(
        &JsValue::from_f64(id.parse().unwrap()),
        &r.get(0),
        &r.get(1),
        &r.get(2),
    ))
    .unwrap()
    .as_string()
    .unwrap();
    let e = step("setJwks", &args).unwrap_err();
    assert_eq!(e.str_member("code"), Some("invalid_response"));
    assert_eq!(step("hasJwks", &format!("[{id}]")), Ok(Value::Bool(false)));
    assert!(
        step("discoveryUrl", &format!("[{id}]")).is_ok(),
        "still working"
    );
}

#[wasm_bindgen_test]
async fn an_unreachable_host_is_a_network_error() {
    let e = fetched("http://127.0.0.1:9/nothing").await.unwrap_err();
    assert_eq!(e.str_member("code"), Some("network_error"));
    assert!(
        e.str_member("message")
            .unwrap()
            .contains("http://127.0.0.1:9"),
        "{:?}",
        e
    );
}

#[wasm_bindgen_test]
fn malformed_arguments_are_an_error_not_a_trap() {
    for (op, args) in [
        ("new", "not json"),
        ("new", "[1,2]"),
        ("settings", "[99]"),
        ("nonsense", "[0]"),
        ("setJwks", "[]"),
    ] {
        let out = call(op, args);
        assert!(out.starts_with("!{\"code\":"), "{op} {args}: {out}");
    }
}

/// An RS256 ID token about alice for `spa`, valid for 5 minutes, and the JWKS with its key.
async fn id_token(kid: &str, nonce: Option<&str>) -> (String, String) {
    let now_s = (js_sys::Date::now() / 1000.0).floor();
    let nonce = nonce.map_or(String::new(), |n| format!(r#""nonce":"{n}","#));
    let claims = format!(
        r#"{{"iss":"https://op.example","aud":"spa","sub":"alice",{nonce}"iat":{now_s},"exp":{}}}"#,
        now_s + 300.0
    );
    let pair: js_sys::Array = signed_claims("RS256", kid, &claims).await.into();
    (
        pair.get(0).as_string().unwrap(),
        pair.get(1).as_string().unwrap(),
    )
}

/// The core's `acceptTokens` step for a token response with these tokens.
fn accept_tokens(id: &str, access: &str, refresh: &str, id_token: &str) -> Value {
    let body = text(&format!(
        r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":300,"refresh_token":"{refresh}","id_token":"{id_token}"}}"#
    ));
    step(
        "acceptTokens",
        &format!(
            "[{id},200,\"application/json\",{body},{}]",
            js_sys::Date::now()
        ),
    )
    .unwrap()
}

/// A logged-in client: a login through the core's steps with a signed ID token (RS256) and a
/// refresh token.
async fn logged_in() -> String {
    let id = client();
    let a = authorize(&id).await;
    let pending = a.str_member("pending").unwrap().to_string();
    let p = json::parse(&pending, "pending").unwrap();
    let state = p.str_member("state").unwrap();
    let href = text(&format!("http://localhost/?code=c1&state={state}"));
    assert_eq!(
        step("readCallback", &format!("[{id},{href},false]")),
        Ok(Value::Str(state.to_string()))
    );
    let (token, jwks) = id_token("k1", p.str_member("nonce")).await;
    step(
        "setJwks",
        &format!("[{id},200,\"application/json\",{}]", text(&jwks)),
    )
    .unwrap();
    let req = step(
        "codeRequest",
        &format!(
            "[{id},{},{},\"http://localhost\",false]",
            text(&pending),
            js_sys::Date::now()
        ),
    )
    .unwrap();
    assert!(req.str_member("body").unwrap().contains("code=c1"));
    let info = accept_tokens(&id, "at1", "rt1", &token);
    let keys: js_sys::Array = js_sys::JSON::parse(&call("candidates", &format!("[{id}]")))
        .unwrap()
        .into();
    let ok = verify(
        keys.get(0),
        info.str_member("alg").unwrap(),
        info.str_member("hash").unwrap(),
        info.str_member("input").unwrap(),
        info.str_member("sig").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(ok.as_bool(), Some(true), "the ID token verifies");
    step("install", &format!("[{id},\"\",0]")).unwrap();
    assert_eq!(
        step("isLoggedIn", &format!("[{id}]")),
        Ok(Value::Bool(true))
    );
    id
}

#[wasm_bindgen_test]
async fn a_login_through_the_core_steps_installs_the_session() {
    let id = logged_in().await;
    let tokens = step("tokens", &format!("[{id}]")).unwrap();
    assert_eq!(tokens.str_member("accessToken"), Some("at1"));
    let claims = step("claims", &format!("[{id}]")).unwrap();
    assert_eq!(claims.str_member("sub"), Some("alice"));
}

#[wasm_bindgen_test]
async fn a_refresh_that_completes_after_logout_does_not_log_the_user_back_in() {
    let id = logged_in().await;
    let req = step("refreshRequest", &format!("[{id}]")).unwrap();
    assert!(req
        .str_member("body")
        .unwrap()
        .contains("refresh_token=rt1"));
    // The refresh response carries a new ID token for the same user (Keycloak does).
    let (token, _) = id_token("k2", None).await;
    let info = accept_tokens(&id, "at2", "rt2", &token);
    assert_eq!(
        info.str_member("alg"),
        Some("RS256"),
        "an ID token to verify"
    );
    // The user logs out (here or in another tab) while the refresh is on its way.
    assert_eq!(
        step("endSession", &format!("[{id}]")),
        Ok(Value::Bool(true))
    );
    let e = step("install", &format!("[{id},\"\",0]")).unwrap_err();
    assert_eq!(e.str_member("code"), Some("not_logged_in"));
    assert_eq!(
        step("isLoggedIn", &format!("[{id}]")),
        Ok(Value::Bool(false))
    );
}
