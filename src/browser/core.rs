//! The `#[wasm_bindgen]` surface: the protocol core as one object with synchronous steps.
//!
//! Each step either builds what the page must do next (a URL, a request, the keys to verify
//! with) or checks what came back. The page (`src/js/client.js`) performs the I/O: fetch,
//! WebCrypto, storage, the iframe, tabs, timers. Keeping the wasm free of `async` halves its
//! size: the async state machines and their JS glue weighed more than the protocol itself.
//! Errors cross as JSON text `{code, message, error?, errorDescription?}`.

use crate::proto::authorize::{self, Mode, Options, PendingLogin};
use crate::proto::callback::{self, Params, RESPONSE_PARAMS};
use crate::proto::config::{self, Config, SessionRestore};
use crate::proto::discovery::{self, Metadata};
use crate::proto::error::{cat, quoted};
use crate::proto::http::Response;
use crate::proto::id_token::{self, Expect, NonceRule};
use crate::proto::jose::{self, Jwk, Jws, KeyChoice};
use crate::proto::json::ObjectWriter;
use crate::proto::json::{self, write_str, Value};
use crate::proto::session::{self, Session};
use crate::proto::token::{self, Secret, TokenResponse};
use crate::proto::{logout, url, userinfo, Code, Error, Result};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// An error as the page receives it: `!` then `{code, message, error?, errorDescription?}`.
fn error_text(e: Error) -> String {
    cat(&[
        "!",
        &ObjectWriter::new()
            .str("code", e.code.as_str())
            .str("message", &e.message)
            .opt_str("error", e.error.as_deref())
            .opt_str("errorDescription", e.error_description.as_deref())
            .finish(),
    ])
}

fn response(status: u16, content_type: Option<String>, body: String) -> Response {
    Response {
        status,
        content_type,
        body,
    }
}

fn not_logged_in() -> Error {
    Error::new(Code::NotLoggedIn, "no user is logged in")
}

fn request_json(url: &str, body: &str, landing: &str) -> String {
    ObjectWriter::new()
        .str("url", url)
        .str("body", body)
        .str("to", landing)
        .finish()
}

/// A JSON string.
fn q(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| String::from("null"))
}

fn flag(b: bool) -> String {
    String::from(if b { "true" } else { "false" })
}

/// The positional arguments of one call, a JSON array.
struct Args(Vec<Value>);

impl Args {
    fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i).filter(|v| !matches!(v, Value::Null))
    }
    fn bad(i: usize, what: &str) -> Error {
        Error::new(
            Code::InternalError,
            cat(&["argument ", &json::uint_text(i as u64), " must be ", what]),
        )
    }
    fn s(&self, i: usize) -> Result<&str> {
        self.os(i).ok_or_else(|| Self::bad(i, "a string"))
    }
    fn os(&self, i: usize) -> Option<&str> {
        self.get(i).and_then(Value::as_str)
    }
    fn string(&self, i: usize) -> Option<String> {
        self.os(i).map(String::from)
    }
    fn n(&self, i: usize) -> Result<f64> {
        self.get(i)
            .and_then(Value::as_f64)
            .ok_or_else(|| Self::bad(i, "a number"))
    }
    fn b(&self, i: usize) -> bool {
        self.get(i).and_then(Value::as_bool).unwrap_or(false)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        self.os(i)
            .and_then(crate::proto::b64::decode)
            .ok_or_else(|| Self::bad(i, "base64url bytes"))
    }
    /// `(status, content type, body)` from `i` on: a response the page received.
    fn response(&self, i: usize) -> Result<Response> {
        let status = self.n(i)?;
        Ok(response(
            if (0.0..=999.0).contains(&status) {
                status as u16
            } else {
                0
            },
            self.string(i + 1),
            String::from(self.s(i + 2)?),
        ))
    }
}

