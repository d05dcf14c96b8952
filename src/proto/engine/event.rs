//! What the engine is told: commands from the app and the answers of the browser shell, read
//! strictly from the JSON text the shell sends. A malformed event is an `internal_error` that
//! the shell throws: a wrong call fails loudly, it never falls back to a default.

use crate::proto::error::{cat, Code, Error, Result};
use crate::proto::json::{self, Value};

/// A command from the app. `cmd` numbers the promise the shell holds for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `login({ redirectTo, extraAuthParams })`: a full-page redirect to the provider.
    Login {
        redirect_to: Option<String>,
        extra: Vec<(String, String)>,
        /// The page's URL now: where the user comes back to without `redirectTo`.
        href: Option<String>,
        /// `login({ popup: true })`: the provider in a popup window; the page stays.
        popup: bool,
    },
    /// `getTokens()`: fresh tokens, renewed first when the renewal is due.
    GetTokens,
    /// `renewTokens()`: a renewal now.
    RenewTokens,
    /// `getUserInfo()`.
    GetUserInfo,
    /// `oidc.fetch(...)`: the headers for a request to `url` with `method`.
    FetchHeaders { method: String, url: String },
    /// `oidc.fetch(...)`: the answer to the request it sent; the engine says whether to send it
    /// once more, with which headers.
    FetchAnswer(FetchAnswer),
    /// `createDPoPProof({ method, url })`.
    CreateProof { method: String, url: String },
    /// `logout({ redirectTo })`.
    Logout { redirect_to: Option<String> },
    /// `reportActivity()`: the app says the user is active (a video playing, say).
    Activity,
}

/// What `oidc.fetch` tells of the answer to a request it sent.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchAnswer {
    pub method: String,
    pub url: String,
    /// The `Authorization` header it carried.
    pub authorization: String,
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub dpop_nonce: Option<String>,
    /// 0 for the first send, 1 for the one retry.
    pub attempt: u32,
}

/// Why a request or another action of the shell failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No HTTP answer: offline, DNS, refused by CORS.
    Network,
    /// The body grew past the size the engine allowed.
    TooLarge,
    /// WebCrypto threw (missing outside a secure context, or a key it cannot use).
    Crypto,
    /// sessionStorage refused the write.
    Storage,
    /// The browser refused to navigate or to change the URL.
    Navigation,
    /// The browser refused to open a popup window.
    Blocked,
}

/// One event. Times come beside it, as `now` in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The page loaded the library: the configuration (JSON text), the page URL as captured
    /// before any router ran, and the `pixy-oidc:` entries of sessionStorage (logins in flight
    /// and markers, never a token). `secure`: `isSecureContext` (absent: true).
    Start {
        config: String,
        href: String,
        stored: Vec<(String, String)>,
        secure: bool,
        /// The Web Locks any tab of this origin held just before (`navigator.locks.query()`,
        /// asked while the wasm loaded): with no session's among them, no tab can hand one over.
        held: Option<Vec<String>>,
        /// The page runs in a frame: the origin of the page embedding it (`""` when the
        /// browser does not tell). `None`: a top-level page.
        embedder: Option<String>,
    },
    Command {
        cmd: u32,
        command: Command,
    },
    /// The HTTP answer to fetch `id`.
    Response {
        id: u32,
        status: u16,
        content_type: Option<String>,
        body: String,
        retry_after: Option<String>,
        /// The `DPoP-Nonce` header (RFC 9449 §8).
        dpop_nonce: Option<String>,
        /// The `WWW-Authenticate` header.
        www_authenticate: Option<String>,
    },
    /// The public key of the DPoP key pair `id` made: its `x` and `y` (base64url).
    Key {
        id: u32,
        x: String,
        y: String,
    },
    /// The signature asked for by sign action `id` (base64url, r and s).
    Signed {
        id: u32,
        sig: String,
    },
    /// Action `id` could not be carried out.
    Failed {
        id: u32,
        failure: Failure,
        detail: String,
    },
    /// The digest asked for by action `id` (bytes, base64url in the JSON).
    Digest {
        id: u32,
        bytes: Vec<u8>,
    },
    /// Whether one of the keys of verify action `id` verified the signature.
    Verified {
        id: u32,
        ok: bool,
    },
    /// The page the hidden iframe `id` came back to (the URL its page posted).
    FrameAnswer {
        id: u32,
        href: String,
    },
    /// The hidden iframe `id` finished loading a page (the provider's, or the answer).
    FrameLoaded {
        id: u32,
    },
    /// The login popup `id` came back to the app: the URL its page posted.
    PopupAnswer {
        id: u32,
        href: String,
    },
    /// The login popup `id` is closed (checked when the engine asked).
    PopupClosed {
        id: u32,
    },
    /// The provider's check-session frame `id` answered a poll: `changed`, `unchanged` or
    /// `error` (OIDC Session Management §3.2).
    CheckAnswer {
        id: u32,
        status: String,
    },
    /// The user did something in this tab: pointer, keys, scroll, focus.
    Activity,
    /// sessionStorage took the value of store action `id`.
    Stored {
        id: u32,
    },
    /// Lock `id` is held.
    LockGranted {
        id: u32,
    },
    /// The names of the locks held by any tab of this origin that start with the prefix of
    /// query `id`; `None` (`names: null`): the browser cannot tell (no Web Locks).
    Locks {
        id: u32,
        names: Option<Vec<String>>,
    },
    /// A message from another tab of the app.
    Tab {
        msg: String,
    },
    /// The wake-up time the engine asked for has come (or a later one: devices sleep).
    Timer,
    /// The browser is back online.
    Online,
    /// The page became visible again.
    Visible,
    /// `oidc.close()`.
    Close,
}

