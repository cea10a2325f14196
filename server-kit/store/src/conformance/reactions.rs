//! Checks of [`ReactionStore`](crate::ReactionStore): one reaction per user and message,
//! replaced by a new one and taken back; both copies of a private message; channels; no pts.

use super::{copy, expect_not_found, new_users, no_extras, ok, own, send};
use crate::Store;
use crate::channels::Role;
use crate::reactions::{Reacted, Reaction, Reactions};

fn r(user_id: i64, emoji: &str, date: i32) -> Reaction {
    Reaction {
        user_id,
        emoji: emoji.into(),
        date,
    }
}

/// The reactions to one message of a box (empty when it has none).
fn of(store: &dyn Store, owner: i64, id: i32) -> Vec<Reaction> {
    let found = ok(store.reactions(owner, &[id]));
    assert!(found.len() <= 1, "one message asked, {found:?}");
    found.into_iter().next().map_or(Vec::new(), |m| {
        assert_eq!(m.id, id, "reactions of another message");
        m.reactions
    })
}

/// A reaction in a private chat lands on both copies; a new one replaces the old; taking it
/// back removes it from both; each side may react once; no pts moves; a message of another
/// chat, or none, is refused.
pub fn reactions_private(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let sent = send(store, a, b, "react to me", 1, 1000);
    let (in_a, in_b) = (own(&sent).id, copy(&sent).id);
    let other = own(&send(store, a, b, "no reactions", 2, 1001)).id;
    let (pa, pb) = (ok(store.pts(a)), ok(store.pts(b)));

    let done = ok(store.react(b, a, in_b, Some("👍"), 1100));
    assert_eq!(
        done,
        Reacted {
            copy: Some(in_a),
            changed: true
        }
    );
    assert_eq!(
        of(store, a, in_a),
        vec![r(b, "👍", 1100)],
        "the sender's copy"
    );
    assert_eq!(
        of(store, b, in_b),
        vec![r(b, "👍", 1100)],
        "the reactor's copy"
    );
    assert_eq!(of(store, a, other), Vec::new(), "another message");

    // The same again changes nothing; another emoji replaces it.
    assert!(!ok(store.react(b, a, in_b, Some("👍"), 1101)).changed);
    assert!(ok(store.react(b, a, in_b, Some("❤"), 1102)).changed);
    assert_eq!(of(store, a, in_a), vec![r(b, "❤", 1102)]);

    // The sender reacts too: two reactions, newest first, on both copies.
    assert_eq!(
        ok(store.react(a, b, in_a, Some("🔥"), 1103)),
        Reacted {
            copy: Some(in_b),
            changed: true
        }
    );
    let both = vec![r(a, "🔥", 1103), r(b, "❤", 1102)];
    assert_eq!(of(store, a, in_a), both);
    assert_eq!(of(store, b, in_b), both);
    assert_eq!(
        ok(store.reactions(a, &[other, in_a, 9999])),
        vec![Reactions {
            id: in_a,
            reactions: both
        }],
        "only messages with reactions, unknown ids ignored"
    );

    // Taken back: gone from both copies; again changes nothing.
    assert!(ok(store.react(b, a, in_b, None, 1104)).changed);
    assert_eq!(of(store, a, in_a), vec![r(a, "🔥", 1103)]);
    assert_eq!(of(store, b, in_b), vec![r(a, "🔥", 1103)]);
    assert!(!ok(store.react(b, a, in_b, None, 1105)).changed);

    assert_eq!(
        (ok(store.pts(a)), ok(store.pts(b))),
        (pa, pb),
        "reactions move no pts"
    );

    // Another chat's message, an unknown id, someone else's box: refused.
    let to_c = own(&send(store, a, c, "to c", 3, 1106)).id;
    expect_not_found(store.react(a, b, to_c, Some("👍"), 1107), "another chat");
    expect_not_found(store.react(a, b, 9999, Some("👍"), 1107), "an unknown id");
    expect_not_found(
        store.react(c, b, in_b, Some("👍"), 1107),
        "a chat the box does not have",
    );
    assert_eq!(of(store, c, in_b), Vec::new());
}

