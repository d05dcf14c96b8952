//! The `#[wasm_bindgen]` surface that `src/js/index.js` wraps into the public API, and the
//! orchestration of the protocol steps: each step's request comes from `proto`, is performed
//! here, and its response goes back to `proto` for validation.

use super::{crypto, http, silent, storage, tabs, timer, web};
use crate::proto::authorize::{self, Mode, Options};
use crate::proto::callback::{self, ValidatedCallback, RESPONSE_PARAMS};
use crate::proto::config::{self, Config, SessionRestore};
use crate::proto::discovery::{self, Metadata};
use crate::proto::error::cat;
use crate::proto::id_token::{self, Claims, Expect, NonceRule};
use crate::proto::jose::{self, Jwk, KeyChoice};
use crate::proto::json::{self, ObjectWriter};
use crate::proto::session::{self, Session, RENEW_LEEWAY_MS};
use crate::proto::token::{self, Secret};
use crate::proto::{logout, url, userinfo, Code, Error, Result};
use js_sys::{Function, Object, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

/// An error as the JS wrapper receives it: `{ code, message, error?, errorDescription? }`.
fn to_js(e: Error) -> JsValue {
    let o = Object::new();
    let set = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            let _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
        }
    };
    set("code", Some(e.code.as_str()));
    set("message", Some(&e.message));
    set("error", e.error.as_deref());
    set("errorDescription", e.error_description.as_deref());
    o.into()
}

/// The reverse of [`to_js`], for errors that crossed a shared promise.
fn from_js(v: JsValue) -> Error {
    let get = |k: &str| {
        Reflect::get(&v, &JsValue::from_str(k))
            .ok()
            .and_then(|x| x.as_string())
    };
    let code = get("code").and_then(|c| Code::parse(&c));
    match code {
        Some(code) => Error {
            code,
            message: get("message").unwrap_or_default(),
            error: get("error"),
            error_description: get("errorDescription"),
        },
        None => super::js_error(Code::NetworkError, "renewal", &v),
    }
}

struct Inner {
    cfg: Config,
    meta: Metadata,
    jwks: RefCell<Option<Rc<Vec<Jwk>>>>,
    session: RefCell<Option<Session>>,
    /// A renewal in flight: concurrent callers share it.
    renewing: RefCell<Option<Promise>>,
    /// `(type, error?) => void`, the JS wrapper's event sink.
    emit: Function,
    /// When the current tokens arrived (local clock), for the renewal schedule.
    received_at_ms: Cell<f64>,
    /// Failed renewals in a row, for the backoff.
    failures: Cell<u32>,
    timer: RefCell<Option<timer::Timeout>>,
    channel: RefCell<Option<tabs::Channel>>,
    /// During start-up: where a session handed over by another tab goes.
    waiting_for_tab: RefCell<Option<Function>>,
    _on_online: RefCell<Option<Closure<dyn FnMut()>>>,
}

/// How long a starting tab waits for another tab to hand over its session.
const TAB_HANDOVER_MS: f64 = 25.0;
/// How long a tab that finds another tab renewed waits for that tab's new tokens.
const CATCH_UP_MS: f64 = 500.0;
const CATCH_UP_POLL_MS: f64 = 10.0;

/// One configured client. Created by [`start_client`].
#[wasm_bindgen]
pub struct Client {
    inner: Rc<Inner>,
}

/// Starts a client: reads the configuration, fetches discovery, and completes a callback if the
/// captured page URL is one. `href` is `location.href` as captured before any router ran.
#[wasm_bindgen(js_name = startClient)]
pub async fn start_client(
    config_json: String,
    href: String,
    emit: Function,
) -> core::result::Result<Client, JsValue> {
    start(&config_json, &href, emit).await.map_err(to_js)
}

