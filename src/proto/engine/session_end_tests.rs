//! Sessions that end when they should, and logins that keep the page: popup login, idle
//! logout, check_session and front-channel logout, each as what a user sees, on the
//! simulated world of `sim.rs`.

use super::sim::*;
use super::*;

const SECOND: f64 = 1_000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;

/// A world with `extra` JSON members added to the configuration.
fn world(extra: &str) -> World {
    let mut w = World::new();
    if !extra.is_empty() {
        w.config.pop();
        w.config.push(',');
        w.config.push_str(extra);
        w.config.push('}');
    }
    w
}

/// `n` tabs of the app, all logged in (tab 0 by a full-page login, the others by hand-over).
fn tabs(w: &mut World, n: usize) {
    let t = w.open_settled(PAGE);
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    for _ in 1..n {
        let t = w.open_settled(PAGE);
        assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    }
}

fn logged_out_reasons(w: &World, t: usize) -> Vec<&'static str> {
    w.tabs[t]
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            AppEvent::LoggedOut(r) => Some(*r),
            _ => None,
        })
        .collect()
}

fn warnings(w: &World, t: usize) -> Vec<(f64, f64)> {
    w.tabs[t]
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            AppEvent::IdleWarning(left) => Some((*at, *left)),
            _ => None,
        })
        .collect()
}

fn cancellations(w: &World, t: usize) -> usize {
    w.tabs[t]
        .events
        .iter()
        .filter(|(_, e)| *e == AppEvent::IdleWarningCancelled)
        .count()
}

fn result(w: &World, t: usize, cmd: u32) -> Option<core::result::Result<String, Code>> {
    w.result(t, cmd).map(|r| r.clone().map_err(|e| e.code))
}

/// `login({ popup: true })` in tab `t`, the user logs in there; it must have resolved.
fn popup_logged_in(w: &mut World, t: usize) {
    let cmd = w.login_popup(t);
    w.run_for(2.0 * SECOND);
    assert_eq!(
        result(w, t, cmd),
        Some(Ok(String::from("null"))),
        "{}",
        w.story(t)
    );
}

// -------------------------------------------------------------------------------------------
// Popup login

#[test]
fn a_popup_login_resolves_on_the_same_page_and_logs_in_every_tab() {
    let mut w = World::new();
    let a = w.open_settled(PAGE);
    let b = w.open_settled(PAGE);
    assert!(!w.tabs[a].is_logged_in() && !w.tabs[b].is_logged_in());
    let navigations = w.tabs[a].navigations.len();
    let cmd = w.login_popup(a);
    assert!(
        w.tabs[a].popup.is_some(),
        "the window opens during the click"
    );
    w.run_for(2.0 * SECOND);
    assert_eq!(
        result(&w, a, cmd),
        Some(Ok(String::from("null"))),
        "{}",
        w.story(a)
    );
    assert_eq!(
        w.tabs[a].navigations.len(),
        navigations,
        "the page never navigates"
    );
    assert!(
        w.tabs[a].is_logged_in() && w.tabs[b].is_logged_in(),
        "every tab is logged in"
    );
    assert_eq!(
        w.tabs[a].popup.map(|p| p.1),
        Some(true),
        "the popup is closed"
    );
    assert!(w.tabs[a]
        .events
        .iter()
        .any(|(_, e)| *e == AppEvent::TokensChanged));
    assert!(
        !w.tabs[a].storage.keys().any(|k| k.contains(":login:")),
        "the popup's login in flight stays in memory"
    );
    assert!(
        w.frame_urls.iter().all(|u| !u.contains("prompt=login")),
        "no silent request either"
    );
    w.assert_clean();
}

#[test]
fn a_popup_login_goes_to_the_silent_redirect_uri_without_prompt_none() {
    let mut w = world("\"silentRedirectUri\":\"https://app.example/silent.html\"");
    let a = w.open_settled(PAGE);
    popup_logged_in(&mut w, a);
    let code =
        w.op.token_requests
            .iter()
            .find(|r| r.grant_type == "authorization_code")
            .expect("a code exchange");
    assert_eq!(code.status, 200);
}

