//! json::parse never panics; what it accepts, serde_json accepts with equal values (numbers
//! bit for bit); what serde_json accepts and it refuses is one of its deliberate refusals.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::json;
use pixy_oidc::Code;
use pixy_oidc_fuzz::same;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = json::parse(text, "t");
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Ok(v), Ok(t)) => assert!(same(v, t), "ours {v:?}, serde_json {t:?}"),
        (Ok(v), Err(e)) => panic!("accepted {v:?}, serde_json refused: {e}"),
        (Err(e), Ok(_)) => {
            assert_eq!(e.code, Code::InvalidResponse);
            // Duplicate names (serde_json keeps the last) and depth 33 to 128 (serde_json's
            // limit).
            assert!(
                e.message.contains("duplicate member name")
                    || e.message.contains("nesting too deep"),
                "refused what serde_json accepts: {}",
                e.message
            );
        }
        (Err(e), Err(_)) => assert_eq!(e.code, Code::InvalidResponse),
    }
    // A lone number reads the same through number_value.
    if let Ok(json::Value::Num(n)) = &ours {
        if text.bytes().all(|b| !b.is_ascii_whitespace()) {
            assert_eq!(
                json::number_value(data).map(f64::to_bits),
                Some(n.to_bits())
            );
        }
    }
    // Strings read back as written.
    if let Ok(json::Value::Str(s)) = &ours {
        let mut out = String::new();
        json::write_str(&mut out, s);
        assert_eq!(
            json::parse(&out, "t")
                .ok()
                .as_ref()
                .and_then(|v| v.as_str()),
            Some(s.as_str())
        );
    }
});
