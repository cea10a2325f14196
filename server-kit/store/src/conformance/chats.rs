//! Checks of [`ChatStore`](crate::ChatStore): a basic group's messages are copied into every
//! member's box (ids and pts of each box), replies name each box's own copy, service messages
//! for every member change, idempotent sends, and what a member who left or a migrated chat
//! no longer takes.

use super::{expect_not_found, expect_taken, new_users, no_extras, ok, query};
use crate::chats::{ChatSent, MAX_MEMBERS, ServiceAction, chat_peer};
use crate::{Change, Extras, Message, Store};

/// Each copy's owner and message, sender's first.
fn copies(sent: &ChatSent) -> Vec<Message> {
    sent.clone()
        .all()
        .into_iter()
        .map(|c| c.message.expect("a chat entry names its message"))
        .collect()
}

/// The copy in `owner`'s box.
#[track_caller]
fn copy_in(sent: &ChatSent, owner: i64) -> Message {
    copies(sent)
        .into_iter()
        .find(|m| m.owner == owner)
        .unwrap_or_else(|| panic!("no copy for {owner} in {sent:?}"))
}

/// Creating a chat: the creator and members (a duplicate and the creator named again count
/// once) each get the `ChatCreate` service message in their box as a new entry; the chat has
/// the members, the title and version 1; a message goes to every box with the box's next id,
/// `out` only for the sender, idempotent on the sender's random_id; history and dialogs list
/// it under the chat's peer; an unknown member is refused with nothing written.
pub fn chat_create_and_send(store: &dyn Store) {
    let [a, b, c, d] = new_users(store);
    // Ids move in the boxes before the chat: b has one message already.
    ok(store.send_message(a, b, "before", 1, 10));
    let (chat, created) = ok(store.create_chat(a, "Team", &[b, c, b, a], 20));
    assert_eq!(
        (
            chat.title.as_str(),
            chat.creator,
            chat.members,
            chat.version
        ),
        ("Team", a, 3, 1)
    );
    assert_eq!(chat.migrated_to, None);
    assert!(!created.duplicate);
    let owners: Vec<i64> = copies(&created).iter().map(|m| m.owner).collect();
    assert_eq!(
        owners,
        [a, b, c],
        "the creator's copy first, then the members'"
    );
    for m in copies(&created) {
        assert_eq!(m.peer, chat_peer(chat.id));
        assert_eq!(m.from_id, a);
        assert_eq!(m.out, m.owner == a, "out flag of {m:?}");
        assert_eq!(
            m.action,
            Some(ServiceAction::ChatCreate {
                title: "Team".into(),
                users: vec![a, b, c],
            })
        );
    }
    // a and b had one message each (a's sent copy and b's received one): the next id is 2.
    assert_eq!(copy_in(&created, a).id, 2);
    assert_eq!(copy_in(&created, b).id, 2);
    assert_eq!(copy_in(&created, c).id, 1);
    for committed in created.clone().all() {
        assert_eq!(
            committed.entry.change,
            Change::NewMessage {
                id: committed.message.as_ref().unwrap().id
            }
        );
        assert_eq!(committed.entry.pts, ok(store.pts(committed.user_id)));
    }
    let members: Vec<i64> = ok(store.chat_members(chat.id))
        .iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members, [a, b, c]);
    assert_eq!(ok(store.chat(chat.id)), Some(chat.clone()));
    assert_eq!(
        ok(store.chats(&[chat.id, chat.id, 999_999])),
        vec![chat.clone()]
    );

    let sent = ok(store.send_to_chat(chat.id, b, "hello all", 77, 30, no_extras()));
    assert!(!sent.duplicate);
    assert_eq!(sent.own.user_id, b);
    assert_eq!(sent.others.len(), 2);
    for m in copies(&sent) {
        assert_eq!((m.text.as_str(), m.from_id, m.date), ("hello all", b, 30));
        assert_eq!(m.out, m.owner == b);
        assert_eq!(m.random_id, (m.owner == b).then_some(77));
        assert_eq!(m.action, None);
    }
    let again = ok(store.send_to_chat(chat.id, b, "hello all", 77, 31, no_extras()));
    assert!(again.duplicate, "the same random_id sent twice");
    assert_eq!(again.own.message, sent.own.message);
    assert!(again.others.is_empty());
    assert_eq!(
        ok(store.pts(c)),
        copy_in(&sent, c).id,
        "c's box: two entries"
    );

    let (history, count) = ok(store.history(c, chat_peer(chat.id), query(10)));
    assert_eq!(count, 2);
    assert_eq!(history[0].text, "hello all");
    assert!(history[1].action.is_some());
    // Search finds the message, not the service message that names the same word.
    let (found, _) = ok(store.search(
        c,
        Some(chat_peer(chat.id)),
        &crate::SearchQuery::text("team hello", 10),
    ));
    assert!(found.is_empty(), "no message has both words: {found:?}");
    let (found, _) = ok(store.search(c, None, &crate::SearchQuery::text("team", 10)));
    assert!(found.is_empty(), "the title is no message text: {found:?}");
    let (found, _) = ok(store.search(c, None, &crate::SearchQuery::text("hello", 10)));
    assert_eq!(found, vec![copy_in(&sent, c)]);
    let (dialogs, _) = ok(store.dialogs(c, None, 10));
    assert_eq!(dialogs.len(), 1);
    assert_eq!(dialogs[0].peer, chat_peer(chat.id));
    assert_eq!(dialogs[0].top_message, copy_in(&sent, c));
    let (changes, messages) = ok(store.changes_since(c, 0, 10));
    assert_eq!(changes.len(), 2);
    assert!(messages.contains(&copy_in(&sent, c)));
    assert!(messages.contains(&copy_in(&created, c)));

    // d is no member: refused, nothing written.
    expect_not_found(
        store.send_to_chat(chat.id, d, "intruder", 1, 40, no_extras()),
        "send_to_chat by a non-member",
    );
    expect_not_found(
        store.send_to_chat(999_999, a, "nowhere", 2, 40, no_extras()),
        "send_to_chat to no chat",
    );
    expect_not_found(
        store.create_chat(a, "Ghosts", &[b, 999_999], 40),
        "create_chat with an unknown user",
    );
    assert_eq!(ok(store.pts(d)), 0);
    let too_many: Vec<i64> = (0..MAX_MEMBERS as i64).map(|i| 200_000 + i).collect();
    expect_taken(
        store.create_chat(a, "Crowd", &too_many, 40),
        "create_chat beyond the member limit",
    );
}

