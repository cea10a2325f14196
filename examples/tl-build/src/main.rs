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
    println!("{} bytes: {}", bytes.len(), hex(&bytes));

    let back = enums::ChatMessage::from_bytes(bytes).expect("our own bytes decode");
    assert_eq!(back, message);
    println!("round trip ok: {back:?}");

    // A request: its answer type is part of the type.
    let request = functions::GetHistory {
        peer: types::PeerRoom { room_id: 1 }.into(),
        limit: 20,
    };
    let answer: <functions::GetHistory as RemoteCall>::Return =
        enums::History::from(types::History {
            messages: vec![back],
            more: false,
        });
    println!(
        "request {} -> answer of {} bytes",
        hex(&request.to_bytes()),
        answer.to_bytes().len()
    );
    println!("schema layer {}", chat::LAYER);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
