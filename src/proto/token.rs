//! The token endpoint: code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5) and refresh (RFC 6749 §6),
//! and the response checks (RFC 6749 §5.1, OIDC Core §3.1.3.3).

use super::callback::ValidatedCallback;
use super::config::Config;
use super::discovery::Metadata;
use super::error::{cat, quoted, Code, Error, Result};
use super::http::{self, Response};
use super::json::{self, Value};
use super::url;
use core::fmt;

/// A token. `Debug` prints `[redacted]`, so no token reaches a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A form POST to make.
#[derive(Debug)]
pub struct Request {
    pub url: String,
    /// `application/x-www-form-urlencoded`.
    pub body: String,
}

/// What the code exchange must remember to validate its response.
#[derive(Debug)]
pub struct Exchange {
    pub nonce: String,
}

/// The authorization-code grant. Consumes the validated callback, so a code is redeemed once.
/// The `redirect_uri` is the one of the authorization request, byte for byte.
pub fn code_request(cfg: &Config, meta: &Metadata, cb: ValidatedCallback) -> (Request, Exchange) {
    let (code, redirect_uri, verifier, nonce) = cb.into_parts();
    let body = url::form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &redirect_uri),
        ("client_id", &cfg.client_id),
        ("code_verifier", verifier.secret()),
    ]);
    (
        Request {
            url: meta.token_endpoint.clone(),
            body,
        },
        Exchange { nonce },
    )
}

/// The refresh-token grant (RFC 6749 §6). Public client: `client_id`, no secret.
pub fn refresh_request(cfg: &Config, meta: &Metadata, refresh_token: &Secret) -> Request {
    Request {
        url: meta.token_endpoint.clone(),
        body: url::form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &cfg.client_id),
        ]),
    }
}

/// A successful token response.
#[derive(Clone, Debug)]
pub struct TokenResponse {
    pub access_token: Secret,
    /// DPoP-bound (RFC 9449), or a Bearer token.
    pub dpop: bool,
    pub id_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    /// Seconds. Number or numeric string; absent is fine.
    pub expires_in: Option<f64>,
}

/// Checks a token endpoint response. OAuth errors keep the provider's `error` and
/// `error_description`; a provider that wants a client secret (Google's web clients) gets its own
/// code, since no browser-only client can ever satisfy it.
///
/// `dpop`: a DPoP proof went with the request and the provider advertises DPoP, so the token
/// must be DPoP-bound (RFC 9449 §5); otherwise it must be a Bearer token.
pub fn parse(resp: &Response, dpop: bool) -> Result<TokenResponse> {
    let v = http::json_object(resp, "the token response").map_err(secret_required)?;
    let access_token = string(&v, "access_token")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the token response has no `access_token`"))?;
    let token_type =
        string(&v, "token_type")?.ok_or_else(|| bad("the token response has no `token_type`"))?;
    // RFC 6749 §5.1: case-insensitive (old Keycloak sends `bearer`).
    let want = if dpop { "DPoP" } else { "Bearer" };
    if !token_type.eq_ignore_ascii_case(want) {
        return Err(bad(&cat(&[
            "the token response's `token_type` must be ",
            want,
            ", got ",
            &quoted(token_type, 40),
        ])));
    }
    let expires_in = match v.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(e) => Some(
            match e {
                Value::Num(n) => Some(*n),
                Value::Str(s) => json::number_value(s.trim().as_bytes()),
                _ => None,
            }
            .filter(|n| *n >= 0.0)
            .ok_or_else(|| bad("the token response's `expires_in` is not a number"))?,
        ),
    };
    Ok(TokenResponse {
        access_token: Secret::new(access_token),
        dpop,
        id_token: string(&v, "id_token")?
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        refresh_token: string(&v, "refresh_token")?
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        scope: string(&v, "scope")?.map(str::to_string),
        expires_in,
    })
}

fn bad(message: &str) -> Error {
    Error::new(Code::InvalidResponse, message)
}

/// A member that must be a string when present.
fn string<'a>(v: &'a Value, k: &str) -> Result<Option<&'a str>> {
    v.opt_str(k)
        .ok_or_else(|| bad(&cat(&["the token response's `", k, "` must be a string"])))
}

fn secret_required(e: Error) -> Error {
    let wants_secret = matches!(
        e.error.as_deref(),
        Some("invalid_request" | "invalid_client" | "unauthorized_client")
    ) && e
        .error_description
        .as_deref()
        .is_some_and(|d| url::find(&d.to_ascii_lowercase(), "client_secret").is_some());
    if wants_secret {
        let mut e = e.with_code(Code::ClientSecretRequired);
        e.message = cat(&[
            "the token endpoint wants a client secret, which a browser app cannot keep (Google web \
             clients): redeem the code in a backend, or put a broker such as Keycloak in front. ",
            &e.message,
        ]);
        return e;
    }
    e
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
