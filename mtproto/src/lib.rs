//! Sans-IO MTProto 2.0 core. This crate never touches sockets, clocks or the OS random source:
//! time and randomness come in as arguments, bytes go out.
//!
//! What is here so far is [`crypto`]: AES-256-IGE and -CTR, the MTProto 2.0 and 1.0 key
//! derivations, key ids and nonce hashes, RSA_PAD, Diffie-Hellman checks and pq
//! factorisation. Transports, the handshake state machines and sessions build on it.

pub mod crypto;
