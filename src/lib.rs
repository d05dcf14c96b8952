//! # pixy-oidc
//!
//! An OpenID Connect client for single-page apps: the public-client Authorization Code flow with
//! PKCE (RFC 7636), strict ID token validation (OIDC Core §3.1.3.7), tokens kept in memory only.
//!
//! ## Shape
//!
//! - `proto` is the protocol core. **It does no I/O**: no clock, no network, no DOM. Time,
//!   HTTP responses and WebCrypto's results come in as values (random bytes from a source the
//!   caller gives); requests to make come out as values. Its centre is the session engine,
//!   [`Engine`]: one sans-I/O state machine that takes [`Event`]s (a command, the answer to
//!   request N, a timer, another tab's message, ...) with the current time and gives back
//!   [`Action`]s and the time to wake it, the shape of quinn-proto. Every rule of a session's
//!   life lives there once. It is tested natively with `cargo test`, on a virtual clock.
//! - `browser` (wasm32 only) is the `#[wasm_bindgen]` surface: `Client`, the engine behind one
//!   method, `handle(now, event)`, JSON text in and out. `src/js/client.js` carries out the
//!   actions (fetch, WebCrypto, sessionStorage, the hidden iframe, other tabs, Web Locks, the
//!   timer) and reports back; it decides nothing.
//!
//! ## Threat model, honestly
//!
//! Tokens live only in memory (held by the wasm module; passing through the page's JavaScript
//! on their way to a request, WebCrypto or `getTokens()`): never in localStorage, sessionStorage,
//! IndexedDB, cookies, logs, error messages, or the URL after the callback. Nothing survives the
//! tab, so nothing is left for a later script, a shared computer or a stolen disk. This does
//! **not** protect tokens from a script already running in the page (XSS): wasm memory is
//! readable from JavaScript in the same realm, and such a script can call the library just as
//! the app does. Short-lived access tokens and rotated refresh tokens limit that damage.
//!
//! Only the PKCE verifier, `state` and `nonce` of a login in flight sit in sessionStorage between
//! the redirect and the callback; they are deleted on use and expire after ten minutes. With DPoP
//! the tokens are bound to a key pair whose private key WebCrypto never lets out (not even into
//! the wasm), held in memory like the tokens.

// The core's modules are the crate's own; the public surface is the session engine. The
// `fuzzing` feature opens the parsers to the fuzz targets in `fuzz/`.
#[cfg(feature = "fuzzing")]
pub mod proto;
#[cfg(not(feature = "fuzzing"))]
mod proto;

pub use proto::engine::{
    action::error_json, output_json, Action, AppEvent, Command, Engine, Event, Failure,
};
pub use proto::error::{Code, Error, Result};

#[cfg(target_arch = "wasm32")]
mod browser;

// wasm32 in a browser page is single-threaded: no other thread can ever enter the allocator.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without the atomics feature has one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
