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
#[path = "http_tests.rs"]
mod tests;
