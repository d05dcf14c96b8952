//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` is never sent, whatever the
//! metadata says (RFC 9700 §2.1.1).

use super::b64;
use core::fmt;

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
    /// `BASE64URL(SHA256(ASCII(code_verifier)))`, RFC 7636 §4.2 (native code; the browser
    /// hashes with WebCrypto and hands the digest to [`challenge_from_digest`]).
    #[cfg(test)]
    pub fn challenge(&self) -> String {
        challenge_s256(&self.0)
    }
}

/// RFC 7636 §4.2, S256 (native code: SHA-256 ships in no wasm).
#[cfg(test)]
pub fn challenge_s256(verifier: &str) -> String {
    use sha2::{Digest, Sha256};
    b64::encode(&Sha256::digest(verifier.as_bytes()))
}

/// The S256 challenge from `SHA256(ASCII(code_verifier))` computed by the caller (WebCrypto in
/// the browser): the time, the random bytes and this digest come in as values. `None` unless
/// it is 32 bytes.
pub fn challenge_from_digest(digest: &[u8]) -> Option<String> {
    (digest.len() == 32).then(|| b64::encode(digest))
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier([redacted])")
    }
}

#[cfg(test)]
#[path = "pkce_tests.rs"]
mod tests;