#[test]
fn a_blocked_popup_rejects_at_once() {
    let mut w = World::new();
    w.popup_blocked = true;
    let a = w.open_settled(PAGE);
    let navigations = w.tabs[a].navigations.len();
    let cmd = w.login_popup(a);
    w.run_for(0.0);
    assert_eq!(result(&w, a, cmd), Some(Err(Code::PopupBlocked)));
    assert!(!w.tabs[a].is_logged_in());
    assert_eq!(w.tabs[a].navigations.len(), navigations);
    // The page keeps working: a second attempt, popups allowed now, logs in.
    w.popup_blocked = false;
    let again = w.login_popup(a);
    w.run_for(2.0 * SECOND);
    assert_eq!(result(&w, a, again), Some(Ok(String::from("null"))));
    w.assert_clean();
}

#[test]
fn a_popup_the_user_closes_rejects_within_a_second() {
    let mut w = World::new();
    w.popup_closed_after = Some(7.0 * SECOND);
    let a = w.open_settled(PAGE);
    let cmd = w.login_popup(a);
    let closed_at = w.now + 7.0 * SECOND;
    w.run_until(closed_at - 1.0);
    assert_eq!(
        result(&w, a, cmd),
        None,
        "still waiting while the popup is open"
    );
    w.run_until(closed_at + popup::POPUP_POLL_MS);
    assert_eq!(result(&w, a, cmd), Some(Err(Code::LoginCancelled)));
    assert!(!w.tabs[a].is_logged_in());
    // No more polling of a window that is gone: the engine falls asleep.
    let wake = w.tabs[a].engine.wake_at().unwrap_or(f64::MAX);
    assert!(wake >= w.now + 29.0 * SECOND, "wake at {wake}");
}

#[test]
fn only_this_logins_popup_with_its_state_is_read() {
    let mut w = World::new();
    let a = w.open_settled(PAGE);
    let cmd = w.login_popup(a);
    // The digest and the window's navigation happen at once; the provider answers later.
    w.run_for(1.0);
    let id = w.tabs[a].popup.expect("a popup").0;
    let forged =
        "https://app.example/cb?code=stolen&state=someone-elses&iss=https%3A%2F%2Fop.example";
    w.deliver(
        a,
        Event::PopupAnswer {
            id,
            href: forged.to_string(),
        },
    );
    w.deliver(
        a,
        Event::PopupAnswer {
            id: id + 100,
            href: forged.to_string(),
        },
    );
    assert_eq!(
        result(&w, a, cmd),
        None,
        "a wrong state or window is not read"
    );
    w.run_for(2.0 * SECOND);
    assert_eq!(
        result(&w, a, cmd),
        Some(Ok(String::from("null"))),
        "{}",
        w.story(a)
    );
    assert_eq!(
        w.op.count("authorization_code"),
        1,
        "the forged code was never sent"
    );
}

#[test]
fn a_popup_login_while_logged_in_replaces_the_session_for_every_tab() {
    let mut w = World::new();
    tabs(&mut w, 2);
    w.op.session = None;
    w.op.user = String::from("bob");
    popup_logged_in(&mut w, 1);
    for t in 0..2 {
        let claims = w.tabs[t].claims.clone().unwrap_or_default();
        assert!(claims.contains("\"sub\":\"bob\""), "tab {t}: {claims}");
    }
    w.assert_clean();
}

// -------------------------------------------------------------------------------------------
// Idle logout

const IDLE: &str = "\"idleTimeoutMs\":60000,\"idleWarningMs\":10000";

