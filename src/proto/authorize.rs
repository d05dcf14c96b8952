//! The authorization request (OIDC Core §3.1.2.1, RFC 7636 §4.3) and the login in flight that
//! waits in sessionStorage until the callback.

use super::b64;
use super::config::{check_extra_auth_params, Config};
use super::discovery::Metadata;
use super::error::{cat, join, Code, Error, Result};
use super::json::{self, ObjectWriter};
use super::pkce::{self, Verifier};
use super::url;

/// A login in flight expires after ten minutes (docs/API.md, "Where things live").
pub const PENDING_TTL_MS: f64 = 10.0 * 60.0 * 1000.0;

/// Random bytes one authorization request consumes: verifier, state, nonce (32 bytes each).
pub const RANDOM_BYTES: usize = 96;

/// What kind of request started the login: a user's full-page login, or a silent `prompt=none`
/// attempt (hidden iframe or top-level redirect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Interactive,
    SilentIframe,
    SilentRedirect,
    /// A user's login in a popup window: interactive, back to the silent redirect URI.
    Popup,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Interactive => "interactive",
            Mode::SilentIframe => "iframe",
            Mode::SilentRedirect => "redirect",
            Mode::Popup => "popup",
        }
    }
    fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "interactive" => Mode::Interactive,
            "iframe" => Mode::SilentIframe,
            "redirect" => Mode::SilentRedirect,
            "popup" => Mode::Popup,
            _ => return None,
        })
    }
}

/// The login in flight: kept in sessionStorage under its `state`, deleted on use.
#[derive(Debug, PartialEq)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: Verifier,
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Where the user lands after the callback (absolute, same-origin).
    pub redirect_to: String,
    pub created_at_ms: f64,
    pub mode: Mode,
}

impl PendingLogin {
    /// The sessionStorage key of a login in flight.
    pub fn storage_key(state: &str) -> String {
        cat(&[STORAGE_PREFIX, state])
    }

    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .str("state", &self.state)
            .str("nonce", &self.nonce)
            .str("verifier", self.verifier.secret())
            .str("issuer", &self.issuer)
            .str("client_id", &self.client_id)
            .str("redirect_uri", &self.redirect_uri)
            .str("redirect_to", &self.redirect_to)
            .num("created_at_ms", self.created_at_ms)
            .str("mode", self.mode.as_str())
            .finish()
    }

    /// Reads an entry back; anything malformed is treated as no login at all.
    pub fn from_json(text: &str) -> Option<PendingLogin> {
        let v = json::parse(text, "the login in flight").ok()?;
        let s = |k: &str| v.str_member(k).map(str::to_string);
        Some(PendingLogin {
            state: s("state")?,
            nonce: s("nonce")?,
            verifier: Verifier::from_stored(v.str_member("verifier")?)?,
            issuer: s("issuer")?,
            client_id: s("client_id")?,
            redirect_uri: s("redirect_uri")?,
            redirect_to: s("redirect_to")?,
            created_at_ms: v.get("created_at_ms")?.as_f64()?,
            mode: Mode::parse(v.str_member("mode")?)?,
        })
    }

    /// Expired entries, and entries from the future (a clock set back), are not used.
    pub fn is_expired(&self, now_ms: f64) -> bool {
        now_ms - self.created_at_ms > PENDING_TTL_MS || self.created_at_ms - now_ms > PENDING_TTL_MS
    }
}

/// Keys of logins in flight start with this.
pub const STORAGE_PREFIX: &str = "pixy-oidc:login:";

/// Options of one authorization request.
pub struct Options<'a> {
    /// Absolute, same-origin URL to land on after the callback.
    pub redirect_to: String,
    pub extra: &'a [(String, String)],
    pub mode: Mode,
    /// Overrides `cfg.redirect_uri` (the silent redirect URI for the iframe).
    pub redirect_uri: Option<&'a str>,
    /// `SHA256(ASCII(code_verifier))` for the verifier made of the first 32 random bytes,
    /// computed by the caller (WebCrypto in the browser, so no SHA-256 ships in the wasm).
    pub verifier_digest: &'a [u8],
}

/// Whether the scopes hold `offline_access` (OIDC Core §11): then a silent request can be
/// retried without it.
pub fn asks_offline_access(cfg: &Config) -> bool {
    cfg.scopes.iter().any(|s| s == "offline_access")
}

/// The configuration for silent requests to a provider that answered `consent_required` to a
/// `prompt=none` request asking for `offline_access` (authentik turns that scope into a
/// consent prompt; README, "Providers", authentik). `None` when the scopes hold no `offline_access`, so there
/// is nothing to retry without.
pub fn without_offline_access(cfg: &Config) -> Option<Config> {
    if !asks_offline_access(cfg) {
        return None;
    }
    let mut c = cfg.clone();
    c.scopes.retain(|s| s != "offline_access");
    Some(c)
}

/// Builds the authorization request URL and the login in flight to store before navigating.
pub fn request(
    cfg: &Config,
    meta: &Metadata,
    random: &[u8; RANDOM_BYTES],
    now_ms: f64,
    opts: Options<'_>,
) -> Result<(String, PendingLogin)> {
    check_extra_auth_params(opts.extra)?;
    let part = |i: usize| -> Result<[u8; 32]> {
        random
            .get(i * 32..(i + 1) * 32)
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or_else(|| Error::new(Code::CryptoError, "not enough random bytes"))
    };
    let verifier = Verifier::from_random(&part(0)?);
    let state = b64::encode(&part(1)?);
    let nonce = b64::encode(&part(2)?);
    let challenge = pkce::challenge_from_digest(opts.verifier_digest).ok_or_else(|| {
        Error::new(
            Code::CryptoError,
            "the PKCE verifier digest must be 32 bytes",
        )
    })?;
    let redirect_uri = opts.redirect_uri.unwrap_or(&cfg.redirect_uri).to_string();
    let scope = join(&cfg.scopes, " ");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &cfg.client_id),
        ("redirect_uri", &redirect_uri),
        ("scope", &scope),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    // Per-call parameters win over the configured ones.
    // A silent request sends `prompt=none`, whatever the extra parameters say.
    let silent = matches!(opts.mode, Mode::SilentIframe | Mode::SilentRedirect);
    for (k, v) in opts.extra.iter().chain(cfg.extra_auth_params.iter()) {
        let skip = (silent && k == "prompt") || pairs.iter().any(|(pk, _)| pk == k);
        if !skip {
            pairs.push((k, v));
        }
    }
    if silent {
        pairs.push(("prompt", "none"));
    }
    let url = url::append_query(&meta.authorization_endpoint, &pairs);
    let pending = PendingLogin {
        state,
        nonce,
        verifier,
        issuer: cfg.issuer.clone(),
        client_id: cfg.client_id.clone(),
        redirect_uri,
        redirect_to: opts.redirect_to,
        created_at_ms: now_ms,
        mode: opts.mode,
    };
    Ok((url, pending))
}

#[cfg(test)]
#[path = "authorize_tests.rs"]
mod tests;
