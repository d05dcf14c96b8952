//! The protocol core: pure functions and values, no I/O.
//!
//! Every protocol step is a pair: one function builds the request, one validates the response
//! (the shape oauth4webapi uses). A callback reaches the token request only through
//! [`callback::validate`], which alone can construct a [`callback::ValidatedCallback`].

pub mod authorize;
pub mod b64;
pub mod callback;
pub mod config;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod http;
pub mod id_token;
pub mod jose;
pub mod json;
pub mod logout;
pub mod pkce;
pub mod session;
pub mod token;
pub mod url;
pub mod userinfo;
