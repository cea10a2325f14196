//! The client side of the key exchange.

use super::{
    HandshakeError, Outcome, be_bytes, be_u64, dh_keypair, dh_shared_key, malformed,
    open_with_hash, seal_with_hash,
};
use crate::crypto::{
    AesKeyIv, AuthKey, Random, RsaPublicKey, auth_key_aux_hash, check_dh_params, check_g_a,
    factorize_pq, new_nonce_hash, rsa_legacy_encrypt, rsa_pad_encrypt, server_salt, tmp_aes_key_iv,
};
use crate::tl::{enums, functions, types};
use tl_runtime::{Deserialize, Serialize};

/// What a client needs to know to create a key.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server keys the client trusts.
    pub keys: Vec<RsaPublicKey>,
    /// The data center asked for (+10000 for test DCs, negative for media DCs); `None` sends
    /// the legacy `p_q_inner_data` without a DC, as some older clients do.
    pub dc: Option<i32>,
    /// `Some(seconds)` creates a temporary key with that lifetime (for PFS).
    pub temp_expires_in: Option<i32>,
    /// Encrypt `p_q_inner_data` with the legacy SHA1 padding instead of RSA_PAD, as Telethon
    /// and kurigram do (servers must accept both).
    pub legacy_rsa: bool,
}

/// What the client does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Send this body in an unencrypted message.
    Send(Vec<u8>),
    /// The key is ready.
    Done(Outcome),
}

/// The three nonces of one handshake.
#[derive(Clone, Copy)]
struct Nonces {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
}

enum State {
    ResPq {
        nonce: [u8; 16],
    },
    DhParams {
        n: Nonces,
    },
    DhGen {
        n: Nonces,
        dh: Dh,
        auth_key: AuthKey,
        time_offset: i32,
    },
    Over,
}

/// The server's DH values, kept for retries.
struct Dh {
    g: u32,
    prime: Vec<u8>,
    g_a: Vec<u8>,
    keys: AesKeyIv,
}

/// A client's key exchange, one message at a time.
pub struct ClientHandshake {
    config: ClientConfig,
    state: State,
    expires_at: Option<i64>,
}

impl std::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientHandshake { .. }")
    }
}

impl ClientHandshake {
    /// Starts a handshake; send the returned `req_pq_multi` body.
    pub fn start(config: ClientConfig, rng: &mut impl Random) -> (Self, Vec<u8>) {
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        let body = functions::ReqPqMulti { nonce }.to_bytes();
        (
            ClientHandshake {
                config,
                state: State::ResPq { nonce },
                expires_at: None,
            },
            body,
        )
    }

    /// Takes the server's next message; returns what to send next or the finished key.
    pub fn receive(
        &mut self,
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
    ) -> Result<ClientStep, HandshakeError> {
        let state = std::mem::replace(&mut self.state, State::Over);
        let result = self.step(state, body, now, rng);
        if result.is_err() {
            self.state = State::Over;
        }
        result
    }

    fn step(
        &mut self,
        state: State,
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
    ) -> Result<ClientStep, HandshakeError> {
        match state {
            State::ResPq { nonce } => self.on_res_pq(nonce, body, now, rng),
            State::DhParams { n } => self.on_dh_params(n, body, now, rng),
            State::DhGen {
                n,
                dh,
                auth_key,
                time_offset,
            } => self.on_dh_gen(n, dh, auth_key, time_offset, body, rng),
            State::Over => Err(HandshakeError::Finished),
        }
    }

    fn on_res_pq(
        &mut self,
        nonce: [u8; 16],
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
    ) -> Result<ClientStep, HandshakeError> {
        let enums::ResPQ::ResPQ(res) =
            enums::ResPQ::from_bytes(body.to_vec()).map_err(malformed("resPQ"))?;
        if res.nonce != nonce {
            return Err(HandshakeError::NonceMismatch { step: "resPQ" });
        }
        let key = self
            .config
            .keys
            .iter()
            .find(|k| {
                res.server_public_key_fingerprints
                    .contains(&k.fingerprint())
            })
            .ok_or_else(|| HandshakeError::UnknownKey {
                fingerprints: res.server_public_key_fingerprints.clone(),
            })?;
        let pq = be_u64(&res.pq).ok_or(HandshakeError::BadPq)?;
        let (p, q) = factorize_pq(pq).ok_or(HandshakeError::BadPq)?;
        let mut new_nonce = [0u8; 32];
        rng.fill(&mut new_nonce);
        let (pq_b, p_b, q_b) = (res.pq.clone(), be_bytes(p).into(), be_bytes(q).into());
        let server_nonce = res.server_nonce;
        if let Some(expires_in) = self.config.temp_expires_in {
            self.expires_at = Some(now + i64::from(expires_in));
        }
        let inner: enums::PQInnerData = match (self.config.dc, self.config.temp_expires_in) {
            (Some(dc), None) => types::PQInnerDataDc {
                pq: pq_b,
                p: p_b,
                q: q_b,
                nonce,
                server_nonce,
                new_nonce,
                dc,
            }
            .into(),
            (Some(dc), Some(expires_in)) => types::PQInnerDataTempDc {
                pq: pq_b,
                p: p_b,
                q: q_b,
                nonce,
                server_nonce,
                new_nonce,
                dc,
                expires_in,
            }
            .into(),
            (None, None) => types::PQInnerData {
                pq: pq_b,
                p: p_b,
                q: q_b,
                nonce,
                server_nonce,
                new_nonce,
            }
            .into(),
            (None, Some(expires_in)) => types::PQInnerDataTemp {
                pq: pq_b,
                p: p_b,
                q: q_b,
                nonce,
                server_nonce,
                new_nonce,
                expires_in,
            }
            .into(),
        };
        let encrypted = if self.config.legacy_rsa {
            rsa_legacy_encrypt(&inner.to_bytes(), key, rng)?
        } else {
            rsa_pad_encrypt(&inner.to_bytes(), key, rng)?
        };
        let request = functions::ReqDhParams {
            nonce,
            server_nonce: res.server_nonce,
            p: be_bytes(p).into(),
            q: be_bytes(q).into(),
            public_key_fingerprint: key.fingerprint(),
            encrypted_data: encrypted.to_vec().into(),
        };
        self.state = State::DhParams {
            n: Nonces {
                nonce,
                server_nonce,
                new_nonce,
            },
        };
        Ok(ClientStep::Send(request.to_bytes()))
    }

