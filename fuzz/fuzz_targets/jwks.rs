//! jose::parse_jwks never panics, whatever the response; every key it keeps has a `kty`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::jose;
use pixy_oidc_fuzz::response;

fuzz_target!(|data: &[u8]| {
    let Some(resp) = response(data) else {
        return;
    };
    if let Ok(keys) = jose::parse_jwks(&resp) {
        assert!(keys.iter().all(|k| !k.kty.is_empty()));
    }
});
