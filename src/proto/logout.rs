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
mod tests {
    use super::*;

    #[test]
    fn carries_hint_client_and_post_logout_uri() {
        let c = Config::from_json(r#"{"issuer":"https://op.example","clientId":"spa","extraLogoutParams":{"logout_uri":"http://localhost:5173/"}}"#, "http://localhost:5173/").unwrap();
        let u = end_session_url(
            &c,
            Some("https://op.example/logout"),
            Some("a.b.c"),
            "http://localhost:5173/",
        )
        .unwrap();
        assert_eq!(
            u,
            "https://op.example/logout?id_token_hint=a.b.c&client_id=spa&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A5173%2F&logout_uri=http%3A%2F%2Flocalhost%3A5173%2F"
        );
        assert!(end_session_url(&c, None, Some("a.b.c"), "x").is_none());
    }
}
