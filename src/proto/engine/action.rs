//! What the engine asks the browser shell to do. Each action carries everything the shell
//! needs to perform it; each answer the shell sends back names the action's `id`.

use crate::proto::error::Error;
use crate::proto::json::{write_str, ObjectWriter};

/// An event for the app's listeners (`subscribe`).
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    TokensChanged,
    /// `reason`: `user` (this tab's logout), `otherTab`, `idle`, `provider`.
    LoggedOut(&'static str),
    /// The idle logout comes in this many milliseconds unless the user does something.
    IdleWarning(f64),
    /// Activity in some tab cancelled the idle warning.
    IdleWarningCancelled,
    SessionExpired(Error),
    Error(Error),
}

/// One action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open the BroadcastChannel `channel` to the app's other tabs and listen for `online` and
    /// `visibilitychange`.
    Listen { channel: String },
    /// An HTTP request: GET, or a form POST when `form` is set; `authorization` is the
    /// `Authorization` header (`Bearer <token>`, RFC 6750 §2.1, or `DPoP <token>`), `dpop` the
    /// `DPoP` header (a proof, RFC 9449 §4). Read at most `max` bytes of the body.
    Fetch {
        id: u32,
        url: String,
        form: Option<String>,
        authorization: Option<String>,
        dpop: Option<String>,
        no_cache: bool,
        max: usize,
    },
    /// Make this session's DPoP key pair: P-256, the private key not extractable, kept by the
    /// shell in memory only; answer with the public key's `x` and `y`.
    GenerateKey { id: u32 },
    /// Sign `input` with the DPoP key (ECDSA P-256, SHA-256); answer with the signature.
    Sign { id: u32, input: String },
    /// Forget the DPoP key (the session ended).
    DropKey,
    /// Take the DPoP key that came with another tab's session message.
    TakeKey,
    /// Stop fetch `id` (it timed out); no answer is expected any more.
    Abort { id: u32 },
    /// The WebCrypto digest of `text` under `hash` (`SHA-256`, ...).
    Digest {
        id: u32,
        hash: &'static str,
        text: String,
    },
    /// Verify `sig` (base64url) over `input` with any of `keys` (JWK JSON texts) under `alg`.
    Verify {
        id: u32,
        keys: Vec<String>,
        alg: &'static str,
        hash: &'static str,
        input: String,
        sig: String,
    },
    /// Put `value` under `key` in sessionStorage; with an `id`, answer `stored` or `failed`.
    Store {
        id: Option<u32>,
        key: String,
        value: String,
    },
    /// Delete `key` from sessionStorage.
    Remove { key: String },
    /// Load `url` in a hidden iframe; answer with the URL its page posts back.
    Frame { id: u32, url: String },
    /// Remove the hidden iframe `id`.
    CloseFrame { id: u32 },
    /// Open a popup window (now, while the click that asked for it still counts), blank until
    /// `PopupGo`; answer `failed` (`blocked`) if the browser refuses, and `popup` with the URL
    /// its page posts back (only that window's page, on this origin).
    Popup { id: u32 },
    /// Send popup `id` to `url`.
    PopupGo { id: u32, url: String },
    /// Answer `popupClosed` if popup `id` is closed.
    CheckPopup { id: u32 },
    /// Close popup `id`.
    ClosePopup { id: u32 },
    /// Report the user's activity in this tab (pointer, keys, scroll, focus) as `activity`
    /// events, at most one per `every_ms`; 0: stop.
    WatchActivity { every_ms: f64 },
    /// Load the provider's check-session page `url` in a hidden iframe; answer `frameLoaded`
    /// once loaded and `check` with each answer it posts (only that frame's, from its origin).
    CheckFrame { id: u32, url: String },
    /// Post `msg` to check-session frame `id` (target origin `origin`).
    CheckPost {
        id: u32,
        msg: String,
        origin: String,
    },
    /// Leave the page for `url`.
    Navigate { url: String },
    /// `history.replaceState` to `url` (the authorization response leaves the URL).
    ReplaceUrl { url: String },
    /// Send `msg` to the app's other tabs; with `key`, the DPoP key goes along (in memory: a
    /// CryptoKey crosses a BroadcastChannel by structured clone).
    Post { msg: String, key: bool },
    /// Request the Web Lock `name` (exclusive, or shared); answer `lockGranted` once held.
    /// `if_available`: only if no tab holds it now; otherwise answer `failed` (`blocked`).
    Lock {
        id: u32,
        name: String,
        shared: bool,
        if_available: bool,
    },
    /// Let go of lock `id` (held or still requested).
    Unlock { id: u32 },
    /// Which locks whose names start with `prefix` are held by any tab: answer `locks`.
    QueryLocks { id: u32, prefix: String },
    /// What the app reads synchronously changed: `claims` is JSON text, or none.
    State { claims: Option<String> },
    /// Tell the app's listeners.
    Emit(AppEvent),
    /// Settle the promise of command `cmd` (0: `createOidc` itself) with `value`, JSON text.
    Resolve { cmd: u32, value: String },
    /// Reject the promise of command `cmd` with `error`.
    Reject { cmd: u32, error: Error },
    /// A line for the console, when `debug` is on. Never holds a token.
    Debug { msg: String },
    /// A misconfiguration the developer must fix, for `console.error`. Never holds a token.
    Console { msg: String },
}

