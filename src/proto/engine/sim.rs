//! A deterministic simulated world for the engine's tests: browser tabs (each an [`Engine`]
//! with its own sessionStorage and a deterministic random source), a BroadcastChannel, a Web
//! Locks manager, and a fake OpenID provider, all on one virtual clock. The clock jumps to the
//! next delivery or wake-up, so an hour of a session runs in microseconds.
//!
//! What the real browser shell does (`src/js/client.js`) the sim does too: it carries out
//! every action and hands back the answer as an event, after a latency for the network and the
//! other tabs, at once for WebCrypto, storage and locks.

use super::{Action, AppEvent, Command, Engine, Event, Failure};
use crate::proto::error::Error;
use crate::proto::id_token::at_hash;
use crate::proto::jose::Hash;
use crate::proto::json::{self, ObjectWriter};
use crate::proto::{b64, pkce, url};
use std::collections::BTreeMap;

/// The virtual clock starts here (milliseconds since the epoch).
pub const T0: f64 = 1_700_000_000_000.0;
pub const ISSUER: &str = "https://op.example";
pub const CLIENT: &str = "app";
/// The page the user opens.
pub const PAGE: &str = "https://app.example/home";
pub const USER: &str = "alice";
/// The signature bytes of an ID token the provider did not sign.
const FORGED: &[u8] = b"forged";

pub fn config() -> String {
    String::from(
        "{\"issuer\":\"https://op.example\",\"clientId\":\"app\",\
         \"redirectUri\":\"https://app.example/cb\",\
         \"scopes\":[\"openid\",\"profile\",\"offline_access\"],\"debug\":true}",
    )
}

/// The provider is unreachable: an HTTP status (with an optional `Retry-After`), or no answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Down {
    Status(u16, Option<String>),
    Network,
}

/// One request to the token endpoint.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub tab: usize,
    pub at: f64,
    pub grant_type: String,
    pub refresh_token: Option<String>,
    pub status: u16,
}

struct Grant {
    sub: String,
    scope: String,
    current: Option<String>,
    used: Vec<String>,
    revoked: bool,
}

struct Code {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    scope: String,
    sub: String,
}

/// The fake OpenID provider.
pub struct Provider {
    pub access_lifetime_s: f64,
    pub id_lifetime_s: f64,
    /// Each refresh returns a new refresh token; a reused old one revokes the whole grant.
    pub rotate: bool,
    /// Whether a refreshed token response carries a new ID token.
    pub id_token_on_refresh: bool,
    pub latency_ms: f64,
    pub down: Option<Down>,
    /// The provider's own login session (its cookie): whose, if any.
    pub session: Option<String>,
    /// Who logs in when a user is sent to the login page.
    pub user: String,
    /// `prompt=none` with `offline_access` answers `consent_required` (authentik).
    pub consent_offline: bool,
    /// Third-party cookies blocked: the hidden iframe never sees the provider's session.
    pub iframe_blind: bool,
    /// The next ID token issued is not signed by the provider.
    pub forge_next: bool,
    /// A refreshed ID token is about this subject instead.
    pub refresh_sub: Option<String>,
    /// DPoP: token requests whose proof lacks this nonce are answered `use_dpop_nonce`.
    pub dpop_nonce: Option<String>,
    /// The nonce a refusal hands out (default: `dpop_nonce`); another one makes the retry fail.
    pub dpop_nonce_told: Option<String>,
    /// The token request being answered came with a DPoP proof: its tokens are DPoP-bound.
    proof: bool,
    pub token_requests: Vec<TokenRequest>,
    /// Every request: (tab, path).
    pub requests: Vec<(usize, String)>,
    pub reuse_detected: u32,
    /// OIDC Session Management: the discovery document has `check_session_iframe` and
    /// authorization responses carry `session_state`.
    pub check_session: bool,
    /// Counts the provider's login sessions (each one's `session_state` differs).
    pub session_serial: u32,
    /// ID tokens carry no `sid`.
    pub no_sid: bool,
    grants: Vec<Grant>,
    codes: BTreeMap<String, Code>,
    access: BTreeMap<String, (String, f64)>,
    serial: u32,
}

/// What the provider answers a fetch.
enum Reply {
    Http {
        status: u16,
        content_type: &'static str,
        body: String,
        retry_after: Option<String>,
    },
    /// 400 `use_dpop_nonce` with this `DPoP-Nonce`.
    Nonce(String),
    Network,
}

/// The claims of a DPoP proof, as JSON text (the sim checks what the engine wrote).
pub fn proof_claims(proof: &str) -> String {
    let payload = proof.split('.').nth(1).unwrap_or("");
    String::from_utf8(crate::proto::b64::decode(payload).unwrap_or_default()).unwrap_or_default()
}

fn json_reply(status: u16, body: String) -> Reply {
    Reply::Http {
        status,
        content_type: "application/json",
        body,
        retry_after: None,
    }
}

