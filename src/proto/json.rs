//! A small, strict JSON (RFC 8259) reader and writer.
//!
//! Hand-written instead of serde_json because it costs a fraction of the wasm bytes and every
//! failure is an [`Error`] rather than a panic: nesting is bounded, duplicate object members
//! are refused (RFC 7515 §5.2 allows a JWS reader to reject them), and numbers are `f64`,
//! rounded exactly as JavaScript's `JSON.parse` rounds them.

use core::cmp::Ordering;

use super::error::{cat, Code, Error, Result};

/// Nesting deeper than this is refused: no legitimate OIDC document comes close.
const MAX_DEPTH: usize = 32;

/// A parsed JSON value. Object members keep their order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Value>),
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object; `None` for a missing member or a non-object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Arr(a) => Some(a),
            _ => None,
        }
    }
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Obj(_))
    }
    /// A member that must be a string when present: `Some(None)` when missing or null, `None`
    /// when of another type.
    pub fn opt_str(&self, key: &str) -> Option<Option<&str>> {
        match self.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Str(s)) => Some(Some(s)),
            Some(_) => None,
        }
    }
    /// A string member, `None` when missing or of another type.
    pub fn str_member(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

/// Parses a whole JSON text. `what` names the document in error messages.
pub fn parse(text: &str, what: &str) -> Result<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        what,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    what: &'a str,
}

impl Parser<'_> {
    fn err(&self, why: &str) -> Error {
        Error::new(
            Code::InvalidResponse,
            cat(&[
                self.what,
                " is not valid JSON: ",
                why,
                " at byte ",
                &uint_text(self.i as u64),
            ]),
        )
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end")),
        }
    }
    fn object(&mut self, depth: usize) -> Result<Value> {
        self.i += 1;
        let mut members: Vec<(String, Value)> = Vec::new();
        self.ws();
        if self.eat(b"}") {
            return Ok(Value::Obj(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(b":") {
                return Err(self.err("expected `:`"));
            }
            self.ws();
            let v = self.value(depth + 1)?;
            members.push((key, v));
            self.ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"}") {
                if has_duplicate_key(&members) {
                    return Err(self.err("duplicate member name"));
                }
                return Ok(Value::Obj(members));
            }
            return Err(self.err("expected `,` or `}`"));
        }
    }
    fn array(&mut self, depth: usize) -> Result<Value> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b"]") {
            return Ok(Value::Arr(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(Value::Arr(items));
            }
            return Err(self.err("expected `,` or `]`"));
        }
    }
    fn number(&mut self) -> Result<Value> {
        let (number, len) = self
            .s
            .get(self.i..)
            .and_then(Decimal::scan)
            .ok_or_else(|| self.err("bad number"))?;
        self.i += len;
        number
            .value()
            .map(Value::Num)
            .ok_or_else(|| self.err("number too large"))
    }
    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(super::url::hex_value)
                .ok_or_else(|| self.err("bad \\u escape"))?;
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }
    fn string(&mut self) -> Result<String> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return Err(self.err("lone surrogate"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("lone surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(cp).ok_or_else(|| self.err("lone surrogate"))?
                        }
                        _ => return Err(self.err("bad escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8 in string"))
    }
}

/// True when two members share a name. Checked once the object is complete, by sorting the
/// names: comparing each member with every earlier one took quadratic time (60,000 members,
/// under a megabyte, took seconds). The sort needs no hasher, which would cost wasm bytes.
fn has_duplicate_key(members: &[(String, Value)]) -> bool {
    if members.len() < 2 {
        return false;
    }
    let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| matches!(w, [a, b] if a == b))
}

/// The value of a JSON number's text (the whole of `text`, RFC 8259 §6 grammar), rounded as
/// JavaScript's `JSON.parse` rounds it: to the nearest `f64`, ties to even. `None` for text
/// that is not a JSON number, and for values that round to infinity (JSON has no infinity).
///
/// Written by hand because core's `str::parse::<f64>` added 14.9 KB to the gzipped wasm (its
/// Eisel-Lemire tables and decimal fallback); this one, Clinger's fast path plus an exact
/// big-integer check, adds about 2 KB.
pub fn number_value(text: &[u8]) -> Option<f64> {
    match Decimal::scan(text)? {
        (number, len) if len == text.len() => number.value(),
        _ => None,
    }
}

