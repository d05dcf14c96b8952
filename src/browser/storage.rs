//! sessionStorage, used for one thing only: the login in flight (verifier, state, nonce) between
//! the redirect to the provider and the callback. Never for tokens.

use super::{js_error, web};
use crate::proto::authorize::{PendingLogin, STORAGE_PREFIX};
use crate::proto::{Code, Result};

fn session_storage() -> Result<web_sys::Storage> {
    web::window()?
        .session_storage()
        .map_err(|e| js_error(Code::StorageError, "sessionStorage", &e))?
        .ok_or_else(|| {
            crate::proto::Error::new(Code::StorageError, "sessionStorage is unavailable")
        })
}

/// Stores a login in flight under its state.
pub fn put(pending: &PendingLogin) -> Result<()> {
    session_storage()?
        .set_item(
            &PendingLogin::storage_key(&pending.state),
            &pending.to_json(),
        )
        .map_err(|e| js_error(Code::StorageError, "storing the login in flight", &e))
}

/// Takes (reads and deletes) the login in flight for `state`: one use only.
pub fn take(state: &str) -> Option<PendingLogin> {
    let storage = session_storage().ok()?;
    let key = PendingLogin::storage_key(state);
    let text = storage.get_item(&key).ok()??;
    let _ = storage.remove_item(&key);
    PendingLogin::from_json(&text)
}

/// Deletes expired or unreadable logins in flight.
pub fn sweep(now_ms: f64) {
    let Ok(storage) = session_storage() else {
        return;
    };
    let len = storage.length().unwrap_or(0);
    let mut stale = Vec::new();
    for i in 0..len {
        if let Ok(Some(key)) = storage.key(i) {
            if key.starts_with(STORAGE_PREFIX) {
                let keep = storage
                    .get_item(&key)
                    .ok()
                    .flatten()
                    .and_then(|t| PendingLogin::from_json(&t))
                    .is_some_and(|p| !p.is_expired(now_ms));
                if !keep {
                    stale.push(key);
                }
            }
        }
    }
    for key in stale {
        let _ = storage.remove_item(&key);
    }
}

/// A flag in sessionStorage (never a token): the silent redirect already tried in this tab.
pub fn get_flag(key: &str) -> bool {
    session_storage()
        .ok()
        .and_then(|s| s.get_item(key).ok().flatten())
        .is_some()
}

pub fn set_flag(key: &str, on: bool) {
    if let Ok(s) = session_storage() {
        let _ = if on {
            s.set_item(key, "1")
        } else {
            s.remove_item(key)
        };
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web::window().ok()?.local_storage().ok()?
}

fn generation_key(app: &str) -> String {
    crate::proto::error::cat(&["pixy-oidc:generation:", app])
}

/// The latest session generation of this app, shared by all tabs (localStorage): a number,
/// not a token. It orders renewals across tabs where a BroadcastChannel message could be late.
pub fn generation(app: &str) -> Option<f64> {
    let text = local_storage()?.get_item(&generation_key(app)).ok()??;
    crate::proto::json::number_value(text.as_bytes())
}

pub fn set_generation(app: &str, generation: f64) {
    if let Some(s) = local_storage() {
        let _ = s.set_item(
            &generation_key(app),
            &crate::proto::json::number_text(generation),
        );
    }
}
