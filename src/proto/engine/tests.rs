//! The engine's rules, each as what a user sees, on the simulated world of `sim.rs`.

use super::sim::{self, *};
use super::*;

const SECOND: f64 = 1_000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;

/// A world whose provider issues `lifetime_s` access tokens, with tab 0 logged in on `PAGE`.
fn logged_in(lifetime_s: f64) -> World {
    let mut w = World::new();
    w.op.access_lifetime_s = lifetime_s;
    let t = w.open_settled(PAGE);
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    w
}

/// Opens `n` more tabs of the app; each takes the session over from the others.
fn more_tabs(w: &mut World, n: usize) {
    for _ in 0..n {
        let t = w.open_settled(PAGE);
        assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    }
}

/// When each refresh-token request was made.
fn refreshes(w: &World) -> Vec<f64> {
    w.op.token_requests
        .iter()
        .filter(|r| r.grant_type == "refresh_token")
        .map(|r| r.at)
        .collect()
}

fn err(w: &World, t: usize, cmd: u32) -> Error {
    match w.result(t, cmd) {
        Some(Err(e)) => e.clone(),
        other => panic!("command {cmd} of tab {t}: {other:?}\n{}", w.story(t)),
    }
}

fn ok(w: &World, t: usize, cmd: u32) -> String {
    match w.result(t, cmd) {
        Some(Ok(v)) => v.clone(),
        other => panic!("command {cmd} of tab {t}: {other:?}\n{}", w.story(t)),
    }
}

