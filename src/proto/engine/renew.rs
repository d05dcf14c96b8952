//! Renewal, timers and the other tabs.

use super::*;

impl Engine {
    /// Starts a renewal (one at a time in this tab). Under the renewal Web Lock, so that one
    /// tab renews for all: a rotated refresh token must never be sent twice.
    pub(super) fn renew(&mut self, force: bool) {
        if self.renewing || !matches!(self.flow, Flow::Idle) {
            return;
        }
        self.renewing = true;
        self.force = force;
        let id = self.id();
        let name = cat(&[PREFIX, "renew:", &self.key]);
        self.push(Action::Lock {
            id,
            name,
            shared: false,
            if_available: false,
        });
        self.renew_lock = Some(id);
        self.flow = Flow::RenewLock { id };
    }

    /// Under the lock, caught up with the other tabs: renew if it is still due.
    pub(super) fn renew_go(&mut self) {
        self.flow = Flow::Idle;
        let Some(s) = &self.session else {
            return self.renew_failed(not_logged_in());
        };
        let due = renewal_due_at(s, self.received_at_ms).is_some_and(|d| self.now >= d);
        if !self.force && !due {
            // Another tab renewed while this one waited for the lock.
            self.debug(&["renewal: not due any more (another tab renewed)"]);
            return self.renew_done(false);
        }
        let rt = s.refresh_token.clone();
        match rt {
            Some(rt) => {
                self.debug(&["renewal: refresh token grant"]);
                let req = match (self.cfg(), self.meta()) {
                    (Ok(c), Ok(m)) => token::refresh_request(c, m, &rt),
                    (Err(e), _) | (_, Err(e)) => return self.renew_failed(e),
                };
                self.begin_tokens(Purpose::Renew, false, req, None, Some(rt), None);
            }
            None => {
                // No refresh token: a new code through the hidden iframe, for the same user.
                self.debug(&["renewal: hidden iframe (no refresh token)"]);
                self.authorize(Mode::SilentIframe, Purpose::Renew, self.no_offline);
            }
        }
    }

    /// The renewal ended well (`changed`: new tokens were installed here).
    pub(super) fn renew_done(&mut self, changed: bool) {
        self.flow = Flow::Idle;
        self.renewing = false;
        if let Some(id) = self.renew_lock.take() {
            self.push(Action::Unlock { id });
        }
        self.failures = 0;
        self.retry_at = None;
        self.last_fault = None;
        if changed {
            self.post_transfer("session");
            self.push(Action::Emit(AppEvent::TokensChanged));
        }
        for (cmd, want) in core::mem::take(&mut self.waiters) {
            self.serve(cmd, want);
        }
    }

    /// The renewal failed: a passing fault keeps the session and retries with backoff; a
    /// final answer ends it.
    pub(super) fn renew_failed(&mut self, e: Error) {
        self.flow = Flow::Idle;
        self.renewing = false;
        if let Some(id) = self.renew_lock.take() {
            self.push(Action::Unlock { id });
        }
        let waiters = core::mem::take(&mut self.waiters);
        if self.session.is_none() {
            for (cmd, _) in waiters {
                self.reject(cmd, not_logged_in());
            }
            return;
        }
        if is_passing(&e) {
            self.failures = self.failures.saturating_add(1);
            let mut b = [0u8; 2];
            let jitter = if (self.random)(&mut b) {
                f64::from(u16::from_le_bytes(b)) / 65536.0
            } else {
                0.5
            };
            // `Retry-After` may ask for longer than the backoff, never for less (a 0 would
            // retry in a loop).
            let backoff = backoff_ms(self.failures, jitter);
            let delay = self
                .last_retry_after
                .take()
                .map_or(backoff, |r| r.clamp(backoff, 10.0 * BACKOFF_MAX_MS));
            self.retry_at = Some(self.now + delay);
            self.debug(&[
                "renewal: passing fault, retrying in ",
                &uint_text(delay as u64),
                " ms: ",
                &e.message,
            ]);
            let valid = self
                .session
                .as_ref()
                .is_some_and(|s| !s.expires_within(self.now, 0.0));
            for (cmd, want) in waiters {
                if valid && want != Want::Renew {
                    self.serve(cmd, want);
                } else {
                    self.reject(cmd, e.clone());
                }
            }
            self.last_fault = Some(e);
        } else {
            self.debug(&["renewal: the session ended: ", &e.message]);
            let x = expired(&e);
            self.end_session();
            self.push(Action::Emit(AppEvent::SessionExpired(x.clone())));
            for (cmd, _) in waiters {
                self.reject(cmd, x.clone());
            }
        }
    }