thread_local! {
    /// The clients of this page, by the id `new` returned.
    static CORES: RefCell<Vec<Core>> = const { RefCell::new(Vec::new()) };
}

/// The one entry point: runs step `op` with `args` (a JSON array; most steps take the client
/// id first) and returns its result as JSON text, or `!` and an error. One string-in,
/// string-out export keeps both the wasm and its JS glue small.
#[wasm_bindgen]
pub fn call(op: &str, args: &str) -> String {
    run(op, args).unwrap_or_else(error_text)
}

fn run(op: &str, args: &str) -> Result<String> {
    let a = match json::parse(args, "the arguments")? {
        Value::Arr(items) => Args(items),
        _ => return Err(Args::bad(0, "an array")),
    };
    match op {
        "new" => {
            let core = Core::new(a.s(0)?, a.s(1)?)?;
            return Ok(CORES.with(|c| {
                let mut cores = c.borrow_mut();
                cores.push(core);
                json::uint_text(cores.len() as u64 - 1)
            }));
        }
        "cleanUrl" => return Ok(q(&url::without_params(a.s(0)?, RESPONSE_PARAMS))),
        "pendingLive" => {
            let live = PendingLogin::from_json(a.s(0)?)
                .is_some_and(|p| !p.is_expired(a.n(1).unwrap_or(0.0)));
            return Ok(flag(live));
        }
        _ => {}
    }
    let id = a.n(0)? as usize;
    CORES.with(|c| {
        let mut cores = c.borrow_mut();
        let core = cores
            .get_mut(id)
            .ok_or_else(|| Args::bad(0, "a client id"))?;
        core.step(op, &a)
    })
}

/// A token response on its way in: parsed, its ID token not yet verified.
struct Incoming {
    tokens: TokenResponse,
    jws: Option<Jws>,
    received_ms: f64,
    /// The code exchange's nonce; `None` for a refresh.
    nonce: Option<String>,
    /// The new ID token must be about the current user.
    renewing: bool,
}

/// One configured client.
struct Core {
    cfg: Config,
    meta: Option<Metadata>,
    callback: Option<Params>,
    jwks: Option<Vec<Jwk>>,
    session: Option<Session>,
    received_at_ms: f64,
    /// The nonce and landing page of the code exchange in flight, and whether it renews the
    /// session (then the new ID token must be about the same user).
    exchange: Option<(token::Exchange, bool)>,
    /// The refresh token the refresh in flight uses.
    refreshing: Option<Secret>,
    incoming: Option<Incoming>,
}

impl Core {
    /// Reads the configuration. `href` is the page URL, for the default `redirectUri`.
    fn new(config_json: &str, href: &str) -> Result<Core> {
        let page = url::split(href)
            .ok_or_else(|| Error::new(Code::InvalidConfig, "the page URL is not http(s)"))?;
        let cfg = Config::from_json(config_json, &cat(&[&page.origin(), page.path]))?;
        Ok(Core {
            cfg,
            meta: None,
            callback: None,
            jwks: None,
            session: None,
            received_at_ms: 0.0,
            exchange: None,
            refreshing: None,
            incoming: None,
        })
    }