/// A reply in a chat names, in each box, that box's copy of the replied message (whoever
/// sent it); an id that is no message of the chat is dropped.
pub fn chat_replies(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    ok(store.send_message(b, c, "private", 1, 5));
    let (chat, _) = ok(store.create_chat(a, "Replies", &[b, c], 10));
    let first = ok(store.send_to_chat(chat.id, b, "question", 2, 11, no_extras()));
    let question_in_a = copy_in(&first, a).id;
    let reply = Extras {
        reply_to: Some(question_in_a),
        ..no_extras()
    };
    let answer = ok(store.send_to_chat(chat.id, a, "answer", 3, 12, reply));
    for owner in [a, b, c] {
        assert_eq!(
            copy_in(&answer, owner).reply_to,
            Some(copy_in(&first, owner).id),
            "the reply in {owner}'s box"
        );
    }
    // c's id 1 is the private message from b, not one of this chat: dropped.
    let private_in_c = 1;
    let stray = Extras {
        reply_to: Some(private_in_c),
        ..no_extras()
    };
    let sent = ok(store.send_to_chat(chat.id, c, "stray", 4, 13, stray));
    assert!(copies(&sent).iter().all(|m| m.reply_to.is_none()));
}

/// Adding members writes `AddUsers` to every member, the new ones included (who then get the
/// chat's messages); adding a member again writes nothing; removing writes `DeleteUser` to
/// every member, the removed one included, after which they neither get nor send messages; a
/// new title writes `EditTitle` (the same title: nothing); each member change moves the
/// version; a migrated chat takes nothing more.
pub fn chat_member_changes(store: &dyn Store) {
    let [a, b, c, d] = new_users(store);
    let (chat, _) = ok(store.create_chat(a, "Members", &[b], 10));
    let added = ok(store.add_chat_members(chat.id, b, &[c, d, c], 11)).expect("new members");
    let owners: Vec<i64> = copies(&added).iter().map(|m| m.owner).collect();
    assert_eq!(owners, [b, a, c, d]);
    for m in copies(&added) {
        assert_eq!(
            m.action,
            Some(ServiceAction::AddUsers { users: vec![c, d] })
        );
        assert_eq!(m.from_id, b);
    }
    assert_eq!(ok(store.add_chat_members(chat.id, a, &[c], 12)), None);
    let grown = ok(store.chat(chat.id)).unwrap();
    assert_eq!((grown.members, grown.version), (4, 2));
    expect_not_found(
        store.add_chat_members(chat.id, a, &[999_999], 12),
        "adding an unknown user",
    );

    let removed = ok(store.remove_chat_member(chat.id, a, c, 13)).expect("c was a member");
    let owners: Vec<i64> = copies(&removed).iter().map(|m| m.owner).collect();
    assert_eq!(owners, [a, b, c, d]);
    assert!(
        copies(&removed)
            .iter()
            .all(|m| m.action == Some(ServiceAction::DeleteUser { user: c }))
    );
    assert_eq!(ok(store.remove_chat_member(chat.id, a, c, 14)), None);
    let c_pts = ok(store.pts(c));
    let after = ok(store.send_to_chat(chat.id, d, "without c", 5, 15, no_extras()));
    assert!(copies(&after).iter().all(|m| m.owner != c));
    assert_eq!(ok(store.pts(c)), c_pts, "nothing more in c's box");
    expect_not_found(
        store.send_to_chat(chat.id, c, "let me back", 6, 16, no_extras()),
        "send_to_chat by a removed member",
    );
    // Leaving: by oneself.
    ok(store.remove_chat_member(chat.id, d, d, 17)).expect("d leaves");
    let shrunk = ok(store.chat(chat.id)).unwrap();
    assert_eq!((shrunk.members, shrunk.version), (2, 4));

    let renamed = ok(store.edit_chat_title(chat.id, b, "Renamed", 18)).expect("a new title");
    assert_eq!(copies(&renamed).len(), 2);
    assert_eq!(
        copy_in(&renamed, a).action,
        Some(ServiceAction::EditTitle {
            title: "Renamed".into()
        })
    );
    assert_eq!(ok(store.chat(chat.id)).unwrap().title, "Renamed");
    assert_eq!(ok(store.edit_chat_title(chat.id, b, "Renamed", 19)), None);
    expect_not_found(
        store.edit_chat_title(chat.id, c, "By a stranger", 19),
        "edit_chat_title by a non-member",
    );

    let migrated = ok(store.migrate_chat(chat.id, a, 1_000_000, 20));
    assert_eq!(
        copy_in(&migrated, b).action,
        Some(ServiceAction::MigrateTo { channel: 1_000_000 })
    );
    assert_eq!(
        ok(store.chat(chat.id)).unwrap().migrated_to,
        Some(1_000_000)
    );
    expect_not_found(
        store.send_to_chat(chat.id, a, "after migration", 7, 21, no_extras()),
        "send_to_chat after migration",
    );
    expect_not_found(
        store.add_chat_members(chat.id, a, &[d], 21),
        "add_chat_members after migration",
    );
}