/// An error as JSON: `{code, message, error?, errorDescription?}`.
pub fn error_json(e: &Error) -> String {
    ObjectWriter::new()
        .str("code", e.code.as_str())
        .str("message", &e.message)
        .opt_str("error", e.error.as_deref())
        .opt_str("errorDescription", e.error_description.as_deref())
        .finish()
}

impl Action {
    /// The action as JSON text: `{"do": kind, ...}`.
    pub fn to_json(&self) -> String {
        let w = |kind: &str| ObjectWriter::new().str("do", kind);
        let id = |w: ObjectWriter, id: u32| w.num("id", f64::from(id));
        match self {
            Action::Listen { channel } => w("listen").str("channel", channel),
            Action::Fetch {
                id: i,
                url,
                form,
                authorization,
                dpop,
                no_cache,
                max,
            } => id(w("fetch"), *i)
                .str("url", url)
                .opt_str("form", form.as_deref())
                .opt_str("authorization", authorization.as_deref())
                .opt_str("dpop", dpop.as_deref())
                .raw("noCache", if *no_cache { "true" } else { "false" })
                .num("max", *max as f64),
            Action::Abort { id: i } => id(w("abort"), *i),
            Action::Digest { id: i, hash, text } => {
                id(w("digest"), *i).str("hash", hash).str("text", text)
            }
            Action::Verify {
                id: i,
                keys,
                alg,
                hash,
                input,
                sig,
            } => {
                let mut list = String::from("[");
                for (n, k) in keys.iter().enumerate() {
                    if n > 0 {
                        list.push(',');
                    }
                    list.push_str(k);
                }
                list.push(']');
                id(w("verify"), *i)
                    .raw("keys", &list)
                    .str("alg", alg)
                    .str("hash", hash)
                    .str("input", input)
                    .str("sig", sig)
            }
            Action::Store { id: i, key, value } => {
                let w = w("store").str("key", key).str("value", value);
                match i {
                    Some(i) => id(w, *i),
                    None => w,
                }
            }
            Action::Remove { key } => w("remove").str("key", key),
            Action::Frame { id: i, url } => id(w("frame"), *i).str("url", url),
            Action::CloseFrame { id: i } => id(w("closeFrame"), *i),
            Action::Navigate { url } => w("navigate").str("url", url),
            Action::Popup { id: i } => id(w("popup"), *i),
            Action::PopupGo { id: i, url } => id(w("popupGo"), *i).str("url", url),
            Action::CheckPopup { id: i } => id(w("checkPopup"), *i),
            Action::ClosePopup { id: i } => id(w("closePopup"), *i),
            Action::WatchActivity { every_ms } => w("watchActivity").num("every", *every_ms),
            Action::CheckFrame { id: i, url } => id(w("checkFrame"), *i).str("url", url),
            Action::CheckPost { id: i, msg, origin } => {
                id(w("checkPost"), *i).str("msg", msg).str("origin", origin)
            }
            Action::ReplaceUrl { url } => w("replaceUrl").str("url", url),
            Action::Post { msg, key } => w("post")
                .str("msg", msg)
                .raw("key", if *key { "true" } else { "false" }),
            Action::GenerateKey { id: i } => id(w("generateKey"), *i),
            Action::Sign { id: i, input } => id(w("sign"), *i).str("input", input),
            Action::DropKey => w("dropKey"),
            Action::TakeKey => w("takeKey"),
            Action::Lock {
                id: i,
                name,
                shared,
                if_available,
            } => id(w("lock"), *i)
                .str("name", name)
                .raw("shared", if *shared { "true" } else { "false" })
                .raw("ifAvailable", if *if_available { "true" } else { "false" }),
            Action::Unlock { id: i } => id(w("unlock"), *i),
            Action::QueryLocks { id: i, prefix } => id(w("queryLocks"), *i).str("prefix", prefix),
            Action::State { claims } => {
                w("state").raw("claims", claims.as_deref().unwrap_or("null"))
            }
            Action::Emit(e) => {
                let w = w("emit");
                match e {
                    AppEvent::TokensChanged => w.str("type", "tokensChanged"),
                    AppEvent::LoggedOut(reason) => w.str("type", "loggedOut").str("reason", reason),
                    AppEvent::IdleWarning(ms) => w
                        .str("type", "idleWarning")
                        .num("msLeft", ms.max(0.0).round()),
                    AppEvent::IdleWarningCancelled => w.str("type", "idleWarningCancelled"),
                    AppEvent::SessionExpired(e) => {
                        w.str("type", "sessionExpired").raw("error", &error_json(e))
                    }
                    AppEvent::Error(e) => w.str("type", "error").raw("error", &error_json(e)),
                }
            }
            Action::Resolve { cmd, value } => {
                w("resolve").num("cmd", f64::from(*cmd)).raw("value", value)
            }
            Action::Reject { cmd, error } => w("reject")
                .num("cmd", f64::from(*cmd))
                .raw("error", &error_json(error)),
            Action::Debug { msg } => w("debug").str("msg", msg),
            Action::Console { msg } => w("console").str("msg", msg),
        }
        .finish()
    }
}

/// The engine's answer to one event: the actions in order, and when to wake it next.
pub fn output_json(actions: &[Action], wake: Option<f64>) -> String {
    let mut out = String::from("{\"actions\":[");
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&a.to_json());
    }
    out.push_str("],\"wake\":");
    match wake {
        Some(t) => out.push_str(&crate::proto::json::number_text(t.ceil())),
        None => out.push_str("null"),
    }
    out.push('}');
    out
}

/// A JSON string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}
