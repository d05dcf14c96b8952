//! Tests of `proto::logout`.

use super::*;

#[test]
fn carries_hint_client_and_post_logout_uri() {
    let c = Config::from_json(r#"{"issuer":"https://op.example","clientId":"spa","extraLogoutParams":{"logout_uri":"http://localhost:5173/"}}"#, "http://localhost:5173/").unwrap();
    let u = end_session_url(
        &c,
        Some("https://op.example/logout"),
        Some("a.b.c"),
        "http://localhost:5173/",
    )
    .unwrap();
    assert_eq!(
        u,
        "https://op.example/logout?id_token_hint=a.b.c&client_id=spa&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A5173%2F&logout_uri=http%3A%2F%2Flocalhost%3A5173%2F"
    );
    assert!(end_session_url(&c, None, Some("a.b.c"), "x").is_none());
}
