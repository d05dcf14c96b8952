//! token::parse never panics; what it accepts has an access token and a finite, non-negative
//! lifetime if any.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::token;
use pixy_oidc_fuzz::response;

fuzz_target!(|data: &[u8]| {
    let Some(resp) = response(data) else {
        return;
    };
    // The first byte says whether a DPoP proof went with the request.
    let dpop = data.first().is_some_and(|b| b & 1 == 1);
    if let Ok(t) = token::parse(&resp, dpop) {
        assert!(!t.access_token.expose().is_empty());
        assert!(t.expires_in.is_none_or(|e| e.is_finite() && e >= 0.0));
        assert_eq!(t.dpop, dpop);
    }
});
