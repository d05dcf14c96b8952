//! The engine's rules, each as what a user sees, on the simulated world of `sim.rs`.

use super::sim::*;
use super::*;

#[test]
fn a_user_logs_in_and_gets_tokens() {
    let mut w = World::new();
    let t = w.open_settled(PAGE);
    assert_eq!(w.result(t, 0).cloned(), Some(Ok(String::from("{\"restoredVia\":null}"))), "{}", w.story(t));
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    assert_eq!(w.tabs[t].href, PAGE);
    let c = w.get_tokens(t);
    w.run_for(10.0);
    let tokens = w.result(t, c).cloned().unwrap().unwrap();
    assert!(World::member(&tokens, "accessToken").is_some());
    w.assert_clean();
}
