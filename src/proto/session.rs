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

/// The longest a renewal timer sleeps before it looks at the wall clock again. Timers do not
/// run while a device sleeps; waking often enough and comparing with `Date.now()` catches up.
pub const MAX_TIMER_MS: f64 = 30_000.0;

/// When the renewal of `session` is due: `RENEW_LEEWAY_MS` before the access token expires,
/// but never before a quarter of its life has passed, so that a token shorter than the leeway
/// is not renewed at once, forever.
pub fn renewal_due_at(session: &Session, received_at_ms: f64) -> Option<f64> {
    let exp = session.access_expires_at_ms?;
    let early = exp - RENEW_LEEWAY_MS;
    let floor = received_at_ms + (exp - received_at_ms) / 4.0;
    Some(if early > floor { early } else { floor })
}

/// How long the next timer should sleep: until `due`, but at most [`MAX_TIMER_MS`].
pub fn timer_delay(due_ms: f64, now_ms: f64) -> f64 {
    (due_ms - now_ms).clamp(0.0, MAX_TIMER_MS)
}

/// Retry delay after the `attempt`-th failed renewal (network error, timeout, 5xx): 2 s, 4 s,
/// 8 s, ... capped at 60 s.
pub fn backoff_ms(attempt: u32) -> f64 {
    let exp = attempt.min(5);
    (2_000.0 * f64::from(1u32 << exp)).min(60_000.0)
}

/// Whether a renewal error is passing (retry later, keep the session) or final (the session
/// is over): only `invalid_grant`, `login_required` and friends end a session.
pub fn is_transient(e: &super::Error) -> bool {
    use super::Code;
    matches!(e.code, Code::NetworkError | Code::Timeout | Code::HttpError)
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
            .str("id_token", self.id_token.expose())
            .opt_str(
                "refresh_token",
                self.refresh_token.as_ref().map(Secret::expose),
            )
            .opt_str("scope", self.scope.as_deref())
            .str("claims", &self.claims.json);
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
            id_token: Secret::new(v.str_member("id_token")?),
            refresh_token: v.str_member("refresh_token").map(Secret::new),
            scope: v.str_member("scope").map(str::to_string),
            access_expires_at_ms,
            claims,
        })
    }
}

#[cfg(test)]
mod lifecycle_tests {
    use super::*;

    fn session(expires_in: f64, received: f64) -> Session {
        let claims = Claims {
            json: r#"{"iss":"https://op.example","sub":"alice","aud":"spa","exp":2000000000,"iat":1,"n":"}{\""}"#.into(),
            iss: "https://op.example".into(),
            sub: "alice".into(),
            aud: vec!["spa".into()],
            exp: 2e9,
            iat: 1.0,
            nonce: None,
        };
        let tr = TokenResponse {
            access_token: Secret::new("at"),
            token_type: "Bearer".into(),
            id_token: None,
            refresh_token: Some(Secret::new("rt")),
            scope: Some("openid".into()),
            expires_in: Some(expires_in),
        };
        Session::new(tr, Secret::new("id"), claims, received)
    }

    /// A virtual clock: runs the timer the way the browser shell does, jumping to each wake-up.
    fn wakeups_until_due(s: &Session, received: f64, start: f64) -> (u32, f64) {
        let due = renewal_due_at(s, received).unwrap();
        let mut now = start;
        let mut wakeups = 0;
        while now < due {
            now += timer_delay(due, now);
            wakeups += 1;
            assert!(wakeups < 10_000, "timer never reaches the due time");
        }
        (wakeups, now)
    }

    #[test]
    fn renewal_is_due_thirty_seconds_before_expiry() {
        let s = session(3600.0, 0.0);
        assert_eq!(renewal_due_at(&s, 0.0), Some(3_570_000.0));
        let (wakeups, at) = wakeups_until_due(&s, 0.0, 0.0);
        assert_eq!(at, 3_570_000.0);
        assert_eq!(wakeups, 119, "wakes every 30 s to look at the wall clock");
    }

    #[test]
    fn short_tokens_are_renewed_after_a_quarter_of_their_life_not_in_a_loop() {
        let s = session(40.0, 1_000.0);
        assert_eq!(
            renewal_due_at(&s, 1_000.0),
            Some(11_000.0),
            "40 s token: 30 s before expiry"
        );
        let s = session(20.0, 1_000.0);
        assert_eq!(
            renewal_due_at(&s, 1_000.0),
            Some(6_000.0),
            "20 s token: after 5 s, not at once"
        );
    }

    #[test]
    fn a_device_that_slept_past_the_due_time_renews_at_once() {
        let s = session(300.0, 0.0);
        // The tab slept for an hour: the next wake-up sees the wall clock past due.
        assert_eq!(
            timer_delay(renewal_due_at(&s, 0.0).unwrap(), 3_600_000.0),
            0.0
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let delays: Vec<f64> = (0..8).map(backoff_ms).collect();
        assert_eq!(
            delays,
            vec![2_000.0, 4_000.0, 8_000.0, 16_000.0, 32_000.0, 60_000.0, 60_000.0, 60_000.0]
        );
    }

    #[test]
    fn only_network_faults_are_transient() {
        use super::super::{Code, Error};
        assert!(is_transient(&Error::new(Code::NetworkError, "x")));
        assert!(is_transient(&Error::new(Code::HttpError, "503")));
        assert!(!is_transient(&Error::provider(
            "invalid_grant",
            None,
            "refresh"
        )));
        assert!(!is_transient(&Error::provider(
            "login_required",
            None,
            "silent"
        )));
    }

    #[test]
    fn same_site_follows_registrable_domains() {
        assert!(same_site("http://127.0.0.1:5173", "http://127.0.0.1:9090"));
        assert!(!same_site("http://localhost:5173", "http://127.0.0.1:9090"));
        assert!(same_site(
            "https://app.example.com",
            "https://login.example.com"
        ));
        assert!(!same_site(
            "https://app.example.com",
            "https://example.auth0.com"
        ));
        assert!(!same_site(
            "http://app.example.com",
            "https://login.example.com"
        ));
    }

    #[test]
    fn a_session_crosses_to_another_tab_and_back_unchanged() {
        let s = session(300.0, 1_000.0);
        let text = s.to_transfer_json();
        let back =
            Session::from_transfer_json(&text, "https://op.example", "spa", 2_000.0).unwrap();
        assert_eq!(back.access_token, s.access_token);
        assert_eq!(back.refresh_token, s.refresh_token);
        assert_eq!(back.access_expires_at_ms, s.access_expires_at_ms);
        assert_eq!(back.claims, s.claims);
    }

    #[test]
    fn stale_or_foreign_sessions_from_other_tabs_are_refused() {
        let text = session(300.0, 0.0).to_transfer_json();
        assert!(
            Session::from_transfer_json(&text, "https://op.example", "spa", 300_001.0).is_none(),
            "expired"
        );
        assert!(
            Session::from_transfer_json(&text, "https://other.example", "spa", 0.0).is_none(),
            "issuer"
        );
        assert!(
            Session::from_transfer_json(&text, "https://op.example", "other", 0.0).is_none(),
            "client"
        );
        assert!(Session::from_transfer_json("garbage", "https://op.example", "spa", 0.0).is_none());
    }
}