/// A chat with oneself has one copy; when the other side deleted its copy, the reaction stays
/// on the reactor's alone; a deleted message has no reactions left.
pub fn reactions_single_copy(store: &dyn Store) {
    let [a, b] = new_users(store);
    let saved = own(&send(store, a, a, "note", 1, 1000)).id;
    assert_eq!(
        ok(store.react(a, a, saved, Some("👌"), 1001)),
        Reacted {
            copy: None,
            changed: true
        }
    );
    assert_eq!(of(store, a, saved), vec![r(a, "👌", 1001)]);

    let sent = send(store, a, b, "deleted by b", 2, 1002);
    let (in_a, in_b) = (own(&sent).id, copy(&sent).id);
    ok(store.delete_messages(b, &[in_b], false, 1003));
    assert_eq!(
        ok(store.react(a, b, in_a, Some("😁"), 1004)),
        Reacted {
            copy: None,
            changed: true
        }
    );
    assert_eq!(of(store, a, in_a), vec![r(a, "😁", 1004)]);
    assert_eq!(of(store, b, in_b), Vec::new());
    expect_not_found(
        store.react(b, a, in_b, Some("😁"), 1005),
        "a deleted message",
    );
    // A message deleted takes its reactions with it.
    ok(store.delete_messages(a, &[in_a, saved], false, 1006));
    assert_eq!(ok(store.reactions(a, &[in_a, saved])), Vec::new());
}

/// In a channel each member has one reaction per post; a new one replaces the old; taking it
/// back removes it; channels and posts are apart; an unknown post is refused; no pts moves;
/// a deleted post has none left.
pub fn reactions_channel(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let ch = ok(store.create_channel(a, "group", "", false, true, 5, 1000)).id;
    let other = ok(store.create_channel(a, "other", "", false, true, 6, 1000)).id;
    ok(store.add_member(ch, b, Role::Member, a, 1001));
    ok(store.add_member(ch, c, Role::Member, a, 1001));
    let post = ok(store.post(ch, a, "hello", 1, 1002, no_extras()))
        .message
        .id;
    let second = ok(store.post(ch, a, "again", 2, 1003, no_extras()))
        .message
        .id;
    let elsewhere = ok(store.post(other, a, "there", 3, 1004, no_extras()))
        .message
        .id;
    let pts = ok(store.channel(ch)).map(|c| c.pts);

    assert!(ok(store.react_in_channel(ch, post, b, Some("👍"), 1100)));
    assert!(ok(store.react_in_channel(ch, post, c, Some("👍"), 1101)));
    assert!(ok(store.react_in_channel(ch, second, c, Some("🎉"), 1102)));
    assert!(!ok(store.react_in_channel(ch, post, c, Some("👍"), 1103)));
    assert_eq!(
        ok(store.channel_reactions(ch, &[second, post, 9999])),
        vec![
            Reactions {
                id: post,
                reactions: vec![r(c, "👍", 1101), r(b, "👍", 1100)]
            },
            Reactions {
                id: second,
                reactions: vec![r(c, "🎉", 1102)]
            },
        ]
    );
    assert!(ok(store.react_in_channel(ch, post, b, Some("😢"), 1104)));
    assert!(ok(store.react_in_channel(ch, post, c, None, 1105)));
    assert!(!ok(store.react_in_channel(ch, post, c, None, 1106)));
    assert_eq!(
        ok(store.channel_reactions(ch, &[post])),
        vec![Reactions {
            id: post,
            reactions: vec![r(b, "😢", 1104)]
        }]
    );
    assert_eq!(
        ok(store.channel_reactions(other, &[elsewhere, post])),
        Vec::new(),
        "another channel's posts"
    );
    expect_not_found(
        store.react_in_channel(ch, 9999, b, Some("👍"), 1107),
        "an unknown post",
    );
    expect_not_found(
        store.react_in_channel(other, second, b, Some("👍"), 1107),
        "a post of another channel",
    );
    assert_eq!(ok(store.channel(ch)).map(|c| c.pts), pts, "no pts moves");
    ok(store.delete_channel_messages(ch, &[post], 1108));
    assert_eq!(
        ok(store.channel_reactions(ch, &[post])),
        Vec::new(),
        "a deleted post has none left"
    );
}

/// Reactions of a box are the box's own: the same ids in another box, or the channel's
/// numbering, are apart; a user's text is kept as given (any characters).
pub fn reactions_isolation(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let ab = send(store, a, b, "ab", 1, 1000);
    let in_a = own(&ab).id;
    ok(store.react(a, b, in_a, Some("a\u{0}b ❤\u{fe0f}"), 1001));
    assert_eq!(of(store, a, in_a), vec![r(a, "a\u{0}b ❤\u{fe0f}", 1001)]);
    assert_eq!(of(store, c, in_a), Vec::new(), "the same id in another box");
    let ch = ok(store.create_channel(c, "ch", "", true, false, 5, 1000)).id;
    assert_eq!(ok(store.channel_reactions(ch, &[in_a])), Vec::new());
    assert_eq!(ok(store.reactions(a, &[])), Vec::new(), "no ids");
    assert_eq!(ok(store.channel_reactions(ch, &[])), Vec::new());
}