fn oauth_error(error: &str) -> Reply {
    json_reply(400, ObjectWriter::new().str("error", error).finish())
}

impl Provider {
    fn new() -> Provider {
        Provider {
            access_lifetime_s: 300.0,
            id_lifetime_s: 300.0,
            rotate: true,
            id_token_on_refresh: true,
            latency_ms: 50.0,
            down: None,
            session: None,
            user: String::from(USER),
            consent_offline: false,
            iframe_blind: false,
            forge_next: false,
            refresh_sub: None,
            dpop_nonce: None,
            dpop_nonce_told: None,
            proof: false,
            token_requests: Vec::new(),
            requests: Vec::new(),
            reuse_detected: 0,
            check_session: false,
            session_serial: 0,
            no_sid: false,
            grants: Vec::new(),
            codes: BTreeMap::new(),
            access: BTreeMap::new(),
            serial: 0,
        }
    }

    /// Token requests of one grant type.
    pub fn count(&self, grant_type: &str) -> usize {
        self.token_requests
            .iter()
            .filter(|r| r.grant_type == grant_type)
            .count()
    }

    /// Revokes every grant (the user signed out elsewhere, or an admin revoked the session).
    /// Whose access token `at` is.
    pub fn access_owner(&self, at: &str) -> Option<String> {
        self.access.get(at).map(|(sub, _)| sub.clone())
    }

    pub fn revoke_all(&mut self) {
        for g in &mut self.grants {
            g.revoked = true;
        }
    }

    pub fn discovery() -> String {
        String::from(
            "{\"issuer\":\"https://op.example\",\
             \"authorization_endpoint\":\"https://op.example/authorize\",\
             \"token_endpoint\":\"https://op.example/token\",\
             \"jwks_uri\":\"https://op.example/jwks\",\
             \"userinfo_endpoint\":\"https://op.example/userinfo\",\
             \"end_session_endpoint\":\"https://op.example/logout\",\
             \"dpop_signing_alg_values_supported\":[\"ES256\"]}",
        )
    }

    pub fn jwks() -> String {
        String::from(
            "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"RS256\",\
             \"n\":\"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\",\
             \"e\":\"AQAB\"}]}",
        )
    }

    fn fetch(
        &mut self,
        now: f64,
        tab: usize,
        u: &str,
        form: Option<&str>,
        bearer: Option<&str>,
        dpop: Option<&str>,
    ) -> Reply {
        let path = u.strip_prefix(ISSUER).unwrap_or(u).to_string();
        self.requests.push((tab, path.clone()));
        let down = match &self.down {
            Some(Down::Network) => Some(Reply::Network),
            Some(Down::Status(status, retry_after)) => Some(Reply::Http {
                status: *status,
                content_type: "text/html",
                body: String::from("<html>come back later</html>"),
                retry_after: retry_after.clone(),
            }),
            None => None,
        };
        if let Some(reply) = down {
            if path == "/token" {
                self.record(now, tab, form.unwrap_or(""), &reply);
            }
            return reply;
        }
        match path.as_str() {
            "/.well-known/openid-configuration" => {
                let mut doc = Provider::discovery();
                if self.check_session {
                    doc.pop();
                    doc.push_str(",\"check_session_iframe\":\"https://op.example/check\"}");
                }
                json_reply(200, doc)
            }
            "/jwks" => json_reply(200, Provider::jwks()),
            "/token" => match &self.dpop_nonce {
                Some(n)
                    if !dpop.is_some_and(|p| {
                        proof_claims(p).contains(&format!("\"nonce\":\"{n}\""))
                    }) =>
                {
                    Reply::Nonce(self.dpop_nonce_told.clone().unwrap_or_else(|| n.clone()))
                }
                _ => {
                    self.proof = dpop.is_some();
                    self.token(now, tab, form.unwrap_or(""))
                }
            },
            "/userinfo" => match bearer.and_then(|b| self.access.get(b)) {
                Some((sub, exp)) if *exp > now => {
                    json_reply(200, ObjectWriter::new().str("sub", sub).finish())
                }
                _ => Reply::Http {
                    status: 401,
                    content_type: "text/plain",
                    body: String::new(),
                    retry_after: None,
                },
            },
            _ => Reply::Http {
                status: 404,
                content_type: "text/plain",
                body: String::new(),
                retry_after: None,
            },
        }
    }

