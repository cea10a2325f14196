//! The four framings of MTProto over TCP.

use super::{Inbound, Role, TransportError};
use crate::crypto::Random;
use bytes::{Buf, BufMut, BytesMut};

/// How packets are framed on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One length byte (in 4-byte words), or 0x7f and three more; prologue `0xef`.
    Abridged,
    /// A 4-byte length; prologue `0xeeeeeeee`.
    Intermediate,
    /// A 4-byte length that includes 0-15 random padding bytes; prologue `0xdddddddd`.
    PaddedIntermediate,
    /// Length, sequence number, payload and CRC32; no prologue. Cannot be obfuscated.
    Full,
}

pub(super) struct Framer {
    kind: Kind,
    seq_out: u32,
    seq_in: u32,
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

impl Framer {
    pub(super) fn new(kind: Kind) -> Self {
        Framer {
            kind,
            seq_out: 0,
            seq_in: 0,
        }
    }

    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    pub(super) fn write_prologue(&self, dst: &mut BytesMut) {
        match self.kind {
            Kind::Abridged => dst.put_u8(0xef),
            Kind::Intermediate => dst.put_u32_le(0xeeee_eeee),
            Kind::PaddedIntermediate => dst.put_u32_le(0xdddd_dddd),
            Kind::Full => {}
        }
    }

    pub(super) fn write_frame(
        &mut self,
        payload: &[u8],
        quick_ack: bool,
        dst: &mut BytesMut,
        rng: &mut impl Random,
    ) {
        let ack_bit = if quick_ack { 0x8000_0000u32 } else { 0 };
        match self.kind {
            Kind::Abridged => {
                let words = payload.len() / 4;
                let flag = if quick_ack { 0x80u8 } else { 0 };
                if words < 0x7f {
                    dst.put_u8(words as u8 | flag);
                } else {
                    dst.put_u8(0x7f | flag);
                    dst.put_slice(&(words as u32).to_le_bytes()[..3]);
                }
                dst.put_slice(payload);
            }
            Kind::Intermediate => {
                dst.put_u32_le(payload.len() as u32 | ack_bit);
                dst.put_slice(payload);
            }
            Kind::PaddedIntermediate => {
                let mut pad = [0u8; 16];
                rng.fill(&mut pad[..1]);
                let pad_len = usize::from(pad[0] % 16);
                rng.fill(&mut pad[..pad_len]);
                dst.put_u32_le((payload.len() + pad_len) as u32 | ack_bit);
                dst.put_slice(payload);
                dst.put_slice(&pad[..pad_len]);
            }
            Kind::Full => {
                let start = dst.len();
                dst.put_u32_le(payload.len() as u32 + 12);
                dst.put_u32_le(self.seq_out);
                dst.put_slice(payload);
                let crc = crc32fast::hash(&dst[start..]);
                dst.put_u32_le(crc);
                self.seq_out = self.seq_out.wrapping_add(1);
            }
        }
    }

    pub(super) fn write_quick_ack(
        &mut self,
        token: u32,
        dst: &mut BytesMut,
        rng: &mut impl Random,
    ) {
        match self.kind {
            Kind::Abridged => dst.put_u32(token | 0x8000_0000),
            Kind::Intermediate => dst.put_u32_le(token | 0x8000_0000),
            Kind::PaddedIntermediate => {
                let mut extra = [0u8; 9];
                rng.fill(&mut extra[..1]);
                let extra_len = usize::from(extra[0] % 9);
                rng.fill(&mut extra[..extra_len]);
                dst.put_u32_le(8 + extra_len as u32);
                dst.put_u32_le(0xffff_ffff);
                dst.put_u32_le(token | 0x8000_0000);
                dst.put_slice(&extra[..extra_len]);
            }
            // The full transport has no quick acks.
            Kind::Full => {}
        }
    }

    /// One frame from the front of `src`, if complete.
    pub(super) fn read_frame(
        &mut self,
        src: &mut BytesMut,
        role: Role,
        max: usize,
    ) -> Result<Option<Inbound>, TransportError> {
        let client = role == Role::Client;
        let (header, len, quick_ack) = match self.kind {
            Kind::Abridged => {
                let Some(&first) = src.first() else {
                    return Ok(None);
                };
                if client && first & 0x80 != 0 {
                    if src.len() < 4 {
                        return Ok(None);
                    }
                    let token = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
                    src.advance(4);
                    return Ok(Some(Inbound::QuickAck(token)));
                }
                let words = first & 0x7f;
                if words == 0x7f {
                    if src.len() < 4 {
                        return Ok(None);
                    }
                    let words = src[1] as usize | (src[2] as usize) << 8 | (src[3] as usize) << 16;
                    (4, words * 4, first & 0x80 != 0)
                } else {
                    (1, words as usize * 4, first & 0x80 != 0)
                }
            }
            Kind::Intermediate | Kind::PaddedIntermediate => {
                if src.len() < 4 {
                    return Ok(None);
                }
                let word = u32_at(src, 0);
                if client && word & 0x8000_0000 != 0 {
                    src.advance(4);
                    return Ok(Some(Inbound::QuickAck(word)));
                }
                (4, (word & 0x7fff_ffff) as usize, word & 0x8000_0000 != 0)
            }
            Kind::Full => {
                if src.len() < 4 {
                    return Ok(None);
                }
                let total = u32_at(src, 0);
                if client && (total as i32) < 0 {
                    src.advance(4);
                    return Ok(Some(Inbound::Error(total as i32)));
                }
                let total = total as usize;
                if total > max.saturating_add(12) {
                    return Err(TransportError::FrameTooLarge { len: total, max });
                }
                if total < 12 || total % 4 != 0 {
                    return Err(TransportError::BadLength { len: total });
                }
                if src.len() < total {
                    src.reserve(total - src.len());
                    return Ok(None);
                }
                let expected = u32_at(src, total - 4);
                let computed = crc32fast::hash(&src[..total - 4]);
                if expected != computed {
                    return Err(TransportError::BadCrc { expected, computed });
                }
                let seq = u32_at(src, 4);
                if seq != self.seq_in {
                    return Err(TransportError::BadSeq {
                        got: seq,
                        expected: self.seq_in,
                    });
                }
                self.seq_in = self.seq_in.wrapping_add(1);
                let mut frame = src.split_to(total);
                frame.truncate(total - 4);
                frame.advance(8);
                return Ok(Some(packet_or_error(frame, false, client, self.kind)));
            }
        };
        if len > max {
            return Err(TransportError::FrameTooLarge { len, max });
        }
        if src.len() < header + len {
            src.reserve(header + len - src.len());
            return Ok(None);
        }
        src.advance(header);
        let payload = src.split_to(len);
        Ok(Some(packet_or_error(
            payload,
            quick_ack && !client,
            client,
            self.kind,
        )))
    }
}

/// Frames too short to be an MTProto packet carry a transport error (client side), or, with
/// the padded transport, a quick ack.
fn packet_or_error(payload: BytesMut, quick_ack: bool, client: bool, kind: Kind) -> Inbound {
    if client && payload.len() < 24 && payload.len() >= 4 {
        if kind == Kind::PaddedIntermediate && payload.len() >= 8 && payload[..4] == [0xff; 4] {
            return Inbound::QuickAck(u32_at(&payload, 4));
        }
        return Inbound::Error(u32_at(&payload, 0) as i32);
    }
    Inbound::Packet { payload, quick_ack }
}
