//! Tests of `proto::discovery`.

use super::*;

pub fn cfg(issuer: &str) -> Config {
    Config::from_json(
        &format!(r#"{{"issuer":"{issuer}","clientId":"spa"}}"#),
        "http://localhost:5173/",
    )
    .unwrap()
}

pub fn doc(issuer: &str) -> String {
    let base = issuer.trim_end_matches('/');
    format!(
        r#"{{"issuer":"{issuer}","authorization_endpoint":"{base}/auth","token_endpoint":"{base}/token",
        "jwks_uri":"{base}/jwks","userinfo_endpoint":"{base}/me","end_session_endpoint":"{base}/logout"}}"#
    )
}

#[test]
fn discovery_url_never_doubles_the_slash() {
    assert_eq!(
        url("https://t.eu.auth0.com/"),
        "https://t.eu.auth0.com/.well-known/openid-configuration"
    );
    assert_eq!(
        url("https://kc/realms/demo"),
        "https://kc/realms/demo/.well-known/openid-configuration"
    );
}

#[test]
fn rp_discovery_openid_configuration_accepts_endpoints_from_the_document() {
    let m = parse(
        &cfg("https://op.example"),
        &Response::json(200, &doc("https://op.example")),
    )
    .unwrap();
    assert_eq!(m.token_endpoint, "https://op.example/token");
    assert_eq!(m.jwks_uri, "https://op.example/jwks");
    assert!(!m.iss_parameter_supported);
}

#[test]
fn rp_discovery_issuer_not_matching_config_rejects() {
    for (configured, served) in [
        ("https://op.example", "https://op.example/"),
        ("https://op.example/", "https://op.example"),
        ("https://op.example", "https://OP.example"),
        ("https://op.example", "https://evil.example"),
    ] {
        let e = parse(&cfg(configured), &Response::json(200, &doc(served))).unwrap_err();
        assert_eq!(e.code, Code::IssuerMismatch, "{configured} vs {served}");
    }
}

#[test]
fn trailing_slash_issuer_matches_exactly() {
    assert!(parse(
        &cfg("https://t.auth0.com/"),
        &Response::json(200, &doc("https://t.auth0.com/"))
    )
    .is_ok());
}

#[test]
fn metadata_gaps_are_not_errors() {
    // No code_challenge_methods_supported, no none auth method, no end_session_endpoint.
    let body = r#"{"issuer":"https://op.example","authorization_endpoint":"https://a.example/authorize",
        "token_endpoint":"https://a.example/token","jwks_uri":"https://op.example/keys"}"#;
    let m = parse(&cfg("https://op.example"), &Response::json(200, body)).unwrap();
    assert_eq!(m.authorization_endpoint, "https://a.example/authorize");
    assert!(m.end_session_endpoint.is_none());
}

#[test]
fn missing_or_downgraded_endpoints_are_invalid_metadata() {
    let no_token = r#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/a","jwks_uri":"https://op.example/k"}"#;
    let e = parse(&cfg("https://op.example"), &Response::json(200, no_token)).unwrap_err();
    assert_eq!(e.code, Code::InvalidMetadata);
    assert!(e.message.contains("token_endpoint"));
    let http =
        doc("https://op.example").replace("https://op.example/token", "http://op.example/token");
    assert_eq!(
        parse(&cfg("https://op.example"), &Response::json(200, &http))
            .unwrap_err()
            .code,
        Code::InvalidMetadata
    );
}

#[test]
fn entra_template_only_with_the_opt_in() {
    let tmpl = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let configured = "https://login.microsoftonline.com/common/v2.0";
    assert_eq!(
        parse(&cfg(configured), &Response::json(200, &doc(tmpl)))
            .unwrap_err()
            .code,
        Code::IssuerMismatch
    );
    let mut c = cfg(configured);
    c.entra_multi_tenant = Some(super::super::config::Tenants::Any);
    assert_eq!(
        parse(&c, &Response::json(200, &doc(tmpl))).unwrap().issuer,
        tmpl
    );
    assert!(!entra_template_matches(
        "https://x/{tenantid}/{tenantid}",
        "https://x/a/a"
    ));
    assert!(!entra_template_matches(
        tmpl,
        "https://login.microsoftonline.com/a/b/v2.0"
    ));
}

#[test]
fn an_https_issuer_endpoint_on_a_127_lookalike_is_refused() {
    let issuer = "https://op.example";
    for endpoint in [
        "http://127.attacker.example/token",
        "http://127.0.0.1.attacker.example/token",
        "http://localhost.attacker.example/token",
    ] {
        let served = doc(issuer).replace("https://op.example/token", endpoint);
        assert!(served.contains(endpoint));
        let e = parse(&cfg(issuer), &Response::json(200, &served)).unwrap_err();
        assert_eq!(e.code, Code::InvalidMetadata, "{endpoint}");
        assert!(
            e.message.contains("must use https"),
            "{endpoint}: {}",
            e.message
        );
    }
    // Real loopback stays allowed for development.
    let served = doc(issuer).replace("https://op.example/token", "http://127.0.0.1:9000/token");
    let m = parse(&cfg(issuer), &Response::json(200, &served)).unwrap();
    assert_eq!(m.token_endpoint, "http://127.0.0.1:9000/token");
}
