//! The `#[wasm_bindgen]` surface that `src/js/index.js` wraps into the public API, and the
//! orchestration of the protocol steps: each step's request comes from `proto`, is performed
//! here, and its response goes back to `proto` for validation.

use super::{crypto, http, storage, web};
use crate::proto::authorize::{self, Mode, Options};
use crate::proto::callback::{self, ValidatedCallback, RESPONSE_PARAMS};
use crate::proto::config::{self, Config};
use crate::proto::discovery::{self, Metadata};
use crate::proto::id_token::{self, Claims, Expect, NonceRule};
use crate::proto::jose::{self, Jwk, KeyChoice};
use crate::proto::session::{Session, RENEW_LEEWAY_MS};
use crate::proto::token::{self, Secret};
use crate::proto::{logout, url, userinfo, Code, Error, Result};
use js_sys::{Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

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
}

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
    let page_url = format!("{}{}", page.origin(), page.path);
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
    });
    if let Some(params) = callback {
        let validated = callback::validate(&params, pending, &inner.cfg, &inner.meta, now)?;
        let origin = web::origin()?;
        let landing = url::same_origin_target(&origin, validated.redirect_to())?;
        inner.complete_code(validated).await?;
        web::replace_url(&landing)?;
    }
    // Silent restore (another tab, hidden iframe, top-level prompt=none) plugs in here.
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
        Some(future_to_promise(async move {
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
                        if crypto::verify(key, jws.alg, jws.signing_input.as_bytes(), &jws.signature).await? {
                            return id_token::validate(&jws, &self.cfg, &self.meta, &expect);
                        }
                    }
                    return Err(Error::new(
                        Code::InvalidIdToken,
                        format!("the ID token's {} signature does not verify with the provider's key", jws.alg.name()),
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
                            Some(kid) => format!(
                                "the provider's JWKS has no {} signing key with kid {:?}, even after fetching it again",
                                jws.alg.name(),
                                crate::proto::error::clip(kid, 100)
                            ),
                            None => format!("the provider's JWKS has no {} signing key", jws.alg.name()),
                        },
                    ))
                }
            }
        }
    }

    /// The code exchange, with the JWKS fetched in parallel.
    async fn complete_code(self: &Rc<Self>, validated: ValidatedCallback) -> Result<()> {
        let (req, exchange) = token::code_request(&self.cfg, &self.meta, validated);
        let prefetch = self.prefetch_jwks();
        let resp = http::send(http::Req {
            url: &req.url,
            what: "the token request",
            form: Some(&req.body),
            bearer: None,
            timeout_ms: self.cfg.http_timeout_ms,
            no_cache: false,
        })
        .await?;
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
                None,
                received,
            )
            .await?;
        *self.session.borrow_mut() = Some(Session::new(tr, id, claims, received));
        Ok(())
    }

    fn end_session(&self, event: &str, error: Option<Error>) {
        let had = self.session.borrow_mut().take().is_some();
        if had {
            self.emit(event, error);
        }
    }

    /// Tokens, renewed first when the access token expires within the leeway.
    async fn tokens(self: &Rc<Self>, force: bool) -> Result<String> {
        let needs_renewal = match &*self.session.borrow() {
            None => return Err(Error::new(Code::NotLoggedIn, "no user is logged in")),
            Some(s) => force || s.expires_within(web::now_ms(), RENEW_LEEWAY_MS),
        };
        if needs_renewal {
            self.renew().await?;
        }
        self.session
            .borrow()
            .as_ref()
            .map(Session::tokens_json)
            .ok_or_else(|| Error::new(Code::NotLoggedIn, "no user is logged in"))
    }

    /// One renewal at a time: concurrent callers await the same one.
    async fn renew(self: &Rc<Self>) -> Result<()> {
        let existing = self.renewing.borrow().clone();
        let promise = match existing {
            Some(p) => p,
            None => {
                let inner = self.clone();
                let p = future_to_promise(async move {
                    let result = inner.do_renew().await;
                    *inner.renewing.borrow_mut() = None;
                    result.map(|_| JsValue::UNDEFINED).map_err(to_js)
                });
                *self.renewing.borrow_mut() = Some(p.clone());
                p
            }
        };
        JsFuture::from(promise).await.map(|_| ()).map_err(from_js)
    }

    async fn do_renew(self: &Rc<Self>) -> Result<()> {
        let Some(current) = self.session.borrow().clone() else {
            return Err(Error::new(Code::NotLoggedIn, "no user is logged in"));
        };
        let Some(refresh_token) = current.refresh_token.clone() else {
            return Err(Error::new(
                Code::LoginRequired,
                "the provider issued no refresh token, so the tokens cannot be renewed without the user",
            ));
        };
        let req = token::refresh_request(&self.cfg, &self.meta, &refresh_token);
        let resp = http::send(http::Req {
            url: &req.url,
            what: "the refresh request",
            form: Some(&req.body),
            bearer: None,
            timeout_ms: self.cfg.http_timeout_ms,
            no_cache: false,
        })
        .await?;
        let received = web::now_ms();
        let tr = match token::parse(&resp) {
            Ok(tr) => tr,
            Err(e) if e.error.as_deref() == Some("invalid_grant") => {
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
        *self.session.borrow_mut() = Some(next);
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
        future_to_promise(
            async move { inner.tokens(false).await.map(JsValue::from).map_err(to_js) },
        )
    }

    /// Forces a renewal (API.md `renewTokens`), as JSON text.
    #[wasm_bindgen(js_name = renewTokens)]
    pub fn renew_tokens(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.tokens(true).await.map(JsValue::from).map_err(to_js) })
    }

    /// The UserInfo response as JSON text, after checking its `sub`.
    #[wasm_bindgen(js_name = getUserInfo)]
    pub fn get_user_info(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
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