    fn token(&mut self, now: f64, tab: usize, form: &str) -> Reply {
        let pairs = url::parse_query(form).unwrap_or_default();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let grant_type = get("grant_type");
        let reply = if get("client_id") != CLIENT {
            oauth_error("invalid_client")
        } else if grant_type == "authorization_code" {
            match self.codes.remove(&get("code")) {
                Some(c)
                    if c.redirect_uri == get("redirect_uri")
                        && pkce::challenge_s256(&get("code_verifier")) == c.challenge =>
                {
                    self.grants.push(Grant {
                        sub: c.sub.clone(),
                        scope: c.scope.clone(),
                        current: None,
                        used: Vec::new(),
                        revoked: false,
                    });
                    let g = self.grants.len() - 1;
                    self.issue(now, g, Some(&c.nonce), true)
                }
                _ => oauth_error("invalid_grant"),
            }
        } else if grant_type == "refresh_token" {
            let rt = get("refresh_token");
            let found = self
                .grants
                .iter()
                .position(|g| g.current.as_deref() == Some(&rt) || g.used.contains(&rt));
            match found {
                None => oauth_error("invalid_grant"),
                Some(g) if self.grants[g].revoked => oauth_error("invalid_grant"),
                Some(g) if self.grants[g].current.as_deref() != Some(&rt) => {
                    // A rotated refresh token used again: the whole grant is revoked.
                    self.reuse_detected += 1;
                    self.grants[g].revoked = true;
                    oauth_error("invalid_grant")
                }
                Some(g) => {
                    let id = self.id_token_on_refresh;
                    self.issue(now, g, None, id)
                }
            }
        } else {
            oauth_error("unsupported_grant_type")
        };
        self.record(now, tab, form, &reply);
        reply
    }

    fn record(&mut self, now: f64, tab: usize, form: &str, reply: &Reply) {
        let pairs = url::parse_query(form).unwrap_or_default();
        let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        self.token_requests.push(TokenRequest {
            tab,
            at: now,
            grant_type: get("grant_type").unwrap_or_default(),
            refresh_token: get("refresh_token"),
            status: match reply {
                Reply::Http { status, .. } => *status,
                Reply::Nonce(_) => 400,
                Reply::Network => 0,
            },
        });
    }

    /// A token response for grant `g`: a new access token, a (rotated) refresh token when the
    /// grant has `offline_access`, an ID token.
    fn issue(&mut self, now: f64, g: usize, nonce: Option<&str>, with_id: bool) -> Reply {
        self.serial += 1;
        let n = self.serial;
        let at = format!("at-{n}");
        let refresh = nonce.is_none();
        let grant = &mut self.grants[g];
        let offline = grant.scope.split(' ').any(|s| s == "offline_access");
        let rt = if !offline {
            None
        } else if refresh && !self.rotate {
            grant.current.clone()
        } else {
            let new = format!("rt-{n}");
            if let Some(old) = grant.current.replace(new.clone()) {
                grant.used.push(old);
            }
            Some(new)
        };
        let sub = match (refresh, &self.refresh_sub) {
            (true, Some(s)) => s.clone(),
            _ => grant.sub.clone(),
        };
        let scope = grant.scope.clone();
        self.access.insert(
            at.clone(),
            (sub.clone(), now + self.access_lifetime_s * 1000.0),
        );
        let now_s = (now / 1000.0).floor();
        let mut claims = ObjectWriter::new()
            .str("iss", ISSUER)
            .str("sub", &sub)
            .str("aud", CLIENT)
            .num("exp", now_s + self.id_lifetime_s)
            .num("iat", now_s)
            .str("at_hash", &at_hash(Hash::Sha256, &at));
        if !self.no_sid {
            claims = claims.str("sid", &format!("sid-{}", self.session_serial));
        }
        if let Some(nonce) = nonce {
            claims = claims.str("nonce", nonce);
        }
        let sig: &[u8] = if core::mem::take(&mut self.forge_next) {
            FORGED
        } else {
            b"signature"
        };
        let id_token = [
            b64::encode(b"{\"alg\":\"RS256\",\"kid\":\"k1\"}"),
            b64::encode(claims.finish().as_bytes()),
            b64::encode(sig),
        ]
        .join(".");
        let mut w = ObjectWriter::new()
            .str("access_token", &at)
            .str("token_type", if self.proof { "DPoP" } else { "Bearer" })
            .num("expires_in", self.access_lifetime_s)
            .str("scope", &scope);
        if with_id {
            w = w.str("id_token", &id_token);
        }
        json_reply(200, w.opt_str("refresh_token", rt.as_deref()).finish())
    }

    /// The authorization endpoint: where the browser lands after it (the redirect back), or
    /// `None` when nothing comes back (a framed page that never answers).
    fn authorize(&mut self, u: &str, framed: bool) -> Option<String> {
        let query = url::split(u)?.query.unwrap_or("");
        let pairs = url::parse_query(query).ok()?;
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let redirect_uri = get("redirect_uri");
        let state = get("state");
        let scope = get("scope");
        let silent = get("prompt") == "none";
        if !silent {
            // The user logs in.
            self.session = Some(self.user.clone());
            self.session_serial += 1;
        }
        let visible = if framed && self.iframe_blind {
            None
        } else {
            self.session.clone()
        };
        let who = match visible {
            None => Err("login_required"),
            Some(_) if silent && self.consent_offline && scope.contains("offline_access") => {
                Err("consent_required")
            }
            Some(sub) => Ok(sub),
        };
        Some(match who {
            Err(error) => url::append_query(
                &redirect_uri,
                &[("error", error), ("state", &state), ("iss", ISSUER)],
            ),
            Ok(sub) => {
                self.serial += 1;
                let code = format!("code-{}", self.serial);
                self.codes.insert(
                    code.clone(),
                    Code {
                        nonce: get("nonce"),
                        challenge: get("code_challenge"),
                        redirect_uri: redirect_uri.clone(),
                        scope,
                        sub,
                    },
                );
                let ss = self.session_state().unwrap_or_default();
                let mut params = vec![("code", code.as_str()), ("state", &state), ("iss", ISSUER)];
                if self.check_session {
                    params.push(("session_state", &ss));
                }
                url::append_query(&redirect_uri, &params)
            }
        })
    }

