//! Requests as the engine sends them: with a DPoP proof when the client binds its tokens to a
//! key (RFC 9449), and authorization requests pushed first when that is asked for (RFC 9126).
//!
//! The key pair is made and used by the shell's WebCrypto (the private key is not extractable
//! and never enters the wasm); the engine writes each proof and has the shell sign it.

use super::*;

/// A request waiting for its DPoP proof.
pub(super) struct Job {
    /// The action id the request, and each step towards its proof, go under.
    pub id: u32,
    pub htm: String,
    pub htu: String,
    /// The access token the request carries (for `ath` and the `Authorization` header).
    pub access: Option<String>,
    pub ath: Option<String>,
    /// Waiting for: 0 the key, 1 the access token's digest, 2 the signature.
    pub stage: u8,
    pub input: String,
    pub then: Then,
}

/// What a proof is for.
pub(super) enum Then {
    /// The request `id` in `fetches`.
    Send,
    /// `oidc.fetch`: the headers for command `cmd`.
    Headers(u32),
    /// `createDPoPProof`: the proof for command `cmd`.
    Proof(u32),
}

/// `url` without query and fragment, as `htu` wants it (RFC 9449 §4.2).
fn htu(url: &str) -> String {
    match url::split(url) {
        Some(p) => cat(&[&p.origin(), p.path]),
        None => url.to_string(),
    }
}

impl Engine {
    /// Whether requests carry DPoP proofs.
    pub(super) fn dpop_on(&self) -> bool {
        self.cfg.as_ref().is_some_and(|c| c.dpop)
    }

    /// Sends a request now, or once its proof is made (`proof`). `access`: the access token it
    /// carries in `Authorization`.
    pub(super) fn send(
        &mut self,
        url: &str,
        form: Option<String>,
        access: Option<String>,
        no_cache: bool,
        what: &'static str,
        proof: bool,
    ) -> u32 {
        let id = self.id();
        self.fetches.push(InFlight {
            id,
            what,
            url: url.to_string(),
            form,
            access: access.clone(),
            no_cache,
            proof,
            retried: false,
        });
        if proof {
            let htm = if self.fetches.last().is_some_and(|f| f.form.is_some()) {
                "POST"
            } else {
                "GET"
            };
            self.prove(id, String::from(htm), url, access, Then::Send);
        } else {
            self.emit_fetch(id, None);
        }
        id
    }

    /// Emits fetch `id` (in `fetches`) with its proof, and its timeout.
    fn emit_fetch(&mut self, id: u32, dpop: Option<String>) {
        let Some(f) = self.fetches.iter().find(|f| f.id == id) else {
            return;
        };
        let scheme = if dpop.is_some() { "DPoP " } else { "Bearer " };
        let a = Action::Fetch {
            id,
            url: f.url.clone(),
            form: f.form.clone(),
            authorization: f.access.as_deref().map(|t| cat(&[scheme, t])),
            dpop,
            no_cache: f.no_cache,
            max: MAX_BODY_BYTES,
        };
        self.push(a);
        let timeout = self.cfg.as_ref().map_or(15_000.0, |c| c.http_timeout_ms);
        self.deadline(self.now + timeout, Deadline::Fetch(id));
    }

    /// Starts the proof for `htm` `url` (with `ath` for `access`).
    pub(super) fn prove(
        &mut self,
        id: u32,
        htm: String,
        url: &str,
        access: Option<String>,
        then: Then,
    ) {
        self.jobs.push(Job {
            id,
            htm,
            htu: htu(url),
            access,
            ath: None,
            stage: 0,
            input: String::new(),
            then,
        });
        self.ensure_key();
        self.advance_jobs();
    }

    /// The session's key pair, made once per session.
    pub(super) fn ensure_key(&mut self) {
        if self.dpop_key.is_none() && self.keygen.is_none() {
            let id = self.id();
            self.keygen = Some(id);
            self.push(Action::GenerateKey { id });
        }
    }