#[test]
fn activity_in_one_tab_keeps_all_three_logged_in_then_all_warn_and_log_out_together() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 3);
    for t in 0..3 {
        assert!(w.tabs[t].watching, "tab {t} reports activity");
    }
    // Five minutes of activity in tab 1 only, every 20 s.
    for _ in 0..15 {
        w.run_for(20.0 * SECOND);
        w.activity(1);
    }
    let last = w.now;
    for t in 0..3 {
        assert!(w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert!(
            warnings(&w, t).is_empty(),
            "tab {t} warned while tab 1 was active"
        );
    }
    w.run_until(last + 50.0 * SECOND - 1.0);
    for t in 0..3 {
        assert!(warnings(&w, t).is_empty(), "tab {t}: too early");
    }
    w.run_until(last + 51.0 * SECOND);
    for t in 0..3 {
        let warned = warnings(&w, t);
        assert_eq!(warned.len(), 1, "tab {t}: {warned:?}");
        let (at, left) = warned[0];
        assert!(
            (at - (last + 50.0 * SECOND)).abs() <= 1_001.0,
            "tab {t} warned at {at}"
        );
        assert!(
            (left - 10.0 * SECOND).abs() <= 1_001.0,
            "tab {t}: {left} ms left"
        );
        assert!(w.tabs[t].is_logged_in());
    }
    w.run_until(last + 61.0 * SECOND);
    for t in 0..3 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert_eq!(logged_out_reasons(&w, t), vec!["idle"], "tab {t}");
        assert!(
            !w.tabs[t].navigations.iter().any(|u| u.contains("/logout")),
            "local only: no provider logout"
        );
        assert!(!w.tabs[t].watching, "tab {t} stops watching activity");
    }
    assert!(
        w.op.session.is_some(),
        "the provider's session stays (local only)"
    );
    w.assert_clean();
}

#[test]
fn activity_held_back_by_the_throttle_still_reaches_the_other_tabs_in_time() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 3);
    // A burst in tab 1: told at once; then more activity 0.6 s later, within the throttle.
    w.activity(1);
    w.run_for(600.0);
    w.activity(1);
    let last = w.now;
    // Nothing more anywhere: every tab counts from that last activity, not the first, and they
    // all warn at the same moment.
    w.run_until(last + 51.0 * SECOND);
    for t in 0..3 {
        let warned = warnings(&w, t);
        assert_eq!(warned.len(), 1, "tab {t}: {warned:?}");
        assert!(
            (warned[0].0 - (last + 50.0 * SECOND)).abs() <= 10.0,
            "tab {t} warned {} ms after the last activity",
            warned[0].0 - last
        );
    }
    w.assert_clean();
}

#[test]
fn activity_anywhere_cancels_the_warning_in_every_tab() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 3);
    w.activity(0);
    let start = w.now;
    w.run_until(start + 55.0 * SECOND);
    for t in 0..3 {
        assert_eq!(warnings(&w, t).len(), 1, "tab {t}");
    }
    w.activity(2);
    w.run_for(10.0);
    for t in 0..3 {
        assert_eq!(cancellations(&w, t), 1, "tab {t}\n{}", w.story(t));
    }
    // The count starts again from that activity: past the old zero, all still logged in.
    w.run_until(start + 100.0 * SECOND);
    for t in 0..3 {
        assert!(w.tabs[t].is_logged_in(), "tab {t}");
    }
    w.run_until(start + 55.0 * SECOND + 61.0 * SECOND);
    for t in 0..3 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}");
        assert_eq!(logged_out_reasons(&w, t), vec!["idle"]);
    }
}

#[test]
fn the_idle_logout_ends_the_provider_session_unless_told_otherwise() {
    let mut w = world(IDLE);
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 2);
    w.run_for(61.0 * SECOND);
    for t in 0..2 {
        assert_eq!(logged_out_reasons(&w, t), vec!["idle"], "tab {t}");
    }
    let to_provider = (0..2)
        .filter(|t| {
            w.tabs[*t]
                .navigations
                .iter()
                .any(|u| u.starts_with("https://op.example/logout") && u.contains("id_token_hint="))
        })
        .count();
    assert!(to_provider >= 1, "a tab ended the provider's session");
    assert!(w.op.session.is_none(), "the provider's session is over");
}