    /// The `session_state` of the provider's login session now (what its check frame
    /// compares with).
    pub fn session_state(&self) -> Option<String> {
        self.session
            .as_ref()
            .map(|sub| format!("{sub}.{}", self.session_serial))
    }

    /// The check frame's answer to `client_id session_state` (§3.2); third-party cookies
    /// blocked, it cannot see the session and always says `changed`.
    fn check(&self, msg: &str) -> &'static str {
        match msg.split_once(' ') {
            Some((CLIENT, ss))
                if !self.iframe_blind && Some(ss) == self.session_state().as_deref() =>
            {
                "unchanged"
            }
            Some((CLIENT, _)) => "changed",
            _ => "error",
        }
    }
}

/// One browser tab: the page loaded in it now, and what the app saw.
pub struct Tab {
    pub engine: Engine,
    /// Counts page loads: deliveries for an earlier page are dropped.
    pub page: u32,
    /// False between leaving a page and loading the next.
    pub loaded: bool,
    pub href: String,
    pub storage: BTreeMap<String, String>,
    /// Settled command promises of the current page (0: `createOidc`).
    pub results: BTreeMap<u32, Result<String, Error>>,
    pub events: Vec<(f64, AppEvent)>,
    pub claims: Option<String>,
    pub debug: Vec<String>,
    /// Errors the engine returned for events (a shell bug).
    pub errors: Vec<Error>,
    pub navigations: Vec<String>,
    /// DPoP proofs sent: (url, proof, Authorization header).
    pub proofs: Vec<(String, String, Option<String>)>,
    /// Keys made (GenerateKey) and taken from another tab (TakeKey).
    pub keys_made: u32,
    pub keys_taken: u32,
    pub frames: u32,
    pub last_frame: u32,
    /// The login popup: its id and whether it is closed.
    pub popup: Option<(u32, bool)>,
    /// The shell reports the user's activity.
    pub watching: bool,
    /// The provider's check_session frame, and the polls posted to it.
    pub check_frame: Option<u32>,
    pub polls: u32,
    /// The page embedding the next page loaded in this tab (a front-channel logout frame).
    pub embedder: Option<String>,
    listening: bool,
    pub closed: bool,
    next_cmd: u32,
    seed: u64,
}

impl Tab {
    pub fn is_logged_in(&self) -> bool {
        self.claims.is_some()
    }
    pub fn expired_events(&self) -> Vec<&Error> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                AppEvent::SessionExpired(e) => Some(e),
                _ => None,
            })
            .collect()
    }
}

fn engine(seed: u64) -> Engine {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Engine::new(Box::new(move |b| {
        for x in b.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *x = (state >> 24) as u8;
        }
        true
    }))
}

enum What {
    Event(Event),
    /// A page load at this URL (a navigation arriving).
    Load(String),
    /// The user closes login popup `id`.
    ClosePopup(u32),
}

struct Item {
    at: f64,
    seq: u64,
    tab: usize,
    page: u32,
    what: What,
}

struct LockRequest {
    tab: usize,
    page: u32,
    id: u32,
    name: String,
    shared: bool,
    granted: bool,
}