    /// The steps `src/js/client.js` drives. Argument 0 is the client id.
    fn step(&mut self, op: &str, a: &Args) -> Result<String> {
        Ok(match op {
            // What the page needs of the configuration.
            "settings" => self.settings(),
            // An authorization response in a URL: `null` when there is none, else its `state`
            // (`""` when absent) for finding the login in flight. With `silent`, the answer the
            // hidden iframe sent, where no answer is an error.
            "readCallback" => opt(self.read_callback(a.s(1)?, a.b(2))?.map(|s| q(&s))),
            "discoveryUrl" => q(&discovery::url(&self.cfg.issuer)),
            // The discovery document: exact issuer match and the rest.
            "setMetadata" => {
                self.meta = Some(discovery::parse(&self.cfg, &a.response(1)?)?);
                flag(true)
            }
            // An authorization request: `{url, key, pending}`, the login in flight to store
            // under `key` in sessionStorage (kept in memory for the iframe).
            "authorize" => self.authorize(a)?,
            // The callback read by `readCallback`, checked against the login in flight: the
            // code exchange `{url, body, to}`, `to` being the page to land on.
            "codeRequest" => self.code_request(a.string(1), a.n(2)?, a.s(3)?, a.b(4))?,
            // The refresh grant `{url, body}`, `null` without a refresh token.
            "refreshRequest" => self.refresh_request()?,
            // A token response: what the ID token's verification needs.
            "acceptTokens" => self.accept_tokens(a.response(1)?, a.n(4)?)?,
            "hasJwks" => flag(self.jwks.is_some()),
            "jwksUrl" => q(&self.meta()?.jwks_uri),
            "setJwks" => {
                self.jwks = Some(jose::parse_jwks(&a.response(1)?)?);
                flag(true)
            }
            // The keys that may have signed the incoming ID token, or `null`: refetch the
            // JWKS once, then `noKey`.
            "candidates" => opt(self.candidates()),
            "noKey" => return Err(self.no_key()),
            "badSignature" => return Err(self.bad_signature()),
            // After the signature verified: the claims, then the session.
            "install" => json::number_text(self.install(&a.bytes(1)?, a.n(2)?)?),
            "isLoggedIn" => flag(self.session.is_some()),
            "claims" => opt(self.session.as_ref().map(|s| s.claims.json.clone())),
            "tokens" => self
                .session
                .as_ref()
                .map(Session::tokens_json)
                .ok_or_else(not_logged_in)?,
            // The session for another tab of this app (BroadcastChannel, in memory only).
            "transfer" => opt(self.session.as_ref().map(|s| q(&s.to_transfer_json()))),
            "generation" => json::number_text(self.session.as_ref().map_or(0.0, |s| s.generation)),
            "adopt" => flag(self.adopt(a.s(1)?, a.n(2)?, a.b(3))),
            "endSession" => {
                self.incoming = None;
                flag(self.session.take().is_some())
            }
            "expiresWithin" => {
                flag(self.session.as_ref().is_some_and(|s| {
                    s.expires_within(a.n(1).unwrap_or(0.0), a.n(2).unwrap_or(0.0))
                }))
            }
            "dueAt" => opt(self
                .session
                .as_ref()
                .and_then(|s| session::renewal_due_at(s, self.received_at_ms))
                .map(json::number_text)),
            // Whether the provider's login page is on the same site as the page (its cookies
            // reach a hidden iframe even where third-party cookies are blocked).
            "sameSite" => flag(self.meta.as_ref().is_some_and(|m| {
                session::same_site(a.os(1).unwrap_or(""), &m.authorization_endpoint)
            })),
            // Whether the scopes hold `offline_access` (a silent request can go without).
            "hasOffline" => flag(authorize::asks_offline_access(&self.cfg)),
            "userinfoRequest" => self.userinfo_request()?,
            // The UserInfo response, its `sub` checked against the ID token's.
            "userinfo" => {
                let s = self.session.as_ref().ok_or_else(not_logged_in)?;
                userinfo::parse(&a.response(1)?, &s.claims.sub)?
            }
            "logoutUrl" => q(&self.logout_url(a.string(1), a.s(2)?)?),
            _ => return Err(Args::bad(0, "a known step")),
        })
    }

    fn settings(&self) -> String {
        let restore = match self.cfg.session_restore {
            SessionRestore::Auto => "auto",
            SessionRestore::Iframe => "iframe",
            SessionRestore::Redirect => "redirect",
            SessionRestore::None => "none",
        };
        ObjectWriter::new()
            .str("key", &cat(&[&self.cfg.issuer, "|", &self.cfg.client_id]))
            .str("restore", restore)
            .num("http", self.cfg.http_timeout_ms)
            .num("silent", self.cfg.silent_timeout_ms)
            .finish()
    }