/// The powers of ten a double holds exactly: 10^22 is the last (5^22 < 2^53 ≤ 5^23).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

fn pow10(k: u64) -> Option<f64> {
    POW10.get(usize::try_from(k).ok()?).copied()
}

/// Exponents are saturated here: beyond it every value is 0 or infinite alike, and the
/// arithmetic on exponents stays far from overflow.
const EXP_LIMIT: i64 = 1_000_000_000_000_000;

/// Significant digits kept for the exact comparison. A midpoint between two adjacent doubles
/// has at most 767 significant digits, so digits beyond these only tell "exactly the kept
/// digits" from "a little more" (`sticky`), and that is all the comparison needs. The bound
/// keeps a megabyte of digits from costing a megabyte-sized multiplication.
const MAX_DIGITS: usize = 800;

/// A JSON number split at its grammar's parts, not yet rounded.
struct Decimal<'a> {
    neg: bool,
    /// The integer part's digits.
    int: &'a [u8],
    /// The fraction's digits (empty without a `.`).
    frac: &'a [u8],
    /// The exponent part, saturated at ±[`EXP_LIMIT`].
    exp: i64,
}

/// The end of the run of ASCII digits starting at `from`.
fn digits_end(s: &[u8], from: usize) -> usize {
    from + s
        .get(from..)
        .map_or(0, |t| t.iter().take_while(|b| b.is_ascii_digit()).count())
}

impl<'a> Decimal<'a> {
    /// The JSON number at the start of `s` and its length in bytes; `None` when `s` does not
    /// start with one.
    fn scan(s: &'a [u8]) -> Option<(Self, usize)> {
        let neg = s.first() == Some(&b'-');
        let start = usize::from(neg);
        let mut i = match s.get(start) {
            Some(b'0') => start + 1,
            Some(b'1'..=b'9') => digits_end(s, start),
            _ => return None,
        };
        let int = s.get(start..i)?;
        let mut frac: &[u8] = &[];
        if s.get(i) == Some(&b'.') {
            let end = digits_end(s, i + 1);
            frac = s.get(i + 1..end).filter(|f| !f.is_empty())?;
            i = end;
        }
        let mut exp = 0;
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_neg = s.get(i) == Some(&b'-');
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits_end(s, i);
            let digits = s.get(i..end).filter(|d| !d.is_empty())?;
            exp = digits
                .iter()
                .fold(0, |a: i64, d| (a * 10 + i64::from(d - b'0')).min(EXP_LIMIT));
            if exp_neg {
                exp = -exp;
            }
            i = end;
        }
        Some((
            Decimal {
                neg,
                int,
                frac,
                exp,
            },
            i,
        ))
    }

    /// The nearest double, ties to even; `None` when that is infinite.
    fn value(&self) -> Option<f64> {
        let all = self.int.iter().chain(self.frac).copied();
        let leading_zeros = all.clone().take_while(|&d| d == b'0').count();
        let n = (self.int.len() + self.frac.len()).saturating_sub(leading_zeros);
        let magnitude = if n == 0 {
            0.0
        } else {
            // The value is (the n significant digits) × 10^e10.
            let e10 = self
                .exp
                .saturating_sub(i64::try_from(self.frac.len()).ok()?);
            // The power of ten of the first significant digit.
            let top = e10.saturating_add(i64::try_from(n).ok()?) - 1;
            if top > 308 {
                // At least 1e309: beyond f64::MAX (1.797…e308), infinite.
                return None;
            }
            if top < -324 {
                // Below 1e-324, less than half the smallest double (2^-1074 ≈ 4.9e-324).
                0.0
            } else {
                nearest(all.skip(leading_zeros), n, e10)?
            }
        };
        Some(if self.neg { -magnitude } else { magnitude })
    }
}

