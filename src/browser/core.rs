//! The `#[wasm_bindgen]` surface: the session engine as one object, [`Client`], with one
//! method that takes an event and returns the actions. The browser shell (`src/js/client.js`)
//! carries the actions out and reports back; it decides nothing.
//!
//! Events and actions cross as JSON text, read and written by the core's own JSON code: a
//! typed enum on each side of one string, which costs a fraction of what serde and
//! serde-wasm-bindgen would add to the download (see the README, "How it is built").

use crate::proto::engine::{action::error_json, output_json, Engine, Event};
use crate::proto::error::cat;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues`, which browsers offer in every context. It throws only for
    /// more than 65,536 bytes; the engine asks for 96 (no `catch`: its glue costs more).
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// One client's session engine.
#[wasm_bindgen]
pub struct Client(Engine);

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

#[wasm_bindgen]
impl Client {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Client {
        Client(Engine::new(Box::new(|b| {
            get_random_values(b);
            true
        })))
    }

    /// Takes one event (JSON text) at `now` (ms since the epoch) and returns
    /// `{"actions": [...], "wake": ms | null}`, or `!` and an error when the event is malformed.
    pub fn handle(&mut self, now: f64, event: &str) -> String {
        match Event::from_json(event).and_then(|e| self.0.handle(now, e)) {
            Ok(()) => output_json(&self.0.take_actions(), self.0.wake_at()),
            Err(e) => {
                self.0.take_actions();
                cat(&["!", &error_json(&e)])
            }
        }
    }
}
