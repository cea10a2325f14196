//! Sans-IO MTProto 2.0 core. This crate never touches sockets, clocks or the OS random source:
//! time and randomness come in as arguments, bytes go out.
//!
//! What is here so far: [`crypto`] (AES-256-IGE and -CTR, the MTProto 2.0 and 1.0 key
//! derivations, key ids and nonce hashes, RSA_PAD, Diffie-Hellman checks, pq factorisation)
//! and [`transport`] (the four framings, obfuscation, quick acks, transport errors). The
//! handshake state machines and sessions build on them. [`srp`] is the cloud password's SRP
//! (two-step verification), both halves. [`ServerEndpoint`] and [`ServerConnection`] route a
//! server's connections to keys and sessions ([`endpoint`]).

pub mod client;
pub mod crypto;
pub mod endpoint;
pub mod files;
pub mod handshake;
mod rpc_error;
pub mod session;
pub mod srp;
pub mod transport;

pub use client::{ClientConnection, ClientConnectionError, ClientConnectionEvent};
pub use endpoint::{
    CloseReason, ConnId, ConnectionError, ConnectionEvent, EndpointConfig, EndpointError,
    EndpointEvent, OutgoingMessage, RpcOutcome, ServerConnection, ServerEndpoint,
};
pub use rpc_error::RpcError;

/// Entry points of the fuzz targets (`fuzz/`); not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

/// The MTProto service layer (handshake and service messages), generated at build time from
/// `tl-schema/schemas/mtproto.tl`.
pub mod tl {
    include!(concat!(env!("OUT_DIR"), "/mtproto_tl.rs"));
}
