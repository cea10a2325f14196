//! Checks of [`SecretChatStore`](crate::SecretChatStore): the chat's life and the qts box.

use super::{expect_taken, new_users, ok};
use crate::secret_chats::{EncryptedFile, EncryptedMessage, SecretChat, SecretChatState};
use crate::{Store, StoreError};

const A_KEY: i64 = 0x0A0A;
const B_KEY: i64 = 0x0B0B;
const B_OTHER_KEY: i64 = 0x0B0C;

fn requested(id: i32, admin: i64, participant: i64, random_id: i32) -> SecretChat {
    SecretChat {
        id,
        access_hash: 0x5EC2E7,
        date: 100,
        admin,
        admin_key: A_KEY,
        participant,
        participant_key: None,
        random_id,
        g_a: vec![0xA5; 256],
        g_b: Vec::new(),
        key_fingerprint: 0,
        state: SecretChatState::Requested,
        updated: 100,
    }
}

fn message(chat_id: i32, random_id: i64, date: i32) -> EncryptedMessage {
    EncryptedMessage {
        random_id,
        chat_id,
        date,
        bytes: format!("opaque-{random_id}").into_bytes(),
        service: false,
        file: None,
    }
}

fn expect_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, call: &str) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("{call}: expected StoreError::NotFound, got {other:?}"),
    }
}