/// The double nearest to `digits` × 10^`e10` (`n` significant digits, the first nonzero,
/// 10^-325 < value < 10^309); `None` when it rounds to infinity.
fn nearest(digits: impl Iterator<Item = u8> + Clone, n: usize, e10: i64) -> Option<f64> {
    let taken = n.min(19);
    let w = digits
        .clone()
        .take(19)
        .fold(0u64, |a, d| a * 10 + u64::from(d - b'0'));
    // Clinger's fast path: w and 10^|e10| are exact doubles, and one IEEE operation rounds
    // correctly.
    if n <= 19 && w <= 1 << 53 {
        if let Some(p) = pow10(e10.unsigned_abs()) {
            return Some(if e10 < 0 { w as f64 / p } else { w as f64 * p });
        }
    }
    // An estimate within a few units in the last place (about one rounding per factor of
    // 10^22), moving towards the result so no step overflows or underflows early.
    let mut z = w as f64;
    let mut e = e10.saturating_add(i64::try_from(n - taken).ok()?);
    while e != 0 {
        let step = e.unsigned_abs().min(22);
        let p = pow10(step)?;
        if e > 0 {
            z *= p;
            e -= step as i64;
        } else {
            z /= p;
            e += step as i64;
        }
    }
    if z.is_infinite() {
        z = f64::MAX;
    }
    // Then exact: compare the decimal with the midpoints around z, as integers, and step
    // to the neighbour on the decimal's side until it lies between z's two midpoints.
    let kept = n.min(MAX_DIGITS);
    let mut big = Big::default();
    for d in digits.clone().take(MAX_DIGITS) {
        big.mul_add(10, u32::from(d - b'0'));
    }
    let exact = Exact {
        digits: big,
        sticky: digits.skip(MAX_DIGITS).any(|d| d != b'0'),
        exp: e10.saturating_add(i64::try_from(n - kept).ok()?),
    };
    let even = |x: f64| x.to_bits() & 1 == 0;
    // The estimate is a few steps off at most; the bound only guarantees termination.
    for _ in 0..64 {
        match exact.cmp_midpoint_above(z) {
            Ordering::Greater => {
                z = f64::from_bits(z.to_bits() + 1);
                if z.is_infinite() {
                    return None;
                }
                continue;
            }
            Ordering::Equal => {
                // A tie goes to the even one of z and the next double up.
                if even(z) {
                    return Some(z);
                }
                let up = f64::from_bits(z.to_bits() + 1);
                return up.is_finite().then_some(up);
            }
            Ordering::Less => {}
        }
        if z == 0.0 {
            return Some(z);
        }
        let below = f64::from_bits(z.to_bits() - 1);
        match exact.cmp_midpoint_above(below) {
            Ordering::Less => z = below,
            Ordering::Equal => return Some(if even(below) { below } else { z }),
            Ordering::Greater => return Some(z),
        }
    }
    None
}

/// A decimal kept exactly: (`digits` + a fraction in (0, 1) if `sticky`) × 10^`exp`.
struct Exact {
    digits: Big,
    sticky: bool,
    exp: i64,
}

impl Exact {
    /// How the decimal compares with the midpoint between `z` (finite, not negative) and the
    /// next double up.
    fn cmp_midpoint_above(&self, z: f64) -> Ordering {
        let bits = z.to_bits();
        let biased = (bits >> 52) as i64;
        let fraction = bits & ((1 << 52) - 1);
        // z = m × 2^k; the midpoint is (2m + 1) × 2^(k - 1).
        let (m, k) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | 1 << 52, biased - 1075)
        };
        let mut lhs = self.digits.clone();
        let mid = 2 * m + 1;
        let mut rhs = Big(vec![mid as u32, (mid >> 32) as u32]);
        // Every negative power moves to the other side: both sides become integers.
        if self.exp >= 0 {
            lhs.mul_pow10(self.exp.unsigned_abs());
        } else {
            rhs.mul_pow10(self.exp.unsigned_abs());
        }
        if k >= 1 {
            rhs.shl((k - 1).unsigned_abs());
        } else {
            lhs.shl((k - 1).unsigned_abs());
        }
        match lhs.cmp(&rhs) {
            Ordering::Equal if self.sticky => Ordering::Greater,
            o => o,
        }
    }
}