    /// A wake-up: deadlines that passed, then the renewal if it is due.
    pub(super) fn on_timer(&mut self) {
        let now = self.now;
        let mut fired = Vec::new();
        self.deadlines.retain(|(at, d)| {
            if *at <= now {
                fired.push(*d);
                false
            } else {
                true
            }
        });
        for d in fired {
            match d {
                Deadline::Handover => {
                    if matches!(self.flow, Flow::Handover { .. }) {
                        self.debug(&["start: no other tab has a session"]);
                        self.after_handover();
                    }
                }
                Deadline::Fetch(id) => {
                    if let Some(f) = self.take_fetch(id) {
                        self.push(Action::Abort { id });
                        let ms = self.cfg.as_ref().map_or(0.0, |c| c.http_timeout_ms);
                        let e = Error::new(
                            Code::Timeout,
                            cat(&[
                                f.what,
                                " to ",
                                &origin_of(&f.url),
                                " took longer than ",
                                &uint_text(ms as u64),
                                " ms",
                            ]),
                        );
                        self.fail_action(id, e);
                    }
                }
                Deadline::Frame(id) => {
                    if let Flow::Frame {
                        id: x,
                        purpose,
                        reduced,
                        ..
                    } = &self.flow
                    {
                        if *x == id {
                            let (purpose, reduced) = (purpose.clone(), *reduced);
                            self.push(Action::CloseFrame { id });
                            let e = Error::new(
                                Code::Timeout,
                                "the silent authentication iframe got no answer in time (the provider may refuse framing)",
                            );
                            self.silent_failed(purpose, reduced, e);
                        }
                    }
                }
                Deadline::Stuck(id) => self.frame_stuck(id),
                Deadline::PopupPoll(id) => self.poll_popup(id),
                Deadline::CheckPoll => self.poll_check(),
                Deadline::CheckLate => self.check_late(),
                Deadline::CatchUp => {
                    if matches!(self.flow, Flow::CatchUp { .. }) {
                        self.renew_failed(Error::new(
                            Code::NetworkError,
                            "another tab renewed the tokens and has not handed them over yet; retrying later",
                        ));
                    }
                }
            }
        }
        self.idle_tick();
        if self.started && !self.renewing && matches!(self.flow, Flow::Idle) {
            if let Some(at) = self.renewal_at() {
                if now >= at {
                    self.debug(&[if self.failures > 0 {
                        "renewal: retrying after a passing fault"
                    } else {
                        "renewal: due (timer)"
                    }]);
                    self.renew(false);
                }
            }
        }
    }

    /// No other tab handed a session over: the provider is asked.
    pub(super) fn after_handover(&mut self) {
        if self.meta.is_some() {
            self.restore();
        } else {
            self.discover(None);
        }
    }

    /// The message handing this tab's session to the others: `login` after a login, else
    /// `session`. The public metadata and keys come along, so the other tab makes no request.
    pub(super) fn post_transfer(&mut self, kind: &str) {
        self.post_transfer_to(kind, None);
    }

    /// The session, as the answer to the hello `to` of a starting tab.
    fn post_transfer_to(&mut self, kind: &str, to: Option<&str>) {
        let Some(s) = &self.session else {
            return;
        };
        // A DPoP-bound session goes with its key (the shell sends the CryptoKey along).
        let key = s.dpop && self.dpop_key.is_some();
        let msg = ObjectWriter::new()
            .str("t", kind)
            .str("s", &s.to_transfer_json())
            .str("meta", &self.meta_body)
            .str("jwks", &self.jwks_body)
            .opt_str("jwk", if key { self.dpop_key.as_deref() } else { None })
            .opt_str("to", to)
            // News of this tab's own (a renewal, a check), as opposed to an answer to a hello.
            .opt_str(
                "news",
                if to.is_none() && kind == "session" {
                    Some("1")
                } else {
                    None
                },
            )
            .finish();
        self.push(Action::Post { msg, key });
    }

    /// A message to the other tabs that carries no session.
    pub(super) fn post(&mut self, msg: String) {
        self.push(Action::Post { msg, key: false });
    }

