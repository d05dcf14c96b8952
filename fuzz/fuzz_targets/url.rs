//! url::split, parse_query, decode and the loopback test never panic; decode undoes encode and
//! accepts only `%` followed by two hex digits; what split accepts has an http(s) scheme and a
//! nonempty authority without `@`; loopback hosts are only localhost, *.localhost, [::1] and
//! 127.x.y.z as std's strict IPv4 parser reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::url;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(p) = url::split(s) {
        assert!(p.scheme.eq_ignore_ascii_case("http") || p.scheme.eq_ignore_ascii_case("https"));
        assert!(!p.authority.is_empty() && !p.authority.contains('@'));
        let _ = p.origin();
        let _ = url::is_loopback_host(p.host());
    }
    if url::is_loopback_host(s) {
        let h = s.to_ascii_lowercase();
        let ipv4 = h
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.octets()[0] == 127);
        assert!(
            h == "localhost" || h.ends_with(".localhost") || h == "[::1]" || ipv4,
            "{s}"
        );
    }
    if let Ok(pairs) = url::parse_query(s) {
        for (k, v) in &pairs {
            let again = url::parse_query(&url::form(&[(k, v)])).unwrap();
            assert_eq!(again, vec![(k.clone(), v.clone())]);
        }
    }
    assert_eq!(url::decode(&url::encode(s)).unwrap(), s);
    if let Ok(d) = url::decode(s) {
        let b = s.as_bytes();
        for (i, _) in s.match_indices('%') {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            assert!(hex(i + 1) && hex(i + 2), "{s}");
        }
        assert_eq!(url::decode(&url::encode(&d)).unwrap(), d);
    }
    let _ = url::without_params(s, &["code", "state"]);
    let _ = url::same_origin_target("https://app.example", s);
});
