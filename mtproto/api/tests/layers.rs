//! The served layers other than 198 (which `layer198.rs` covers): a layer-229 `user` and
//! `channel` reach each layer's client with that layer's constructor ids and decode as its
//! types, a request of each layer upgrades to the 229 call, and the registry picks the served
//! layer for an announced one as documented.

use mtproto_api::{enums, functions, layers, types};
use tl_runtime::{Deserialize, Identifiable, Serialize};

fn user_229() -> enums::User {
    types::User {
        is_self: true,
        id: 42,
        access_hash: Some(7),
        first_name: Some("Ada".into()),
        phone: Some("15550100".into()),
        // New in 229: not in 227's `user`, already in 228's.
        linked_community_id: Some(5),
        ..Default::default()
    }
    .into()
}

fn channel_229() -> enums::Chat {
    let mut channel = types::Channel::new(77, "News".into(), types::ChatPhotoEmpty {}.into(), 1);
    channel.broadcast = true;
    channel.access_hash = Some(8);
    channel.linked_community_id = Some(6);
    channel.into()
}

fn id(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[..4].try_into().unwrap())
}

fn has_id(bytes: &[u8], id: u32) -> bool {
    bytes.windows(4).any(|w| w == id.to_le_bytes())
}

/// The bridge's answer, or the input when it says the value is the same in both layers.
fn or_same(converted: Option<Vec<u8>>, input: &[u8]) -> Vec<u8> {
    converted.unwrap_or_else(|| input.to_vec())
}

/// The tests for one served layer: its number, its `user` and `channel` ids, the Rust types
/// its client decodes a `User` and a `Chat` as (the layer's own, or 229's where unchanged),
/// and its `messages.sendMessage`.
macro_rules! served_layer {
    ($name:ident, $layer:literal, user: $user_id:literal, channel: $channel_id:literal,
     User: $user_ty:ty, Chat: $chat_ty:ty, SendMessage: $send:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn is_served_exactly_through_its_bridge() {
                let served = layers::served($layer);
                assert!(served.exact);
                assert_eq!(served.layer, $layer);
                assert_eq!(served.bridge.map(|b| b.layer), Some($layer));
                assert!(layers::SERVED.contains(&$layer));
            }

            #[test]
            fn a_229_user_and_channel_have_this_layers_ids() {
                let served = layers::served($layer);
                let user = user_229().to_bytes();
                let old = or_same(served.downgrade_boxed("User", &user).unwrap(), &user);
                assert_eq!(id(&old), $user_id, "{:08x}", id(&old));
                let decoded = <$user_ty>::from_bytes(tl_runtime::Bytes::from(old)).unwrap();
                assert!(format!("{decoded:?}").contains("\"Ada\""), "{decoded:?}");

                let channel = channel_229().to_bytes();
                let old = or_same(served.downgrade_boxed("Chat", &channel).unwrap(), &channel);
                assert_eq!(id(&old), $channel_id, "{:08x}", id(&old));
                let decoded = <$chat_ty>::from_bytes(tl_runtime::Bytes::from(old)).unwrap();
                assert!(format!("{decoded:?}").contains("\"News\""), "{decoded:?}");
            }

            #[test]
            fn results_and_updates_carry_them_in_this_layer() {
                let served = layers::served($layer);
                // users.getUsers answers Vector<User>.
                let result = vec![user_229()].to_bytes();
                let old = or_same(
                    served
                        .downgrade_result(functions::users::GetUsers::CONSTRUCTOR_ID, &result)
                        .unwrap(),
                    &result,
                );
                let users =
                    Vec::<$user_ty>::from_bytes(tl_runtime::Bytes::from(old.clone())).unwrap();
                assert_eq!(users.len(), 1);
                assert_eq!(id(&old[8..]), $user_id);
                // channels.getChannels answers messages.Chats.
                let result = enums::messages::Chats::from(types::messages::Chats {
                    chats: vec![channel_229()],
                })
                .to_bytes();
                let old = or_same(
                    served
                        .downgrade_result(functions::channels::GetChannels::CONSTRUCTOR_ID, &result)
                        .unwrap(),
                    &result,
                );
                // messages.chats#, vector#, length, then the channel.
                assert_eq!(id(&old[12..]), $channel_id);
                // A pushed `updates` with both.
                let updates = enums::Updates::from(types::Updates {
                    updates: Vec::new(),
                    users: vec![user_229()],
                    chats: vec![channel_229()],
                    date: 1,
                    seq: 0,
                })
                .to_bytes();
                let old = or_same(
                    served.downgrade_boxed("Updates", &updates).unwrap(),
                    &updates,
                );
                assert!(has_id(&old, $user_id) && has_id(&old, $channel_id));
            }

            #[test]
            fn its_send_message_upgrades_to_the_229_call() {
                let call = <$send>::new(
                    types::InputPeerUser {
                        user_id: 5,
                        access_hash: 6,
                    }
                    .into(),
                    format!("hello from {}", $layer),
                    99,
                );
                let bytes = call.to_bytes();
                let new = or_same(layers::served($layer).upgrade_call(&bytes).unwrap(), &bytes);
                let new =
                    functions::messages::SendMessage::from_bytes(tl_runtime::Bytes::from(new))
                        .unwrap();
                assert_eq!(new.message, format!("hello from {}", $layer));
                assert_eq!(new.random_id, 99);
                // Calls that did not change pass through.
                let same = functions::users::GetUsers {
                    id: vec![types::InputUserSelf {}.into()],
                };
                assert_eq!(
                    layers::served($layer)
                        .upgrade_call(&same.to_bytes())
                        .unwrap(),
                    None
                );
            }
        }
    };
}

