//! callback::parse never panics, on a whole page URL or on the query of one on the redirect
//! URI; what it returns has a `code` or an `error`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::callback;

const REDIRECT: &str = "https://app.example/cb";

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = callback::parse(s, &[REDIRECT, s]);
    if let Ok(Some(p)) = callback::parse(&format!("{REDIRECT}?{s}"), &[REDIRECT]) {
        assert!(p.code.is_some() || p.error.is_some());
    }
});
