//! userinfo::parse never panics; what it accepts is JSON whose `sub` is the ID token's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::{json, userinfo};
use pixy_oidc_fuzz::response;

fuzz_target!(|data: &[u8]| {
    let Some(resp) = response(data) else {
        return;
    };
    if let Ok(text) = userinfo::parse(&resp, "user-1") {
        let v = json::parse(&text, "t").unwrap();
        assert_eq!(v.str_member("sub"), Some("user-1"));
    }
});
