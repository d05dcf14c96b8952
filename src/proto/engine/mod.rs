//! The session engine: the whole life of a session as one sans-I/O state machine.
//!
//! The browser shell hands it events (a command from the app, the answer to request N, a
//! verification result, a timer, a message from another tab, `online`, the page becoming
//! visible), each with the current time, and carries out the actions it gives back (fetch,
//! verify, digest, store, the hidden iframe, navigate, tell the other tabs, tell the app) and
//! the wake-up time it asks for. The shell takes no decision of its own: every rule (when to
//! renew, which failure is passing and which ends the session, how tabs agree, which restore
//! path to try) lives here once, with its reason, and is tested natively on a virtual clock.

pub mod action;
mod dpop;
pub mod event;
mod idle;
mod monitor;
mod popup;
mod renew;
#[cfg(test)]
mod session_end_tests;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use action::{output_json, Action, AppEvent};
pub use event::{Command, Event, Failure, FetchAnswer};

use crate::proto::authorize::{self, Mode, Options, PendingLogin, RANDOM_BYTES};
use crate::proto::b64;
use crate::proto::callback::{self, Params, RESPONSE_PARAMS};
use crate::proto::config::{Config, Par, SessionRestore};
use crate::proto::discovery::{self, Metadata};
use crate::proto::error::{cat, quoted, Code, Error, Result};
use crate::proto::http::{self, Response, MAX_BODY_BYTES};
use crate::proto::id_token::{self, Expect, NonceRule};
use crate::proto::jose::{self, Jwk, Jws, KeyChoice};
use crate::proto::json::{self, uint_text, ObjectWriter, Value};
use crate::proto::session::{self, Session};
use crate::proto::token::{self, Secret, TokenResponse};
use crate::proto::{logout, url, userinfo};
use action::quote;

/// How long a starting tab waits for another open tab of the app to hand over its session
/// while it does not know whether any tab holds one (no answer from the lock manager yet, or
/// no Web Locks). Tabs of one browser answer within a few milliseconds.
pub const HANDOVER_WAIT_MS: f64 = 25.0;
/// How long a starting tab waits when the locks show that another tab holds a session: that
/// tab will answer, but a busy machine or a background tab can take far longer than a few
/// milliseconds, and giving up early would cost a request to the provider (or, with
/// `sessionRestore: "none"`, show a logged-in user as logged out). Bounded, for a tab that
/// holds its lock but is frozen.
pub const HANDOVER_HELD_MS: f64 = 1_000.0;
/// How long a tab that finds, under the renewal lock, that another tab renewed after it waits
/// for that tab's tokens. Sending its own (rotated) refresh token instead would make the
/// provider revoke the whole grant, for every tab.
pub const CATCH_UP_MS: f64 = 500.0;
/// The longest the engine sleeps: browser timers do not run while a device sleeps, so waking
/// at least this often and comparing with the wall clock catches up after a sleep.
pub const MAX_SLEEP_MS: f64 = 30_000.0;
/// A renewal is due a quarter of the token's lifetime before it expires, but at most this long
/// before: a 8 s token is renewed after 6 s, an hour's one minute before it expires. Relative
/// to the lifetime, so that tokens of any length are renewed once per lifetime, never in a
/// loop, with room left for retries before they expire.
pub const MAX_RENEW_LEAD_MS: f64 = 60_000.0;
/// Tokens that live less than this are not renewed on their own (see [`renewal_due_at`]).
pub const MIN_LIFETIME_MS: f64 = 1_000.0;
/// Retries after a passing fault wait 2 s, 4 s, 8 s, ... up to a minute, each with jitter so
/// that many clients do not return to a recovering provider at the same instant.
pub const BACKOFF_FIRST_MS: f64 = 2_000.0;
pub const BACKOFF_MAX_MS: f64 = 60_000.0;

/// The provider's public documents (metadata and keys) are kept in sessionStorage this long,
/// with their age: a callback, a reload or a silent restore then starts its first request to
/// the provider at once instead of waiting a round trip for discovery. Short, so that a
/// provider's new metadata is seen soon; a key the cached set lacks is fetched once anyway.
pub const DOCS_TTL_MS: f64 = 10.0 * 60.0 * 1000.0;

/// How long the hidden iframe may sit on a loaded page without answering: the app's page posts
/// the answer as it loads, so a page that stays silent this long is the provider's (an error
/// page for an unregistered redirect URI or an unknown client, or a refused frame).
pub const FRAME_STUCK_MS: f64 = 3_000.0;

/// sessionStorage keys and Web Lock names of the library start with this.
pub const PREFIX: &str = "pixy-oidc:";

/// A source of random bytes (`crypto.getRandomValues` in the browser): `false` if it failed.
pub type Random = Box<dyn FnMut(&mut [u8]) -> bool>;

/// A token response on its way in: parsed, its ID token not yet verified.
struct Incoming {
    tokens: TokenResponse,
    jws: Option<Jws>,
    received_ms: f64,
}

/// What a token request is for, and so what follows it.
#[derive(Clone, Debug, PartialEq)]
enum Purpose {
    /// The code of a full-page login (or of a silent top-level redirect, `redirect`): then
    /// land on `landing`.
    Callback { landing: String, redirect: bool },
    /// Restoring a session at start with the hidden iframe.
    Restore,
    /// Renewing the current session (refresh grant, or the hidden iframe without one).
    Renew,
    /// A login in a popup window, for command `cmd`.
    Popup { cmd: u32 },
    /// The provider said its session changed (check_session): a silent request asks whether
    /// the same user is still logged in there.
    Check,
}

/// The token request and the checks of its answer: the token response, the provider's keys,
/// the `at_hash` digest and the signature. The keys are fetched beside the token request.
struct Pipe {
    purpose: Purpose,
    /// A renewal's session, by its generation when it began: the answer is installed only if
    /// that is still the session (another tab's login may have replaced it meanwhile).
    base: f64,
    /// A DPoP proof went with the request, to a provider that advertises DPoP: the tokens must
    /// come back DPoP-bound.
    dpop: bool,
    /// Whether `offline_access` was left out of this silent request.
    reduced: bool,
    /// The nonce sent (a code exchange); `None` for a refresh.
    nonce: Option<String>,
    /// The authorization response's `session_state` (OIDC Session Management).
    session_state: Option<String>,
    /// The refresh token the refresh sent.
    refreshing: Option<Secret>,
    token: Option<u32>,
    incoming: Option<Incoming>,
    jwks_fetch: Option<u32>,
    jwks_refetched: bool,
    digest: Option<u32>,
    at_digest: Option<Vec<u8>>,
    verify: Option<u32>,
    verified: bool,
    /// The highest session generation any tab holds (see [`Engine::generation_prefix`]).
    shared: Option<f64>,
    query: Option<u32>,
}

/// The main flow in progress: the start, or one renewal.
enum Flow {
    Idle,
    /// Start: asked the other tabs for their session (and, query `id`, whether any holds one).
    /// `held`: the locks show that a tab holds a session, so the wait is the longer one.
    Handover {
        id: u32,
        held: bool,
    },
    /// Start: the discovery document, then the callback (if the page is one) or a restore.
    Discovery {
        id: u32,
        callback: Option<(Params, Option<PendingLogin>)>,
    },
    /// An authorization request waits for its PKCE challenge (the verifier's digest).
    Authorize {
        id: u32,
        random: Box<[u8; RANDOM_BYTES]>,
        mode: Mode,
        purpose: Purpose,
        reduced: bool,
    },
    /// A silent iframe request waits for the DPoP key's thumbprint.
    AwaitKey {
        purpose: Purpose,
        reduced: bool,
    },
    /// The hidden iframe is open.
    Frame {
        id: u32,
        pending: PendingLogin,
        purpose: Purpose,
        reduced: bool,
    },
    /// A silent authorization request being pushed (RFC 9126).
    Pushing {
        id: u32,
        pending: PendingLogin,
        mode: Mode,
        purpose: Purpose,
        reduced: bool,
    },
    /// A silent top-level redirect's login in flight is being stored.
    StoreRedirect {
        id: u32,
        url: String,
    },
    Tokens(Box<Pipe>),
    /// Renewal: waiting for the renewal lock.
    RenewLock {
        id: u32,
    },
    /// Renewal: asking which session generations the tabs hold.
    RenewQuery {
        id: u32,
    },
    /// Renewal: another tab renewed after this one; waiting for its tokens.
    CatchUp {
        shared: f64,
    },
    /// Renewal installed: waiting until this tab's generation lock is held, so that the next
    /// holder of the renewal lock sees it, before letting the renewal lock go.
    Advertise {
        id: u32,
    },
    /// The page is leaving (a silent top-level redirect).
    Leaving,
}

/// A timer the engine set.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Deadline {
    Handover,
    Fetch(u32),
    Frame(u32),
    /// The hidden iframe `id` loaded a page [`FRAME_STUCK_MS`] ago and said nothing.
    Stuck(u32),
    CatchUp,
    /// Time to ask whether login popup `id` is still open.
    PopupPoll(u32),
    /// Time for the next check_session poll.
    CheckPoll,
    /// The check_session frame did not load, or did not answer a poll, in time.
    CheckLate,
}

/// What a command waits for while a renewal runs.
#[derive(Clone, Debug, PartialEq)]
enum Want {
    Tokens,
    Renew,
    UserInfo,
    /// `oidc.fetch`'s headers for (method, url).
    Headers(String, String),
    /// `createDPoPProof` for (method, url).
    Proof(String, String),
}

/// Work outside the main flow.
enum Side {
    /// A login's PKCE challenge.
    LoginDigest {
        cmd: u32,
        random: Box<[u8; RANDOM_BYTES]>,
        redirect_to: String,
        extra: Vec<(String, String)>,
        /// The popup window of a popup login.
        popup: Option<u32>,
    },
    /// A login's request in flight being stored.
    LoginStore { cmd: u32, url: String },
    /// A login's authorization request being pushed (RFC 9126).
    LoginPush {
        cmd: u32,
        pending: PendingLogin,
        popup: Option<u32>,
    },
    /// A UserInfo request.
    UserInfo { cmd: u32 },
}

