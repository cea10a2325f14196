//! MTProto transports: abridged, intermediate, padded intermediate and full framing, with
//! optional obfuscation (obfuscated2), quick acks and transport errors.
//!
//! A [`Codec`] follows the tokio-util codec contract without depending on it: `decode` looks
//! at the bytes received so far and returns `Ok(None)` until a whole frame is there; `encode`
//! appends one framed packet to the output buffer. Frame lengths are checked against a
//! maximum before anything is allocated.

mod framing;
mod obfuscated;

pub use framing::Kind;
pub use obfuscated::{ObfuscatedHeader, client_header};

use crate::crypto::{AesCtr, Random};
use bytes::{Buf, BytesMut};
use framing::Framer;

/// The largest frame accepted by default: 16 MiB, above any MTProto message.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;

/// Cuts the random tail (at most 15 bytes) that the padded intermediate transport may add to
/// an encrypted packet, which is otherwise 24 bytes plus whole 16-byte blocks. Packets of the
/// other transports come out unchanged.
///
/// ```
/// assert_eq!(mtproto::transport::strip_padding(&[0u8; 24 + 48 + 7]).len(), 72);
/// assert_eq!(mtproto::transport::strip_padding(&[0u8; 3]).len(), 3);
/// ```
pub fn strip_padding(packet: &[u8]) -> &[u8] {
    if packet.len() < 24 {
        return packet;
    }
    &packet[..packet.len() - (packet.len() - 24) % 16]
}

/// Which end of the connection a codec serves; frames differ a little in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client: sends the prologue, reads quick acks and transport errors.
    Client,
    /// The server: reads the prologue and quick-ack requests.
    Server,
}

/// What came out of the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// One MTProto packet. With the padded intermediate transport it may end with up to 15
    /// random bytes that the message layer cuts off.
    Packet {
        /// The payload.
        payload: BytesMut,
        /// The client asked for a quick ack of this packet (server side only).
        quick_ack: bool,
    },
    /// The server confirmed receipt of a packet (client side only).
    QuickAck(u32),
    /// A transport error code from the server, such as -404 (client side only).
    Error(i32),
}

/// Why a byte stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A frame announces more bytes than allowed.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A length that is not a multiple of 4 where the transport requires it, or too short.
    #[error("bad frame length {len}")]
    BadLength {
        /// The announced length.
        len: usize,
    },
    /// The full transport's CRC32 does not match.
    #[error("CRC32 mismatch: frame says {expected:#010x}, computed {computed:#010x}")]
    BadCrc {
        /// The CRC in the frame.
        expected: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// The full transport's sequence number is not the next one.
    #[error("sequence number {got}, expected {expected}")]
    BadSeq {
        /// The number received.
        got: u32,
        /// The number expected.
        expected: u32,
    },
    /// The first bytes of a connection match no transport (for example an HTTP request).
    #[error("unknown transport prologue {prologue:02x?}")]
    UnknownPrologue {
        /// The first bytes seen.
        prologue: [u8; 8],
    },
    /// An obfuscated2 header whose protocol tag is not a transport this codec speaks.
    #[error("obfuscated2 header with unknown protocol tag {tag:#010x}")]
    UnknownObfuscatedTag {
        /// The decrypted tag.
        tag: u32,
    },
}

/// A transport codec for one connection and one role.
pub struct Codec {
    framer: Framer,
    role: Role,
    max_frame: usize,
    /// Client only: the prologue still has to be written before the first frame.
    prologue_pending: bool,
    /// The obfuscation header, sent before the first frame (client side).
    header_pending: Option<Box<[u8; 64]>>,
    encrypt: Option<AesCtr>,
    decrypt: Option<AesCtr>,
    /// How many bytes at the front of the receive buffer are already deobfuscated.
    decrypted: usize,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("kind", &self.framer.kind())
            .field("role", &self.role)
            .field("obfuscated", &self.encrypt.is_some())
            .finish()
    }
}

impl Codec {
    /// A client codec for a plain transport; its first `encode` writes the prologue.
    pub fn client(kind: Kind) -> Self {
        Codec {
            framer: Framer::new(kind),
            role: Role::Client,
            max_frame: DEFAULT_MAX_FRAME,
            prologue_pending: true,
            header_pending: None,
            encrypt: None,
            decrypt: None,
            decrypted: 0,
        }
    }

    /// A client codec for an obfuscated transport. Send `header.bytes` first, then the frames.
    pub fn client_obfuscated(kind: Kind, header: ObfuscatedHeader) -> Self {
        Codec {
            framer: Framer::new(kind),
            role: Role::Client,
            max_frame: DEFAULT_MAX_FRAME,
            prologue_pending: false,
            header_pending: Some(Box::new(header.bytes)),
            encrypt: Some(header.encrypt),
            decrypt: Some(header.decrypt),
            decrypted: 0,
        }
    }

