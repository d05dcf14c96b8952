//! Tests of `proto::token`.

use super::*;

fn parse_b(r: &Response) -> Result<TokenResponse> {
    parse(r, false)
}

#[test]
fn dpop_bound_tokens_must_say_so() {
    let dpop = r#"{"access_token":"at","token_type":"DPoP"}"#;
    assert!(parse(&Response::json(200, dpop), true).unwrap().dpop);
    let bearer = r#"{"access_token":"at","token_type":"Bearer"}"#;
    assert_eq!(
        parse(&Response::json(200, bearer), true).unwrap_err().code,
        Code::InvalidResponse
    );
    assert_eq!(
        parse(&Response::json(200, dpop), false).unwrap_err().code,
        Code::InvalidResponse
    );
}

#[test]
fn parses_a_typical_response() {
    let t = parse_b(&Response::json(200, r#"{"access_token":"at","token_type":"Bearer","expires_in":300,"id_token":"a.b.c","refresh_token":"rt","scope":"openid"}"#)).unwrap();
    assert_eq!(t.access_token.expose(), "at");
    assert_eq!(t.expires_in, Some(300.0));
    assert_eq!(t.refresh_token.unwrap().expose(), "rt");
}

#[test]
fn token_type_is_case_insensitive_and_expires_in_may_be_a_string_or_absent() {
    let t = parse_b(&Response::json(200, r#"{"access_token":"at","token_type":"bearer","expires_in":"3599","not-before-policy":0,"refresh_expires_in":1800}"#)).unwrap();
    assert_eq!(t.expires_in, Some(3599.0));
    let t = parse_b(&Response::json(
        200,
        r#"{"access_token":"at","token_type":"Bearer"}"#,
    ))
    .unwrap();
    assert_eq!(t.expires_in, None);
    assert!(t.id_token.is_none());
}

#[test]
fn refuses_malformed_responses() {
    for body in [
        r#"{"token_type":"Bearer"}"#,
        r#"{"access_token":"at"}"#,
        r#"{"access_token":"at","token_type":"DPoP"}"#,
        r#"{"access_token":1,"token_type":"Bearer"}"#,
        r#"{"access_token":"at","token_type":"Bearer","expires_in":"soon"}"#,
        r#"not json"#,
    ] {
        assert_eq!(
            parse_b(&Response::json(200, body)).unwrap_err().code,
            Code::InvalidResponse,
            "{body}"
        );
    }
}

#[test]
fn google_secret_required_gets_its_own_code() {
    let e = parse_b(&Response::json(
        400,
        r#"{"error":"invalid_request","error_description":"client_secret is missing."}"#,
    ))
    .unwrap_err();
    assert_eq!(e.code, Code::ClientSecretRequired);
    assert_eq!(e.error.as_deref(), Some("invalid_request"));
    assert!(e.message.contains("backend"));
}

#[test]
fn invalid_grant_is_a_provider_error() {
    let e = parse_b(&Response::json(400, r#"{"error":"invalid_grant"}"#)).unwrap_err();
    assert_eq!(e.code, Code::ProviderError);
    assert_eq!(e.error.as_deref(), Some("invalid_grant"));
}

#[test]
fn secrets_do_not_debug_print() {
    assert_eq!(format!("{:?}", Secret::new("eyJ.secret")), "[redacted]");
}
