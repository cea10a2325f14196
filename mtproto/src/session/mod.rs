//! MTProto sessions: the two endpoints ([`ClientSession`], [`ServerSession`]) and the pieces
//! they share: message ids and their checks, the duplicate window, sequence numbers,
//! containers, `gzip_packed`, `rpc_result`, server salts and the `bad_msg_notification` codes.

mod client;
mod container;
mod gzip;
mod msg_id;
pub(crate) mod packer;
mod rpc;
mod salts;
mod seq_no;
mod server;

pub use client::{
    ClientEvent, ClientSession, ClientSessionConfig, ClientSessionError, MAX_UNPACKED_BYTES,
    RequestId, RpcError,
};
pub use salts::{SALT_WINDOW_SECS, SaltSchedule, ScheduledSalt};
pub use server::{ServerEvent, ServerSession, ServerSessionConfig};

pub use container::{
    ContainerError, InnerMessage, MAX_CONTAINER_MESSAGES, MSG_CONTAINER_ID, pack_container,
    unpack_container,
};
pub use gzip::{GZIP_PACKED_ID, GzipError, gzip_pack, gzip_unpack};
pub use msg_id::{DuplicateWindow, MsgIdError, MsgIdGenerator, MsgKind, check_msg_id, msg_id_time};
pub use rpc::{RPC_RESULT_ID, RpcResult, read_rpc_result, write_rpc_result};
pub use seq_no::SeqNo;

/// The error codes of `bad_msg_notification` (PROTOCOL.md 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum BadMsgCode {
    /// msg_id too low (more than 300 s in the past, or below the duplicate window).
    MsgIdTooLow = 16,
    /// msg_id too high (more than 30 s in the future).
    MsgIdTooHigh = 17,
    /// The two low bits of msg_id are wrong (a client's must be 0).
    MsgIdBadParity = 18,
    /// A container's msg_id repeats an earlier message's.
    ContainerIdReused = 19,
    /// The message is too old to tell whether it was received.
    MessageTooOld = 20,
    /// seqno too low.
    SeqNoTooLow = 32,
    /// seqno too high.
    SeqNoTooHigh = 33,
    /// Even seqno expected (a service message marked content-related).
    EvenSeqNoExpected = 34,
    /// Odd seqno expected (a content message marked not content-related).
    OddSeqNoExpected = 35,
    /// The server salt is wrong (answered with `bad_server_salt`).
    BadServerSalt = 48,
    /// The container is invalid.
    InvalidContainer = 64,
}

impl BadMsgCode {
    /// The number sent in `bad_msg_notification`.
    pub fn code(self) -> i32 {
        self as i32
    }
}
