//! Silent authentication in a hidden iframe (OIDC Core §3.1.2.1 `prompt=none`). The page on
//! the silent redirect URI posts its URL to this window (src/js/index.js does that before
//! anything else); the message counts only if it comes from our origin, from that iframe's
//! window, within the time limit.

use super::{timer, web};
use crate::proto::{Code, Error, Result};
use js_sys::{Object, Promise};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlIFrameElement, MessageEvent};

/// What the silent page posts, followed by its URL.
pub const MESSAGE_PREFIX: &str = "pixy-oidc:silent:";
/// The iframe's name, by which the silent page knows it is one.
pub const FRAME_NAME: &str = "pixy-oidc-silent";

/// Loads `url` in a hidden iframe and returns the URL the provider sent it back to.
pub async fn run(url: &str, timeout_ms: f64) -> Result<String> {
    let window = web::window()?;
    let document = window
        .document()
        .ok_or_else(|| Error::new(Code::InvalidConfig, "no document for the silent iframe"))?;
    let frame: HtmlIFrameElement = document
        .create_element("iframe")
        .map_err(|e| super::js_error(Code::InvalidConfig, "creating the silent iframe", &e))?
        .unchecked_into();
    frame.set_name(FRAME_NAME);
    let _ = frame.set_attribute("aria-hidden", "true");
    let _ = frame.set_attribute("tabindex", "-1");
    let _ = frame.set_attribute(
        "style",
        "position:absolute;width:0;height:0;border:0;visibility:hidden",
    );
    let origin = web::origin()?;

    let resolver: Rc<RefCell<Option<js_sys::Function>>> = Rc::new(RefCell::new(None));
    let promise = {
        let resolver = resolver.clone();
        Promise::new(&mut move |resolve, _| {
            *resolver.borrow_mut() = Some(resolve);
        })
    };
    let finish = {
        let resolver = resolver.clone();
        move |v: JsValue| {
            if let Some(f) = resolver.borrow_mut().take() {
                let _ = f.call1(&JsValue::NULL, &v);
            }
        }
    };
    let on_message = {
        let frame = frame.clone();
        let finish = finish.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let from_frame = match (e.source(), frame.content_window()) {
                (Some(src), Some(win)) => Object::is(&src, &win),
                _ => false,
            };
            if !from_frame || e.origin() != origin {
                return;
            }
            if let Some(text) = e.data().as_string() {
                if let Some(href) = text.strip_prefix(MESSAGE_PREFIX) {
                    finish(JsValue::from_str(href));
                }
            }
        })
    };
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    let timeout = timer::Timeout::new(timeout_ms, move || finish(JsValue::NULL))?;

    frame.set_src(url);
    let parent = document
        .body()
        .map(web_sys::Element::from)
        .or_else(|| document.document_element());
    if let Some(p) = parent {
        let _ = p.append_child(&frame);
    }
    let result = JsFuture::from(promise).await;

    drop(timeout);
    let _ =
        window.remove_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    frame.remove();
    match result.ok().and_then(|v| v.as_string()) {
        Some(href) => Ok(href),
        None => Err(Error::new(
            Code::Timeout,
            "the silent authentication iframe got no answer in time (the provider may refuse framing)",
        )),
    }
}