async fn start(config_json: &str, href: &str, emit: Function) -> Result<Client> {
    let now = web::now_ms();
    let page = url::split(href)
        .ok_or_else(|| Error::new(Code::InvalidConfig, "the page URL is not http(s)"))?;
    let page_url = cat(&[&page.origin(), page.path]);
    let cfg = Config::from_json(config_json, &page_url)?;
    storage::sweep(now);

    let parsed = callback::parse(href, &[&cfg.redirect_uri]);
    let mut pending = None;
    if !matches!(parsed, Ok(None)) {
        // One use only: the login in flight is deleted, and the response leaves the URL (and
        // the history entry), before anything else can fail.
        if let Ok(Some(p)) = &parsed {
            pending = p.state.as_deref().and_then(storage::take);
        }
        web::replace_url(&url::without_params(href, RESPONSE_PARAMS))?;
    }
    let callback = parsed?;

    let meta = fetch_metadata(&cfg).await?;
    let inner = Rc::new(Inner {
        cfg,
        meta,
        jwks: RefCell::new(None),
        session: RefCell::new(None),
        renewing: RefCell::new(None),
        emit,
        received_at_ms: Cell::new(0.0),
        failures: Cell::new(0),
        timer: RefCell::new(None),
        channel: RefCell::new(None),
        waiting_for_tab: RefCell::new(None),
        _on_online: RefCell::new(None),
    });
    inner.listen();
    match callback {
        Some(params) => {
            let silent_redirect = pending
                .as_ref()
                .is_some_and(|p| p.mode == Mode::SilentRedirect);
            let validated = callback::validate(&params, pending, &inner.cfg, &inner.meta, now);
            match validated {
                // A silent top-level redirect that found no session: logged out, no error,
                // and no second attempt in this browser session.
                Err(e) if silent_redirect && e.code == Code::LoginRequired => {
                    if e.error.as_deref() == Some("consent_required") {
                        storage::set_flag(&inner.no_silent_offline_key(), true);
                    }
                }
                Err(e) => return Err(e),
                Ok(validated) => {
                    let origin = web::origin()?;
                    let landing = url::same_origin_target(&origin, validated.redirect_to())?;
                    inner.complete_code(validated, None).await?;
                    // A session exists again: a later reload may try one silent redirect.
                    storage::set_flag(&inner.redirect_flag_key(), false);
                    web::replace_url(&landing)?;
                    inner.broadcast_session();
                }
            }
        }
        None => inner.restore().await,
    }
    inner.schedule();
    Ok(Client { inner })
}

async fn fetch_metadata(cfg: &Config) -> Result<Metadata> {
    let resp = http::send(http::Req {
        url: &discovery::url(&cfg.issuer),
        what: "the discovery request",
        form: None,
        bearer: None,
        timeout_ms: cfg.http_timeout_ms,
        no_cache: false,
    })
    .await?;
    discovery::parse(cfg, &resp)
}

