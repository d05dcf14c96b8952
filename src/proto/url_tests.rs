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