/// A natural number in base 2^32, least significant limb first: just what rounding needs.
#[derive(Clone, Default)]
struct Big(Vec<u32>);

impl Big {
    /// self = self × m + add.
    fn mul_add(&mut self, m: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let x = u64::from(*limb) * u64::from(m) + carry;
            *limb = x as u32;
            carry = x >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }
    /// self = self × 10^k = self × 5^k × 2^k.
    fn mul_pow10(&mut self, k: u64) {
        let mut left = k;
        // 5^13 is the largest power of five below 2^32.
        while left >= 13 {
            self.mul_add(1_220_703_125, 0);
            left -= 13;
        }
        self.mul_add((0..left).fold(1, |a, _| a * 5), 0);
        self.shl(k);
    }
    /// self = self × 2^bits.
    fn shl(&mut self, bits: u64) {
        let shift = (bits % 32) as u32;
        if shift != 0 {
            let mut carry = 0;
            for limb in &mut self.0 {
                let x = (u64::from(*limb) << shift) | carry;
                *limb = x as u32;
                carry = x >> 32;
            }
            if carry != 0 {
                self.0.push(carry as u32);
            }
        }
        let mut limbs = vec![0; (bits / 32) as usize];
        limbs.extend_from_slice(&self.0);
        self.0 = limbs;
    }
    fn cmp(&self, other: &Big) -> Ordering {
        let (a, b) = (trim(&self.0), trim(&other.0));
        a.len()
            .cmp(&b.len())
            .then_with(|| a.iter().rev().cmp(b.iter().rev()))
    }
}

/// The limbs without the high zero ones.
fn trim(limbs: &[u32]) -> &[u32] {
    let len = limbs.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
    limbs.get(..len).unwrap_or(limbs)
}

/// A number as JSON text: integers exactly, other values to six decimals.
pub fn number_text(v: f64) -> String {
    if !v.is_finite() {
        return "null".into();
    }
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        out.push_str(&uint_text(v.abs() as u64));
        return out;
    }
    let scaled = (v.abs() * 1e6).round() as u64;
    out.push_str(&uint_text(scaled / 1_000_000));
    out.push('.');
    let frac = scaled % 1_000_000;
    let mut unit = 100_000;
    while unit > 0 {
        out.push(char::from(b'0' + (frac / unit % 10) as u8));
        unit /= 10;
    }
    // Trailing zeros go (all but five when the rounded fraction is zero, as always).
    if frac == 0 {
        out.pop();
    }
    while frac != 0 && out.as_bytes().last() == Some(&b'0') {
        out.pop();
    }
    out
}

/// An unsigned integer in decimal (without core's formatting machinery).
pub fn uint_text(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(if (c as u32) < 0x10 {
                    "\\u000"
                } else {
                    "\\u001"
                });
                let d = (c as u8) & 15;
                out.push(char::from(if d < 10 { b'0' + d } else { b'a' - 10 + d }));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Builds a flat JSON object from string and number members, in order.
#[derive(Default)]
pub struct ObjectWriter {
    out: String,
}

impl ObjectWriter {
    pub fn new() -> Self {
        ObjectWriter { out: "{".into() }
    }
    fn key(&mut self, k: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_str(&mut self.out, k);
        self.out.push(':');
    }
    pub fn str(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        write_str(&mut self.out, v);
        self
    }
    pub fn opt_str(self, k: &str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.str(k, v),
            None => self,
        }
    }
    pub fn num(mut self, k: &str, v: f64) -> Self {
        self.key(k);
        self.out.push_str(&number_text(v));
        self
    }
    pub fn raw(mut self, k: &str, json: &str) -> Self {
        self.key(k);
        self.out.push_str(json);
        self
    }
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
