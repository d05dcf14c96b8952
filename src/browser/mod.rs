//! The browser shell, compiled for wasm32 only: the `#[wasm_bindgen]` surface through which
//! `src/js/client.js` drives the protocol core. The I/O itself (fetch, WebCrypto, storage, the
//! hidden iframe, tabs, timers) is done by that JS file, so no async Rust ships in the wasm.

mod core;

#[cfg(test)]
mod tests;
