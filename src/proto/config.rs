//! The options of `createOidc` (see docs/API.md), read from the JSON text of the JavaScript object and
//! checked once, so that everything later can rely on them.

use super::error::{cat, quoted, Code, Error, Result};
use super::json::{self, Value};
use super::url;

/// How `createOidc` restores a session without user interaction (docs/API.md, `sessionRestore`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionRestore {
    Auto,
    Iframe,
    Redirect,
    None,
}

/// When the authorization request is pushed first (RFC 9126, `par`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Par {
    /// When the provider's metadata requires it.
    Auto,
    Always,
    Never,
}

/// Which tenants an Entra multi-tenant authority may sign in (`entraMultiTenant`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tenants {
    /// Every tenant in the world, said in so many words.
    Any,
    List(Vec<String>),
}

/// The checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub post_logout_redirect_uri: String,
    pub extra_auth_params: Vec<(String, String)>,
    pub silent_redirect_uri: String,
    pub session_restore: SessionRestore,
    pub clock_skew_s: f64,
    pub entra_multi_tenant: Option<Tenants>,
    pub end_session_endpoint: Option<String>,
    pub extra_logout_params: Vec<(String, String)>,
    /// How long a silent (iframe) request may take.
    pub silent_timeout_ms: f64,
    /// How long one HTTP request may take.
    pub http_timeout_ms: f64,
    /// Narrate the engine's decisions in the console (never a token).
    pub debug: bool,
    /// DPoP (RFC 9449): tokens bound to a key that never leaves the browser.
    pub dpop: bool,
    pub par: Par,
    /// Log out after this long without activity in any tab (`None`: never).
    pub idle_timeout_ms: Option<f64>,
    /// The `idleWarning` event comes this long before the idle logout.
    pub idle_warning_ms: f64,
    /// The idle logout also ends the provider's session (RP-initiated logout, leaving the page).
    pub idle_logout_at_provider: bool,
    /// How often the provider's `check_session_iframe` is asked (0: never).
    pub session_check_interval_ms: f64,
    /// The app's page the provider loads in an iframe when the user logs out there.
    pub front_channel_logout_uri: Option<String>,
}

/// Authorization request parameters the library owns; `extraAuthParams` may not set them.
pub const RESERVED_AUTH_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
];

/// The options `createOidc` knows.
pub const OPTIONS: &[&str] = &[
    "issuer",
    "clientId",
    "redirectUri",
    "scopes",
    "postLogoutRedirectUri",
    "extraAuthParams",
    "silentRedirectUri",
    "sessionRestore",
    "clockSkewSeconds",
    "entraMultiTenant",
    "endSessionEndpoint",
    "extraLogoutParams",
    "silentTimeoutMs",
    "httpTimeoutMs",
    "debug",
    "dpop",
    "par",
    "idleTimeoutMs",
    "idleWarningMs",
    "idleLogoutAtProvider",
    "sessionCheckIntervalMs",
    "frontChannelLogoutUri",
];

/// The shortest `sessionCheckIntervalMs` honoured: a typo (5 for 5000) must not make the app
/// poll the provider's frame in a busy loop.
pub const MIN_SESSION_CHECK_MS: f64 = 500.0;
/// The longest `idleTimeoutMs` (30 days).
const MAX_IDLE_MS: f64 = 30.0 * 24.0 * 3600.0 * 1000.0;

/// The edit distance of `a` and `b`, ignoring ASCII case (`redirectURI` is `redirectUri`).
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.bytes().enumerate() {
        let mut diag = i;
        let mut left = i + 1;
        for (j, y) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(0);
            let cost = usize::from(!x.eq_ignore_ascii_case(y));
            let v = (diag + cost).min(up + 1).min(left + 1);
            diag = up;
            if let Some(c) = row.get_mut(j + 1) {
                *c = v;
            }
            left = v;
        }
        if let Some(c) = row.first_mut() {
            *c = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// An option `createOidc` does not know: refused, with the closest known name, so that a typo
/// never silently falls back to a default.
fn check_option(name: &str) -> Result<()> {
    if OPTIONS.contains(&name) {
        return Ok(());
    }
    let n = quoted(name, 60);
    if name.eq_ignore_ascii_case("clientSecret") || name.eq_ignore_ascii_case("client_secret") {
        return Err(bad(
            "`clientSecret`: a browser app is a public client (PKCE, no secret: a page cannot keep one); a client with a secret needs a backend (BFF)",
        ));
    }
    let best = OPTIONS
        .iter()
        .map(|o| (distance(name, o), *o))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, o)| *d <= 2 && *d * 3 < o.len());
    Err(bad(match best {
        Some((_, o)) => cat(&["unknown option ", &n, ": did you mean `", o, "`?"]),
        None => cat(&["unknown option ", &n]),
    }))
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(Code::InvalidConfig, msg)
}

fn flag(v: &Value, key: &str) -> Result<bool> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(cat(&["`", key, "` must be true or false"]))),
    }
}