    fn on_dh_params(
        &mut self,
        n: Nonces,
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
    ) -> Result<ClientStep, HandshakeError> {
        let Nonces {
            nonce,
            server_nonce,
            new_nonce,
        } = n;
        let ok = match enums::ServerDhParams::from_bytes(body.to_vec())
            .map_err(malformed("server_DH_params"))?
        {
            enums::ServerDhParams::Ok(ok) => ok,
            enums::ServerDhParams::Fail(_) => return Err(HandshakeError::Refused),
        };
        if ok.nonce != nonce || ok.server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch {
                step: "server_DH_params_ok",
            });
        }
        let keys = tmp_aes_key_iv(&new_nonce, &server_nonce);
        let enums::ServerDhInnerData::ServerDhInnerData(inner) =
            open_with_hash::<enums::ServerDhInnerData>(
                &ok.encrypted_answer,
                &keys,
                "server_DH_inner_data",
            )?;
        if inner.nonce != nonce || inner.server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch {
                step: "server_DH_inner_data",
            });
        }
        let g = u32::try_from(inner.g)
            .map_err(|_| crate::crypto::DhError::GeneratorOutOfRange { g: 0 })?;
        check_dh_params(g, &inner.dh_prime, rng)?;
        check_g_a(&inner.g_a, &inner.dh_prime)?;
        let time_offset = (i64::from(inner.server_time) - now) as i32;
        let dh = Dh {
            g,
            prime: inner.dh_prime.to_vec(),
            g_a: inner.g_a.to_vec(),
            keys,
        };
        self.send_client_dh(n, dh, 0, time_offset, rng)
    }

    fn send_client_dh(
        &mut self,
        n: Nonces,
        dh: Dh,
        retry_id: i64,
        time_offset: i32,
        rng: &mut impl Random,
    ) -> Result<ClientStep, HandshakeError> {
        let Nonces {
            nonce,
            server_nonce,
            new_nonce: _,
        } = n;
        let (b, g_b) = dh_keypair(dh.g, &dh.prime, rng)?;
        let auth_key = dh_shared_key(&dh.g_a, &b, &dh.prime);
        let inner = types::ClientDhInnerData {
            nonce,
            server_nonce,
            retry_id,
            g_b: g_b.into(),
        };
        let encrypted = seal_with_hash(
            &enums::ClientDhInnerData::from(inner).to_bytes(),
            &dh.keys,
            rng,
        );
        let request = functions::SetClientDhParams {
            nonce,
            server_nonce,
            encrypted_data: encrypted.into(),
        };
        self.state = State::DhGen {
            n,
            dh,
            auth_key,
            time_offset,
        };
        Ok(ClientStep::Send(request.to_bytes()))
    }

    fn on_dh_gen(
        &mut self,
        n: Nonces,
        dh: Dh,
        auth_key: AuthKey,
        time_offset: i32,
        body: &[u8],
        rng: &mut impl Random,
    ) -> Result<ClientStep, HandshakeError> {
        let Nonces {
            nonce,
            server_nonce,
            new_nonce,
        } = n;
        let answer = enums::SetClientDhParamsAnswer::from_bytes(body.to_vec())
            .map_err(malformed("dh_gen"))?;
        let (got_nonce, got_server_nonce, hash, number) = match &answer {
            enums::SetClientDhParamsAnswer::DhGenOk(a) => {
                (a.nonce, a.server_nonce, a.new_nonce_hash1, 1)
            }
            enums::SetClientDhParamsAnswer::DhGenRetry(a) => {
                (a.nonce, a.server_nonce, a.new_nonce_hash2, 2)
            }
            enums::SetClientDhParamsAnswer::DhGenFail(a) => {
                (a.nonce, a.server_nonce, a.new_nonce_hash3, 3)
            }
        };
        if got_nonce != nonce || got_server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch { step: "dh_gen" });
        }
        if hash != new_nonce_hash(&new_nonce, number, auth_key.bytes()) {
            return Err(HandshakeError::NonceHashMismatch { number });
        }
        match number {
            1 => Ok(ClientStep::Done(Outcome {
                server_salt: server_salt(&new_nonce, &server_nonce),
                auth_key,
                time_offset,
                expires_at: self.expires_at,
            })),
            2 => {
                let retry_id = i64::from_le_bytes(auth_key_aux_hash(auth_key.bytes()));
                self.send_client_dh(n, dh, retry_id, time_offset, rng)
            }
            _ => Err(HandshakeError::Refused),
        }
    }
}