/// The access token expiry `getTokens()` resolved with.
fn expires_at(v: &str) -> f64 {
    World::member(v, "accessTokenExpiresAt")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

// -------------------------------------------------------------------------------------------
// Login and start

#[test]
fn a_user_logs_in_and_lands_on_the_page_they_were_on() {
    let mut w = World::new();
    let t = w.open_settled("https://app.example/orders?page=2");
    assert_eq!(ok(&w, t, 0), "{\"restoredVia\":null}");
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    assert_eq!(ok(&w, t, 0), "{\"restoredVia\":\"callback\"}");
    assert_eq!(w.tabs[t].href, "https://app.example/orders?page=2");
    // The login in flight left sessionStorage.
    assert!(!w.tabs[t].storage.keys().any(|k| k.contains(":login:")));
    let c = w.get_tokens(t);
    assert!(World::member(&ok(&w, t, c), "accessToken").is_some());
    w.assert_clean();
}

#[test]
fn a_second_tab_takes_the_session_over_without_asking_the_provider() {
    let mut w = logged_in(300.0);
    let before = w.op.requests.len();
    let b = w.open_settled(PAGE);
    assert_eq!(ok(&w, b, 0), "{\"restoredVia\":\"otherTab\"}");
    let c = w.get_tokens(b);
    let t = ok(&w, b, c);
    assert!(World::member(&t, "accessToken").is_some());
    // No discovery, no JWKS, no token request: nothing at all.
    assert_eq!(w.op.requests.len(), before, "{:?}", w.op.requests);
    assert!(w.op.requests.iter().all(|(tab, _)| *tab != b));
    // And when the renewal falls due in that tab, it has the metadata and keys already.
    let c = w.command(b, Command::RenewTokens);
    w.run_for(SECOND);
    ok(&w, b, c);
    let from_b: Vec<_> = w.op.requests.iter().filter(|(tab, _)| *tab == b).collect();
    assert_eq!(from_b, [&(b, String::from("/token"))]);
    let last = w.op.token_requests.last().unwrap();
    assert_eq!((last.tab, last.status), (b, 200));
    w.assert_clean();
}

#[test]
fn the_hidden_iframe_restores_a_session_the_provider_still_has() {
    let mut w = World::new();
    w.op.session = Some(String::from(USER));
    let t = w.open_settled(PAGE);
    assert_eq!(
        ok(&w, t, 0),
        "{\"restoredVia\":\"iframe\"}",
        "{}",
        w.story(t)
    );
    assert!(w.tabs[t].is_logged_in());
    assert_eq!(w.tabs[t].frames, 1);
    assert!(w.tabs[t].navigations.is_empty());
    w.assert_clean();
}

#[test]
fn consent_required_is_retried_once_without_offline_access_and_renewals_use_the_iframe() {
    let mut w = World::new();
    w.op.session = Some(String::from(USER));
    w.op.consent_offline = true;
    w.op.access_lifetime_s = 60.0;
    let t = w.open_settled(PAGE);
    assert_eq!(
        ok(&w, t, 0),
        "{\"restoredVia\":\"iframe\"}",
        "{}",
        w.story(t)
    );
    assert_eq!(w.tabs[t].frames, 2, "{}", w.story(t));
    assert!(w.tabs[t]
        .storage
        .keys()
        .any(|k| k.starts_with("pixy-oidc:no-silent-offline:")));
    // No refresh token came: the renewal goes through the iframe, without offline_access,
    // at once (no second consent_required round).
    w.run_for(2.0 * MINUTE);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    assert_eq!(w.op.count("refresh_token"), 0);
    assert!(w.tabs[t].frames >= 4, "{}", w.tabs[t].frames);
    assert_eq!(
        w.tabs[t].frames,
        2 + w.op.count("authorization_code") as u32 - 1
    );
    w.assert_clean();
}

#[test]
fn one_silent_redirect_per_tab_session_and_the_user_stays_on_the_page_they_opened() {
    let mut w = World::new();
    let page = "https://app.example/reports?year=2024";
    let t = w.open_settled(page);
    // The iframe found nothing; the provider is on another site, so one top-level prompt=none
    // redirect was tried; it came back with login_required.
    assert_eq!(w.tabs[t].navigations.len(), 1, "{}", w.story(t));
    assert!(w.tabs[t].navigations[0].contains("prompt=none"));
    assert_eq!(ok(&w, t, 0), "{\"restoredVia\":null}", "{}", w.story(t));
    assert!(!w.tabs[t].is_logged_in());
    assert_eq!(w.tabs[t].href, page);
    // Reloading the page does not redirect again.
    w.reload(t);
    w.run_for(5.0 * SECOND);
    assert_eq!(ok(&w, t, 0), "{\"restoredVia\":null}");
    assert_eq!(w.tabs[t].navigations.len(), 1, "{}", w.story(t));
    w.assert_clean();
}

#[test]
fn the_silent_redirect_finds_the_session_the_iframe_cannot_see() {
    let mut w = World::new();
    w.op.session = Some(String::from(USER));
    w.op.iframe_blind = true;
    let page = "https://app.example/reports?year=2024";
    let t = w.open_settled(page);
    assert_eq!(
        ok(&w, t, 0),
        "{\"restoredVia\":\"redirect\"}",
        "{}",
        w.story(t)
    );
    assert!(w.tabs[t].is_logged_in());
    assert_eq!(w.tabs[t].href, page);
    assert_eq!(w.tabs[t].navigations.len(), 1);
    // A session exists again: the marker is gone, so a later tab session may redirect once.
    assert!(!w.tabs[t]
        .storage
        .keys()
        .any(|k| k.contains("silent-redirect")));
    w.assert_clean();
}

// -------------------------------------------------------------------------------------------
// Renewal across tabs

/// Three tabs each calling `getTokens()` every second for `lifetimes` token lifetimes.
fn three_busy_tabs(lifetime_s: f64, lifetimes: f64) {
    let mut w = logged_in(lifetime_s);
    more_tabs(&mut w, 2);
    let start = w.now;
    let end = start + lifetimes * lifetime_s * SECOND;
    let mut cmds = Vec::new();
    while w.now < end {
        for t in 0..3 {
            cmds.push((t, w.get_tokens(t), w.now));
        }
        w.run_for(SECOND);
    }
    w.run_for(SECOND);
    for (t, c, at) in cmds {
        let v = ok(&w, t, c);
        assert!(expires_at(&v) > at, "tab {t} got an expired token at {at}");
    }
    // A renewal is due a quarter of the lifetime (at most a minute) before the expiry: one
    // token request per token, for all tabs together.
    let lead = (lifetime_s * SECOND / 4.0).min(MAX_RENEW_LEAD_MS);
    let interval = lifetime_s * SECOND - lead;
    let r: Vec<f64> = refreshes(&w)
        .into_iter()
        .filter(|t| (start..end).contains(t))
        .collect();
    let most = ((end - start) / interval).ceil() as usize;
    assert!(
        !r.is_empty() && r.len() <= most,
        "{} refreshes in {} s of {lifetime_s} s tokens (at most {most})",
        r.len(),
        (end - start) / SECOND
    );
    for pair in r.windows(2) {
        assert!(
            pair[1] - pair[0] >= interval - 2.0 * SECOND,
            "two refreshes {} ms apart",
            pair[1] - pair[0]
        );
    }
    w.assert_clean();
}

#[test]
fn three_tabs_with_5_s_tokens_make_one_token_request_per_lifetime() {
    three_busy_tabs(5.0, 12.0);
}

#[test]
fn three_tabs_with_8_s_tokens_make_one_token_request_per_lifetime() {
    three_busy_tabs(8.0, 10.0);
}

#[test]
fn three_tabs_with_60_s_tokens_make_one_token_request_per_lifetime() {
    three_busy_tabs(60.0, 5.0);
}

#[test]
fn three_tabs_with_1_h_tokens_make_one_token_request_per_lifetime() {
    three_busy_tabs(3600.0, 3.0);
}

#[test]
fn two_tabs_renewing_at_once_never_reuse_a_rotated_refresh_token() {
    for post_delay in [1.0, 100.0, 2_000.0] {
        let mut w = logged_in(60.0);
        more_tabs(&mut w, 1);
        w.post_delay_ms = post_delay;
        let a = w.command(0, Command::RenewTokens);
        let b = w.command(1, Command::RenewTokens);
        w.run_for(10.0 * SECOND);
        ok(&w, 0, a);
        // A tab that cannot catch up in time retries later, never with the old token.
        let _ = w.result(1, b);
        // Both tabs keep renewing when due, with a slow channel too.
        for _ in 0..300 {
            w.get_tokens(0);
            w.get_tokens(1);
            w.run_for(SECOND);
        }
        assert!(w.tabs[0].is_logged_in() && w.tabs[1].is_logged_in());
        for r in &w.op.token_requests {
            if let Some(rt) = &r.refresh_token {
                assert_eq!(w.uses_of(rt), 1, "{rt} sent twice (delay {post_delay})");
            }
        }
        assert!(w.op.count("refresh_token") >= 6);
        w.assert_clean();
    }
}

// -------------------------------------------------------------------------------------------
// Passing faults

/// The provider is down (`down`) from a second before the renewal of a `lifetime_s` token is
/// due, for `outage` ms; the app calls `getTokens()` every second until the provider is back.
fn outage(down: Down, lifetime_s: f64, outage: f64) -> (World, f64, f64) {
    let mut w = logged_in(lifetime_s);
    let c = w.get_tokens(0);
    let expiry = expires_at(&ok(&w, 0, c));
    let lead = (lifetime_s * SECOND / 4.0).min(MAX_RENEW_LEAD_MS);
    w.run_until(expiry - lead - SECOND);
    w.op.down = Some(down);
    let from = w.now;
    let until = from + outage;
    assert!(until > expiry);
    let mut fault_codes = Vec::new();
    while w.now < until {
        let c = w.get_tokens(0);
        w.run_for(SECOND);
        if let Some(Err(e)) = w.result(0, c) {
            fault_codes.push((w.now, e.code));
        }
    }
    w.op.down = None;
    // Every rejection came while the token was expired, with the fault's code.
    for (at, code) in &fault_codes {
        assert!(
            *at >= expiry,
            "rejected at {at}, before the expiry {expiry}"
        );
        assert!(
            matches!(code, Code::HttpError | Code::NetworkError | Code::Timeout),
            "{code:?}"
        );
    }
    assert!(!fault_codes.is_empty());
    (w, from, until)
}

#[test]
fn the_provider_down_for_10_s_across_the_expiry_keeps_the_session() {
    let (mut w, from, until) = outage(Down::Status(503, None), 20.0, 10.0 * SECOND);
    let during = refreshes(&w)
        .into_iter()
        .filter(|t| *t >= from && *t < until)
        .count();
    assert!((1..=5).contains(&during), "{during} attempts in 10 s");
    // Back without any command: the session goes on.
    let changed = w.tabs[0].events.len();
    w.run_for(2.0 * MINUTE);
    assert!(w.tabs[0].is_logged_in(), "{}", w.story(0));
    assert!(w.tabs[0].events.len() > changed);
    assert!(w.tabs[0].expired_events().is_empty());
    let c = w.get_tokens(0);
    assert!(expires_at(&ok(&w, 0, c)) > w.now);
    w.assert_clean();
}

#[test]
fn the_provider_down_for_10_min_keeps_the_session_and_backs_off_with_jitter() {
    let (mut w, from, until) = outage(Down::Network, 60.0, 10.0 * MINUTE);
    let tries: Vec<f64> = refreshes(&w)
        .into_iter()
        .filter(|t| *t >= from && *t < until)
        .collect();
    // 2 s, 4 s, ... up to a minute, each between half and all of it: about 15 in 10 minutes.
    assert!(
        (8..=25).contains(&tries.len()),
        "{} attempts in 10 min",
        tries.len()
    );
    let gaps: Vec<f64> = tries.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(gaps.iter().all(|g| *g <= BACKOFF_MAX_MS + 1.0), "{gaps:?}");
    let late: Vec<f64> = gaps.iter().copied().skip(6).collect();
    assert!(late.iter().all(|g| *g >= BACKOFF_MAX_MS / 2.0), "{gaps:?}");
    // Jitter: the capped gaps are not all the same.
    assert!(
        late.windows(2).any(|p| (p[0] - p[1]).abs() > 100.0),
        "{gaps:?}"
    );
    // The provider is back; no command: the next attempt renews, the session goes on.
    w.run_for(2.0 * MINUTE);
    assert!(w.tabs[0].is_logged_in(), "{}", w.story(0));
    assert!(w.tabs[0].expired_events().is_empty());
    let next = refreshes(&w).into_iter().find(|t| *t >= until).unwrap();
    assert!(next <= until + BACKOFF_MAX_MS + 1.0);
    let c = w.get_tokens(0);
    assert!(expires_at(&ok(&w, 0, c)) > w.now);
    w.assert_clean();
}

#[test]
fn get_tokens_rejects_with_the_faults_code_while_the_token_is_expired() {
    let mut w = logged_in(10.0);
    w.op.down = Some(Down::Status(503, None));
    w.run_for(11.0 * SECOND);
    let c = w.get_tokens(0);
    w.run_for(100.0);
    let e = err(&w, 0, c);
    assert_eq!(e.code, Code::HttpError, "{}", e.message);
    w.op.down = Some(Down::Network);
    w.run_for(2.0 * MINUTE);
    let c = w.get_tokens(0);
    w.run_for(100.0);
    assert_eq!(err(&w, 0, c).code, Code::NetworkError);
    assert!(w.tabs[0].is_logged_in());
    w.assert_clean();
}

fn retry_after(status: u16, seconds: &str) {
    let mut w = logged_in(60.0);
    w.op.down = Some(Down::Status(status, Some(seconds.to_string())));
    // The renewal falls due 45 s in.
    w.run_for(46.0 * SECOND);
    let c = w.command(0, Command::RenewTokens);
    w.run_for(SECOND);
    assert_eq!(err(&w, 0, c).code, Code::HttpError);
    let wait: f64 = seconds.parse::<f64>().unwrap() * SECOND;
    w.run_for(wait + 10.0 * SECOND);
    let r = refreshes(&w);
    assert!(r.len() >= 3, "{r:?}\n{}", w.story(0));
    // The due renewal's retry, and the forced one's: each when the provider said.
    let gap = r[2] - r[1];
    assert!(
        (wait..wait + 200.0).contains(&gap),
        "came back after {gap} ms, asked {wait}: {r:?}"
    );
    w.assert_clean();
}

#[test]
fn a_503_with_retry_after_is_retried_when_the_provider_says() {
    retry_after(503, "30");
}

#[test]
fn a_429_with_retry_after_is_retried_when_the_provider_says() {
    retry_after(429, "120");
}

#[test]
fn online_and_visible_retry_at_once() {
    for event in [Event::Online, Event::Visible] {
        let mut w = logged_in(60.0);
        w.op.down = Some(Down::Network);
        while refreshes(&w).is_empty() {
            w.run_for(100.0);
        }
        w.run_for(100.0);
        w.op.down = None;
        let at = w.now;
        w.deliver(0, event.clone());
        w.run_for(200.0);
        let r = refreshes(&w);
        assert_eq!(r.len(), 2, "{event:?}: {}", w.story(0));
        assert_eq!(r[1], at);
        w.assert_clean();
    }
}

#[test]
fn a_laptop_asleep_for_8_hours_renews_on_waking() {
    for wake in [Event::Timer, Event::Visible] {
        let mut w = logged_in(3600.0);
        w.sleep(8.0 * HOUR);
        let at = w.now;
        w.deliver(0, wake.clone());
        w.run_for(SECOND);
        let r = refreshes(&w);
        assert_eq!(r, [at], "{wake:?}: {}", w.story(0));
        assert!(w.tabs[0].is_logged_in());
        let c = w.get_tokens(0);
        w.run_for(10.0);
        assert!(expires_at(&ok(&w, 0, c)) > w.now);
        w.assert_clean();
    }
}

#[test]
fn a_laptop_asleep_for_8_hours_whose_grant_was_revoked_ends_the_session() {
    let mut w = logged_in(3600.0);
    more_tabs(&mut w, 1);
    w.op.revoke_all();
    w.sleep(8.0 * HOUR);
    w.deliver(0, Event::Visible);
    w.run_for(SECOND);
    for t in 0..2 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}: {}", w.story(t));
    }
    let e = w.tabs[0].expired_events();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code, Code::SessionExpired);
    assert_eq!(e[0].error.as_deref(), Some("invalid_grant"));
    // The other tab's own renewal (its timer) ends it there too, with one more request at most.
    w.run_for(MINUTE);
    assert!(refreshes(&w).len() <= 2);
    w.assert_clean();
}

