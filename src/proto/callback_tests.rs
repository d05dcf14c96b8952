//! Tests of `proto::callback`.

use super::super::authorize::{self, Options};
use super::super::discovery::tests::{cfg, doc};
use super::super::http::Response;
use super::*;
use crate::proto::authorize::Mode;

const CB: &str = "http://localhost:5173/";

fn setup(doc_json: &str) -> (Config, Metadata, PendingLogin) {
    let c = cfg("https://op.example");
    let m = discovery::parse(&c, &Response::json(200, doc_json)).unwrap();
    let (_, p) = authorize::request(
        &c,
        &m,
        &[9; 96],
        0.0,
        Options {
            redirect_to: CB.into(),
            extra: &[],
            mode: Mode::Interactive,
            redirect_uri: None,
            verifier_digest: &[0; 32],
        },
    )
    .unwrap();
    (c, m, p)
}

fn params(q: &str) -> Params {
    parse(&format!("{CB}?{q}"), &[CB]).unwrap().unwrap()
}

#[test]
fn recognises_callbacks_only_on_the_redirect_uri() {
    assert!(parse("http://localhost:5173/?code=a&state=b", &[CB])
        .unwrap()
        .is_some());
    assert!(parse("http://localhost:5173/other?code=a&state=b", &[CB])
        .unwrap()
        .is_none());
    assert!(parse("http://localhost:5173/?tab=1", &[CB])
        .unwrap()
        .is_none());
    assert!(parse("http://localhost:5173/", &[CB]).unwrap().is_none());
    assert_eq!(
        parse("http://localhost:5173/?code=a&code=b", &[CB])
            .unwrap_err()
            .code,
        Code::InvalidResponse
    );
}

#[test]
fn a_good_response_validates_and_ignores_extra_params() {
    let (c, m, p) = setup(&doc("https://op.example"));
    let q = format!(
        "code=abc&state={}&session_state=xyz&scope=openid&authuser=0&prompt=none&client_info=e30",
        p.state
    );
    let v = validate(&params(&q), Some(p), &c, &m, 1.0).unwrap();
    assert_eq!(v.code, "abc");
}

#[test]
fn state_differs_or_is_missing_rejects() {
    let (c, m, p) = setup(&doc("https://op.example"));
    let e = validate(&params("code=abc&state=other"), Some(p), &c, &m, 1.0).unwrap_err();
    assert_eq!(e.code, Code::StateMismatch);
    let (c, m, p) = setup(&doc("https://op.example"));
    assert_eq!(
        validate(&params("code=abc"), Some(p), &c, &m, 1.0)
            .unwrap_err()
            .code,
        Code::StateMismatch
    );
}

#[test]
fn a_callback_no_login_asked_for_rejects() {
    let (c, m, _) = setup(&doc("https://op.example"));
    let e = validate(&params("code=abc&state=zzz"), None, &c, &m, 1.0).unwrap_err();
    assert_eq!(e.code, Code::StateMismatch);
}

#[test]
fn an_expired_login_rejects() {
    let (c, m, p) = setup(&doc("https://op.example"));
    let q = format!("code=abc&state={}", p.state);
    let e = validate(
        &params(&q),
        Some(p),
        &c,
        &m,
        authorize::PENDING_TTL_MS + 1.0,
    )
    .unwrap_err();
    assert_eq!(e.code, Code::StateMismatch);
    assert!(e.message.contains("expired"));
}

#[test]
fn access_denied_becomes_provider_error_carrying_it() {
    let (c, m, p) = setup(&doc("https://op.example"));
    let q = format!(
        "error=access_denied&error_description=User+said+no&state={}",
        p.state
    );
    let e = validate(&params(&q), Some(p), &c, &m, 1.0).unwrap_err();
    assert_eq!(e.code, Code::ProviderError);
    assert_eq!(e.error.as_deref(), Some("access_denied"));
    assert_eq!(e.error_description.as_deref(), Some("User said no"));
}

#[test]
fn rfc9207_advertised_iss_wrong_or_missing_rejects() {
    let advertised = doc("https://op.example").replace(
        "\"issuer\"",
        "\"authorization_response_iss_parameter_supported\":true,\"issuer\"",
    );
    let (c, m, p) = setup(&advertised);
    let q = format!("code=abc&state={}", p.state);
    assert_eq!(
        validate(&params(&q), Some(p), &c, &m, 1.0)
            .unwrap_err()
            .code,
        Code::IssuerMismatch
    );
    let (c, m, p) = setup(&advertised);
    let q = format!("code=abc&state={}&iss=https%3A%2F%2Fevil.example", p.state);
    assert_eq!(
        validate(&params(&q), Some(p), &c, &m, 1.0)
            .unwrap_err()
            .code,
        Code::IssuerMismatch
    );
    let (c, m, p) = setup(&advertised);
    let q = format!("code=abc&state={}&iss=https%3A%2F%2Fop.example", p.state);
    assert!(validate(&params(&q), Some(p), &c, &m, 1.0).is_ok());
}

#[test]
fn unadvertised_iss_is_still_compared() {
    let (c, m, p) = setup(&doc("https://op.example"));
    let q = format!("code=abc&state={}&iss=https%3A%2F%2Fop.example%2F", p.state);
    assert_eq!(
        validate(&params(&q), Some(p), &c, &m, 1.0)
            .unwrap_err()
            .code,
        Code::IssuerMismatch
    );
}

#[test]
fn wrong_iss_on_an_error_response_is_an_issuer_mismatch() {
    let (c, m, p) = setup(&doc("https://op.example"));
    let q = format!(
        "error=access_denied&state={}&iss=https%3A%2F%2Fmix-up.example",
        p.state
    );
    assert_eq!(
        validate(&params(&q), Some(p), &c, &m, 1.0)
            .unwrap_err()
            .code,
        Code::IssuerMismatch
    );
}
