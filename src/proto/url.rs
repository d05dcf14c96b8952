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

/// Decodes a form-encoded component (`+` is a space). A percent-escape is exactly `%` and two
/// hexadecimal digits; anything else (`%+5`, `%4`, `%zz`) is an error, not a guess.
pub fn decode(s: &str) -> Result<String> {
    let bad = || {
        Error::new(
            Code::InvalidResponse,
            "a URL parameter has a bad percent-escape",
        )
    };
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(c) = bytes.next() {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex_value).ok_or_else(bad)?;
                let lo = bytes.next().and_then(hex_value).ok_or_else(bad)?;
                out.push(hi << 4 | lo);
            }
            c => out.push(c),
        }
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

/// True for hosts that never leave the machine, where plain http is acceptable: `localhost`;
/// names under `.localhost` (RFC 6761 §6.3 reserves them for loopback, and browsers resolve
/// them there and treat them as potentially trustworthy, as they do `localhost`); `[::1]`; and
/// IPv4 literals in 127.0.0.0/8.
///
/// Only the plain dotted quad counts: four decimal numbers 0-255 without leading zeros. A
/// browser also reads `127.1`, `2130706433` or `0x7f.0.0.1` as 127.0.0.1, but nobody configures
/// those, and reading them as "not loopback" only ever refuses http, never allows it. Anything
/// else merely starting with `127.` (`127.evil.example`) is a name anyone can register.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h.strip_suffix(".localhost").is_some_and(is_dns_name)
        || h == "[::1]"
        || is_ipv4_loopback(&h)
}

/// Dot-separated labels of letters, digits and hyphens, none empty.
fn is_dns_name(s: &str) -> bool {
    pieces(s, b'.')
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// `127.a.b.c`, each of a, b, c a decimal number 0-255 written without leading zeros.
fn is_ipv4_loopback(h: &str) -> bool {
    let mut octets = pieces(h, b'.');
    let first = octets.next() == Some("127");
    let rest = octets.by_ref().take(3).filter(|o| is_octet(o)).count() == 3;
    first && rest && octets.next().is_none()
}

fn is_octet(o: &str) -> bool {
    let digits = !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = o.len() > 1 && o.starts_with('0');
    digits && !leading_zero && o.bytes().fold(0u32, |a, b| a * 10 + u32::from(b - b'0')) <= 255
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