/// A secret chat's life: requested (idempotent on the requester and random_id; a taken id is
/// `Taken`), seen by the requesting key and every key of the participant while it waits;
/// accepted once (a second accept finds nothing), after which only the two bound keys see
/// it; discarded once, forgetting the DH values and dropping what was queued for it.
pub fn secret_chat_lifecycle(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    assert_eq!(ok(store.secret_chat(7)), None);
    let chat = requested(7, a, b, 41);
    assert_eq!(ok(store.create_secret_chat(&chat)), chat);
    // The same request again (another id drawn for it) is the first chat.
    assert_eq!(ok(store.create_secret_chat(&requested(8, a, b, 41))), chat);
    assert_eq!(ok(store.secret_chat(8)), None);
    expect_taken(
        store.create_secret_chat(&requested(7, c, b, 41)),
        "create_secret_chat with a taken id",
    );
    assert_eq!(ok(store.secret_chat(7)), Some(chat.clone()));
    // While it waits: the requesting key and any key of the participant.
    let ids = |user, key, since| -> Vec<i32> {
        ok(store.secret_chats_changed(user, key, since))
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(ids(a, A_KEY, 0), [7]);
    assert_eq!(ids(a, B_KEY, 0), Vec::<i32>::new());
    assert_eq!(ids(b, B_KEY, 0), [7]);
    assert_eq!(ids(b, B_OTHER_KEY, 100), [7]);
    assert_eq!(ids(b, B_KEY, 101), Vec::<i32>::new());
    assert_eq!(ids(c, A_KEY, 0), Vec::<i32>::new());
    // Nothing can be queued before it is accepted.
    expect_not_found(
        store.queue_encrypted(B_KEY, &message(7, 1, 100)),
        "queue_encrypted to a requested chat",
    );
    let accepted = ok(store.accept_secret_chat(7, B_KEY, &[0xB6; 256], -99, 110))
        .expect("the requested chat is accepted");
    assert_eq!(accepted.state, SecretChatState::Accepted);
    assert_eq!(accepted.participant_key, Some(B_KEY));
    assert_eq!(accepted.g_b, vec![0xB6; 256]);
    assert_eq!(accepted.g_a, chat.g_a);
    assert_eq!((accepted.key_fingerprint, accepted.updated), (-99, 110));
    assert_eq!(ok(store.secret_chat(7)), Some(accepted.clone()));
    assert_eq!(
        ok(store.accept_secret_chat(7, B_OTHER_KEY, &[1; 256], 5, 111)),
        None
    );
    assert_eq!(ok(store.secret_chat(7)), Some(accepted.clone()));
    assert_eq!(ids(b, B_KEY, 110), [7]);
    assert_eq!(ids(b, B_OTHER_KEY, 0), Vec::<i32>::new());
    assert_eq!(ids(a, A_KEY, 110), [7]);
    // Queued on both sides, then discarded: the queues empty, the DH values go.
    ok(store.queue_encrypted(B_KEY, &message(7, 1, 112)));
    ok(store.queue_encrypted(A_KEY, &message(7, 2, 112)));
    let discarded = ok(store.discard_secret_chat(7, true, 120)).expect("discarded");
    assert_eq!(
        discarded.state,
        SecretChatState::Discarded {
            history_deleted: true
        }
    );
    assert!(discarded.g_a.is_empty() && discarded.g_b.is_empty());
    assert_eq!(
        (
            discarded.participant_key,
            discarded.admin_key,
            discarded.updated
        ),
        (Some(B_KEY), A_KEY, 120)
    );
    assert_eq!(ok(store.discard_secret_chat(7, false, 121)), None);
    assert_eq!(ok(store.discard_secret_chat(99, false, 121)), None);
    assert_eq!(ok(store.secret_chat(7)), Some(discarded));
    assert!(ok(store.queued_encrypted(B_KEY, 0, 10)).is_empty());
    assert!(ok(store.queued_encrypted(A_KEY, 0, 10)).is_empty());
    // The boxes keep their counters.
    assert_eq!((ok(store.qts(B_KEY)), ok(store.qts(A_KEY))), (1, 1));
    expect_not_found(
        store.queue_encrypted(B_KEY, &message(7, 3, 122)),
        "queue_encrypted to a discarded chat",
    );
    assert_eq!(
        ok(store.accept_secret_chat(7, B_KEY, &[1; 256], 5, 123)),
        None
    );
    // A request discarded before acceptance reaches every key of the participant.
    ok(store.create_secret_chat(&requested(9, a, c, 42)));
    ok(store.discard_secret_chat(9, false, 130));
    assert_eq!(ids(c, B_OTHER_KEY, 130), [9]);
}

/// The qts box: one sequence per auth key, from 1, separate from pts and from other keys;
/// entries come back after the given qts in order with their files, at most `limit`; a
/// repeated random_id while queued is the same entry; acknowledging deletes the entries up
/// to `max_qts` (returning their random_ids) and the counter never goes back.
pub fn qts_queue(store: &dyn Store) {
    let [a, b] = new_users(store);
    ok(store.create_secret_chat(&requested(11, a, b, 1)));
    ok(store.accept_secret_chat(11, B_KEY, &[2; 256], 3, 101));
    assert_eq!(ok(store.qts(B_KEY)), 0);
    assert!(ok(store.queued_encrypted(B_KEY, 0, 10)).is_empty());
    let file = EncryptedFile {
        id: 555,
        access_hash: -7,
        size: 4096,
        dc_id: 2,
        key_fingerprint: -123_456,
        content: "c0ffee".into(),
        date: 102,
    };
    assert_eq!(ok(store.encrypted_file(555)), None);
    ok(store.insert_encrypted_file(&file));
    assert_eq!(ok(store.encrypted_file(555)), Some(file.clone()));
    let mut sent = Vec::new();
    for i in 0..5i64 {
        let mut m = message(11, 1000 + i, 110 + i as i32);
        m.service = i == 1;
        if i == 2 {
            m.file = Some(file.clone());
        }
        let (queued, fresh) = ok(store.queue_encrypted(B_KEY, &m));
        assert!(fresh);
        assert_eq!(queued.qts, i as i32 + 1);
        assert_eq!(queued.message, m);
        sent.push(m);
    }
    // The other key's box and the sender's are untouched; pts is a different sequence.
    assert_eq!(ok(store.qts(A_KEY)), 0);
    assert_eq!(ok(store.qts(B_OTHER_KEY)), 0);
    assert_eq!(ok(store.pts(b)), 0);
    // The same random_id again: the first entry, no new qts.
    let (again, fresh) = ok(store.queue_encrypted(B_KEY, &message(11, 1002, 999)));
    assert!(!fresh);
    assert_eq!((again.qts, again.message.clone()), (3, sent[2].clone()));
    assert_eq!(ok(store.qts(B_KEY)), 5);
    let all = ok(store.queued_encrypted(B_KEY, 0, 100));
    assert_eq!(
        all.iter().map(|q| q.qts).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        all.iter().map(|q| q.message.clone()).collect::<Vec<_>>(),
        sent
    );
    let page = ok(store.queued_encrypted(B_KEY, 1, 2));
    assert_eq!(page.iter().map(|q| q.qts).collect::<Vec<_>>(), [2, 3]);
    assert!(ok(store.queued_encrypted(B_KEY, 5, 10)).is_empty());
    // Acknowledged: gone for good, in qts order; a second ack finds nothing.
    assert_eq!(ok(store.ack_encrypted(B_KEY, 3)), [1000, 1001, 1002]);
    assert_eq!(ok(store.ack_encrypted(B_KEY, 3)), Vec::<i64>::new());
    assert_eq!(ok(store.ack_encrypted(A_KEY, 100)), Vec::<i64>::new());
    let left = ok(store.queued_encrypted(B_KEY, 0, 100));
    assert_eq!(left.iter().map(|q| q.qts).collect::<Vec<_>>(), [4, 5]);
    // The counter stays: the next entry is 6, even after everything is acknowledged.
    assert_eq!(ok(store.ack_encrypted(B_KEY, i32::MAX)), [1003, 1004]);
    assert_eq!(ok(store.qts(B_KEY)), 5);
    // An acknowledged random_id is a new entry when sent again.
    let (next, fresh) = ok(store.queue_encrypted(B_KEY, &message(11, 1000, 130)));
    assert!(fresh);
    assert_eq!(next.qts, 6);
    // The requester's key has its own box.
    let (theirs, _) = ok(store.queue_encrypted(A_KEY, &message(11, 1000, 131)));
    assert_eq!(theirs.qts, 1);
    assert_eq!(ok(store.queued_encrypted(B_KEY, 0, 10)).len(), 1);
}

/// A device signed out: the chats bound to its key (requested by it, or accepted by it) are
/// discarded, their queues on both sides dropped, and its qts box deleted; chats of other
/// keys, discarded ones, and requests still waiting for the participant stay as they are.
pub fn secret_device_end(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    // 21: A's key with B's key, accepted; 22: A's key asking C, waiting; 23: B's key asking
    // C (A's key not in it); 24: C asking B, waiting for any of B's keys.
    ok(store.create_secret_chat(&requested(21, a, b, 1)));
    ok(store.accept_secret_chat(21, B_KEY, &[2; 256], 3, 101));
    ok(store.create_secret_chat(&requested(22, a, c, 2)));
    let mut other = requested(23, b, c, 3);
    other.admin_key = B_KEY;
    ok(store.create_secret_chat(&other));
    let mut waiting = requested(24, c, b, 4);
    waiting.admin_key = 0xC;
    ok(store.create_secret_chat(&waiting));
    ok(store.queue_encrypted(B_KEY, &message(21, 1, 102)));
    ok(store.queue_encrypted(A_KEY, &message(21, 2, 102)));
    let ended = ok(store.end_secret_device(A_KEY, 150));
    assert_eq!(ended.iter().map(|c| c.id).collect::<Vec<_>>(), [21, 22]);
    for chat in &ended {
        assert_eq!(
            chat.state,
            SecretChatState::Discarded {
                history_deleted: false
            }
        );
        assert!(chat.g_a.is_empty() && chat.g_b.is_empty());
        assert_eq!(chat.updated, 150);
    }
    assert!(ok(store.queued_encrypted(B_KEY, 0, 10)).is_empty());
    assert!(ok(store.queued_encrypted(A_KEY, 0, 10)).is_empty());
    assert_eq!(ok(store.qts(A_KEY)), 0);
    assert_eq!(ok(store.qts(B_KEY)), 1);
    let state = |id| ok(store.secret_chat(id)).expect("the chat").state;
    assert_eq!(state(23), SecretChatState::Requested);
    assert_eq!(state(24), SecretChatState::Requested);
    assert!(ok(store.end_secret_device(A_KEY, 160)).is_empty());
    // B's key also ends 23 (its request); 24 waits for any key of B and stays.
    let ended = ok(store.end_secret_device(B_KEY, 170));
    assert_eq!(ended.iter().map(|c| c.id).collect::<Vec<_>>(), [23]);
    assert_eq!(state(24), SecretChatState::Requested);
    assert_eq!(ok(store.qts(B_KEY)), 0);
}
