//! The server side of the key exchange, with the server-side checklist of PROTOCOL.md 1.4.

use super::{
    DH_SECRET_DRAWS, HandshakeError, Outcome, be_bytes, be_u64, dh_shared_key, malformed,
    open_with_hash, seal_with_hash,
};
use crate::crypto::dh::FixedBase;
use crate::crypto::{
    AesKeyIv, Random, RsaError, RsaPrivateKey, auth_key_aux_hash, check_g_a, generate_pq,
    new_nonce_hash, rsa_legacy_open, rsa_pad_open, server_salt, tmp_aes_key_iv,
};
use crate::tl::{enums, functions, types};
use num_bigint::BigUint;
use sha1::Digest as _;
use std::sync::LazyLock;
use tl_runtime::{Deserialize, Identifiable, Serialize};

/// How long a handshake may take from `req_pq_multi` to the end.
pub const HANDSHAKE_TTL_SECS: i64 = 600;

/// The server's key and settings.
#[derive(Clone)]
pub struct ServerConfig {
    /// The server's RSA key (2048 bits: clients accept no other size).
    pub key: RsaPrivateKey,
    /// This server's data center id.
    pub dc: i32,
    /// The longest lifetime granted to a temporary key, in seconds.
    pub max_temp_expires_in: i32,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("ServerConfig")
            .field("fingerprint", &self.key.public_key().fingerprint())
            .field("dc", &self.dc)
            .finish_non_exhaustive()
    }
}

/// What the server does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send this body in an unencrypted message.
    Send(Vec<u8>),
    /// Send this body (`dh_gen_ok`); the key is created.
    Done {
        /// The `dh_gen_ok` body.
        send: Vec<u8>,
        /// The new key and its salt.
        outcome: Outcome,
    },
}

enum State {
    Start,
    IssuedPq {
        nonce: [u8; 16],
        server_nonce: [u8; 16],
        pq: u64,
        p: u64,
        q: u64,
    },
    SentDh(Box<Agreement>),
    Over,
}

/// What the server keeps between `server_DH_params_ok` and `dh_gen_*`.
struct Agreement {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
    /// The server's DH secret, [`SECRET_BITS`] bits.
    a: BigUint,
    keys: AesKeyIv,
    expires_at: Option<i64>,
    /// 0 at first; after `dh_gen_retry`, the aux hash of the refused key.
    retry_id: i64,
}

/// One key exchange on the server, one message at a time.
pub struct ServerHandshake {
    config: ServerConfig,
    state: State,
    started: Option<i64>,
    /// The last request and its answer, re-sent as they were if the request repeats.
    last: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ServerHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerHandshake { .. }")
    }
}

/// Decrypts `p_q_inner_data` sent with RSA_PAD (MTProto 2.0) or with the legacy SHA1 padding
/// (Telethon, kurigram), with one RSA private operation.
fn open_inner_data(
    encrypted: &[u8],
    config: &ServerConfig,
) -> Result<enums::PQInnerData, HandshakeError> {
    let block = config.key.private_block(encrypted)?;
    if let Ok(data) = rsa_pad_open(&block) {
        let mut reader = tl_runtime::Reader::new(data.to_vec());
        return enums::PQInnerData::deserialize(&mut reader).map_err(malformed("p_q_inner_data"));
    }
    let refused = HandshakeError::Rsa(RsaError::HashMismatch);
    let (hash, data) = rsa_legacy_open(&block).map_err(|_| refused.clone())?;
    let mut reader = tl_runtime::Reader::new(data.to_vec());
    let inner = enums::PQInnerData::deserialize(&mut reader).map_err(|_| refused.clone())?;
    let used = reader.position();
    let computed: [u8; 20] = sha1::Sha1::digest(&data[..used]).into();
    if computed != hash {
        return Err(refused);
    }
    Ok(inner)
}

fn dh_prime() -> &'static [u8; 256] {
    &crate::crypto::dh::TELEGRAM_DH_PRIME
}

const G: u32 = 3;