#[test]
fn a_laptop_that_slept_past_the_timeout_is_idle_even_if_touched_on_waking() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 3);
    w.run_for(5.0 * SECOND);
    w.sleep(8.0 * HOUR);
    // The user opens the lid and moves the mouse in tab 0 before any timer runs.
    w.activity(0);
    w.run_for(100.0);
    for t in 0..3 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert_eq!(logged_out_reasons(&w, t), vec!["idle"], "tab {t}");
    }
}

#[test]
fn without_idle_timeout_nothing_is_watched() {
    let mut w = World::new();
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 2);
    assert!(!w.tabs[0].watching && !w.tabs[1].watching);
    w.run_for(3.0 * HOUR);
    assert!(w.tabs[0].is_logged_in() && w.tabs[1].is_logged_in());
    assert!(warnings(&w, 0).is_empty());
}

#[test]
fn report_activity_counts_as_activity() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 2);
    for _ in 0..6 {
        w.run_for(30.0 * SECOND);
        let cmd = w.command(0, Command::Activity);
        assert_eq!(result(&w, 0, cmd), Some(Ok(String::from("null"))));
    }
    assert!(w.tabs[0].is_logged_in() && w.tabs[1].is_logged_in());
}

// -------------------------------------------------------------------------------------------
// check_session

fn checked(n: usize) -> World {
    let mut w = world("\"sessionCheckIntervalMs\":2000");
    w.op.check_session = true;
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, n);
    w
}

#[test]
fn one_tab_polls_for_all_and_every_tab_logs_out_when_the_user_logs_out_at_the_provider() {
    let mut w = checked(3);
    let before: Vec<u32> = w.tabs.iter().map(|t| t.polls).collect();
    w.run_for(20.0 * SECOND);
    let polling: Vec<usize> = (0..3).filter(|t| w.tabs[*t].polls > 0).collect();
    assert_eq!(polling.len(), 1, "one tab polls: {polling:?}");
    let polls = w.tabs[polling[0]].polls - before[polling[0]];
    assert!(
        (9..=11).contains(&polls),
        "every 2 s: {polls} polls in 20 s"
    );
    // The user logs out in the provider's account page.
    w.op.session = None;
    w.run_for(5.0 * SECOND);
    for t in 0..3 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert_eq!(logged_out_reasons(&w, t), vec!["provider"], "tab {t}");
        assert!(w.tabs[t].expired_events().is_empty());
    }
    assert!(
        w.tabs.iter().all(|t| t.check_frame.is_none()),
        "polling stopped"
    );
    w.assert_clean();
}

#[test]
fn a_changed_session_of_the_same_user_goes_on_with_new_tokens() {
    let mut w = checked(2);
    w.run_for(5.0 * SECOND);
    let before = w.op.count("authorization_code");
    // The user logged in again at the provider (a new provider session, same user).
    w.op.session_serial += 1;
    w.run_for(5.0 * SECOND);
    assert_eq!(
        w.op.count("authorization_code"),
        before + 1,
        "one silent request"
    );
    for t in 0..2 {
        assert!(w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert!(logged_out_reasons(&w, t).is_empty());
    }
    // The new session state is the one polled now: no second silent request.
    w.run_for(20.0 * SECOND);
    assert_eq!(w.op.count("authorization_code"), before + 1);
    w.assert_clean();
}

#[test]
fn another_user_at_the_provider_logs_every_tab_out() {
    let mut w = checked(2);
    w.run_for(3.0 * SECOND);
    w.op.user = String::from("bob");
    w.op.session = Some(String::from("bob"));
    w.op.session_serial += 1;
    w.run_for(5.0 * SECOND);
    for t in 0..2 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert_eq!(logged_out_reasons(&w, t), vec!["provider"]);
    }
}