/// The simulated browser, its tabs and the provider.
pub struct World {
    pub now: f64,
    pub tabs: Vec<Tab>,
    pub op: Provider,
    pub config: String,
    /// How long a BroadcastChannel message takes to reach the other tabs.
    pub post_delay_ms: f64,
    /// How long WebCrypto takes to make a key pair.
    pub key_delay_ms: f64,
    /// The hidden iframes' authorization URLs.
    pub frame_urls: Vec<String>,
    /// How long the lock manager takes to grant a lock; an `Unlock` before then cancels the
    /// request (the abort signal wins).
    pub lock_delay_ms: f64,
    queue: Vec<Item>,
    seq: u64,
    locks: Vec<LockRequest>,
    /// Timer events handed out at one instant to one tab, to catch a busy loop.
    spins: (usize, f64, u32),
    /// The browser blocks popups.
    pub popup_blocked: bool,
    /// The user closes the login popup this long after it opened, without logging in.
    pub popup_closed_after: Option<f64>,
    /// The authorization URLs login popups were sent to.
    pub popup_urls: Vec<String>,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        World {
            now: T0,
            tabs: Vec::new(),
            op: Provider::new(),
            config: config(),
            post_delay_ms: 1.0,
            key_delay_ms: 0.0,
            frame_urls: Vec::new(),
            lock_delay_ms: 0.0,
            queue: Vec::new(),
            seq: 0,
            locks: Vec::new(),
            spins: (usize::MAX, 0.0, 0),
            popup_blocked: false,
            popup_closed_after: None,
            popup_urls: Vec::new(),
        }
    }

    /// Opens a new tab at `href` (the page loads at once).
    pub fn open(&mut self, href: &str) -> usize {
        let t = self.tabs.len();
        self.tabs.push(Tab {
            engine: engine(t as u64 + 1),
            page: 0,
            loaded: false,
            href: String::new(),
            storage: BTreeMap::new(),
            results: BTreeMap::new(),
            events: Vec::new(),
            claims: None,
            debug: Vec::new(),
            errors: Vec::new(),
            navigations: Vec::new(),
            proofs: Vec::new(),
            keys_made: 0,
            keys_taken: 0,
            last_frame: 0,
            frames: 0,
            popup: None,
            watching: false,
            check_frame: None,
            polls: 0,
            embedder: None,
            listening: false,
            closed: false,
            next_cmd: 1,
            seed: (t as u64 + 1) * 1000,
        });
        self.load(t, href);
        t
    }

    /// Opens a tab and runs until its start settled.
    pub fn open_settled(&mut self, href: &str) -> usize {
        let t = self.open(href);
        self.run_for(5_000.0);
        t
    }

    /// A page load in tab `t`: a new engine, started with that tab's sessionStorage.
    pub fn load(&mut self, t: usize, href: &str) {
        self.release_left(t);
        let tab = &mut self.tabs[t];
        tab.seed += 1;
        tab.engine = engine(tab.seed);
        tab.loaded = true;
        tab.listening = false;
        tab.watching = false;
        tab.check_frame = None;
        tab.popup = None;
        let embedder = tab.embedder.take();
        tab.href = href.to_string();
        tab.results.clear();
        tab.next_cmd = 1;
        let stored = tab
            .storage
            .iter()
            .filter(|(k, _)| k.starts_with(super::PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let config = self.config.clone();
        self.deliver(
            t,
            Event::Start {
                config,
                href: href.to_string(),
                stored,
                secure: true,
                held: None,
                embedder,
            },
        );
    }

    /// The page of tab `t` goes away (navigation, reload): the browser lets its locks go.
    fn unload(&mut self, t: usize) {
        self.leave(t);
        self.release_left(t);
    }

    /// The page of tab `t` stops getting events; its Web Locks stay held until the page is
    /// gone (a navigation's next page arrives: `release_left`).
    fn leave(&mut self, t: usize) {
        self.tabs[t].page += 1;
        self.tabs[t].loaded = false;
    }

    /// The browser lets go of the locks of tab `t`'s earlier pages.
    fn release_left(&mut self, t: usize) {
        let page = self.tabs[t].page;
        self.locks.retain(|l| !(l.tab == t && l.page != page));
        self.grant();
    }

    /// Reloads tab `t` at its current URL.
    pub fn reload(&mut self, t: usize) {
        self.unload(t);
        let href = self.tabs[t].href.clone();
        self.load(t, &href);
    }

    /// A command of the app in tab `t`; returns its number.
    pub fn command(&mut self, t: usize, command: Command) -> u32 {
        let cmd = self.tabs[t].next_cmd;
        self.tabs[t].next_cmd += 1;
        self.deliver(t, Event::Command { cmd, command });
        cmd
    }

    pub fn get_tokens(&mut self, t: usize) -> u32 {
        self.command(t, Command::GetTokens)
    }

    /// `login()` in tab `t`, then the provider's login page and the callback.
    pub fn login(&mut self, t: usize) {
        let href = self.tabs[t].href.clone();
        self.command(
            t,
            Command::Login {
                redirect_to: None,
                extra: Vec::new(),
                href: Some(href),
                popup: false,
            },
        );
        self.run_for(2_000.0);
    }

    /// `login({ popup: true })` in tab `t`; returns the command's number.
    pub fn login_popup(&mut self, t: usize) -> u32 {
        self.command(
            t,
            Command::Login {
                redirect_to: None,
                extra: Vec::new(),
                href: None,
                popup: true,
            },
        )
    }

    /// The user does something in tab `t` (the shell reports it only while asked to).
    pub fn activity(&mut self, t: usize) {
        if self.tabs[t].watching {
            self.deliver(t, Event::Activity);
        }
    }

    pub fn close(&mut self, t: usize) {
        self.deliver(t, Event::Close);
        self.tabs[t].closed = true;
    }

    /// The result of command `cmd` in tab `t`, if it settled.
    pub fn result(&self, t: usize, cmd: u32) -> Option<&Result<String, Error>> {
        self.tabs[t].results.get(&cmd)
    }

    /// Hands one event to tab `t` now and carries out its actions.
    pub fn deliver(&mut self, t: usize, event: Event) {
        let now = self.now;
        let tab = &mut self.tabs[t];
        if let Err(e) = tab.engine.handle(now, event) {
            tab.errors.push(e);
        }
        let actions = tab.engine.take_actions();
        let page = tab.page;
        for a in actions {
            self.perform(t, page, a);
        }
    }

    fn schedule(&mut self, delay: f64, t: usize, page: u32, what: What) {
        self.seq += 1;
        self.queue.push(Item {
            at: self.now + delay,
            seq: self.seq,
            tab: t,
            page,
            what,
        });
    }

    fn event_later(&mut self, delay: f64, t: usize, page: u32, e: Event) {
        self.schedule(delay, t, page, What::Event(e));
    }

    fn perform(&mut self, t: usize, page: u32, a: Action) {
        let latency = self.op.latency_ms;
        match a {
            Action::Listen { .. } => self.tabs[t].listening = true,
            Action::Fetch {
                id,
                url: u,
                form,
                authorization,
                dpop,
                ..
            } => {
                if let Some(p) = &dpop {
                    self.tabs[t].proofs.push((u.clone(), p.clone(), authorization.clone()));
                }
                let bearer = authorization
                    .as_deref()
                    .and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("DPoP ")));
                let reply = self.op.fetch(self.now, t, &u, form.as_deref(), bearer, dpop.as_deref());
                let e = match reply {
                    Reply::Http {
                        status,
                        content_type,
                        body,
                        retry_after,
                    } => Event::Response {
                        id,
                        status,
                        content_type: Some(content_type.to_string()),
                        body,
                        retry_after,
                        dpop_nonce: None,
                        www_authenticate: None,
                    },
                    Reply::Nonce(n) => Event::Response {
                        id,
                        status: 400,
                        content_type: Some(String::from("application/json")),
                        body: String::from("{\"error\":\"use_dpop_nonce\"}"),
                        retry_after: None,
                        dpop_nonce: Some(n),
                        www_authenticate: None,
                    },
                    Reply::Network => Event::Failed {
                        id,
                        failure: Failure::Network,
                        detail: String::from("TypeError: Failed to fetch"),
                    },
                };
                self.event_later(latency, t, page, e);
            }
            Action::Abort { id } => self.queue.retain(|i| {
                !(i.tab == t
                    && i.page == page
                    && matches!(&i.what, What::Event(Event::Response { id: x, .. } | Event::Failed { id: x, .. }) if *x == id))
            }),
            Action::Digest { id, hash, text } => {
                let h = match hash {
                    "SHA-256" => Hash::Sha256,
                    "SHA-384" => Hash::Sha384,
                    _ => Hash::Sha512,
                };
                let bytes = crate::proto::id_token::digest(h, text.as_bytes());
                self.event_later(0.0, t, page, Event::Digest { id, bytes });
            }
            Action::Verify { id, sig, .. } => {
                let ok = b64::decode(&sig).is_some_and(|s| s != FORGED);
                self.event_later(0.0, t, page, Event::Verified { id, ok });
            }
            Action::Store { id, key, value } => {
                self.tabs[t].storage.insert(key, value);
                if let Some(id) = id {
                    self.event_later(0.0, t, page, Event::Stored { id });
                }
            }
            Action::Remove { key } => {
                self.tabs[t].storage.remove(&key);
            }
            Action::Frame { id, url: u } => {
                self.tabs[t].frames += 1;
                self.tabs[t].last_frame = id;
                self.frame_urls.push(u.clone());
                if let Some(href) = self.op.authorize(&u, true) {
                    self.event_later(latency, t, page, Event::FrameAnswer { id, href });
                }
            }
            Action::CloseFrame { id } => {
                if self.tabs[t].check_frame == Some(id) {
                    self.tabs[t].check_frame = None;
                }
                self.queue.retain(|i| {
                !(i.tab == t
                    && i.page == page
                    && matches!(&i.what, What::Event(Event::FrameAnswer { id: x, .. } | Event::CheckAnswer { id: x, .. }) if *x == id))
                })
            }
            Action::Navigate { url: u } => {
                self.tabs[t].navigations.push(u.clone());
                // The page stays until the next one arrives: its locks are held meanwhile.
                self.leave(t);
                let next = self.tabs[t].page;
                let target = if u.starts_with("https://op.example/authorize") {
                    self.op.authorize(&u, false)
                } else if u.starts_with("https://op.example/logout") {
                    self.op.session = None;
                    let q = url::split(&u).and_then(|p| p.query).unwrap_or("");
                    url::parse_query(q)
                        .unwrap_or_default()
                        .into_iter()
                        .find(|(k, _)| k == "post_logout_redirect_uri")
                        .map(|(_, v)| v)
                } else {
                    Some(u)
                };
                match target {
                    Some(href) => self.schedule(latency, t, next, What::Load(href)),
                    None => self.release_left(t),
                }
            }
            Action::ReplaceUrl { url: u } => self.tabs[t].href = u,
            Action::Popup { id } => {
                if self.popup_blocked {
                    let e = Event::Failed {
                        id,
                        failure: Failure::Blocked,
                        detail: String::from("window.open returned null"),
                    };
                    self.event_later(0.0, t, page, e);
                } else {
                    self.tabs[t].popup = Some((id, false));
                }
            }
            Action::PopupGo { id, url: u } => {
                self.popup_urls.push(u.clone());
                if let Some(after) = self.popup_closed_after {
                    // The user looks at the provider's page and closes the window.
                    self.schedule(after, t, page, What::ClosePopup(id));
                } else if let Some(href) = self.op.authorize(&u, false) {
                    self.event_later(2.0 * latency, t, page, Event::PopupAnswer { id, href });
                }
            }
            Action::CheckPopup { id } => {
                if self.tabs[t].popup == Some((id, true)) {
                    self.event_later(0.0, t, page, Event::PopupClosed { id });
                }
            }
            Action::ClosePopup { id } => {
                if self.tabs[t].popup.is_some_and(|(x, _)| x == id) {
                    self.tabs[t].popup = Some((id, true));
                }
                self.queue.retain(|i| {
                    !(i.tab == t
                        && i.page == page
                        && matches!(&i.what, What::Event(Event::PopupAnswer { id: x, .. }) if *x == id))
                });
            }
            Action::WatchActivity { every_ms } => self.tabs[t].watching = every_ms > 0.0,
            Action::CheckFrame { id, .. } => {
                self.tabs[t].check_frame = Some(id);
                self.event_later(latency, t, page, Event::FrameLoaded { id });
            }
            Action::CheckPost { id, msg, origin } => {
                assert_eq!(origin, ISSUER, "check_session polls go to the provider's origin only");
                self.tabs[t].polls += 1;
                let status = self.op.check(&msg).to_string();
                self.event_later(1.0, t, page, Event::CheckAnswer { id, status });
            }
            Action::GenerateKey { id } => {
                self.tabs[t].keys_made += 1;
                let delay = self.key_delay_ms;
                let e = Event::Key {
                    id,
                    x: String::from("x-of-the-sim"),
                    y: String::from("y-of-the-sim"),
                };
                self.event_later(delay, t, page, e);
            }
            Action::Sign { id, .. } => {
                let e = Event::Signed {
                    id,
                    sig: String::from("c2ln"),
                };
                self.event_later(0.0, t, page, e);
            }
            Action::TakeKey => self.tabs[t].keys_taken += 1,
            Action::DropKey => {}
            Action::Post { msg, .. } => {
                for o in 0..self.tabs.len() {
                    let other = &self.tabs[o];
                    if o != t && other.loaded && other.listening && !other.closed {
                        let p = other.page;
                        let e = Event::Tab { msg: msg.clone() };
                        self.event_later(self.post_delay_ms, o, p, e);
                    }
                }
            }
            Action::Lock {
                id,
                name,
                shared,
                if_available,
            } => {
                let held = self.locks.iter().any(|l| l.name == name && !(l.shared && shared));
                if if_available && held {
                    let e = Event::Failed {
                        id,
                        failure: Failure::Blocked,
                        detail: String::from("held by another tab"),
                    };
                    self.event_later(0.0, t, page, e);
                    return;
                }
                self.locks.push(LockRequest {
                    tab: t,
                    page,
                    id,
                    name,
                    shared,
                    granted: false,
                });
                self.grant();
            }
            Action::Unlock { id } => {
                self.locks
                    .retain(|l| !(l.tab == t && l.page == page && l.id == id));
                self.queue.retain(|i| {
                    !(i.tab == t
                        && i.page == page
                        && matches!(&i.what, What::Event(Event::LockGranted { id: x }) if *x == id))
                });
                self.grant();
            }
            Action::QueryLocks { id, prefix } => {
                let names = self
                    .locks
                    .iter()
                    .filter(|l| l.granted && l.name.starts_with(&prefix))
                    .map(|l| l.name.clone())
                    .collect();
                let names = Some(names);
                self.event_later(0.0, t, page, Event::Locks { id, names });
            }
            Action::State { claims } => self.tabs[t].claims = claims,
            Action::Emit(e) => self.tabs[t].events.push((self.now, e)),
            Action::Resolve { cmd, value } => {
                self.tabs[t].results.insert(cmd, Ok(value));
            }
            Action::Reject { cmd, error } => {
                self.tabs[t].results.insert(cmd, Err(error));
            }
            Action::Debug { msg } | Action::Console { msg } => self.tabs[t].debug.push(format!("@{} {msg}", self.now)),
        }
    }

    /// Grants the lock requests that can be granted, in order (Web Locks: a request waits
    /// behind an earlier one for the same name).
    fn grant(&mut self) {
        let mut waiting: Vec<String> = Vec::new();
        let mut granted = Vec::new();
        for i in 0..self.locks.len() {
            let l = &self.locks[i];
            if l.granted {
                continue;
            }
            let conflict = waiting.contains(&l.name)
                || self
                    .locks
                    .iter()
                    .any(|h| h.granted && h.name == l.name && !(h.shared && l.shared));
            if conflict {
                waiting.push(l.name.clone());
            } else {
                self.locks[i].granted = true;
                granted.push((self.locks[i].tab, self.locks[i].page, self.locks[i].id));
            }
        }
        for (t, page, id) in granted {
            self.event_later(self.lock_delay_ms, t, page, Event::LockGranted { id });
        }
    }

    /// Names of the locks held or requested by tab `t`'s current page.
    pub fn locks_of(&self, t: usize) -> Vec<String> {
        self.locks
            .iter()
            .filter(|l| l.tab == t && l.page == self.tabs[t].page)
            .map(|l| l.name.clone())
            .collect()
    }

    /// The next thing to happen: a delivery (queue index) or a tab's wake-up.
    fn next(&self) -> Option<(f64, Result<usize, usize>)> {
        let mut best: Option<(f64, u64, Result<usize, usize>)> = None;
        for (i, item) in self.queue.iter().enumerate() {
            let at = item.at.max(self.now);
            if best.is_none_or(|(b, s, _)| at < b || (at == b && item.seq < s)) {
                best = Some((at, item.seq, Ok(i)));
            }
        }
        for (t, tab) in self.tabs.iter().enumerate() {
            if !tab.loaded || tab.closed {
                continue;
            }
            if let Some(w) = tab.engine.wake_at() {
                let at = w.max(self.now);
                if best.is_none_or(|(b, _, _)| at < b) {
                    best = Some((at, u64::MAX, Err(t)));
                }
            }
        }
        best.map(|(at, _, what)| (at, what))
    }

    /// Runs everything that happens up to `until`, then sets the clock there.
    pub fn run_until(&mut self, until: f64) {
        let mut steps = 0u32;
        while let Some((at, what)) = self.next() {
            if at > until {
                break;
            }
            steps += 1;
            assert!(steps < 1_000_000, "the simulation does not settle");
            self.now = at;
            match what {
                Ok(i) => {
                    let item = self.queue.swap_remove(i);
                    let tab = &self.tabs[item.tab];
                    if tab.page != item.page || tab.closed {
                        continue;
                    }
                    match item.what {
                        What::Load(href) => self.load(item.tab, &href),
                        What::ClosePopup(id) => {
                            if let Some(p) =
                                self.tabs[item.tab].popup.as_mut().filter(|p| p.0 == id)
                            {
                                p.1 = true;
                            }
                        }
                        What::Event(e) if tab.loaded => self.deliver(item.tab, e),
                        What::Event(_) => {}
                    }
                }
                Err(t) => {
                    if self.spins.0 == t && self.spins.1 == at {
                        self.spins.2 += 1;
                        assert!(
                            self.spins.2 < 100,
                            "tab {t} asks for a wake-up at {at} again and again: a busy loop"
                        );
                    } else {
                        self.spins = (t, at, 0);
                    }
                    self.deliver(t, Event::Timer);
                }
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, ms: f64) {
        self.run_until(self.now + ms);
    }

    /// The machine sleeps for `ms`: nothing runs, no timer fires; then the clock has moved on.
    pub fn sleep(&mut self, ms: f64) {
        self.now += ms;
    }

    /// Token requests made with refresh token `rt`.
    pub fn uses_of(&self, rt: &str) -> usize {
        self.op
            .token_requests
            .iter()
            .filter(|r| r.refresh_token.as_deref() == Some(rt))
            .count()
    }

    /// Fails the test if any engine refused an event, printing what each tab narrated.
    pub fn assert_clean(&self) {
        for (t, tab) in self.tabs.iter().enumerate() {
            assert!(
                tab.errors.is_empty(),
                "tab {t} refused events: {:?}\n{}",
                tab.errors,
                tab.debug.join("\n")
            );
        }
        assert_eq!(
            self.op.reuse_detected, 0,
            "a rotated refresh token was reused"
        );
    }

    /// The narration of tab `t`, for failure messages.
    pub fn story(&self, t: usize) -> String {
        self.tabs[t].debug.join("\n")
    }

    /// A member of the JSON text `v`.
    pub fn member(v: &str, k: &str) -> Option<String> {
        let v = json::parse(v, "a test value").ok()?;
        match v.get(k)? {
            json::Value::Str(s) => Some(s.clone()),
            json::Value::Num(n) => Some(json::number_text(*n)),
            json::Value::Null => None,
            other => Some(format!("{other:?}")),
        }
    }
}
