//! Noticing that the user logged out at the provider.
//!
//! - OIDC Session Management 1.0: where the metadata has `check_session_iframe` and the
//!   authorization response a `session_state`, one tab for all (the holder of a Web Lock) loads
//!   the provider's page in a hidden iframe and asks it every `sessionCheckIntervalMs` whether
//!   the session changed. On `changed`, a silent request asks who is logged in there: the same
//!   user goes on (with the new tokens and session state); nobody, or another user, logs every
//!   tab out (`loggedOut`, reason `provider`).
//! - OIDC Front-Channel Logout 1.0: the provider loads `frontChannelLogoutUri` (a page of the
//!   app) in an iframe when the user logs out there; the library in that page checks `iss` and
//!   tells every tab, which checks `sid` against its ID token's.
//!
//! Both need the provider's frame to see the provider's cookies and the app's frame to reach
//! the app's tabs. Where the provider is on another site, the browser may block third-party
//! cookies (the check frame then always says `changed`, and the silent request finds nobody)
//! and partitions a third-party frame's storage and channels (the front-channel page then
//! reaches no tab). A `login_required` after `changed` logs out only once frames are known to
//! see the provider's session (same site, an earlier `unchanged`, or a code from the hidden
//! iframe); otherwise the check stops and the next renewal notices an ended session.

use super::*;

/// A check frame that has not loaded, or not answered a poll, in this long is given up.
pub const CHECK_LATE_MS: f64 = 10_000.0;

/// The state of the check_session polling in this tab.
#[derive(Default)]
pub(super) struct Monitor {
    /// The Web Lock asked for (the tab that holds it polls for all).
    lock: Option<u32>,
    /// The provider's check frame, once the lock is held.
    frame: Option<u32>,
    loaded: bool,
    /// A poll was posted and waits for its answer.
    asked: bool,
    /// Polling is off for this page (the provider's frame failed, or cannot see its session).
    off: bool,
    /// The provider's frames are known to see its session: same site, an `unchanged`, or a
    /// code from the hidden iframe.
    pub frames_see: bool,
    /// Silent requests after `changed` that failed in a row (passing faults): the next poll
    /// waits as a renewal would.
    failures: u32,
    /// The mode was told (debug) for this page.
    told: bool,
}

impl Engine {
    fn check_url(&self) -> Option<String> {
        let interval = self.cfg.as_ref()?.session_check_interval_ms;
        let url = self.meta.as_ref()?.check_session_iframe.clone()?;
        (interval > 0.0).then_some(url)
    }

    /// A session is in place (installed or adopted; `fresh`: where there was none): idle
    /// logout and monitoring start. A login is the user's doing: the idle count starts again.
    pub(super) fn session_began(&mut self, fresh: bool) {
        if fresh {
            self.last_active = self.last_active.max(self.now);
            self.idle_warned = false;
        }
        self.idle_watch();
        self.start_monitor();
    }

    fn start_monitor(&mut self) {
        let has_state = self
            .session
            .as_ref()
            .is_some_and(|s| s.session_state.is_some());
        let url = self.check_url();
        if !self.monitor.told {
            self.monitor.told = true;
            self.tell_mode(url.as_deref(), has_state);
        }
        let Some(url) = url else { return };
        if self.monitor.off || self.monitor.lock.is_some() || !has_state {
            return;
        }
        if session::same_site(&self.origin, &url) {
            self.monitor.frames_see = true;
        }
        let id = self.id();
        let name = cat(&[PREFIX, "check:", &self.key]);
        self.push(Action::Lock {
            id,
            name,
            shared: false,
            if_available: false,
        });
        self.monitor.lock = Some(id);
    }

    /// With `debug`: how this page will notice a logout at the provider.
    fn tell_mode(&mut self, url: Option<&str>, has_state: bool) {
        let fc = self
            .cfg
            .as_ref()
            .is_some_and(|c| c.front_channel_logout_uri.is_some());
        let cross = self
            .meta
            .as_ref()
            .is_some_and(|m| !session::same_site(&self.origin, &m.authorization_endpoint));
        let check = match (url, has_state) {
            (Some(_), true) if cross => "check_session, if this browser lets the provider's frame see its cookies (another site: third-party cookies)",
            (Some(_), true) => "check_session (the provider is on this site)",
            (Some(_), false) => "no check_session (the authorization response had no session_state)",
            (None, _) => "no check_session (the provider has none, or sessionCheckIntervalMs is 0)",
        };
        let front = match (fc, cross) {
            (false, _) => "; no front-channel logout (no frontChannelLogoutUri)",
            (true, false) => "; front-channel logout (the provider is on this site)",
            (true, true) => "; front-channel logout cannot reach this page's tabs (the provider is on another site: the browser partitions its frames)",
        };
        self.debug(&[
            "session monitoring: ",
            check,
            front,
            "; otherwise the next renewal notices an ended session",
        ]);
    }

