//! JWS compact serialization (RFC 7515 §7.1), JWK sets (RFC 7517) and the algorithms accepted
//! for ID token signatures (RFC 7518 §3, RFC 8037). `none` and the HMAC algorithms are refused:
//! a public client has no shared secret, so an HMAC "signature" proves nothing.
//!
//! The signature itself is checked by WebCrypto in the browser shell; this module says which
//! bytes, which key and which algorithm.

use super::b64;
use super::error::{cat, quoted, Code, Error, Result};
use super::http::{self, Response};
use super::json::{self, uint_text, Value};
use super::url;

/// Signature algorithms pixy-oidc verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
}

/// The hash a signature algorithm uses; also the `at_hash` hash (OIDC Core §3.1.3.6), with
/// SHA-512 for Ed25519.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The WebCrypto name.
    pub fn web_name(self) -> &'static str {
        match self {
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

impl Alg {
    pub fn parse(s: &str) -> Result<Alg> {
        Ok(match s {
            "RS256" => Alg::RS256,
            "RS384" => Alg::RS384,
            "RS512" => Alg::RS512,
            "PS256" => Alg::PS256,
            "PS384" => Alg::PS384,
            "PS512" => Alg::PS512,
            "ES256" => Alg::ES256,
            "ES384" => Alg::ES384,
            "ES512" => Alg::ES512,
            "EdDSA" | "Ed25519" => Alg::EdDSA,
            other => {
                return Err(Error::new(
                    Code::InvalidIdToken,
                    cat(&[
                        "the ID token's `alg` must be RS*, PS*, ES* or EdDSA, got ",
                        &quoted(other, 20),
                    ]),
                ))
            }
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }
    pub fn hash(self) -> Hash {
        match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 => Hash::Sha256,
            Alg::RS384 | Alg::PS384 | Alg::ES384 => Hash::Sha384,
            Alg::RS512 | Alg::PS512 | Alg::ES512 | Alg::EdDSA => Hash::Sha512,
        }
    }
    /// The JWK `kty` a key for this algorithm has.
    pub fn kty(self) -> &'static str {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => "RSA",
            Alg::ES256 | Alg::ES384 | Alg::ES512 => "EC",
            Alg::EdDSA => "OKP",
        }
    }
    /// The curve for EC and OKP keys.
    pub fn crv(self) -> Option<&'static str> {
        match self {
            Alg::ES256 => Some("P-256"),
            Alg::ES384 => Some("P-384"),
            Alg::ES512 => Some("P-521"),
            Alg::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }
    /// ECDSA and EdDSA signatures have a fixed length (RFC 7518 §3.4, RFC 8032 §5.1.6).
    pub fn signature_len(self) -> Option<usize> {
        match self {
            Alg::ES256 | Alg::EdDSA => Some(64),
            Alg::ES384 => Some(96),
            Alg::ES512 => Some(132),
            _ => None,
        }
    }
}

/// A parsed JWS whose signature is not yet verified.
#[derive(Debug)]
pub struct Jws {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: String,
    pub signature: Vec<u8>,
    /// The payload as JSON text (for the JavaScript `claims` object) and parsed.
    pub payload_json: String,
    pub payload: Value,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(Code::InvalidIdToken, msg)
}

