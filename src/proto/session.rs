//! The session: the tokens of a logged-in user, held in memory, and when to renew them.

use super::id_token::Claims;
use super::json::ObjectWriter;
use super::token::{Secret, TokenResponse};

/// Renew this long before the access token expires.
pub const RENEW_LEEWAY_MS: f64 = 30_000.0;

/// A logged-in user's tokens. Lives only in the wasm module's memory.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: Secret,
    pub id_token: Secret,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    /// Local receive time plus `expires_in`: the server's clock is never inferred from `iat`.
    pub access_expires_at_ms: Option<f64>,
    pub claims: Claims,
}

impl Session {
    /// The session after a code exchange. `received_at_ms` is when the response arrived.
    pub fn new(
        tr: TokenResponse,
        id_token: Secret,
        claims: Claims,
        received_at_ms: f64,
    ) -> Session {
        Session {
            access_expires_at_ms: tr.expires_in.map(|s| received_at_ms + s * 1000.0),
            access_token: tr.access_token,
            id_token,
            refresh_token: tr.refresh_token,
            scope: tr.scope,
            claims,
        }
    }

    /// The session after a refresh: a rotated refresh token replaces the old one at once; a
    /// response without one keeps the old (Cognito, Google, authentik below its threshold).
    pub fn refreshed(
        &self,
        tr: TokenResponse,
        id: Option<(Secret, Claims)>,
        received_at_ms: f64,
    ) -> Session {
        let (id_token, claims) = id.unwrap_or_else(|| (self.id_token.clone(), self.claims.clone()));
        Session {
            access_expires_at_ms: tr.expires_in.map(|s| received_at_ms + s * 1000.0),
            access_token: tr.access_token,
            id_token,
            refresh_token: tr.refresh_token.or_else(|| self.refresh_token.clone()),
            scope: tr.scope.or_else(|| self.scope.clone()),
            claims,
        }
    }

    /// True when the access token expires within `leeway_ms` (or already has).
    pub fn expires_within(&self, now_ms: f64, leeway_ms: f64) -> bool {
        self.access_expires_at_ms
            .is_some_and(|t| t - leeway_ms <= now_ms)
    }

    /// The `Tokens` object of API.md as JSON text.
    pub fn tokens_json(&self) -> String {
        let w = ObjectWriter::new()
            .str("accessToken", self.access_token.expose())
            .str("idToken", self.id_token.expose())
            .str("tokenType", "Bearer")
            .opt_str("scope", self.scope.as_deref());
        match self.access_expires_at_ms {
            Some(t) => w.num("accessTokenExpiresAt", t.floor()),
            None => w.raw("accessTokenExpiresAt", "null"),
        }
        .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            json: "{}".into(),
            iss: "i".into(),
            sub: "s".into(),
            aud: vec!["a".into()],
            exp: 0.0,
            iat: 0.0,
            nonce: None,
        }
    }

    fn tr(at: &str, rt: Option<&str>, expires_in: Option<f64>) -> TokenResponse {
        TokenResponse {
            access_token: Secret::new(at),
            token_type: "Bearer".into(),
            id_token: None,
            refresh_token: rt.map(Secret::new),
            scope: None,
            expires_in,
        }
    }

    #[test]
    fn expiry_is_local_receive_time_plus_expires_in() {
        let s = Session::new(
            tr("at", Some("rt1"), Some(300.0)),
            Secret::new("id"),
            claims(),
            1_000.0,
        );
        assert_eq!(s.access_expires_at_ms, Some(301_000.0));
        assert!(!s.expires_within(270_999.0, RENEW_LEEWAY_MS));
        assert!(s.expires_within(271_000.0, RENEW_LEEWAY_MS));
    }

    #[test]
    fn rotation_replaces_and_absence_keeps_the_refresh_token() {
        let s = Session::new(
            tr("at", Some("rt1"), Some(300.0)),
            Secret::new("id"),
            claims(),
            0.0,
        );
        let rotated = s.refreshed(tr("at2", Some("rt2"), Some(300.0)), None, 10.0);
        assert_eq!(rotated.refresh_token.as_ref().unwrap().expose(), "rt2");
        let kept = rotated.refreshed(tr("at3", None, None), None, 20.0);
        assert_eq!(kept.refresh_token.unwrap().expose(), "rt2");
        assert_eq!(kept.id_token.expose(), "id");
        assert!(kept.access_expires_at_ms.is_none());
    }

    #[test]
    fn tokens_json_has_the_api_shape() {
        let s = Session::new(tr("at", None, Some(60.0)), Secret::new("id"), claims(), 0.5);
        let v = super::super::json::parse(&s.tokens_json(), "t").unwrap();
        assert_eq!(v.str_member("accessToken"), Some("at"));
        assert_eq!(v.str_member("tokenType"), Some("Bearer"));
        assert_eq!(
            v.get("accessTokenExpiresAt").unwrap().as_f64(),
            Some(60_000.0)
        );
    }
}
