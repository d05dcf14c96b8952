//! The UserInfo endpoint (OIDC Core §5.3): Bearer header (RFC 6750 §2.1, never the query), and
//! the response's `sub` must be the ID token's (§5.3.4).

use super::error::{cat, quoted, Code, Error, Result};
use super::http::{self, Response};

/// Validates a UserInfo response and returns its JSON text.
pub fn parse(resp: &Response, id_token_sub: &str) -> Result<String> {
    if resp
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/jwt"))
    {
        return Err(Error::new(
            Code::InvalidUserinfo,
            "the UserInfo response is a JWT; expected plain JSON",
        ));
    }
    let v = http::json_object(resp, "the UserInfo response")?;
    match v.str_member("sub") {
        Some(sub) if sub == id_token_sub => Ok(resp.body.clone()),
        Some(sub) => Err(Error::new(
            Code::InvalidUserinfo,
            cat(&[
                "the UserInfo `sub` must be the ID token's ",
                &quoted(id_token_sub, usize::MAX),
                ", got ",
                &quoted(sub, 200),
            ]),
        )),
        None => Err(Error::new(
            Code::InvalidUserinfo,
            "the UserInfo response has no `sub`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_sub_accepts() {
        assert!(parse(
            &Response::json(200, r#"{"sub":"alice","email":"a@x"}"#),
            "alice"
        )
        .is_ok());
    }

    #[test]
    fn rp_userinfo_bad_sub_claim_rejects() {
        let e = parse(&Response::json(200, r#"{"sub":"mallory"}"#), "alice").unwrap_err();
        assert_eq!(e.code, Code::InvalidUserinfo);
        assert_eq!(
            parse(&Response::json(200, r#"{"name":"x"}"#), "alice")
                .unwrap_err()
                .code,
            Code::InvalidUserinfo
        );
    }

    #[test]
    fn expired_access_token_answer_keeps_the_providers_error() {
        let r = Response {
            status: 401,
            content_type: Some("application/json".into()),
            body: r#"{"error":"invalid_token"}"#.into(),
        };
        assert_eq!(
            parse(&r, "alice").unwrap_err().error.as_deref(),
            Some("invalid_token")
        );
    }
}
