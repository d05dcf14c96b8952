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

/// `{"k0":0,"k1":1,…}` with `n` members: about 0.9 MB for 60,000.
fn wide_object(n: usize) -> String {
    let mut s = String::from("{");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"member{i}\":{i}"));
    }
    s.push('}');
    s
}

#[test]
fn wide_objects_parse_in_linear_time() {
    // The duplicate check once compared each member with every earlier one: 60,000 members
    // took about 20 s. The bound is generous so a busy machine does not fail it, yet far
    // below what a quadratic check needs.
    let text = wide_object(60_000);
    assert!(text.len() > 900_000, "{}", text.len());
    let start = std::time::Instant::now();
    let v = parse(&text, "t").unwrap();
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert_eq!(v.get("member59999").unwrap().as_f64(), Some(59_999.0));
}

#[test]
fn a_megabyte_document_parses_in_linear_time() {
    // Over 1 MB: an array of small objects with escapes and numbers, then 40,000 members in
    // one object (the quadratic duplicate check took seconds on that part alone).
    let mut text = String::from("{\"issuer\":\"https://op.example\",\"list\":[");
    for i in 0..8_000 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "{{\"id\":{i},\"name\":\"entry {i} \\u00e9\\n\",\"tags\":[\"a\",\"b\",1.5e3,true]}}"
        ));
    }
    text.push_str("],\"wide\":");
    text.push_str(&wide_object(40_000));
    text.push('}');
    assert!(text.len() > 1_000_000, "{}", text.len());
    let start = std::time::Instant::now();
    let v = parse(&text, "t").unwrap();
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert_eq!(v.get("list").unwrap().as_array().unwrap().len(), 8_000);
}

#[test]
fn duplicates_are_refused_among_many_members() {
    // A repeat of the first, a middle and the last member, appended at the end or put first:
    // the two copies are far apart in the text.
    for dup in [0, 30_000, 59_999] {
        let mut text = wide_object(60_000);
        text.pop();
        text.push_str(&format!(",\"member{dup}\":true}}"));
        let e = parse(&text, "t").unwrap_err();
        assert!(e.message.contains("duplicate member name"), "{dup}");
        let text = wide_object(60_000).replacen('{', &format!("{{\"member{dup}\":null,"), 1);
        let e = parse(&text, "t").unwrap_err();
        assert!(e.message.contains("duplicate member name"), "{dup}");
    }
    // Nested objects are checked on their own: the same name in two objects is fine.
    assert!(parse(r#"{"a":{"a":1},"b":{"a":2}}"#, "t").is_ok());
    assert!(parse(r#"{"a":{"x":1,"y":2,"x":3}}"#, "t").is_err());
    // Names are compared after unescaping, as JSON.parse sees them.
    assert!(parse(r#"{"a":1,"\u0061":2}"#, "t").is_err());
    assert!(parse(r#"{"ab":1,"a":2,"b":3,"":4}"#, "t").is_ok());
}