fn opt_string(v: &Value, key: &str) -> Result<Option<String>> {
    match v.opt_str(key) {
        Some(s) => Ok(s.map(str::to_string)),
        None => Err(bad(cat(&["`", key, "` must be a string"]))),
    }
}

fn string_map(v: &Value, key: &str) -> Result<Vec<(String, String)>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Obj(members)) => {
            let mut out = Vec::new();
            for (k, v) in members {
                let s = match v {
                    Value::Null => continue,
                    Value::Str(s) => s.clone(),
                    Value::Num(n) => json::number_text(*n),
                    Value::Bool(b) => String::from(if *b { "true" } else { "false" }),
                    _ => return Err(bad(cat(&["`", key, ".", k, "` must be a string"]))),
                };
                out.push((k.clone(), s));
            }
            Ok(out)
        }
        Some(_) => Err(bad(cat(&["`", key, "` must be an object of strings"]))),
    }
}

/// Reads a JSON object of strings, such as `login({ extraAuthParams })`.
pub fn string_pairs(text: &str, what: &str) -> Result<Vec<(String, String)>> {
    let v = json::parse(text, what).map_err(|mut e| bad(core::mem::take(&mut e.message)))?;
    let wrapped = Value::Obj(vec![(what.to_string(), v)]);
    string_map(&wrapped, what)
}

fn http_url(value: &str, key: &str) -> Result<()> {
    let parts = url::split(value).ok_or_else(|| {
        bad(cat(&[
            "`",
            key,
            "` must be an absolute http(s) URL, got ",
            &quoted(value, 200),
        ]))
    })?;
    if parts.fragment.is_some() {
        return Err(bad(cat(&["`", key, "` must not have a fragment"])));
    }
    Ok(())
}

/// Extra parameters may not take over the ones the protocol depends on.
pub fn check_extra_auth_params(params: &[(String, String)]) -> Result<()> {
    match params
        .iter()
        .find(|(k, _)| RESERVED_AUTH_PARAMS.contains(&k.as_str()))
    {
        Some((k, _)) => Err(bad(cat(&[
            "extraAuthParams may not set `",
            k,
            "`: pixy-oidc sets it itself",
        ]))),
        None => Ok(()),
    }
}

