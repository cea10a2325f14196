//! Reactions through every served layer's bridge: a pushed `updateMessageReactions` reaches
//! each layer's client in that layer's constructor (layer 198 has its own, without
//! `saved_peer_id`) with the counts intact, and the reaction calls, the same in every served
//! layer, pass through unchanged.

use mtproto_api::{enums, functions, layer198, layers, types};
use tl_runtime::{Deserialize, Serialize};

fn thumbs_up() -> enums::Reaction {
    types::ReactionEmoji {
        emoticon: "👍".into(),
    }
    .into()
}

fn updates_229() -> Vec<u8> {
    let reactions = types::MessageReactions {
        can_see_list: true,
        results: vec![
            types::ReactionCount {
                chosen_order: Some(0),
                reaction: thumbs_up(),
                count: 1,
            }
            .into(),
        ],
        recent_reactions: Some(vec![
            types::MessagePeerReaction {
                big: false,
                unread: false,
                my: true,
                peer_id: types::PeerUser { user_id: 5 }.into(),
                date: 1,
                reaction: thumbs_up(),
            }
            .into(),
        ]),
        ..Default::default()
    };
    enums::Updates::from(types::Updates {
        updates: vec![
            types::UpdateMessageReactions {
                peer: types::PeerUser { user_id: 5 }.into(),
                msg_id: 3,
                top_msg_id: None,
                saved_peer_id: None,
                reactions: reactions.into(),
            }
            .into(),
        ],
        users: Vec::new(),
        chats: Vec::new(),
        date: 1,
        seq: 0,
    })
    .to_bytes()
}

fn has(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_served_layer_gets_update_message_reactions_in_its_own_constructor() {
    let updates = updates_229();
    for (layer, id) in [
        (198, 0x5e1b_3cb8_u32),
        (220, 0x1e29_7bfa),
        (227, 0x1e29_7bfa),
        (228, 0x1e29_7bfa),
        (230, 0x1e29_7bfa),
    ] {
        let served = layers::served(layer);
        assert_eq!(served.layer, layer);
        let old = served
            .downgrade_boxed("Updates", &updates)
            .unwrap()
            .unwrap_or_else(|| updates.clone());
        assert!(has(&old, &id.to_le_bytes()), "layer {layer}: {old:02x?}");
        assert!(has(&old, "👍".as_bytes()), "layer {layer} keeps the emoji");
    }
    let old = layers::served(198)
        .downgrade_boxed("Updates", &updates)
        .unwrap()
        .expect("198 has its own updateMessageReactions");
    let layer198::enums::Updates::Updates(decoded) =
        layer198::enums::Updates::from_bytes(old).expect("decodes as layer 198")
    else {
        panic!("not an updates")
    };
    let [layer198::enums::Update::MessageReactions(update)] = decoded.updates.as_slice() else {
        panic!("one updateMessageReactions: {:?}", decoded.updates)
    };
    assert_eq!(update.msg_id, 3);
}

#[test]
fn the_reaction_calls_pass_through_every_bridge() {
    let calls = [
        functions::messages::SendReaction {
            big: false,
            add_to_recent: false,
            peer: types::InputPeerSelf {}.into(),
            msg_id: 1,
            reaction: Some(vec![thumbs_up()]),
        }
        .to_bytes(),
        functions::messages::GetMessagesReactions {
            peer: types::InputPeerSelf {}.into(),
            id: vec![1, 2],
        }
        .to_bytes(),
        functions::messages::GetAvailableReactions { hash: 0 }.to_bytes(),
    ];
    for layer in layers::SERVED {
        for call in &calls {
            assert_eq!(
                layers::served(*layer).upgrade_call(call).unwrap(),
                None,
                "layer {layer}"
            );
        }
    }
}