// -------------------------------------------------------------------------------------------
// Final answers end the session

#[test]
fn invalid_grant_ends_the_session_with_session_expired_and_the_providers_error() {
    let mut w = logged_in(60.0);
    let g = w.get_tokens(0);
    w.op.revoke_all();
    let c = w.command(0, Command::RenewTokens);
    w.run_for(SECOND);
    ok(&w, 0, g);
    let e = err(&w, 0, c);
    assert_eq!(e.code, Code::SessionExpired);
    assert_eq!(e.error.as_deref(), Some("invalid_grant"));
    assert!(!w.tabs[0].is_logged_in());
    assert_eq!(w.tabs[0].expired_events().len(), 1);
    let c = w.get_tokens(0);
    assert_eq!(err(&w, 0, c).code, Code::NotLoggedIn);
    w.assert_clean();
}

#[test]
fn a_refreshed_id_token_about_someone_else_ends_the_session() {
    let mut w = logged_in(60.0);
    w.op.refresh_sub = Some(String::from("mallory"));
    let c = w.command(0, Command::RenewTokens);
    w.run_for(SECOND);
    let e = err(&w, 0, c);
    assert_eq!(e.code, Code::SessionExpired, "{}", e.message);
    assert!(e.message.contains("sub"), "{}", e.message);
    assert!(!w.tabs[0].is_logged_in());
    assert!(w.tabs[0].claims.is_none());
    w.assert_clean();
}