/// A request in flight: what it is, for messages.
struct InFlight {
    id: u32,
    what: &'static str,
    url: String,
    form: Option<String>,
    /// The access token it carries.
    access: Option<String>,
    no_cache: bool,
    /// Sent with a DPoP proof; `retried`: once more already, with a server's nonce.
    proof: bool,
    retried: bool,
}

/// The session engine of one client.
pub struct Engine {
    random: Random,
    now: f64,
    out: Vec<Action>,
    cfg: Option<Config>,
    /// `issuer|client_id`: names the tabs' channel, locks and markers.
    key: String,
    origin: String,
    href: String,
    meta: Option<Metadata>,
    /// The discovery and JWKS documents as received, handed to other tabs with the session.
    meta_body: String,
    jwks: Option<Vec<Jwk>>,
    jwks_body: String,
    /// When the metadata was fetched (for its age in sessionStorage).
    docs_at: f64,
    /// The keys fetched ahead, right after discovery, so that a later callback or code
    /// exchange has them already.
    jwks_prefetch: Option<u32>,
    /// The keys came from sessionStorage or another tab, not from a fetch in this page: a kid
    /// they lack earns an ordinary fetch before the one refetch that bypasses caches.
    jwks_kept: bool,
    session: Option<Session>,
    received_at_ms: f64,
    flow: Flow,
    deadlines: Vec<(f64, Deadline)>,
    fetches: Vec<InFlight>,
    side: Vec<(u32, Side)>,
    next_id: u32,
    /// This page's start asked the other tabs with this id; only answers naming it (or a
    /// login) are taken during the start, never a renewal's news sent before a logout.
    hello: String,
    started: bool,
    closed: bool,
    /// sessionStorage markers: the silent top-level redirect was tried in this tab session;
    /// the provider refuses `offline_access` in silent requests.
    redirect_tried: bool,
    no_offline: bool,
    renewing: bool,
    force: bool,
    renew_lock: Option<u32>,
    gen_lock: Option<(u32, f64)>,
    waiters: Vec<(u32, Want)>,
    failures: u32,
    retry_at: Option<f64>,
    last_fault: Option<Error>,
    /// The `Retry-After` of the last refresh answer.
    last_retry_after: Option<f64>,
    /// The highest generation any tab held when this renewal took the lock.
    shared_seen: f64,
    /// The page URL when the last login was asked for.
    current_href: Option<String>,
    /// Why the hidden iframe stayed on the provider's page, said again before a login.
    stuck: Option<String>,
    /// DPoP: the public key of this session's key pair (its JWK, RFC 7638 members in order),
    /// the key being made, its thumbprint, the proofs under way, the servers' nonces.
    dpop_key: Option<String>,
    keygen: Option<u32>,
    jkt: Option<String>,
    jkt_digest: Option<u32>,
    jobs: Vec<dpop::Job>,
    nonces: Vec<(String, String)>,
    /// The login popup open now, and a popup login's code exchange waiting for the flow.
    popup: Option<popup::PopupLogin>,
    queued_login: Option<popup::QueuedLogin>,
    /// The idle logout's lock: the one tab that gets it ends the provider's session.
    idle_nav: Option<(u32, String)>,
    /// Idle logout: when the user was last active in any tab, whether the warning is out,
    /// whether the shell reports activity, when this tab last told the others, and whether
    /// it has activity of its own the others have not heard of yet.
    last_active: f64,
    idle_warned: bool,
    watching: bool,
    active_shared: f64,
    share_due: bool,
    /// Session monitoring (see monitor.rs).
    monitor: monitor::Monitor,
    /// The origin of the page embedding this one (`None`: top-level).
    embedder: Option<String>,
}

fn internal(msg: &str) -> Error {
    Error::new(Code::InternalError, msg)
}

fn not_logged_in() -> Error {
    Error::new(Code::NotLoggedIn, "no user is logged in")
}

/// A final renewal error as the app sees it: the session ended, the provider's error kept.
fn expired(e: &Error) -> Error {
    let mut x = e.clone().with_code(Code::SessionExpired);
    x.message = cat(&["the session ended: ", &e.message]);
    x
}

/// Whether a renewal error is passing: the refresh token may still work, so the session goes
/// on and the renewal is retried. Only a final answer ends a session: the provider refusing
/// the grant (`invalid_grant`, `login_required` and the other OAuth errors), or an ID token
/// that is forged or about someone else.
pub fn is_passing(e: &Error) -> bool {
    match e.code {
        // No answer, a slow one, an HTTP status without an OAuth error (5xx, 429, a proxy's
        // page), or a garbled body: nothing the provider said about the grant.
        Code::NetworkError | Code::Timeout | Code::HttpError | Code::InvalidResponse => true,
        // RFC 6749 §4.1.2.1: the provider says itself that it is temporarily unable.
        Code::ProviderError => matches!(
            e.error.as_deref(),
            Some("temporarily_unavailable" | "server_error" | "slow_down" | "use_dpop_nonce")
        ),
        _ => false,
    }
}

/// When the renewal of `s` (received at `received`) is due; see [`MAX_RENEW_LEAD_MS`].
pub fn renewal_due_at(s: &Session, received: f64) -> Option<f64> {
    let exp = s.access_expires_at_ms?;
    // A lifetime under a second (`expires_in: 0`) would make every renewal due at once, in a
    // loop: such tokens are renewed only when asked (`renewTokens()`).
    if exp - received < MIN_LIFETIME_MS {
        return None;
    }
    let lead = ((exp - received) / 4.0).clamp(0.0, MAX_RENEW_LEAD_MS);
    Some(exp - lead)
}

/// The delay before retry `n` (1, 2, ...) after a passing fault, `jitter` in [0, 1): half of
/// the exponential delay, plus up to the other half at random.
pub fn backoff_ms(n: u32, jitter: f64) -> f64 {
    let base = (BACKOFF_FIRST_MS * f64::from(1u32 << n.clamp(1, 16).saturating_sub(1)))
        .min(BACKOFF_MAX_MS);
    base / 2.0 + base / 2.0 * jitter.clamp(0.0, 1.0)
}

