//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` is never sent, whatever the
//! metadata says (RFC 9700 §2.1.1).

use super::b64;
use core::fmt;
use sha2::{Digest, Sha256};

/// The code verifier (RFC 7636 §4.1). Not `Clone`, and its `Debug` prints `[redacted]`.
#[derive(PartialEq, Eq)]
pub struct Verifier(String);

impl Verifier {
    /// 32 random bytes, base64url: 43 characters of the unreserved alphabet (RFC 7636 §4.1).
    pub fn from_random(bytes: &[u8; 32]) -> Self {
        Verifier(b64::encode(bytes))
    }
    /// A verifier read back from the login in flight. `None` unless it has the RFC 7636 §4.1
    /// shape (43 to 128 unreserved characters).
    pub fn from_stored(s: &str) -> Option<Self> {
        let ok = (43..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        ok.then(|| Verifier(s.to_string()))
    }
    pub fn secret(&self) -> &str {
        &self.0
    }
    /// `BASE64URL(SHA256(ASCII(code_verifier)))`, RFC 7636 §4.2.
    pub fn challenge(&self) -> String {
        challenge_s256(&self.0)
    }
}

/// RFC 7636 §4.2, S256.
pub fn challenge_s256(verifier: &str) -> String {
    b64::encode(&Sha256::digest(verifier.as_bytes()))
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier([redacted])")
    }
}

#[cfg(test)]
mod tests {
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
}
