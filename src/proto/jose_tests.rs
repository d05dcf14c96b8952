//! Tests of `proto::jose`.

use super::*;

/// An unsigned-but-well-formed JWS for claim tests (signatures are verified by WebCrypto
/// and tested in the browser).
pub fn jws(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(payload.as_bytes()),
        b64::encode(&[1u8; 64])
    )
}

fn jwks(body: &str) -> Vec<Jwk> {
    parse_jwks(&Response::json(200, body)).unwrap()
}

const KEYS: &str = r#"{"keys":[
    {"kty":"RSA","kid":"sig1","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB"},
    {"kty":"RSA","kid":"enc1","use":"enc","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},
    {"kty":"RSA","kid":"noalg","n":"AQAB","e":"AQAB"},
    {"kty":"EC","kid":"ec1","crv":"P-256","x":"AQAB","y":"AQAB"},
    {"kty":"OKP","kid":"ed1","crv":"Ed25519","x":"AQAB"},
    {"kty":"RSA","kid":"a+b/c=","n":"AQAB","e":"AQAB"},
    {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
    {"kty":"RSA","kid":"broken"}
]}"#;

#[test]
fn parses_a_token_and_keeps_the_signing_input() {
    let t = jws(
        r#"{"alg":"RS256","kid":"sig1","typ":"JWT"}"#,
        r#"{"sub":"u"}"#,
    );
    let p = parse(&t).unwrap();
    assert_eq!(p.alg, Alg::RS256);
    assert_eq!(p.kid.as_deref(), Some("sig1"));
    assert_eq!(p.payload.str_member("sub"), Some("u"));
    assert_eq!(p.signing_input, t.rsplit_once('.').unwrap().0);
}

#[test]
fn rp_id_token_sig_none_and_hmac_are_refused() {
    for alg in ["none", "HS256", "HS512", "RSA-OAEP"] {
        let t = jws(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"sub":"u"}"#);
        let e = parse(&t).unwrap_err();
        assert_eq!(e.code, Code::InvalidIdToken, "{alg}");
    }
    let unsigned = format!(
        "{}.{}.",
        b64::encode(br#"{"alg":"none"}"#),
        b64::encode(b"{}")
    );
    assert_eq!(parse(&unsigned).unwrap_err().code, Code::InvalidIdToken);
}

#[test]
fn malformed_tokens_are_errors_that_never_echo_the_token() {
    let secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0";
    for t in [
        secret.to_string(),
        format!("{secret}.sig.extra"),
        "!!.!!.!!".into(),
        format!("{}.{}.AQ", b64::encode(b"not json"), b64::encode(b"{}")),
        format!(
            "{}.{}.AQ",
            b64::encode(br#"{"alg":"RS256"}"#),
            b64::encode(b"[1]")
        ),
        format!(
            "{}.{}.AQ",
            b64::encode(br#"{"alg":"RS256","crit":["x"]}"#),
            b64::encode(b"{}")
        ),
        format!(
            "{}.{}.AQ",
            b64::encode(br#"{"alg":"ES256"}"#),
            b64::encode(b"{}")
        ),
        String::new(),
    ] {
        let e = parse(&t).unwrap_err();
        assert_eq!(e.code, Code::InvalidIdToken);
        assert!(!e.message.contains(secret));
    }
}

#[test]
fn keys_are_selected_by_kid_use_and_type() {
    let keys = jwks(KEYS);
    let pick = |h: &str| select_keys(&keys, &parse(&jws(h, "{}")).unwrap());
    match pick(r#"{"alg":"RS256","kid":"sig1"}"#) {
        KeyChoice::Candidates(k) => assert_eq!(k.len(), 1),
        other => panic!("{other:?}"),
    }
    // The encryption key is never used for signatures, even when its kid is named.
    assert_eq!(
        pick(r#"{"alg":"RS256","kid":"enc1"}"#),
        KeyChoice::UnknownKid
    );
    // Entra: keys without alg are fine.
    assert!(matches!(
        pick(r#"{"alg":"RS256","kid":"noalg"}"#),
        KeyChoice::Candidates(_)
    ));
    // Cognito: kids with = + / are compared as strings.
    assert!(matches!(
        pick(r#"{"alg":"RS256","kid":"a+b/c="}"#),
        KeyChoice::Candidates(_)
    ));
    // A key whose alg says otherwise is not a candidate.
    assert_eq!(
        pick(r#"{"alg":"PS256","kid":"sig1"}"#),
        KeyChoice::UnknownKid
    );
    assert_eq!(
        pick(r#"{"alg":"RS256","kid":"ec1"}"#),
        KeyChoice::UnknownKid
    );
    assert_eq!(
        pick(r#"{"alg":"RS256","kid":"nope"}"#),
        KeyChoice::UnknownKid
    );
    let rsa_only = jwks(r#"{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}"#);
    assert_eq!(
        select_keys(&rsa_only, &parse(&jws(r#"{"alg":"ES256"}"#, "{}")).unwrap()),
        KeyChoice::NoKey
    );
}

#[test]
fn rp_id_token_kid_absent_single_and_multiple_jwks() {
    let single = jwks(r#"{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}"#);
    let t = parse(&jws(r#"{"alg":"RS256"}"#, "{}")).unwrap();
    assert!(matches!(select_keys(&single, &t), KeyChoice::Candidates(ref k) if k.len() == 1));
    let multiple = jwks(KEYS);
    // Documented choice: try each RSA signing key (sig1, noalg, a+b/c=), never the enc key.
    assert!(matches!(select_keys(&multiple, &t), KeyChoice::Candidates(ref k) if k.len() == 3));
}

#[test]
fn jwks_of_the_wrong_shape_is_an_error() {
    assert_eq!(
        parse_jwks(&Response::json(200, r#"{"nokeys":[]}"#))
            .unwrap_err()
            .code,
        Code::InvalidResponse
    );
    assert_eq!(
        parse_jwks(&Response::json(200, r#"[]"#)).unwrap_err().code,
        Code::InvalidResponse
    );
}
