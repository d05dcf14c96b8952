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
use crate::proto::session::{self, Session};
use crate::proto::token::{self, Secret, TokenResponse};
use crate::proto::{logout, url, userinfo, Code, Error, Result};
use wasm_bindgen::prelude::*;

type JsResult<T> = core::result::Result<T, JsValue>;

fn to_js(e: Error) -> JsValue {
    JsValue::from_str(
        &ObjectWriter::new()
            .str("code", e.code.as_str())
            .str("message", &e.message)
            .opt_str("error", e.error.as_deref())
            .opt_str("errorDescription", e.error_description.as_deref())
            .finish(),
    )
}

fn js<T>(r: Result<T>) -> JsResult<T> {
    r.map_err(to_js)
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
#[wasm_bindgen]
pub struct Core {
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

#[wasm_bindgen]
impl Core {
    /// Reads the configuration. `href` is the page URL, for the default `redirectUri`.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str, href: &str) -> JsResult<Core> {
        let page = url::split(href)
            .ok_or_else(|| Error::new(Code::InvalidConfig, "the page URL is not http(s)"))
            .map_err(to_js)?;
        let cfg = js(Config::from_json(
            config_json,
            &cat(&[&page.origin(), page.path]),
        ))?;
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

    /// What the page needs of the configuration: `{key, restore, http, silent}`.
    pub fn settings(&self) -> String {
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

    /// The page URL without the authorization response parameters.
    #[wasm_bindgen(js_name = cleanUrl)]
    pub fn clean_url(href: &str) -> String {
        url::without_params(href, RESPONSE_PARAMS)
    }

    /// Whether a login in flight read back from sessionStorage is still usable.
    #[wasm_bindgen(js_name = pendingLive)]
    pub fn pending_live(json: &str, now_ms: f64) -> bool {
        PendingLogin::from_json(json).is_some_and(|p| !p.is_expired(now_ms))
    }

    /// Reads an authorization response from `href`: `undefined` when there is none, else its
    /// `state` (`""` when absent) for finding the login in flight. `silent` reads the answer
    /// the hidden iframe sent, at the silent redirect URI, where no answer is an error.
    #[wasm_bindgen(js_name = readCallback)]
    pub fn read_callback(&mut self, href: &str, silent: bool) -> JsResult<Option<String>> {
        let uri = if silent {
            &self.cfg.silent_redirect_uri
        } else {
            &self.cfg.redirect_uri
        };
        match js(callback::parse(href, &[uri]))? {
            Some(p) => {
                let state = p.state.clone().unwrap_or_default();
                self.callback = Some(p);
                Ok(Some(state))
            }
            None if silent => Err(to_js(Error::new(
                Code::InvalidResponse,
                "the silent iframe came back without an authorization response",
            ))),
            None => Ok(None),
        }
    }

    #[wasm_bindgen(js_name = discoveryUrl)]
    pub fn discovery_url(&self) -> String {
        discovery::url(&self.cfg.issuer)
    }

    /// Checks the discovery document (exact issuer match and the rest).
    #[wasm_bindgen(js_name = setMetadata)]
    pub fn set_metadata(
        &mut self,
        status: u16,
        content_type: Option<String>,
        body: String,
    ) -> JsResult<()> {
        let meta = js(discovery::parse(
            &self.cfg,
            &response(status, content_type, body),
        ))?;
        self.meta = Some(meta);
        Ok(())
    }

    fn meta(&self) -> Result<&Metadata> {
        self.meta
            .as_ref()
            .ok_or_else(|| Error::new(Code::InvalidMetadata, "discovery has not completed"))
    }

    /// Builds an authorization request: `{url, key, pending}`, where `pending` (the login in
    /// flight) is to be stored under `key` in sessionStorage (or kept in memory for the iframe).
    /// `mode` is `interactive`, `iframe` or `redirect`; `no_offline` leaves `offline_access` out
    /// (a provider answered `consent_required` to it). `random` holds 96 fresh random bytes.
    pub fn authorize(
        &self,
        random: &[u8],
        now_ms: f64,
        mode: &str,
        redirect_to: Option<String>,
        extra_json: Option<String>,
        origin: &str,
        href: &str,
        no_offline: bool,
    ) -> JsResult<String> {
        js(self.do_authorize(
            random,
            now_ms,
            mode,
            redirect_to,
            extra_json,
            origin,
            href,
            no_offline,
        ))
    }

    /// Checks the authorization response read by [`Core::read_callback`] against the login in
    /// flight, and builds the code exchange: `{url, body, to}` with `to` the page to land on.
    /// `renewing`: the new ID token must be about the current user.
    #[wasm_bindgen(js_name = codeRequest)]
    pub fn code_request(
        &mut self,
        pending_json: Option<String>,
        now_ms: f64,
        origin: &str,
        renewing: bool,
    ) -> JsResult<String> {
        js(self.do_code_request(pending_json, now_ms, origin, renewing))
    }

    /// The refresh grant for the current session: `{url, body}`, or `undefined` without a
    /// refresh token.
    #[wasm_bindgen(js_name = refreshRequest)]
    pub fn refresh_request(&mut self) -> JsResult<Option<String>> {
        let meta = js(self.meta())?;
        let Some(s) = &self.session else {
            return Err(to_js(not_logged_in()));
        };
        let Some(rt) = &s.refresh_token else {
            return Ok(None);
        };
        let req = token::refresh_request(&self.cfg, meta, rt);
        self.refreshing = Some(rt.clone());
        Ok(Some(request_json(&req.url, &req.body, "")))
    }

    /// Checks a token response (code exchange or refresh). Returns what the ID token's
    /// verification needs, `{hash, at, input, sig, alg}` (`hash` names the digest of the access
    /// token for `at_hash`), `{}` for a refresh without ID token, or `{skip: true}` when a
    /// refresh failed with `invalid_grant` because another tab rotated the refresh token.
    #[wasm_bindgen(js_name = acceptTokens)]
    pub fn accept_tokens(
        &mut self,
        status: u16,
        content_type: Option<String>,
        body: String,
        now_ms: f64,
    ) -> JsResult<String> {
        js(self.do_accept_tokens(response(status, content_type, body), now_ms))
    }

    #[wasm_bindgen(js_name = hasJwks)]
    pub fn has_jwks(&self) -> bool {
        self.jwks.is_some()
    }

    #[wasm_bindgen(js_name = jwksUrl)]
    pub fn jwks_url(&self) -> JsResult<String> {
        Ok(js(self.meta())?.jwks_uri.clone())
    }

    #[wasm_bindgen(js_name = setJwks)]
    pub fn set_jwks(
        &mut self,
        status: u16,
        content_type: Option<String>,
        body: String,
    ) -> JsResult<()> {
        let keys = js(jose::parse_jwks(&response(status, content_type, body)))?;
        self.jwks = Some(keys);
        Ok(())
    }

    /// The keys that may have signed the incoming ID token, as JWK JSON (key material only, so
    /// a provider's `alg`, `use` or `key_ops` cannot make WebCrypto's import fail), or
    /// `undefined` when the JWKS has no key for it (refetch it once, then [`Core::no_key`]).
    pub fn candidates(&self) -> Option<String> {
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

    /// The error for an ID token no key of the (refetched) JWKS can have signed.
    #[wasm_bindgen(js_name = noKey)]
    pub fn no_key(&self) -> JsValue {
        let Some(jws) = self.incoming.as_ref().and_then(|i| i.jws.as_ref()) else {
            return to_js(not_logged_in());
        };
        to_js(Error::new(
            Code::InvalidIdToken,
            match &jws.kid {
                Some(kid) => cat(&[
                    "the provider's JWKS has no ",
                    jws.alg.name(),
                    " signing key with kid ",
                    &quoted(kid, 100),
                    ", even after fetching it again",
                ]),
                None => cat(&["the provider's JWKS has no ", jws.alg.name(), " signing key"]),
            },
        ))
    }

    /// The error for a signature that no candidate key verifies.
    #[wasm_bindgen(js_name = badSignature)]
    pub fn bad_signature(&self) -> JsValue {
        let alg = self
            .incoming
            .as_ref()
            .and_then(|i| i.jws.as_ref())
            .map_or("", |j| j.alg.name());
        to_js(Error::new(
            Code::InvalidIdToken,
            cat(&[
                "the ID token's ",
                alg,
                " signature does not verify with the provider's key",
            ]),
        ))
    }

    /// After the signature verified: validates the ID token's claims (OIDC Core §3.1.3.7) and
    /// puts the new session in place with the generation after `shared_generation` (what all
    /// tabs have seen). Returns the new generation. `at_digest` is the access token's digest
    /// under the ID token's hash.
    pub fn install(&mut self, at_digest: &[u8], shared_generation: f64) -> JsResult<f64> {
        js(self.do_install(at_digest, shared_generation))
    }

    #[wasm_bindgen(getter = isLoggedIn)]
    pub fn is_logged_in(&self) -> bool {
        self.session.is_some()
    }

    #[wasm_bindgen(js_name = claimsJson)]
    pub fn claims_json(&self) -> Option<String> {
        self.session.as_ref().map(|s| s.claims.json.clone())
    }

    /// The tokens as API.md's `Tokens`, JSON text.
    #[wasm_bindgen(js_name = tokensJson)]
    pub fn tokens_json(&self) -> JsResult<String> {
        self.session
            .as_ref()
            .map(Session::tokens_json)
            .ok_or_else(|| to_js(not_logged_in()))
    }

    /// The session for another tab of this app (BroadcastChannel, in memory only).
    #[wasm_bindgen(js_name = transferJson)]
    pub fn transfer_json(&self) -> Option<String> {
        self.session.as_ref().map(Session::to_transfer_json)
    }

    /// The current session's generation, 0 without one.
    pub fn generation(&self) -> f64 {
        self.session.as_ref().map_or(0.0, |s| s.generation)
    }

    /// Takes a session another tab handed over, if it is for this client and (with
    /// `only_newer`) later than the one held. Returns whether it was taken.
    pub fn adopt(&mut self, json: &str, now_ms: f64, only_newer: bool) -> bool {
        let Some(meta) = &self.meta else { return false };
        let Some(s) =
            Session::from_transfer_json(json, &meta.issuer, &self.cfg.client_id, now_ms)
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

    /// Forgets the tokens. Returns whether there were any.
    #[wasm_bindgen(js_name = endSession)]
    pub fn end_session(&mut self) -> bool {
        self.incoming = None;
        self.session.take().is_some()
    }

    /// Whether the access token expires within `leeway_ms` (false without a session).
    #[wasm_bindgen(js_name = expiresWithin)]
    pub fn expires_within(&self, now_ms: f64, leeway_ms: f64) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.expires_within(now_ms, leeway_ms))
    }

    /// When the renewal is due (epoch ms), `undefined` when never.
    #[wasm_bindgen(js_name = dueAt)]
    pub fn due_at(&self) -> Option<f64> {
        session::renewal_due_at(self.session.as_ref()?, self.received_at_ms)
    }

    /// Whether the provider's login page is on the same site as `origin` (its cookies reach
    /// a hidden iframe even where third-party cookies are blocked).
    #[wasm_bindgen(js_name = sameSite)]
    pub fn same_site(&self, origin: &str) -> bool {
        self.meta
            .as_ref()
            .is_some_and(|m| session::same_site(origin, &m.authorization_endpoint))
    }

    /// Whether the scopes hold `offline_access` (a silent request can be retried without).
    #[wasm_bindgen(js_name = hasOffline)]
    pub fn has_offline(&self) -> bool {
        authorize::without_offline_access(&self.cfg).is_some()
    }

    /// `{url, token}` for the UserInfo request.
    #[wasm_bindgen(js_name = userinfoRequest)]
    pub fn userinfo_request(&self) -> JsResult<String> {
        let endpoint = js(self.meta())?.userinfo_endpoint.as_deref().ok_or_else(|| {
            to_js(Error::new(
                Code::InvalidMetadata,
                "the provider publishes no userinfo_endpoint",
            ))
        })?;
        let s = self.session.as_ref().ok_or_else(|| to_js(not_logged_in()))?;
        Ok(ObjectWriter::new()
            .str("url", endpoint)
            .str("token", s.access_token.expose())
            .finish())
    }

    /// Checks the UserInfo response (its `sub` must be the ID token's); returns its JSON.
    pub fn userinfo(
        &self,
        status: u16,
        content_type: Option<String>,
        body: String,
    ) -> JsResult<String> {
        let s = self.session.as_ref().ok_or_else(|| to_js(not_logged_in()))?;
        js(userinfo::parse(
            &response(status, content_type, body),
            &s.claims.sub,
        ))
    }

    /// Where RP-initiated logout goes (with `id_token_hint`), or the post-logout page when the
    /// provider has no end-session endpoint.
    #[wasm_bindgen(js_name = logoutUrl)]
    pub fn logout_url(&self, redirect_to: Option<String>, origin: &str) -> JsResult<String> {
        let post_logout = match redirect_to {
            Some(t) => js(url::same_origin_target(origin, &t))?,
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
fn key_json(k: &Jwk) -> String {
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
    #[allow(clippy::too_many_arguments)]
    fn do_authorize(
        &self,
        random: &[u8],
        now_ms: f64,
        mode: &str,
        redirect_to: Option<String>,
        extra_json: Option<String>,
        origin: &str,
        href: &str,
        no_offline: bool,
    ) -> Result<String> {
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
            Some(j) => config::string_pairs(&j, "extraAuthParams")?,
            None => Vec::new(),
        };
        let random: &[u8; authorize::RANDOM_BYTES] = random
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
            },
        )?;
        Ok(ObjectWriter::new()
            .str("url", &url)
            .str("key", &PendingLogin::storage_key(&pending.state))
            .str("pending", &pending.to_json())
            .finish())
    }

    fn do_code_request(
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

    fn do_accept_tokens(&mut self, resp: Response, now_ms: f64) -> Result<String> {
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
            Some(j) => {
                ObjectWriter::new()
                    .str("hash", j.alg.hash().web_name())
                    .str("alg", j.alg.name())
                    .str("at", tokens.access_token.expose())
                    .str("input", &j.signing_input)
                    .str("sig", &crate::proto::b64::encode(&j.signature))
                    .finish()
            }
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

    fn do_install(&mut self, at_digest: &[u8], shared_generation: f64) -> Result<f64> {
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
        let mine = self.generation();
        next.generation = shared_generation.max(mine).max(next.generation) + 1.0;
        let generation = next.generation;
        self.session = Some(next);
        self.received_at_ms = received;
        Ok(generation)
    }
}