#[test]
fn where_frames_cannot_see_the_provider_session_polling_stops_and_nobody_is_logged_out() {
    let mut w = world("\"sessionCheckIntervalMs\":2000");
    w.op.check_session = true;
    w.op.access_lifetime_s = 3600.0;
    // Third-party cookies blocked: the provider (another site) is blind in frames.
    w.op.iframe_blind = true;
    tabs(&mut w, 2);
    w.run_for(10.0 * SECOND);
    for t in 0..2 {
        assert!(w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert!(logged_out_reasons(&w, t).is_empty());
    }
    let polls: u32 = w.tabs.iter().map(|t| t.polls).sum();
    assert!(polls >= 1);
    assert!(
        w.tabs
            .iter()
            .any(|t| t.debug.iter().any(|d| d.contains("cannot tell"))),
        "debug says why"
    );
    w.run_for(60.0 * SECOND);
    assert_eq!(
        w.tabs.iter().map(|t| t.polls).sum::<u32>(),
        polls,
        "polling stopped"
    );
}

#[test]
fn when_the_polling_tab_closes_another_takes_over() {
    let mut w = checked(2);
    w.run_for(5.0 * SECOND);
    let p = (0..2)
        .find(|t| w.tabs[*t].polls > 0)
        .expect("a polling tab");
    let other = 1 - p;
    assert_eq!(w.tabs[other].polls, 0);
    w.close(p);
    w.run_for(10.0 * SECOND);
    assert!(w.tabs[other].polls >= 4, "{}", w.story(other));
}

#[test]
fn without_check_session_in_the_metadata_nothing_is_polled() {
    let mut w = world("\"sessionCheckIntervalMs\":2000");
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 2);
    w.run_for(30.0 * SECOND);
    assert!(w
        .tabs
        .iter()
        .all(|t| t.polls == 0 && t.check_frame.is_none()));
    assert!(w.tabs[0]
        .debug
        .iter()
        .any(|d| d.contains("session monitoring: no check_session")));
}

// -------------------------------------------------------------------------------------------
// Front-channel logout

const FC: &str = "\"frontChannelLogoutUri\":\"https://app.example/fc\"";

fn front_channel(w: &mut World, query: &str) -> usize {
    let t = w.tabs.len();
    let href = ["https://app.example/fc", query].concat();
    let requests = w.op.requests.len();
    w.open(PAGE);
    // That tab was opened as the app's page; the front-channel page is a frame the
    // provider's page embeds: a fresh tab stands in for it.
    w.tabs[t].embedder = Some(String::from("https://op.example"));
    w.load(t, &href);
    w.run_for(SECOND);
    assert_eq!(
        w.op.requests[requests..]
            .iter()
            .filter(|(x, _)| *x == t)
            .filter(|(_, p)| !p.contains("openid-configuration") && !p.contains("jwks"))
            .count(),
        0,
        "the front-channel page asks the provider for nothing"
    );
    t
}

#[test]
fn the_front_channel_logout_page_logs_every_tab_out() {
    let mut w = world(FC);
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 2);
    let sid = format!("sid-{}", w.op.session_serial);
    let fc = front_channel(&mut w, &format!("?iss=https%3A%2F%2Fop.example&sid={sid}"));
    for t in 0..2 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert_eq!(logged_out_reasons(&w, t), vec!["provider"], "tab {t}");
    }
    assert!(!w.tabs[fc].is_logged_in());
    assert!(w.tabs[fc]
        .debug
        .iter()
        .any(|d| d.contains("front-channel logout page, embedded by https://op.example")));
}

#[test]
fn a_front_channel_logout_with_a_wrong_iss_or_sid_is_ignored() {
    let mut w = world(FC);
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 2);
    front_channel(&mut w, "?iss=https%3A%2F%2Fevil.example&sid=x");
    front_channel(
        &mut w,
        "?iss=https%3A%2F%2Fop.example&sid=sid-of-someone-else",
    );
    for t in 0..2 {
        assert!(w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert!(logged_out_reasons(&w, t).is_empty());
    }
    // Without a sid, while the ID token has one: any page can frame the front-channel URI.
    front_channel(&mut w, "");
    for t in 0..2 {
        assert!(logged_out_reasons(&w, t).is_empty(), "tab {t}");
    }
}

