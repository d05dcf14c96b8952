//! What the fuzz targets share: turning fuzz input into the parsers' inputs, and comparing
//! our JSON values with serde_json's.

use pixy_oidc::proto::http::Response;
use pixy_oidc::proto::json::Value;

/// Content types a response may claim: JSON, JWK set, JWT, HTML, none.
const CONTENT_TYPES: [Option<&str>; 6] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/jwk-set+json"),
    Some("application/jwt"),
    Some("text/html"),
    None,
];

/// A response built from fuzz input: the first byte picks the status and the content type,
/// the rest (when UTF-8, as the browser hands bodies over) is the body. Mostly 200 JSON, so
/// the fuzzer spends its time in the parsers, not in the status checks.
pub fn response(data: &[u8]) -> Option<Response> {
    let (&pick, body) = data.split_first()?;
    let body = std::str::from_utf8(body).ok()?;
    let (status, content_type) = match pick {
        0..=199 => (200, CONTENT_TYPES[0]),
        200..=239 => (
            [200, 201, 204, 400, 401, 403, 500, 302][usize::from(pick % 8)],
            CONTENT_TYPES[0],
        ),
        _ => (200, CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()]),
    };
    Some(Response {
        status,
        content_type: content_type.map(String::from),
        body: body.to_string(),
    })
}

/// Whether our value equals serde_json's, numbers bit for bit.
pub fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Num(a), J::Number(b)) => b.as_f64().is_some_and(|b| a.to_bits() == b.to_bits()),
        (Value::Str(a), J::String(b)) => a == b,
        (Value::Arr(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Obj(a), J::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}
