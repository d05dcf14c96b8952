//! Login in a popup window: the page stays, and the login resolves a promise.
//!
//! The window opens at once (a browser lets a page open one only while the click that asked
//! for it is being handled), blank, and goes to the provider once the PKCE challenge is made.
//! It comes back to the silent redirect URI, whose page posts its URL to this window (only to
//! this origin); the engine reads it only from this login's window and with this login's
//! `state`. The login in flight stays in memory: nothing goes to sessionStorage.

use super::*;

/// How often the engine asks whether the popup was closed: a closed popup rejects the login
/// within this long (a property read in the shell; a quarter second leaves a loaded page room
/// to keep the promise of "within a second").
pub const POPUP_POLL_MS: f64 = 250.0;

/// The popup login under way.
pub(super) struct PopupLogin {
    /// The window (the `Popup` action's id).
    pub id: u32,
    /// The `login()` command waiting.
    cmd: u32,
    /// The login in flight, once the window was sent to the provider.
    pending: Option<PendingLogin>,
}

/// A popup login's validated code, waiting for the renewal or session check under way: a
/// refresh in flight must finish first (its rotated refresh token is sent once only).
pub(super) struct QueuedLogin {
    pub cmd: u32,
    pub req: token::Request,
    pub nonce: String,
    pub session_state: Option<String>,
}

fn cancelled(why: &str) -> Error {
    Error::new(Code::LoginCancelled, why)
}

impl Engine {
    /// `login({ popup: true })`.
    pub(super) fn login_popup(&mut self, cmd: u32, extra: Vec<(String, String)>) {
        // One popup login at a time: a new one replaces the one still open.
        self.drop_popup_with(cancelled("another popup login started"));
        let r = crate::proto::config::check_extra_auth_params(&extra).and_then(|()| self.random());
        let random = match r {
            Ok(r) => r,
            Err(e) => return self.reject(cmd, e),
        };
        let id = self.id();
        self.push(Action::Popup { id });
        self.popup = Some(PopupLogin {
            id,
            cmd,
            pending: None,
        });
        self.deadline(self.now + POPUP_POLL_MS, Deadline::PopupPoll(id));
        let did = self.id();
        self.push(Action::Digest {
            id: did,
            hash: "SHA-256",
            text: b64::encode(random.get(..32).unwrap_or(&[])),
        });
        self.side.push((
            did,
            Side::LoginDigest {
                cmd,
                random,
                redirect_to: String::new(),
                extra,
                popup: Some(id),
            },
        ));
        self.debug(&["login: opening the popup"]);
    }

    /// The authorization request is ready: the popup goes to the provider.
    pub(super) fn popup_go(&mut self, id: u32, url: String, pending: PendingLogin) {
        if let Some(p) = self.popup.as_mut().filter(|p| p.id == id) {
            p.pending = Some(pending);
            self.push(Action::PopupGo { id, url });
        }
    }

    /// The popup's page posted its URL: the authorization response, read if it is this
    /// login's.
    pub(super) fn on_popup_answer(&mut self, id: u32, href: &str) {
        let Some(p) = self.popup.as_ref().filter(|p| p.id == id) else {
            return;
        };
        let Some(pending) = &p.pending else { return };
        let parsed = self
            .cfg
            .as_ref()
            .map(|c| callback::parse(href, &[&c.silent_redirect_uri]));
        let params = match parsed {
            Some(Ok(Some(params))) => params,
            // Not an authorization response (yet): the popup may still be on its way.
            Some(Ok(None)) | None => return,
            Some(Err(e)) => return self.drop_popup_with(e),
        };
        if params.state.as_deref() != Some(pending.state.as_str()) {
            self.debug(&["login: ignored a popup answer with another state"]);
            return;
        }
        let Some(PopupLogin {
            cmd,
            pending: Some(pending),
            ..
        }) = self.popup.take()
        else {
            return;
        };
        self.clear_deadline(Deadline::PopupPoll(id));
        self.push(Action::ClosePopup { id });
        let result = (|| -> Result<_> {
            let cfg = self.cfg()?;
            let meta = self.meta()?;
            let v = callback::validate(&params, Some(pending), cfg, meta, self.now)?;
            Ok(token::code_request(cfg, meta, v))
        })();
        match result {
            Ok((req, exchange)) => {
                self.debug(&["login: the popup came back; exchanging the code"]);
                // Exchanged as soon as no renewal or session check runs (see `settle`).
                let older = self.queued_login.replace(QueuedLogin {
                    cmd,
                    req,
                    nonce: exchange.nonce,
                    session_state: params.session_state,
                });
                if let Some(q) = older {
                    self.reject(q.cmd, cancelled("another popup login completed"));
                }
            }
            Err(e) => self.reject(cmd, e),
        }
    }

    /// The popup was found closed before it answered.
    pub(super) fn on_popup_closed(&mut self, id: u32) {
        if self.popup.as_ref().is_some_and(|p| p.id == id) {
            self.debug(&["login: the popup was closed"]);
            self.drop_popup_with(cancelled(
                "the login popup was closed before the login completed",
            ));
        }
    }

    pub(super) fn poll_popup(&mut self, id: u32) {
        if self.popup.as_ref().is_some_and(|p| p.id == id) {
            self.push(Action::CheckPopup { id });
            self.deadline(self.now + POPUP_POLL_MS, Deadline::PopupPoll(id));
        }
    }

    /// Action `id` was the popup and the browser refused it. True if it was.
    pub(super) fn popup_failed(&mut self, id: u32, e: &Error) -> bool {
        if self.popup.as_ref().is_some_and(|p| p.id == id) {
            self.drop_popup_with(e.clone());
            return true;
        }
        false
    }

    /// Ends the popup login `popup` (if it is still the one open) without settling it.
    pub(super) fn drop_popup(&mut self, popup: Option<u32>) {
        if popup.is_some() && self.popup.as_ref().map(|p| p.id) == popup {
            if let Some(p) = self.popup.take() {
                self.clear_deadline(Deadline::PopupPoll(p.id));
                self.push(Action::ClosePopup { id: p.id });
            }
        }
    }

    /// Ends the popup login open now, if any, rejecting it with `e`.
    pub(super) fn drop_popup_with(&mut self, e: Error) {
        if let Some(p) = self.popup.take() {
            self.clear_deadline(Deadline::PopupPoll(p.id));
            self.push(Action::ClosePopup { id: p.id });
            self.reject(p.cmd, e);
        }
    }

    /// The popup's tokens are installed: every tab is logged in, and the promise resolves.
    pub(super) fn popup_installed(&mut self, cmd: u32) {
        self.flow = Flow::Idle;
        if self.redirect_tried {
            self.redirect_tried = false;
            let key = self.marker("silent-redirect");
            self.push(Action::Remove { key });
        }
        self.share_activity();
        self.post_transfer("login");
        self.push(Action::Emit(AppEvent::TokensChanged));
        self.resolve(cmd, String::from("null"));
        // Commands that waited for a renewal the login replaced.
        for (c, want) in core::mem::take(&mut self.waiters) {
            self.serve(c, want);
        }
    }
}
