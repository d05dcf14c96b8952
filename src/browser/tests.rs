//! Browser tests, run in Chromium by `wasm-pack test --headless --chrome` (or
//! wasm-bindgen-test-runner, as `npm test` runs them): the engine behind its wasm-bindgen
//! surface ([`Client`]) driven through its JSON boundary, with the browser I/O of
//! `src/js/io.js` performing its actions: WebCrypto signatures for each algorithm, digests,
//! fetch's size cap, and a whole login and a refresh that ends after a logout.

use super::core::Client;
use crate::proto::authorize::{self, Mode, Options};
use crate::proto::config::Config;
use crate::proto::discovery;
use crate::proto::http::Response;
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
const HASH = { RS256: "SHA-256", RS512: "SHA-512", PS256: "SHA-256", PS384: "SHA-384", ES256: "SHA-256", ES384: "SHA-384", EdDSA: "SHA-512" };
// Signs claims with a fresh key pair: [token, JWKS JSON, a verify action for it].
export async function signed(alg, kid, claims) {
  const [gen, sign] = ALGS[alg];
  const pair = await crypto.subtle.generateKey(gen, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  delete jwk.key_ops; delete jwk.ext;
  const input = enc(JSON.stringify({ alg, kid })) + "." + enc(claims);
  const sig = b64u(await crypto.subtle.sign(sign, pair.privateKey, new TextEncoder().encode(input)));
  const action = { do: "verify", id: 1, keys: [jwk], alg, hash: HASH[alg], input, sig };
  jwk.kid = kid;
  return [input + "." + sig, JSON.stringify({ keys: [jwk] }), JSON.stringify(action)];
}
export function retarget(actionJson, change) {
  const a = JSON.parse(actionJson);
  if (change === "payload") a.input = a.input.split(".")[0] + "." + enc(JSON.stringify({ sub: "mallory" }));
  return JSON.stringify(a);
}
export function otherKeys(actionJson, otherActionJson) {
  const a = JSON.parse(actionJson);
  a.keys = JSON.parse(otherActionJson).keys;
  return JSON.stringify(a);
}
export function blobUrl(size) { return URL.createObjectURL(new Blob(["x".repeat(size)], { type: "application/json" })); }
export function parse(text) { return JSON.parse(text); }
export function stringify(v) { return JSON.stringify(v); }
"#)]
extern "C" {
    async fn signed(alg: &str, kid: &str, claims: &str) -> JsValue;
    fn retarget(action: &str, change: &str) -> String;
    #[wasm_bindgen(js_name = otherKeys)]
    fn other_keys(action: &str, other: &str) -> String;
    #[wasm_bindgen(js_name = blobUrl)]
    fn blob_url(size: usize) -> String;
    fn parse(text: &str) -> JsValue;
    fn stringify(v: &JsValue) -> String;
}

#[wasm_bindgen(module = "/src/js/io.js")]
extern "C" {
    async fn verify(a: JsValue) -> JsValue;
    async fn digest(a: JsValue) -> JsValue;
    async fn send(a: JsValue, signal: JsValue) -> JsValue;
}

/// Carries out a verify action with io.js; the event it answers with, as JSON text.
async fn run_verify(action: &str) -> Value {
    let event = stringify(&verify(parse(action)).await);
    json::parse(&event, "event").unwrap()
}

async fn sign(alg: &str, claims: &str) -> (String, String, String) {
    let r: js_sys::Array = signed(alg, "k1", claims).await.into();
    let s = |i| r.get(i).as_string().unwrap();
    (s(0), s(1), s(2))
}

async fn good_tampered_and_other_key(alg: &str) {
    let (_, _, action) = sign(alg, r#"{"sub":"alice"}"#).await;
    let ok = |v: Value| v.get("ok").and_then(Value::as_bool);
    assert_eq!(
        ok(run_verify(&action).await),
        Some(true),
        "{alg}: a good signature verifies"
    );
    let tampered = retarget(&action, "payload");
    assert_eq!(
        ok(run_verify(&tampered).await),
        Some(false),
        "{alg}: a tampered payload fails"
    );
    let (_, _, other) = sign(alg, r#"{"sub":"alice"}"#).await;
    let with_other = other_keys(&action, &other);
    assert_eq!(
        ok(run_verify(&with_other).await),
        Some(false),
        "{alg}: another key fails"
    );
}

#[wasm_bindgen_test]
async fn webcrypto_verifies_rs256() {
    good_tampered_and_other_key("RS256").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_rs512() {
    good_tampered_and_other_key("RS512").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_ps256() {
    good_tampered_and_other_key("PS256").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_ps384() {
    good_tampered_and_other_key("PS384").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_es256() {
    good_tampered_and_other_key("ES256").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_es384() {
    good_tampered_and_other_key("ES384").await;
}
#[wasm_bindgen_test]
async fn webcrypto_verifies_eddsa() {
    good_tampered_and_other_key("EdDSA").await;
}

#[wasm_bindgen_test]
async fn webcrypto_sha256_gives_the_rfc7636_appendix_b_challenge() {
    let a = r#"{"do":"digest","id":7,"hash":"SHA-256","text":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}"#;
    let event = stringify(&digest(parse(a)).await);
    let v = json::parse(&event, "event").unwrap();
    assert_eq!(v.str_member("type"), Some("digest"));
    assert_eq!(
        v.str_member("bytes"),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
}

async fn fetched(url: &str, max: usize) -> Value {
    let a = format!(r#"{{"do":"fetch","id":3,"url":"{url}","noCache":true,"max":{max}}}"#);
    let event = stringify(&send(parse(&a), JsValue::UNDEFINED).await);
    json::parse(&event, "event").unwrap()
}

#[wasm_bindgen_test]
async fn fetch_reads_the_body_and_refuses_more_than_the_cap_counting_what_it_read() {
    let small = fetched(&blob_url(1000), 1024 * 1024).await;
    assert_eq!(small.str_member("type"), Some("response"));
    assert_eq!(small.str_member("body").map(str::len), Some(1000));
    // A blob has no Content-Length to trust: the bytes read are what count.
    let big = fetched(&blob_url(2 * 1024 * 1024), 1024 * 1024).await;
    assert_eq!(big.str_member("type"), Some("failed"));
    assert_eq!(big.str_member("reason"), Some("tooLarge"));
}

#[wasm_bindgen_test]
async fn an_unreachable_host_is_a_network_failure() {
    let v = fetched("http://127.0.0.1:9/nothing", 1000).await;
    assert_eq!(v.str_member("type"), Some("failed"));
    assert_eq!(v.str_member("reason"), Some("network"));
}

const ISSUER: &str = "https://op.example";
const DISCOVERY: &str = r#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks","userinfo_endpoint":"https://op.example/me","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}"#;

/// What the engine did in answer to a run of events.
#[derive(Default)]
struct Seen {
    actions: Vec<Value>,
    /// Fetches not answered yet: (id, url, form).
    fetches: Vec<(f64, String, String)>,
}

impl Seen {
    fn kinds(&self, kind: &str) -> Vec<&Value> {
        self.actions
            .iter()
            .filter(|a| a.str_member("do") == Some(kind))
            .collect()
    }
}

/// Feeds `event` to the client and carries out its actions: digests and verifications with
/// WebCrypto, stores acknowledged, fetches answered from `answer(url, form)` when it has one.
async fn drive(
    c: &mut Client,
    event: String,
    answer: &dyn Fn(&str, &str) -> Option<String>,
    seen: &mut Seen,
) {
    let mut queue = vec![event];
    while let Some(e) = queue.pop() {
        let out = c.handle(js_sys::Date::now(), &e);
        assert!(!out.starts_with('!'), "the engine refused {e}: {out}");
        let out = json::parse(&out, "output").unwrap();
        for a in out.get("actions").and_then(Value::as_array).unwrap() {
            let text = stringify(&parse(&action_text(a)));
            match a.str_member("do").unwrap() {
                "digest" => queue.push(stringify(&digest(parse(&text)).await)),
                "verify" => queue.push(stringify(&verify(parse(&text)).await)),
                "store" => {
                    if let Some(id) = a.get("id").and_then(Value::as_f64) {
                        queue.push(format!(r#"{{"type":"stored","id":{id}}}"#));
                    }
                }
                "lock" => {
                    let id = a.get("id").and_then(Value::as_f64).unwrap();
                    queue.push(format!(r#"{{"type":"lockGranted","id":{id}}}"#));
                }
                "queryLocks" => {
                    let id = a.get("id").and_then(Value::as_f64).unwrap();
                    queue.push(format!(r#"{{"type":"locks","id":{id},"names":[]}}"#));
                }
                "fetch" => {
                    let id = a.get("id").and_then(Value::as_f64).unwrap();
                    let url = a.str_member("url").unwrap().to_string();
                    let form = a.str_member("form").unwrap_or("").to_string();
                    match answer(&url, &form) {
                        Some(body) => queue.push(format!(
                            r#"{{"type":"response","id":{id},"status":200,"contentType":"application/json","body":{}}}"#,
                            quote(&body)
                        )),
                        None => seen.fetches.push((id, url, form)),
                    }
                }
                _ => {}
            }
            seen.actions.push(a.clone());
        }
    }
}

fn quote(s: &str) -> String {
    let mut out = String::new();
    json::write_str(&mut out, s);
    out
}

/// A parsed action back to JSON text (our writer keeps member order and escapes).
fn action_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Num(n) => json::number_text(*n),
        Value::Str(s) => quote(s),
        Value::Arr(items) => format!(
            "[{}]",
            items.iter().map(action_text).collect::<Vec<_>>().join(",")
        ),
        Value::Obj(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", quote(k), action_text(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// A logged-in client: the page is the callback of a login started in this tab (its login in
/// flight in sessionStorage), the provider answers discovery, keys and tokens, and WebCrypto
/// verifies the signed ID token.
async fn logged_in(seen: &mut Seen) -> Client {
    let config =
        r#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"http://localhost/"}"#;
    let cfg = Config::from_json(config, "http://localhost/").unwrap();
    let meta = discovery::parse(&cfg, &Response::json(200, DISCOVERY)).unwrap();
    let random = [7u8; authorize::RANDOM_BYTES];
    let now = js_sys::Date::now();
    let (_, pending) = authorize::request(
        &cfg,
        &meta,
        &random,
        now,
        Options {
            redirect_to: "http://localhost/account".into(),
            extra: &[],
            mode: Mode::Interactive,
            redirect_uri: None,
            verifier_digest: &[0u8; 32],
        },
    )
    .unwrap();
    let now_s = (now / 1000.0).floor();
    let claims = format!(
        r#"{{"iss":"{ISSUER}","aud":"spa","sub":"alice","iat":{now_s},"exp":{},"nonce":"{}"}}"#,
        now_s + 300.0,
        pending.nonce
    );
    let (token, jwks, _) = sign("RS256", &claims).await;
    let tokens = format!(
        r#"{{"access_token":"at1","token_type":"Bearer","expires_in":300,"refresh_token":"rt1","id_token":"{token}"}}"#
    );
    let answer = move |url: &str, form: &str| -> Option<String> {
        match url {
            "https://op.example/.well-known/openid-configuration" => Some(DISCOVERY.into()),
            "https://op.example/jwks" => Some(jwks.clone()),
            "https://op.example/token" if form.contains("grant_type=authorization_code") => {
                Some(tokens.clone())
            }
            _ => None,
        }
    };
    let href = format!("http://localhost/?code=c1&state={}", pending.state);
    let key = authorize::PendingLogin::storage_key(&pending.state);
    let start = format!(
        r#"{{"type":"start","config":{},"href":{},"stored":[[{},{}]]}}"#,
        quote(config),
        quote(&href),
        quote(&key),
        quote(&pending.to_json())
    );
    let mut c = Client::new();
    drive(&mut c, start, &answer, seen).await;
    c
}

#[wasm_bindgen_test]
async fn a_login_through_the_engine_verifies_with_webcrypto_and_lands_on_the_page_asked_for() {
    let mut seen = Seen::default();
    let mut c = logged_in(&mut seen).await;
    let resolved = seen.kinds("resolve");
    assert_eq!(resolved.len(), 1, "createOidc resolves once");
    assert_eq!(
        resolved[0]
            .get("value")
            .and_then(|v| v.str_member("restoredVia")),
        Some("callback")
    );
    let state = seen.kinds("state");
    let claims = state.last().unwrap().get("claims").unwrap();
    assert_eq!(claims.str_member("sub"), Some("alice"));
    let urls: Vec<_> = seen
        .kinds("replaceUrl")
        .iter()
        .map(|a| a.str_member("url").unwrap().to_string())
        .collect();
    assert_eq!(
        urls,
        ["http://localhost/", "http://localhost/account"],
        "the response leaves the URL, then the user lands where the login started"
    );
    assert!(
        seen.kinds("remove")
            .iter()
            .any(|a| a.str_member("key").unwrap().starts_with("pixy-oidc:login:")),
        "the login in flight is deleted"
    );

    let mut more = Seen::default();
    drive(
        &mut c,
        r#"{"type":"command","cmd":1,"name":"getTokens"}"#.into(),
        &|_, _| None,
        &mut more,
    )
    .await;
    let r = more.kinds("resolve");
    assert_eq!(
        r[0].get("value").and_then(|v| v.str_member("accessToken")),
        Some("at1")
    );
    assert!(more.fetches.is_empty(), "fresh tokens: no request");
}

#[wasm_bindgen_test]
async fn a_refresh_that_completes_after_logout_does_not_log_the_user_back_in() {
    let mut seen = Seen::default();
    let mut c = logged_in(&mut seen).await;
    let mut renew = Seen::default();
    drive(
        &mut c,
        r#"{"type":"command","cmd":1,"name":"renewTokens"}"#.into(),
        &|_, _| None,
        &mut renew,
    )
    .await;
    let (id, _, form) = renew.fetches.pop().expect("a refresh request");
    assert!(form.contains("grant_type=refresh_token") && form.contains("refresh_token=rt1"));
    let mut out = Seen::default();
    drive(
        &mut c,
        r#"{"type":"command","cmd":2,"name":"logout"}"#.into(),
        &|_, _| None,
        &mut out,
    )
    .await;
    assert!(
        !out.kinds("navigate").is_empty(),
        "logout leaves for the provider"
    );
    let late = format!(
        r#"{{"type":"response","id":{id},"status":200,"contentType":"application/json","body":{}}}"#,
        quote(
            r#"{"access_token":"at2","token_type":"Bearer","expires_in":300,"refresh_token":"rt2"}"#
        )
    );
    let mut after = Seen::default();
    drive(&mut c, late, &|_, _| None, &mut after).await;
    assert!(
        after.kinds("state").is_empty(),
        "no session comes back: {:?}",
        after.actions
    );
    let mut check = Seen::default();
    drive(
        &mut c,
        r#"{"type":"command","cmd":3,"name":"getTokens"}"#.into(),
        &|_, _| None,
        &mut check,
    )
    .await;
    let rejected = check.kinds("reject");
    assert_eq!(
        rejected[0].get("error").and_then(|e| e.str_member("code")),
        Some("not_logged_in")
    );
}

#[wasm_bindgen_test]
fn malformed_events_are_an_error_not_a_trap_and_the_client_goes_on() {
    let mut c = Client::new();
    for bad in [
        "",
        "[]",
        "{\"type\":\"nope\"}",
        "{\"type\":\"response\",\"id\":-1}",
        "{\"type\":\"command\",\"cmd\":1,\"name\":\"getTokens\"}",
        "{\"type\":\"start\"}",
    ] {
        let out = c.handle(0.0, bad);
        assert!(
            out.starts_with("!{\"code\":\"internal_error\""),
            "{bad}: {out}"
        );
    }
    let start = format!(
        r#"{{"type":"start","config":{},"href":"http://localhost/","stored":[]}}"#,
        quote(r#"{"issuer":"https://op.example","clientId":"spa"}"#)
    );
    let out = c.handle(0.0, &start);
    assert!(out.contains("\"do\":\"listen\""), "{out}");
}