#[test]
fn a_forged_refreshed_id_token_ends_the_session() {
    let mut w = logged_in(60.0);
    more_tabs(&mut w, 1);
    let c = w.get_tokens(1);
    let before = World::member(&ok(&w, 1, c), "accessToken");
    w.op.forge_next = true;
    let c = w.command(0, Command::RenewTokens);
    w.run_for(SECOND);
    let e = err(&w, 0, c);
    assert_eq!(e.code, Code::SessionExpired);
    assert!(e.message.contains("signature"), "{}", e.message);
    assert!(!w.tabs[0].is_logged_in());
    // The forged tokens never reached the other tab.
    let c = w.get_tokens(1);
    let v = ok(&w, 1, c);
    assert_eq!(World::member(&v, "accessToken"), before);
    w.assert_clean();
}

// -------------------------------------------------------------------------------------------
// Logout and close

#[test]
fn a_logout_during_a_renewal_is_not_undone_by_the_late_answer() {
    let mut w = logged_in(60.0);
    more_tabs(&mut w, 2);
    w.op.latency_ms = 2_000.0;
    // Tab 1 renews; the answer is on its way when the user logs out in tab 0.
    let r = w.command(1, Command::RenewTokens);
    w.run_for(500.0);
    w.command(0, Command::Logout { redirect_to: None });
    w.run_for(10.0 * SECOND);
    assert_eq!(w.op.count("refresh_token"), 1);
    assert_eq!(err(&w, 1, r).code, Code::NotLoggedIn);
    for t in [1, 2] {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}: {}", w.story(t));
    }
    assert!(w.tabs[1]
        .events
        .iter()
        .all(|(_, e)| *e != AppEvent::TokensChanged));
    assert!(w.locks_of(1).is_empty(), "{:?}", w.locks_of(1));
    w.run_for(5.0 * MINUTE);
    assert_eq!(w.op.count("refresh_token"), 1);
    w.assert_clean();
}