/// Editing one's chat message edits every member's copy (an entry in each box); deleting it
/// with `revoke` deletes every copy, without only the sender's; another member's message is
/// not revoked from the other boxes.
pub fn chat_edit_and_delete(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let (chat, _) = ok(store.create_chat(a, "Edits", &[b, c], 10));
    let sent = ok(store.send_to_chat(chat.id, a, "first", 1, 11, no_extras()));
    let edited = ok(store.edit_message(a, copy_in(&sent, a).id, "first!", 12));
    let mut owners: Vec<i64> = edited.iter().map(|c| c.user_id).collect();
    owners.sort_unstable();
    assert_eq!(owners, [a, b, c]);
    for committed in &edited {
        let m = committed.message.as_ref().expect("the edited copy");
        assert_eq!((m.text.as_str(), m.edit_date), ("first!", Some(12)));
        assert_eq!(m.id, copy_in(&sent, committed.user_id).id);
        assert_eq!(committed.entry.change, Change::EditMessage { id: m.id });
    }
    // b's message: a may delete its copy, not b's or c's.
    let from_b = ok(store.send_to_chat(chat.id, b, "from b", 2, 13, no_extras()));
    let deleted = ok(store.delete_messages(a, &[copy_in(&from_b, a).id], true, 14));
    assert_eq!(deleted.len(), 1, "only a's box: {deleted:?}");
    assert_eq!(
        ok(store.messages(c, &[copy_in(&from_b, c).id])).len(),
        1,
        "c keeps b's message"
    );
    // a's own message, revoked: gone from every box.
    let revoked = ok(store.delete_messages(a, &[copy_in(&sent, a).id], true, 15));
    let mut owners: Vec<i64> = revoked.iter().map(|c| c.user_id).collect();
    owners.sort_unstable();
    assert_eq!(owners, [a, b, c]);
    for owner in [a, b, c] {
        assert!(
            ok(store.messages(owner, &[copy_in(&sent, owner).id])).is_empty(),
            "{owner} still has the revoked message"
        );
    }
    let (dialogs, _) = ok(store.dialogs(b, None, 10));
    assert_eq!(
        dialogs[0].top_message.id,
        copy_in(&from_b, b).id,
        "b's dialog top after the revoke"
    );
}