    /// Stops polling (`off`: for the rest of this page).
    pub(super) fn stop_monitor(&mut self, off: bool) {
        if let Some(id) = self.monitor.frame.take() {
            self.push(Action::CloseFrame { id });
        }
        if let Some(id) = self.monitor.lock.take() {
            self.push(Action::Unlock { id });
        }
        self.clear_deadline(Deadline::CheckPoll);
        self.clear_deadline(Deadline::CheckLate);
        self.monitor.loaded = false;
        self.monitor.asked = false;
        self.monitor.off |= off;
    }

    fn give_up_check(&mut self, why: &str) {
        self.debug(&[
            "check_session: ",
            why,
            "; stopped (the next renewal notices an ended session)",
        ]);
        self.stop_monitor(true);
    }

    /// Lock `id` granted: if it is the check lock, this tab polls for all.
    pub(super) fn on_check_lock(&mut self, id: u32) -> bool {
        if self.monitor.lock != Some(id) {
            return false;
        }
        let Some(url) = self.check_url() else {
            self.stop_monitor(false);
            return true;
        };
        let fid = self.id();
        self.push(Action::CheckFrame { id: fid, url });
        self.monitor.frame = Some(fid);
        self.deadline(self.now + CHECK_LATE_MS, Deadline::CheckLate);
        true
    }

    pub(super) fn check_frame_loaded(&mut self, id: u32) {
        if self.monitor.frame == Some(id) && !self.monitor.loaded {
            self.monitor.loaded = true;
            self.clear_deadline(Deadline::CheckLate);
            self.poll_check();
        }
    }

    pub(super) fn poll_check(&mut self) {
        let (Some(fid), true) = (self.monitor.frame, self.monitor.loaded) else {
            return;
        };
        let (Some(url), Some(state), Some(cfg)) = (
            self.check_url(),
            self.session.as_ref().and_then(|s| s.session_state.clone()),
            self.cfg.as_ref(),
        ) else {
            return;
        };
        // §3.2: "client_id + ' ' + session_state", to the provider's origin only.
        let msg = cat(&[&cfg.client_id, " ", &state]);
        self.push(Action::CheckPost {
            id: fid,
            msg,
            origin: origin_of(&url),
        });
        self.monitor.asked = true;
        self.deadline(self.now + CHECK_LATE_MS, Deadline::CheckLate);
    }

    pub(super) fn check_late(&mut self) {
        if self.monitor.frame.is_none() {
            return;
        }
        let why = if self.monitor.loaded {
            "the provider's check_session frame stopped answering"
        } else {
            "the provider's check_session frame did not load"
        };
        self.give_up_check(why);
    }

    fn next_poll(&mut self) {
        let interval = self
            .cfg
            .as_ref()
            .map_or(5_000.0, |c| c.session_check_interval_ms);
        let wait = match self.monitor.failures {
            0 => interval,
            n => interval.max(backoff_ms(n, 0.5)),
        };
        self.clear_deadline(Deadline::CheckPoll);
        self.deadline(self.now + wait, Deadline::CheckPoll);
    }

    pub(super) fn on_check_answer(&mut self, id: u32, status: &str) {
        if self.monitor.frame != Some(id) || !self.monitor.asked {
            return;
        }
        self.monitor.asked = false;
        self.clear_deadline(Deadline::CheckLate);
        match status {
            "unchanged" => {
                self.monitor.failures = 0;
                if !self.monitor.frames_see {
                    self.monitor.frames_see = true;
                    self.debug(&["check_session: the provider's frame sees its session"]);
                }
                self.next_poll();
            }
            "changed" => {
                if self.renewing || !matches!(self.flow, Flow::Idle) {
                    // A renewal is under way: it will tell; ask again next time.
                    return self.next_poll();
                }
                self.debug(&["check_session: changed; asking the provider who is logged in"]);
                self.authorize(Mode::SilentIframe, Purpose::Check, self.no_offline);
            }
            _ => self.give_up_check(
                "the provider's frame answered `error` (a session_state it does not know)",
            ),
        }
    }