#[test]
fn a_session_handed_over_after_a_logout_is_ignored() {
    let mut w = logged_in(60.0);
    more_tabs(&mut w, 2);
    w.post_delay_ms = 500.0;
    // Tab 0 renews and tells the others; tab 1's logout reaches tab 2 before that does.
    w.command(1, Command::Logout { redirect_to: None });
    w.run_for(10.0);
    w.command(0, Command::RenewTokens);
    w.run_for(5.0 * SECOND);
    for t in 0..3 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}: {}", w.story(t));
    }
    w.assert_clean();
}

#[test]
fn close_lets_go_of_everything() {
    let mut w = logged_in(60.0);
    w.op.latency_ms = 1_000.0;
    let r = w.command(0, Command::RenewTokens);
    w.run_for(100.0);
    assert!(!w.locks_of(0).is_empty());
    w.close(0);
    assert!(w.locks_of(0).is_empty(), "{:?}", w.locks_of(0));
    assert_eq!(w.tabs[0].engine.wake_at(), None);
    assert_eq!(err(&w, 0, r).code, Code::InternalError);
    let c = w.get_tokens(0);
    assert_eq!(err(&w, 0, c).code, Code::InternalError);
    assert!(!w.tabs[0].engine.is_logged_in());
    w.assert_clean();
}

// -------------------------------------------------------------------------------------------
// The shell's mistakes

#[test]
fn malformed_events_are_errors_not_panics() {
    for text in [
        "",
        "null",
        "[]",
        "{}",
        "{\"type\":7}",
        "{\"type\":\"nope\"}",
        "{\"type\":\"start\"}",
        "{\"type\":\"start\",\"config\":\"{}\",\"href\":\"x\",\"stored\":[[1,2]]}",
        "{\"type\":\"command\",\"cmd\":0,\"name\":\"getTokens\"}",
        "{\"type\":\"command\",\"cmd\":1.5,\"name\":\"getTokens\"}",
        "{\"type\":\"response\",\"id\":-1,\"status\":200,\"body\":\"\"}",
        "{\"type\":\"response\",\"id\":1e300,\"status\":200,\"body\":\"\"}",
        "{\"type\":\"failed\",\"id\":1,\"reason\":\"meteor\"}",
        "{\"type\":\"digest\",\"id\":1,\"bytes\":\"!!\"}",
        "{\"type\":\"verified\",\"id\":1,\"ok\":\"yes\"}",
        "{\"type\":\"locks\",\"id\":1,\"names\":[1]}",
        "{\"type\":\"tab\"}",
    ] {
        let e = Event::from_json(text).expect_err(text);
        assert_eq!(e.code, Code::InternalError, "{text}");
    }
    let mut e = Engine::new(Box::new(|_| true));
    assert!(e
        .handle(
            T0,
            Event::Command {
                cmd: 1,
                command: Command::GetTokens
            }
        )
        .is_err());
    e.handle(
        T0,
        Event::Start {
            config: config(),
            href: String::from(PAGE),
            stored: Vec::new(),
            secure: true,
            held: None,
            embedder: None,
        },
    )
    .unwrap();
    assert!(e
        .handle(
            T0,
            Event::Start {
                config: config(),
                href: String::from(PAGE),
                stored: Vec::new(),
                secure: true,
                held: None,
                embedder: None,
            }
        )
        .is_err());
    // Answers to nothing and messages of any shape are ignored.
    for ev in [
        Event::Response {
            id: 999,
            status: 200,
            content_type: None,
            body: String::new(),
            retry_after: None,
            dpop_nonce: None,
            www_authenticate: None,
        },
        Event::Digest {
            id: 0,
            bytes: Vec::new(),
        },
        Event::Verified { id: 5, ok: true },
        Event::LockGranted { id: 77 },
        Event::Locks {
            id: 3,
            names: Some(vec![String::from("pixy-oidc:gen:x:1e999")]),
        },
        Event::Locks { id: 3, names: None },
        Event::Tab {
            msg: String::from("{\"t\":\"session\",\"s\":\"{}\"}"),
        },
        Event::Tab {
            msg: String::from("]"),
        },
        Event::Timer,
    ] {
        e.handle(T0 + 1.0, ev).unwrap();
    }
}

