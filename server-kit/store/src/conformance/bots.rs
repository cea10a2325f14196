//! Checks of what bots add: messages' entities and keyboards ([`Extras`]), callback queries
//! ([`CallbackStore`](crate::CallbackStore)) and bot commands.

use super::{entry, expect_not_found, new_users, ok};
use crate::{BotCommand, CallbackAnswer, CallbackQuery, Change, Extras, MessageEdit, Store};

/// Entities and a keyboard sent with a message stay on both copies (read by id, in history
/// and in the log); an edit of the keyboard alone keeps the text and its entities; an edit
/// of the text without a keyboard drops the keyboard; plain messages have neither.
pub fn rich_messages(store: &dyn Store) {
    let [a, b] = new_users(store);
    let extras = Extras {
        entities: Some(vec![1, 2, 3]),
        reply_markup: Some(vec![9, 0, 9]),
        ..Extras::default()
    };
    let sent = ok(store.send(a, b, "bold", 7, 100, extras.clone()));
    let own = sent.own.message.clone().expect("own copy");
    let copy = sent.peer.clone().and_then(|p| p.message).expect("copy");
    for m in [&own, &copy] {
        assert_eq!(m.entities, extras.entities, "{m:?}");
        assert_eq!(m.reply_markup, extras.reply_markup, "{m:?}");
    }
    let read = ok(store.messages(b, &[copy.id])).pop().expect("b's copy");
    assert_eq!(read, copy);
    let (_, logged) = ok(store.changes_since(b, 0, 10));
    assert_eq!(logged, vec![copy.clone()]);
    let again = ok(store.send(a, b, "bold", 7, 100, Extras::default()));
    assert_eq!(
        again.own.message,
        Some(own.clone()),
        "a repeat answers the first"
    );
    let plain = ok(store.send_message(a, b, "plain", 8, 101));
    let plain = plain.own.message.expect("plain");
    assert_eq!((plain.entities, plain.reply_markup), (None, None));

    let keyboard_only = MessageEdit {
        text: None,
        entities: None,
        reply_markup: Some(vec![5]),
    };
    let r = ok(store.edit(a, own.id, &keyboard_only, 110));
    assert_eq!(r.len(), 2, "{r:?}");
    for m in [
        ok(store.messages(a, &[own.id])).pop().expect("a's"),
        ok(store.messages(b, &[copy.id])).pop().expect("b's"),
    ] {
        assert_eq!(m.text, "bold");
        assert_eq!(m.entities, Some(vec![1, 2, 3]));
        assert_eq!(m.reply_markup, Some(vec![5]));
        assert_eq!(m.edit_date, Some(110));
    }
    ok(store.edit_message(a, own.id, "plain now", 120));
    let m = ok(store.messages(b, &[copy.id])).pop().expect("b's");
    assert_eq!(
        (m.text.as_str(), m.entities, m.reply_markup),
        ("plain now", None, None)
    );
}

/// A callback query is stored and takes the next pts of the bot's box (the user's box does
/// not move); it is answered once, by its bot only.
pub fn callback_queries(store: &dyn Store) {
    let [user] = new_users(store);
    let bot = ok(store.create_bot("ButtonsBot", "Buttons", 5, &[3; 32])).id;
    let sent = ok(store.send(bot, user, "press", 1, 100, Extras::default()));
    let (bot_id, user_id) = (
        sent.own.message.clone().expect("own").id,
        sent.peer.clone().and_then(|p| p.message).expect("copy").id,
    );
    ok(store.send(user, user, "note", 2, 100, Extras::default()));
    assert_eq!(ok(store.peer_copy(user, user_id)), Some(bot_id));
    assert_eq!(ok(store.peer_copy(bot, bot_id)), Some(user_id));
    assert_eq!(
        ok(store.peer_copy(user, user_id + 1)),
        None,
        "a note to oneself"
    );
    assert_eq!(ok(store.peer_copy(user, 999)), None);
    let (bot_pts, user_pts) = (ok(store.pts(bot)), ok(store.pts(user)));
    let query = CallbackQuery {
        id: -77,
        bot,
        user,
        msg_id: sent.own.message.expect("own").id,
        peer: user,
        data: vec![0, 255, b'x'],
        date: 200,
        answer: None,
    };
    let committed = ok(store.add_callback_query(&query));
    assert_eq!(committed.user_id, bot);
    assert_eq!(
        committed.entry,
        entry(
            bot_pts + 1,
            1,
            200,
            Change::BotCallbackQuery { query_id: -77 }
        )
    );
    assert_eq!(
        (ok(store.pts(bot)), ok(store.pts(user))),
        (bot_pts + 1, user_pts)
    );
    let (log, _) = ok(store.changes_since(bot, bot_pts, 10));
    assert_eq!(log, vec![committed.entry]);
    assert_eq!(ok(store.callback_query(-77)), Some(query.clone()));
    assert_eq!(ok(store.callback_query(-78)), None);

    let answer = CallbackAnswer {
        message: "done é".into(),
        alert: true,
        url: "https://example.com/x".into(),
        cache_time: 5,
    };
    assert!(
        !ok(store.answer_callback_query(-77, user, &answer)),
        "not the bot"
    );
    assert!(
        !ok(store.answer_callback_query(-78, bot, &answer)),
        "no query"
    );
    assert!(ok(store.answer_callback_query(-77, bot, &answer)));
    assert!(
        !ok(store.answer_callback_query(-77, bot, &CallbackAnswer::default())),
        "answered once"
    );
    let stored = ok(store.callback_query(-77)).expect("query");
    assert_eq!(stored.answer, Some(answer));
}

/// A bot's commands are replaced whole, read back in order, and each change raises its
/// `bot_info_version`; a person has none and cannot get any.
pub fn bot_commands(store: &dyn Store) {
    let [person] = new_users(store);
    let bot = ok(store.create_bot("MenuBot", "Menu", 6, &[4; 32]));
    assert_eq!(ok(store.bot_commands(bot.id)), Vec::new());
    let first = bot.bot_info_version.expect("a bot");
    let commands = |list: &[(&str, &str)]| -> Vec<BotCommand> {
        list.iter()
            .map(|(c, d)| BotCommand {
                command: (*c).into(),
                description: (*d).into(),
            })
            .collect()
    };
    let two = commands(&[("start", "Start é"), ("help", "Help")]);
    assert_eq!(ok(store.set_bot_commands(bot.id, &two)), first + 1);
    assert_eq!(ok(store.bot_commands(bot.id)), two);
    let one = commands(&[("about", "About")]);
    assert_eq!(ok(store.set_bot_commands(bot.id, &one)), first + 2);
    assert_eq!(ok(store.bot_commands(bot.id)), one);
    assert_eq!(
        ok(store.user(bot.id)).and_then(|u| u.bot_info_version),
        Some(first + 2)
    );
    expect_not_found(
        store.set_bot_commands(person, &one),
        "set_bot_commands of a person",
    );
    assert_eq!(ok(store.bot_commands(person)), Vec::new());
}