/// Reading a chat marks the reader's inbox and tells each sender of what was read, in their
/// own box, how far their messages are read (their own ids).
pub fn chat_read_history(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let (chat, _) = ok(store.create_chat(a, "Reads", &[b, c], 10));
    let peer = chat_peer(chat.id);
    let from_a = ok(store.send_to_chat(chat.id, a, "from a", 1, 11, no_extras()));
    let from_b = ok(store.send_to_chat(chat.id, b, "from b", 2, 12, no_extras()));
    let newest_in_c = copy_in(&from_b, c).id;
    let committed = ok(store.read_history(c, peer, newest_in_c, 13));
    let mut owners: Vec<i64> = committed.iter().map(|x| x.user_id).collect();
    owners.sort_unstable();
    assert_eq!(
        owners,
        [a, b, c],
        "the reader and both senders: {committed:?}"
    );
    for x in &committed {
        let expected = if x.user_id == c {
            Change::ReadInbox {
                peer,
                max_id: newest_in_c,
            }
        } else {
            let sent = if x.user_id == a { &from_a } else { &from_b };
            Change::ReadOutbox {
                peer,
                max_id: copy_in(sent, x.user_id).id,
            }
        };
        assert_eq!(x.entry.change, expected, "entry of {}", x.user_id);
    }
    let (dialogs, _) = ok(store.dialogs(b, None, 10));
    assert_eq!(dialogs[0].read_outbox_max_id, copy_in(&from_b, b).id);
    // Read again: nothing new.
    assert!(ok(store.read_history(c, peer, newest_in_c, 14)).is_empty());
}

/// Pins: a member pins a message by their copy's id and every member's copy is pinned (one
/// `Pin` entry in each box), then the `PinMessage` service message replies to each box's
/// copy; pinning it again changes nothing but writes a new notice; unpinning every message
/// (by another member) unpins every copy with no notice; non-members and unknown ids are
/// refused with nothing written.
pub fn chat_pins(store: &dyn Store) {
    let [a, b, c, outsider] = new_users(store);
    let (chat, _) = ok(store.create_chat(a, "Pins", &[b, c], 10));
    let peer = chat_peer(chat.id);
    let sent = ok(store.send_to_chat(chat.id, a, "pin me", 1, 11, no_extras()));
    let in_b = copy_in(&sent, b).id;
    let committed = ok(store.pin_chat_message(chat.id, b, Some(in_b), true, 12));
    for owner in [a, b, c] {
        let copy = copy_in(&sent, owner).id;
        assert_eq!(ok(store.pinned(owner, peer)), vec![copy], "{owner}'s pins");
        let mine: Vec<_> = committed.iter().filter(|e| e.user_id == owner).collect();
        assert!(
            matches!(&mine[0].entry.change, Change::Pin { ids, pinned: true, .. } if ids == &[copy]),
            "{owner}'s pin entry: {mine:?}"
        );
        let notice = mine[1].message.as_ref().expect("the notice's message");
        assert_eq!(notice.action, Some(ServiceAction::PinMessage));
        assert_eq!(
            (notice.reply_to, notice.from_id, notice.out),
            (Some(copy), b, owner == b)
        );
    }
    let again = ok(store.pin_chat_message(chat.id, a, Some(copy_in(&sent, a).id), true, 13));
    assert!(
        again
            .iter()
            .all(|e| !matches!(e.entry.change, Change::Pin { .. })),
        "nothing to pin again: {again:?}"
    );
    expect_not_found(
        store.pin_chat_message(chat.id, outsider, Some(in_b), true, 14),
        "pin by a non-member",
    );
    expect_not_found(
        store.pin_chat_message(chat.id, b, Some(9_999), true, 14),
        "pin of an unknown id",
    );
    let unpinned = ok(store.pin_chat_message(chat.id, c, None, false, 15));
    assert_eq!(unpinned.len(), 3, "one unpin entry per box: {unpinned:?}");
    assert!(unpinned.iter().all(|e| e.message.is_none()), "no notice");
    for owner in [a, b, c] {
        assert!(ok(store.pinned(owner, peer)).is_empty(), "{owner} unpinned");
    }
}
