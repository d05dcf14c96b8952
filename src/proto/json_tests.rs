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

// ---- Differential tests against serde_json (with float_roundtrip: correctly rounded, as
// JavaScript's JSON.parse rounds).

/// Whether our value equals serde_json's, numbers bit for bit (so -0 is not 0).
fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Num(a), J::Number(b)) => b.as_f64().is_some_and(|b| a.to_bits() == b.to_bits()),
        (Value::Str(a), J::String(b)) => a == b,
        (Value::Arr(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        // We refuse duplicate names, so equal lengths and every member found means equal.
        (Value::Obj(a), J::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

/// Where we deliberately differ from serde_json and JSON.parse on JSONTestSuite's files that
/// both accept (`y_` files, or `i_` files they accept):
/// - duplicate member names: refused (RFC 7515 §5.2 lets a JWS reader refuse them; a JOSE
///   header or claim set read two ways is an attack), where both others keep the last one.
const DELIBERATELY_REFUSED: &[&str] = &[
    "y_object_duplicated_key.json",
    "y_object_duplicated_key_and_value.json",
];
// The other deliberate differences refuse what serde_json refuses too, so the loop below
// checks them as it checks every file, but JSON.parse accepts them:
// - nesting deeper than 32 (`i_structure_500_nested_arrays`): no OIDC document comes close,
//   and the bound keeps recursion off the end of the wasm stack;
// - lone or inverted surrogate escapes (`i_string_1st_surrogate_but_2nd_missing`,
//   `i_object_key_lone_2nd_surrogate`, …): JSON.parse makes a string no UTF-8 `String` can
//   hold;
// - numbers beyond f64::MAX (`i_number_huge_exp`, `i_number_real_pos_overflow`, …):
//   JSON.parse reads Infinity, which no OIDC member means.
// And files that are not UTF-8 (`i_string_invalid_utf-8`, `i_string_UTF-16LE_with_BOM`, …)
// never reach our reader, which takes a `&str`: the browser decodes the body first, replacing
// bad bytes. Those are checked as that decoding hands them over.

#[test]
fn agrees_with_serde_json_on_json_test_suite() {
    // test_parsing/ of https://github.com/nst/JSONTestSuite (MIT, LICENSE beside it).
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/JSONTestSuite/test_parsing"
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 300, "{}", files.len());
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let theirs = serde_json::from_slice::<serde_json::Value>(&bytes);
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text.to_string(),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        let utf8 = std::str::from_utf8(&bytes).is_ok();
        let ours = match std::panic::catch_unwind(|| parse(&text, "t")) {
            Ok(ours) => ours,
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
        };
        if let Err(e) = &ours {
            assert_eq!(e.code, Code::InvalidResponse, "{name}");
        }
        let problem = match (name.get(..2).unwrap(), &ours, &theirs) {
            _ if !utf8 => None,
            ("y_", Err(_), _) if DELIBERATELY_REFUSED.contains(&name.as_str()) => None,
            ("y_", _, Err(e)) => Some(format!("serde_json refused: {e}")),
            ("y_", Err(e), _) => Some(format!("refused: {}", e.message)),
            ("n_", Ok(v), _) => Some(format!("accepted: {v:?}")),
            (_, Ok(v), Ok(t)) if !same(v, t) => Some(format!("{v:?} != serde_json's {t:?}")),
            (_, Ok(v), Err(e)) => Some(format!("accepted {v:?}, serde_json refused: {e}")),
            _ => None,
        };
        if let Some(p) = problem {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// serde_json's reading of a number, as JSON.parse reads it.
fn reference(text: &str) -> Option<f64> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.as_f64())
}

/// Our reading of `text` must be bit-identical to serde_json's, through the document parser
/// and through `number_value` alike.
fn check_number(text: &str) {
    let theirs = reference(text);
    let ours = parse(text, "t").ok().and_then(|v| v.as_f64());
    assert_eq!(
        ours.map(f64::to_bits),
        theirs.map(f64::to_bits),
        "{text}: ours {ours:?}, serde_json {theirs:?}"
    );
    assert_eq!(
        number_value(text.as_bytes()).map(f64::to_bits),
        theirs.map(f64::to_bits),
        "{text}"
    );
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The exact decimal text of m × 2^e, digits then an exponent: `digits` e `-places`.
fn exact_decimal(m: u64, e: i32) -> String {
    // Little-endian decimal digits, multiplied by 2 or by 5 one factor at a time.
    let mut digits: Vec<u8> = m.to_string().bytes().rev().map(|d| d - b'0').collect();
    let times = |digits: &mut Vec<u8>, f: u8| {
        let mut carry = 0;
        for d in digits.iter_mut() {
            let x = *d * f + carry;
            *d = x % 10;
            carry = x / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    };
    // m × 2^-k = m × 5^k × 10^-k.
    for _ in 0..e.unsigned_abs() {
        times(&mut digits, if e > 0 { 2 } else { 5 });
    }
    let text: String = digits.iter().rev().map(|d| char::from(b'0' + d)).collect();
    if e >= 0 {
        text
    } else {
        format!("{text}e-{}", e.unsigned_abs())
    }
}

#[test]
fn numbers_round_exactly_as_json_parse() {
    for (text, v) in [
        ("0", 0.0),
        ("1700000000", 1_700_000_000.0),
        ("2.5", 2.5),
        ("-3e2", -300.0),
        ("1E+3", 1000.0),
        ("125e-3", 0.125),
        ("9007199254740991", 9_007_199_254_740_991.0),
        ("1.7976931348623157e308", f64::MAX),
        ("5e-324", 5e-324),
        ("2.2250738585072014e-308", f64::MIN_POSITIVE),
        ("1e00001", 10.0),
    ] {
        assert_eq!(parse(text, "t").unwrap().as_f64(), Some(v), "{text}");
        check_number(text);
    }
    // -0 is negative zero, as JSON.parse reads it; tiny values round to zero of their sign.
    for text in ["-0", "-0.0", "-0e5", "-1e-400", "-2e-324"] {
        let v = parse(text, "t").unwrap().as_f64().unwrap();
        assert!(v == 0.0 && v.is_sign_negative(), "{text}");
        check_number(text);
    }
    // Infinite values stay refused: JSON has no infinity.
    for text in [
        "1e309",
        "-1e309",
        "1.7976931348623159e308",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
        "1e99999999999999999999",
    ] {
        assert!(parse(text, "t").is_err(), "{text}");
        assert_eq!(number_value(text.as_bytes()), None, "{text}");
    }
    // The largest value below the midpoint between f64::MAX and 2^1024 still reads as MAX.
    check_number("1.7976931348623158e308");
    assert_eq!(number_value(b"1.7976931348623158e308"), Some(f64::MAX));
}

#[test]
fn numbers_match_serde_json_bit_for_bit() {
    let edge = [
        // 2^53 ± 1 and the halfway cases around it (ties to even).
        "9007199254740991",
        "9007199254740992",
        "9007199254740993",
        "9007199254740994",
        "9007199254740995",
        "9007199254740993.0000000000000000000000000000000001",
        "9007199254740992.9999999999999999999999999999999999",
        "18014398509481985",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890",
        // Long mantissas the old f64 accumulation got wrong by several ulp.
        "0.1",
        "0.2",
        "0.3",
        "0.30000000000000004",
        "0.1000000000000000055511151231257827021181583404541015625",
        "3.141592653589793238462643383279502884197169399375105820974944",
        "2.718281828459045235360287471352662497757247093699959574966967627724",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "123456789.123456789123456789",
        "1e23",
        "8.533e+68",
        "4.1006e-184",
        "9.998e+307",
        "9.9538452227e-280",
        "6.47660115e-260",
        "7.4e+47",
        "5.92e+48",
        "7.35e+66",
        "8.32116e+55",
        // Subnormals and the bottom of the range.
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "2.47032822920623272088e-324",
        "1e-324",
        "3e-324",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "4.4501477170144023e-308",
        "1e-320",
        "0.000000000000000000000000000000000000000000001e-280",
        "100000000000000000000000000000000000000000000e-370",
        // The top of the range.
        "1.7976931348623157e308",
        "1.7976931348623157081e308",
        "0.17976931348623157e309",
        "17976931348623157e292",
        "1e308",
        // The fast path's edges.
        "9007199254740992e22",
        "9007199254740993e-22",
        "1e22",
        "1e-22",
        "123e-22",
        "1e23",
        "0e400",
        "0.000e-400",
        "00",
    ];
    for text in edge {
        check_number(text);
        check_number(&format!("-{text}"));
    }
    // Many more than 800 significant digits: the digits past the kept ones still decide.
    let halfway = exact_decimal(2 * 4_503_599_627_370_497 + 1, -1075);
    for tail in ["", "0", "1", "0000000000000000000000001"] {
        check_number(&format!("{halfway}{tail}"));
    }
    check_number(&format!("0.{}1", "0".repeat(1000)));
    check_number(&format!("1{}e-1000", "0".repeat(1000)));
    check_number(&format!("1.{}1", "0".repeat(2000)));
    check_number(&format!("2.{}", "9".repeat(2000)));
}

#[test]
fn random_numbers_match_serde_json_bit_for_bit() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        // Any finite double: shortest text, and with up to 25 digits (rounded by core's
        // exact formatter).
        let x = f64::from_bits(rng.next() & !(1 << 63));
        if !x.is_finite() {
            continue;
        }
        check_number(&format!("{x:e}"));
        let digits = rng.below(25) as usize;
        check_number(&format!("{x:.digits$e}"));
        // Random digit strings with random exponents, most in range, some not.
        let len = 1 + rng.below(30) as usize;
        let mantissa: String = (0..len)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        let exp = rng.below(700) as i64 - 350;
        check_number(&format!("{mantissa}e{exp}"));
        check_number(&format!("0.{mantissa}E+{}", exp.unsigned_abs()));
    }
    // Midpoints between adjacent doubles, written exactly, and a hair either side: the
    // hardest inputs there are. Normal and subnormal, large and small.
    for _ in 0..300 {
        let bits = rng.next() >> 1;
        let x = f64::from_bits(bits);
        if !x.is_finite() {
            continue;
        }
        let biased = (bits >> 52) as i32;
        let fraction = bits & ((1 << 52) - 1);
        let (m, k) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | 1 << 52, biased - 1075)
        };
        // Keep the exact expansion to a size a debug build handles quickly.
        if !(-1100..=200).contains(&k) {
            continue;
        }
        let mid = exact_decimal(2 * m + 1, k - 1);
        check_number(&mid);
        let (digits, exp) = mid.split_once('e').unwrap_or((&mid, "0"));
        for tail in ["1", "0000000000000000000001"] {
            check_number(&format!(
                "{digits}{tail}e{}",
                exp.parse::<i64>().unwrap() - tail.len() as i64
            ));
        }
        // Just below: the same digits less one in the last place, where it does not borrow.
        if digits.ends_with(|c: char| c != '0') {
            let mut below = digits.to_string().into_bytes();
            *below.last_mut().unwrap() -= 1;
            check_number(&format!("{}e{exp}", String::from_utf8(below).unwrap()));
        }
    }
}

