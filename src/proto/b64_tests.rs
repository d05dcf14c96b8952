//! Tests of `proto::b64`.

use super::*;

#[test]
fn rfc4648_vectors_in_url_alphabet() {
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(encode(plain.as_bytes()), enc);
        assert_eq!(decode(enc).unwrap(), plain.as_bytes());
    }
    assert_eq!(encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(decode("-_8").unwrap(), vec![0xfb, 0xff]);
}

#[test]
fn refuses_bad_input() {
    for bad in ["Zg==", "Z", "Zm9v+", "Zm9v/", "Zh", "a b", "Zm9\u{e9}"] {
        assert!(decode(bad).is_none(), "{bad}");
    }
}
