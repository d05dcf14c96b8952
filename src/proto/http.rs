//! HTTP responses as values, and the checks every JSON endpoint shares.

use super::error::{cat, clip, Code, Error, Result};
use super::json::{self, uint_text, Value};

/// Larger bodies are refused: no OIDC document needs a megabyte.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A response as the browser shell received it.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    pub body: String,
}

impl Response {
    pub fn json(status: u16, body: &str) -> Self {
        Response {
            status,
            content_type: Some("application/json".into()),
            body: body.into(),
        }
    }
    fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let mime = super::url::cut(ct, b';')
                .map_or(ct, |(m, _)| m)
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
    }
}

/// A successful JSON object response, or the error that describes what came instead. OAuth
/// error bodies (RFC 6749 §5.2) become [`Code::ProviderError`] with the provider's own values.
pub fn json_object(resp: &Response, what: &str) -> Result<Value> {
    if resp.body.len() > MAX_BODY_BYTES {
        return Err(Error::new(
            Code::InvalidResponse,
            cat(&[
                what,
                ": the response is ",
                &uint_text(resp.body.len() as u64),
                " bytes, more than the ",
                &uint_text(MAX_BODY_BYTES as u64),
                " accepted",
            ]),
        ));
    }
    if !(200..300).contains(&resp.status) {
        if let Some(err) = oauth_error(resp, what) {
            return Err(err);
        }
        return Err(Error::new(
            Code::HttpError,
            cat(&[
                what,
                ": expected HTTP 200, got ",
                &uint_text(u64::from(resp.status)),
                &describe_type(resp),
            ]),
        ));
    }
    if !resp.is_json() {
        return Err(Error::new(
            Code::InvalidResponse,
            cat(&[what, ": expected a JSON response", &describe_type(resp)]),
        ));
    }
    let v = json::parse(&resp.body, what)?;
    if !v.is_object() {
        return Err(Error::new(
            Code::InvalidResponse,
            cat(&[what, ": expected a JSON object"]),
        ));
    }
    Ok(v)
}

fn describe_type(resp: &Response) -> String {
    match &resp.content_type {
        Some(ct) => cat(&[" (content type ", &clip(ct, 80), ")"]),
        None => " (no content type)".into(),
    }
}

/// An OAuth error body, if the response is one.
pub fn oauth_error(resp: &Response, what: &str) -> Option<Error> {
    if !resp.is_json() {
        return None;
    }
    let v = json::parse(&resp.body, what).ok()?;
    let error = v.str_member("error")?;
    Some(Error::provider(
        error,
        v.str_member("error_description"),
        what,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_error_page_is_an_http_error() {
        let r = Response {
            status: 500,
            content_type: Some("text/html".into()),
            body: "<html>oops</html>".into(),
        };
        let e = json_object(&r, "token response").unwrap_err();
        assert_eq!(e.code, Code::HttpError);
        assert!(
            e.message.contains("expected HTTP 200, got 500"),
            "{}",
            e.message
        );
        assert!(e.message.contains("text/html"));
    }

    #[test]
    fn wrong_content_type_is_refused() {
        let r = Response {
            status: 200,
            content_type: Some("text/plain".into()),
            body: "{}".into(),
        };
        assert_eq!(
            json_object(&r, "x").unwrap_err().code,
            Code::InvalidResponse
        );
        let jwk = Response {
            status: 200,
            content_type: Some("application/jwk-set+json; charset=utf-8".into()),
            body: "{}".into(),
        };
        assert!(json_object(&jwk, "x").is_ok());
    }

    #[test]
    fn huge_body_is_refused() {
        let body = format!("{{\"a\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
        let e = json_object(&Response::json(200, &body), "token response").unwrap_err();
        assert_eq!(e.code, Code::InvalidResponse);
        assert!(e.message.contains("more than the"));
    }

    #[test]
    fn oauth_error_body_carries_the_providers_values() {
        let r = Response::json(
            400,
            r#"{"error":"invalid_grant","error_description":"code used"}"#,
        );
        let e = json_object(&r, "token response").unwrap_err();
        assert_eq!(e.code, Code::ProviderError);
        assert_eq!(e.error.as_deref(), Some("invalid_grant"));
        assert_eq!(e.error_description.as_deref(), Some("code used"));
    }

    #[test]
    fn json_array_is_the_wrong_shape() {
        let e = json_object(&Response::json(200, "[1]"), "discovery").unwrap_err();
        assert_eq!(e.code, Code::InvalidResponse);
        assert!(e.message.contains("expected a JSON object"));
    }
}
