//! Builds a message with the types generated from `schema/chat.tl`, serializes it to TL bytes,
//! reads it back and checks it is the same value.
//!
//! Run it with `cargo run -p tl-build-example`.

/// The code `build.rs` generated from `schema/chat.tl`.
pub mod chat {
    include!(concat!(env!("OUT_DIR"), "/chat.rs"));
}

use chat::{enums, functions, types};
use tl_runtime::{Deserialize, RemoteCall, Serialize};

fn main() {
    let (message, bytes) = round_trip();
    println!("{} bytes: {}", bytes.len(), hex(&bytes));
    println!("round trip ok: {message:?}");

    // A request: its answer type is part of the type.
    let request = functions::GetHistory {
        peer: types::PeerRoom { room_id: 1 }.into(),
        limit: 20,
    };
    let answer: <functions::GetHistory as RemoteCall>::Return =
        enums::History::from(types::History {
            messages: vec![message],
            more: false,
        });
    println!(
        "request {} -> answer of {} bytes",
        hex(&request.to_bytes()),
        answer.to_bytes().len()
    );
    println!("schema layer {}", chat::LAYER);
}

/// Builds a message, serializes it and reads it back; returns the value read and the bytes.
fn round_trip() -> (enums::ChatMessage, Vec<u8>) {
    let message = enums::ChatMessage::from(types::ChatMessage {
        pinned: true,
        id: 7,
        from: types::PeerUser { user_id: 42 }.into(),
        text: "hello, **world**".into(),
        entities: Some(vec![
            types::TextBold {
                offset: 7,
                length: 9,
            }
            .into(),
        ]),
        reply_to: None,
        attachment: Some(tl_runtime::Bytes::from_static(b"\x89PNG...")),
    });

    let bytes = message.to_bytes();
    let back = enums::ChatMessage::from_bytes(bytes.clone()).expect("our own bytes decode");
    assert_eq!(back, message);
    (back, bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trips_and_flags_are_computed() {
        let (message, bytes) = round_trip();
        let enums::ChatMessage::ChatMessage(inner) = &message;
        assert!(inner.pinned);
        // id of chatMessage, then the flags word: pinned (bit 0), entities (1), attachment (3).
        let flags = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
        assert_eq!(flags, 0b1011);
        assert!(enums::ChatMessage::from_bytes(bytes[..bytes.len() - 1].to_vec()).is_err());
    }

    #[test]
    fn computed_ids_follow_the_tl_rule() {
        use tl_runtime::Identifiable;
        let line = "peerUser user_id:long = Peer";
        assert_eq!(types::PeerUser::CONSTRUCTOR_ID, crc32(line.as_bytes()));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip() {
        let (message, _) = round_trip();
        let json = serde_json::to_string(&message).unwrap();
        assert!(json.contains("hello, **world**"), "{json}");
        let back: enums::ChatMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, message);
    }

    /// CRC-32 (IEEE), bit by bit: enough for one check.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
