//! Tests of `proto::pkce`.

use super::*;

#[test]
fn rfc7636_appendix_b_vector() {
    assert_eq!(
        challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn verifier_from_32_bytes_is_43_unreserved_characters() {
    let v = Verifier::from_random(&[0xff; 32]);
    assert_eq!(v.secret().len(), 43);
    assert!(Verifier::from_stored(v.secret()).is_some());
    assert!(Verifier::from_stored("short").is_none());
    assert!(Verifier::from_stored(&"a".repeat(42)).is_none());
    assert!(Verifier::from_stored(&format!("{}!", "a".repeat(43))).is_none());
}

#[test]
fn debug_never_shows_the_verifier() {
    let v = Verifier::from_random(&[7; 32]);
    assert!(!format!("{v:?}").contains(v.secret()));
}