#[test]
fn a_page_with_a_bad_config_rejects_the_start() {
    let mut w = World::new();
    w.config = String::from("{\"issuer\":\"http://op.example\",\"clientId\":\"app\"}");
    let t = w.open_settled(PAGE);
    assert_eq!(err(&w, t, 0).code, Code::InvalidConfig);
    w.assert_clean();
}

#[test]
fn a_logout_in_another_tab_does_not_leave_a_starting_tab_hanging() {
    // Tab 0 is open, logged out; the provider still has a session (say, from another app).
    // Tab 1 opens and restores it with the hidden iframe; the user clicks "log out" in tab 0
    // while the iframe (or the code exchange) is on its way: createOidc in tab 1 must settle.
    for at in [1_100.0, 2_060.0, 2_090.0] {
        let mut w = World::new();
        let x = w.open_settled(PAGE);
        w.op.session = Some(String::from(USER));
        w.op.latency_ms = 1_000.0;
        let b = w.open(PAGE);
        w.run_for(at);
        w.command(x, Command::Logout { redirect_to: None });
        w.run_for(30.0 * SECOND);
        assert!(w.result(b, 0).is_some(), "at {at}: {}", w.story(b));
        w.assert_clean();
    }
}

#[test]
fn a_login_elsewhere_while_a_renewal_finishes_does_not_wedge_the_renewals() {
    // Tab 0 installed renewed tokens and waits for its generation lock; before the lock
    // manager grants it, a login as someone else arrives from another tab.
    let mut w = logged_in(60.0);
    w.lock_delay_ms = 5.0;
    let r = w.command(0, Command::RenewTokens);
    while !w
        .locks_of(0)
        .iter()
        .any(|n| n.contains(":gen:") && !n.ends_with(":1"))
    {
        w.run_for(1.0);
        assert!(w.now < T0 + HOUR, "{}", w.story(0));
    }
    let msg = session_message(&w, "login", &[]);
    w.deliver(0, Event::Tab { msg });
    w.run_for(SECOND);
    ok(&w, 0, r);
    // The renewal lock was let go: the next renewal happens.
    let c = w.command(0, Command::RenewTokens);
    w.run_for(SECOND);
    assert!(w.result(0, c).is_some(), "{}", w.story(0));
    assert!(
        !w.locks_of(0).iter().any(|n| n.contains(":renew:")),
        "{:?}",
        w.locks_of(0)
    );
}

#[test]
fn a_start_with_no_tab_holding_a_session_does_not_wait_for_a_hand_over() {
    let mut w = World::new();
    let t = w.open_settled(PAGE);
    let story = w.story(t);
    assert!(
        story.contains("start: no other tab holds a session"),
        "{story}"
    );
    assert!(
        !story.contains("start: no other tab has a session"),
        "the 25 ms wait ran out: {story}"
    );
    // With a logged-in tab open, a new tab waits for its hand-over and gets the session.
    w.login(t);
    let u = w.open_settled(PAGE);
    assert!(w.tabs[u].is_logged_in(), "{}", w.story(u));
    assert!(
        !w.story(u).contains("no other tab holds a session"),
        "{}",
        w.story(u)
    );
}

#[test]
fn a_new_tab_waits_for_a_slow_tab_that_holds_a_session_but_not_for_ever() {
    // A busy machine or a background tab: the answer takes 300 ms, not a few. The locks show
    // that a tab holds a session, so the start waits for it instead of asking the provider.
    let mut w = logged_in(300.0);
    w.post_delay_ms = 300.0;
    let before = w.op.requests.len();
    let b = w.open_settled(PAGE);
    assert_eq!(
        ok(&w, b, 0),
        "{\"restoredVia\":\"otherTab\"}",
        "{}",
        w.story(b)
    );
    assert_eq!(w.op.requests.len(), before, "{:?}", w.op.requests);
    // A tab that holds its lock but never answers (frozen): the start goes on by itself after
    // the longer wait and restores the session from the provider.
    w.post_delay_ms = 60_000.0;
    let c = w.open(PAGE);
    w.run_for(HANDOVER_HELD_MS - 50.0);
    assert!(w.result(c, 0).is_none(), "still waiting: {}", w.story(c));
    w.run_for(5_000.0);
    assert!(w.tabs[c].is_logged_in(), "{}", w.story(c));
    assert!(
        w.story(c).contains("start: no other tab has a session"),
        "{}",
        w.story(c)
    );
    assert!(
        w.op.requests.iter().any(|(tab, _)| *tab == c),
        "restored at the provider"
    );
}