/// The length of the server's DH secret `a`, in bits.
///
/// dh_prime p is a safe prime, p = 2q + 1 with q prime, and g = 3 is a quadratic residue
/// (p mod 3 = 2), so g generates the subgroup of prime order q (2047 bits) and every
/// exponent counts modulo q. A short exponent then gives no foothold to Pohlig-Hellman: the
/// attack of van Oorschot and Wiener (EUROCRYPT '96) on short exponents needs small factors in
/// the group order, and q has none. What is left against an exponent of n random bits is a
/// generic search of the interval, Pollard's kangaroo or baby-step giant-step, about 2^(n/2)
/// group operations: 2^128 for n = 256. That is the rule of NIST SP 800-56A rev. 3
/// (5.6.1.1.3-4: a private key below min(2^N, q) with N at least twice the security strength
/// s), and RFC 7919 (5.2 and A.1) asks at least 225 bits of ffdhe2048's short exponents. 256
/// bits are 2 × 128, a margin over the group's own strength: the 2048-bit group offers about 112
/// bits against the number field sieve (NIST SP 800-57 part 1, table 2), whatever the
/// exponent length, so 256 bits leave the discrete logarithm as the weakest point, exactly as
/// with a full 2048-bit exponent, at an eighth of the squarings. (PROTOCOL.md's derived
/// server checklist says "a (≥ 2048 bits)", after Telegram's documentation; clients cannot
/// tell, as they only check g_a's range, and that check stays.)
///
/// The bits are drawn uniformly from the caller's randomness; a draw whose g_a falls outside
/// the range every client checks (1 < g_a < p − 1 and 2^(2048−64) ≤ g_a ≤ p − 2^(2048−64),
/// [`check_g_a`]), which happens with probability about 2^-62, is thrown away and drawn again,
/// at most [`DH_SECRET_DRAWS`] times in all.
const SECRET_BITS: usize = 256;

/// The fixed-base table of g = 3 modulo dh_prime for exponents of [`SECRET_BITS`] bits (about
/// 2 MiB), built on the first handshake of the process (about 25 ms) and shared by all: g and
/// p are the same for every server. g^a then takes 31 modular products instead of the 256
/// squarings and 64 products of `modpow`.
static DH_TABLE: LazyLock<FixedBase> = LazyLock::new(|| {
    FixedBase::new(
        &BigUint::from(G),
        &BigUint::from_bytes_be(dh_prime()),
        SECRET_BITS,
    )
});

/// A fresh server secret `a` of [`SECRET_BITS`] bits and `g_a = g^a mod p` (big-endian,
/// without leading zeros), from the fixed-base table; drawn again while g_a is outside the
/// safe range, at most [`DH_SECRET_DRAWS`] times ([`HandshakeError::DhSecretDraws`]: the
/// randomness is broken).
fn server_dh_keypair(rng: &mut impl Random) -> Result<(BigUint, Vec<u8>), HandshakeError> {
    let table = &*DH_TABLE;
    for _ in 0..DH_SECRET_DRAWS {
        let mut bytes = [0u8; SECRET_BITS / 8];
        rng.fill(&mut bytes);
        let a = BigUint::from_bytes_be(&bytes);
        let g_a = table.pow(&a).to_bytes_be();
        if check_g_a(&g_a, dh_prime()).is_ok() {
            return Ok((a, g_a));
        }
    }
    Err(HandshakeError::DhSecretDraws {
        attempts: DH_SECRET_DRAWS,
    })
}

impl ServerHandshake {
    /// A handshake waiting for `req_pq_multi`.
    pub fn new(config: ServerConfig) -> Self {
        ServerHandshake {
            config,
            state: State::Start,
            started: None,
            last: None,
        }
    }