/// The JSON text `"\uXXXX"` (a surrogate pair beyond the BMP) for `c`, hex in either case.
fn u_escape(c: char, upper: bool) -> String {
    let mut units = [0u16; 2];
    let hex: Vec<String> = c
        .encode_utf16(&mut units)
        .iter()
        .map(|u| {
            if upper {
                format!("\\u{u:04X}")
            } else {
                format!("\\u{u:04x}")
            }
        })
        .collect();
    format!("\"{}\"", hex.concat())
}

#[test]
fn string_escapes_decode_as_json_parse_decodes_them() {
    // The two-character escapes of RFC 8259 §7.
    for (escape, c) in [
        ("\\\"", '"'),
        ("\\\\", '\\'),
        ("\\/", '/'),
        ("\\b", '\u{8}'),
        ("\\f", '\u{c}'),
        ("\\n", '\n'),
        ("\\r", '\r'),
        ("\\t", '\t'),
    ] {
        let text = format!("\"a{escape}b\"");
        assert_eq!(
            parse(&text, "t").unwrap().as_str(),
            Some(format!("a{c}b").as_str()),
            "{text}"
        );
    }
    // Every BMP character but the surrogates, and a spread of the others, as \u escapes: the
    // very character, as serde_json reads it too.
    let supplementary = (0x1_0000..=0x10_ffff)
        .step_by(97)
        .chain([0x1_0000, 0x10_ffff]);
    for cp in (0..0xd800).chain(0xe000..0x1_0000).chain(supplementary) {
        let c = char::from_u32(cp).unwrap();
        for upper in [false, true] {
            let text = u_escape(c, upper);
            let ours = parse(&text, "t").unwrap();
            assert_eq!(ours.as_str(), Some(c.to_string().as_str()), "{text}");
            if cp % 61 == 0 {
                let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(same(&ours, &theirs), "{text}");
            }
        }
    }
    // Characters written as themselves, escapes next to multi-byte UTF-8, and what JSON.parse
    // also takes unescaped (DEL, U+2028, U+2029).
    for text in [
        "\"é😀\u{7f}\u{2028}\u{2029}\u{feff}\"",
        "\"\\u00e9é\\ud83d\\ude00😀\\u0000\"",
        "\"\\\\u0041\"",
        "\"\\u005C\\u0022\"",
    ] {
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(same(&parse(text, "t").unwrap(), &theirs), "{text}");
    }
    assert_eq!(
        parse("\"\\\\u0041\"", "t").unwrap().as_str(),
        Some("\\u0041")
    );
    assert_eq!(
        parse("\"\\u005C\\u0022\"", "t").unwrap().as_str(),
        Some("\\\"")
    );
    // Refused: what JSON.parse refuses (raw control characters, unknown escapes, short or
    // non-hex \u), and lone surrogates, which JSON.parse keeps but no `String` can hold.
    for text in [
        "\"\u{1f}\"",
        "\"\t\"",
        "\"\\a\"",
        "\"\\x41\"",
        "\"\\U0041\"",
        "\"\\u004\"",
        "\"\\u00g1\"",
        "\"\\u+041\"",
        "\"\\u-041\"",
        "\"\\ud83d\"",
        "\"\\ud83dx\"",
        "\"\\ud83d\\u0041\"",
        "\"\\ude00\\ud83d\"",
        "\"\\udfff\"",
        "\"\\",
        "\"abc",
    ] {
        assert_eq!(
            parse(text, "t").unwrap_err().code,
            Code::InvalidResponse,
            "{text}"
        );
    }
}

#[test]
fn written_strings_read_back_the_same_everywhere() {
    let mut rng = Rng(7);
    for _ in 0..2_000 {
        let s: String = (0..rng.below(12))
            .filter_map(|_| {
                char::from_u32(match rng.below(4) {
                    0 => rng.below(0x80) as u32,
                    1 => rng.below(0x800) as u32,
                    2 => rng.below(0x1_0000) as u32,
                    _ => rng.below(0x11_0000) as u32,
                })
            })
            .collect();
        let mut text = String::new();
        write_str(&mut text, &s);
        assert_eq!(
            parse(&text, "t").unwrap().as_str(),
            Some(s.as_str()),
            "{text:?}"
        );
        assert_eq!(
            serde_json::from_str::<String>(&text).unwrap(),
            s,
            "{text:?}"
        );
    }
}