/// Parses a compact JWS. Never echoes the token in an error.
pub fn parse(token: &str) -> Result<Jws> {
    let mut parts = url::pieces(token, b'.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(cat(&[
            "the ID token must be a JWS of three dot-separated parts, got ",
            &uint_text(url::pieces(token, b'.').count() as u64),
            " part(s)",
        ])));
    };
    let header_bytes =
        b64::decode(h).ok_or_else(|| bad("the ID token's header is not base64url"))?;
    let payload_bytes =
        b64::decode(p).ok_or_else(|| bad("the ID token's payload is not base64url"))?;
    let signature =
        b64::decode(s).ok_or_else(|| bad("the ID token's signature is not base64url"))?;
    let header_text =
        String::from_utf8(header_bytes).map_err(|_| bad("the ID token's header is not UTF-8"))?;
    let header = json::parse(&header_text, "the ID token's header")
        .map_err(|mut e| bad(core::mem::take(&mut e.message)))?;
    if !header.is_object() {
        return Err(bad("the ID token's header is not a JSON object"));
    }
    let alg = Alg::parse(
        header
            .str_member("alg")
            .ok_or_else(|| bad("the ID token's header has no `alg`"))?,
    )?;
    if header.get("crit").is_some() {
        return Err(bad(
            "the ID token's header has `crit`, which pixy-oidc does not support (RFC 7515 §4.1.11)",
        ));
    }
    if header.str_member("enc").is_some() {
        return Err(bad(
            "the ID token is encrypted (JWE); expected a signed one",
        ));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::Str(k)) => Some(k.clone()),
        Some(_) => return Err(bad("the ID token's `kid` must be a string")),
    };
    if signature.is_empty() {
        return Err(bad("the ID token has an empty signature"));
    }
    if let Some(len) = alg.signature_len() {
        if signature.len() != len {
            return Err(bad(cat(&[
                "the ID token's ",
                alg.name(),
                " signature must be ",
                &uint_text(len as u64),
                " bytes, got ",
                &uint_text(signature.len() as u64),
            ])));
        }
    }
    let payload_json =
        String::from_utf8(payload_bytes).map_err(|_| bad("the ID token's payload is not UTF-8"))?;
    let payload = json::parse(&payload_json, "the ID token's payload")
        .map_err(|mut e| bad(core::mem::take(&mut e.message)))?;
    if !payload.is_object() {
        return Err(bad("the ID token's payload is not a JSON object"));
    }
    Ok(Jws {
        alg,
        kid,
        signing_input: cat(&[h, ".", p]),
        signature,
        payload_json,
        payload,
    })
}

/// A public key from the provider's JWKS, reduced to what verification needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    pub use_: Option<String>,
    pub alg: Option<String>,
    pub crv: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

/// Parses a JWK set (RFC 7517 §5). Keys of unknown types and malformed keys are skipped, as
/// §5 asks; a document that is not a key set at all is an error.
pub fn parse_jwks(resp: &Response) -> Result<Vec<Jwk>> {
    let v = http::json_object(resp, "the JWKS")?;
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::new(Code::InvalidResponse, "the JWKS has no `keys` array"))?;
    let mut out = Vec::new();
    for k in keys {
        let s = |n: &str| k.str_member(n).map(str::to_string);
        let Some(kty) = s("kty") else { continue };
        let jwk = Jwk {
            kty,
            kid: s("kid"),
            use_: s("use"),
            alg: s("alg"),
            crv: s("crv"),
            n: s("n"),
            e: s("e"),
            x: s("x"),
            y: s("y"),
        };
        let complete = match jwk.kty.as_str() {
            "RSA" => jwk.n.is_some() && jwk.e.is_some(),
            "EC" => jwk.crv.is_some() && jwk.x.is_some() && jwk.y.is_some(),
            "OKP" => jwk.crv.is_some() && jwk.x.is_some(),
            _ => false,
        };
        if complete {
            out.push(jwk);
        }
    }
    Ok(out)
}

/// Which keys may have signed `jws`.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyChoice<'a> {
    /// Try these, in order; any one that verifies is enough. With a `kid` there is at most one
    /// usable key per `kid`; without one (rp-id_token-kid-absent-multiple-jwks) every signing
    /// key of the right type is tried: each belongs to the provider, so accepting a signature by
    /// any of them is as safe as by the one the provider meant.
    Candidates(Vec<&'a Jwk>),
    /// The `kid` is in no usable key: refetch the JWKS once (key rotation), then give up.
    UnknownKid,
    /// No key of the right type at all, and no `kid` to look for.
    NoKey,
}

/// Picks candidate keys by `kid`, use (never `enc`), type, curve and, when the key says, `alg`.
pub fn select_keys<'a>(keys: &'a [Jwk], jws: &Jws) -> KeyChoice<'a> {
    let alg = jws.alg;
    let mut usable: Vec<&Jwk> = Vec::new();
    for k in keys {
        let ok = k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.kty == alg.kty()
            && alg.crv().is_none_or(|c| k.crv.as_deref() == Some(c))
            && k.alg
                .as_deref()
                .is_none_or(|a| a == alg.name() || (a == "Ed25519" && alg == Alg::EdDSA))
            && jws
                .kid
                .as_deref()
                .is_none_or(|kid| k.kid.as_deref() == Some(kid));
        if ok {
            usable.push(k);
        }
    }
    match (&jws.kid, usable.is_empty()) {
        (_, false) => KeyChoice::Candidates(usable),
        (Some(_), true) => KeyChoice::UnknownKid,
        (None, true) => KeyChoice::NoKey,
    }
}

#[cfg(test)]
#[path = "jose_tests.rs"]
pub(crate) mod tests;