    /// Takes the client's next message. `key_id_taken` says whether an auth_key_id is already
    /// in use (a colliding new key is answered with `dh_gen_retry`). Any error ends the
    /// handshake; answer it with [`HandshakeError::transport_code`].
    pub fn receive(
        &mut self,
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
        key_id_taken: &mut impl FnMut(&[u8; 8]) -> bool,
    ) -> Result<ServerStep, HandshakeError> {
        if let Some((request, answer)) = &self.last {
            if request == body {
                return Ok(ServerStep::Send(answer.clone()));
            }
        }
        if self.started.is_some_and(|t| now - t > HANDSHAKE_TTL_SECS) {
            self.state = State::Over;
            return Err(HandshakeError::Finished);
        }
        let state = std::mem::replace(&mut self.state, State::Over);
        let result = match state {
            State::Start => self.on_req_pq(body, now, rng),
            State::IssuedPq {
                nonce,
                server_nonce,
                pq,
                p,
                q,
            } => self.on_req_dh(nonce, server_nonce, (pq, p, q), body, now, rng),
            State::SentDh(agreement) => self.on_set_client_dh(agreement, body, key_id_taken),
            State::Over => Err(HandshakeError::Finished),
        };
        match &result {
            Ok(ServerStep::Send(answer)) => self.last = Some((body.to_vec(), answer.clone())),
            Ok(ServerStep::Done { .. }) | Err(_) => self.last = None,
        }
        if result.is_err() {
            self.state = State::Over;
        }
        result
    }

    fn on_req_pq(
        &mut self,
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
    ) -> Result<ServerStep, HandshakeError> {
        let id = tl_runtime::Reader::new(body.to_vec())
            .read_u32()
            .map_err(malformed("req_pq"))?;
        let nonce = match id {
            functions::ReqPqMulti::CONSTRUCTOR_ID => {
                functions::ReqPqMulti::from_bytes(body.to_vec())
                    .map_err(malformed("req_pq_multi"))?
                    .nonce
            }
            functions::ReqPq::CONSTRUCTOR_ID => {
                functions::ReqPq::from_bytes(body.to_vec())
                    .map_err(malformed("req_pq"))?
                    .nonce
            }
            id => {
                return Err(HandshakeError::Unexpected {
                    id,
                    step: "req_pq_multi",
                });
            }
        };
        let mut server_nonce = [0u8; 16];
        rng.fill(&mut server_nonce);
        let (pq, p, q) = generate_pq(rng);
        let answer = enums::ResPQ::from(types::ResPQ {
            nonce,
            server_nonce,
            pq: be_bytes(pq).into(),
            server_public_key_fingerprints: vec![self.config.key.public_key().fingerprint()],
        });
        self.started = Some(now);
        self.state = State::IssuedPq {
            nonce,
            server_nonce,
            pq,
            p,
            q,
        };
        Ok(ServerStep::Send(answer.to_bytes()))
    }