    fn read_callback(&mut self, href: &str, silent: bool) -> Result<Option<String>> {
        let uri = if silent {
            &self.cfg.silent_redirect_uri
        } else {
            &self.cfg.redirect_uri
        };
        match callback::parse(href, &[uri])? {
            Some(p) => {
                let state = p.state.clone().unwrap_or_default();
                self.callback = Some(p);
                Ok(Some(state))
            }
            None if silent => Err(Error::new(
                Code::InvalidResponse,
                "the silent iframe came back without an authorization response",
            )),
            None => Ok(None),
        }
    }

    fn meta(&self) -> Result<&Metadata> {
        self.meta
            .as_ref()
            .ok_or_else(|| Error::new(Code::InvalidMetadata, "discovery has not completed"))
    }

    fn refresh_request(&mut self) -> Result<String> {
        let meta = self.meta()?;
        let s = self.session.as_ref().ok_or_else(not_logged_in)?;
        let Some(rt) = &s.refresh_token else {
            return Ok(opt(None));
        };
        let req = token::refresh_request(&self.cfg, meta, rt);
        self.refreshing = Some(rt.clone());
        Ok(request_json(&req.url, &req.body, ""))
    }

    fn candidates(&self) -> Option<String> {
        let jws = self.incoming.as_ref()?.jws.as_ref()?;
        let keys = self.jwks.as_ref()?;
        match jose::select_keys(keys, jws) {
            KeyChoice::Candidates(c) => {
                let mut out = String::from("[");
                for (i, k) in c.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&key_json(k));
                }
                out.push(']');
                Some(out)
            }
            _ => None,
        }
    }

    fn no_key(&self) -> Error {
        let Some(jws) = self.incoming.as_ref().and_then(|i| i.jws.as_ref()) else {
            return not_logged_in();
        };
        Error::new(
            Code::InvalidIdToken,
            match &jws.kid {
                Some(kid) => cat(&[
                    "the provider's JWKS has no ",
                    jws.alg.name(),
                    " signing key with kid ",
                    &quoted(kid, 100),
                    ", even after fetching it again",
                ]),
                None => cat(&[
                    "the provider's JWKS has no ",
                    jws.alg.name(),
                    " signing key",
                ]),
            },
        )
    }

    fn bad_signature(&self) -> Error {
        let alg = self
            .incoming
            .as_ref()
            .and_then(|i| i.jws.as_ref())
            .map_or("", |j| j.alg.name());
        Error::new(
            Code::InvalidIdToken,
            cat(&[
                "the ID token's ",
                alg,
                " signature does not verify with the provider's key",
            ]),
        )
    }

    fn adopt(&mut self, json: &str, now_ms: f64, only_newer: bool) -> bool {
        let Some(meta) = &self.meta else { return false };
        let Some(s) = Session::from_transfer_json(json, &meta.issuer, &self.cfg.client_id, now_ms)
        else {
            return false;
        };
        if only_newer && !session::is_newer(self.session.as_ref(), &s) {
            return false;
        }
        self.session = Some(s);
        self.received_at_ms = now_ms;
        true
    }

    fn userinfo_request(&self) -> Result<String> {
        let endpoint = self.meta()?.userinfo_endpoint.as_deref().ok_or_else(|| {
            Error::new(
                Code::InvalidMetadata,
                "the provider publishes no userinfo_endpoint",
            )
        })?;
        let s = self.session.as_ref().ok_or_else(not_logged_in)?;
        Ok(ObjectWriter::new()
            .str("url", endpoint)
            .str("token", s.access_token.expose())
            .finish())
    }

    /// RP-initiated logout (with `id_token_hint`), or the post-logout page when the provider
    /// has no end-session endpoint.
    fn logout_url(&self, redirect_to: Option<String>, origin: &str) -> Result<String> {
        let post_logout = match redirect_to {
            Some(t) => url::same_origin_target(origin, &t)?,
            None => self.cfg.post_logout_redirect_uri.clone(),
        };
        let endpoint = self
            .meta
            .as_ref()
            .and_then(|m| m.end_session_endpoint.as_deref());
        let hint = self.session.as_ref().map(|s| s.id_token.expose());
        Ok(logout::end_session_url(&self.cfg, endpoint, hint, &post_logout).unwrap_or(post_logout))
    }
}

