//! fetch, with `credentials: "omit"` (Okta answers some endpoints with `ACAO: *`), a timeout,
//! and a size cap so a hostile endpoint cannot make the tab read a huge body.

use super::{describe_js, js_error, web};
use crate::proto::error::cat;
use crate::proto::http::{Response, MAX_BODY_BYTES};
use crate::proto::{Code, Error, Result};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, RequestCache, RequestCredentials, RequestInit, RequestMode,
};

/// One request.
pub struct Req<'a> {
    pub url: &'a str,
    /// What the request is, for messages: "the token request", ...
    pub what: &'a str,
    /// An `application/x-www-form-urlencoded` body makes it a POST.
    pub form: Option<&'a str>,
    /// Sent as `Authorization: Bearer` (RFC 6750 §2.1), never in the URL.
    pub bearer: Option<&'a str>,
    pub timeout_ms: f64,
    /// Bypass the HTTP cache (a JWKS refetch after key rotation).
    pub no_cache: bool,
}

/// Sends a request and reads the whole (bounded) body.
pub async fn send(req: Req<'_>) -> Result<Response> {
    let window = web::window()?;
    let init = RequestInit::new();
    init.set_method(if req.form.is_some() { "POST" } else { "GET" });
    init.set_credentials(RequestCredentials::Omit);
    init.set_mode(RequestMode::Cors);
    if req.no_cache {
        init.set_cache(RequestCache::NoStore);
    }
    let headers = Headers::new().map_err(|e| js_error(Code::NetworkError, req.what, &e))?;
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| js_error(Code::NetworkError, req.what, &e))
    };
    set("Accept", "application/json")?;
    if let Some(body) = req.form {
        set("Content-Type", "application/x-www-form-urlencoded")?;
        init.set_body(&JsValue::from_str(body));
    }
    if let Some(token) = req.bearer {
        set("Authorization", &cat(&["Bearer ", token]))?;
    }
    init.set_headers(&headers);

    let controller =
        AbortController::new().map_err(|e| js_error(Code::NetworkError, req.what, &e))?;
    init.set_signal(Some(&controller.signal()));
    let timed_out = Rc::new(Cell::new(false));
    let on_timeout = {
        let timed_out = timed_out.clone();
        Closure::once(move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            on_timeout.as_ref().unchecked_ref(),
            req.timeout_ms.clamp(0.0, 600_000.0) as i32,
        )
        .map_err(|e| js_error(Code::NetworkError, req.what, &e))?;

    let result = read(&window, &req, &init).await;
    window.clear_timeout_with_handle(timer);
    drop(on_timeout);
    match result {
        Err(_) if timed_out.get() => Err(Error::new(
            Code::Timeout,
            cat(&[
                req.what,
                " to ",
                &origin_of(req.url),
                " took longer than ",
                &crate::proto::json::number_text(req.timeout_ms),
                " ms",
            ]),
        )),
        other => other,
    }
}

fn origin_of(url: &str) -> String {
    crate::proto::url::split(url).map_or_else(|| "the provider".into(), |p| p.origin())
}

async fn read(window: &web_sys::Window, req: &Req<'_>, init: &RequestInit) -> Result<Response> {
    let resp = JsFuture::from(window.fetch_with_str_and_init(req.url, init))
        .await
        .map_err(|e| {
            Error::new(
                Code::NetworkError,
                cat(&[
                    req.what,
                    " to ",
                    &origin_of(req.url),
                    " failed before any HTTP answer (offline, or refused by CORS?): ",
                    &describe_js(&e),
                ]),
            )
        })?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| {
        Error::new(
            Code::NetworkError,
            cat(&[req.what, ": fetch returned no Response"]),
        )
    })?;
    let content_type = resp.headers().get("content-type").ok().flatten();
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.trim().parse::<u64>().ok());
    if declared.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
        return Err(Error::new(
            Code::InvalidResponse,
            cat(&[
                req.what,
                ": the response is larger than the ",
                &crate::proto::json::uint_text(MAX_BODY_BYTES as u64),
                " bytes accepted",
            ]),
        ));
    }
    let text = resp
        .text()
        .map_err(|e| js_error(Code::NetworkError, req.what, &e))?;
    let body = JsFuture::from(text)
        .await
        .map_err(|e| js_error(Code::NetworkError, req.what, &e))?
        .as_string()
        .unwrap_or_default();
    Ok(Response {
        status: resp.status(),
        content_type,
        body,
    })
}