    /// The silent request after `changed` brought the same user's new tokens.
    pub(super) fn check_installed(&mut self) {
        self.flow = Flow::Idle;
        self.monitor.failures = 0;
        self.debug(&["check_session: the same user is still logged in"]);
        self.post_transfer("session");
        self.push(Action::Emit(AppEvent::TokensChanged));
        self.next_poll();
    }

    /// The silent request after `changed` failed.
    pub(super) fn check_failed(&mut self, e: Error) {
        self.flow = Flow::Idle;
        if e.code != Code::LoginRequired {
            // A passing fault, or an answer that says nothing about who is logged in: asked
            // again later, backing off as a renewal would.
            self.monitor.failures = self.monitor.failures.saturating_add(1);
            self.debug(&["check_session: the silent request failed: ", &e.message]);
            return self.next_poll();
        }
        if !self.monitor.frames_see {
            return self.give_up_check(
                "`changed`, and the hidden iframe found nobody, but the provider's frames may not see its cookies (another site, third-party cookies blocked?): cannot tell a logout from a blocked cookie",
            );
        }
        self.debug(&[
            "check_session: the user logged out at the provider: ",
            &e.message,
        ]);
        // The other tabs check the message's `sid` against their ID token's: it is this one.
        let sid = self.session.as_ref().and_then(Session::sid);
        self.provider_logout(sid.as_deref());
    }

    /// Every tab logs out: the user logged out at the provider (`sid`: that session's).
    fn provider_logout(&mut self, sid: Option<&str>) {
        let had = self.end_session();
        let msg = ObjectWriter::new()
            .str("t", "logout")
            .str("reason", "provider")
            .opt_str("sid", sid)
            .finish();
        self.post(msg);
        if had {
            self.push(Action::Emit(AppEvent::LoggedOut("provider")));
        }
    }

    /// Another tab (or the front-channel logout page) says the session ended.
    pub(super) fn on_logout_message(&mut self, v: &Value) {
        let reason = match v.str_member("reason") {
            Some("idle") => "idle",
            Some("provider") => "provider",
            _ => "otherTab",
        };
        if reason == "provider" {
            // A session whose ID token names its provider session (`sid`) ends only for a
            // logout that names the same one: any page can frame the front-channel URI.
            let mine = self.session.as_ref().and_then(Session::sid);
            if mine.is_some() && v.str_member("sid") != mine.as_deref() {
                self.debug(&["a provider logout for another provider session (sid); ignored"]);
                return;
            }
        }
        if self.end_session() {
            self.debug(&["logged out in another tab (", reason, ")"]);
            self.push(Action::Emit(AppEvent::LoggedOut(reason)));
        }
    }

    /// Whether this page is the app's `frontChannelLogoutUri`.
    pub(super) fn is_front_channel_page(&self) -> bool {
        let Some(fc) = self
            .cfg
            .as_ref()
            .and_then(|c| c.front_channel_logout_uri.as_deref())
        else {
            return false;
        };
        match (url::split(fc), url::split(&self.href)) {
            (Some(a), Some(b)) => a.origin() == b.origin() && a.path == b.path,
            _ => false,
        }
    }

    /// The provider loaded the front-channel logout page: tell every tab, then settle logged
    /// out. No request, no session of its own.
    pub(super) fn front_channel(&mut self) {
        let query = url::split(&self.href)
            .and_then(|p| p.query.map(str::to_string))
            .unwrap_or_default();
        let pairs = url::parse_query(&query).unwrap_or_default();
        let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        let (iss, sid) = (get("iss"), get("sid"));
        let issuer = self
            .cfg
            .as_ref()
            .map_or_else(String::new, |c| c.issuer.clone());
        let placement = match self.embedder.as_deref() {
            None => String::from("opened as a top-level page"),
            Some("") => String::from("embedded by a page of unknown origin"),
            Some(e) if session::same_site(&self.origin, e) => {
                cat(&["embedded by ", e, " (same site: the app's tabs hear it)"])
            }
            Some(e) => cat(&[
                "embedded by ",
                e,
                " (another site: the browser partitions this frame's channels, so the app's tabs may not hear it; they notice at the next renewal)",
            ]),
        };
        self.debug(&["front-channel logout page, ", &placement]);
        match iss {
            Some(i) if i != issuer => {
                self.debug(&[
                    "front-channel logout: `iss` ",
                    &quoted(&i, 100),
                    " is not the issuer; ignored",
                ]);
            }
            _ => self.provider_logout(sid.as_deref()),
        }
        self.ready(None);
    }
}
