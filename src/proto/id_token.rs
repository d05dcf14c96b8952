//! ID token validation, OIDC Core §3.1.3.7 (and §12.2 for refreshed ID tokens). The signature
//! is checked by the browser shell with WebCrypto; everything else is decided here.

use super::b64;
use super::config::{Config, Tenants};
use super::discovery::{fill_tenant, has_tenant_placeholder, Metadata};
use super::error::{cat, join, quoted, Code, Error, Result};
#[cfg(any(test, feature = "fuzzing"))]
use super::jose::Hash;
use super::jose::Jws;
use super::json::{number_text, Value};

/// The validated claims.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// The payload JSON text, handed to JavaScript as `claims`.
    pub json: String,
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: f64,
    pub iat: f64,
    pub nonce: Option<String>,
}

/// What the `nonce` claim must be.
#[derive(Clone, Copy, Debug)]
pub enum NonceRule<'a> {
    /// A fresh login: the nonce sent (OIDC Core §3.1.3.7 item 11).
    Equals(&'a str),
    /// A refreshed ID token: absent (Keycloak 25+, authentik) or the original one (Keycloak ≤ 24).
    AbsentOr(Option<&'a str>),
}

/// The expectations for one ID token.
pub struct Expect<'a> {
    pub nonce: NonceRule<'a>,
    /// Seconds since the epoch, from the local clock.
    pub now_s: f64,
    /// The hash of the access token issued with it, under the hash of the ID token's `alg`,
    /// for `at_hash` (§3.1.3.6). The browser computes it with WebCrypto, so SHA-384/512 code
    /// never ships in the wasm.
    pub access_token_digest: Option<&'a [u8]>,
    /// The claims of the ID token this one replaces: `iss`, `sub`, `aud` must not change.
    pub previous: Option<&'a Claims>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(Code::InvalidIdToken, msg)
}

/// `at_hash` from the access token's digest: base64url of its left half (§3.1.3.6).
pub fn at_hash_of_digest(digest: &[u8]) -> String {
    b64::encode(digest.get(..digest.len() / 2).unwrap_or(&[]))
}

/// The hash of `data` (native code; the browser uses WebCrypto instead).
#[cfg(any(test, feature = "fuzzing"))]
pub fn digest(hash: Hash, data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256, Sha384, Sha512};
    match hash {
        Hash::Sha256 => Sha256::digest(data).to_vec(),
        Hash::Sha384 => Sha384::digest(data).to_vec(),
        Hash::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// `at_hash` of an access token (§3.1.3.6).
#[cfg(any(test, feature = "fuzzing"))]
pub fn at_hash(hash: Hash, access_token: &str) -> String {
    at_hash_of_digest(&digest(hash, access_token.as_bytes()))
}

/// A GUID as Entra writes tenant ids: 8-4-4-4-12 hex digits.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn numeric(v: &Value, claim: &str, required: bool) -> Result<Option<f64>> {
    match v.get(claim) {
        None if required => Err(bad(cat(&["the ID token has no `", claim, "` claim"]))),
        None => Ok(None),
        Some(Value::Num(n)) => Ok(Some(*n)),
        Some(_) => Err(bad(cat(&[
            "the ID token's `",
            claim,
            "` must be a number of seconds",
        ]))),
    }
}

/// The issuer the token must carry. Exact match, except for an Entra multi-tenant authority,
/// where `{tenantid}` is filled from the token's own `tid` and the tenant must be allowed.
fn expected_issuer(cfg: &Config, meta: &Metadata, payload: &Value) -> Result<String> {
    let Some(tenants) = &cfg.entra_multi_tenant else {
        return Ok(meta.issuer.clone());
    };
    if !has_tenant_placeholder(&meta.issuer) {
        return Ok(meta.issuer.clone());
    }
    let tid = payload
        .str_member("tid")
        .filter(|t| is_guid(t))
        .ok_or_else(|| bad("an Entra multi-tenant ID token must carry a `tid` GUID"))?;
    let allowed = match tenants {
        Tenants::Any => true,
        Tenants::List(list) => list.iter().any(|t| t.eq_ignore_ascii_case(tid)),
    };
    if !allowed {
        return Err(bad(cat(&[
            "tenant ",
            tid,
            " is not in entraMultiTenant.tenants; add it, or say tenants: \"any\"",
        ])));
    }
    Ok(fill_tenant(&meta.issuer, tid))
}

