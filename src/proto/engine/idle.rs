//! Idle logout (`idleTimeoutMs`): after so long without activity in any tab of the app, every
//! tab logs out; a warning comes first.
//!
//! Activity is the user's pointer, keys, scroll and focus in any tab (the shell reports it, at
//! most once per [`ACTIVITY_REPORT_MS`]) and `reportActivity()`. Tabs tell each other the time
//! of their latest activity, at most once per [`ACTIVITY_SHARE_MS`] (at once when it cancels a
//! warning) and at the latest that long after it, so every tab counts from the same moment,
//! warns at the same time and reaches zero at the same time. The count uses the wall clock: a laptop that slept past the timeout is
//! idle, and the touch that wakes it does not bring the session back.

use super::*;

/// The shell reports at most one activity of a tab per this long: pointer moves come by the
/// hundred a second, and the idle count needs no finer grain.
pub const ACTIVITY_REPORT_MS: f64 = 1_000.0;
/// A tab tells the others of its activity at most once per this long; activity it held back
/// is told when this long has passed, so the other tabs know of it well before any warning.
pub const ACTIVITY_SHARE_MS: f64 = 1_000.0;

impl Engine {
    /// The idle timeout, when it applies: configured, and someone is logged in.
    fn idle_timeout(&self) -> Option<f64> {
        self.session.as_ref()?;
        self.cfg.as_ref()?.idle_timeout_ms
    }

    /// When the idle logout comes, and the warning before it.
    fn idle_times(&self) -> Option<(f64, f64)> {
        let timeout = self.idle_timeout()?;
        let end = self.last_active + timeout;
        let warning = self.cfg.as_ref().map_or(0.0, |c| c.idle_warning_ms);
        Some((end, end - warning.min(timeout)))
    }

    /// The next idle wake-up: the warning, then the logout.
    pub(super) fn idle_wake(&self) -> Option<f64> {
        let (end, warn) = self.idle_times()?;
        let next = if self.idle_warned { end } else { warn };
        Some(if self.share_due {
            next.min(self.active_shared + ACTIVITY_SHARE_MS)
        } else {
            next
        })
    }

    /// The shell reports activity while idle logout applies, and not otherwise.
    pub(super) fn idle_watch(&mut self) {
        let want = self.idle_timeout().is_some();
        if want != self.watching {
            self.watching = want;
            self.push(Action::WatchActivity {
                every_ms: if want { ACTIVITY_REPORT_MS } else { 0.0 },
            });
        }
    }

    /// Activity at `at`: in this tab, or told by another (`from_tab`).
    pub(super) fn on_activity(&mut self, at: f64, from_tab: bool) {
        let Some((end, _)) = self.idle_times() else {
            self.last_active = self.last_active.max(at);
            return;
        };
        if self.now >= end {
            // The time ran out (the device slept, or this tab's timer was held back): the
            // activity that comes now is too late.
            return self.idle_logout();
        }
        if at <= self.last_active {
            return;
        }
        self.last_active = at;
        let warned = self.idle_warned;
        if warned {
            self.idle_warned = false;
            self.debug(&["idle: activity; the idle logout is off again"]);
            self.push(Action::Emit(AppEvent::IdleWarningCancelled));
        }
        if !from_tab {
            if warned || self.now - self.active_shared >= ACTIVITY_SHARE_MS {
                self.share_activity();
            } else {
                // Told when the throttle allows (idle_tick), not dropped.
                self.share_due = true;
            }
        }
    }

    /// Tells the other tabs when the user was last active here.
    pub(super) fn share_activity(&mut self) {
        self.share_due = false;
        if self.idle_timeout().is_none() {
            return;
        }
        self.active_shared = self.now;
        let msg = ObjectWriter::new()
            .str("t", "active")
            .num("at", self.last_active)
            .finish();
        self.post(msg);
    }

    /// A wake-up: the warning or the logout, when due.
    pub(super) fn idle_tick(&mut self) {
        let Some((end, warn)) = self.idle_times() else {
            return;
        };
        if self.share_due && self.now >= self.active_shared + ACTIVITY_SHARE_MS {
            self.share_activity();
        }
        if self.now >= end {
            self.idle_logout();
        } else if self.now >= warn && !self.idle_warned {
            self.idle_warned = true;
            let left = end - self.now;
            self.debug(&[
                "idle: logging out in ",
                &uint_text(left as u64),
                " ms unless the user does something",
            ]);
            self.push(Action::Emit(AppEvent::IdleWarning(left)));
        }
    }

    /// Every tab logs out; one of them also ends the provider's session unless told not to
    /// (`idleLogoutAtProvider: false`): a session left at the provider would come back at the
    /// next silent restore. The tabs reach zero together, so they ask for one Web Lock, only
    /// if no tab holds it: the one that gets it leaves for the end-session endpoint (and holds
    /// it until its page is gone), the others stay on their pages, logged out.
    fn idle_logout(&mut self) {
        let at_provider = self.cfg.as_ref().is_some_and(|c| c.idle_logout_at_provider);
        let target = if at_provider {
            self.logout_url(None).ok()
        } else {
            None
        };
        self.debug(&["idle: no activity in any tab for idleTimeoutMs; logging out"]);
        if !self.end_session() {
            return;
        }
        self.post(String::from("{\"t\":\"logout\",\"reason\":\"idle\"}"));
        self.push(Action::Emit(AppEvent::LoggedOut("idle")));
        if let Some(url) = target {
            let id = self.id();
            let name = cat(&[PREFIX, "idle-logout:", &self.key]);
            self.push(Action::Lock {
                id,
                name,
                shared: false,
                if_available: true,
            });
            self.idle_nav = Some((id, url));
        }
    }

    /// Lock `id` granted: if it is the idle logout's, this tab ends the provider's session.
    pub(super) fn on_idle_lock(&mut self, id: u32) -> bool {
        match self.idle_nav.take() {
            Some((x, url)) if x == id => {
                self.debug(&["idle: to the provider's end-session endpoint"]);
                self.push(Action::Navigate { url });
                true
            }
            other => {
                self.idle_nav = other;
                false
            }
        }
    }
}
