//! The authorization response (OIDC Core §3.1.2.5–3.1.2.7, RFC 6749 §4.1.2, RFC 9207).

use super::authorize::{Mode, PendingLogin};
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
    pub fn nonce(&self) -> &str {
        &self.pending.nonce
    }
    pub fn redirect_to(&self) -> &str {
        &self.pending.redirect_to
    }
    pub fn mode(&self) -> Mode {
        self.pending.mode
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
mod tests {
    use super::super::authorize::{self, Options};
    use super::super::discovery::tests::{cfg, doc};
    use super::super::http::Response;
    use super::*;

    const CB: &str = "http://localhost:5173/";

    fn setup(doc_json: &str) -> (Config, Metadata, PendingLogin) {
        let c = cfg("https://op.example");
        let m = discovery::parse(&c, &Response::json(200, doc_json)).unwrap();
        let (_, p) = authorize::request(
            &c,
            &m,
            &[9; 96],
            0.0,
            Options {
                redirect_to: CB.into(),
                extra: &[],
                mode: Mode::Interactive,
                redirect_uri: None,
            },
        )
        .unwrap();
        (c, m, p)
    }

    fn params(q: &str) -> Params {
        parse(&format!("{CB}?{q}"), &[CB]).unwrap().unwrap()
    }

    #[test]
    fn recognises_callbacks_only_on_the_redirect_uri() {
        assert!(parse("http://localhost:5173/?code=a&state=b", &[CB])
            .unwrap()
            .is_some());
        assert!(parse("http://localhost:5173/other?code=a&state=b", &[CB])
            .unwrap()
            .is_none());
        assert!(parse("http://localhost:5173/?tab=1", &[CB])
            .unwrap()
            .is_none());
        assert!(parse("http://localhost:5173/", &[CB]).unwrap().is_none());
        assert_eq!(
            parse("http://localhost:5173/?code=a&code=b", &[CB])
                .unwrap_err()
                .code,
            Code::InvalidResponse
        );
    }

    #[test]
    fn a_good_response_validates_and_ignores_extra_params() {
        let (c, m, p) = setup(&doc("https://op.example"));
        let q = format!("code=abc&state={}&session_state=xyz&scope=openid&authuser=0&prompt=none&client_info=e30", p.state);
        let v = validate(&params(&q), Some(p), &c, &m, 1.0).unwrap();
        assert_eq!(v.code, "abc");
    }

    #[test]
    fn state_differs_or_is_missing_rejects() {
        let (c, m, p) = setup(&doc("https://op.example"));
        let e = validate(&params("code=abc&state=other"), Some(p), &c, &m, 1.0).unwrap_err();
        assert_eq!(e.code, Code::StateMismatch);
        let (c, m, p) = setup(&doc("https://op.example"));
        assert_eq!(
            validate(&params("code=abc"), Some(p), &c, &m, 1.0)
                .unwrap_err()
                .code,
            Code::StateMismatch
        );
    }

    #[test]
    fn a_callback_no_login_asked_for_rejects() {
        let (c, m, _) = setup(&doc("https://op.example"));
        let e = validate(&params("code=abc&state=zzz"), None, &c, &m, 1.0).unwrap_err();
        assert_eq!(e.code, Code::StateMismatch);
    }

    #[test]
    fn an_expired_login_rejects() {
        let (c, m, p) = setup(&doc("https://op.example"));
        let q = format!("code=abc&state={}", p.state);
        let e = validate(
            &params(&q),
            Some(p),
            &c,
            &m,
            authorize::PENDING_TTL_MS + 1.0,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::StateMismatch);
        assert!(e.message.contains("expired"));
    }

    #[test]
    fn access_denied_becomes_provider_error_carrying_it() {
        let (c, m, p) = setup(&doc("https://op.example"));
        let q = format!(
            "error=access_denied&error_description=User+said+no&state={}",
            p.state
        );
        let e = validate(&params(&q), Some(p), &c, &m, 1.0).unwrap_err();
        assert_eq!(e.code, Code::ProviderError);
        assert_eq!(e.error.as_deref(), Some("access_denied"));
        assert_eq!(e.error_description.as_deref(), Some("User said no"));
    }

    #[test]
    fn rfc9207_advertised_iss_wrong_or_missing_rejects() {
        let advertised = doc("https://op.example").replace(
            "\"issuer\"",
            "\"authorization_response_iss_parameter_supported\":true,\"issuer\"",
        );
        let (c, m, p) = setup(&advertised);
        let q = format!("code=abc&state={}", p.state);
        assert_eq!(
            validate(&params(&q), Some(p), &c, &m, 1.0)
                .unwrap_err()
                .code,
            Code::IssuerMismatch
        );
        let (c, m, p) = setup(&advertised);
        let q = format!("code=abc&state={}&iss=https%3A%2F%2Fevil.example", p.state);
        assert_eq!(
            validate(&params(&q), Some(p), &c, &m, 1.0)
                .unwrap_err()
                .code,
            Code::IssuerMismatch
        );
        let (c, m, p) = setup(&advertised);
        let q = format!("code=abc&state={}&iss=https%3A%2F%2Fop.example", p.state);
        assert!(validate(&params(&q), Some(p), &c, &m, 1.0).is_ok());
    }

    #[test]
    fn unadvertised_iss_is_still_compared() {
        let (c, m, p) = setup(&doc("https://op.example"));
        let q = format!("code=abc&state={}&iss=https%3A%2F%2Fop.example%2F", p.state);
        assert_eq!(
            validate(&params(&q), Some(p), &c, &m, 1.0)
                .unwrap_err()
                .code,
            Code::IssuerMismatch
        );
    }

    #[test]
    fn wrong_iss_on_an_error_response_is_an_issuer_mismatch() {
        let (c, m, p) = setup(&doc("https://op.example"));
        let q = format!(
            "error=access_denied&state={}&iss=https%3A%2F%2Fmix-up.example",
            p.state
        );
        assert_eq!(
            validate(&params(&q), Some(p), &c, &m, 1.0)
                .unwrap_err()
                .code,
            Code::IssuerMismatch
        );
    }
}
