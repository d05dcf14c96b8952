//! Tests of `proto::http`.

use super::*;

#[test]
fn html_error_page_is_an_http_error() {
    let r = Response {
        status: 500,
        content_type: Some("text/html".into()),
        body: "<html>oops</html>".into(),
    };
    let e = json_object(&r, "token response").unwrap_err();
    assert_eq!(e.code, Code::HttpError);
    assert!(
        e.message.contains("expected HTTP 200, got 500"),
        "{}",
        e.message
    );
    assert!(e.message.contains("text/html"));
}

#[test]
fn wrong_content_type_is_refused() {
    let r = Response {
        status: 200,
        content_type: Some("text/plain".into()),
        body: "{}".into(),
    };
    assert_eq!(
        json_object(&r, "x").unwrap_err().code,
        Code::InvalidResponse
    );
    let jwk = Response {
        status: 200,
        content_type: Some("application/jwk-set+json; charset=utf-8".into()),
        body: "{}".into(),
    };
    assert!(json_object(&jwk, "x").is_ok());
}

#[test]
fn huge_body_is_refused() {
    let body = format!("{{\"a\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let e = json_object(&Response::json(200, &body), "token response").unwrap_err();
    assert_eq!(e.code, Code::InvalidResponse);
    assert!(e.message.contains("more than the"));
}

#[test]
fn oauth_error_body_carries_the_providers_values() {
    let r = Response::json(
        400,
        r#"{"error":"invalid_grant","error_description":"code used"}"#,
    );
    let e = json_object(&r, "token response").unwrap_err();
    assert_eq!(e.code, Code::ProviderError);
    assert_eq!(e.error.as_deref(), Some("invalid_grant"));
    assert_eq!(e.error_description.as_deref(), Some("code used"));
}

#[test]
fn json_array_is_the_wrong_shape() {
    let e = json_object(&Response::json(200, "[1]"), "discovery").unwrap_err();
    assert_eq!(e.code, Code::InvalidResponse);
    assert!(e.message.contains("expected a JSON object"));
}