#[test]
fn a_start_that_hears_of_a_logout_takes_no_answer_sent_before_it() {
    // Tab 2 starts and asks; tab 1 logs out right after; tab 0 answers tab 2 before it hears
    // of the logout. Tab 2 must not be the one tab left logged in.
    let mut w = logged_in(3600.0);
    more_tabs(&mut w, 1);
    w.post_delay_ms = 300.0;
    let c = w.open(PAGE);
    w.run_for(1.0);
    w.command(1, Command::Logout { redirect_to: None });
    w.run_for(5.0 * SECOND);
    for t in 0..3 {
        assert!(!w.tabs[t].is_logged_in(), "tab {t}: {}", w.story(t));
    }
    assert!(w
        .story(c)
        .contains("another tab logged out; no hand-over taken now"));
}

/// A session message as another tab sends it (`extra`: more members, e.g. `to` or `news`).
fn session_message(w: &World, kind: &str, extra: &[(&str, &str)]) -> String {
    let claims = format!(
        "{{\"iss\":\"{ISSUER}\",\"sub\":\"bob\",\"aud\":\"{CLIENT}\",\"exp\":{},\"iat\":{}}}",
        (w.now / SECOND).floor() + 300.0,
        (w.now / SECOND).floor()
    );
    let session = json::ObjectWriter::new()
        .str("access_token", "bob-at")
        .str("id_token", "x.y.z")
        .str("refresh_token", "bob-rt")
        .str("claims", &claims)
        .num("generation", 7.0)
        .num("access_expires_at_ms", w.now + 60.0 * SECOND)
        .finish();
    let mut m = json::ObjectWriter::new()
        .str("t", kind)
        .str("s", &session)
        .str("meta", &sim::Provider::discovery())
        .str("jwks", &sim::Provider::jwks());
    for (k, v) in extra {
        m = m.str(k, v);
    }
    m.finish()
}

#[test]
fn a_starting_tab_takes_an_older_versions_answer_but_not_another_tabs_news() {
    // Tab 0's answers never arrive in time (its messages take a minute); tab 1 starts.
    let mut w = logged_in(3600.0);
    w.post_delay_ms = 60_000.0;
    let b = w.open(PAGE);
    w.run_for(10.0);
    // A renewal's news and an answer to another page's hello: not for this start.
    let news = session_message(&w, "session", &[("news", "1")]);
    w.deliver(b, Event::Tab { msg: news });
    let other = session_message(&w, "session", &[("to", "someone-else")]);
    w.deliver(b, Event::Tab { msg: other });
    w.run_for(10.0);
    assert!(w.result(b, 0).is_none(), "{}", w.story(b));
    // An answer without `to` or `news`: a tab running an older version of the library.
    let old = session_message(&w, "session", &[]);
    w.deliver(b, Event::Tab { msg: old });
    w.run_for(10.0);
    assert_eq!(
        ok(&w, b, 0),
        "{\"restoredVia\":\"otherTab\"}",
        "{}",
        w.story(b)
    );
}

/// An engine started on `PAGE` at `T0`, with the locks held just before (`None`: unknown).
fn engine_started(held: Option<Vec<String>>) -> Engine {
    let mut e = Engine::new(Box::new(|b: &mut [u8]| {
        b.fill(7);
        true
    }));
    e.handle(
        T0,
        Event::Start {
            config: config(),
            href: String::from(PAGE),
            stored: Vec::new(),
            secure: true,
            held,
            embedder: None,
        },
    )
    .unwrap();
    e
}

/// Whether the actions ask the provider for its discovery document.
fn asks_discovery(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|x| matches!(x, Action::Fetch { url, .. } if url.ends_with("/.well-known/openid-configuration")))
}