/// A JWK reduced to its key material, as JSON for `crypto.subtle.importKey("jwk", ...)`.
pub(super) fn key_json(k: &Jwk) -> String {
    let mut w = ObjectWriter::new().str("kty", &k.kty);
    for (name, value) in [
        ("crv", &k.crv),
        ("n", &k.n),
        ("e", &k.e),
        ("x", &k.x),
        ("y", &k.y),
    ] {
        w = w.opt_str(name, value.as_deref());
    }
    w.finish()
}

impl Core {
    /// Arguments: id, 96 random bytes, the SHA-256 of the verifier (base64url of the first
    /// 32 of them), now, mode (`interactive`, `iframe`, `redirect`), redirectTo, extra
    /// parameters (JSON), the page's origin and URL, and whether to leave `offline_access` out
    /// (the provider answered `consent_required` to it). Bytes are base64url.
    fn authorize(&self, a: &Args) -> Result<String> {
        let random = a.bytes(1)?;
        let verifier_digest = a.bytes(2)?;
        let now_ms = a.n(3)?;
        let mode = a.s(4)?;
        let redirect_to = a.string(5);
        let extra_json = a.os(6);
        let origin = a.s(7)?;
        let href = a.s(8)?;
        let no_offline = a.b(9);
        let meta = self.meta()?;
        let mode = match mode {
            "iframe" => Mode::SilentIframe,
            "redirect" => Mode::SilentRedirect,
            _ => Mode::Interactive,
        };
        let redirect_to = match (mode, redirect_to) {
            (Mode::SilentIframe, _) => String::new(),
            (_, Some(t)) => url::same_origin_target(origin, &t)?,
            (_, None) => url::without_params(href, RESPONSE_PARAMS),
        };
        let extra = match extra_json {
            Some(j) => config::string_pairs(j, "extraAuthParams")?,
            None => Vec::new(),
        };
        let random: &[u8; authorize::RANDOM_BYTES] = random
            .as_slice()
            .try_into()
            .map_err(|_| Error::new(Code::CryptoError, "not enough random bytes"))?;
        let reduced = if no_offline {
            authorize::without_offline_access(&self.cfg)
        } else {
            None
        };
        let (url, pending) = authorize::request(
            reduced.as_ref().unwrap_or(&self.cfg),
            meta,
            random,
            now_ms,
            Options {
                redirect_to,
                extra: &extra,
                mode,
                redirect_uri: (mode == Mode::SilentIframe)
                    .then_some(self.cfg.silent_redirect_uri.as_str()),
                verifier_digest: &verifier_digest,
            },
        )?;
        Ok(ObjectWriter::new()
            .str("url", &url)
            .str("key", &PendingLogin::storage_key(&pending.state))
            .str("pending", &pending.to_json())
            .finish())
    }

    fn code_request(
        &mut self,
        pending_json: Option<String>,
        now_ms: f64,
        origin: &str,
        renewing: bool,
    ) -> Result<String> {
        let params = self.callback.take().ok_or_else(|| {
            Error::new(Code::InvalidResponse, "no authorization response to check")
        })?;
        let pending = pending_json.as_deref().and_then(PendingLogin::from_json);
        let meta = self.meta()?;
        let validated = callback::validate(&params, pending, &self.cfg, meta, now_ms)?;
        let landing = match validated.mode() {
            Mode::SilentIframe => String::new(),
            _ => url::same_origin_target(origin, validated.redirect_to())?,
        };
        let (req, exchange) = token::code_request(&self.cfg, meta, validated);
        self.exchange = Some((exchange, renewing));
        Ok(request_json(&req.url, &req.body, &landing))
    }

