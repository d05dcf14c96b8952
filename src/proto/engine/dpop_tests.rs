//! DPoP (RFC 9449) and PAR as the engine does them, on the simulated world of `sim.rs`: the
//! proofs' claims, the server nonces, the key per session and across tabs.

use super::sim::*;
use super::*;
use sha2::{Digest as _, Sha256};

fn dpop_world() -> World {
    let mut w = World::new();
    w.config = config().replace("\"debug\":true", "\"debug\":true,\"dpop\":true");
    w
}

fn claims_of(proof: &str) -> Value {
    json::parse(&proof_claims(proof), "claims").unwrap()
}

fn header_of(proof: &str) -> Value {
    let h = proof.split('.').next().unwrap();
    let text = String::from_utf8(b64::decode(h).unwrap()).unwrap();
    json::parse(&text, "header").unwrap()
}

#[test]
fn the_code_exchange_the_refresh_and_userinfo_carry_proofs_with_the_claims_of_rfc_9449() {
    let mut w = dpop_world();
    let t = w.open_settled(PAGE);
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    let renew = w.command(t, Command::RenewTokens);
    w.run_for(5_000.0);
    assert!(matches!(w.result(t, renew), Some(Ok(_))), "{}", w.story(t));
    let ui = w.command(t, Command::GetUserInfo);
    w.run_for(5_000.0);
    assert!(matches!(w.result(t, ui), Some(Ok(_))), "{}", w.story(t));

    let proofs = &w.tabs[t].proofs;
    let token: Vec<_> = proofs
        .iter()
        .filter(|(u, ..)| u.ends_with("/token"))
        .collect();
    assert_eq!(token.len(), 2, "the code exchange and the refresh");
    let (_, userinfo, auth) = proofs
        .iter()
        .find(|(u, ..)| u.ends_with("/userinfo"))
        .unwrap();
    let mut jtis = Vec::new();
    for (u, p, _) in proofs {
        let h = header_of(p);
        assert_eq!(h.str_member("typ"), Some("dpop+jwt"));
        assert_eq!(h.str_member("alg"), Some("ES256"));
        let jwk = h.get("jwk").unwrap();
        assert_eq!(jwk.str_member("kty"), Some("EC"));
        assert_eq!(jwk.str_member("crv"), Some("P-256"));
        assert!(jwk.get("d").is_none(), "never a private key");
        let c = claims_of(p);
        assert_eq!(c.str_member("htu"), Some(u.as_str()));
        assert!(c.get("iat").and_then(Value::as_f64).is_some());
        jtis.push(c.str_member("jti").unwrap().to_string());
    }
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), proofs.len(), "a fresh jti for each proof");
    for (_, p, _) in &token {
        assert_eq!(claims_of(p).str_member("htm"), Some("POST"));
        assert!(
            claims_of(p).get("ath").is_none(),
            "no access token goes to the token endpoint"
        );
    }
    let c = claims_of(userinfo);
    assert_eq!(c.str_member("htm"), Some("GET"));
    let at = auth
        .as_deref()
        .unwrap()
        .strip_prefix("DPoP ")
        .expect("DPoP scheme when the token is DPoP-bound");
    assert_eq!(
        c.str_member("ath"),
        Some(b64::encode(&Sha256::digest(at.as_bytes())).as_str())
    );
    let first = header_of(&proofs[0].1).get("jwk").cloned();
    for (_, p, _) in proofs {
        assert_eq!(
            header_of(p).get("jwk").cloned(),
            first,
            "one key for the session"
        );
    }
}

#[test]
fn a_provider_nonce_gets_one_retry_with_the_nonce_and_is_kept_for_the_next_proof() {
    let mut w = dpop_world();
    w.op.dpop_nonce = Some(String::from("n-1"));
    let t = w.open_settled(PAGE);
    w.login(t);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    let token: Vec<_> = w.tabs[t]
        .proofs
        .iter()
        .filter(|(u, ..)| u.ends_with("/token"))
        .map(|(_, p, _)| claims_of(p))
        .collect();
    assert_eq!(
        token.len(),
        2,
        "the exchange, then once more with the nonce"
    );
    assert!(token[0].get("nonce").is_none());
    assert_eq!(token[1].str_member("nonce"), Some("n-1"));
    // The next request to that server carries the nonce from the start.
    let renew = w.command(t, Command::RenewTokens);
    w.run_for(5_000.0);
    assert!(matches!(w.result(t, renew), Some(Ok(_))), "{}", w.story(t));
    let last = w.tabs[t]
        .proofs
        .iter()
        .rfind(|(u, ..)| u.ends_with("/token"))
        .unwrap();
    assert_eq!(claims_of(&last.1).str_member("nonce"), Some("n-1"));
    assert_eq!(
        w.tabs[t]
            .proofs
            .iter()
            .filter(|(u, ..)| u.ends_with("/token"))
            .count(),
        3,
        "no second retry needed"
    );
}