/// A malformed event: `what` names the member.
fn bad(what: &str) -> Error {
    Error::new(Code::InternalError, cat(&["malformed event: `", what, "`"]))
}

fn need<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| bad(what))
}

struct Fields<'a>(&'a Value);

impl Fields<'_> {
    fn s(&self, k: &str) -> Result<String> {
        need(self.0.str_member(k), k).map(String::from)
    }
    fn os(&self, k: &str) -> Result<Option<String>> {
        need(self.0.opt_str(k), k).map(|o| o.map(String::from))
    }
    /// A whole number from 0 to `u32::MAX`.
    fn u(&self, k: &str) -> Result<u32> {
        let n = self.0.get(k).and_then(Value::as_f64).unwrap_or(-1.0);
        need(
            (n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0).then_some(n as u32),
            k,
        )
    }
    fn id(&self) -> Result<u32> {
        self.u("id")
    }
}

impl Event {
    /// Reads an event: `{"type": "...", ...}`.
    pub fn from_json(text: &str) -> Result<Event> {
        let v = json::parse(text, "the event").map_err(|_| bad("JSON"))?;
        let f = Fields(&v);
        let kind = f.s("type")?;
        Ok(match kind.as_str() {
            "start" => {
                let mut stored = Vec::new();
                for item in need(v.get("stored").and_then(Value::as_array), "stored")? {
                    match item.as_array() {
                        Some([Value::Str(k), Value::Str(v)]) => stored.push((k.clone(), v.clone())),
                        _ => return Err(bad("stored")),
                    }
                }
                let held = match v.get("held") {
                    None | Some(Value::Null) => None,
                    Some(Value::Arr(items)) => {
                        let mut names = Vec::new();
                        for n in items {
                            names.push(need(n.as_str(), "held")?.to_string());
                        }
                        Some(names)
                    }
                    Some(_) => return Err(bad("held")),
                };
                Event::Start {
                    config: f.s("config")?,
                    href: f.s("href")?,
                    stored,
                    secure: v.get("secure").is_none_or(|s| s.as_bool() != Some(false)),
                    held,
                    embedder: f.os("embedder")?,
                }
            }
            "command" => {
                // 0 is createOidc's own promise.
                let cmd = need(Some(f.u("cmd")?).filter(|c| *c > 0), "cmd")?;
                let command = match f.s("name")?.as_str() {
                    "login" => Command::Login {
                        redirect_to: f.os("redirectTo")?,
                        extra: match f.os("extraAuthParams")? {
                            Some(text) => {
                                crate::proto::config::string_pairs(&text, "extraAuthParams")?
                            }
                            None => Vec::new(),
                        },
                        href: f.os("href")?,
                        popup: v.get("popup").and_then(Value::as_bool) == Some(true),
                    },
                    "getTokens" => Command::GetTokens,
                    "renewTokens" => Command::RenewTokens,
                    "getUserInfo" => Command::GetUserInfo,
                    "fetchHeaders" => Command::FetchHeaders {
                        method: f.s("method")?,
                        url: f.s("url")?,
                    },
                    "fetchAnswer" => Command::FetchAnswer(FetchAnswer {
                        method: f.s("method")?,
                        url: f.s("url")?,
                        authorization: f.s("authorization")?,
                        status: f.u("status")?.min(999) as u16,
                        www_authenticate: f.os("wwwAuthenticate")?,
                        dpop_nonce: f.os("dpopNonce")?,
                        attempt: f.u("attempt")?,
                    }),
                    "createProof" => Command::CreateProof {
                        method: f.s("method")?,
                        url: f.s("url")?,
                    },
                    "logout" => Command::Logout {
                        redirect_to: f.os("redirectTo")?,
                    },
                    "activity" => Command::Activity,
                    _ => return Err(bad("name")),
                };
                Event::Command { cmd, command }
            }
            "response" => Event::Response {
                id: f.id()?,
                status: f.u("status")?.min(999) as u16,
                content_type: f.os("contentType")?,
                body: f.s("body")?,
                retry_after: f.os("retryAfter")?,
                dpop_nonce: f.os("dpopNonce")?,
                www_authenticate: f.os("wwwAuthenticate")?,
            },
            "failed" => Event::Failed {
                id: f.id()?,
                failure: match f.s("reason")?.as_str() {
                    "network" => Failure::Network,
                    "tooLarge" => Failure::TooLarge,
                    "crypto" => Failure::Crypto,
                    "storage" => Failure::Storage,
                    "navigation" => Failure::Navigation,
                    "blocked" => Failure::Blocked,
                    _ => return Err(bad("reason")),
                },
                detail: f.os("detail")?.unwrap_or_default(),
            },
            "digest" => Event::Digest {
                id: f.id()?,
                bytes: need(crate::proto::b64::decode(&f.s("bytes")?), "bytes")?,
            },
            "verified" => Event::Verified {
                id: f.id()?,
                ok: need(v.get("ok").and_then(Value::as_bool), "ok")?,
            },
            "frame" => Event::FrameAnswer {
                id: f.id()?,
                href: f.s("href")?,
            },
            "frameLoaded" => Event::FrameLoaded { id: f.id()? },
            "popup" => Event::PopupAnswer {
                id: f.id()?,
                href: f.s("href")?,
            },
            "popupClosed" => Event::PopupClosed { id: f.id()? },
            "check" => Event::CheckAnswer {
                id: f.id()?,
                status: f.s("status")?,
            },
            "activity" => Event::Activity,
            "key" => Event::Key {
                id: f.id()?,
                x: f.s("x")?,
                y: f.s("y")?,
            },
            "signed" => Event::Signed {
                id: f.id()?,
                sig: f.s("sig")?,
            },
            "stored" => Event::Stored { id: f.id()? },
            "lockGranted" => Event::LockGranted { id: f.id()? },
            "locks" => {
                let names = match v.get("names") {
                    Some(Value::Null) => None,
                    list => {
                        let mut names = Vec::new();
                        for n in need(list.and_then(Value::as_array), "names")? {
                            names.push(need(n.as_str(), "names")?.to_string());
                        }
                        Some(names)
                    }
                };
                Event::Locks { id: f.id()?, names }
            }
            "tab" => Event::Tab { msg: f.s("msg")? },
            "timer" => Event::Timer,
            "online" => Event::Online,
            "visible" => Event::Visible,
            "close" => Event::Close,
            _ => return Err(bad("type")),
        })
    }
}
