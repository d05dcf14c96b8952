//! setTimeout as owned values: dropping a `Timeout` cancels it.

use super::{js_error, web};
use crate::proto::{Code, Result};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A pending `setTimeout`, cleared on drop.
pub struct Timeout {
    handle: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    pub fn new(ms: f64, f: impl FnOnce() + 'static) -> Result<Timeout> {
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = f.take() {
                f();
            }
        });
        let handle = web::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.as_ref().unchecked_ref(),
                ms.clamp(0.0, 2_147_483_000.0) as i32,
            )
            .map_err(|e| js_error(Code::InvalidConfig, "setTimeout", &e))?;
        Ok(Timeout {
            handle,
            _callback: callback,
        })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_timeout_with_handle(self.handle);
        }
    }
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.clamp(0.0, 600_000.0) as i32,
            );
        }
    });
    let _ = JsFuture::from(promise).await;
}
