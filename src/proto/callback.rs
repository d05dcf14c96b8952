//! The authorization response (OIDC Core §3.1.2.5–3.1.2.7, RFC 6749 §4.1.2, RFC 9207).

use super::authorize::PendingLogin;
use super::config::Config;
use super::discovery::{self, Metadata};
use super::error::{cat, quoted, Code, Error, Result};
use super::pkce::Verifier;
use super::url;

/// The parameters of an authorization response that the client looks at. Everything else
/// (`session_state`, `scope`, `authuser`, `prompt`, `hd`, `client_info`, ...) is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// OIDC Session Management §3: the provider's session state for this client.
    pub session_state: Option<String>,
}

/// Response parameters removed from the URL once the callback was handled.
pub const RESPONSE_PARAMS: &[&str] = &[
    "code",
    "state",
    "iss",
    "session_state",
    "error",
    "error_description",
    "error_uri",
];

/// `Some` when `page_url` is an authorization response on one of `redirect_uris`: the page
/// (origin and path) is the redirect URI and the query has `code` or `error`.
pub fn parse(page_url: &str, redirect_uris: &[&str]) -> Result<Option<Params>> {
    let Some(page) = url::split(page_url) else {
        return Ok(None);
    };
    let on_redirect_uri = redirect_uris
        .iter()
        .any(|r| url::split(r).is_some_and(|r| r.origin() == page.origin() && r.path == page.path));
    let Some(query) = page.query.filter(|_| on_redirect_uri) else {
        return Ok(None);
    };
    let pairs = url::parse_query(query)?;
    let mut p = Params::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "code" => &mut p.code,
            "state" => &mut p.state,
            "iss" => &mut p.iss,
            "error" => &mut p.error,
            "error_description" => &mut p.error_description,
            "session_state" => &mut p.session_state,
            _ => continue,
        };
        if slot.is_some() {
            // RFC 6749 §3.1: parameters must not repeat. A repeated one is an attack or a bug.
            return Err(Error::new(
                Code::InvalidResponse,
                cat(&[
                    "the authorization response repeats the `",
                    &k,
                    "` parameter",
                ]),
            ));
        }
        *slot = Some(v);
    }
    Ok((p.code.is_some() || p.error.is_some()).then_some(p))
}

/// A callback that passed every check: the only way to reach the token request.
#[derive(Debug)]
pub struct ValidatedCallback {
    pub(crate) code: String,
    pub(crate) pending: PendingLogin,
}

impl ValidatedCallback {
    pub fn redirect_to(&self) -> &str {
        &self.pending.redirect_to
    }
    pub(crate) fn into_parts(self) -> (String, String, Verifier, String) {
        (
            self.code,
            self.pending.redirect_uri,
            self.pending.verifier,
            self.pending.nonce,
        )
    }
}

/// Checks an authorization response against the login in flight found under its `state`
/// (`None` when this browser started no such login).
pub fn validate(
    params: &Params,
    pending: Option<PendingLogin>,
    cfg: &Config,
    meta: &Metadata,
    now_ms: f64,
) -> Result<ValidatedCallback> {
    let Some(state) = params.state.as_deref() else {
        return Err(Error::new(
            Code::StateMismatch,
            "the authorization response has no `state`; expected the one sent",
        ));
    };
    let Some(pending) = pending else {
        return Err(Error::new(
            Code::StateMismatch,
            "the authorization response's `state` matches no login started in this browser (used already, or never sent)",
        ));
    };
    if pending.state != state {
        return Err(Error::new(
            Code::StateMismatch,
            "the authorization response's `state` differs from the one sent",
        ));
    }
    if pending.is_expired(now_ms) {
        return Err(Error::new(
            Code::StateMismatch,
            "the login in flight for this `state` expired (older than 10 minutes); log in again",
        ));
    }
    if pending.issuer != cfg.issuer || pending.client_id != cfg.client_id {
        return Err(Error::new(
            Code::StateMismatch,
            "the login in flight was started for another issuer or client id",
        ));
    }
    // RFC 9207 §2.4: check `iss` before anything else, errors included.
    match &params.iss {
        Some(iss) => {
            let ok = if cfg.entra_multi_tenant.is_some() {
                discovery::entra_template_matches(&meta.issuer, iss) || *iss == meta.issuer
            } else {
                *iss == meta.issuer
            };
            if !ok {
                return Err(Error::new(
                    Code::IssuerMismatch,
                    cat(&[
                        "the authorization response's `iss` must be ",
                        &quoted(&meta.issuer, usize::MAX),
                        ", got ",
                        &quoted(iss, 300),
                        " (RFC 9207)",
                    ]),
                ));
            }
        }
        None if meta.iss_parameter_supported => {
            return Err(Error::new(
                Code::IssuerMismatch,
                "the authorization response has no `iss`, which the provider promises (RFC 9207)",
            ));
        }
        None => {}
    }
    if let Some(error) = &params.error {
        return Err(Error::provider(
            error,
            params.error_description.as_deref(),
            "the authorization request failed",
        ));
    }
    let code = params
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Error::new(
                Code::InvalidResponse,
                "the authorization response has no `code`",
            )
        })?;
    Ok(ValidatedCallback { code, pending })
}

#[cfg(test)]
#[path = "callback_tests.rs"]
mod tests;
