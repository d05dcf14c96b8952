//! Errors with stable codes that programs compare (`err.code` in JavaScript).

use core::fmt;

/// A stable, snake_case error code. The strings never change once published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The configuration given to `createOidc` is unusable.
    InvalidConfig,
    /// The request never got an HTTP answer (offline, DNS, CORS refusal).
    NetworkError,
    /// The request took longer than allowed.
    Timeout,
    /// An HTTP status that is neither success nor an OAuth error body.
    HttpError,
    /// A response of the wrong shape: not JSON, wrong content type, too large, missing members.
    InvalidResponse,
    /// The discovery document lacks something the client needs, or has a bad endpoint.
    InvalidMetadata,
    /// The discovery `issuer` or the RFC 9207 `iss` parameter is not the configured issuer.
    IssuerMismatch,
    /// The authorization response's `state` is missing, unknown, used or expired.
    StateMismatch,
    /// The provider answered with an OAuth error (`error`, `error_description`).
    ProviderError,
    /// The ID token failed validation (OIDC Core §3.1.3.7).
    InvalidIdToken,
    /// The UserInfo response failed validation (OIDC Core §5.3.4).
    InvalidUserinfo,
    /// The call needs a logged-in user.
    NotLoggedIn,
    /// Silent authentication found no provider session (OIDC Core §3.1.2.6).
    LoginRequired,
    /// The session ended: the refresh token was refused or the tokens expired.
    SessionExpired,
    /// WebCrypto or the random source is unavailable.
    CryptoError,
    /// The page is not a secure context (https, or http://localhost): no WebCrypto.
    InsecureContext,
    /// sessionStorage is unavailable for the login in flight.
    StorageError,
    /// `redirectTo` is not a same-origin URL.
    InvalidRedirectTo,
    /// The provider demands a client secret (Google's web clients), which a browser cannot keep.
    ClientSecretRequired,
    /// The browser refused to open the login popup (it must be opened from a click).
    PopupBlocked,
    /// The user closed the login popup before the login completed.
    LoginCancelled,
    /// The page called the core wrongly: a bug in pixy-oidc, not in the provider.
    InternalError,
}

impl Code {
    /// Every code, for the reverse lookup.
    pub const ALL: [Code; 22] = [
        Code::InvalidConfig,
        Code::NetworkError,
        Code::Timeout,
        Code::HttpError,
        Code::InvalidResponse,
        Code::InvalidMetadata,
        Code::IssuerMismatch,
        Code::StateMismatch,
        Code::ProviderError,
        Code::InvalidIdToken,
        Code::InvalidUserinfo,
        Code::NotLoggedIn,
        Code::LoginRequired,
        Code::SessionExpired,
        Code::CryptoError,
        Code::InsecureContext,
        Code::StorageError,
        Code::InvalidRedirectTo,
        Code::ClientSecretRequired,
        Code::PopupBlocked,
        Code::LoginCancelled,
        Code::InternalError,
    ];

    /// The code for a string from [`Code::as_str`].
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The code as the JavaScript API exposes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidConfig => "invalid_config",
            Code::NetworkError => "network_error",
            Code::Timeout => "timeout",
            Code::HttpError => "http_error",
            Code::InvalidResponse => "invalid_response",
            Code::InvalidMetadata => "invalid_metadata",
            Code::IssuerMismatch => "issuer_mismatch",
            Code::StateMismatch => "state_mismatch",
            Code::ProviderError => "provider_error",
            Code::InvalidIdToken => "invalid_id_token",
            Code::InvalidUserinfo => "invalid_userinfo",
            Code::NotLoggedIn => "not_logged_in",
            Code::LoginRequired => "login_required",
            Code::SessionExpired => "session_expired",
            Code::CryptoError => "crypto_error",
            Code::InsecureContext => "insecure_context",
            Code::StorageError => "storage_error",
            Code::InvalidRedirectTo => "invalid_redirect_to",
            Code::ClientSecretRequired => "client_secret_required",
            Code::PopupBlocked => "popup_blocked",
            Code::LoginCancelled => "login_cancelled",
            Code::InternalError => "internal_error",
        }
    }
}

/// An error of the protocol core. Messages say what was expected and what came; they never
/// contain a token.
///
/// Boxed, so that every `Result` of the core stays two words wide: the wasm then moves
/// pointers instead of copying ten-word errors through every `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<ErrorData>);

/// What an [`Error`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorData {
    pub code: Code,
    pub message: String,
    /// The provider's own `error` value, when it sent one.
    pub error: Option<String>,
    /// The provider's own `error_description`, when it sent one.
    pub error_description: Option<String>,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorData {
            code,
            message: message.into(),
            error: None,
            error_description: None,
        }))
    }

    /// An OAuth error from the provider (RFC 6749 §4.1.2.1, §5.2).
    pub fn provider(error: &str, description: Option<&str>, context: &str) -> Self {
        let error = clip(error, 200);
        let description = description.map(|d| clip(d, 1000));
        let message = match &description {
            Some(d) => cat(&[context, ": the provider answered `", &error, "`: ", d]),
            None => cat(&[context, ": the provider answered `", &error, "`"]),
        };
        let code = match error.as_str() {
            "login_required"
            | "interaction_required"
            | "consent_required"
            | "account_selection_required" => Code::LoginRequired,
            _ => Code::ProviderError,
        };
        Error(Box::new(ErrorData {
            code,
            message,
            error: Some(error),
            error_description: description,
        }))
    }

    /// The provider's error, kept, under another code.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }
}

impl core::ops::Deref for Error {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl core::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

/// Concatenates `parts`: `cat(&["a", b, "c"])`. A plain loop, much smaller in wasm than
/// `format!` or `[..].concat()`.
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts {
        out.push_str(p);
    }
    out
}

/// Joins `items` with `sep` (like `[..].join(sep)`, in fewer wasm bytes).
pub fn join<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    let mut out = String::new();
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(s.as_ref());
    }
    out
}

/// Shortens untrusted text for a message, on a character boundary.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    cat(&[s.get(..end).unwrap_or(""), "…"])
}

/// Untrusted text for a message: clipped to `max` bytes, then quoted as a JSON string literal
/// (quotes, backslashes and control characters escaped).
pub fn quoted(s: &str, max: usize) -> String {
    let mut out = String::new();
    super::json::write_str(&mut out, &clip(s, max));
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        f.write_str(": ")?;
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;