#[test]
fn a_front_channel_logout_without_sid_ends_a_session_whose_id_token_has_none() {
    let mut w = world(FC);
    w.op.access_lifetime_s = 3600.0;
    w.op.no_sid = true;
    tabs(&mut w, 2);
    front_channel(&mut w, "?iss=https%3A%2F%2Fop.example");
    for t in 0..2 {
        assert_eq!(logged_out_reasons(&w, t), vec!["provider"], "tab {t}");
    }
}

#[test]
fn a_popup_login_with_dpop_binds_the_tokens_to_this_pages_key() {
    let mut w = world("\"dpop\":true");
    let a = w.open_settled(PAGE);
    popup_logged_in(&mut w, a);
    assert!(
        w.tabs[a]
            .proofs
            .iter()
            .any(|(u, _, _)| u.ends_with("/token")),
        "the code exchange carried a proof"
    );
    let get = w.get_tokens(a);
    w.run_for(100.0);
    let tokens = result(&w, a, get).and_then(|r| r.ok()).unwrap_or_default();
    assert_eq!(World::member(&tokens, "tokenType").as_deref(), Some("DPoP"));
}

// -------------------------------------------------------------------------------------------
// Regressions a review found

#[test]
fn a_login_after_a_long_logged_out_wait_starts_the_idle_count_afresh() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    let a = w.open_settled(PAGE);
    // The user reads the landing page for two minutes, then logs in with the popup.
    w.run_for(2.0 * MINUTE);
    popup_logged_in(&mut w, a);
    assert!(logged_out_reasons(&w, a).is_empty(), "{}", w.story(a));
    assert!(w.tabs[a].is_logged_in());
}

#[test]
fn a_background_tab_that_adopts_a_login_does_not_count_its_logged_out_time_as_idle() {
    let mut w = world(&[IDLE, ",\"idleLogoutAtProvider\":false"].concat());
    w.op.access_lifetime_s = 3600.0;
    let b = w.open_settled(PAGE);
    w.run_for(5.0 * MINUTE);
    let a = w.open_settled(PAGE);
    w.login(a);
    w.run_for(2.0 * SECOND);
    assert!(logged_out_reasons(&w, a).is_empty(), "{}", w.story(b));
    assert!(w.tabs[a].is_logged_in() && w.tabs[b].is_logged_in());
}

#[test]
fn at_an_idle_logout_one_tab_ends_the_provider_session_and_the_others_stay() {
    let mut w = world(IDLE);
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 3);
    w.run_for(61.0 * SECOND);
    let leaving = (0..3)
        .filter(|t| {
            w.tabs[*t]
                .navigations
                .iter()
                .any(|u| u.starts_with("https://op.example/logout"))
        })
        .count();
    assert_eq!(leaving, 1, "one tab leaves for the provider's logout");
    for t in 0..3 {
        assert_eq!(logged_out_reasons(&w, t), vec!["idle"], "tab {t}");
    }
    assert!(w.op.session.is_none());
}

/// Runs until tab 0's session check has its hidden iframe out.
fn until_check_frame(w: &mut World) {
    let frames = w.tabs[0].frames;
    for _ in 0..10_000 {
        if w.tabs[0].frames > frames {
            return;
        }
        w.run_for(10.0);
    }
    panic!("no silent request came: {}", w.story(0));
}

#[test]
fn renew_tokens_during_a_session_check_settles() {
    let mut w = checked(1);
    w.op.latency_ms = 300.0;
    w.run_for(3.0 * SECOND);
    w.op.session_serial += 1;
    until_check_frame(&mut w);
    let cmd = w.command(0, Command::RenewTokens);
    w.run_for(5.0 * SECOND);
    assert!(
        matches!(result(&w, 0, cmd), Some(Ok(_))),
        "{:?}\n{}",
        result(&w, 0, cmd),
        w.story(0)
    );
}