impl Inner {
    fn emit(&self, kind: &str, error: Option<Error>) {
        let err = error.map_or(JsValue::UNDEFINED, to_js);
        let _ = self
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str(kind), &err);
    }

    /// POSTs a token-endpoint request (code exchange or refresh).
    async fn post_token(
        &self,
        req: &token::Request,
        what: &str,
    ) -> Result<crate::proto::http::Response> {
        http::send(http::Req {
            url: &req.url,
            what,
            form: Some(&req.body),
            bearer: None,
            timeout_ms: self.cfg.http_timeout_ms,
            no_cache: false,
        })
        .await
    }

    async fn load_jwks(&self, no_cache: bool) -> Result<Rc<Vec<Jwk>>> {
        let resp = http::send(http::Req {
            url: &self.meta.jwks_uri,
            what: "the JWKS request",
            form: None,
            bearer: None,
            timeout_ms: self.cfg.http_timeout_ms,
            no_cache,
        })
        .await?;
        let keys = Rc::new(jose::parse_jwks(&resp)?);
        *self.jwks.borrow_mut() = Some(keys.clone());
        Ok(keys)
    }

    /// Starts fetching the JWKS now, unless it is known, so that it travels in parallel with
    /// the token request.
    fn prefetch_jwks(self: &Rc<Self>) -> Option<Promise> {
        if self.jwks.borrow().is_some() {
            return None;
        }
        let inner = self.clone();
        Some(super::promise(async move {
            inner
                .load_jwks(false)
                .await
                .map(|_| JsValue::UNDEFINED)
                .map_err(to_js)
        }))
    }

    /// Verifies the signature with WebCrypto, refetching the JWKS once for an unknown `kid`
    /// (key rotation), then validates the claims.
    async fn validate_id_token(
        &self,
        id_token: &Secret,
        nonce: NonceRule<'_>,
        access_token: &Secret,
        previous: Option<&Claims>,
        now_ms: f64,
    ) -> Result<Claims> {
        let jws = jose::parse(id_token.expose())?;
        let at_digest = crypto::digest(jws.alg.hash(), access_token.expose().as_bytes()).await?;
        let expect = Expect {
            nonce,
            now_s: now_ms / 1000.0,
            access_token_digest: Some(&at_digest),
            previous,
        };
        let cached = self.jwks.borrow().clone();
        let mut keys = match cached {
            Some(k) => k,
            None => self.load_jwks(false).await?,
        };
        let mut refetched = false;
        loop {
            match jose::select_keys(&keys, &jws) {
                KeyChoice::Candidates(candidates) => {
                    for key in candidates {
                        if crypto::verify(
                            key,
                            jws.alg,
                            jws.signing_input.as_bytes(),
                            &jws.signature,
                        )
                        .await?
                        {
                            return id_token::validate(&jws, &self.cfg, &self.meta, &expect);
                        }
                    }
                    return Err(Error::new(
                        Code::InvalidIdToken,
                        cat(&[
                            "the ID token's ",
                            jws.alg.name(),
                            " signature does not verify with the provider's key",
                        ]),
                    ));
                }
                _ if !refetched => {
                    keys = self.load_jwks(true).await?;
                    refetched = true;
                }
                _ => {
                    return Err(Error::new(
                        Code::InvalidIdToken,
                        match &jws.kid {
                            Some(kid) => cat(&[
                                "the provider's JWKS has no ",
                                jws.alg.name(),
                                " signing key with kid ",
                                &crate::proto::error::quoted(kid, 100),
                                ", even after fetching it again",
                            ]),
                            None => cat(&[
                                "the provider's JWKS has no ",
                                jws.alg.name(),
                                " signing key",
                            ]),
                        },
                    ))
                }
            }
        }
    }

    /// The code exchange, with the JWKS fetched in parallel.
    async fn complete_code(
        self: &Rc<Self>,
        validated: ValidatedCallback,
        previous: Option<&Claims>,
    ) -> Result<()> {
        let (req, exchange) = token::code_request(&self.cfg, &self.meta, validated);
        let prefetch = self.prefetch_jwks();
        let resp = self.post_token(&req, "the token request").await?;
        let received = web::now_ms();
        let tr = token::parse(&resp)?;
        let id = tr.id_token.clone().ok_or_else(|| {
            Error::new(
                Code::InvalidIdToken,
                "the token response has no `id_token` (was `openid` in the scope?)",
            )
        })?;
        if let Some(p) = prefetch {
            // A failed prefetch is retried (and reported) by the validation below.
            let _ = JsFuture::from(p).await;
        }
        let claims = self
            .validate_id_token(
                &id,
                NonceRule::Equals(&exchange.nonce),
                &tr.access_token,
                previous,
                received,
            )
            .await?;
        self.received_at_ms.set(received);
        self.install(Session::new(tr, id, claims, received));
        Ok(())
    }

    fn end_session(&self, event: &str, error: Option<Error>) {
        let had = self.session.borrow_mut().take().is_some();
        *self.timer.borrow_mut() = None;
        if had {
            self.emit(event, error);
        }
    }

    fn key(&self) -> String {
        cat(&[&self.cfg.issuer, "|", &self.cfg.client_id])
    }

    fn redirect_flag_key(&self) -> String {
        cat(&["pixy-oidc:silent-redirect:", &self.key()])
    }

    /// Subscribes to the other tabs and to the browser coming back online.
    fn listen(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let channel = tabs::Channel::open(&cat(&["pixy-oidc:", &self.key()]), move |text| {
            if let Some(inner) = weak.upgrade() {
                inner.on_tab_message(&text);
            }
        });
        *self.channel.borrow_mut() = channel.ok();
        let weak = Rc::downgrade(self);
        let on_online = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.failures.set(0);
                inner.schedule();
            }
        });
        if let Ok(w) = web::window() {
            let _ =
                w.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        }
        *self._on_online.borrow_mut() = Some(on_online);
    }

    fn post(&self, kind: &str, session_json: Option<&str>) {
        let msg = ObjectWriter::new()
            .str("t", kind)
            .opt_str("s", session_json)
            .finish();
        if let Some(c) = &*self.channel.borrow() {
            c.post(&msg);
        }
    }

    fn broadcast_session(&self) {
        let json = self
            .session
            .borrow()
            .as_ref()
            .map(Session::to_transfer_json);
        if let Some(json) = json {
            self.post("session", Some(&json));
        }
    }

    fn on_tab_message(self: &Rc<Self>, text: &str) {
        let Ok(msg) = json::parse(text, "a message from another tab") else {
            return;
        };
        match msg.str_member("t") {
            Some("hello") => self.broadcast_session(),
            Some("logout") => self.end_session("loggedOut", None),
            Some("session") => {
                let Some(s) = msg.str_member("s").and_then(|s| {
                    Session::from_transfer_json(
                        s,
                        &self.meta.issuer,
                        &self.cfg.client_id,
                        web::now_ms(),
                    )
                }) else {
                    return;
                };
                if let Some(waiter) = self.waiting_for_tab.borrow_mut().take() {
                    let _ = waiter.call1(&JsValue::NULL, &JsValue::from_str(&s.to_transfer_json()));
                    return;
                }
                let newer = session::is_newer(self.session.borrow().as_ref(), &s);
                if newer {
                    self.adopt(s);
                    self.emit("tokensChanged", None);
                }
            }
            _ => {}
        }
    }

    /// Puts a session this tab obtained (login, silent login, refresh) in place with the next
    /// generation of all tabs, and records that generation where every tab sees it at once.
    fn install(&self, mut s: Session) {
        let shared = storage::generation(&self.key()).unwrap_or(0.0);
        let mine = self.session.borrow().as_ref().map_or(0.0, |c| c.generation);
        s.generation = shared.max(mine).max(s.generation) + 1.0;
        storage::set_generation(&self.key(), s.generation);
        *self.session.borrow_mut() = Some(s);
    }

    fn adopt(self: &Rc<Self>, s: Session) {
        self.received_at_ms.set(web::now_ms());
        self.failures.set(0);
        *self.session.borrow_mut() = Some(s);
        self.schedule();
    }

    /// Silent restore, in API.md's order: another tab, the hidden iframe, then (auto, with a
    /// cross-site provider) one top-level `prompt=none` redirect per browser session.
    async fn restore(self: &Rc<Self>) {
        if let Some(s) = self.ask_other_tabs(TAB_HANDOVER_MS).await {
            self.adopt(s);
            return;
        }
        match self.cfg.session_restore {
            SessionRestore::None => {}
            SessionRestore::Redirect => self.silent_redirect().await,
            SessionRestore::Iframe => {
                let _ = self.silent_login(None).await;
            }
            SessionRestore::Auto => match self.silent_login(None).await {
                Err(e) if e.code == Code::LoginRequired => {
                    let origin = web::origin().unwrap_or_default();
                    if !session::same_site(&origin, &self.meta.authorization_endpoint) {
                        self.silent_redirect().await;
                    }
                }
                _ => {}
            },
        }
    }

    async fn ask_other_tabs(self: &Rc<Self>, wait_ms: f64) -> Option<Session> {
        self.channel.borrow().as_ref()?;
        let promise = Promise::new(&mut |resolve, _| {
            *self.waiting_for_tab.borrow_mut() = Some(resolve);
        });
        self.post("hello", None);
        let waiter = Rc::downgrade(self);
        let _timeout = timer::Timeout::new(wait_ms, move || {
            if let Some(inner) = waiter.upgrade() {
                if let Some(f) = inner.waiting_for_tab.borrow_mut().take() {
                    let _ = f.call1(&JsValue::NULL, &JsValue::NULL);
                }
            }
        })
        .ok()?;
        let text = JsFuture::from(promise).await.ok()?.as_string()?;
        Session::from_transfer_json(&text, &self.meta.issuer, &self.cfg.client_id, web::now_ms())
    }

    fn no_silent_offline_key(&self) -> String {
        cat(&["pixy-oidc:no-silent-offline:", &self.key()])
    }

    /// The configuration for silent requests: without `offline_access` once the provider
    /// answered `consent_required` to it in this browser session (authentik).
    fn silent_cfg(&self) -> Option<Config> {
        if storage::get_flag(&self.no_silent_offline_key()) {
            authorize::without_offline_access(&self.cfg)
        } else {
            None
        }
    }

    /// `prompt=none` in a hidden iframe; on success the session is set (and must be about the
    /// same user as `previous`, when renewing). A `consent_required` answer to a request with
    /// `offline_access` is retried once without it, and remembered for this browser session.
    async fn silent_login(self: &Rc<Self>, previous: Option<&Claims>) -> Result<()> {
        let cfg = self.silent_cfg();
        match self
            .silent_login_with(cfg.as_ref().unwrap_or(&self.cfg), previous)
            .await
        {
            Err(e) if cfg.is_none() && e.error.as_deref() == Some("consent_required") => {
                match authorize::without_offline_access(&self.cfg) {
                    Some(retry) => {
                        storage::set_flag(&self.no_silent_offline_key(), true);
                        self.silent_login_with(&retry, previous).await
                    }
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    async fn silent_login_with(
        self: &Rc<Self>,
        cfg: &Config,
        previous: Option<&Claims>,
    ) -> Result<()> {
        let mut random = [0u8; authorize::RANDOM_BYTES];
        crypto::random(&mut random)?;
        let (url, pending) = authorize::request(
            cfg,
            &self.meta,
            &random,
            web::now_ms(),
            Options {
                redirect_to: String::new(),
                extra: &[],
                mode: Mode::SilentIframe,
                redirect_uri: Some(&self.cfg.silent_redirect_uri),
            },
        )?;
        let href = silent::run(&url, self.cfg.silent_timeout_ms).await?;
        let params =
            callback::parse(&href, &[&self.cfg.silent_redirect_uri])?.ok_or_else(|| {
                Error::new(
                    Code::InvalidResponse,
                    "the silent iframe came back without an authorization response",
                )
            })?;
        let validated =
            callback::validate(&params, Some(pending), &self.cfg, &self.meta, web::now_ms())?;
        self.complete_code(validated, previous).await
    }

    /// One top-level `prompt=none` redirect per browser session; never a loop.
    async fn silent_redirect(self: &Rc<Self>) {
        let key = self.redirect_flag_key();
        if storage::get_flag(&key) {
            return;
        }
        let start = || -> Result<()> {
            let mut random = [0u8; authorize::RANDOM_BYTES];
            crypto::random(&mut random)?;
            let href = web::window()?.location().href().unwrap_or_default();
            let silent_cfg = self.silent_cfg();
            let (url, pending) = authorize::request(
                silent_cfg.as_ref().unwrap_or(&self.cfg),
                &self.meta,
                &random,
                web::now_ms(),
                Options {
                    redirect_to: url::without_params(&href, RESPONSE_PARAMS),
                    extra: &[],
                    mode: Mode::SilentRedirect,
                    redirect_uri: None,
                },
            )?;
            storage::put(&pending)?;
            storage::set_flag(&key, true);
            web::navigate(&url)
        };
        if start().is_ok() {
            // The page is leaving: createOidc settles on the way back.
            std::future::pending::<()>().await;
        }
    }

    /// Arms the renewal timer. It sleeps at most 30 s at a time and looks at the wall clock on
    /// each wake-up, so a device that slept renews as soon as it wakes.
    fn schedule(self: &Rc<Self>) {
        let due = self
            .session
            .borrow()
            .as_ref()
            .and_then(|s| session::renewal_due_at(s, self.received_at_ms.get()));
        let Some(due) = due else {
            *self.timer.borrow_mut() = None;
            return;
        };
        let weak: Weak<Inner> = Rc::downgrade(self);
        let delay = session::timer_delay(due, web::now_ms());
        let t = timer::Timeout::new(delay, move || {
            let Some(inner) = weak.upgrade() else { return };
            if web::now_ms() >= due {
                spawn_local(async move { inner.renew_in_background().await });
            } else {
                inner.schedule();
            }
        });
        *self.timer.borrow_mut() = t.ok();
    }

    async fn renew_in_background(self: &Rc<Self>) {
        match self.renew(false).await {
            Ok(()) => {}
            Err(e) if session::is_transient(&e) => {
                let expired = self
                    .session
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| s.expires_within(web::now_ms(), 0.0));
                if expired {
                    self.end_session("sessionExpired", Some(e.with_code(Code::SessionExpired)));
                    return;
                }
                // A passing fault while the token is valid is no news for the user: retry.
                let n = self.failures.get();
                self.failures.set(n.saturating_add(1));
                let weak = Rc::downgrade(self);
                let t = timer::Timeout::new(session::backoff_ms(n), move || {
                    if let Some(inner) = weak.upgrade() {
                        spawn_local(async move { inner.renew_in_background().await });
                    }
                });
                *self.timer.borrow_mut() = t.ok();
            }
            // Final errors ended the session already (sessionExpired); anything else is told.
            Err(e) => {
                if self.session.borrow().is_some() {
                    self.emit("error", Some(e));
                }
            }
        }
    }

    /// Tokens, renewed first when the access token expires within the leeway. A passing fault
    /// while the current access token is still valid returns the current tokens.
    async fn tokens(self: &Rc<Self>, force: bool) -> Result<String> {
        let needs_renewal = match &*self.session.borrow() {
            None => return Err(Error::new(Code::NotLoggedIn, "no user is logged in")),
            Some(s) => force || s.expires_within(web::now_ms(), RENEW_LEEWAY_MS),
        };
        if needs_renewal {
            if let Err(e) = self.renew(force).await {
                let still_valid = self
                    .session
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| !s.expires_within(web::now_ms(), 0.0));
                if force || !session::is_transient(&e) || !still_valid {
                    return Err(e);
                }
            }
        }
        self.session
            .borrow()
            .as_ref()
            .map(Session::tokens_json)
            .ok_or_else(|| Error::new(Code::NotLoggedIn, "no user is logged in"))
    }

    /// One renewal at a time in this tab (concurrent callers await the same one), and one in
    /// all tabs (a Web Lock; a tab that gets the lock after another renewed just takes the
    /// tokens it was handed).
    async fn renew(self: &Rc<Self>, force: bool) -> Result<()> {
        let existing = self.renewing.borrow().clone();
        let promise = match existing {
            Some(p) => p,
            None => {
                let inner = self.clone();
                let p = super::promise(async move {
                    let lock = cat(&["pixy-oidc:renew:", &inner.key()]);
                    let in_lock = inner.clone();
                    let result = tabs::with_lock(&lock, move || async move {
                        in_lock.catch_up_with_other_tabs().await.map_err(to_js)?;
                        let due = in_lock
                            .session
                            .borrow()
                            .as_ref()
                            .is_some_and(|s| s.expires_within(web::now_ms(), RENEW_LEEWAY_MS));
                        if !force && !due {
                            // Another tab renewed while this one waited for the lock.
                            return Ok(JsValue::UNDEFINED);
                        }
                        in_lock.do_renew().await.map_err(to_js)?;
                        in_lock.broadcast_session();
                        Ok(JsValue::UNDEFINED)
                    })
                    .await;
                    *inner.renewing.borrow_mut() = None;
                    result
                });
                *self.renewing.borrow_mut() = Some(p.clone());
                p
            }
        };
        JsFuture::from(promise).await.map(|_| ()).map_err(from_js)
    }

    /// Under the renewal lock: if another tab renewed after this tab got its tokens (the shared
    /// generation says so: a number, never a token), take the new tokens from the other tabs
    /// before deciding anything. The generation is written before the lock is released, so
    /// unlike a broadcast it cannot be late. A tab that cannot catch up does not renew: its
    /// refresh token was rotated, and sending it again would make the provider revoke the
    /// whole grant for every tab.
    async fn catch_up_with_other_tabs(self: &Rc<Self>) -> Result<()> {
        let Some(shared) = storage::generation(&self.key()) else {
            return Ok(());
        };
        let behind = |inner: &Self| {
            inner
                .session
                .borrow()
                .as_ref()
                .is_some_and(|s| s.generation < shared)
        };
        if !behind(self) {
            return Ok(());
        }
        // Every tab answers with what it holds; the message handling adopts only a later
        // generation. Wait for that, within limits.
        self.post("hello", None);
        let deadline = web::now_ms() + CATCH_UP_MS;
        while behind(self) && web::now_ms() < deadline {
            timer::sleep(CATCH_UP_POLL_MS).await;
        }
        if behind(self) {
            return Err(Error::new(
                Code::NetworkError,
                "another tab renewed the tokens and has not handed them over yet; retrying later",
            ));
        }
        Ok(())
    }

    async fn do_renew(self: &Rc<Self>) -> Result<()> {
        let Some(current) = self.session.borrow().clone() else {
            return Err(Error::new(Code::NotLoggedIn, "no user is logged in"));
        };
        let Some(refresh_token) = current.refresh_token.clone() else {
            // No refresh token: a new code through the hidden iframe, for the same user.
            return match self.silent_login(Some(&current.claims)).await {
                Ok(()) => {
                    self.failures.set(0);
                    self.schedule();
                    self.emit("tokensChanged", None);
                    Ok(())
                }
                Err(e) if session::is_transient(&e) => Err(e),
                Err(e) => {
                    let e = e.with_code(Code::SessionExpired);
                    self.end_session("sessionExpired", Some(e.clone()));
                    Err(e)
                }
            };
        };
        let req = token::refresh_request(&self.cfg, &self.meta, &refresh_token);
        let resp = self.post_token(&req, "the refresh request").await?;
        let received = web::now_ms();
        let tr = match token::parse(&resp) {
            Ok(tr) => tr,
            Err(e) if e.error.as_deref() == Some("invalid_grant") => {
                // Another tab may have rotated the refresh token meanwhile and handed the
                // new one over: then this session is fine.
                let rotated_elsewhere = self
                    .session
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| s.refresh_token.as_ref() != Some(&refresh_token));
                if rotated_elsewhere {
                    return Ok(());
                }
                let e = e.with_code(Code::SessionExpired);
                self.end_session("sessionExpired", Some(e.clone()));
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let id = match tr.id_token.clone() {
            None => None,
            Some(id) => {
                let validated = self
                    .validate_id_token(
                        &id,
                        NonceRule::AbsentOr(current.claims.nonce.as_deref()),
                        &tr.access_token,
                        Some(&current.claims),
                        received,
                    )
                    .await;
                match validated {
                    Ok(claims) => Some((id, claims)),
                    Err(e) => {
                        // A refreshed ID token about someone else, or forged: the session ends.
                        let e = e.with_code(Code::SessionExpired);
                        self.end_session("sessionExpired", Some(e.clone()));
                        return Err(e);
                    }
                }
            }
        };
        let next = current.refreshed(tr, id, received);
        self.received_at_ms.set(received);
        self.failures.set(0);
        self.install(next);
        self.schedule();
        self.emit("tokensChanged", None);
        Ok(())
    }
}

#[wasm_bindgen]
impl Client {
    #[wasm_bindgen(getter = isLoggedIn)]
    pub fn is_logged_in(&self) -> bool {
        self.inner.session.borrow().is_some()
    }

    /// The validated ID token claims as JSON text, or `undefined`.
    #[wasm_bindgen(js_name = claimsJson)]
    pub fn claims_json(&self) -> Option<String> {
        self.inner
            .session
            .borrow()
            .as_ref()
            .map(|s| s.claims.json.clone())
    }

    /// Redirects to the provider. `extra_json` is a JSON object of extra parameters.
    pub fn login(
        &self,
        redirect_to: Option<String>,
        extra_json: Option<String>,
    ) -> core::result::Result<(), JsValue> {
        self.do_login(redirect_to, extra_json).map_err(to_js)
    }

    fn do_login(&self, redirect_to: Option<String>, extra_json: Option<String>) -> Result<()> {
        let inner = &self.inner;
        let origin = web::origin()?;
        let target = match redirect_to {
            Some(t) => url::same_origin_target(&origin, &t)?,
            None => {
                let href = web::window()?
                    .location()
                    .href()
                    .unwrap_or_else(|_| origin.clone());
                url::without_params(&href, RESPONSE_PARAMS)
            }
        };
        let extra = match extra_json {
            Some(j) => config::string_pairs(&j, "extraAuthParams")?,
            None => Vec::new(),
        };
        let mut random = [0u8; authorize::RANDOM_BYTES];
        crypto::random(&mut random)?;
        let (url, pending) = authorize::request(
            &inner.cfg,
            &inner.meta,
            &random,
            web::now_ms(),
            Options {
                redirect_to: target,
                extra: &extra,
                mode: Mode::Interactive,
                redirect_uri: None,
            },
        )?;
        storage::put(&pending)?;
        web::navigate(&url)
    }

    /// Fresh tokens (API.md `getTokens`), as JSON text.
    #[wasm_bindgen(js_name = getTokens)]
    pub fn get_tokens(&self) -> Promise {
        let inner = self.inner.clone();
        super::promise(async move { inner.tokens(false).await.map(JsValue::from).map_err(to_js) })
    }

    /// Forces a renewal (API.md `renewTokens`), as JSON text.
    #[wasm_bindgen(js_name = renewTokens)]
    pub fn renew_tokens(&self) -> Promise {
        let inner = self.inner.clone();
        super::promise(async move { inner.tokens(true).await.map(JsValue::from).map_err(to_js) })
    }

    /// The UserInfo response as JSON text, after checking its `sub`.
    #[wasm_bindgen(js_name = getUserInfo)]
    pub fn get_user_info(&self) -> Promise {
        let inner = self.inner.clone();
        super::promise(async move {
            let run = async {
                let endpoint = inner.meta.userinfo_endpoint.clone().ok_or_else(|| {
                    Error::new(
                        Code::InvalidMetadata,
                        "the provider publishes no userinfo_endpoint",
                    )
                })?;
                inner.tokens(false).await?;
                let (access_token, sub) = match &*inner.session.borrow() {
                    Some(s) => (s.access_token.clone(), s.claims.sub.clone()),
                    None => return Err(Error::new(Code::NotLoggedIn, "no user is logged in")),
                };
                let resp = http::send(http::Req {
                    url: &endpoint,
                    what: "the UserInfo request",
                    form: None,
                    bearer: Some(access_token.expose()),
                    timeout_ms: inner.cfg.http_timeout_ms,
                    no_cache: true,
                })
                .await?;
                userinfo::parse(&resp, &sub)
            };
            run.await.map(JsValue::from).map_err(to_js)
        })
    }

    /// Forgets the tokens, then RP-initiated logout at the provider.
    pub fn logout(&self, redirect_to: Option<String>) -> core::result::Result<(), JsValue> {
        self.do_logout(redirect_to).map_err(to_js)
    }

    fn do_logout(&self, redirect_to: Option<String>) -> Result<()> {
        let inner = &self.inner;
        let post_logout = match redirect_to {
            Some(t) => url::same_origin_target(&web::origin()?, &t)?,
            None => inner.cfg.post_logout_redirect_uri.clone(),
        };
        let hint = inner.session.borrow().as_ref().map(|s| s.id_token.clone());
        *inner.renewing.borrow_mut() = None;
        inner.end_session("loggedOut", None);
        inner.post("logout", None);
        let target = logout::end_session_url(
            &inner.cfg,
            inner.meta.end_session_endpoint.as_deref(),
            hint.as_ref().map(Secret::expose),
            &post_logout,
        )
        .unwrap_or(post_logout);
        web::navigate(&target)
    }
}
