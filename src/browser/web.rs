//! window, location, history, timers and the clock.

use super::js_error;
use crate::proto::{Code, Error, Result};
use wasm_bindgen::JsValue;

pub fn window() -> Result<web_sys::Window> {
    web_sys::window()
        .ok_or_else(|| Error::new(Code::InvalidConfig, "pixy-oidc needs a browser window"))
}

/// Milliseconds since the epoch, from the local clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn origin() -> Result<String> {
    window()?
        .location()
        .origin()
        .map_err(|e| js_error(Code::InvalidConfig, "reading location.origin", &e))
}

/// Replaces the current history entry's URL without navigating.
pub fn replace_url(url: &str) -> Result<()> {
    let history = window()?
        .history()
        .map_err(|e| js_error(Code::InvalidConfig, "reading history", &e))?;
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(url))
        .map_err(|e| js_error(Code::InvalidRedirectTo, "history.replaceState", &e))
}

/// Full-page navigation.
pub fn navigate(url: &str) -> Result<()> {
    window()?
        .location()
        .assign(url)
        .map_err(|e| js_error(Code::InvalidConfig, "navigating", &e))
}