    pub(super) fn on_key(&mut self, id: u32, x: &str, y: &str) {
        if self.keygen != Some(id) {
            return;
        }
        self.keygen = None;
        // RFC 7638 §3: the thumbprint is over exactly these members, in this order.
        let jwk = ObjectWriter::new()
            .str("crv", "P-256")
            .str("kty", "EC")
            .str("x", x)
            .str("y", y)
            .finish();
        let d = self.id();
        self.push(Action::Digest {
            id: d,
            hash: "SHA-256",
            text: jwk.clone(),
        });
        self.jkt_digest = Some(d);
        self.dpop_key = Some(jwk);
        self.advance_jobs();
    }

    /// Moves every job as far as it can go.
    pub(super) fn advance_jobs(&mut self) {
        let Some(jwk) = self.dpop_key.clone() else {
            return;
        };
        let mut i = 0;
        while let Some(j) = self.jobs.get_mut(i) {
            i += 1;
            if j.stage == 0 {
                match &j.access {
                    Some(at) => {
                        j.stage = 1;
                        let a = Action::Digest {
                            id: j.id,
                            hash: "SHA-256",
                            text: at.clone(),
                        };
                        self.out.push(a);
                    }
                    None => j.stage = 2,
                }
            }
            if j.stage == 2 && j.input.is_empty() {
                let (htm, htu, ath) = (j.htm.clone(), j.htu.clone(), j.ath.clone());
                let input = self.proof_input(&jwk, &htm, &htu, ath.as_deref());
                if let Some(j) = self.jobs.get_mut(i - 1) {
                    j.input = input.clone();
                    let id = j.id;
                    self.out.push(Action::Sign { id, input });
                }
            }
        }
    }

