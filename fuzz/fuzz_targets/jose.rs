//! jose::parse (compact JWS) never panics; what it accepts has three parts, the signed bytes
//! are the first two as given, and the payload is a JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::jose;
use pixy_oidc::Code;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    match jose::parse(token) {
        Ok(jws) => {
            assert_eq!(token.split('.').count(), 3);
            let (signed, _) = token.rsplit_once('.').unwrap();
            assert_eq!(jws.signing_input, signed);
            assert!(jws.payload.is_object());
            assert!(!jws.signature.is_empty());
        }
        Err(e) => assert_eq!(e.code, Code::InvalidIdToken),
    }
});
