//! The other tabs of the same app: a BroadcastChannel to hand sessions over in memory and to
//! spread logouts, and Web Locks so that exactly one tab renews at a time.

use super::js_error;
use crate::proto::{Code, Result};
use js_sys::{Function, Promise};
use std::future::Future;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BroadcastChannel, MessageEvent};

/// An open channel; closed on drop.
pub struct Channel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    /// Opens `name`; `on_message` receives every string message from other tabs.
    pub fn open(name: &str, mut on_message: impl FnMut(String) + 'static) -> Result<Channel> {
        let channel = BroadcastChannel::new(name)
            .map_err(|e| js_error(Code::InvalidConfig, "BroadcastChannel", &e))?;
        let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                on_message(text);
            }
        });
        channel.set_onmessage(Some(closure.as_ref().unchecked_ref()));
        Ok(Channel {
            channel,
            _on_message: closure,
        })
    }

    pub fn post(&self, message: &str) {
        let _ = self.channel.post_message(&JsValue::from_str(message));
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["navigator", "locks"], js_name = request, catch)]
    fn locks_request(name: &str, callback: &Function) -> core::result::Result<Promise, JsValue>;
}

/// Runs `f` while holding the Web Lock `name`, shared by every tab of the origin. Where Web
/// Locks are missing (no secure context), `f` runs without it.
pub async fn with_lock<F>(
    name: &str,
    f: impl FnOnce() -> F + 'static,
) -> core::result::Result<JsValue, JsValue>
where
    F: Future<Output = core::result::Result<JsValue, JsValue>> + 'static,
{
    let mut f = Some(f);
    let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        match f.take() {
            Some(f) => super::promise(f()),
            None => Promise::resolve(&JsValue::UNDEFINED),
        }
    });
    let callback: Function = callback.unchecked_into();
    match locks_request(name, &callback) {
        Ok(p) => JsFuture::from(p).await,
        // No Web Locks: call the callback directly.
        Err(_) => match callback.call1(&JsValue::NULL, &JsValue::NULL) {
            Ok(p) => JsFuture::from(Promise::from(p)).await,
            Err(e) => Err(e),
        },
    }
}
