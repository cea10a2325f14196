//! A third layer is another schema file: the made-up layer 200 of
//! `tests/data/api-sample-200.tl` gets its changed constructors generated, and values
//! round-trip 229 → 200 → 229 (bytes included) keeping every field both layers have.

use crate::layer_sample as l200;
use crate::{enums, functions, types};
use tl_runtime::{Convert, Deserialize, Identifiable, Serialize};

fn user() -> types::User {
    types::User {
        is_self: true,
        id: 11,
        access_hash: Some(12),
        first_name: Some("Third".into()),
        username: Some("layer".into()),
        phone: Some("15550300".into()),
        ..Default::default()
    }
}

fn message() -> types::Message {
    types::Message {
        out: true,
        from_id: Some(types::PeerUser { user_id: 11 }.into()),
        edit_date: Some(5),
        ..types::Message::new(
            3,
            types::PeerUser { user_id: 12 }.into(),
            1_700_000_000,
            "third layer".into(),
        )
    }
}

#[test]
fn only_the_changed_constructors_have_types() {
    assert_eq!(l200::LAYER, 200);
    assert_eq!(l200::PRIMARY_LAYER, 229);
    assert_eq!(
        <l200::types::User as Identifiable>::CONSTRUCTOR_ID,
        0x2000_0001
    );
    assert_eq!(
        <l200::types::Message as Identifiable>::CONSTRUCTOR_ID,
        0x2000_0002
    );
    // `Peer` did not change: the layer-200 message holds 229's own type.
    let m: l200::types::Message = Convert::convert(message()).unwrap();
    let _: &enums::Peer = &m.peer_id;
}

#[test]
fn user_and_message_round_trip_through_layer_200() {
    let old: l200::types::User = Convert::convert(user()).unwrap();
    let old = l200::types::User::from_bytes(old.to_bytes()).unwrap();
    let back: types::User = Convert::convert(old).unwrap();
    assert_eq!(back, user());

    let old: l200::types::Message = Convert::convert(message()).unwrap();
    let old = l200::types::Message::from_bytes(old.to_bytes()).unwrap();
    let back: types::Message = Convert::convert(old).unwrap();
    assert_eq!(back, message());

    // A field layer 200 does not have is lost on the way, and comes back empty.
    let pinned = types::Message {
        pinned: true,
        ..message()
    };
    let old: l200::types::Message = Convert::convert(pinned).unwrap();
    let back: types::Message = Convert::convert(old).unwrap();
    assert_eq!(back, message());
}

#[test]
fn calls_and_results_cross_as_bytes() {
    let call = l200::functions::messages::SendMessage {
        silent: true,
        peer: types::InputPeerSelf {}.into(),
        message: "from layer 200".into(),
        random_id: 77,
    };
    let new = l200::upgrade_call(&call.to_bytes()).unwrap().unwrap();
    let new = functions::messages::SendMessage::from_bytes(new).unwrap();
    assert!(new.silent && !new.no_webpage);
    assert_eq!(
        (new.message.as_str(), new.random_id),
        ("from layer 200", 77)
    );

    let updates: enums::Updates = types::Updates {
        updates: vec![
            types::UpdateNewMessage {
                message: message().into(),
                pts: 1,
                pts_count: 1,
            }
            .into(),
        ],
        users: vec![user().into()],
        chats: vec![],
        date: 9,
        seq: 0,
    }
    .into();
    let old = l200::downgrade_result(0x2000_0003, &updates.to_bytes())
        .unwrap()
        .unwrap();
    let old = l200::enums::Updates::from_bytes(old).unwrap();
    let back: enums::Updates = Convert::convert(old).unwrap();
    assert_eq!(back, updates);

    let users = vec![enums::User::from(user())].to_bytes();
    let old = l200::downgrade_result(functions::users::GetUsers::CONSTRUCTOR_ID, &users)
        .unwrap()
        .unwrap();
    assert_eq!(&old[8..12], &0x2000_0001u32.to_le_bytes());

    // 229 constructors layer 200 does not have are typed errors.
    let empty: enums::Updates = types::UpdatesTooLong {}.into();
    assert!(matches!(
        l200::downgrade_boxed("Updates", &empty.to_bytes()),
        Err(tl_runtime::LayerError::NoCounterpart {
            name: "updatesTooLong",
            layer: 200
        })
    ));
}
