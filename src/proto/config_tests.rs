//! Tests of `proto::config`.

use super::*;

const PAGE: &str = "http://localhost:5173/app";

#[test]
fn defaults_follow_the_documented_ones() {
    let c = Config::from_json(
        r#"{"issuer":"https://idp.example/realms/demo","clientId":"spa"}"#,
        PAGE,
    )
    .unwrap();
    assert_eq!(c.redirect_uri, PAGE);
    assert_eq!(c.post_logout_redirect_uri, PAGE);
    assert_eq!(c.silent_redirect_uri, PAGE);
    assert_eq!(c.scopes, vec!["openid", "profile"]);
    assert_eq!(c.session_restore, SessionRestore::Auto);
    assert_eq!(c.clock_skew_s, 60.0);
    assert!(c.entra_multi_tenant.is_none());
}

#[test]
fn openid_is_always_sent_once() {
    let c = Config::from_json(
        r#"{"issuer":"https://i.example","clientId":"c","scopes":["email","openid","email"]}"#,
        PAGE,
    )
    .unwrap();
    assert_eq!(c.scopes, vec!["openid", "email"]);
}

#[test]
fn refuses_unusable_configs() {
    for (json, needle) in [
        (r#"{}"#, "`issuer` is required"),
        (
            r#"{"issuer":"https://i.example"}"#,
            "`clientId` is required",
        ),
        (
            r#"{"issuer":"i.example","clientId":"c"}"#,
            "absolute https URL",
        ),
        (
            r#"{"issuer":"http://idp.example","clientId":"c"}"#,
            "must use https",
        ),
        (
            r#"{"issuer":"https://i.example?x=1","clientId":"c"}"#,
            "query",
        ),
        (
            r#"{"issuer":"https://i.example","clientId":"c","extraAuthParams":{"state":"x"}}"#,
            "may not set `state`",
        ),
        (
            r#"{"issuer":"https://i.example","clientId":"c","sessionRestore":"magic"}"#,
            "sessionRestore",
        ),
        (
            r#"{"issuer":"https://i.example","clientId":"c","entraMultiTenant":{}}"#,
            "tenants",
        ),
        (
            r#"{"issuer":"https://i.example","clientId":"c","entraMultiTenant":{"tenants":["x"]}}"#,
            "GUID",
        ),
        (
            r#"{"issuer":"https://i.example","clientId":"c","clockSkewSeconds":-1}"#,
            "clockSkewSeconds",
        ),
        (r#"[]"#, "expects an object"),
    ] {
        let e = Config::from_json(json, PAGE).unwrap_err();
        assert_eq!(e.code, Code::InvalidConfig);
        assert!(e.message.contains(needle), "{json}: {}", e.message);
    }
}

#[test]
fn http_issuer_is_fine_on_loopback() {
    assert!(
        Config::from_json(r#"{"issuer":"http://127.0.0.1:9090","clientId":"c"}"#, PAGE).is_ok()
    );
    assert!(Config::from_json(
        r#"{"issuer":"http://localhost:8080/realms/x","clientId":"c"}"#,
        PAGE
    )
    .is_ok());
}

#[test]
fn http_issuers_only_on_loopback() {
    for issuer in [
        "http://localhost:8080/realms/demo",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "http://idp.localhost",
    ] {
        let json = format!(r#"{{"issuer":"{issuer}","clientId":"c"}}"#);
        assert!(Config::from_json(&json, PAGE).is_ok(), "{issuer}");
    }
    // Names that merely start like a loopback address are anyone's to register.
    for issuer in [
        "http://127.evil.example",
        "http://127.0.0.1.evil.example",
        "http://127.0.0.1evil:8080",
        "http://localhost.evil.example",
        "http://127.1",
        "http://[::2]",
    ] {
        let json = format!(r#"{{"issuer":"{issuer}","clientId":"c"}}"#);
        let e = Config::from_json(&json, PAGE).unwrap_err();
        assert_eq!(e.code, Code::InvalidConfig, "{issuer}");
        assert!(
            e.message.contains("must use https"),
            "{issuer}: {}",
            e.message
        );
    }
}

fn refusal(extra: &str) -> Error {
    let json = [
        r#"{"issuer":"https://i.example","clientId":"c","#,
        extra,
        "}",
    ]
    .concat();
    let e = Config::from_json(&json, PAGE).unwrap_err();
    assert_eq!(e.code, Code::InvalidConfig, "{json}");
    e
}

#[test]
fn unknown_options_name_the_closest_known_one() {
    for (extra, needle) in [
        (
            r#""redirectURI":"https://a.example/""#,
            "unknown option \"redirectURI\": did you mean `redirectUri`?",
        ),
        (
            r#""scope":"openid""#,
            "unknown option \"scope\": did you mean `scopes`?",
        ),
        (
            r#""sesionRestore":"none""#,
            "did you mean `sessionRestore`?",
        ),
        (r#""client_id":"c""#, "did you mean `clientId`?"),
        (r#""debugg":true"#, "did you mean `debug`?"),
        (r#""silentTimeout":1"#, "did you mean `silentTimeoutMs`?"),
    ] {
        let e = refusal(extra);
        assert!(e.message.contains(needle), "{extra}: {}", e.message);
    }
    // Nothing close: no guess.
    let e = refusal(r#""theme":"dark""#);
    assert_eq!(e.message, "unknown option \"theme\"");
    let e = refusal(r#""x":1"#);
    assert_eq!(e.message, "unknown option \"x\"");
}

#[test]
fn unknown_options_are_checked_before_required_ones() {
    let e =
        Config::from_json(r#"{"issuer":"https://i.example","clientID":"c"}"#, PAGE).unwrap_err();
    assert!(
        e.message.contains("did you mean `clientId`?"),
        "{}",
        e.message
    );
}

#[test]
fn a_client_secret_is_refused_with_the_way_out() {
    for extra in [r#""clientSecret":"s""#, r#""client_secret":"s""#] {
        let e = refusal(extra);
        assert!(e.message.contains("public client"), "{}", e.message);
        assert!(e.message.contains("PKCE"), "{}", e.message);
        assert!(e.message.contains("backend (BFF)"), "{}", e.message);
        assert!(!e.message.contains("\"s\""), "the secret is not echoed");
    }
}

#[test]
fn session_end_options_have_defaults_and_bounds() {
    let c = Config::from_json(r#"{"issuer":"https://i.example","clientId":"c"}"#, PAGE).unwrap();
    assert_eq!(
        c.idle_timeout_ms, None,
        "idle logout is off unless asked for"
    );
    assert_eq!(c.idle_warning_ms, 60_000.0);
    assert!(c.idle_logout_at_provider);
    assert_eq!(c.session_check_interval_ms, 5_000.0);
    assert_eq!(c.front_channel_logout_uri, None);
    let c = Config::from_json(
        r#"{"issuer":"https://i.example","clientId":"c","idleTimeoutMs":900000,
        "idleWarningMs":30000,"idleLogoutAtProvider":false,"sessionCheckIntervalMs":5,
        "frontChannelLogoutUri":"https://a.example/fc"}"#,
        PAGE,
    )
    .unwrap();
    assert_eq!(c.idle_timeout_ms, Some(900_000.0));
    assert_eq!(c.idle_warning_ms, 30_000.0);
    assert!(!c.idle_logout_at_provider);
    assert_eq!(
        c.session_check_interval_ms, MIN_SESSION_CHECK_MS,
        "a typo does not poll in a loop"
    );
    assert_eq!(
        c.front_channel_logout_uri.as_deref(),
        Some("https://a.example/fc")
    );
    let off = Config::from_json(
        r#"{"issuer":"https://i.example","clientId":"c","idleTimeoutMs":0,"sessionCheckIntervalMs":0}"#,
        PAGE,
    )
    .unwrap();
    assert_eq!(off.idle_timeout_ms, None);
    assert_eq!(off.session_check_interval_ms, 0.0);
    let short = Config::from_json(
        r#"{"issuer":"https://i.example","clientId":"c","idleTimeoutMs":30000}"#,
        PAGE,
    )
    .unwrap();
    assert_eq!(short.idle_warning_ms, 15_000.0, "half a short timeout");
    for bad in [
        r#""idleTimeoutMs":-1"#,
        r#""redirectUri":"https://a.example/app","frontChannelLogoutUri":"https://a.example/app""#,
        r#""silentRedirectUri":"https://a.example/s","frontChannelLogoutUri":"https://a.example/s?x=1""#,
        r#""idleTimeoutMs":"15m""#,
        r#""idleLogoutAtProvider":"no""#,
        r#""sessionCheckIntervalMs":true"#,
        r#""frontChannelLogoutUri":"/fc""#,
    ] {
        assert_eq!(refusal(bad).code, Code::InvalidConfig, "{bad}");
    }
}

#[test]
fn every_known_option_is_accepted() {
    let c = Config::from_json(
        r#"{"issuer":"https://i.example","clientId":"c","redirectUri":"https://a.example/",
        "scopes":["email"],"postLogoutRedirectUri":"https://a.example/","extraAuthParams":{},
        "silentRedirectUri":"https://a.example/s","sessionRestore":"none","clockSkewSeconds":5,
        "entraMultiTenant":null,"endSessionEndpoint":"https://i.example/logout",
        "extraLogoutParams":{},"silentTimeoutMs":1000,"httpTimeoutMs":1000,"debug":true,
        "dpop":true,"par":"always","idleTimeoutMs":60000,"idleWarningMs":1000,
        "idleLogoutAtProvider":true,"sessionCheckIntervalMs":2000,
        "frontChannelLogoutUri":"https://a.example/fc"}"#,
        PAGE,
    )
    .unwrap();
    assert!(c.debug && c.dpop);
    assert_eq!(c.par, Par::Always);
    assert_eq!(OPTIONS.len(), 22);
}

#[test]
fn dpop_and_par_have_their_defaults_and_refuse_other_values() {
    let c = Config::from_json(r#"{"issuer":"https://i.example","clientId":"c"}"#, PAGE).unwrap();
    assert!(!c.dpop);
    assert_eq!(c.par, Par::Auto);
    assert_eq!(refusal(r#""dpop":"yes""#).code, Code::InvalidConfig);
    assert_eq!(refusal(r#""par":"sometimes""#).code, Code::InvalidConfig);
}

#[test]
fn distance_ignores_case() {
    assert_eq!(distance("redirectURI", "redirectUri"), 0);
    assert_eq!(distance("scope", "scopes"), 1);
    assert_eq!(distance("", "abc"), 3);
    assert_eq!(distance("kitten", "sitting"), 3);
}