/// `Retry-After` (RFC 9110 §10.2.3) in delay-seconds; an HTTP date is left to the backoff.
fn retry_after_ms(v: Option<&str>) -> Option<f64> {
    let s = v?.trim();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    json::number_value(s.as_bytes()).map(|n| n * 1000.0)
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

fn origin_of(u: &str) -> String {
    url::split(u).map_or_else(|| String::from("the provider"), |p| p.origin())
}

impl Engine {
    pub fn new(random: Random) -> Engine {
        Engine {
            random,
            now: 0.0,
            out: Vec::new(),
            cfg: None,
            key: String::new(),
            origin: String::new(),
            href: String::new(),
            meta: None,
            meta_body: String::new(),
            jwks: None,
            jwks_body: String::new(),
            docs_at: 0.0,
            jwks_prefetch: None,
            jwks_kept: false,
            session: None,
            received_at_ms: 0.0,
            flow: Flow::Idle,
            deadlines: Vec::new(),
            fetches: Vec::new(),
            side: Vec::new(),
            next_id: 1,
            hello: String::new(),
            started: false,
            closed: false,
            redirect_tried: false,
            no_offline: false,
            renewing: false,
            force: false,
            renew_lock: None,
            gen_lock: None,
            waiters: Vec::new(),
            failures: 0,
            retry_at: None,
            last_fault: None,
            last_retry_after: None,
            shared_seen: 0.0,
            current_href: None,
            stuck: None,
            dpop_key: None,
            keygen: None,
            jkt: None,
            jkt_digest: None,
            jobs: Vec::new(),
            nonces: Vec::new(),
            popup: None,
            queued_login: None,
            idle_nav: None,
            last_active: 0.0,
            idle_warned: false,
            watching: false,
            active_shared: 0.0,
            share_due: false,
            monitor: monitor::Monitor::default(),
            embedder: None,
        }
    }

    /// Takes one event at `now` (milliseconds since the epoch). The actions to carry out come
    /// from [`Engine::take_actions`], the wake-up time from [`Engine::wake_at`]. An error means
    /// the shell sent something the engine cannot read: a bug in the shell, thrown loudly.
    pub fn handle(&mut self, now: f64, event: Event) -> Result<()> {
        self.now = now;
        if self.closed {
            if let Event::Command { cmd, .. } = event {
                self.reject(cmd, internal("the client was closed"));
            }
            return Ok(());
        }
        match event {
            Event::Start {
                config,
                href,
                stored,
                secure,
                held,
                embedder,
            } => {
                self.embedder = embedder;
                // Opening or reloading a page is the user's doing.
                self.last_active = now;
                self.start(&config, href, stored, secure, held)?
            }
            Event::Command { cmd, command } => {
                if !self.started {
                    return Err(internal("a command before the start completed"));
                }
                self.command(cmd, command);
            }
            Event::Response {
                id,
                status,
                content_type,
                body,
                retry_after,
                dpop_nonce,
                www_authenticate,
            } => {
                let resp = Response {
                    status,
                    content_type,
                    body,
                };
                if let Some(url) = self
                    .fetches
                    .iter()
                    .find(|f| f.id == id)
                    .map(|f| f.url.clone())
                {
                    self.keep_nonce(&url, dpop_nonce.as_deref());
                }
                if !self.retry_for_nonce(id, &resp, www_authenticate.as_deref()) {
                    self.on_response(id, resp, retry_after.as_deref());
                }
            }
            Event::Key { id, x, y } => self.on_key(id, &x, &y),
            Event::Signed { id, sig } => self.on_signed(id, &sig),
            Event::Failed {
                id,
                failure,
                detail,
            } => self.on_failed(id, failure, &detail),
            Event::Digest { id, bytes } => self.on_digest(id, bytes),
            Event::Verified { id, ok } => self.on_verified(id, ok),
            Event::FrameAnswer { id, href } => self.on_frame(id, &href),
            Event::FrameLoaded { id } => {
                if matches!(self.flow, Flow::Frame { id: x, .. } if x == id) {
                    self.clear_deadline(Deadline::Stuck(id));
                    self.deadline(now + FRAME_STUCK_MS, Deadline::Stuck(id));
                }
                self.check_frame_loaded(id);
            }
            Event::PopupAnswer { id, href } => self.on_popup_answer(id, &href),
            Event::PopupClosed { id } => self.on_popup_closed(id),
            Event::CheckAnswer { id, status } => self.on_check_answer(id, &status),
            Event::Activity => self.on_activity(now, false),
            Event::Stored { id } => self.on_stored(id),
            Event::LockGranted { id } => self.on_lock(id),
            Event::Locks { id, names } => self.on_locks(id, names.as_deref()),
            Event::Tab { msg } => self.on_tab(&msg),
            Event::Timer => self.on_timer(),
            Event::Online | Event::Visible => {
                // Back online or back in view (perhaps after a sleep): a renewal that was
                // backing off is tried now, and one that fell due meanwhile starts.
                if self.failures > 0 {
                    self.retry_at = Some(now);
                }
                self.on_timer();
            }
            Event::Close => self.close(),
        }
        self.settle();
        Ok(())
    }

    /// After each event: once nothing runs, what waited for the flow starts (a popup login's
    /// code exchange that came during a renewal or a session check, commands that wait for a
    /// renewal that could not start then).
    fn settle(&mut self) {
        if self.closed || !self.started || self.renewing || !matches!(self.flow, Flow::Idle) {
            return;
        }
        if let Some(q) = self.queued_login.take() {
            return self.begin_tokens(
                Purpose::Popup { cmd: q.cmd },
                false,
                q.req,
                Some(q.nonce),
                None,
                q.session_state,
            );
        }
        if !self.waiters.is_empty() {
            let force = self.waiters.iter().any(|(_, w)| *w == Want::Renew);
            self.renew(force);
        }
    }

    /// The actions to carry out, in order.
    pub fn take_actions(&mut self) -> Vec<Action> {
        core::mem::take(&mut self.out)
    }

    /// When the engine wants a `timer` event: its earliest deadline, or the renewal, but never
    /// more than [`MAX_SLEEP_MS`] away.
    pub fn wake_at(&self) -> Option<f64> {
        if self.closed {
            return None;
        }
        let mut t = self.deadlines.iter().map(|(at, _)| *at).reduce(f64::min);
        if self.started && !self.renewing && matches!(self.flow, Flow::Idle) {
            if let Some(r) = self.renewal_at() {
                t = Some(t.map_or(r, |x| x.min(r)));
            }
        }
        if let Some(i) = self.idle_wake() {
            t = Some(t.map_or(i, |x| x.min(i)));
        }
        t.map(|t| t.min(self.now + MAX_SLEEP_MS))
    }

    /// Whether a user is logged in.
    pub fn is_logged_in(&self) -> bool {
        self.session.is_some()
    }

    /// The session's generation (how many times any tab renewed it).
    pub fn generation(&self) -> f64 {
        self.session.as_ref().map_or(0.0, |s| s.generation)
    }

    fn renewal_at(&self) -> Option<f64> {
        let s = self.session.as_ref()?;
        match self.retry_at {
            Some(r) => Some(r),
            None => renewal_due_at(s, self.received_at_ms),
        }
    }

    fn cfg(&self) -> Result<&Config> {
        self.cfg
            .as_ref()
            .ok_or_else(|| internal("the client has not started"))
    }

    fn meta(&self) -> Result<&Metadata> {
        self.meta
            .as_ref()
            .ok_or_else(|| Error::new(Code::InvalidMetadata, "discovery has not completed"))
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    fn push(&mut self, a: Action) {
        self.out.push(a);
    }

    fn debug(&mut self, parts: &[&str]) {
        if self.cfg.as_ref().is_some_and(|c| c.debug) {
            self.out.push(Action::Debug { msg: cat(parts) });
        }
    }

    fn reject(&mut self, cmd: u32, error: Error) {
        self.push(Action::Reject { cmd, error });
    }

    fn resolve(&mut self, cmd: u32, value: String) {
        self.push(Action::Resolve { cmd, value });
    }

    fn deadline(&mut self, at: f64, d: Deadline) {
        self.deadlines.push((at, d));
    }

    fn clear_deadline(&mut self, d: Deadline) {
        self.deadlines.retain(|(_, x)| *x != d);
    }

    fn marker(&self, name: &str) -> String {
        cat(&[PREFIX, name, ":", &self.key])
    }

    /// Web Locks named `pixy-oidc:gen:<app>:<n>`, held shared by each tab for the generation
    /// of its session: the browser's lock manager answers for all tabs at once and in order,
    /// so a tab that gets the renewal lock sees what the previous holder installed (a
    /// broadcast may still be on its way). A number, never a token.
    fn generation_prefix(&self) -> String {
        cat(&[PREFIX, "gen:", &self.key, ":"])
    }

    fn fetch(&mut self, url: &str, what: &'static str) -> u32 {
        self.send(url, None, None, false, what, false)
    }

    fn take_fetch(&mut self, id: u32) -> Option<InFlight> {
        let i = self.fetches.iter().position(|f| f.id == id)?;
        self.clear_deadline(Deadline::Fetch(id));
        Some(self.fetches.swap_remove(i))
    }

    fn take_side_if(&mut self, id: u32, f: impl Fn(&Side) -> bool) -> Option<Side> {
        let i = self.side.iter().position(|(x, s)| *x == id && f(s))?;
        Some(self.side.swap_remove(i).1)
    }

    fn take_side(&mut self, id: u32) -> Option<Side> {
        let i = self.side.iter().position(|(x, _)| *x == id)?;
        Some(self.side.swap_remove(i).1)
    }

    fn random(&mut self) -> Result<Box<[u8; RANDOM_BYTES]>> {
        let mut r = Box::new([0u8; RANDOM_BYTES]);
        if (self.random)(&mut r[..]) {
            Ok(r)
        } else {
            Err(Error::new(
                Code::CryptoError,
                "crypto.getRandomValues failed: no random bytes for the login",
            ))
        }
    }

    // ---------------------------------------------------------------------------------------
    // Start

    fn start(
        &mut self,
        config: &str,
        href: String,
        stored: Vec<(String, String)>,
        secure: bool,
        held: Option<Vec<String>>,
    ) -> Result<()> {
        if self.cfg.is_some() {
            return Err(internal("started twice"));
        }
        let Some(page) = url::split(&href) else {
            self.reject(
                0,
                Error::new(Code::InvalidConfig, "the page URL is not http(s)"),
            );
            return Ok(());
        };
        self.origin = page.origin();
        if !secure {
            // No WebCrypto: no signature check, no PKCE challenge. Said at once, not after a
            // trip to the provider.
            self.reject(
                0,
                Error::new(
                    Code::InsecureContext,
                    cat(&[
                        "this page (",
                        &self.origin,
                        ") is not a secure context (no WebCrypto): use https (or http://localhost)",
                    ]),
                ),
            );
            return Ok(());
        }
        let page_url = cat(&[&self.origin, page.path]);
        let cfg = match Config::from_json(config, &page_url) {
            Ok(c) => c,
            Err(e) => {
                self.reject(0, e);
                return Ok(());
            }
        };
        self.key = cat(&[&cfg.issuer, "|", &cfg.client_id]);
        self.href = href;
        self.cfg = Some(cfg);
        self.push(Action::Listen {
            channel: cat(&[PREFIX, &self.key]),
        });
        if self.is_front_channel_page() {
            self.front_channel();
            return Ok(());
        }
        if self.dpop_on() {
            // Made now, so that its thumbprint is ready for the first silent request.
            self.ensure_key();
        }
        // Logins in flight older than their time (or unreadable) are deleted; the markers
        // are read.
        let redirect_marker = self.marker("silent-redirect");
        let offline_marker = self.marker("no-silent-offline");
        let docs_marker = self.marker("docs");
        let mut logins = Vec::new();
        for (k, v) in stored {
            if k == docs_marker {
                self.read_docs(&v);
            } else if k == redirect_marker {
                self.redirect_tried = true;
            } else if k == offline_marker {
                self.no_offline = true;
            } else if k.starts_with(authorize::STORAGE_PREFIX) {
                match PendingLogin::from_json(&v).filter(|p| !p.is_expired(self.now)) {
                    Some(p) => logins.push((k, p)),
                    None => self.push(Action::Remove { key: k }),
                }
            }
        }
        let cfg = self.cfg()?;
        let parsed = callback::parse(&self.href, &[&cfg.redirect_uri]);
        match parsed {
            Ok(None) => {
                // Every tab with a session holds a generation lock: when the locks held just
                // before the start show none, no tab can hand a session over, and the start asks
                // the provider at once.
                let prefix = self.generation_prefix();
                let holds = held
                    .as_ref()
                    .map(|h| h.iter().any(|n| n.starts_with(prefix.as_str())));
                if holds == Some(false) {
                    self.debug(&["start: no other tab holds a session"]);
                    self.after_handover();
                    return Ok(());
                }
                // Another open tab of the app hands its session over first: no request at all.
                let mut n = [0u8; 12];
                if !(self.random)(&mut n) {
                    n[..8].copy_from_slice(&self.now.to_bits().to_le_bytes());
                }
                self.hello = b64::encode(&n);
                let hello = ObjectWriter::new()
                    .str("t", "hello")
                    .str("n", &self.hello)
                    .finish();
                self.post(hello);
                // Every tab with a session holds a generation lock: when none is held, no tab
                // can answer, and the start goes on without waiting.
                let id = self.id();
                let held = holds == Some(true);
                self.push(Action::QueryLocks { id, prefix });
                self.flow = Flow::Handover { id, held };
                let wait = if held {
                    HANDOVER_HELD_MS
                } else {
                    HANDOVER_WAIT_MS
                };
                self.deadline(self.now + wait, Deadline::Handover);
                self.debug(&["start: asking the other tabs for their session"]);
            }
            Ok(Some(params)) => {
                // One use only: the login in flight is deleted, and the response leaves the URL
                // (and the history entry), before anything else can fail.
                let key = PendingLogin::storage_key(params.state.as_deref().unwrap_or(""));
                let pending = logins
                    .iter()
                    .position(|(k, _)| *k == key)
                    .map(|i| logins.swap_remove(i).1);
                self.push(Action::Remove { key });
                self.push(Action::ReplaceUrl {
                    url: url::without_params(&self.href, RESPONSE_PARAMS),
                });
                self.debug(&["start: the page is an authorization response"]);
                if self.meta.is_some() {
                    self.code_from_callback(params, pending);
                } else {
                    self.discover(Some((params, pending)));
                }
            }
            Err(e) => {
                self.push(Action::ReplaceUrl {
                    url: url::without_params(&self.href, RESPONSE_PARAMS),
                });
                self.reject(0, e);
            }
        }
        Ok(())
    }

    /// The public documents kept by an earlier page of this tab, if young enough.
    fn read_docs(&mut self, text: &str) {
        let Ok(v) = json::parse(text, "the provider's documents") else {
            return;
        };
        let at = v.get("at").and_then(Value::as_f64).unwrap_or(0.0);
        // A clock set back makes them suspect too.
        if self.now - at > DOCS_TTL_MS || at > self.now {
            return;
        }
        let (Some(cfg), Some(meta), Some(jwks)) =
            (&self.cfg, v.str_member("meta"), v.str_member("jwks"))
        else {
            return;
        };
        if let Ok(m) = discovery::parse(cfg, &Response::json(200, meta)) {
            self.meta = Some(m);
            self.meta_body = meta.to_string();
            self.docs_at = at;
            if let Ok(keys) = jose::parse_jwks(&Response::json(200, jwks)) {
                self.jwks = Some(keys);
                self.jwks_body = jwks.to_string();
                self.jwks_kept = true;
            }
        }
    }

    /// Keeps the public documents for the next page of this tab (never a token).
    fn write_docs(&mut self) {
        let value = ObjectWriter::new()
            .num("at", self.docs_at)
            .str("meta", &self.meta_body)
            .str("jwks", &self.jwks_body)
            .finish();
        let key = self.marker("docs");
        self.push(Action::Store {
            id: None,
            key,
            value,
        });
    }

    fn discover(&mut self, callback: Option<(Params, Option<PendingLogin>)>) {
        let Ok(cfg) = self.cfg() else { return };
        let u = discovery::url(&cfg.issuer);
        let id = self.fetch(&u, "the discovery request");
        self.flow = Flow::Discovery { id, callback };
    }

    /// `createOidc` resolves: `via` says how the session came (or `None`: logged out).
    fn ready(&mut self, via: Option<&str>) {
        self.flow = Flow::Idle;
        if self.started {
            return;
        }
        self.started = true;
        self.debug(&[
            "start: done, ",
            if self.session.is_some() {
                "logged in"
            } else {
                "logged out"
            },
            via.map_or("", |_| " via "),
            via.unwrap_or(""),
        ]);
        if self.session.is_some() {
            // A page opened or reloaded with a session is activity the other tabs hear of.
            self.share_activity();
        }
        let value = ObjectWriter::new()
            .raw(
                "restoredVia",
                &via.map_or_else(|| String::from("null"), quote),
            )
            .finish();
        self.resolve(0, value);
    }

    fn fail_start(&mut self, e: Error) {
        self.flow = Flow::Idle;
        self.end_session();
        self.unlock_all();
        self.closed = true;
        self.reject(0, e);
    }

    fn on_discovery(&mut self, resp: Response, callback: Option<(Params, Option<PendingLogin>)>) {
        let meta = match self.cfg().and_then(|c| discovery::parse(c, &resp)) {
            Ok(m) => m,
            Err(e) => return self.fail_start(e),
        };
        self.meta = Some(meta);
        self.meta_body = resp.body;
        self.docs_at = self.now;
        self.write_docs();
        if let (None, Some(m)) = (&self.jwks, &self.meta) {
            let u = m.jwks_uri.clone();
            self.jwks_prefetch = Some(self.fetch(&u, "the JWKS request"));
        }
        match callback {
            Some((params, pending)) => self.code_from_callback(params, pending),
            None => self.restore(),
        }
    }

    /// The callback of a full-page login or of a silent top-level redirect.
    fn code_from_callback(&mut self, params: Params, pending: Option<PendingLogin>) {
        let mode = pending.as_ref().map(|p| p.mode);
        let back_to = pending.as_ref().map(|p| p.redirect_to.clone());
        let session_state = params.session_state.clone();
        let result = (|| -> Result<_> {
            let cfg = self.cfg()?;
            let meta = self.meta()?;
            let v = callback::validate(&params, pending, cfg, meta, self.now)?;
            let landing = url::same_origin_target(&self.origin, v.redirect_to())?;
            Ok((token::code_request(cfg, meta, v), landing))
        })();
        match result {
            Ok(((req, exchange), landing)) => self.begin_tokens(
                Purpose::Callback {
                    landing,
                    redirect: mode == Some(Mode::SilentRedirect),
                },
                false,
                req,
                Some(exchange.nonce),
                None,
                session_state,
            ),
            // A silent top-level redirect that found no session: logged out, no error, no
            // second attempt in this tab session, and the user stays on the page they opened.
            Err(e) if mode == Some(Mode::SilentRedirect) && e.code == Code::LoginRequired => {
                if e.error.as_deref() == Some("consent_required") {
                    self.set_no_offline();
                }
                if let Some(to) = back_to {
                    self.push(Action::ReplaceUrl { url: to });
                }
                self.debug(&["start: the silent redirect found no session at the provider"]);
                self.ready(None);
            }
            Err(e) => self.fail_start(e),
        }
    }

    /// Silent restore, in order: (another tab was asked first) the hidden iframe, then at most
    /// one top-level `prompt=none` redirect per tab session where the iframe cannot see the
    /// provider's session.
    pub(super) fn restore(&mut self) {
        let Ok(mode) = self.cfg().map(|c| c.session_restore) else {
            return;
        };
        match mode {
            SessionRestore::None => {
                self.debug(&["start: sessionRestore is \"none\": no silent restore"]);
                self.ready(None)
            }
            SessionRestore::Redirect => self.silent_redirect(),
            SessionRestore::Iframe | SessionRestore::Auto => {
                self.debug(&["start: trying the hidden iframe"]);
                self.authorize(Mode::SilentIframe, Purpose::Restore, self.no_offline);
            }
        }
    }

    fn silent_redirect(&mut self) {
        if self.redirect_tried {
            self.debug(&["start: the silent redirect was tried in this tab session already"]);
            return self.ready(None);
        }
        self.debug(&["start: trying one silent top-level redirect"]);
        self.authorize(Mode::SilentRedirect, Purpose::Restore, self.no_offline);
    }

    fn set_no_offline(&mut self) {
        self.no_offline = true;
        self.store_marker("no-silent-offline");
    }

    /// Sets a sessionStorage marker of this tab session (a flag, never a token); a refused
    /// write only costs the marker.
    fn store_marker(&mut self, name: &str) {
        let key = self.marker(name);
        self.push(Action::Store {
            id: None,
            key,
            value: String::from("1"),
        });
    }

    // ---------------------------------------------------------------------------------------
    // Authorization requests

    /// Starts a silent authorization request: random bytes, then the verifier's digest.
    fn authorize(&mut self, mode: Mode, purpose: Purpose, reduced: bool) {
        if mode == Mode::SilentIframe && self.dpop_on() && self.jkt.is_none() {
            // The iframe's request names the key (`dpop_jkt`): wait until it is made.
            self.ensure_key();
            self.flow = Flow::AwaitKey { purpose, reduced };
            return;
        }
        let random = match self.random() {
            Ok(r) => r,
            Err(e) => return self.silent_failed(purpose, reduced, e),
        };
        let id = self.id();
        self.push(Action::Digest {
            id,
            hash: "SHA-256",
            text: b64::encode(random.get(..32).unwrap_or(&[])),
        });
        self.flow = Flow::Authorize {
            id,
            random,
            mode,
            purpose,
            reduced,
        };
    }

    fn request(
        &self,
        random: &[u8; RANDOM_BYTES],
        digest: &[u8],
        mode: Mode,
        redirect_to: String,
        extra: &[(String, String)],
        reduced: bool,
    ) -> Result<(String, PendingLogin)> {
        let cfg = self.cfg()?;
        let meta = self.meta()?;
        let without = if reduced {
            authorize::without_offline_access(cfg)
        } else {
            None
        };
        authorize::request(
            without.as_ref().unwrap_or(cfg),
            meta,
            random,
            self.now,
            Options {
                redirect_to,
                extra,
                mode,
                redirect_uri: matches!(mode, Mode::SilentIframe | Mode::Popup)
                    .then_some(cfg.silent_redirect_uri.as_str()),
                verifier_digest: digest,
            },
        )
    }

    fn on_digest(&mut self, id: u32, bytes: Vec<u8>) {
        if self.job_digest(id, &bytes) {
            return;
        }
        if let Some(Side::LoginDigest {
            cmd,
            random,
            redirect_to,
            extra,
            popup,
        }) = self.take_side(id)
        {
            if popup.is_some() && self.popup.as_ref().map(|p| p.id) != popup {
                // That popup login was cancelled meanwhile.
                return;
            }
            let mode = if popup.is_some() {
                Mode::Popup
            } else {
                Mode::Interactive
            };
            let mut extra = extra;
            if let (Some(jkt), Mode::Popup, true) = (&self.jkt, mode, self.dpop_on()) {
                // The popup's code comes back to this page, which keeps the key: bind it.
                extra.push((String::from("dpop_jkt"), jkt.clone()));
            }
            match self.request(&random, &bytes, mode, redirect_to, &extra, false) {
                Ok((u, pending)) => match (self.push_request(&u, mode), popup) {
                    (Some(pid), _) => self.side.push((
                        pid,
                        Side::LoginPush {
                            cmd,
                            pending,
                            popup,
                        },
                    )),
                    (None, Some(w)) => self.popup_go(w, u, pending),
                    (None, None) => self.store_login(cmd, u, &pending),
                },
                Err(e) => {
                    self.drop_popup(popup);
                    self.reject(cmd, e)
                }
            }
            return;
        }
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::Authorize {
                id: x,
                random,
                mode,
                purpose,
                reduced,
            } if x == id => {
                let redirect_to = match mode {
                    Mode::SilentIframe => String::new(),
                    _ => url::without_params(&self.href, RESPONSE_PARAMS),
                };
                // RFC 9449 §10: the code is bound to the key of the page that keeps it.
                let extra = match (&self.jkt, mode, self.dpop_on()) {
                    (Some(jkt), Mode::SilentIframe, true) => {
                        vec![(String::from("dpop_jkt"), jkt.clone())]
                    }
                    _ => Vec::new(),
                };
                match self.request(&random, &bytes, mode, redirect_to, &extra, reduced) {
                    Ok((u, pending)) => match self.push_request(&u, mode) {
                        Some(pid) => {
                            self.flow = Flow::Pushing {
                                id: pid,
                                pending,
                                mode,
                                purpose,
                                reduced,
                            }
                        }
                        None => self.launch(u, pending, mode, purpose, reduced),
                    },
                    Err(e) => self.silent_failed(purpose, reduced, e),
                }
            }
            Flow::Tokens(mut pipe) if pipe.digest == Some(id) => {
                pipe.digest = None;
                pipe.at_digest = Some(bytes);
                self.advance(pipe);
            }
            other => self.flow = other,
        }
    }

    /// A silent authorization request goes: into the hidden iframe, or (its login in flight
    /// stored first) as a top-level redirect.
    fn launch(
        &mut self,
        u: String,
        pending: PendingLogin,
        mode: Mode,
        purpose: Purpose,
        reduced: bool,
    ) {
        if mode == Mode::SilentIframe {
            let fid = self.id();
            self.push(Action::Frame { id: fid, url: u });
            let timeout = self.cfg.as_ref().map_or(10_000.0, |c| c.silent_timeout_ms);
            self.deadline(self.now + timeout, Deadline::Frame(fid));
            self.flow = Flow::Frame {
                id: fid,
                pending,
                purpose,
                reduced,
            };
        } else {
            let sid = self.id();
            self.push(Action::Store {
                id: Some(sid),
                key: PendingLogin::storage_key(&pending.state),
                value: pending.to_json(),
            });
            self.flow = Flow::StoreRedirect { id: sid, url: u };
        }
    }

    fn store_login(&mut self, cmd: u32, u: String, pending: &PendingLogin) {
        let id = self.id();
        self.push(Action::Store {
            id: Some(id),
            key: PendingLogin::storage_key(&pending.state),
            value: pending.to_json(),
        });
        self.side.push((id, Side::LoginStore { cmd, url: u }));
    }

    fn on_stored(&mut self, id: u32) {
        if let Some(Side::LoginStore { url: u, .. }) = self.take_side(id) {
            self.debug(&["login: to the provider"]);
            if let Some(m) = self.stuck.clone() {
                self.push(Action::Console {
                    msg: cat(&["login: this login may stop at the provider too: ", &m]),
                });
            }
            // The promise of login() never settles: the page leaves.
            self.push(Action::Navigate { url: u });
            return;
        }
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::StoreRedirect { id: x, url: u } if x == id => {
                self.redirect_tried = true;
                self.store_marker("silent-redirect");
                self.push(Action::Navigate { url: u });
                // createOidc settles on the way back.
                self.flow = Flow::Leaving;
            }
            other => self.flow = other,
        }
    }

    fn on_frame(&mut self, id: u32, href: &str) {
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::Frame {
                id: x,
                pending,
                purpose,
                reduced,
            } if x == id => {
                self.clear_deadline(Deadline::Frame(id));
                self.clear_deadline(Deadline::Stuck(id));
                self.push(Action::CloseFrame { id });
                let result = (|| -> Result<_> {
                    let cfg = self.cfg()?;
                    let meta = self.meta()?;
                    let params =
                        callback::parse(href, &[&cfg.silent_redirect_uri])?.ok_or_else(|| {
                            Error::new(
                                Code::InvalidResponse,
                                "the silent iframe came back without an authorization response",
                            )
                        })?;
                    let v = callback::validate(&params, Some(pending), cfg, meta, self.now)?;
                    Ok((token::code_request(cfg, meta, v), params.session_state))
                })();
                match result {
                    Ok(((req, exchange), ss)) => {
                        self.begin_tokens(purpose, reduced, req, Some(exchange.nonce), None, ss)
                    }
                    Err(e) => self.silent_failed(purpose, reduced, e),
                }
            }
            other => self.flow = other,
        }
    }

    /// The hidden iframe sat on a loaded page without answering (see [`FRAME_STUCK_MS`]).
    pub(super) fn frame_stuck(&mut self, id: u32) {
        let Flow::Frame {
            id: x,
            purpose,
            reduced,
            ..
        } = &self.flow
        else {
            return;
        };
        if *x != id {
            return;
        }
        let (purpose, reduced) = (purpose.clone(), *reduced);
        self.clear_deadline(Deadline::Frame(id));
        self.push(Action::CloseFrame { id });
        let (uri, client) = self.cfg.as_ref().map_or(("", ""), |c| {
            (c.silent_redirect_uri.as_str(), c.client_id.as_str())
        });
        let msg = cat(&[
            "the hidden iframe stayed on a page of ",
            &self
                .meta
                .as_ref()
                .map_or_else(String::new, |m| origin_of(&m.authorization_endpoint)),
            " instead of coming back: register ",
            uri,
            " as a redirect URI of client ",
            client,
            " there (right client id? framing allowed?)",
        ]);
        self.push(Action::Console { msg: msg.clone() });
        // At start it is a set-up mistake; during a renewal the same silence may be the
        // provider's error page or the browser's offline page: passing, so it is retried.
        let code = if matches!(purpose, Purpose::Renew | Purpose::Check) {
            Code::Timeout
        } else {
            Code::InvalidConfig
        };
        let e = Error::new(code, msg.clone());
        self.stuck = Some(msg);
        if purpose == Purpose::Restore {
            self.push(Action::Emit(AppEvent::Error(e.clone())));
        }
        self.silent_failed(purpose, reduced, e);
    }

    /// A silent request failed (iframe or redirect).
    fn silent_failed(&mut self, purpose: Purpose, reduced: bool, e: Error) {
        self.flow = Flow::Idle;
        // authentik turns `offline_access` into a consent prompt, so a `prompt=none` request
        // that asks for it ends in `consent_required`: ask once more without it, and leave it
        // out of silent requests for the rest of the tab session (interactive logins keep
        // asking for it, so refresh tokens still come).
        let offline = self
            .cfg
            .as_ref()
            .is_some_and(authorize::asks_offline_access);
        if !reduced && offline && e.error.as_deref() == Some("consent_required") {
            self.set_no_offline();
            self.debug(&["silent request: consent_required; once more without offline_access"]);
            return self.authorize(Mode::SilentIframe, purpose, true);
        }
        match purpose {
            Purpose::Restore => {
                let auto = self
                    .cfg
                    .as_ref()
                    .is_some_and(|c| c.session_restore == SessionRestore::Auto);
                // Where the provider is on another site, a browser that blocks third-party
                // cookies hides the provider's session from the iframe: a top-level redirect
                // still sees it.
                let cross_site = self
                    .meta
                    .as_ref()
                    .is_some_and(|m| !session::same_site(&self.origin, &m.authorization_endpoint));
                self.debug(&["start: the hidden iframe: ", &e.message]);
                if auto && e.code == Code::LoginRequired && cross_site {
                    self.silent_redirect();
                } else {
                    self.ready(None);
                }
            }
            Purpose::Renew => self.renew_failed(e),
            Purpose::Callback { .. } => self.fail_start(e),
            Purpose::Popup { cmd } => self.reject(cmd, e),
            Purpose::Check => self.check_failed(e),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Token requests and their checks

    fn begin_tokens(
        &mut self,
        purpose: Purpose,
        reduced: bool,
        req: token::Request,
        nonce: Option<String>,
        refreshing: Option<Secret>,
        session_state: Option<String>,
    ) {
        let what = if refreshing.is_some() {
            "the refresh request"
        } else {
            "the token request"
        };
        let proof = self.dpop_on();
        let token = self.send(&req.url, Some(req.body), None, false, what, proof);
        // The keys travel beside the code exchange: the callback waits for one round trip.
        let jwks_fetch = match (&self.jwks, &nonce, &self.meta) {
            (None, Some(_), _) if self.jwks_prefetch.is_some() => self.jwks_prefetch.take(),
            (None, Some(_), Some(m)) => {
                let u = m.jwks_uri.clone();
                Some(self.fetch(&u, "the JWKS request"))
            }
            _ => None,
        };
        // A new session's generation follows every tab's (a renewal asked under its lock).
        let query = if purpose == Purpose::Renew {
            None
        } else {
            let id = self.id();
            let prefix = self.generation_prefix();
            self.push(Action::QueryLocks { id, prefix });
            Some(id)
        };
        let dpop = proof && self.meta.as_ref().is_some_and(|m| m.dpop);
        let base = self.generation();
        self.flow = Flow::Tokens(Box::new(Pipe {
            purpose,
            base,
            dpop,
            reduced,
            nonce,
            session_state,
            refreshing,
            token: Some(token),
            incoming: None,
            jwks_fetch,
            jwks_refetched: false,
            digest: None,
            at_digest: None,
            verify: None,
            verified: false,
            shared: None,
            query,
        }));
    }

    fn on_response(&mut self, id: u32, resp: Response, retry_after: Option<&str>) {
        let Some(f) = self.take_fetch(id) else {
            // Aborted, or from before a logout: ignored.
            return;
        };
        if let Some(Side::LoginPush {
            cmd,
            pending,
            popup,
        }) = self.take_side_if(id, |s| matches!(s, Side::LoginPush { .. }))
        {
            match (self.pushed_url(&resp), popup) {
                (Ok(u), Some(w)) => self.popup_go(w, u, pending),
                (Ok(u), None) => self.store_login(cmd, u, &pending),
                // The provider refused the pushed request: the page stays, and says why.
                (Err(e), _) => {
                    self.drop_popup(popup);
                    self.reject(cmd, e)
                }
            }
            return;
        }
        if let Some(Side::UserInfo { cmd }) = self.take_side(id) {
            let sub = self.session.as_ref().map(|s| s.claims.sub.clone());
            let r = match sub {
                Some(sub) => userinfo::parse(&resp, &sub),
                None => Err(not_logged_in()),
            };
            match r {
                Ok(body) => self.resolve(cmd, body),
                Err(e) => self.reject(cmd, e),
            }
            return;
        }
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::Discovery { id: x, callback } if x == id => self.on_discovery(resp, callback),
            Flow::Pushing {
                id: x,
                pending,
                mode,
                purpose,
                reduced,
            } if x == id => match self.pushed_url(&resp) {
                Ok(u) => self.launch(u, pending, mode, purpose, reduced),
                Err(e) => self.silent_failed(purpose, reduced, e),
            },
            Flow::Tokens(mut pipe) if pipe.token == Some(id) => {
                pipe.token = None;
                if pipe.purpose == Purpose::Renew && (resp.status == 429 || resp.status >= 500) {
                    // 429 and 503 may say when to come back (RFC 9110 §10.2.3).
                    self.last_retry_after = retry_after_ms(retry_after);
                }
                match self.accept_tokens(&pipe, &resp) {
                    Ok(Some(inc)) => {
                        pipe.incoming = Some(inc);
                        self.advance(pipe);
                    }
                    // `invalid_grant`, but another tab rotated the refresh token meanwhile and
                    // handed the new one over: this session is fine.
                    Ok(None) => self.renew_done(false),
                    Err(e) => self.pipe_failed(&pipe, e),
                }
            }
            Flow::Tokens(mut pipe) if pipe.jwks_fetch == Some(id) => {
                pipe.jwks_fetch = None;
                match jose::parse_jwks(&resp) {
                    Ok(keys) => {
                        self.jwks = Some(keys);
                        self.jwks_body = resp.body;
                        self.jwks_kept = false;
                        self.write_docs();
                        self.advance(pipe);
                    }
                    Err(e) if pipe.incoming.is_none() => {
                        // A failed prefetch is retried (and reported) by the verification.
                        let _ = e;
                        self.flow = Flow::Tokens(pipe);
                    }
                    Err(e) => self.pipe_failed(&pipe, e),
                }
            }
            other => {
                self.flow = other;
                let _ = f;
                if self.jwks_prefetch == Some(id) {
                    self.jwks_prefetch = None;
                    if let Ok(keys) = jose::parse_jwks(&resp) {
                        self.jwks = Some(keys);
                        self.jwks_body = resp.body;
                        self.jwks_kept = false;
                        self.write_docs();
                    }
                }
            }
        }
    }

    /// Checks a token response. `Ok(None)`: nothing to install (see the caller).
    fn accept_tokens(&self, pipe: &Pipe, resp: &Response) -> Result<Option<Incoming>> {
        let tokens = match token::parse(resp, pipe.dpop) {
            Ok(t) => t,
            Err(e) if pipe.nonce.is_none() && e.error.as_deref() == Some("invalid_grant") => {
                let rotated_elsewhere = self
                    .session
                    .as_ref()
                    .is_some_and(|s| s.refresh_token.as_ref() != pipe.refreshing.as_ref());
                return if rotated_elsewhere { Ok(None) } else { Err(e) };
            }
            Err(e) => return Err(e),
        };
        let jws = match &tokens.id_token {
            Some(id) => Some(jose::parse(id.expose())?),
            None if pipe.nonce.is_some() => {
                return Err(Error::new(
                    Code::InvalidIdToken,
                    "the token response has no `id_token` (was `openid` in the scope?)",
                ))
            }
            None => None,
        };
        if pipe.purpose == Purpose::Renew && self.session.is_none() {
            return Err(not_logged_in());
        }
        Ok(Some(Incoming {
            tokens,
            jws,
            received_ms: self.now,
        }))
    }

    /// Asks for whatever the incoming tokens still need, or installs them.
    fn advance(&mut self, mut pipe: Box<Pipe>) {
        if pipe.token.is_some() || pipe.query.is_some() {
            self.flow = Flow::Tokens(pipe);
            return;
        }
        let Some(inc) = &pipe.incoming else {
            self.flow = Flow::Tokens(pipe);
            return;
        };
        if let Some(jws) = &inc.jws {
            if pipe.at_digest.is_none() && pipe.digest.is_none() {
                let id = self.id();
                self.push(Action::Digest {
                    id,
                    hash: jws.alg.hash().web_name(),
                    text: inc.tokens.access_token.expose().to_string(),
                });
                pipe.digest = Some(id);
            }
            if !pipe.verified && pipe.verify.is_none() && pipe.jwks_fetch.is_none() {
                let choice = self
                    .jwks
                    .as_ref()
                    .map(|keys| match jose::select_keys(keys, jws) {
                        KeyChoice::Candidates(c) => {
                            Some(c.into_iter().map(key_json).collect::<Vec<_>>())
                        }
                        _ => None,
                    });
                match choice {
                    Some(Some(keys)) => {
                        let id = self.id();
                        self.push(Action::Verify {
                            id,
                            keys,
                            alg: jws.alg.name(),
                            hash: jws.alg.hash().web_name(),
                            input: jws.signing_input.clone(),
                            sig: b64::encode(&jws.signature),
                        });
                        pipe.verify = Some(id);
                    }
                    // The `kid` is in no key kept from before: fetch the keys.
                    Some(None) if self.jwks_kept => {
                        self.jwks_kept = false;
                        let u = self
                            .meta
                            .as_ref()
                            .map(|m| m.jwks_uri.clone())
                            .unwrap_or_default();
                        pipe.jwks_fetch = Some(self.fetch(&u, "the JWKS request"));
                    }
                    // The `kid` is in no key: the provider rotated its keys. Fetch them once
                    // more, bypassing caches; never in a loop.
                    Some(None) if !pipe.jwks_refetched => {
                        pipe.jwks_refetched = true;
                        let u = self
                            .meta
                            .as_ref()
                            .map(|m| m.jwks_uri.clone())
                            .unwrap_or_default();
                        pipe.jwks_fetch =
                            Some(self.send(&u, None, None, true, "the JWKS request", false));
                    }
                    Some(None) => {
                        let e = no_key(jws);
                        return self.pipe_failed(&pipe, e);
                    }
                    None => {
                        let u = self
                            .meta
                            .as_ref()
                            .map(|m| m.jwks_uri.clone())
                            .unwrap_or_default();
                        pipe.jwks_fetch = Some(self.fetch(&u, "the JWKS request"));
                    }
                }
            }
            if !pipe.verified || pipe.at_digest.is_none() {
                self.flow = Flow::Tokens(pipe);
                return;
            }
        }
        match self.install(*pipe) {
            Ok(()) => {}
            Err((purpose, reduced, e)) => self.silent_or_renew_failed(purpose, reduced, e),
        }
    }

    fn on_verified(&mut self, id: u32, ok: bool) {
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::Tokens(mut pipe) if pipe.verify == Some(id) => {
                pipe.verify = None;
                if ok {
                    pipe.verified = true;
                    self.advance(pipe);
                } else {
                    let alg = pipe
                        .incoming
                        .as_ref()
                        .and_then(|i| i.jws.as_ref())
                        .map_or("", |j| j.alg.name());
                    let e = Error::new(
                        Code::InvalidIdToken,
                        cat(&[
                            "the ID token's ",
                            alg,
                            " signature does not verify with the provider's key",
                        ]),
                    );
                    self.pipe_failed(&pipe, e);
                }
            }
            other => self.flow = other,
        }
    }

    /// The answer to lock query `id`; `None`: this browser cannot tell (no Web Locks).
    fn on_locks(&mut self, id: u32, names: Option<&[String]>) {
        let prefix = self.generation_prefix();
        let shared = names
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.strip_prefix(prefix.as_str()))
            .filter_map(|n| json::number_value(n.as_bytes()))
            .fold(0.0, f64::max);
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::Handover { id: x, held } if x == id && names.is_none() => {
                // Nothing known: the hand-over wait runs its course.
                self.flow = Flow::Handover { id: x, held };
            }
            Flow::Handover { id: x, held } if x == id => {
                if shared == 0.0 {
                    self.clear_deadline(Deadline::Handover);
                    self.debug(&["start: no other tab holds a session"]);
                    self.after_handover();
                } else {
                    // A tab holds a session: its answer is worth the longer wait.
                    if !held {
                        self.clear_deadline(Deadline::Handover);
                        self.deadline(self.now + HANDOVER_HELD_MS, Deadline::Handover);
                    }
                    self.flow = Flow::Handover { id, held: true };
                }
            }
            Flow::Tokens(mut pipe) if pipe.query == Some(id) => {
                pipe.query = None;
                pipe.shared = Some(shared);
                self.advance(pipe);
            }
            Flow::RenewQuery { id: x } if x == id => {
                self.shared_seen = shared;
                if self.session.as_ref().is_some_and(|s| s.generation < shared) {
                    // Another tab renewed after this one got its tokens: take them first.
                    self.debug(&["renewal: another tab renewed; asking it for the tokens"]);
                    self.post(String::from("{\"t\":\"hello\"}"));
                    self.deadline(self.now + CATCH_UP_MS, Deadline::CatchUp);
                    self.flow = Flow::CatchUp { shared };
                } else {
                    self.renew_go();
                }
            }
            other => self.flow = other,
        }
    }

    /// After the signature verified: the claims, then the session.
    fn install(&mut self, pipe: Pipe) -> core::result::Result<(), (Purpose, bool, Error)> {
        if pipe.purpose == Purpose::Renew && self.generation() != pipe.base {
            // The session changed while this renewal ran (another tab's login or renewal was
            // taken): its answer belongs to a session that is gone.
            self.debug(&["renewal: the session changed meanwhile; its answer is dropped"]);
            self.renew_done(false);
            return Ok(());
        }
        let purpose = pipe.purpose.clone();
        let reduced = pipe.reduced;
        // A code from the hidden iframe shows that the provider's frames see its session.
        let framed = matches!(purpose, Purpose::Restore | Purpose::Renew | Purpose::Check)
            && pipe.nonce.is_some();
        let fresh = self.session.is_none();
        match self.install_session(pipe) {
            Ok(()) => {}
            Err(e) => return Err((purpose, reduced, e)),
        }
        self.failures = 0;
        self.retry_at = None;
        self.advertise();
        self.push(Action::State {
            claims: self.session.as_ref().map(|s| s.claims.json.clone()),
        });
        if framed {
            self.monitor.frames_see = true;
        }
        self.session_began(fresh);
        match purpose {
            Purpose::Callback { landing, redirect } => {
                // A session exists again: a later reload may try one silent redirect.
                if self.redirect_tried {
                    self.redirect_tried = false;
                    let key = self.marker("silent-redirect");
                    self.push(Action::Remove { key });
                }
                self.push(Action::ReplaceUrl { url: landing });
                self.post_transfer("login");
                self.ready(Some(if redirect { "redirect" } else { "callback" }));
            }
            Purpose::Restore => self.ready(Some("iframe")),
            Purpose::Renew => match self.gen_lock {
                // Before the renewal lock is let go, the next holder must see this generation.
                Some((id, _)) => self.flow = Flow::Advertise { id },
                None => self.renew_done(true),
            },
            Purpose::Popup { cmd } => self.popup_installed(cmd),
            Purpose::Check => self.check_installed(),
        }
        Ok(())
    }

    fn install_session(&mut self, pipe: Pipe) -> Result<()> {
        let inc = pipe.incoming.ok_or_else(not_logged_in)?;
        let renewing = pipe.purpose == Purpose::Renew;
        let previous = if renewing {
            Some(
                self.session
                    .as_ref()
                    .ok_or_else(not_logged_in)?
                    .claims
                    .clone(),
            )
        } else {
            None
        };
        let claims = match &inc.jws {
            None => None,
            Some(jws) => {
                let nonce = match (&pipe.nonce, &previous) {
                    (Some(n), _) => NonceRule::Equals(n),
                    (None, p) => NonceRule::AbsentOr(p.as_ref().and_then(|c| c.nonce.as_deref())),
                };
                let expect = Expect {
                    nonce,
                    now_s: inc.received_ms / 1000.0,
                    access_token_digest: pipe.at_digest.as_deref(),
                    previous: previous.as_ref(),
                };
                Some(id_token::validate(jws, self.cfg()?, self.meta()?, &expect)?)
            }
        };
        let received = inc.received_ms;
        let mut next = match (pipe.nonce.is_some(), &self.session, claims) {
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
        if pipe.purpose == Purpose::Check {
            // The provider's session changed: still the same user, or the session is over.
            let same = self
                .session
                .as_ref()
                .is_some_and(|s| s.claims.sub == next.claims.sub);
            if !same {
                return Err(Error::new(
                    Code::LoginRequired,
                    "another user is logged in at the provider now",
                ));
            }
        }
        if pipe.nonce.is_some() {
            next.session_state = pipe.session_state;
        }
        let mine = self.generation();
        let shared = pipe.shared.unwrap_or(self.shared_seen);
        next.generation = shared.max(mine).max(next.generation) + 1.0;
        self.session = Some(next);
        self.received_at_ms = received;
        Ok(())
    }

    /// Holds the shared lock that tells the other tabs the generation of this tab's session.
    fn advertise(&mut self) {
        let n = self.generation();
        if self.gen_lock.is_some_and(|(_, g)| g == n) {
            return;
        }
        if let Some((old, _)) = self.gen_lock.take() {
            self.push(Action::Unlock { id: old });
        }
        if n > 0.0 {
            let id = self.id();
            let name = cat(&[&self.generation_prefix(), &json::number_text(n)]);
            self.push(Action::Lock {
                id,
                name,
                shared: true,
                if_available: false,
            });
            self.gen_lock = Some((id, n));
        }
        // A renewal waiting for the lock just replaced (a session adopted meanwhile) waits
        // for the new one instead, or it would hold the renewal lock for good.
        if let Flow::Advertise { id: waiting } = self.flow {
            match self.gen_lock {
                Some((id, _)) if id != waiting => self.flow = Flow::Advertise { id },
                None => self.renew_done(false),
                _ => {}
            }
        }
    }

    fn on_lock(&mut self, id: u32) {
        if self.on_check_lock(id) || self.on_idle_lock(id) {
            return;
        }
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::RenewLock { id: x } if x == id => {
                let q = self.id();
                let prefix = self.generation_prefix();
                self.push(Action::QueryLocks { id: q, prefix });
                self.flow = Flow::RenewQuery { id: q };
            }
            Flow::Advertise { id: x } if x == id => self.renew_done(true),
            other => self.flow = other,
        }
    }

    fn pipe_failed(&mut self, pipe: &Pipe, e: Error) {
        self.silent_or_renew_failed(pipe.purpose.clone(), pipe.reduced, e);
    }

    fn silent_or_renew_failed(&mut self, purpose: Purpose, reduced: bool, e: Error) {
        self.flow = Flow::Idle;
        match purpose {
            Purpose::Callback { .. } => self.fail_start(e),
            Purpose::Restore => self.silent_failed(purpose, reduced, e),
            Purpose::Renew => {
                if e.code == Code::LoginRequired {
                    self.silent_failed(purpose, reduced, e)
                } else {
                    self.renew_failed(e)
                }
            }
            Purpose::Popup { cmd } => self.reject(cmd, e),
            Purpose::Check => self.check_failed(e),
        }
    }

    fn on_failed(&mut self, id: u32, failure: Failure, detail: &str) {
        let f = self.take_fetch(id);
        let e = match (failure, &f) {
            (Failure::Network, Some(f)) => Error::new(
                Code::NetworkError,
                cat(&[
                    f.what,
                    " to ",
                    &origin_of(&f.url),
                    " failed before any HTTP answer (offline, or refused by CORS?): ",
                    detail,
                ]),
            ),
            (Failure::TooLarge, Some(f)) => Error::new(
                Code::InvalidResponse,
                cat(&[
                    f.what,
                    ": the response is larger than the ",
                    &uint_text(MAX_BODY_BYTES as u64),
                    " bytes accepted",
                ]),
            ),
            (Failure::Crypto, _) => Error::new(
                Code::CryptoError,
                cat(&[
                    "WebCrypto failed (it needs a secure context: https, or http://localhost): ",
                    detail,
                ]),
            ),
            (Failure::Storage, _) => Error::new(
                Code::StorageError,
                cat(&["storing the login in flight: ", detail]),
            ),
            (Failure::Navigation, _) => {
                Error::new(Code::InvalidConfig, cat(&["navigating: ", detail]))
            }
            (Failure::Blocked, _) => Error::new(
                Code::PopupBlocked,
                "the browser blocked the login popup: call login({ popup: true }) from a click handler",
            ),
            (_, None) => Error::new(Code::NetworkError, detail),
        };
        self.fail_action(id, e);
    }

    /// Action `id` could not be carried out, or its fetch timed out.
    fn fail_action(&mut self, id: u32, e: Error) {
        if self.job_failed(id, &e) || self.popup_failed(id, &e) {
            return;
        }
        if self.idle_nav.as_ref().is_some_and(|(x, _)| *x == id) {
            // Another tab holds the idle logout's lock: it ends the provider's session.
            self.idle_nav = None;
            return;
        }
        if self.jwks_prefetch == Some(id) {
            // Fetched again, and reported, when a token needs the keys.
            self.jwks_prefetch = None;
            return;
        }
        if let Some(side) = self.take_side(id) {
            let (Side::UserInfo { cmd }
            | Side::LoginStore { cmd, .. }
            | Side::LoginDigest { cmd, .. }
            | Side::LoginPush { cmd, .. }) = side;
            if let Side::LoginDigest { popup, .. } | Side::LoginPush { popup, .. } = side {
                self.drop_popup(popup);
            }
            return self.reject(cmd, e);
        }
        match core::mem::replace(&mut self.flow, Flow::Idle) {
            Flow::Discovery { id: x, .. } if x == id => self.fail_start(e),
            Flow::Authorize {
                id: x,
                purpose,
                reduced,
                ..
            }
            | Flow::Pushing {
                id: x,
                purpose,
                reduced,
                ..
            } if x == id => self.silent_failed(purpose, reduced, e),
            Flow::StoreRedirect { id: x, .. } if x == id => self.ready(None),
            Flow::Tokens(mut pipe)
                if pipe.jwks_fetch == Some(id)
                    && pipe.incoming.is_none()
                    && pipe.token.is_some() =>
            {
                // A failed prefetch is retried (and reported) by the verification.
                pipe.jwks_fetch = None;
                self.flow = Flow::Tokens(pipe);
            }
            Flow::Tokens(pipe)
                if [
                    pipe.token,
                    pipe.jwks_fetch,
                    pipe.digest,
                    pipe.verify,
                    pipe.query,
                ]
                .contains(&Some(id)) =>
            {
                self.pipe_failed(&pipe, e)
            }
            other => self.flow = other,
        }
    }

    // ---------------------------------------------------------------------------------------
    // Commands

    fn command(&mut self, cmd: u32, command: Command) {
        match command {
            Command::Login {
                extra, popup: true, ..
            } => self.login_popup(cmd, extra),
            Command::Login {
                redirect_to,
                extra,
                href,
                popup: false,
            } => {
                self.current_href = href;
                self.login(cmd, redirect_to, extra)
            }
            Command::Activity => {
                self.on_activity(self.now, false);
                self.resolve(cmd, String::from("null"));
            }
            Command::GetTokens => self.want(cmd, Want::Tokens),
            Command::RenewTokens => self.want(cmd, Want::Renew),
            Command::GetUserInfo => {
                let has_endpoint = self
                    .meta
                    .as_ref()
                    .is_some_and(|m| m.userinfo_endpoint.is_some());
                if !has_endpoint {
                    return self.reject(
                        cmd,
                        Error::new(
                            Code::InvalidMetadata,
                            "the provider publishes no userinfo_endpoint",
                        ),
                    );
                }
                self.want(cmd, Want::UserInfo)
            }
            Command::Logout { redirect_to } => self.logout(cmd, redirect_to),
            Command::FetchHeaders { method, url } => self.want(cmd, Want::Headers(method, url)),
            Command::CreateProof { method, url } => {
                if self.dpop_on() {
                    self.want(cmd, Want::Proof(method, url))
                } else {
                    self.reject(
                        cmd,
                        Error::new(Code::InvalidConfig, "createDPoPProof needs `dpop: true`"),
                    )
                }
            }
            Command::FetchAnswer(a) => self.fetch_answer(cmd, a),
        }
    }

    fn login(&mut self, cmd: u32, redirect_to: Option<String>, extra: Vec<(String, String)>) {
        let target = match redirect_to {
            Some(t) => url::same_origin_target(&self.origin, &t),
            None => Ok(url::without_params(&self.href_now(), RESPONSE_PARAMS)),
        };
        let r = target.and_then(|t| {
            crate::proto::config::check_extra_auth_params(&extra)?;
            Ok((t, self.random()?))
        });
        match r {
            Ok((redirect_to, random)) => {
                let id = self.id();
                self.push(Action::Digest {
                    id,
                    hash: "SHA-256",
                    text: b64::encode(random.get(..32).unwrap_or(&[])),
                });
                self.side.push((
                    id,
                    Side::LoginDigest {
                        cmd,
                        random,
                        redirect_to,
                        extra,
                        popup: None,
                    },
                ));
            }
            Err(e) => self.reject(cmd, e),
        }
    }

    /// The page the app is on now, for a login without `redirectTo`.
    fn href_now(&self) -> String {
        self.current_href
            .clone()
            .unwrap_or_else(|| self.href.clone())
    }

    fn want(&mut self, cmd: u32, want: Want) {
        let Some(s) = &self.session else {
            return self.reject(cmd, not_logged_in());
        };
        let valid = !s.expires_within(self.now, 0.0);
        let due = renewal_due_at(s, self.received_at_ms).is_some_and(|d| self.now >= d);
        if self.renewing {
            self.waiters.push((cmd, want));
        } else if want == Want::Renew {
            self.waiters.push((cmd, want));
            self.debug(&["renewal: renewTokens() asked for one"]);
            self.renew(true);
        } else if self.retry_at.is_some_and(|r| r > self.now) {
            // Backing off after a passing fault: no request now. Valid tokens still serve;
            // expired ones say what the fault is, for as long as it lasts.
            match (valid, self.last_fault.clone()) {
                (false, Some(e)) => self.reject(cmd, e),
                _ => self.serve(cmd, want),
            }
        } else if due {
            self.waiters.push((cmd, want));
            self.debug(&["renewal: due (getTokens/getUserInfo)"]);
            self.renew(false);
        } else {
            self.serve(cmd, want);
        }
    }

    /// Answers a command with the current tokens.
    fn serve(&mut self, cmd: u32, want: Want) {
        let Some(s) = &self.session else {
            return self.reject(cmd, not_logged_in());
        };
        match want {
            Want::UserInfo => {
                let endpoint = self.meta.as_ref().and_then(|m| m.userinfo_endpoint.clone());
                let at = s.access_token.expose().to_string();
                let proof = s.dpop;
                match endpoint {
                    Some(u) => {
                        let id = self.send(&u, None, Some(at), true, "the UserInfo request", proof);
                        self.side.push((id, Side::UserInfo { cmd }));
                    }
                    None => self.reject(cmd, not_logged_in()),
                }
            }
            Want::Headers(method, url) => self.serve_headers(cmd, method, url, false),
            Want::Proof(method, url) => self.serve_headers(cmd, method, url, true),
            _ => {
                let v = s.tokens_json();
                self.resolve(cmd, v);
            }
        }
    }

    fn logout(&mut self, cmd: u32, redirect_to: Option<String>) {
        let target = match self.logout_url(redirect_to) {
            Ok(t) => t,
            Err(e) => return self.reject(cmd, e),
        };
        let had = self.end_session();
        self.post(String::from("{\"t\":\"logout\"}"));
        if had {
            self.push(Action::Emit(AppEvent::LoggedOut("user")));
        }
        self.debug(&["logout: to the provider's end-session endpoint"]);
        self.push(Action::Navigate { url: target });
    }

    /// RP-initiated logout (with `id_token_hint`), or the post-logout page when the provider
    /// has no end-session endpoint.
    fn logout_url(&self, redirect_to: Option<String>) -> Result<String> {
        let cfg = self.cfg()?;
        let post_logout = match redirect_to {
            Some(t) => url::same_origin_target(&self.origin, &t)?,
            None => cfg.post_logout_redirect_uri.clone(),
        };
        let endpoint = self
            .meta
            .as_ref()
            .and_then(|m| m.end_session_endpoint.as_deref());
        let hint = self.session.as_ref().map(|s| s.id_token.expose());
        Ok(logout::end_session_url(cfg, endpoint, hint, &post_logout).unwrap_or(post_logout))
    }

    /// Forgets the session and everything in flight for it; tells the app's snapshot. True if
    /// there was one.
    fn end_session(&mut self) -> bool {
        // The flows that serve the session end with it: a renewal (any step), a session check.
        // A popup login's code exchange goes on (it brings a new session); a start's flow
        // settles first.
        let purpose = match &self.flow {
            Flow::Authorize { purpose, .. }
            | Flow::AwaitKey { purpose, .. }
            | Flow::Frame { purpose, .. }
            | Flow::Pushing { purpose, .. } => Some(purpose),
            Flow::Tokens(p) => Some(&p.purpose),
            _ => None,
        };
        let bound = self.renewing
            || matches!(purpose, Some(Purpose::Renew | Purpose::Check))
            || matches!(
                self.flow,
                Flow::RenewLock { .. }
                    | Flow::RenewQuery { .. }
                    | Flow::CatchUp { .. }
                    | Flow::Advertise { .. }
            );
        if bound {
            if let Flow::Frame { id, .. } = self.flow {
                self.push(Action::CloseFrame { id });
            }
            self.flow = Flow::Idle;
        }
        self.renewing = false;
        if let Some(id) = self.renew_lock.take() {
            self.push(Action::Unlock { id });
        }
        self.deadlines
            .retain(|(_, d)| matches!(d, Deadline::Handover | Deadline::PopupPoll(_)));
        self.stop_monitor(false);
        let side = &self.side;
        self.fetches.retain(|f| {
            f.what == "the discovery request"
                || side
                    .iter()
                    .any(|(id, s)| *id == f.id && matches!(s, Side::LoginPush { .. }))
        });
        for (cmd, _) in core::mem::take(&mut self.waiters) {
            self.push(Action::Reject {
                cmd,
                error: not_logged_in(),
            });
        }
        for (id, side) in core::mem::take(&mut self.side) {
            match side {
                Side::UserInfo { cmd } => self.reject(cmd, not_logged_in()),
                other => self.side.push((id, other)),
            }
        }
        self.failures = 0;
        self.retry_at = None;
        self.last_fault = None;
        let had = self.session.take().is_some();
        if had {
            self.push(Action::State { claims: None });
            self.drop_key();
        }
        self.idle_warned = false;
        self.share_due = false;
        self.idle_watch();
        self.advertise();
        had
    }

    fn unlock_all(&mut self) {
        if let Some(id) = self.renew_lock.take() {
            self.push(Action::Unlock { id });
        }
        if let Some((id, _)) = self.gen_lock.take() {
            self.push(Action::Unlock { id });
        }
    }

    fn close(&mut self) {
        if let Flow::Frame { id, .. } = self.flow {
            self.push(Action::CloseFrame { id });
        }
        for f in core::mem::take(&mut self.fetches) {
            self.push(Action::Abort { id: f.id });
        }
        self.stop_monitor(true);
        self.drop_popup_with(internal("the client was closed"));
        // A popup login whose code is waiting or being exchanged settles too.
        let exchanging = match &self.flow {
            Flow::Tokens(p) => match p.purpose {
                Purpose::Popup { cmd } => Some(cmd),
                _ => None,
            },
            _ => None,
        };
        for cmd in exchanging
            .into_iter()
            .chain(self.queued_login.take().map(|q| q.cmd))
        {
            self.reject(cmd, internal("the client was closed"));
        }
        self.unlock_all();
        self.flow = Flow::Idle;
        self.deadlines.clear();
        let err = || internal("the client was closed");
        for (cmd, _) in core::mem::take(&mut self.waiters) {
            self.push(Action::Reject { cmd, error: err() });
        }
        self.reject_jobs(&err());
        for (_, side) in core::mem::take(&mut self.side) {
            let (Side::UserInfo { cmd }
            | Side::LoginStore { cmd, .. }
            | Side::LoginDigest { cmd, .. }
            | Side::LoginPush { cmd, .. }) = side;
            self.push(Action::Reject { cmd, error: err() });
        }
        self.session = None;
        self.closed = true;
    }
}

fn no_key(jws: &Jws) -> Error {
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
