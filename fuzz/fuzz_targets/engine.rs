//! The session engine's event intake never panics: a started engine is fed a sequence of
//! events built from the input, one per line. A line is an event's JSON text read by
//! `Event::from_json`, a structured event with an id and a body picked by its first byte, or
//! the plausible answer to an action the engine asked for (so that the fuzzer reaches the
//! token pipeline, renewals and the other tabs). After every event the actions serialise and
//! the wake-up time is a number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixy_oidc::proto::engine::{output_json, Action, Command, Engine, Event, Failure};
use pixy_oidc::proto::id_token::digest;
use pixy_oidc::proto::jose::Hash;

const CONFIG: &str = "{\"issuer\":\"https://op.example\",\"clientId\":\"app\",\
    \"redirectUri\":\"https://app.example/cb\",\
    \"scopes\":[\"openid\",\"offline_access\"],\"debug\":true,\
    \"idleTimeoutMs\":60000,\"sessionCheckIntervalMs\":1000,\
    \"frontChannelLogoutUri\":\"https://app.example/fc\"}";
const DISCOVERY: &str = "{\"issuer\":\"https://op.example\",\
    \"authorization_endpoint\":\"https://op.example/authorize\",\
    \"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\",\
    \"userinfo_endpoint\":\"https://op.example/userinfo\",\
    \"check_session_iframe\":\"https://op.example/check\"}";
const JWKS: &str = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
const PAGES: [&str; 6] = [
    "https://app.example/home",
    "https://app.example/cb?code=c&state=s&iss=https%3A%2F%2Fop.example&session_state=x.y",
    "https://app.example/cb?error=login_required&state=s",
    "file:///nowhere",
    "https://app.example/fc?iss=https%3A%2F%2Fop.example&sid=s",
    "https://app.example/fc",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    let pick = first.bytes().next().unwrap_or(0);
    let mut seed = u64::from(pick) + 1;
    let mut engine = Engine::new(Box::new(move |b| {
        for x in b.iter_mut() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = (seed >> 33) as u8;
        }
        pick != b'!'
    }));
    let mut now = 1.7e12;
    let stored = if pick % 2 == 0 {
        Vec::new()
    } else {
        vec![(
            String::from("pixy-oidc:login:s"),
            first.get(1..).unwrap_or("").to_string(),
        )]
    };
    let start = Event::Start {
        secure: true,
        held: None,
        embedder: (pick % 3 == 0).then(|| String::from("https://op.example")),
        config: String::from(CONFIG),
        href: PAGES[usize::from(pick) % PAGES.len()].to_string(),
        stored,
    };
    let mut pending: Vec<Action> = Vec::new();
    let step = |engine: &mut Engine, now: f64, e: Event, pending: &mut Vec<Action>| {
        let _ = engine.handle(now, e);
        let actions = engine.take_actions();
        let wake = engine.wake_at();
        assert!(wake.is_none_or(|w| !w.is_nan()));
        let _ = output_json(&actions, wake);
        pending.extend(actions);
    };
    step(&mut engine, now, start, &mut pending);
    for line in lines.take(200) {
        let bytes = line.as_bytes();
        let (&op, rest) = bytes.split_first().unwrap_or((&b'.', &[]));
        let id = u32::from(rest.first().copied().unwrap_or(0) % 24);
        let body = line.get(2..).unwrap_or("").to_string();
        let e = match op {
            b'{' => match Event::from_json(line) {
                Ok(e) => e,
                Err(_) => continue,
            },
            b'A' | b'a' => {
                // Answer the oldest action still waiting, as a browser and provider would.
                if pending.is_empty() {
                    continue;
                }
                let a = pending.remove(0);
                match answer(a, body) {
                    Some(e) => e,
                    None => continue,
                }
            }
            b'R' => Event::Response {
                id,
                status: u16::from(rest.get(1).copied().unwrap_or(200)) * 4,
                content_type: Some(String::from("application/json")),
                body: line.get(3..).unwrap_or("").to_string(),
                retry_after: Some(body),
                dpop_nonce: None,
                www_authenticate: None,
            },
            b'F' => Event::Failed {
                id,
                failure: [
                    Failure::Network,
                    Failure::TooLarge,
                    Failure::Crypto,
                    Failure::Storage,
                    Failure::Navigation,
                    Failure::Blocked,
                ][usize::from(rest.get(1).copied().unwrap_or(0) % 6)],
                detail: body,
            },
            b'D' => Event::Digest {
                id,
                bytes: body.into_bytes(),
            },
            b'V' => Event::Verified {
                id,
                ok: rest.len() % 2 == 0,
            },
            b'H' => Event::FrameAnswer { id, href: body },
            b'P' => Event::PopupAnswer { id, href: body },
            b'p' => Event::PopupClosed { id },
            b'K' => Event::CheckAnswer { id, status: body },
            b'U' => Event::Activity,
            b'S' => Event::Stored { id },
            b'L' => Event::LockGranted { id },
            b'Q' => Event::Locks {
                id,
                names: Some(vec![format!("pixy-oidc:gen:https://op.example|app:{body}")]),
            },
            b'q' => Event::Locks { id, names: None },
            b'T' => Event::Tab {
                msg: line.get(1..).unwrap_or("").to_string(),
            },
            b'C' => Event::Command {
                cmd: id + 1,
                command: match id % 7 {
                    0 => Command::GetTokens,
                    1 => Command::RenewTokens,
                    2 => Command::GetUserInfo,
                    3 => Command::Logout {
                        redirect_to: Some(body),
                    },
                    4 => Command::Activity,
                    5 => Command::Login {
                        redirect_to: None,
                        extra: Vec::new(),
                        href: None,
                        popup: true,
                    },
                    _ => Command::Login {
                        redirect_to: None,
                        extra: Vec::new(),
                        href: Some(body),
                        popup: false,
                    },
                },
            },
            b'O' => Event::Online,
            b'W' => Event::Visible,
            b'X' => Event::Close,
            _ => {
                // Time passes (up to a few hours), then the timer.
                now += f64::from(op) * f64::from(rest.first().copied().unwrap_or(1)) * 1000.0;
                Event::Timer
            }
        };
        step(&mut engine, now, e, &mut pending);
    }
});

