//! ID token validation, OIDC Core §3.1.3.7 (and §12.2 for refreshed ID tokens). The signature
//! is checked by the browser shell with WebCrypto; everything else is decided here.

use super::b64;
use super::config::{Config, Tenants};
use super::discovery::{fill_tenant, has_tenant_placeholder, Metadata};
use super::error::{cat, join, quoted, Code, Error, Result};
use super::jose::{Hash, Jws};
use super::json::{number_text, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

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
pub fn digest(hash: Hash, data: &[u8]) -> Vec<u8> {
    match hash {
        Hash::Sha256 => Sha256::digest(data).to_vec(),
        Hash::Sha384 => Sha384::digest(data).to_vec(),
        Hash::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// `at_hash` of an access token (§3.1.3.6).
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
mod tests {
    use super::super::discovery::{
        self,
        tests::{cfg, doc},
    };
    use super::super::http::Response;
    use super::super::jose::{self, tests::jws};
    use super::*;

    const ISS: &str = "https://op.example";
    const NOW: f64 = 1_700_000_000.0;
    const NONCE: &str = "n-0S6_WzA2Mj";
    const AT: &str = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";

    fn setup() -> (Config, Metadata) {
        let c = cfg(ISS);
        let m = discovery::parse(&c, &Response::json(200, &doc(ISS))).unwrap();
        (c, m)
    }

    fn good() -> String {
        format!(
            r#"{{"iss":"{ISS}","sub":"alice","aud":"spa","exp":{},"iat":{},"nonce":"{NONCE}","at_hash":"{}"}}"#,
            NOW + 300.0,
            NOW,
            at_hash(Hash::Sha256, AT)
        )
    }

    /// Validates with the access token's digest under the token's own algorithm when the
    /// expectation asks for one (`access_token_digest: Some(&[])` as a marker).
    fn check_with(payload: &str, alg: &str, expect: Expect<'_>) -> Result<Claims> {
        let (c, m) = setup();
        let t = jose::parse(&jws(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#), payload))?;
        let d = digest(t.alg.hash(), AT.as_bytes());
        let expect = Expect {
            access_token_digest: expect.access_token_digest.map(|_| d.as_slice()),
            ..expect
        };
        validate(&t, &c, &m, &expect)
    }

    fn check(payload: &str) -> Result<Claims> {
        check_with(
            payload,
            "RS256",
            Expect {
                nonce: NonceRule::Equals(NONCE),
                now_s: NOW,
                access_token_digest: Some(&[]),
                previous: None,
            },
        )
    }

    fn edit(key: &str, value: Option<&str>) -> String {
        let v = super::super::json::parse(&good(), "t").unwrap();
        let Value::Obj(mut m) = v else {
            panic!("object")
        };
        m.retain(|(k, _)| k != key);
        let mut w = super::super::json::ObjectWriter::new();
        for (k, v) in &m {
            w = match v {
                Value::Str(s) => w.str(k, s),
                Value::Num(n) => w.num(k, *n),
                _ => w,
            };
        }
        if let Some(raw) = value {
            w = w.raw(key, raw);
        }
        w.finish()
    }

    fn rejects(payload: &str, needle: &str) {
        let e = check(payload).unwrap_err();
        assert_eq!(e.code, Code::InvalidIdToken, "{payload}");
        assert!(
            e.message.contains(needle),
            "{needle:?} not in {:?}",
            e.message
        );
    }

    #[test]
    fn oidc_core_at_hash_example() {
        // OIDC Core A.3/A.4: this access token with RS256 has at_hash 77QmUPtjPfzWtF2AnpK9RQ.
        assert_eq!(at_hash(Hash::Sha256, AT), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[test]
    fn a_good_token_validates() {
        let c = check(&good()).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.aud, vec!["spa"]);
    }

    #[test]
    fn rp_id_token_issuer_mismatch_and_missing() {
        rejects(
            &edit("iss", Some("\"https://evil.example\"")),
            "`iss` must be",
        );
        rejects(
            &edit("iss", Some("\"https://op.example/\"")),
            "`iss` must be",
        );
        rejects(&edit("iss", None), "no `iss`");
    }

    #[test]
    fn rp_id_token_aud() {
        rejects(&edit("aud", Some("\"other\"")), "`aud` must contain");
        rejects(&edit("aud", None), "no `aud`");
        rejects(
            &edit("aud", Some("[\"other\",\"x\"]")),
            "`aud` must contain",
        );
        rejects(&edit("aud", Some("42")), "`aud` must be");
        assert!(
            check(&edit("aud", Some("[\"spa\"]"))).is_ok(),
            "one-element array accepted"
        );
    }

    #[test]
    fn azp_present_and_not_the_client_rejects() {
        rejects(
            &edit("azp", Some("\"other\"")),
            "`azp` must be the client id",
        );
        assert!(check(&edit("azp", Some("\"spa\""))).is_ok());
    }

    #[test]
    fn zitadel_style_audience_array_with_azp_accepts() {
        let p = edit("aud", Some("[\"spa\",\"sibling\",\"123456789\"]"));
        rejects(&p, "no `azp`");
        let with_azp = p.replacen('{', "{\"azp\":\"spa\",", 1);
        assert!(check(&with_azp).is_ok());
    }

    #[test]
    fn rp_id_token_sub_iat_exp_missing_or_past() {
        rejects(&edit("sub", None), "no `sub`");
        rejects(&edit("sub", Some("\"\"")), "no `sub`");
        rejects(&edit("iat", None), "no `iat`");
        rejects(&edit("exp", None), "no `exp`");
        rejects(&edit("exp", Some("\"tomorrow\"")), "number of seconds");
        rejects(&edit("exp", Some(&format!("{}", NOW - 61.0))), "expired");
        assert!(
            check(&edit("exp", Some(&format!("{}", NOW - 59.0)))).is_ok(),
            "within clock skew"
        );
        rejects(
            &edit("iat", Some(&format!("{}", NOW + 120.0))),
            "in the future",
        );
        rejects(
            &edit("nbf", Some(&format!("{}", NOW + 120.0))),
            "not valid before",
        );
    }

    #[test]
    fn entra_backdated_iat_and_nbf_accept() {
        let p = edit("iat", Some(&format!("{}", NOW - 300.0)));
        let p = p.replacen('{', &format!("{{\"nbf\":{},", NOW - 300.0), 1);
        assert!(check(&p).is_ok());
    }

    #[test]
    fn rp_nonce_invalid_and_missing() {
        rejects(&edit("nonce", Some("\"other\"")), "`nonce` differs");
        rejects(&edit("nonce", None), "no `nonce`");
    }

    #[test]
    fn rp_id_token_bad_at_hash_rejects_and_absent_accepts() {
        rejects(
            &edit("at_hash", Some("\"AAAAAAAAAAAAAAAAAAAAAA\"")),
            "`at_hash`",
        );
        assert!(check(&edit("at_hash", None)).is_ok());
    }

    #[test]
    fn at_hash_uses_the_algorithms_hash() {
        let p = edit(
            "at_hash",
            Some(&format!("\"{}\"", at_hash(Hash::Sha384, AT))),
        );
        let expect = || Expect {
            nonce: NonceRule::Equals(NONCE),
            now_s: NOW,
            access_token_digest: Some(&[]),
            previous: None,
        };
        assert!(check_with(&p, "PS384", expect()).is_ok());
        assert!(check_with(&p, "RS256", expect()).is_err());
        let ed = edit(
            "at_hash",
            Some(&format!("\"{}\"", at_hash(Hash::Sha512, AT))),
        );
        assert!(check_with(&ed, "EdDSA", expect()).is_ok());
    }

    #[test]
    fn refreshed_tokens_keep_iss_sub_aud_and_the_nonce_may_go() {
        let first = check(&good()).unwrap();
        let refresh = |p: &str| {
            check_with(
                p,
                "RS256",
                Expect {
                    nonce: NonceRule::AbsentOr(first.nonce.as_deref()),
                    now_s: NOW,
                    access_token_digest: None,
                    previous: Some(&first),
                },
            )
        };
        assert!(
            refresh(&edit("nonce", None)).is_ok(),
            "Keycloak 25+: no nonce"
        );
        assert!(refresh(&good()).is_ok(), "Keycloak <= 24: same nonce");
        assert!(refresh(&edit("nonce", Some("\"fresh\""))).is_err());
        assert!(refresh(&edit("sub", Some("\"mallory\"")))
            .unwrap_err()
            .message
            .contains("changed"));
        let widened = edit("aud", Some("[\"spa\",\"x\"]")).replacen('{', "{\"azp\":\"spa\",", 1);
        assert!(refresh(&widened).unwrap_err().message.contains("changed"));
    }

    #[test]
    fn entra_multi_tenant_fills_the_template_from_tid() {
        let tmpl = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let mut c = cfg("https://login.microsoftonline.com/common/v2.0");
        c.entra_multi_tenant = Some(Tenants::List(vec![tid.into()]));
        let m = discovery::parse(&c, &Response::json(200, &doc(tmpl))).unwrap();
        let payload = |iss: &str, tid: &str| {
            format!(
                r#"{{"iss":"{iss}","tid":"{tid}","sub":"s","aud":"spa","exp":{},"iat":{},"nonce":"{NONCE}"}}"#,
                NOW + 60.0,
                NOW - 300.0
            )
        };
        let run = |c: &Config, p: String| {
            let t = jose::parse(&jws(r#"{"alg":"RS256"}"#, &p)).unwrap();
            validate(
                &t,
                c,
                &m,
                &Expect {
                    nonce: NonceRule::Equals(NONCE),
                    now_s: NOW,
                    access_token_digest: None,
                    previous: None,
                },
            )
        };
        let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
        assert!(run(&c, payload(&iss, tid)).is_ok());
        let other = "9188040d-6c67-4c5b-b112-36a304b66dad";
        let e = run(
            &c,
            payload(
                &format!("https://login.microsoftonline.com/{other}/v2.0"),
                other,
            ),
        )
        .unwrap_err();
        assert!(e.message.contains("not in entraMultiTenant.tenants"));
        // iss for another tenant than tid: rejected.
        assert!(run(&c, payload(&iss, other)).is_err());
        c.entra_multi_tenant = Some(Tenants::Any);
        assert!(run(
            &c,
            payload(
                &format!("https://login.microsoftonline.com/{other}/v2.0"),
                other
            )
        )
        .is_ok());
        assert!(run(&c, payload(&iss, "not-a-guid"))
            .unwrap_err()
            .message
            .contains("`tid` GUID"));
    }
}
