//! The browser shell (wasm32 only): performs what `proto` asks and feeds the results back.
//! Each file wraps one Web API; `api` is the `#[wasm_bindgen]` surface.

mod api;
mod crypto;
mod http;
mod silent;
mod storage;
mod tabs;
mod timer;
mod web;

#[cfg(test)]
mod tests;

use crate::proto::error::cat;
use crate::proto::{Code, Error};
use wasm_bindgen::{JsCast, JsValue};

/// The one instantiation of `future_to_promise` in the module: every async entry point goes
/// through this boxed future, which keeps the wasm smaller than one copy of the polling glue
/// per call site.
pub(crate) fn promise(
    f: impl core::future::Future<Output = core::result::Result<JsValue, JsValue>> + 'static,
) -> js_sys::Promise {
    let boxed: core::pin::Pin<
        Box<dyn core::future::Future<Output = core::result::Result<JsValue, JsValue>>>,
    > = Box::pin(f);
    wasm_bindgen_futures::future_to_promise(boxed)
}

/// A thrown JS value, whatever it is (JS can throw anything), as a readable string.
pub(crate) fn describe_js(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return cat(&[&String::from(e.name()), ": ", &String::from(e.message())]);
    }
    v.as_string().unwrap_or_else(|| "an unknown error".into())
}

/// Wraps a thrown JS value into an error with `code`.
pub(crate) fn js_error(code: Code, context: &str, v: &JsValue) -> Error {
    Error::new(code, cat(&[context, ": ", &describe_js(v)]))
}
