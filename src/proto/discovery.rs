//! OpenID Connect Discovery 1.0: the metadata URL (§4) and the checks on the document (§4.3).

use super::config::Config;
use super::error::{cat, quoted, Code, Error, Result};
use super::http::{self, Response};
use super::url;

/// The provider metadata the client uses. Endpoints come only from here (never derived from the
/// issuer), except the logout endpoint, which a config may supply for providers that do not
/// publish one (Cognito, Auth0's older one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The `issuer` member verbatim. For an Entra multi-tenant authority it is the template
    /// holding `{tenantid}`.
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    /// RFC 9207 §3: the provider promises `iss` in every authorization response.
    pub iss_parameter_supported: bool,
    /// RFC 9126 §5: where authorization requests are pushed, and whether they must be.
    pub par_endpoint: Option<String>,
    pub par_required: bool,
    /// RFC 9449 §5.1: the provider issues DPoP-bound tokens (it lists ES256 or any algorithm).
    pub dpop: bool,
    /// OIDC Session Management §3.3: the provider's page that answers whether its session for
    /// a client changed.
    pub check_session_iframe: Option<String>,
}

/// `{issuer}/.well-known/openid-configuration`, with one trailing `/` of the issuer dropped
/// first so that issuers ending in `/` (Auth0, authentik) do not produce `//`.
pub fn url(issuer: &str) -> String {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    cat(&[base, "/.well-known/openid-configuration"])
}

/// The placeholder of Entra's multi-tenant issuer template.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether `s` holds [`TENANT_PLACEHOLDER`].
pub fn has_tenant_placeholder(s: &str) -> bool {
    url::find(s, TENANT_PLACEHOLDER).is_some()
}

/// `template` with its first [`TENANT_PLACEHOLDER`] replaced by `tenant` (unchanged without one).
pub fn fill_tenant(template: &str, tenant: &str) -> String {
    match split_at_placeholder(template) {
        Some((prefix, suffix)) => cat(&[prefix, tenant, suffix]),
        None => template.to_string(),
    }
}

/// The text before and after the first [`TENANT_PLACEHOLDER`].
fn split_at_placeholder(s: &str) -> Option<(&str, &str)> {
    let i = url::find(s, TENANT_PLACEHOLDER)?;
    Some((s.get(..i)?, s.get(i + TENANT_PLACEHOLDER.len()..)?))
}

/// Whether `template` (with exactly one `{tenantid}`) becomes `configured` when the placeholder
/// is replaced by one path segment such as `common` or `organizations`.
pub fn entra_template_matches(template: &str, configured: &str) -> bool {
    let Some((prefix, suffix)) = split_at_placeholder(template) else {
        return false;
    };
    if has_tenant_placeholder(suffix) {
        return false;
    }
    configured.len() > prefix.len() + suffix.len()
        && configured.starts_with(prefix)
        && configured.ends_with(suffix)
        && configured
            .get(prefix.len()..configured.len() - suffix.len())
            .is_some_and(|seg| !seg.bytes().any(|b| b == b'/') && !seg.is_empty())
}

/// Validates the discovery response against the configuration.
pub fn parse(cfg: &Config, resp: &Response) -> Result<Metadata> {
    let doc = http::json_object(resp, "the discovery document")?;
    let issuer = doc.str_member("issuer").ok_or_else(|| {
        Error::new(
            Code::InvalidMetadata,
            "the discovery document has no `issuer`",
        )
    })?;
    let issuer_ok = if cfg.entra_multi_tenant.is_some() {
        entra_template_matches(issuer, &cfg.issuer)
    } else {
        issuer == cfg.issuer
    };
    if !issuer_ok {
        let expected = if cfg.entra_multi_tenant.is_some() {
            cat(&[
                "an Entra issuer template with one ",
                TENANT_PLACEHOLDER,
                " in place of the tenant of ",
                &quoted(&cfg.issuer, usize::MAX),
            ])
        } else {
            cat(&["exactly ", &quoted(&cfg.issuer, usize::MAX)])
        };
        return Err(Error::new(
            Code::IssuerMismatch,
            cat(&[
                "the discovery document's issuer must be ",
                &expected,
                ", got ",
                &quoted(issuer, 300),
            ]),
        ));
    }
    let issuer_is_https = cfg
        .issuer
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let endpoint = |key: &str| -> Result<Option<String>> {
        match doc.get(key) {
            None => Ok(None),
            Some(v) => {
                let s = v.as_str().ok_or_else(|| {
                    Error::new(
                        Code::InvalidMetadata,
                        cat(&["`", key, "` in the discovery document must be a string"]),
                    )
                })?;
                let parts = url::split(s).ok_or_else(|| {
                    Error::new(
                        Code::InvalidMetadata,
                        cat(&[
                            "`",
                            key,
                            "` must be an absolute http(s) URL, got ",
                            &quoted(s, 200),
                        ]),
                    )
                })?;
                // No downgrade: an https issuer's endpoints are https, except loopback in dev.
                if issuer_is_https
                    && !parts.scheme.eq_ignore_ascii_case("https")
                    && !url::is_loopback_host(parts.host())
                {
                    return Err(Error::new(
                        Code::InvalidMetadata,
                        cat(&[
                            "`",
                            key,
                            "` must use https like the issuer, got ",
                            &quoted(s, 200),
                        ]),
                    ));
                }
                Ok(Some(s.to_string()))
            }
        }
    };
    let required = |key: &str| -> Result<String> {
        endpoint(key)?.ok_or_else(|| {
            Error::new(
                Code::InvalidMetadata,
                cat(&["the discovery document has no `", key, "`"]),
            )
        })
    };
    Ok(Metadata {
        authorization_endpoint: required("authorization_endpoint")?,
        token_endpoint: required("token_endpoint")?,
        jwks_uri: required("jwks_uri")?,
        userinfo_endpoint: endpoint("userinfo_endpoint")?,
        end_session_endpoint: match &cfg.end_session_endpoint {
            Some(e) => Some(e.clone()),
            None => endpoint("end_session_endpoint")?,
        },
        revocation_endpoint: endpoint("revocation_endpoint")?,
        iss_parameter_supported: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        par_endpoint: endpoint("pushed_authorization_request_endpoint")?,
        par_required: doc
            .get("require_pushed_authorization_requests")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        dpop: doc
            .get("dpop_signing_alg_values_supported")
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty()),
        check_session_iframe: endpoint("check_session_iframe")?,
        issuer: issuer.to_string(),
    })
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
pub(crate) mod tests;
