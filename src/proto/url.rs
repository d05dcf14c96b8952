//! URL pieces the protocol needs: query building and parsing (application/x-www-form-urlencoded,
//! as RFC 6749 §4.1 uses it), origins, and same-origin checks. Deliberately small: it compares
//! strings, it never "normalises" an issuer.

use super::error::{cat, Code, Error, Result};

/// `s` split at the first `sep`, an ASCII byte: `split_once(char)` without core's char
/// searcher.
pub fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The pieces of `s` between `sep`s, an ASCII byte: `split(char)` without core's char searcher.
pub fn pieces(s: &str, sep: u8) -> Pieces<'_> {
    Pieces { rest: Some(s), sep }
}

/// The iterator of [`pieces`].
pub struct Pieces<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match cut(s, self.sep) {
            Some((piece, rest)) => {
                self.rest = Some(rest);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

fn has(s: &str, b: u8) -> bool {
    s.bytes().any(|c| c == b)
}

/// The byte offset of the first `needle` in `hay`. A plain scan: core's two-way substring
/// search costs more wasm than these short strings ever save.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 15));
        }
    }
    out
}

fn hex_digit(d: u8) -> char {
    char::from(if d < 10 { b'0' + d } else { b'A' - 10 + d })
}

/// The value of a hexadecimal digit.
pub fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes a form-encoded component (`+` is a space).
pub fn decode(s: &str) -> Result<String> {
    let bad = || {
        Error::new(
            Code::InvalidResponse,
            "a URL parameter has a bad percent-escape",
        )
    };
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let lo = b.get(i + 2).and_then(|&c| hex_value(c)).ok_or_else(bad)?;
                let hex = match b.get(i + 1) {
                    // As `u8::from_str_radix` did: a `+` sign and one digit.
                    Some(b'+') => lo,
                    Some(&c) => hex_value(c).ok_or_else(bad)? * 16 + lo,
                    None => return Err(bad()),
                };
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// `a=1&b=2` from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// Parses a query string (without the `?`). Empty pieces are skipped.
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for p in pieces(q, b'&') {
        if !p.is_empty() {
            let (k, v) = cut(p, b'=').unwrap_or((p, ""));
            out.push((decode(k)?, decode(v)?));
        }
    }
    Ok(out)
}

/// Adds parameters to a URL that may already have a query, keeping a fragment last.
pub fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return url.to_string();
    }
    let (base, frag) = match cut(url, b'#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if has(base, b'?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = cat(&[base, sep, &form(pairs)]);
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The pieces of an absolute URL that matter here.
#[derive(Debug, PartialEq, Eq)]
pub struct Parts<'a> {
    pub scheme: &'a str,
    /// `host[:port]`, as written.
    pub authority: &'a str,
    /// Path, without query or fragment; `/` when empty.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

impl Parts<'_> {
    /// `scheme://authority`, lower-cased scheme and host as browsers serialise origins.
    pub fn origin(&self) -> String {
        let mut o = cat(&[self.scheme, "://", self.authority]);
        o.make_ascii_lowercase();
        o
    }
    /// The host without the port; IPv6 keeps its brackets.
    pub fn host(&self) -> &str {
        if self.authority.starts_with('[') {
            return match self.authority.bytes().position(|b| b == b']') {
                Some(i) => self.authority.get(..=i).unwrap_or(self.authority),
                None => self.authority,
            };
        }
        cut(self.authority, b':').map_or(self.authority, |(h, _)| h)
    }
}

/// Splits an absolute `http(s)` URL. `None` for anything else (relative, `javascript:`,
/// credentials in the authority, backslashes, control characters).
pub fn split(url: &str) -> Option<Parts<'_>> {
    if url.bytes().any(|b| b <= b' ' || b == b'\\' || b == 0x7f) {
        return None;
    }
    let (scheme, rest) = cut(url, b':')?;
    let rest = rest.strip_prefix("//")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    if authority.is_empty() || has(authority, b'@') {
        return None;
    }
    let tail = rest.get(end..)?;
    let (tail, fragment) = match cut(tail, b'#') {
        Some((t, f)) => (t, Some(f)),
        None => (tail, None),
    };
    let (path, query) = match cut(tail, b'?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    Some(Parts {
        scheme,
        authority,
        path: if path.is_empty() { "/" } else { path },
        query,
        fragment,
    })
}

/// True for hosts that never leave the machine.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost") || h == "[::1]" || h.starts_with("127.")
}

/// Resolves `redirectTo` (absolute, or a path starting with a single `/`) against the app's
/// origin and refuses anything that would leave it: no open redirect.
pub fn same_origin_target(app_origin: &str, target: &str) -> Result<String> {
    let refuse = || {
        Error::new(
            Code::InvalidRedirectTo,
            cat(&[
                "redirectTo must be a path or a URL on ",
                app_origin,
                ", got ",
                &super::error::quoted(target, 200),
            ]),
        )
    };
    if target.starts_with('/') {
        if target.starts_with("//") || target.bytes().any(|b| b <= b' ' || b == b'\\') {
            return Err(refuse());
        }
        return Ok(cat(&[app_origin, target]));
    }
    match split(target) {
        Some(p) if p.origin() == app_origin.to_ascii_lowercase() => Ok(target.to_string()),
        _ => Err(refuse()),
    }
}

/// Removes the given parameters from the query of `url`, keeping everything else in order.
pub fn without_params(url: &str, names: &[&str]) -> String {
    let (base, frag) = match cut(url, b'#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (path, query) = match cut(base, b'?') {
        Some((p, q)) => (p, q),
        None => (base, ""),
    };
    let mut out = path.to_string();
    let mut sep = '?';
    for p in pieces(query, b'&') {
        let k = cut(p, b'=').map_or(p, |(k, _)| k);
        if p.is_empty() || decode(k).is_ok_and(|k| names.contains(&k.as_str())) {
            continue;
        }
        out.push(sep);
        sep = '&';
        out.push_str(p);
    }
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