/// Validates the claims of an ID token whose signature the caller verifies.
pub fn validate(jws: &Jws, cfg: &Config, meta: &Metadata, expect: &Expect<'_>) -> Result<Claims> {
    let p = &jws.payload;
    let skew = cfg.clock_skew_s;

    // 2. iss
    let iss = p
        .str_member("iss")
        .ok_or_else(|| bad("the ID token has no `iss` claim"))?;
    let want_iss = expected_issuer(cfg, meta, p)?;
    if iss != want_iss {
        return Err(bad(cat(&[
            "the ID token's `iss` must be ",
            &quoted(&want_iss, usize::MAX),
            ", got ",
            &quoted(iss, 300),
        ])));
    }

    // 3. aud: a string or an array that contains our client id.
    const AUD_SHAPE: &str = "the ID token's `aud` must be a string or an array of strings";
    let aud: Vec<String> = match p.get("aud") {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Arr(items)) => {
            let mut aud = Vec::new();
            for a in items {
                aud.push(a.as_str().ok_or_else(|| bad(AUD_SHAPE))?.to_string());
            }
            aud
        }
        Some(_) => return Err(bad(AUD_SHAPE)),
        None => return Err(bad("the ID token has no `aud` claim")),
    };
    if !aud.contains(&cfg.client_id) {
        return Err(bad(cat(&[
            "the ID token's `aud` must contain the client id ",
            &quoted(&cfg.client_id, usize::MAX),
            ", got ",
            &quoted(&join(&aud, " "), 300),
        ])));
    }
    // 4–5. azp: when present it must be us; with several audiences it must be present.
    match p.get("azp") {
        Some(Value::Str(azp)) if *azp == cfg.client_id => {}
        Some(Value::Str(azp)) => {
            return Err(bad(cat(&[
                "the ID token's `azp` must be the client id ",
                &quoted(&cfg.client_id, usize::MAX),
                ", got ",
                &quoted(azp, 200),
            ])))
        }
        Some(_) => return Err(bad("the ID token's `azp` must be a string")),
        None if aud.iter().any(|a| *a != cfg.client_id) => {
            return Err(bad(
                "the ID token has several audiences but no `azp` naming this client",
            ))
        }
        None => {}
    }

    // sub (§2): present, a non-empty string.
    let sub = p
        .str_member("sub")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the ID token has no `sub` claim"))?;

    // 9. exp, with the configured leeway.
    let exp = numeric(p, "exp", true)?.unwrap_or(0.0);
    if exp + skew <= expect.now_s {
        return Err(bad(cat(&[
            "the ID token expired at ",
            &number_text(exp),
            ", and it is now ",
            &number_text(expect.now_s.floor()),
            " (allowed clock skew ",
            &number_text(skew),
            " s)",
        ])));
    }
    // 10. iat: required; not in the future. Not bounded in the past: Entra backdates it 300 s,
    // and the server's clock is never inferred from it.
    let iat = numeric(p, "iat", true)?.unwrap_or(0.0);
    if iat - skew > expect.now_s {
        return Err(bad(cat(&[
            "the ID token's `iat` (",
            &number_text(iat),
            ") is in the future (now ",
            &number_text(expect.now_s.floor()),
            ", allowed clock skew ",
            &number_text(skew),
            " s)",
        ])));
    }
    if let Some(nbf) = numeric(p, "nbf", false)? {
        if nbf - skew > expect.now_s {
            return Err(bad(cat(&[
                "the ID token is not valid before ",
                &number_text(nbf),
                " (`nbf`)",
            ])));
        }
    }

    // 11. nonce
    let nonce = match p.get("nonce") {
        None => None,
        Some(Value::Str(n)) => Some(n.clone()),
        Some(_) => return Err(bad("the ID token's `nonce` must be a string")),
    };
    match expect.nonce {
        NonceRule::Equals(sent) => match &nonce {
            Some(n) if n == sent => {}
            Some(_) => return Err(bad("the ID token's `nonce` differs from the one sent")),
            None => return Err(bad("the ID token has no `nonce`, but one was sent")),
        },
        NonceRule::AbsentOr(original) => {
            if let Some(n) = &nonce {
                if original != Some(n.as_str()) {
                    return Err(bad("the refreshed ID token carries a different `nonce`"));
                }
            }
        }
    }

    // at_hash: absent is fine, present must match (§3.1.3.8, §3.2.2.9).
    match (p.get("at_hash"), expect.access_token_digest) {
        (Some(Value::Str(h)), Some(d)) => {
            if d.len() != jws.alg.hash().output_len() || *h != at_hash_of_digest(d) {
                return Err(bad(
                    "the ID token's `at_hash` does not match the access token",
                ));
            }
        }
        (Some(Value::Str(_)), None) | (None, _) => {}
        (Some(_), _) => return Err(bad("the ID token's `at_hash` must be a string")),
    }

    // §12.2: a refreshed ID token is about the same user, from the same issuer, for us.
    if let Some(prev) = expect.previous {
        if prev.iss != iss || prev.sub != sub || prev.aud != aud {
            return Err(bad("the refreshed ID token changed `iss`, `sub` or `aud`"));
        }
    }

    Ok(Claims {
        json: jws.payload_json.clone(),
        iss: iss.to_string(),
        sub: sub.to_string(),
        aud,
        exp,
        iat,
        nonce,
    })
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