    /// The signing input of a proof (RFC 9449 §4.2).
    fn proof_input(&mut self, jwk: &str, htm: &str, htu: &str, ath: Option<&str>) -> String {
        let mut jti = [0u8; 16];
        if !(self.random)(&mut jti) {
            // No randomness: the time and a counter still make jti unique for this page.
            jti[..8].copy_from_slice(&self.now.to_bits().to_le_bytes());
            jti[8..12].copy_from_slice(&self.next_id.to_le_bytes());
        }
        let header = ObjectWriter::new()
            .str("typ", "dpop+jwt")
            .str("alg", "ES256")
            .raw("jwk", jwk)
            .finish();
        let origin = origin_of(htu);
        let nonce = self
            .nonces
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|(_, n)| n.clone());
        let payload = ObjectWriter::new()
            .str("jti", &b64::encode(&jti))
            .str("htm", htm)
            .str("htu", htu)
            .num("iat", (self.now / 1000.0).floor())
            .opt_str("ath", ath)
            .opt_str("nonce", nonce.as_deref())
            .finish();
        cat(&[
            &b64::encode(header.as_bytes()),
            ".",
            &b64::encode(payload.as_bytes()),
        ])
    }

    /// A digest for a job's `ath`, or the key's thumbprint: `true` if it was one.
    pub(super) fn job_digest(&mut self, id: u32, bytes: &[u8]) -> bool {
        if self.jkt_digest == Some(id) {
            self.jkt_digest = None;
            self.jkt = Some(b64::encode(bytes));
            if matches!(self.flow, Flow::AwaitKey { .. }) {
                if let Flow::AwaitKey { purpose, reduced } =
                    core::mem::replace(&mut self.flow, Flow::Idle)
                {
                    self.authorize(Mode::SilentIframe, purpose, reduced);
                }
            }
            return true;
        }
        let Some(j) = self.jobs.iter_mut().find(|j| j.id == id && j.stage == 1) else {
            return false;
        };
        j.ath = Some(b64::encode(bytes));
        j.stage = 2;
        self.advance_jobs();
        true
    }

    pub(super) fn on_signed(&mut self, id: u32, sig: &str) {
        let Some(i) = self.jobs.iter().position(|j| j.id == id && j.stage == 2) else {
            return;
        };
        let j = self.jobs.swap_remove(i);
        let proof = cat(&[&j.input, ".", sig]);
        match j.then {
            Then::Send => self.emit_fetch(id, Some(proof)),
            Then::Proof(cmd) => self.resolve(cmd, quote(&proof)),
            Then::Headers(cmd) => {
                let v = ObjectWriter::new()
                    .str(
                        "authorization",
                        &cat(&["DPoP ", j.access.as_deref().unwrap_or("")]),
                    )
                    .str("dpop", &proof)
                    .finish();
                self.resolve(cmd, v);
            }
        }
    }

    /// The server's latest nonce for its origin (RFC 9449 §8, §9), kept in memory.
    pub(super) fn keep_nonce(&mut self, url: &str, nonce: Option<&str>) {
        let Some(n) = nonce.filter(|n| !n.is_empty()) else {
            return;
        };
        let origin = origin_of(url);
        self.nonces.retain(|(o, _)| *o != origin);
        self.nonces.push((origin, n.to_string()));
    }

    /// Whether a DPoP request answered `use_dpop_nonce` gets its one retry: then it is sent
    /// again at once, with the new nonce in a new proof.
    pub(super) fn retry_for_nonce(&mut self, id: u32, resp: &Response, www: Option<&str>) -> bool {
        let asks = match resp.status {
            400 => http::oauth_error(resp, "")
                .is_some_and(|e| e.error.as_deref() == Some("use_dpop_nonce")),
            401 => www.is_some_and(|w| url::find(w, "use_dpop_nonce").is_some()),
            _ => false,
        };
        let Some(f) = self.fetches.iter_mut().find(|f| f.id == id) else {
            return false;
        };
        if !asks || !f.proof || f.retried {
            return false;
        }
        f.retried = true;
        let (htm, url, access) = (
            String::from(if f.form.is_some() { "POST" } else { "GET" }),
            f.url.clone(),
            f.access.clone(),
        );
        self.clear_deadline(Deadline::Fetch(id));
        self.debug(&["DPoP: the server asks for a nonce; once more with it"]);
        self.prove(id, htm, &url, access, Then::Send);
        true
    }

    /// WebCrypto failed for action `id` (making the key, or signing): the requests waiting for
    /// it fail with `e`. `true` if `id` was the key's or a proof's.
    pub(super) fn job_failed(&mut self, id: u32, e: &Error) -> bool {
        let all = self.keygen == Some(id) || self.jkt_digest == Some(id);
        if all {
            self.keygen = None;
            self.jkt_digest = None;
            if matches!(self.flow, Flow::AwaitKey { .. }) {
                if let Flow::AwaitKey { purpose, reduced } =
                    core::mem::replace(&mut self.flow, Flow::Idle)
                {
                    self.silent_failed(purpose, reduced, e.clone());
                }
            }
        }
        let mut failed = Vec::new();
        self.jobs.retain(|j| {
            let hit = all || j.id == id;
            if hit {
                failed.push((
                    j.id,
                    match j.then {
                        Then::Send => None,
                        Then::Headers(c) | Then::Proof(c) => Some(c),
                    },
                ));
            }
            !hit
        });
        let any = all || !failed.is_empty();
        for (jid, cmd) in failed {
            match cmd {
                Some(c) => self.reject(c, e.clone()),
                None => {
                    self.take_fetch(jid);
                    self.fail_action(jid, e.clone());
                }
            }
        }
        any
    }

    /// The session ended: its key goes, and the next session makes its own.
    pub(super) fn drop_key(&mut self) {
        if self.dpop_key.take().is_some() {
            self.push(Action::DropKey);
        }
        self.jkt = None;
        self.keygen = None;
        self.reject_jobs(&not_logged_in());
    }

    /// Every proof under way is dropped; the commands waiting for one are told `e`.
    pub(super) fn reject_jobs(&mut self, e: &Error) {
        for j in core::mem::take(&mut self.jobs) {
            if let Then::Headers(cmd) | Then::Proof(cmd) = j.then {
                self.reject(cmd, e.clone());
            }
        }
    }

    /// `oidc.fetch`: whether to send the app's request once more, and with which headers: once,
    /// when the resource server asks for a DPoP nonce, or when the token it carried was renewed
    /// meanwhile (by another tab).
    pub(super) fn fetch_answer(&mut self, cmd: u32, c: FetchAnswer) {
        self.keep_nonce(&c.url, c.dpop_nonce.as_deref());
        let current = self.session.as_ref().map(|s| {
            cat(&[
                if s.dpop { "DPoP " } else { "Bearer " },
                s.access_token.expose(),
            ])
        });
        let nonce = c.status == 401
            && c.dpop_nonce.is_some()
            && c.www_authenticate
                .as_deref()
                .is_some_and(|w| url::find(w, "use_dpop_nonce").is_some());
        let renewed = c.status == 401 && current.as_deref().is_some_and(|t| t != c.authorization);
        if c.attempt == 0 && (nonce || renewed) {
            self.want(cmd, Want::Headers(c.method, c.url));
        } else {
            self.resolve(cmd, String::from("null"));
        }
    }

    /// The headers of an app request to `url`, or a proof for it (`proof`).
    pub(super) fn serve_headers(&mut self, cmd: u32, method: String, url: String, proof: bool) {
        let Some(s) = &self.session else {
            return self.reject(cmd, not_logged_in());
        };
        let at = s.access_token.expose().to_string();
        if s.dpop {
            let id = self.id();
            let then = if proof {
                Then::Proof(cmd)
            } else {
                Then::Headers(cmd)
            };
            self.prove(id, method, &url, Some(at), then);
        } else if proof {
            self.reject(
                cmd,
                Error::new(
                    Code::InvalidConfig,
                    "createDPoPProof needs `dpop: true` (and a DPoP-bound session)",
                ),
            );
        } else {
            let v = ObjectWriter::new()
                .str("authorization", &cat(&["Bearer ", &at]))
                .finish();
            self.resolve(cmd, v);
        }
    }

    /// Pushes the authorization request `url` (RFC 9126 §2.1) when that is asked for; `None`
    /// when it goes to the browser as it is.
    pub(super) fn push_request(&mut self, url: &str, mode: Mode) -> Option<u32> {
        let meta = self.meta.as_ref()?;
        let endpoint = meta.par_endpoint.clone()?;
        let par = self.cfg.as_ref().map_or(Par::Never, |c| c.par);
        if par == Par::Never || (par == Par::Auto && !meta.par_required) {
            return None;
        }
        let (_, query) = url::cut(url, b'?')?;
        // A proof binds the code only where this page keeps the key: not across a full-page
        // redirect (the callback's page binds the tokens at the code exchange instead).
        let proof = self.dpop_on() && matches!(mode, Mode::SilentIframe | Mode::Popup);
        Some(self.send(
            &endpoint,
            Some(query.to_string()),
            None,
            false,
            "the pushed authorization request",
            proof,
        ))
    }

    /// The provider's answer to a pushed request: the URL the browser goes to.
    pub(super) fn pushed_url(&self, resp: &Response) -> Result<String> {
        let v = http::json_object(resp, "the pushed authorization request")?;
        let uri = v.str_member("request_uri").ok_or_else(|| {
            Error::new(
                Code::InvalidResponse,
                "the pushed authorization request's answer has no `request_uri`",
            )
        })?;
        let cfg = self.cfg()?;
        Ok(url::append_query(
            &self.meta()?.authorization_endpoint,
            &[("client_id", &cfg.client_id), ("request_uri", uri)],
        ))
    }
}

#[cfg(test)]
#[path = "dpop_tests.rs"]
mod tests;
