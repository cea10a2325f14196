//! Turning queued message bodies into one outgoing message: numbering (msg_id, seq_no) and,
//! when there is more than one body, a `msg_container`. Shared by both endpoints.

use super::container::{InnerMessage, pack_container};
use super::{MsgIdGenerator, MsgKind, SeqNo};
use std::time::Duration;

/// The most bodies put into one container (Telethon's limit; Telegram accepts 1024).
pub(crate) const MAX_BATCH: usize = 100;
/// The most body bytes put into one container; larger bodies travel alone.
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 19;

/// The constructor ids of the service layer that are not RPC calls or their answers.
pub(crate) mod ids {
    pub const MSGS_ACK: u32 = 0x62d6_b459;
    pub const BAD_MSG_NOTIFICATION: u32 = 0xa7ef_f811;
    pub const BAD_SERVER_SALT: u32 = 0xedab_447b;
    pub const MSGS_STATE_REQ: u32 = 0xda69_fb52;
    pub const MSGS_STATE_INFO: u32 = 0x04de_b57d;
    pub const MSGS_ALL_INFO: u32 = 0x8cc0_d131;
    pub const MSG_DETAILED_INFO: u32 = 0x276d_3ec6;
    pub const MSG_NEW_DETAILED_INFO: u32 = 0x809d_b6df;
    pub const MSG_RESEND_REQ: u32 = 0x7d86_1a08;
    pub const RPC_ERROR: u32 = 0x2144_ca19;
    pub const FUTURE_SALTS: u32 = 0xae50_0895;
    pub const PONG: u32 = 0x3477_73c5;
    pub const NEW_SESSION_CREATED: u32 = 0x9ec2_0908;
    pub const HTTP_WAIT: u32 = 0x9299_359f;
    pub const DESTROY_SESSION_OK: u32 = 0xe220_45fc;
    pub const DESTROY_SESSION_NONE: u32 = 0x62d3_50c9;
    pub const RPC_DROP_ANSWER: u32 = 0x58e4_a740;
    pub const GET_FUTURE_SALTS: u32 = 0xb921_bd04;
    pub const PING: u32 = 0x7abe_77ec;
    pub const PING_DELAY_DISCONNECT: u32 = 0xf342_7b8c;
    pub const MSG_COPY: u32 = 0xe060_46b2;
}

/// The constructor id a body starts with (0 if it is shorter than 4 bytes).
pub(crate) fn body_id(body: &[u8]) -> u32 {
    body.get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

/// One body waiting to be numbered.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub body: Vec<u8>,
    pub content_related: bool,
    pub kind: MsgKind,
}

/// The message that goes out, and the (msg_id, seq_no) each part got, in order.
#[derive(Debug)]
pub(crate) struct Packed {
    pub msg_id: i64,
    pub seq_no: i32,
    pub body: Vec<u8>,
    pub numbered: Vec<(i64, i32)>,
}

/// The numbering state of one side of a session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Numbering {
    pub ids: MsgIdGenerator,
    pub seq: SeqNo,
}

impl Numbering {
    /// Numbers `parts` (at least one) and wraps them in a container when there are several.
    pub fn pack(&mut self, now: Duration, parts: Vec<Part>) -> Packed {
        if parts.len() == 1 {
            let part = parts.into_iter().next().unwrap_or_else(|| unreachable!());
            let msg_id = self.ids.next(now, part.kind);
            let seq_no = self.seq.next(part.content_related);
            return Packed {
                msg_id,
                seq_no,
                body: part.body,
                numbered: vec![(msg_id, seq_no)],
            };
        }
        let container_kind = if parts.iter().any(|p| p.kind == MsgKind::ServerResponse) {
            MsgKind::ServerResponse
        } else {
            parts.first().map(|p| p.kind).unwrap_or(MsgKind::Client)
        };
        let inner: Vec<InnerMessage> = parts
            .into_iter()
            .map(|part| InnerMessage {
                msg_id: self.ids.next(now, part.kind),
                seq_no: self.seq.next(part.content_related),
                body: part.body,
            })
            .collect();
        let numbered = inner.iter().map(|m| (m.msg_id, m.seq_no)).collect();
        let msg_id = self.ids.next(now, container_kind);
        let seq_no = self.seq.next(false);
        Packed {
            msg_id,
            seq_no,
            body: pack_container(&inner),
            numbered,
        }
    }
}

/// Writes a `msgs_ack` for `ids`.
pub(crate) fn msgs_ack(ids: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + ids.len() * 8);
    out.extend_from_slice(&ids::MSGS_ACK.to_le_bytes());
    write_long_vector(ids, &mut out);
    out
}

/// Writes a boxed `Vector<long>`.
pub(crate) fn write_long_vector(ids: &[i64], out: &mut Vec<u8>) {
    out.extend_from_slice(&0x1cb5_c415u32.to_le_bytes());
    out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for id in ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
}

/// Shifts `now` by `offset` seconds (the difference to the server's clock), never below zero.
pub(crate) fn shifted(now: Duration, offset: i64) -> Duration {
    if offset >= 0 {
        now + Duration::from_secs(offset as u64)
    } else {
        now.saturating_sub(Duration::from_secs(offset.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::unpack_container;

    #[test]
    fn several_parts_make_a_container_numbered_after_its_contents() {
        let mut n = Numbering::default();
        let now = Duration::new(1_700_000_000, 5);
        let parts = vec![
            Part {
                body: vec![1, 0, 0, 0],
                content_related: true,
                kind: MsgKind::Client,
            },
            Part {
                body: msgs_ack(&[4, 8]),
                content_related: false,
                kind: MsgKind::Client,
            },
        ];
        let packed = n.pack(now, parts);
        assert_eq!(packed.numbered[0].1, 1);
        assert_eq!(packed.numbered[1].1, 2);
        assert_eq!(packed.seq_no, 2);
        let inner = unpack_container(&packed.body, packed.msg_id).unwrap();
        assert_eq!(inner.len(), 2);
        assert!(inner.iter().all(|m| m.msg_id < packed.msg_id));
    }

    #[test]
    fn shifting_saturates() {
        assert_eq!(shifted(Duration::from_secs(5), -10), Duration::ZERO);
        assert_eq!(shifted(Duration::from_secs(5), 10), Duration::from_secs(15));
    }
}
