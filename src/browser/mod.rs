//! The browser surface, compiled for wasm32 only: the `#[wasm_bindgen]` object through which
//! `src/js/client.js` feeds the session engine events and carries out its actions.

mod core;

#[cfg(test)]
mod tests;