#[test]
fn a_nonce_refused_twice_is_not_retried_in_a_loop() {
    let mut w = dpop_world();
    let t = w.open_settled(PAGE);
    w.login(t);
    // From now on the provider wants a nonce other than the one it hands out.
    w.op.dpop_nonce = Some(String::from("wanted"));
    w.op.dpop_nonce_told = Some(String::from("told"));
    let n = w.tabs[t].proofs.len();
    let renew = w.command(t, Command::RenewTokens);
    w.run_for(5_000.0);
    assert!(
        matches!(w.result(t, renew), Some(Err(e)) if e.error.as_deref() == Some("use_dpop_nonce")),
        "{}",
        w.story(t)
    );
    assert_eq!(w.tabs[t].proofs.len() - n, 2, "the request and one retry");
    assert!(
        w.tabs[t].is_logged_in(),
        "a passing refusal: the session goes on"
    );
}

#[test]
fn fetch_headers_and_create_proof_bind_the_access_token_and_a_resource_nonce_gets_one_retry() {
    let mut w = dpop_world();
    let t = w.open_settled(PAGE);
    w.login(t);
    let api = "https://api.example/orders?page=2#top";
    let h = w.command(
        t,
        Command::FetchHeaders {
            method: "POST".into(),
            url: api.into(),
        },
    );
    w.run_for(1_000.0);
    let v = match w.result(t, h) {
        Some(Ok(v)) => json::parse(v, "headers").unwrap(),
        other => panic!("{other:?}"),
    };
    let auth = v.str_member("authorization").unwrap().to_string();
    let at = auth.strip_prefix("DPoP ").unwrap();
    let c = claims_of(v.str_member("dpop").unwrap());
    assert_eq!(
        c.str_member("htu"),
        Some("https://api.example/orders"),
        "no query or fragment"
    );
    assert_eq!(c.str_member("htm"), Some("POST"));
    assert_eq!(
        c.str_member("ath"),
        Some(b64::encode(&Sha256::digest(at.as_bytes())).as_str())
    );

    // The resource server asks for a nonce: one retry with it, then no more.
    let answer = |attempt| {
        Command::FetchAnswer(FetchAnswer {
            method: "POST".into(),
            url: api.into(),
            authorization: auth.clone(),
            status: 401,
            www_authenticate: Some(String::from("DPoP error=\"use_dpop_nonce\"")),
            dpop_nonce: Some(String::from("rs-nonce")),
            attempt,
        })
    };
    let a = w.command(t, answer(0));
    w.run_for(1_000.0);
    let again = match w.result(t, a) {
        Some(Ok(v)) => json::parse(v, "headers").unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        claims_of(again.str_member("dpop").unwrap()).str_member("nonce"),
        Some("rs-nonce")
    );
    let b = w.command(t, answer(1));
    w.run_for(1_000.0);
    assert!(
        matches!(w.result(t, b), Some(Ok(v)) if v == "null"),
        "one retry only"
    );

    let p = w.command(
        t,
        Command::CreateProof {
            method: "GET".into(),
            url: "https://api.example/me".into(),
        },
    );
    w.run_for(1_000.0);
    let proof = match w.result(t, p) {
        Some(Ok(v)) => json::parse(v, "proof")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(claims_of(&proof).str_member("htm"), Some("GET"));
    assert!(claims_of(&proof).get("ath").is_some());
}

#[test]
fn without_dpop_fetch_sends_bearer_and_create_proof_says_why_not() {
    let mut w = World::new();
    let t = w.open_settled(PAGE);
    w.login(t);
    let h = w.command(
        t,
        Command::FetchHeaders {
            method: "GET".into(),
            url: "https://api.example/me".into(),
        },
    );
    w.run_for(1_000.0);
    match w.result(t, h) {
        Some(Ok(v)) => assert!(v.contains("\"authorization\":\"Bearer ") && !v.contains("dpop")),
        other => panic!("{other:?}"),
    }
    let p = w.command(
        t,
        Command::CreateProof {
            method: "GET".into(),
            url: "https://api.example/me".into(),
        },
    );
    w.run_for(1_000.0);
    assert!(matches!(w.result(t, p), Some(Err(e)) if e.code == Code::InvalidConfig));
    assert!(
        w.tabs[t].proofs.is_empty() && w.tabs[t].keys_made == 0,
        "no key, no proof"
    );
}

#[test]
fn a_tab_that_takes_over_a_dpop_session_takes_its_key_and_makes_none() {
    let mut w = dpop_world();
    let a = w.open_settled(PAGE);
    w.login(a);
    let b = w.open_settled(PAGE);
    assert!(w.tabs[b].is_logged_in(), "{}", w.story(b));
    assert_eq!(w.tabs[b].keys_taken, 1, "the session's key came along");
    let ui = w.command(b, Command::GetUserInfo);
    w.run_for(5_000.0);
    assert!(matches!(w.result(b, ui), Some(Ok(_))), "{}", w.story(b));
    let jwk_a = header_of(&w.tabs[a].proofs[0].1).get("jwk").cloned();
    let jwk_b = header_of(&w.tabs[b].proofs.last().unwrap().1)
        .get("jwk")
        .cloned();
    assert_eq!(jwk_a, jwk_b, "the same key in both tabs");
}

#[test]
fn a_401_after_another_tab_renewed_is_sent_once_more_with_the_new_token() {
    let mut w = dpop_world();
    let t = w.open_settled(PAGE);
    w.login(t);
    let api = "https://api.example/orders";
    let old = String::from("DPoP at-old-from-before-the-renewal");
    let answer = |attempt, authorization: &str| {
        Command::FetchAnswer(FetchAnswer {
            method: "GET".into(),
            url: api.into(),
            authorization: authorization.to_string(),
            status: 401,
            www_authenticate: Some(String::from("DPoP error=\"invalid_token\"")),
            dpop_nonce: None,
            attempt,
        })
    };
    let a = w.command(t, answer(0, &old));
    w.run_for(1_000.0);
    let again = match w.result(t, a) {
        Some(Ok(v)) => json::parse(v, "headers").unwrap(),
        other => panic!("{other:?}"),
    };
    let now = again.str_member("authorization").unwrap().to_string();
    assert_ne!(now, old, "the current token");
    // A 401 for the current token is the server's last word.
    let b = w.command(t, answer(0, &now));
    w.run_for(1_000.0);
    assert!(matches!(w.result(t, b), Some(Ok(v)) if v == "null"));
}

#[test]
fn a_logout_while_a_proof_is_made_rejects_the_fetch_instead_of_leaving_it_hanging() {
    let mut w = dpop_world();
    let t = w.open_settled(PAGE);
    w.login(t);
    let c = w.command(
        t,
        Command::FetchHeaders {
            method: "GET".into(),
            url: "https://api.example/x".into(),
        },
    );
    w.deliver(
        t,
        Event::Tab {
            msg: String::from("{\"t\":\"logout\"}"),
        },
    );
    w.run_for(10_000.0);
    assert!(
        matches!(w.result(t, c), Some(Err(e)) if e.code == Code::NotLoggedIn),
        "{:?}",
        w.result(t, c)
    );
}

#[test]
fn the_hidden_iframe_waits_for_the_key_and_names_it_with_dpop_jkt() {
    let mut w = dpop_world();
    let t = w.open_settled(PAGE);
    w.login(t);
    // WebCrypto slower than everything else on the reload: the iframe must still name the key.
    w.key_delay_ms = 200.0;
    w.frame_urls.clear();
    w.reload(t);
    w.run_for(5_000.0);
    assert!(w.tabs[t].is_logged_in(), "{}", w.story(t));
    assert_eq!(w.frame_urls.len(), 1, "{:?}", w.frame_urls);
    assert!(w.frame_urls[0].contains("dpop_jkt="), "{}", w.frame_urls[0]);
}
