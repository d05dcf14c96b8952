//! Tests of `proto::json`.

use super::*;

#[test]
fn parses_nested_documents() {
    let v = parse(
        r#"{"a":[1,2.5,-3e2,true,null],"b":{"c":"x\"\u00e9\ud83d\ude00"}}"#,
        "t",
    )
    .unwrap();
    assert_eq!(v.get("a").unwrap().as_array().unwrap().len(), 5);
    assert_eq!(v.get("b").unwrap().str_member("c"), Some("x\"é😀"));
}

#[test]
fn refuses_malformed_input_with_a_code() {
    for bad in [
        "",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "01",
        "1.",
        "-",
        "\"\\x\"",
        "\"\\ud800\"",
        "{\"a\":1}x",
        "nul",
        "<html>",
        "\"a\nb\"",
        "{\"a\":1,\"a\":2}",
        "1e999",
    ] {
        let e = parse(bad, "the test document").unwrap_err();
        assert_eq!(e.code, Code::InvalidResponse, "{bad:?}");
        assert!(e.message.starts_with("the test document is not valid JSON"));
    }
}

#[test]
fn bounds_nesting_instead_of_overflowing_the_stack() {
    let deep = "[".repeat(100_000);
    assert!(parse(&deep, "t")
        .unwrap_err()
        .message
        .contains("nesting too deep"));
}

#[test]
fn numbers_parse_and_print_without_core_float_code() {
    for (text, v) in [
        ("0", 0.0),
        ("-0", 0.0),
        ("1700000000", 1_700_000_000.0),
        ("2.5", 2.5),
        ("-3e2", -300.0),
        ("1E+3", 1000.0),
        ("125e-3", 0.125),
        ("9007199254740991", 9_007_199_254_740_991.0),
    ] {
        assert_eq!(parse(text, "t").unwrap().as_f64(), Some(v), "{text}");
    }
    assert_eq!(number_text(1_700_000_000_123.0), "1700000000123");
    assert_eq!(number_text(-42.0), "-42");
    assert_eq!(number_text(1.5), "1.5");
    assert_eq!(number_text(0.125), "0.125");
    assert_eq!(number_text(f64::NAN), "null");
    assert_eq!(number_value(b"12.x"), None);
    assert_eq!(number_value(b"1e"), None);
    assert_eq!(number_value(b"."), None);
}

#[test]
fn writer_round_trips() {
    let s = ObjectWriter::new()
        .str("k", "a\"b\\c\n\u{1}")
        .num("n", 1.5)
        .opt_str("missing", None)
        .finish();
    let v = parse(&s, "t").unwrap();
    assert_eq!(v.str_member("k"), Some("a\"b\\c\n\u{1}"));
    assert_eq!(v.get("n").unwrap().as_f64(), Some(1.5));
    assert!(v.get("missing").is_none());
}
