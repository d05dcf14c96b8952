//! A small, strict JSON (RFC 8259) reader and writer.
//!
//! Hand-written instead of serde_json because it costs a fraction of the wasm bytes and every
//! failure is an [`Error`] rather than a panic: nesting is bounded, duplicate object members
//! are refused (RFC 7515 §5.2 allows a JWS reader to reject them), and numbers are `f64`.

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
        let start = self.i;
        self.eat(b"-");
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("bad number")),
        }
        if self.eat(b".") {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("bad number"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("bad number"));
            }
            self.digits();
        }
        self.s
            .get(start..self.i)
            .and_then(number_value)
            .map(Value::Num)
            .ok_or_else(|| self.err("bad number"))
    }
    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
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

/// The value of a JSON number's text (already checked against the grammar, or checked here).
/// Exact for integers up to 2^53, which covers every number OIDC sends (seconds, lifetimes);
/// written by hand because core's float parser and formatter cost ~25 KB of wasm.
pub fn number_value(text: &[u8]) -> Option<f64> {
    let (neg, rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut mantissa = 0f64;
    let mut exp10: i32 = 0;
    let mut digits = 0usize;
    let mut i = 0;
    let mut seen_dot = false;
    while let Some(&c) = rest.get(i) {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10.0 + f64::from(c - b'0');
                digits += 1;
                if seen_dot {
                    exp10 -= 1;
                }
            }
            b'.' if !seen_dot && digits > 0 => seen_dot = true,
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(exp_text) = rest.get(i + 1..).filter(|_| i < rest.len()) {
        let (eneg, edigits) = match exp_text.split_first() {
            Some((b'-', d)) => (true, d),
            Some((b'+', d)) => (false, d),
            _ => (false, exp_text),
        };
        if edigits.is_empty() || edigits.len() > 4 || !edigits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let e = edigits
            .iter()
            .fold(0i32, |a, d| a * 10 + i32::from(d - b'0'));
        exp10 += if eneg { -e } else { e };
    }
    let v = if exp10 >= 0 {
        mantissa * 10f64.powi(exp10)
    } else {
        mantissa / 10f64.powi(-exp10)
    };
    let v = if neg { -v } else { v };
    v.is_finite().then_some(v)
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