#[test]
fn a_logout_during_a_session_check_leaves_nothing_stuck() {
    let mut w = checked(1);
    w.op.access_lifetime_s = 600.0;
    w.op.latency_ms = 300.0;
    w.run_for(3.0 * SECOND);
    w.op.session_serial += 1;
    until_check_frame(&mut w);
    // Another tab logs out while the check's hidden iframe is out.
    w.deliver(
        0,
        Event::Tab {
            msg: String::from("{\"t\":\"logout\"}"),
        },
    );
    assert!(!w.tabs[0].is_logged_in());
    w.run_for(5.0 * SECOND);
    let b = w.open_settled(PAGE);
    w.login(b);
    w.run_for(2.0 * SECOND);
    assert!(w.tabs[0].is_logged_in(), "{}", w.story(0));
    w.close(b);
    w.run_for(30.0 * MINUTE);
    let cmd = w.get_tokens(0);
    w.run_for(30.0 * SECOND);
    assert!(matches!(result(&w, 0, cmd), Some(Ok(_))), "{}", w.story(0));
}

#[test]
fn a_session_check_whose_silent_request_keeps_failing_backs_off() {
    let mut w = checked(1);
    w.run_for(3.0 * SECOND);
    w.op.session_serial += 1;
    w.op.down = Some(Down::Status(503, None));
    let frames = w.tabs[0].frames;
    w.run_for(60.0 * SECOND);
    let n = w.tabs[0].frames - frames;
    assert!(n <= 6, "{n} silent requests in a minute");
    assert!(w.tabs[0].is_logged_in(), "a passing fault logs nobody out");
    // The provider recovers: the next check goes on with the same user.
    w.op.down = None;
    w.run_for(2.0 * MINUTE);
    assert!(w.tabs[0].is_logged_in());
    assert!(logged_out_reasons(&w, 0).is_empty());
}

#[test]
fn a_short_idle_timeout_warns_halfway_by_default() {
    let mut w = world("\"idleTimeoutMs\":30000,\"idleLogoutAtProvider\":false");
    w.op.access_lifetime_s = 3600.0;
    tabs(&mut w, 1);
    w.run_for(5.0 * SECOND);
    w.activity(0);
    let at = w.now;
    w.run_for(100.0);
    assert!(
        warnings(&w, 0).is_empty(),
        "no warning right after activity"
    );
    w.run_until(at + 16.0 * SECOND);
    let warned = warnings(&w, 0);
    assert_eq!(warned.len(), 1);
    assert!((warned[0].1 - 15.0 * SECOND).abs() <= 1_001.0, "{warned:?}");
}

#[test]
fn a_popup_login_during_a_renewal_waits_for_it_and_no_refresh_token_is_sent_twice() {
    let mut w = World::new();
    w.op.access_lifetime_s = 8.0;
    w.op.latency_ms = 400.0;
    tabs(&mut w, 2);
    // Start a popup login just before a renewal is due; its answer comes during the renewal.
    w.run_for(5.5 * SECOND);
    let cmd = w.login_popup(0);
    w.run_for(5.0 * SECOND);
    assert_eq!(
        result(&w, 0, cmd),
        Some(Ok(String::from("null"))),
        "{}",
        w.story(0)
    );
    for t in 0..2 {
        assert!(w.tabs[t].is_logged_in(), "tab {t}\n{}", w.story(t));
        assert!(w.tabs[t].expired_events().is_empty(), "tab {t}");
    }
    w.assert_clean();
}

#[test]
fn close_settles_a_popup_login_at_every_step() {
    // Before the window is sent, while it is at the provider, during the code exchange.
    for after_ms in [0.0, 1.0, 60.0, 110.0, 125.0] {
        let mut w = World::new();
        w.op.latency_ms = 50.0;
        let a = w.open_settled(PAGE);
        let cmd = w.login_popup(a);
        w.run_for(after_ms);
        w.close(a);
        assert!(
            matches!(result(&w, a, cmd), Some(Err(Code::InternalError))),
            "closed {after_ms} ms after the click: {:?}",
            result(&w, a, cmd)
        );
    }
}
