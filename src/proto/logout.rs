//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2).

use super::config::Config;
use super::url;

/// The end-session URL with `id_token_hint`, `client_id` and `post_logout_redirect_uri`, plus
/// the configured extra parameters (Cognito's `logout_uri`, ...). `None` when the provider has
/// no end-session endpoint (Google; Cognito by discovery): then only local state is cleared.
pub fn end_session_url(
    cfg: &Config,
    end_session_endpoint: Option<&str>,
    id_token_hint: Option<&str>,
    post_logout_redirect_uri: &str,
) -> Option<String> {
    let endpoint = end_session_endpoint?;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(hint) = id_token_hint {
        pairs.push(("id_token_hint", hint));
    }
    pairs.push(("client_id", &cfg.client_id));
    pairs.push(("post_logout_redirect_uri", post_logout_redirect_uri));
    for (k, v) in &cfg.extra_logout_params {
        if !pairs.iter().any(|(pk, _)| pk == k) {
            pairs.push((k, v));
        }
    }
    Some(url::append_query(endpoint, &pairs))
}

#[cfg(test)]
#[path = "logout_tests.rs"]
mod tests;
