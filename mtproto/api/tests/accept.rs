//! Peers where the schema asks for a user or a channel (`Config::accept` in build.rs): what
//! kurigram and others send decodes as the call the server handles, and encoding is
//! unchanged.

use mtproto_api::{enums, functions, types};
use tl_runtime::{Deserialize, Serialize};

#[test]
fn an_input_peer_channel_decodes_as_an_input_channel() {
    // channels.updateUsername built with inputPeerChannel in the channel's place.
    let mut body = Vec::new();
    0x3514_b3de_u32.serialize(&mut body);
    enums::InputPeer::Channel(types::InputPeerChannel {
        channel_id: 1_000_001,
        access_hash: -5,
    })
    .serialize(&mut body);
    "rust_news".to_owned().serialize(&mut body);
    let call = functions::channels::UpdateUsername::from_bytes(body).expect("decodes");
    assert_eq!(
        call.channel,
        enums::InputChannel::InputChannel(types::InputChannel {
            channel_id: 1_000_001,
            access_hash: -5,
        })
    );
    assert_eq!(call.username, "rust_news");
    // Written back, it is the schema's form.
    let mut again = Vec::new();
    call.channel.serialize(&mut again);
    assert_eq!(again[..4], 0xf35a_ec28_u32.to_le_bytes());
}

#[test]
fn input_peer_users_decode_as_input_users() {
    let peers = vec![
        enums::InputPeer::User(types::InputPeerUser {
            user_id: 100_001,
            access_hash: 9,
        }),
        enums::InputPeer::InputPeerSelf,
        enums::InputPeer::Empty,
    ];
    let mut body = Vec::new();
    0x0d91_a548_u32.serialize(&mut body);
    peers.serialize(&mut body);
    let call = functions::users::GetUsers::from_bytes(body).expect("decodes");
    assert_eq!(
        call.id,
        vec![
            enums::InputUser::InputUser(types::InputUser {
                user_id: 100_001,
                access_hash: 9,
            }),
            enums::InputUser::InputUserSelf,
            enums::InputUser::Empty,
        ]
    );
}

#[test]
fn other_constructors_are_still_refused() {
    // A user peer where a channel is expected has other fields: not accepted.
    let mut body = Vec::new();
    0x3514_b3de_u32.serialize(&mut body);
    enums::InputPeer::User(types::InputPeerUser {
        user_id: 1,
        access_hash: 2,
    })
    .serialize(&mut body);
    "x".to_owned().serialize(&mut body);
    assert!(functions::channels::UpdateUsername::from_bytes(body).is_err());
}