    /// A session handed over by another tab; `only_newer`: taken only if later than ours.
    fn adopt(&mut self, v: &Value, only_newer: bool) -> bool {
        let Some(text) = v.str_member("s") else {
            return false;
        };
        let Some(cfg) = &self.cfg else { return false };
        if self.meta.is_none() {
            let body = v.str_member("meta").unwrap_or("");
            match discovery::parse(cfg, &Response::json(200, body)) {
                Ok(m) => {
                    self.meta = Some(m);
                    self.meta_body = body.to_string();
                }
                Err(_) => return false,
            }
        }
        let Some(meta) = &self.meta else { return false };
        let Some(s) = Session::from_transfer_json(text, &meta.issuer, &cfg.client_id, self.now)
        else {
            return false;
        };
        if only_newer && !session::is_newer(self.session.as_ref(), &s) {
            return false;
        }
        if self.jwks.is_none() {
            let body = v.str_member("jwks").unwrap_or("");
            if let Ok(keys) = jose::parse_jwks(&Response::json(200, body)) {
                self.jwks = Some(keys);
                self.jwks_body = body.to_string();
                self.jwks_kept = true;
            }
        }
        if s.dpop {
            // The session's key came with the message; without it the tokens are useless here.
            let Some(jwk) = v.str_member("jwk") else {
                return false;
            };
            self.dpop_key = Some(jwk.to_string());
            self.keygen = None;
            self.push(Action::TakeKey);
            self.advance_jobs();
        }
        let fresh = self.session.is_none();
        self.session = Some(s);
        self.received_at_ms = self.now;
        self.failures = 0;
        self.retry_at = None;
        self.last_fault = None;
        self.advertise();
        self.push(Action::State {
            claims: self.session.as_ref().map(|s| s.claims.json.clone()),
        });
        self.session_began(fresh);
        true
    }

    pub(super) fn on_tab(&mut self, msg: &str) {
        let Ok(v) = json::parse(msg, "a message from another tab") else {
            return;
        };
        match v.str_member("t") {
            Some("hello") if self.session.is_some() => {
                let to = v.str_member("n").map(str::to_string);
                self.post_transfer_to("session", to.as_deref());
            }
            // A page asking for the others' session hears of a logout: an answer still on its
            // way may predate it, so from now on only a login is taken.
            Some("logout") if matches!(self.flow, Flow::Handover { .. }) => {
                self.debug(&["start: another tab logged out; no hand-over taken now"]);
                self.hello.clear();
            }
            // A tab still starting has no session to end, and its start flow (the iframe,
            // the code exchange) must not lose its answers and deadlines: it settles first.
            Some("logout") if self.started => self.on_logout_message(&v),
            Some("active") => {
                if let Some(at) = v.get("at").and_then(Value::as_f64) {
                    // Another tab's clock is this machine's; a time ahead of ours is not taken.
                    self.on_activity(at.min(self.now), true);
                }
            }
            Some(kind @ ("session" | "login")) => {
                let login = kind == "login";
                match self.flow {
                    // A starting page takes a login, or the answer to its own hello: news of a
                    // renewal sent before the other tab heard of a logout must not log it in.
                    Flow::Handover { .. } => {
                        // The answer to this page's hello; or one without `to` and not news,
                        // which only a tab running an older version of the library sends.
                        let to = v.str_member("to");
                        let mine = !self.hello.is_empty()
                            && match to {
                                Some(to) => to == self.hello,
                                None => v.get("news").is_none(),
                            };
                        if (login || mine) && self.adopt(&v, false) {
                            self.clear_deadline(Deadline::Handover);
                            self.ready(Some("otherTab"));
                        }
                    }
                    Flow::CatchUp { shared } => {
                        if self.adopt(&v, true) {
                            self.push(Action::Emit(AppEvent::TokensChanged));
                            if self.generation() >= shared {
                                self.clear_deadline(Deadline::CatchUp);
                                self.renew_go();
                            }
                        }
                    }
                    _ => {
                        // A logged-out tab takes a session only from a login: a renewal's
                        // hand-over that crossed a logout on its way must not log it back in.
                        if !self.started || (!login && self.session.is_none()) {
                            return;
                        }
                        if self.adopt(&v, true) {
                            self.push(Action::Emit(AppEvent::TokensChanged));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
