//! Config::from_json never panics; what it accepts has an https issuer, or an http one on
//! loopback.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::config::Config;
use pixy_oidc::proto::url;
use pixy_oidc::Code;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_json(text, "https://app.example/") {
        Ok(c) => {
            let p = url::split(&c.issuer).unwrap();
            assert!(p.scheme.eq_ignore_ascii_case("https") || url::is_loopback_host(p.host()));
        }
        Err(e) => assert_eq!(e.code, Code::InvalidConfig),
    }
});
