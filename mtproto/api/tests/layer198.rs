//! The generated layer-198 bridge: requests of layer 198 become 229 calls, 229 results and
//! updates become the bytes a layer-198 client reads.

use mtproto_api::{enums, functions, layer198, types};
use tl_runtime::{Convert, Deserialize, Identifiable, Serialize};

fn user_229() -> enums::User {
    types::User {
        is_self: true,
        id: 42,
        access_hash: Some(7),
        first_name: Some("Ada".into()),
        phone: Some("15550100".into()),
        ..Default::default()
    }
    .into()
}

#[test]
fn a_198_send_message_becomes_the_229_call() {
    let old = layer198::functions::messages::SendMessage {
        no_webpage: true,
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: types::InputPeerUser {
            user_id: 5,
            access_hash: 6,
        }
        .into(),
        reply_to: None,
        message: "hello from 198".into(),
        random_id: 99,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
    };
    let bytes = old.to_bytes();
    assert_eq!(&bytes[..4], &0x983f9745u32.to_le_bytes());
    let new = layer198::upgrade_call(&bytes)
        .unwrap()
        .expect("changed in 229");
    let call = functions::messages::SendMessage::from_bytes(new).unwrap();
    assert_eq!(call.message, "hello from 198");
    assert_eq!(call.random_id, 99);
    assert!(call.no_webpage);
    assert_eq!(call.schedule_repeat_period, None);
    assert_eq!(
        call.peer,
        enums::InputPeer::from(types::InputPeerUser {
            user_id: 5,
            access_hash: 6
        })
    );
}

#[test]
fn calls_that_did_not_change_pass_through() {
    let call = functions::users::GetUsers {
        id: vec![types::InputUserSelf {}.into()],
    };
    assert_eq!(layer198::upgrade_call(&call.to_bytes()).unwrap(), None);
    assert_eq!(layer198::upgrade_call(&[1, 2]).unwrap(), None);
    // help.getConfig returns the same `Config` in both layers.
    assert_eq!(
        layer198::downgrade_result(functions::help::GetConfig::CONSTRUCTOR_ID, b"anything")
            .unwrap(),
        None
    );
}

#[test]
fn a_229_user_vector_is_read_as_198_users() {
    let result = vec![user_229()].to_bytes();
    let old = layer198::downgrade_result(functions::users::GetUsers::CONSTRUCTOR_ID, &result)
        .unwrap()
        .expect("user changed");
    assert!(old.windows(4).any(|w| w == 0x4b46c37eu32.to_le_bytes()));
    let users = Vec::<layer198::enums::User>::from_bytes(old).unwrap();
    let layer198::enums::User::User(user) = &users[0] else {
        panic!("{users:?}");
    };
    assert!(user.is_self);
    assert_eq!(
        (user.id, user.access_hash, user.first_name.as_deref()),
        (42, Some(7), Some("Ada"))
    );
    assert_eq!(user.phone.as_deref(), Some("15550100"));
}

#[test]
fn join_channel_answers_bare_updates_in_198() {
    let updates: enums::Updates = types::Updates {
        updates: vec![],
        users: vec![user_229()],
        chats: vec![],
        date: 1,
        seq: 0,
    }
    .into();
    let result: enums::messages::ChatInviteJoinResult = types::messages::ChatInviteJoinResultOk {
        updates: updates.clone(),
    }
    .into();
    let old = layer198::downgrade_result(0x24b524c5, &result.to_bytes())
        .unwrap()
        .unwrap();
    let old = layer198::enums::Updates::from_bytes(old).unwrap();
    let back: enums::Updates = match old {
        layer198::enums::Updates::Updates(u) => types::Updates {
            updates: vec![],
            users: u
                .users
                .into_iter()
                .map(|u| match u {
                    layer198::enums::User::User(u) => types::User {
                        is_self: u.is_self,
                        id: u.id,
                        access_hash: u.access_hash,
                        first_name: u.first_name,
                        phone: u.phone,
                        ..Default::default()
                    }
                    .into(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            chats: vec![],
            date: u.date,
            seq: u.seq,
        }
        .into(),
        other => panic!("{other:?}"),
    };
    assert_eq!(back, updates);
    // The web-view answer has no 198 form: a typed error, not a panic.
    let webview: enums::messages::ChatInviteJoinResult =
        types::messages::ChatInviteJoinResultWebView {
            bot_id: 1,
            query_id: 2,
            users: vec![],
        }
        .into();
    assert!(layer198::downgrade_result(0x24b524c5, &webview.to_bytes()).is_err());
}

#[test]
fn pushed_updates_carry_198_messages() {
    let message = types::Message {
        out: true,
        ..types::Message::new(
            3,
            types::PeerUser { user_id: 9 }.into(),
            1_700_000_000,
            "pushed".into(),
        )
    };
    let updates: enums::Updates = types::Updates {
        updates: vec![
            types::UpdateNewMessage {
                message: message.into(),
                pts: 4,
                pts_count: 1,
            }
            .into(),
        ],
        users: vec![user_229()],
        chats: vec![],
        date: 1,
        seq: 0,
    }
    .into();
    let old = layer198::downgrade_boxed("Updates", &updates.to_bytes())
        .unwrap()
        .unwrap();
    let layer198::enums::Updates::Updates(old) = layer198::enums::Updates::from_bytes(old).unwrap()
    else {
        panic!("not updates");
    };
    let layer198::enums::Update::NewMessage(new) = &old.updates[0] else {
        panic!("{:?}", old.updates);
    };
    let layer198::enums::Message::Message(m) = &new.message else {
        panic!("{:?}", new.message);
    };
    assert_eq!((m.id, m.out, m.message.as_str()), (3, true, "pushed"));
    assert_eq!(m.peer_id, types::PeerUser { user_id: 9 }.into());
    // The typed conversion the bytes went through.
    let typed: layer198::types::Message = Convert::convert(types::Message::new(
        1,
        types::PeerUser { user_id: 2 }.into(),
        0,
        "typed".into(),
    ))
    .unwrap();
    assert_eq!(typed.message, "typed");
    // A type that did not change is not converted.
    assert_eq!(layer198::downgrade_boxed("Config", b"x").unwrap(), None);
    // Garbage is an error.
    assert!(layer198::downgrade_boxed("Updates", &[1, 2, 3, 4]).is_err());
}

#[test]
fn garbage_from_a_198_client_is_an_error_not_a_panic() {
    let old = layer198::functions::channels::JoinChannel {
        channel: types::InputChannel {
            channel_id: 1,
            access_hash: 2,
        }
        .into(),
    }
    .to_bytes();
    for cut in 0..old.len() {
        let _ = layer198::upgrade_call(&old[..cut]);
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..2000 {
        let len = round % 64;
        let mut bytes = 0x983f9745u32.to_le_bytes().to_vec();
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(state as u8);
        }
        assert!(layer198::upgrade_call(&bytes).is_err());
        let _ = layer198::downgrade_result(0x983f9745, &bytes[4..]);
        let _ = layer198::downgrade_boxed("Updates", &bytes[4..]);
    }
}