    fn on_req_dh(
        &mut self,
        nonce: [u8; 16],
        server_nonce: [u8; 16],
        (pq, p, q): (u64, u64, u64),
        body: &[u8],
        now: i64,
        rng: &mut impl Random,
    ) -> Result<ServerStep, HandshakeError> {
        let req = functions::ReqDhParams::from_bytes(body.to_vec())
            .map_err(malformed("req_DH_params"))?;
        if req.nonce != nonce || req.server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch {
                step: "req_DH_params",
            });
        }
        if be_u64(&req.p) != Some(p) || be_u64(&req.q) != Some(q) {
            return Err(HandshakeError::BadPq);
        }
        if req.public_key_fingerprint != self.config.key.public_key().fingerprint() {
            return Err(HandshakeError::UnknownKey {
                fingerprints: vec![req.public_key_fingerprint],
            });
        }
        let inner = open_inner_data(&req.encrypted_data, &self.config)?;
        let (fields, dc, expires_in) = match inner {
            enums::PQInnerData::PQInnerData(d) => (
                (d.pq, d.p, d.q, d.nonce, d.server_nonce, d.new_nonce),
                None,
                None,
            ),
            enums::PQInnerData::Dc(d) => (
                (d.pq, d.p, d.q, d.nonce, d.server_nonce, d.new_nonce),
                Some(d.dc),
                None,
            ),
            enums::PQInnerData::Temp(d) => (
                (d.pq, d.p, d.q, d.nonce, d.server_nonce, d.new_nonce),
                None,
                Some(d.expires_in),
            ),
            enums::PQInnerData::TempDc(d) => (
                (d.pq, d.p, d.q, d.nonce, d.server_nonce, d.new_nonce),
                Some(d.dc),
                Some(d.expires_in),
            ),
        };
        let (inner_pq, inner_p, inner_q, inner_nonce, inner_server_nonce, new_nonce) = fields;
        if inner_nonce != nonce || inner_server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch {
                step: "p_q_inner_data",
            });
        }
        if be_u64(&inner_pq) != Some(pq)
            || be_u64(&inner_p) != Some(p)
            || be_u64(&inner_q) != Some(q)
        {
            return Err(HandshakeError::BadPq);
        }
        if let Some(requested) = dc {
            // Test DCs add 10000, media DCs are negative: the number itself must be ours.
            if requested.unsigned_abs() % 10_000 != self.config.dc.unsigned_abs() % 10_000 {
                return Err(HandshakeError::WrongDc {
                    requested,
                    ours: self.config.dc,
                });
            }
        }
        let expires_at = match expires_in {
            Some(e) if e <= 0 || e > self.config.max_temp_expires_in => {
                return Err(HandshakeError::BadExpiry { expires_in: e });
            }
            Some(e) => Some(now + i64::from(e)),
            None => None,
        };
        let (a, g_a) = server_dh_keypair(rng)?;
        let keys = tmp_aes_key_iv(&new_nonce, &server_nonce);
        let inner = enums::ServerDhInnerData::from(types::ServerDhInnerData {
            nonce,
            server_nonce,
            g: G as i32,
            dh_prime: dh_prime().to_vec().into(),
            g_a: g_a.into(),
            server_time: now as i32,
        });
        let encrypted_answer = seal_with_hash(&inner.to_bytes(), &keys, rng);
        let answer = enums::ServerDhParams::from(types::ServerDhParamsOk {
            nonce,
            server_nonce,
            encrypted_answer: encrypted_answer.into(),
        });
        self.state = State::SentDh(Box::new(Agreement {
            nonce,
            server_nonce,
            new_nonce,
            a,
            keys,
            expires_at,
            retry_id: 0,
        }));
        Ok(ServerStep::Send(answer.to_bytes()))
    }

    fn on_set_client_dh(
        &mut self,
        mut agreement: Box<Agreement>,
        body: &[u8],
        key_id_taken: &mut impl FnMut(&[u8; 8]) -> bool,
    ) -> Result<ServerStep, HandshakeError> {
        let (nonce, server_nonce, new_nonce) =
            (agreement.nonce, agreement.server_nonce, agreement.new_nonce);
        let req = functions::SetClientDhParams::from_bytes(body.to_vec())
            .map_err(malformed("set_client_DH_params"))?;
        if req.nonce != nonce || req.server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch {
                step: "set_client_DH_params",
            });
        }
        let enums::ClientDhInnerData::ClientDhInnerData(inner) =
            open_with_hash::<enums::ClientDhInnerData>(
                &req.encrypted_data,
                &agreement.keys,
                "client_DH_inner_data",
            )?;
        if inner.nonce != nonce || inner.server_nonce != server_nonce {
            return Err(HandshakeError::NonceMismatch {
                step: "client_DH_inner_data",
            });
        }
        if inner.retry_id != agreement.retry_id {
            return Err(HandshakeError::BadRetryId {
                retry_id: inner.retry_id,
            });
        }
        check_g_a(&inner.g_b, dh_prime())?;
        let auth_key = dh_shared_key(&inner.g_b, &agreement.a, dh_prime());
        if key_id_taken(&auth_key.id()) {
            let answer = enums::SetClientDhParamsAnswer::from(types::DhGenRetry {
                nonce,
                server_nonce,
                new_nonce_hash2: new_nonce_hash(&new_nonce, 2, auth_key.bytes()),
            });
            agreement.retry_id = i64::from_le_bytes(auth_key_aux_hash(auth_key.bytes()));
            self.state = State::SentDh(agreement);
            return Ok(ServerStep::Send(answer.to_bytes()));
        }
        let answer = enums::SetClientDhParamsAnswer::from(types::DhGenOk {
            nonce,
            server_nonce,
            new_nonce_hash1: new_nonce_hash(&new_nonce, 1, auth_key.bytes()),
        });
        Ok(ServerStep::Done {
            send: answer.to_bytes(),
            outcome: Outcome {
                server_salt: server_salt(&new_nonce, &server_nonce),
                auth_key,
                time_offset: 0,
                expires_at: agreement.expires_at,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_rng as rng;

    #[test]
    fn short_secrets_give_g_a_in_the_checked_range() {
        let p = BigUint::from_bytes_be(dh_prime());
        let mut r = rng(1);
        for _ in 0..50 {
            let (secret, g_a) = server_dh_keypair(&mut r).expect("a fair draw");
            assert!(secret.bits() <= 256);
            // What every client checks: 1 < g_a < p − 1 and the 2^(2048−64) margins.
            assert_eq!(check_g_a(&g_a, dh_prime()), Ok(()));
            let value = BigUint::from_bytes_be(&g_a);
            assert!(value > BigUint::from(1u8) && value < &p - 1u8);
            assert_eq!(value, BigUint::from(G).modpow(&secret, &p));
            assert_eq!(g_a, value.to_bytes_be(), "no leading zero bytes");
        }
    }

    #[test]
    fn a_draw_with_g_a_out_of_range_is_drawn_again() {
        // a = 0 (g_a = 1), then a = 1 (g_a = 3): both outside the range; then random bits.
        let mut draws = 0;
        let mut random = rng(2);
        let mut r = |buf: &mut [u8]| {
            draws += 1;
            match draws {
                1 => buf.fill(0),
                2 => {
                    buf.fill(0);
                    buf[31] = 1;
                }
                _ => random(buf),
            }
        };
        let (a, g_a) = server_dh_keypair(&mut r).expect("a fair draw");
        assert_eq!(draws, 3);
        assert!(a > BigUint::from(1u8));
        assert_eq!(check_g_a(&g_a, dh_prime()), Ok(()));
    }

    #[test]
    fn randomness_that_gives_only_zeros_ends_in_an_error_not_a_loop() {
        // a = 0 every time: g_a = 1, never in range.
        let mut draws = 0;
        let mut zeros = |buf: &mut [u8]| {
            draws += 1;
            buf.fill(0);
        };
        assert_eq!(
            server_dh_keypair(&mut zeros),
            Err(HandshakeError::DhSecretDraws {
                attempts: DH_SECRET_DRAWS
            })
        );
        assert_eq!(draws, DH_SECRET_DRAWS);
        let e = HandshakeError::DhSecretDraws { attempts: 8 };
        assert!((-444..=-404).contains(&e.transport_code()));
    }

    #[test]
    fn the_shared_key_matches_modpow_and_the_client_side() {
        let p = BigUint::from_bytes_be(dh_prime());
        let mut r = rng(3);
        let margin: BigUint = BigUint::from(1u8) << (2048 - 64);
        // The smallest and largest g_b a client may send, then random client keys.
        let mut g_bs = vec![margin.clone(), &p - &margin];
        let mut client_secrets = Vec::new();
        for _ in 0..10 {
            let mut b = [0u8; 256];
            r(&mut b);
            let b = BigUint::from_bytes_be(&b);
            g_bs.push(BigUint::from(G).modpow(&b, &p));
            client_secrets.push(b);
        }
        let (secret, g_a) = server_dh_keypair(&mut r).expect("a fair draw");
        for (i, g_b) in g_bs.iter().enumerate() {
            let key = dh_shared_key(&g_b.to_bytes_be(), &secret, dh_prime());
            let expected = g_b.modpow(&secret, &p);
            assert_eq!(BigUint::from_bytes_be(key.bytes()), expected);
            if let Some(b) = i.checked_sub(2).and_then(|i| client_secrets.get(i)) {
                // The client's key, g_a^b, is the same.
                let client = BigUint::from_bytes_be(&g_a).modpow(b, &p);
                assert_eq!(BigUint::from_bytes_be(key.bytes()), client);
            }
        }
    }
}
