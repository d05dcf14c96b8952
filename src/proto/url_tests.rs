//! Tests of `proto::url`.

use super::*;

#[test]
fn encodes_and_decodes_components() {
    assert_eq!(encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
    assert_eq!(decode("a+b%26c%3Dd%2F%C3%A9").unwrap(), "a b&c=d/é");
    assert!(decode("%zz").is_err());
    assert!(decode("%C3").is_err());
    assert!(decode("%4").is_err());
}

#[test]
fn appends_to_urls_with_and_without_query() {
    assert_eq!(
        append_query("https://x/a", &[("k", "v w")]),
        "https://x/a?k=v%20w"
    );
    assert_eq!(
        append_query("https://x/a?p=1", &[("k", "v")]),
        "https://x/a?p=1&k=v"
    );
    assert_eq!(
        append_query("https://x/a?p=1#f", &[("k", "v")]),
        "https://x/a?p=1&k=v#f"
    );
}

#[test]
fn parses_queries() {
    let q = parse_query("code=a%2Bb&state=x+y&&empty=&flag").unwrap();
    assert_eq!(
        q,
        vec![
            ("code".into(), "a+b".into()),
            ("state".into(), "x y".into()),
            ("empty".into(), "".into()),
            ("flag".into(), "".into())
        ]
    );
}

#[test]
fn splits_urls() {
    let p = split("https://Host.example:8443/p/a?q=1#frag").unwrap();
    assert_eq!(p.origin(), "https://host.example:8443");
    assert_eq!(p.host(), "Host.example");
    assert_eq!(p.path, "/p/a");
    assert_eq!(p.query, Some("q=1"));
    assert_eq!(p.fragment, Some("frag"));
    assert_eq!(split("http://[::1]:80").unwrap().host(), "[::1]");
    for bad in [
        "/relative",
        "javascript:alert(1)",
        "https://u:p@h/",
        "https:///x",
        "https://h\\x",
        "ftp://h/",
    ] {
        assert!(split(bad).is_none(), "{bad}");
    }
}

#[test]
fn redirect_to_stays_on_the_app_origin() {
    let o = "http://localhost:5173";
    assert_eq!(
        same_origin_target(o, "/account?x=1").unwrap(),
        "http://localhost:5173/account?x=1"
    );
    assert_eq!(
        same_origin_target(o, "http://localhost:5173/a").unwrap(),
        "http://localhost:5173/a"
    );
    for bad in [
        "//evil.example/",
        "https://evil.example/",
        "http://localhost:5174/",
        "javascript:alert(1)",
        "/\\evil.example",
        "relative",
        "http://localhost:5173@evil.example/",
    ] {
        assert_eq!(
            same_origin_target(o, bad).unwrap_err().code,
            Code::InvalidRedirectTo,
            "{bad}"
        );
    }
}

#[test]
fn removes_response_params_only() {
    assert_eq!(
        without_params(
            "http://a/cb?tab=2&code=x&state=y&iss=z#h",
            &["code", "state", "iss"]
        ),
        "http://a/cb?tab=2#h"
    );
    assert_eq!(
        without_params("http://a/cb?code=x&state=y", &["code", "state"]),
        "http://a/cb"
    );
}

#[test]
fn percent_escapes_are_exactly_two_hex_digits() {
    assert_eq!(decode("%41%4a%4A%7e%00").unwrap(), "AJJ~\0");
    assert_eq!(decode("100%25").unwrap(), "100%");
    assert_eq!(decode("%2B+%20").unwrap(), "+  ");
    assert_eq!(decode("%e2%82%ac").unwrap(), "€");
    // `%+5` once read as byte 0x05, as `u8::from_str_radix("+5", 16)` reads it.
    for bad in [
        "%+5", "%-5", "% 5", "%5", "%", "a%", "%%", "%%41", "%5+", "%0x", "%x0", "%g0", "%ab%c",
        "%C3%28", "%ff",
    ] {
        let e = decode(bad).unwrap_err();
        assert_eq!(e.code, Code::InvalidResponse, "{bad}");
    }
    assert!(parse_query("code=%+5&state=s").is_err());
}

#[test]
fn loopback_means_localhost_or_a_127_dotted_quad_or_ipv6_one() {
    for host in [
        "localhost",
        "LOCALHOST",
        "LocalHost",
        "app.localhost",
        "a-b.c.localhost",
        "127.0.0.1",
        "127.1.2.3",
        "127.255.255.254",
        "127.255.255.255",
        "127.0.0.0",
        "[::1]",
    ] {
        assert!(is_loopback_host(host), "{host}");
    }
    for host in [
        "127.evil.example",
        "127.0.0.1.evil.example",
        "127.0.0.1evil",
        "127.0.0.1.",
        "127.0.0.",
        "127.0.0",
        "127.1",
        "127.0.1",
        "127",
        "127.",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "127.0.0.01",
        "127.00.0.1",
        "127.0.0.256",
        "127.0.0.1000",
        "127.0.0.-1",
        "127.0.0.+1",
        "127.0.0.1.1",
        "128.0.0.1",
        "10.0.0.1",
        "2130706433",
        "[::2]",
        "[::1]x",
        "[0:0:0:0:0:0:0:2]",
        "localhost.evil.example",
        "evil-localhost",
        "evillocalhost",
        ".localhost",
        "a..localhost",
        "a_b.localhost",
        "localhost.",
        "",
    ] {
        assert!(!is_loopback_host(host), "{host}");
    }
    // Through `split`: the host of a URL with a port, userinfo being refused already.
    assert!(is_loopback_host(
        split("http://127.0.0.1:8080/x").unwrap().host()
    ));
    assert!(is_loopback_host(
        split("http://[::1]:8080/x").unwrap().host()
    ));
    assert!(!is_loopback_host(
        split("http://127.evil.example:8080/x").unwrap().host()
    ));
    assert!(!is_loopback_host(
        split("http://127.0.0.1.nip.io/x").unwrap().host()
    ));
}
