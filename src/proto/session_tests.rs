//! Tests of `proto::session`.

use super::*;

fn claims() -> Claims {
    Claims {
        json: "{}".into(),
        iss: "i".into(),
        sub: "s".into(),
        aud: vec!["a".into()],
        exp: 0.0,
        iat: 0.0,
        nonce: None,
    }
}

fn tr(at: &str, rt: Option<&str>, expires_in: Option<f64>) -> TokenResponse {
    TokenResponse {
        dpop: false,
        access_token: Secret::new(at),
        id_token: None,
        refresh_token: rt.map(Secret::new),
        scope: None,
        expires_in,
    }
}

#[test]
fn expiry_is_local_receive_time_plus_expires_in() {
    let s = Session::new(
        tr("at", Some("rt1"), Some(300.0)),
        Secret::new("id"),
        claims(),
        1_000.0,
    );
    assert_eq!(s.access_expires_at_ms, Some(301_000.0));
    assert!(!s.expires_within(270_999.0, 30_000.0));
    assert!(s.expires_within(271_000.0, 30_000.0));
}

#[test]
fn rotation_replaces_and_absence_keeps_the_refresh_token() {
    let s = Session::new(
        tr("at", Some("rt1"), Some(300.0)),
        Secret::new("id"),
        claims(),
        0.0,
    );
    let rotated = s.refreshed(tr("at2", Some("rt2"), Some(300.0)), None, 10.0);
    assert_eq!(rotated.refresh_token.as_ref().unwrap().expose(), "rt2");
    let kept = rotated.refreshed(tr("at3", None, None), None, 20.0);
    assert_eq!(kept.refresh_token.unwrap().expose(), "rt2");
    assert_eq!(kept.id_token.expose(), "id");
    assert!(kept.access_expires_at_ms.is_none());
}

#[test]
fn tokens_json_has_the_api_shape() {
    let s = Session::new(tr("at", None, Some(60.0)), Secret::new("id"), claims(), 0.5);
    let v = super::super::json::parse(&s.tokens_json(), "t").unwrap();
    assert_eq!(v.str_member("accessToken"), Some("at"));
    assert_eq!(v.str_member("tokenType"), Some("Bearer"));
    assert_eq!(
        v.get("accessTokenExpiresAt").unwrap().as_f64(),
        Some(60_000.0)
    );
}

// The lifecycle: renewal schedule, backoff, tabs.

fn session(expires_in: f64, received: f64) -> Session {
    let claims = Claims {
        json: r#"{"iss":"https://op.example","sub":"alice","aud":"spa","exp":2000000000,"iat":1,"n":"}{\""}"#.into(),
        iss: "https://op.example".into(),
        sub: "alice".into(),
        aud: vec!["spa".into()],
        exp: 2e9,
        iat: 1.0,
        nonce: None,
    };
    let tr = TokenResponse {
        dpop: false,
        access_token: Secret::new("at"),
        id_token: None,
        refresh_token: Some(Secret::new("rt")),
        scope: Some("openid".into()),
        expires_in: Some(expires_in),
    };
    Session::new(tr, Secret::new("id"), claims, received)
}

#[test]
fn same_site_follows_registrable_domains() {
    assert!(same_site("http://127.0.0.1:5173", "http://127.0.0.1:9090"));
    assert!(!same_site("http://localhost:5173", "http://127.0.0.1:9090"));
    assert!(same_site(
        "https://app.example.com",
        "https://login.example.com"
    ));
    assert!(!same_site(
        "https://app.example.com",
        "https://example.auth0.com"
    ));
    assert!(!same_site(
        "http://app.example.com",
        "https://login.example.com"
    ));
}

#[test]
fn a_session_crosses_to_another_tab_and_back_unchanged() {
    let s = session(300.0, 1_000.0);
    let text = s.to_transfer_json();
    let back = Session::from_transfer_json(&text, "https://op.example", "spa", 2_000.0).unwrap();
    assert_eq!(back.access_token, s.access_token);
    assert_eq!(back.refresh_token, s.refresh_token);
    assert_eq!(back.access_expires_at_ms, s.access_expires_at_ms);
    assert_eq!(back.claims, s.claims);
}

#[test]
fn stale_or_foreign_sessions_from_other_tabs_are_refused() {
    let text = session(300.0, 0.0).to_transfer_json();
    assert!(
        Session::from_transfer_json(&text, "https://op.example", "spa", 300_001.0).is_none(),
        "expired"
    );
    assert!(
        Session::from_transfer_json(&text, "https://other.example", "spa", 0.0).is_none(),
        "issuer"
    );
    assert!(
        Session::from_transfer_json(&text, "https://op.example", "other", 0.0).is_none(),
        "client"
    );
    assert!(Session::from_transfer_json("garbage", "https://op.example", "spa", 0.0).is_none());
}

#[test]
fn generations_order_sessions_across_tabs() {
    let first = session(300.0, 0.0);
    let renewed = first.refreshed(
        TokenResponse {
            dpop: false,
            access_token: Secret::new("at2"),
            id_token: None,
            refresh_token: Some(Secret::new("rt2")),
            scope: None,
            expires_in: Some(300.0),
        },
        None,
        10_000.0,
    );
    assert_eq!(renewed.generation, first.generation + 1.0);
    assert!(
        is_newer(Some(&first), &renewed),
        "a renewal replaces the tokens it renewed"
    );
    assert!(
        !is_newer(Some(&renewed), &first),
        "a stale tab's answer never replaces newer tokens"
    );
    assert!(
        !is_newer(Some(&renewed), &renewed.clone()),
        "the same generation changes nothing"
    );
    assert!(is_newer(None, &first), "a logged-out tab takes any session");
    let back = Session::from_transfer_json(
        &renewed.to_transfer_json(),
        "https://op.example",
        "spa",
        10_000.0,
    )
    .unwrap();
    assert_eq!(
        back.generation, renewed.generation,
        "the generation crosses between tabs"
    );
}