    fn accept_tokens(&mut self, resp: Response, now_ms: f64) -> Result<String> {
        self.incoming = None;
        let exchange = self.exchange.take();
        let refreshing = self.refreshing.take();
        let tokens = match token::parse(&resp) {
            Ok(t) => t,
            Err(e) if exchange.is_none() && e.error.as_deref() == Some("invalid_grant") => {
                // Another tab may have rotated the refresh token meanwhile and handed the new
                // one over: then this session is fine.
                let rotated_elsewhere = self
                    .session
                    .as_ref()
                    .is_some_and(|s| s.refresh_token.as_ref() != refreshing.as_ref());
                return if rotated_elsewhere {
                    Ok(String::from("{\"skip\":true}"))
                } else {
                    Err(e)
                };
            }
            Err(e) => return Err(e),
        };
        let jws = match &tokens.id_token {
            Some(id) => Some(jose::parse(id.expose())?),
            None if exchange.is_some() => {
                return Err(Error::new(
                    Code::InvalidIdToken,
                    "the token response has no `id_token` (was `openid` in the scope?)",
                ))
            }
            None => None,
        };
        let out = match &jws {
            None => String::from("{}"),
            Some(j) => ObjectWriter::new()
                .str("hash", j.alg.hash().web_name())
                .str("alg", j.alg.name())
                .str("at", tokens.access_token.expose())
                .str("input", &j.signing_input)
                .str("sig", &crate::proto::b64::encode(&j.signature))
                .finish(),
        };
        let (nonce, renewing) = match exchange {
            Some((x, renewing)) => (Some(x.nonce), renewing),
            None => (None, true),
        };
        if renewing && self.session.is_none() {
            return Err(not_logged_in());
        }
        self.incoming = Some(Incoming {
            tokens,
            jws,
            received_ms: now_ms,
            nonce,
            renewing,
        });
        Ok(out)
    }

    fn install(&mut self, at_digest: &[u8], shared_generation: f64) -> Result<f64> {
        let inc = self.incoming.take().ok_or_else(not_logged_in)?;
        let previous = if inc.renewing {
            self.session.as_ref().map(|s| s.claims.clone())
        } else {
            None
        };
        let claims = match &inc.jws {
            None => None,
            Some(jws) => {
                let nonce = match (&inc.nonce, &previous) {
                    (Some(n), _) => NonceRule::Equals(n),
                    (None, p) => NonceRule::AbsentOr(p.as_ref().and_then(|c| c.nonce.as_deref())),
                };
                let expect = Expect {
                    nonce,
                    now_s: inc.received_ms / 1000.0,
                    access_token_digest: Some(at_digest),
                    previous: previous.as_ref(),
                };
                Some(id_token::validate(jws, &self.cfg, self.meta()?, &expect)?)
            }
        };
        let received = inc.received_ms;
        let mut next = match (inc.nonce.is_some(), &self.session, claims) {
            (false, Some(current), claims) => {
                let id = inc.tokens.id_token.clone().zip(claims);
                current.refreshed(inc.tokens, id, received)
            }
            (_, _, Some(claims)) => {
                let id = inc.tokens.id_token.clone().ok_or_else(not_logged_in)?;
                Session::new(inc.tokens, id, claims, received)
            }
            (_, None, None) | (true, Some(_), None) => return Err(not_logged_in()),
        };
        let mine = self.session.as_ref().map_or(0.0, |s| s.generation);
        next.generation = shared_generation.max(mine).max(next.generation) + 1.0;
        let generation = next.generation;
        self.session = Some(next);
        self.received_at_ms = received;
        Ok(generation)
    }
}