/// A plausible answer to action `a`.
fn answer(a: Action, body: String) -> Option<Event> {
    Some(match a {
        Action::Fetch { id, url, .. } => Event::Response {
            id,
            status: 200,
            content_type: Some(String::from("application/json")),
            body: if url.ends_with("openid-configuration") {
                String::from(DISCOVERY)
            } else if url.ends_with("/jwks") {
                String::from(JWKS)
            } else {
                body
            },
            retry_after: None,
            dpop_nonce: None,
            www_authenticate: None,
        },
        Action::Digest { id, hash, text } => Event::Digest {
            id,
            bytes: digest(
                match hash {
                    "SHA-384" => Hash::Sha384,
                    "SHA-512" => Hash::Sha512,
                    _ => Hash::Sha256,
                },
                text.as_bytes(),
            ),
        },
        Action::Verify { id, .. } => Event::Verified { id, ok: true },
        Action::Store { id: Some(id), .. } => Event::Stored { id },
        Action::Frame { id, .. } => Event::FrameAnswer { id, href: body },
        Action::Lock { id, .. } => Event::LockGranted { id },
        Action::QueryLocks { id, .. } => Event::Locks {
            id,
            names: Some(Vec::new()),
        },
        Action::Post { msg, .. } => Event::Tab { msg },
        Action::PopupGo { id, .. } => Event::PopupAnswer { id, href: body },
        Action::CheckPopup { id } => Event::PopupClosed { id },
        Action::CheckFrame { id, .. } => Event::FrameLoaded { id },
        Action::CheckPost { id, .. } => Event::CheckAnswer {
            id,
            status: String::from(if body.len() % 2 == 0 { "changed" } else { "unchanged" }),
        },
        _ => return None,
    })
}
