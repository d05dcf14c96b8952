//! The session: the tokens of a logged-in user, held in memory (when to renew them is the
//! engine's rule, `proto::engine`).

use super::id_token::Claims;
use super::json::ObjectWriter;
use super::token::{Secret, TokenResponse};

/// A logged-in user's tokens. Lives only in the wasm module's memory.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: Secret,
    /// DPoP-bound (RFC 9449) rather than Bearer.
    pub dpop: bool,
    pub id_token: Secret,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    /// Local receive time plus `expires_in`: the server's clock is never inferred from `iat`.
    pub access_expires_at_ms: Option<f64>,
    pub claims: Claims,
    /// Counts the renewals of this session across all tabs of the app: a tab holding a lower
    /// generation than another holds stale tokens (and a rotated refresh token).
    pub generation: f64,
    /// OIDC Session Management: the `session_state` of the authorization response that made
    /// this session (polled against the provider's `check_session_iframe`). Not a token.
    pub session_state: Option<String>,
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
            dpop: tr.dpop,
            id_token,
            refresh_token: tr.refresh_token,
            scope: tr.scope,
            claims,
            generation: 0.0,
            session_state: None,
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
            dpop: tr.dpop,
            id_token,
            refresh_token: tr.refresh_token.or_else(|| self.refresh_token.clone()),
            scope: tr.scope.or_else(|| self.scope.clone()),
            claims,
            generation: self.generation + 1.0,
            session_state: self.session_state.clone(),
        }
    }

    /// The ID token's `sid` claim (the provider's session, OIDC Front-Channel Logout §3).
    pub fn sid(&self) -> Option<String> {
        let v = super::json::parse(&self.claims.json, "claims").ok()?;
        v.str_member("sid").map(str::to_string)
    }

    /// True when the access token expires within `leeway_ms` (or already has).
    pub fn expires_within(&self, now_ms: f64, leeway_ms: f64) -> bool {
        self.access_expires_at_ms
            .is_some_and(|t| t - leeway_ms <= now_ms)
    }

    /// The `Tokens` object `getTokens()` resolves to, as JSON text.
    pub fn tokens_json(&self) -> String {
        let w = ObjectWriter::new()
            .str("accessToken", self.access_token.expose())
            .str("idToken", self.id_token.expose())
            .str("tokenType", if self.dpop { "DPoP" } else { "Bearer" })
            .opt_str("scope", self.scope.as_deref());
        match self.access_expires_at_ms {
            Some(t) => w.num("accessTokenExpiresAt", t.floor()),
            None => w.raw("accessTokenExpiresAt", "null"),
        }
        .finish()
    }
}

/// Whether `incoming`, handed over by another tab, should replace `current`: another user, or a
/// later generation of the same session.
pub fn is_newer(current: Option<&Session>, incoming: &Session) -> bool {
    match current {
        None => true,
        Some(cur) => cur.claims.sub != incoming.claims.sub || incoming.generation > cur.generation,
    }
}

/// Whether two origins are the same site (scheme and registrable domain), as browsers decide
/// which cookies a frame sees. The registrable domain is approximated by the last two labels
/// (IP addresses and single-label hosts stand for themselves); an approximation only decides
/// whether a silent redirect is worth trying after the iframe said `login_required`.
pub fn same_site(a: &str, b: &str) -> bool {
    let (Some(a), Some(b)) = (super::url::split(a), super::url::split(b)) else {
        return false;
    };
    fn site(host: &str) -> String {
        let h = host.to_ascii_lowercase();
        let is_ip = h.starts_with('[') || h.bytes().all(|c| c.is_ascii_digit() || c == b'.');
        if is_ip {
            return h;
        }
        let labels: Vec<&str> = super::url::pieces(&h, b'.').collect();
        match labels.len() {
            0..=2 => h.clone(),
            n => labels
                .get(n - 2..)
                .map_or(h.clone(), |l| super::error::join(l, ".")),
        }
    }
    a.scheme.eq_ignore_ascii_case(b.scheme) && site(a.host()) == site(b.host())
}

impl Session {
    /// The session as JSON text, for handing it to another tab of the same app in memory
    /// (BroadcastChannel). Never written to storage.
    pub fn to_transfer_json(&self) -> String {
        let w = ObjectWriter::new()
            .str("access_token", self.access_token.expose())
            .raw("dpop", if self.dpop { "true" } else { "false" })
            .str("id_token", self.id_token.expose())
            .opt_str(
                "refresh_token",
                self.refresh_token.as_ref().map(Secret::expose),
            )
            .opt_str("scope", self.scope.as_deref())
            .str("claims", &self.claims.json)
            .opt_str("session_state", self.session_state.as_deref())
            .num("generation", self.generation);
        match self.access_expires_at_ms {
            Some(t) => w.num("access_expires_at_ms", t),
            None => w,
        }
        .finish()
    }

    /// A session handed over by another tab. It is taken only if it is for this issuer and
    /// client and its tokens are not stale; the ID token was validated by the tab that got it.
    pub fn from_transfer_json(
        text: &str,
        issuer: &str,
        client_id: &str,
        now_ms: f64,
    ) -> Option<Session> {
        use super::json::{self, Value};
        let v = json::parse(text, "a session from another tab").ok()?;
        let claims_text = v.str_member("claims")?;
        let claims_v = &json::parse(claims_text, "claims").ok()?;
        let iss = claims_v.str_member("iss")?;
        let sub = claims_v.str_member("sub")?;
        let aud: Vec<String> = match claims_v.get("aud")? {
            Value::Str(s) => vec![s.clone()],
            Value::Arr(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => return None,
        };
        let exp = claims_v.get("exp")?.as_f64()?;
        let template_ok = super::discovery::has_tenant_placeholder(issuer);
        if (iss != issuer && !template_ok) || !aud.iter().any(|a| a == client_id) {
            return None;
        }
        let access_expires_at_ms = v.get("access_expires_at_ms").and_then(Value::as_f64);
        if access_expires_at_ms.is_some_and(|t| t <= now_ms) {
            return None;
        }
        let claims = Claims {
            json: claims_text.to_string(),
            iss: iss.to_string(),
            sub: sub.to_string(),
            aud,
            exp,
            iat: claims_v.get("iat").and_then(Value::as_f64).unwrap_or(0.0),
            nonce: claims_v.str_member("nonce").map(str::to_string),
        };
        Some(Session {
            access_token: Secret::new(v.str_member("access_token")?),
            dpop: v.get("dpop").and_then(Value::as_bool).unwrap_or(false),
            id_token: Secret::new(v.str_member("id_token")?),
            refresh_token: v.str_member("refresh_token").map(Secret::new),
            scope: v.str_member("scope").map(str::to_string),
            access_expires_at_ms,
            claims,
            generation: v.get("generation").and_then(Value::as_f64).unwrap_or(0.0),
            session_state: v.str_member("session_state").map(str::to_string),
        })
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