#[test]
fn how_long_a_start_waits_for_a_hand_over_depends_on_what_the_locks_tell() {
    let start = |held: Option<Vec<String>>| {
        let mut e = engine_started(held);
        let query = e.take_actions().iter().find_map(|a| match a {
            Action::QueryLocks { id, .. } => Some(*id),
            _ => None,
        });
        (e, query)
    };
    let discovery = |e: &mut Engine| asks_discovery(&e.take_actions());
    // A tab holds a session (known before the start): up to a second for its answer.
    let (e, _) = start(Some(vec![format!("pixy-oidc:gen:{ISSUER}|{CLIENT}:3")]));
    assert_eq!(e.wake_at(), Some(T0 + HANDOVER_HELD_MS));
    // Not known before; the lock manager then says a tab holds one: the longer wait.
    let (mut e, q) = start(None);
    assert_eq!(e.wake_at(), Some(T0 + HANDOVER_WAIT_MS));
    let names = Some(vec![format!("pixy-oidc:gen:{ISSUER}|{CLIENT}:3")]);
    e.handle(
        T0 + 2.0,
        Event::Locks {
            id: q.unwrap(),
            names,
        },
    )
    .unwrap();
    assert_eq!(e.wake_at(), Some(T0 + 2.0 + HANDOVER_HELD_MS));
    assert!(!discovery(&mut e));
    // No Web Locks (names unknown): the short wait runs its course, then the provider.
    let (mut e, q) = start(None);
    e.handle(
        T0 + 1.0,
        Event::Locks {
            id: q.unwrap(),
            names: None,
        },
    )
    .unwrap();
    assert!(!discovery(&mut e), "still waiting for a hand-over");
    e.handle(T0 + HANDOVER_WAIT_MS, Event::Timer).unwrap();
    assert!(discovery(&mut e), "then asks the provider");
}

// Found by review: each of these failed before its fix.

#[test]
fn tokens_that_live_no_time_are_not_renewed_in_a_loop() {
    let mut w = logged_in(0.0);
    let before = refreshes(&w).len();
    w.run_for(10.0 * SECOND);
    assert_eq!(
        refreshes(&w).len(),
        before,
        "no renewal of its own for a 0 s token"
    );
    assert!(w.tabs[0].is_logged_in());
}

#[test]
fn a_retry_after_of_zero_does_not_skip_the_backoff() {
    let mut w = logged_in(60.0);
    w.op.down = Some(Down::Status(503, Some(String::from("0"))));
    w.run_for(46.0 * SECOND);
    let before = refreshes(&w).len();
    w.run_for(10.0 * SECOND);
    assert!(refreshes(&w).len() - before <= 3, "{:?}", refreshes(&w));
}

#[test]
fn a_refresh_answer_that_comes_after_another_user_logged_in_elsewhere_is_dropped() {
    let mut w = logged_in(300.0);
    w.op.id_token_on_refresh = false;
    let t1 = w.open_settled(PAGE);
    assert!(w.tabs[t1].is_logged_in());
    // Tab 0's refresh answer takes 3 s; meanwhile bob logs in in tab 1.
    w.op.latency_ms = 3000.0;
    w.command(0, Command::RenewTokens);
    w.run_for(400.0);
    w.op.latency_ms = 50.0;
    w.op.user = String::from("bob");
    w.login(t1);
    w.run_for(5.0 * SECOND);
    for t in [0, t1] {
        let g = w.get_tokens(t);
        w.run_for(500.0);
        let v = ok(&w, t, g);
        let at = World::member(&v, "accessToken").unwrap();
        let sub = World::member(w.tabs[t].claims.as_deref().unwrap(), "sub").unwrap();
        assert_eq!(
            w.op.access_owner(&at),
            Some(sub.clone()),
            "tab {t}: the access token is {sub}'s"
        );
        assert_eq!(sub, "bob");
    }
}

#[test]
fn a_renewal_iframe_stuck_on_a_provider_page_is_a_passing_fault() {
    let mut w = World::new();
    w.config = sim::config().replace(",\"offline_access\"", "");
    let t = w.open_settled(PAGE);
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    // The provider is down: its error page loads in the frame and never answers.
    w.op.latency_ms = 60_000.0;
    let c = w.command(t, Command::RenewTokens);
    w.run_for(10.0);
    let id = w.tabs[t].last_frame;
    w.deliver(t, Event::FrameLoaded { id });
    w.run_for(4_000.0);
    assert!(
        matches!(w.result(t, c), Some(Err(e)) if e.code == Code::Timeout),
        "{}",
        w.story(t)
    );
    assert!(w.tabs[t].is_logged_in(), "the session goes on");
    assert!(w.tabs[t].expired_events().is_empty());
}

#[test]
fn the_locks_held_before_the_start_decide_whether_to_wait_for_a_hand_over() {
    let start = |held: Vec<String>| engine_started(Some(held)).take_actions();
    let posts = |a: &[Action]| {
        a.iter()
            .filter(|x| matches!(x, Action::Post { .. }))
            .count()
    };
    let discovery = asks_discovery;
    // No tab holds a session (only unrelated locks): the provider is asked at once.
    let alone = start(vec![String::from("someone-else's-lock")]);
    assert_eq!(posts(&alone), 0, "no hello: nobody can answer");
    assert!(discovery(&alone), "discovery at once: {alone:?}");
    // A tab holds a session's generation lock: wait for its hand-over, ask the provider nothing.
    let with = start(vec![format!("pixy-oidc:gen:{ISSUER}|{CLIENT}:3")]);
    assert_eq!(posts(&with), 1, "hello to the other tabs");
    assert!(
        !discovery(&with),
        "no request before the hand-over: {with:?}"
    );
}
