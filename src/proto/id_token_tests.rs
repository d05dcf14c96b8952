//! Tests of `proto::id_token`.

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