    /// Sets the largest frame `decode` accepts.
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// The framing in use.
    pub fn kind(&self) -> Kind {
        self.framer.kind()
    }

    /// Whether the connection is obfuscated.
    pub fn is_obfuscated(&self) -> bool {
        self.encrypt.is_some()
    }

    /// Server side: recognises the transport from the first bytes of a connection and
    /// consumes its prologue (or obfuscation header). `Ok(None)` means more bytes are needed.
    pub fn server_detect(
        buf: &mut BytesMut,
        secret: Option<&[u8; 16]>,
    ) -> Result<Option<Codec>, TransportError> {
        let plain = |kind: Kind, prologue: usize, buf: &mut BytesMut| {
            buf.advance(prologue);
            Codec {
                framer: Framer::new(kind),
                role: Role::Server,
                max_frame: DEFAULT_MAX_FRAME,
                prologue_pending: false,
                header_pending: None,
                encrypt: None,
                decrypt: None,
                decrypted: 0,
            }
        };
        match buf.first() {
            None => return Ok(None),
            Some(0xef) => return Ok(Some(plain(Kind::Abridged, 1, buf))),
            Some(_) => {}
        }
        if buf.len() < 4 {
            return Ok(None);
        }
        match [buf[0], buf[1], buf[2], buf[3]] {
            [0xee, 0xee, 0xee, 0xee] => return Ok(Some(plain(Kind::Intermediate, 4, buf))),
            [0xdd, 0xdd, 0xdd, 0xdd] => return Ok(Some(plain(Kind::PaddedIntermediate, 4, buf))),
            _ => {}
        }
        if buf.len() < 8 {
            return Ok(None);
        }
        if buf[4..8] == [0, 0, 0, 0] {
            // Full transport: length, then sequence number 0. No prologue.
            return Ok(Some(plain(Kind::Full, 0, buf)));
        }
        let mut prologue = [0u8; 8];
        prologue.copy_from_slice(&buf[..8]);
        if matches!(&prologue[..4], b"POST" | b"GET " | b"HEAD" | b"OPTI") {
            return Err(TransportError::UnknownPrologue { prologue });
        }
        if buf.len() < 64 {
            return Ok(None);
        }
        let mut init = [0u8; 64];
        init.copy_from_slice(&buf[..64]);
        let (kind, encrypt, decrypt) = obfuscated::server_accept(&init, secret)?;
        buf.advance(64);
        Ok(Some(Codec {
            framer: Framer::new(kind),
            role: Role::Server,
            max_frame: DEFAULT_MAX_FRAME,
            prologue_pending: false,
            header_pending: None,
            encrypt: Some(encrypt),
            decrypt: Some(decrypt),
            decrypted: 0,
        }))
    }

    /// Appends one framed packet. `quick_ack` asks the server to confirm receipt (client
    /// side; ignored by the full transport, which has no way to ask). `rng` supplies the random
    /// padding of the padded intermediate transport.
    pub fn encode(
        &mut self,
        payload: &[u8],
        quick_ack: bool,
        dst: &mut BytesMut,
        rng: &mut impl Random,
    ) {
        if let Some(header) = self.header_pending.take() {
            dst.extend_from_slice(&header[..]);
        }
        let start = dst.len();
        if std::mem::take(&mut self.prologue_pending) {
            self.framer.write_prologue(dst);
        }
        self.framer
            .write_frame(payload, quick_ack && self.role == Role::Client, dst, rng);
        self.obfuscate(dst, start);
    }

    /// Server side: appends a quick ack for a packet whose token is `token` (see
    /// [`crate::crypto::quick_ack_token`]).
    pub fn encode_quick_ack(&mut self, token: u32, dst: &mut BytesMut, rng: &mut impl Random) {
        let start = dst.len();
        self.framer.write_quick_ack(token, dst, rng);
        self.obfuscate(dst, start);
    }

    /// Server side: appends a transport error such as -404 or -429.
    pub fn encode_error(&mut self, code: i32, dst: &mut BytesMut, rng: &mut impl Random) {
        let start = dst.len();
        self.framer
            .write_frame(&code.to_le_bytes(), false, dst, rng);
        self.obfuscate(dst, start);
    }

    fn obfuscate(&mut self, dst: &mut BytesMut, start: usize) {
        if let Some(stream) = &mut self.encrypt {
            stream.apply(&mut dst[start..]);
        }
    }

    /// Takes the next frame from `src` if it is complete.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, TransportError> {
        if let Some(stream) = &mut self.decrypt {
            // Bytes already deobfuscated stay as they are; only new ones go through the stream.
            let from = self.decrypted.min(src.len());
            stream.apply(&mut src[from..]);
            self.decrypted = src.len();
        }
        let before = src.len();
        let result = self.framer.read_frame(src, self.role, self.max_frame);
        self.decrypted -= (before - src.len()).min(self.decrypted);
        result
    }
}