impl Config {
    /// Reads the configuration. `page_url` is the page's `origin + pathname`, the default
    /// `redirectUri`.
    pub fn from_json(text: &str, page_url: &str) -> Result<Config> {
        let v = json::parse(text, "the configuration")
            .map_err(|mut e| bad(core::mem::take(&mut e.message)))?;
        let Value::Obj(members) = &v else {
            return Err(bad("createOidc expects an object"));
        };
        for (name, _) in members {
            check_option(name)?;
        }
        let issuer = opt_string(&v, "issuer")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("`issuer` is required"))?;
        let parts = url::split(&issuer).ok_or_else(|| {
            bad(cat(&[
                "`issuer` must be an absolute https URL, got ",
                &quoted(&issuer, 200),
            ]))
        })?;
        if parts.query.is_some() || parts.fragment.is_some() {
            return Err(bad(
                "`issuer` must not have a query or fragment (OIDC Discovery §2)",
            ));
        }
        if !parts.scheme.eq_ignore_ascii_case("https") && !url::is_loopback_host(parts.host()) {
            return Err(bad(cat(&[
                "`issuer` must use https (http only on loopback), got ",
                &quoted(&issuer, 200),
            ])));
        }
        let client_id = opt_string(&v, "clientId")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("`clientId` is required"))?;
        let redirect_uri = opt_string(&v, "redirectUri")?.unwrap_or_else(|| page_url.to_string());
        http_url(&redirect_uri, "redirectUri")?;
        let post_logout_redirect_uri =
            opt_string(&v, "postLogoutRedirectUri")?.unwrap_or_else(|| redirect_uri.clone());
        http_url(&post_logout_redirect_uri, "postLogoutRedirectUri")?;
        let silent_redirect_uri =
            opt_string(&v, "silentRedirectUri")?.unwrap_or_else(|| redirect_uri.clone());
        http_url(&silent_redirect_uri, "silentRedirectUri")?;

        let mut scopes = vec!["openid".to_string()];
        match v.get("scopes") {
            None | Some(Value::Null) => scopes.push("profile".into()),
            Some(Value::Arr(items)) => {
                for item in items {
                    let s = item
                        .as_str()
                        .filter(|s| !s.is_empty() && !s.bytes().any(|b| b == b' '))
                        .ok_or_else(|| {
                            bad("`scopes` must be an array of scope names without spaces")
                        })?;
                    if !scopes.iter().any(|x| x == s) {
                        scopes.push(s.to_string());
                    }
                }
            }
            Some(_) => return Err(bad("`scopes` must be an array of strings")),
        }

        let extra_auth_params = string_map(&v, "extraAuthParams")?;
        check_extra_auth_params(&extra_auth_params)?;
        let extra_logout_params = string_map(&v, "extraLogoutParams")?;

        let session_restore =
            match opt_string(&v, "sessionRestore")?.as_deref() {
                None | Some("auto") => SessionRestore::Auto,
                Some("iframe") => SessionRestore::Iframe,
                Some("redirect") => SessionRestore::Redirect,
                Some("none") => SessionRestore::None,
                Some(other) => return Err(bad(cat(&[
                    "`sessionRestore` must be \"auto\", \"iframe\", \"redirect\" or \"none\", got ",
                    &quoted(other, 40),
                ]))),
            };
        let number = |key: &str, default: f64, max: f64| -> Result<f64> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Num(n)) if *n >= 0.0 && *n <= max => Ok(*n),
                Some(_) => Err(bad(cat(&[
                    "`",
                    key,
                    "` must be a number from 0 to ",
                    &json::number_text(max),
                ]))),
            }
        };
        let clock_skew_s = number("clockSkewSeconds", 60.0, 600.0)?;
        let silent_timeout_ms = number("silentTimeoutMs", 10_000.0, 120_000.0)?;
        let http_timeout_ms = number("httpTimeoutMs", 15_000.0, 120_000.0)?;

        // 0 (or unset) turns the idle logout off.
        let idle_timeout_ms = Some(number("idleTimeoutMs", 0.0, MAX_IDLE_MS)?).filter(|t| *t > 0.0);
        // A minute's warning, or half the timeout where that is shorter (a warning as long as
        // the timeout would show after every activity).
        let default_warning = idle_timeout_ms.map_or(60_000.0, |t| (t / 2.0).min(60_000.0));
        let idle_warning_ms = number("idleWarningMs", default_warning, MAX_IDLE_MS)?;
        let idle_logout_at_provider = match v.get("idleLogoutAtProvider") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("`idleLogoutAtProvider` must be true or false")),
        };
        let check = number("sessionCheckIntervalMs", 5_000.0, 3_600_000.0)?;
        let session_check_interval_ms = if check > 0.0 {
            check.max(MIN_SESSION_CHECK_MS)
        } else {
            0.0
        };
        let front_channel_logout_uri = opt_string(&v, "frontChannelLogoutUri")?;
        if let Some(u) = &front_channel_logout_uri {
            http_url(u, "frontChannelLogoutUri")?;
            // That page logs every tab out when it loads: it must not be a page that users
            // come back to.
            let page = |x: &str| url::split(x).map(|p| (p.origin(), p.path.to_string()));
            for (other, name) in [
                (&redirect_uri, "redirectUri"),
                (&silent_redirect_uri, "silentRedirectUri"),
                (&post_logout_redirect_uri, "postLogoutRedirectUri"),
            ] {
                if page(u) == page(other) {
                    return Err(bad(cat(&[
                        "`frontChannelLogoutUri` must be a page of its own: it is the `",
                        name,
                        "` (every tab would log out when that page loads)",
                    ])));
                }
            }
        }

        let end_session_endpoint = opt_string(&v, "endSessionEndpoint")?;
        if let Some(e) = &end_session_endpoint {
            http_url(e, "endSessionEndpoint")?;
        }

        let entra_multi_tenant =
            match v.get("entraMultiTenant") {
                None | Some(Value::Null) => None,
                Some(e) => Some(match e.get("tenants") {
                    Some(Value::Str(s)) if s == "any" => Tenants::Any,
                    Some(Value::Arr(items)) => {
                        let mut list = Vec::new();
                        for t in items {
                            let t = t
                                .as_str()
                                .filter(|t| super::id_token::is_guid(t))
                                .ok_or_else(|| {
                                    bad("`entraMultiTenant.tenants` must list tenant GUIDs")
                                })?;
                            list.push(t.to_ascii_lowercase());
                        }
                        Tenants::List(list)
                    }
                    _ => return Err(bad(
                        "`entraMultiTenant` needs `tenants`: an array of tenant ids, or \"any\"",
                    )),
                }),
            };

        Ok(Config {
            issuer,
            client_id,
            redirect_uri,
            scopes,
            post_logout_redirect_uri,
            extra_auth_params,
            silent_redirect_uri,
            session_restore,
            clock_skew_s,
            entra_multi_tenant,
            end_session_endpoint,
            extra_logout_params,
            silent_timeout_ms,
            http_timeout_ms,
            debug: flag(&v, "debug")?,
            dpop: flag(&v, "dpop")?,
            par: match opt_string(&v, "par")?.as_deref() {
                None | Some("auto") => Par::Auto,
                Some("always") => Par::Always,
                Some("never") => Par::Never,
                Some(_) => return Err(bad("`par` must be \"auto\", \"always\" or \"never\"")),
            },
            idle_timeout_ms,
            idle_warning_ms,
            idle_logout_at_provider,
            session_check_interval_ms,
            front_channel_logout_uri,
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
