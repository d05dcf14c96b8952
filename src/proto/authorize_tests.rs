//! Tests of `proto::authorize`.

use super::super::discovery;
use super::super::http::Response;
use super::*;

fn setup() -> (Config, Metadata) {
    let cfg = Config::from_json(
        r#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"http://localhost:5173/cb",
            "extraAuthParams":{"ui_locales":"de","audience":"api"}}"#,
        "http://localhost:5173/",
    )
    .unwrap();
    let meta = discovery::parse(
        &cfg,
        &Response::json(200, &discovery::tests::doc("https://op.example")),
    )
    .unwrap();
    (cfg, meta)
}

/// SHA-256 of the verifier `random(seed)` yields, as the browser computes it with WebCrypto.
fn digest(seed: u8) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let r = random(seed);
    let verifier = crate::proto::b64::encode(r.get(..32).unwrap());
    Sha256::digest(verifier.as_bytes()).to_vec()
}

fn random(seed: u8) -> [u8; RANDOM_BYTES] {
    let mut r = [0u8; RANDOM_BYTES];
    for (i, b) in r.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    r
}

fn query(url: &str) -> Vec<(String, String)> {
    url::parse_query(url.split_once('?').unwrap().1).unwrap()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn builds_a_pkce_s256_request_with_fresh_state_and_nonce() {
    let (cfg, meta) = setup();
    let d1 = digest(1);
    let opts = || Options {
        redirect_to: "http://localhost:5173/".into(),
        extra: &[],
        mode: Mode::Interactive,
        redirect_uri: None,
        verifier_digest: &d1,
    };
    let (url, pending) = request(&cfg, &meta, &random(1), 1000.0, opts()).unwrap();
    assert!(url.starts_with("https://op.example/auth?"));
    let q = query(&url);
    assert_eq!(param(&q, "response_type"), Some("code"));
    assert_eq!(param(&q, "client_id"), Some("spa"));
    assert_eq!(param(&q, "redirect_uri"), Some("http://localhost:5173/cb"));
    assert_eq!(param(&q, "scope"), Some("openid profile"));
    assert_eq!(param(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(
        param(&q, "code_challenge"),
        Some(pending.verifier.challenge().as_str())
    );
    assert_eq!(param(&q, "state"), Some(pending.state.as_str()));
    assert_eq!(param(&q, "nonce"), Some(pending.nonce.as_str()));
    assert_eq!(param(&q, "ui_locales"), Some("de"));
    assert_eq!(param(&q, "audience"), Some("api"));
    assert_eq!(pending.state.len(), 43);
    assert_eq!(pending.nonce.len(), 43);
    assert_ne!(pending.state, pending.nonce);
    let (_, other) = request(&cfg, &meta, &random(2), 1000.0, opts()).unwrap();
    assert_ne!(other.state, pending.state);
    assert_ne!(other.verifier.secret(), pending.verifier.secret());
}

#[test]
fn silent_requests_say_prompt_none() {
    let (cfg, meta) = setup();
    let extra = vec![("prompt".to_string(), "login".to_string())];
    let (url, _) = request(
        &cfg,
        &meta,
        &random(1),
        0.0,
        Options {
            redirect_to: "http://localhost:5173/".into(),
            extra: &extra,
            mode: Mode::SilentIframe,
            redirect_uri: Some("http://localhost:5173/silent"),
            verifier_digest: &digest(1),
        },
    )
    .unwrap();
    let q = query(&url);
    assert_eq!(param(&q, "prompt"), Some("none"));
    assert_eq!(q.iter().filter(|(k, _)| k == "prompt").count(), 1);
    assert_eq!(
        param(&q, "redirect_uri"),
        Some("http://localhost:5173/silent")
    );
}

#[test]
fn login_extra_params_cannot_replace_protocol_params() {
    let (cfg, meta) = setup();
    let extra = vec![("code_challenge_method".to_string(), "plain".to_string())];
    let e = request(
        &cfg,
        &meta,
        &random(1),
        0.0,
        Options {
            redirect_to: "x".into(),
            extra: &extra,
            mode: Mode::Interactive,
            redirect_uri: None,
            verifier_digest: &digest(1),
        },
    )
    .unwrap_err();
    assert_eq!(e.code, Code::InvalidConfig);
}

#[test]
fn pending_login_round_trips_and_expires_after_ten_minutes() {
    let (cfg, meta) = setup();
    let (_, p) = request(
        &cfg,
        &meta,
        &random(3),
        5_000.0,
        Options {
            redirect_to: "http://localhost:5173/a".into(),
            extra: &[],
            mode: Mode::Interactive,
            redirect_uri: None,
            verifier_digest: &digest(3),
        },
    )
    .unwrap();
    let back = PendingLogin::from_json(&p.to_json()).unwrap();
    assert_eq!(back, p);
    assert!(!p.is_expired(5_000.0 + PENDING_TTL_MS));
    assert!(p.is_expired(5_001.0 + PENDING_TTL_MS));
    assert!(PendingLogin::from_json("{}").is_none());
    assert!(PendingLogin::from_json("garbage").is_none());
}

#[test]
fn silent_retry_config_drops_only_offline_access() {
    let cfg = Config::from_json(
        r#"{"issuer":"https://op.example","clientId":"spa","scopes":["profile","offline_access","email"]}"#,
        "http://localhost:5173/",
    )
    .unwrap();
    let c = without_offline_access(&cfg).unwrap();
    assert_eq!(c.scopes, vec!["openid", "profile", "email"]);
    assert!(
        without_offline_access(&c).is_none(),
        "nothing to drop twice"
    );
}

#[test]
fn a_verifier_digest_that_is_not_32_bytes_is_refused() {
    let (cfg, meta) = setup();
    let e = request(
        &cfg,
        &meta,
        &random(1),
        1000.0,
        Options {
            redirect_to: "http://localhost:5173/".into(),
            extra: &[],
            mode: Mode::Interactive,
            redirect_uri: None,
            verifier_digest: &[1; 31],
        },
    )
    .unwrap_err();
    assert_eq!(e.code, Code::CryptoError);
}
