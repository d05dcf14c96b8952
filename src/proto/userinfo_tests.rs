//! Tests of `proto::userinfo`.

use super::*;

#[test]
fn same_sub_accepts() {
    assert!(parse(
        &Response::json(200, r#"{"sub":"alice","email":"a@x"}"#),
        "alice"
    )
    .is_ok());
}

#[test]
fn rp_userinfo_bad_sub_claim_rejects() {
    let e = parse(&Response::json(200, r#"{"sub":"mallory"}"#), "alice").unwrap_err();
    assert_eq!(e.code, Code::InvalidUserinfo);
    assert_eq!(
        parse(&Response::json(200, r#"{"name":"x"}"#), "alice")
            .unwrap_err()
            .code,
        Code::InvalidUserinfo
    );
}

#[test]
fn expired_access_token_answer_keeps_the_providers_error() {
    let r = Response {
        status: 401,
        content_type: Some("application/json".into()),
        body: r#"{"error":"invalid_token"}"#.into(),
    };
    assert_eq!(
        parse(&r, "alice").unwrap_err().error.as_deref(),
        Some("invalid_token")
    );
}
