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
#[path = "userinfo_tests.rs"]
mod tests;
