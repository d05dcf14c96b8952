//! discovery::parse never panics; what it accepts is this issuer's, with https endpoints (the
//! issuer is https) or loopback ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::config::Config;
use pixy_oidc::proto::{discovery, url};
use pixy_oidc_fuzz::response;

fuzz_target!(|data: &[u8]| {
    let Some(resp) = response(data) else {
        return;
    };
    let cfg = Config::from_json(
        r#"{"issuer":"https://op.example","clientId":"spa"}"#,
        "https://app.example/",
    )
    .unwrap();
    if let Ok(m) = discovery::parse(&cfg, &resp) {
        assert_eq!(m.issuer, "https://op.example");
        for e in [&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri] {
            let p = url::split(e).unwrap();
            assert!(p.scheme.eq_ignore_ascii_case("https") || url::is_loopback_host(p.host()));
        }
    }
});