served_layer!(layer220, 220, user: 0x31774388, channel: 0x1c32b11c,
    User: mtproto_api::layer220::enums::User, Chat: mtproto_api::layer220::enums::Chat,
    SendMessage: mtproto_api::layer220::functions::messages::SendMessage);
served_layer!(layer227, 227, user: 0x31774388, channel: 0x1c32b11c,
    User: mtproto_api::layer227::enums::User, Chat: mtproto_api::layer227::enums::Chat,
    SendMessage: mtproto_api::layer227::functions::messages::SendMessage);
served_layer!(layer228, 228, user: 0xb1b8cc83, channel: 0xd49f34c6,
    User: mtproto_api::enums::User, Chat: mtproto_api::layer228::enums::Chat,
    SendMessage: mtproto_api::layer228::functions::messages::SendMessage);
served_layer!(layer230, 230, user: 0xb1b8cc83, channel: 0xd49f34c6,
    User: mtproto_api::layer230::enums::User, Chat: mtproto_api::layer230::enums::Chat,
    SendMessage: mtproto_api::layer230::functions::messages::SendMessage);

#[test]
fn the_227_user_drops_only_the_new_field() {
    let old = layers::served(227)
        .downgrade_boxed("User", &user_229().to_bytes())
        .unwrap()
        .expect("user changed in 227");
    let mtproto_api::layer227::enums::User::User(user) =
        mtproto_api::layer227::enums::User::from_bytes(tl_runtime::Bytes::from(old)).unwrap()
    else {
        panic!("not a user");
    };
    assert!(user.is_self);
    assert_eq!(
        (user.id, user.access_hash, user.phone.as_deref()),
        (42, Some(7), Some("15550100"))
    );
}

#[test]
fn served_picks_the_layer_as_documented() {
    // A layer above 230 gets its schema file some day (and is then served as itself): the
    // table holds as long as no layer is added between the rows.
    let newest = if layers::SERVED.contains(&231) {
        (231, 231, true)
    } else {
        (231, 230, false)
    };
    // (announced, served, exact)
    let table = [
        (198, 198, true),
        (199, 198, false),
        (220, 220, true),
        (226, 220, false),
        (227, 227, true),
        (228, 228, true),
        (229, 229, true),
        (230, 230, true),
        newest,
        (100, 198, false),
    ];
    for (announced, layer, exact) in table {
        let served = layers::served(announced);
        assert_eq!(
            (served.announced, served.layer, served.exact),
            (announced, layer, exact),
            "announced {announced}"
        );
        assert_eq!(
            served.bridge.map(|b| b.layer),
            (layer != mtproto_api::LAYER).then_some(layer)
        );
    }
    for layer in [198, 220, 227, 228, 229, 230] {
        assert!(layers::SERVED.contains(&layer), "{layer}");
    }
    assert!(layers::bridge(229).is_none() && layers::bridge(226).is_none());
}

#[test]
fn layer_229_passes_everything_unchanged() {
    let own = layers::served(229);
    let user = user_229().to_bytes();
    assert_eq!(own.downgrade_boxed("User", &user).unwrap(), None);
    assert_eq!(own.upgrade_call(&user).unwrap(), None);
    assert_eq!(
        own.downgrade_result(functions::users::GetUsers::CONSTRUCTOR_ID, &user)
            .unwrap(),
        None
    );
}
