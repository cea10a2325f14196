//! Checks of [`SearchStore`](crate::SearchStore): words by prefix and case, several words,
//! senders, media filters, dates, paging, per-owner isolation, edits and deletions, channels,
//! and texts and queries that look like an index's own syntax.

use super::{new_users, no_extras, ok, own, send};
use crate::channels::Role;
use crate::search::{MediaFilter, SearchQuery};
use crate::{HistoryQuery, MediaRef, Store};

/// The ids a search in the owner's box finds (newest first) and the count it gives.
fn found(store: &dyn Store, owner: i64, peer: Option<i64>, q: &SearchQuery) -> (Vec<i32>, i32) {
    let (messages, count) = ok(store.search(owner, peer, q));
    assert!(
        messages.iter().all(|m| m.owner == owner),
        "another box's message in {messages:?}"
    );
    if let Some(peer) = peer {
        assert!(
            messages.iter().all(|m| m.peer == peer),
            "another chat's message in {messages:?}"
        );
    }
    (messages.iter().map(|m| m.id).collect(), count)
}

/// The ids of the first page of up to 100 matches of `text`, newest first.
fn ids(store: &dyn Store, owner: i64, peer: Option<i64>, text: &str) -> Vec<i32> {
    let (ids, count) = found(store, owner, peer, &SearchQuery::text(text, 100));
    assert_eq!(count as usize, ids.len(), "count of {text:?}");
    ids
}

/// Words match words by prefix, in any case and order; all words of the query must match;
/// a word inside another does not match; an empty text keeps every message; the chat or
/// every chat of the owner.
pub fn search_words(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    let texts = [
        "Hello World",        // 1
        "hello there",        // 2
        "worldwide news",     // 3
        "HELLO again, world", // 4
        "nothing here",       // 5
        "Привет, Мир",        // 6
        "hello-kitty 42nd",   // 7
        "Ünïcode Straße",     // 8
    ];
    for (i, text) in texts.iter().enumerate() {
        send(store, a, b, text, i as i64 + 1, 100 + i as i32); // A's and B's i + 1.
    }
    send(store, a, c, "hello carol", 100, 200); // A's 9.
    let chat = Some(b);
    assert_eq!(ids(store, a, chat, "hello"), [7, 4, 2, 1]);
    assert_eq!(ids(store, a, chat, "HeLLo"), [7, 4, 2, 1], "any case");
    assert_eq!(ids(store, a, chat, "hel"), [7, 4, 2, 1], "a prefix");
    assert_eq!(ids(store, a, chat, "wor"), [4, 3, 1]);
    assert_eq!(ids(store, a, chat, "world"), [4, 3, 1], "world is a prefix");
    assert_eq!(ids(store, a, chat, "hello world"), [4, 1], "both words");
    assert_eq!(ids(store, a, chat, "World, HELLO!"), [4, 1], "any order");
    assert_eq!(ids(store, a, chat, "hello hello"), [7, 4, 2, 1]);
    assert_eq!(
        ids(store, a, chat, "orld"),
        [] as [i32; 0],
        "not inside a word"
    );
    assert_eq!(ids(store, a, chat, "hello nothing"), [] as [i32; 0]);
    assert_eq!(ids(store, a, chat, "kitty"), [7], "a hyphen separates");
    assert_eq!(ids(store, a, chat, "42"), [7], "digits");
    assert_eq!(ids(store, a, chat, "привет"), [6]);
    assert_eq!(ids(store, a, chat, "МИР"), [6], "non-ASCII case");
    assert_eq!(ids(store, a, chat, "ünï"), [8]);
    assert_eq!(ids(store, a, chat, "STRASSE"), [] as [i32; 0]);
    assert_eq!(ids(store, a, chat, "straße"), [8]);
    assert_eq!(ids(store, a, chat, ""), [8, 7, 6, 5, 4, 3, 2, 1], "no text");
    assert_eq!(
        ids(store, a, chat, "   "),
        [8, 7, 6, 5, 4, 3, 2, 1],
        "blank"
    );
    assert_eq!(ids(store, a, None, "hello"), [9, 7, 4, 2, 1], "every chat");
    assert_eq!(ids(store, a, Some(c), "hello"), [9]);
    // The recipient's copies, with the recipient's ids.
    assert_eq!(ids(store, b, Some(a), "hello"), [7, 4, 2, 1]);
    assert_eq!(ids(store, c, None, "hello"), [1]);
}

/// Nobody finds a message of another user's box: not in a chat they are not in, not by
/// naming someone else's chat, not in every chat.
pub fn search_isolation(store: &dyn Store) {
    let [a, b, c] = new_users(store);
    send(store, a, b, "secret plans", 1, 100);
    send(store, b, a, "secret reply", 2, 101);
    send(store, c, c, "my own secret", 3, 102);
    assert_eq!(ids(store, c, None, "secret"), [1]);
    assert_eq!(ids(store, c, Some(a), "secret"), [] as [i32; 0]);
    assert_eq!(ids(store, c, Some(b), ""), [] as [i32; 0]);
    assert_eq!(ids(store, a, None, "secret"), [2, 1]);
    assert_eq!(ids(store, a, Some(c), "secret"), [] as [i32; 0]);
    assert_eq!(ids(store, b, None, "my"), [] as [i32; 0]);
    let ch = ok(store.create_channel(a, "Mine", "", true, false, 1, 100)).id;
    ok(store.post(ch, a, "secret post", 1, 103, no_extras()));
    assert_eq!(ids(store, c, None, "post"), [] as [i32; 0]);
    assert_eq!(
        ok(store.search_channel(ch + 1, &SearchQuery::text("secret", 10))).1,
        0,
        "another channel"
    );
}

/// `from_id`, each media filter, and `min_date` / `max_date` (both exclusive), alone and
/// together with words.
pub fn search_from_and_filters(store: &dyn Store) {
    let [a, b] = new_users(store);
    send(store, a, b, "plain words", 1, 100); // 1
    send(store, b, a, "their words", 2, 110); // 2
    let photo = ok(store.send_media(a, b, "a photo of words", 3, 120, MediaRef::Photo(71)));
    let doc = ok(store.send_media(b, a, "", 4, 130, MediaRef::Document(72)));
    send(store, a, b, "see https://example.com/words", 5, 140); // 5
    send(store, b, a, "or WWW.Example.org", 6, 150); // 6
    send(store, a, b, "HTTP://LOUD.EXAMPLE", 7, 160); // 7
    send(store, a, b, "not http:/ a link, nor wwwx", 8, 170); // 8
    send(store, a, b, "after\0a nul http://x.y", 9, 180); // 9
    assert_eq!((own(&photo).id, own(&doc).id), (3, 4));
    let q = |text: &str, from_id, filter, min_date, max_date| SearchQuery {
        from_id,
        filter,
        min_date,
        max_date,
        ..SearchQuery::text(text, 100)
    };
    let any = MediaFilter::Any;
    let find = |q: SearchQuery| found(store, a, Some(b), &q);
    assert_eq!(find(q("words", Some(a), any, 0, 0)), (vec![5, 3, 1], 3));
    assert_eq!(find(q("words", Some(b), any, 0, 0)), (vec![2], 1));
    assert_eq!(find(q("", Some(b), any, 0, 0)), (vec![6, 4, 2], 3));
    assert_eq!(find(q("", None, MediaFilter::Photos, 0, 0)), (vec![3], 1));
    assert_eq!(
        find(q("", None, MediaFilter::Documents, 0, 0)),
        (vec![4], 1)
    );
    assert_eq!(
        find(q("words", None, MediaFilter::Documents, 0, 0)),
        (vec![], 0)
    );
    assert_eq!(
        find(q("", None, MediaFilter::Url, 0, 0)),
        (vec![9, 7, 6, 5], 4)
    );
    assert_eq!(find(q("words", None, MediaFilter::Url, 0, 0)), (vec![5], 1));
    assert_eq!(find(q("", Some(b), MediaFilter::Url, 0, 0)), (vec![6], 1));
    assert_eq!(find(q("", None, any, 120, 0)).0, [9, 8, 7, 6, 5, 4]);
    assert_eq!(find(q("", None, any, 0, 120)).0, [2, 1]);
    assert_eq!(find(q("", None, any, 110, 140)).0, [4, 3]);
    assert_eq!(find(q("words", None, any, 100, 0)), (vec![5, 3, 2], 3));
    assert_eq!(find(q("", None, MediaFilter::Photos, 120, 0)), (vec![], 0));
    // The same in every chat of the owner.
    assert_eq!(
        found(store, a, None, &q("", None, MediaFilter::Photos, 0, 0)),
        (vec![3], 1)
    );
}

/// Paging through many matches as clients do (by `offset_id`, with `add_offset`, towards
/// newer, within `max_id` / `min_id`) sees each once, with the count of all matches.
pub fn search_paging(store: &dyn Store) {
    let [a, b] = new_users(store);
    // Ids 1..=600: the odd ones match, all in one second (the id decides).
    for i in 1..=600 {
        let text = if i % 2 == 1 { "needle here" } else { "hay" };
        send(store, a, b, text, i64::from(i), 1000);
    }
    let page = |offset_id, add_offset, limit| {
        let q = SearchQuery {
            page: HistoryQuery {
                offset_id,
                offset_date: if offset_id > 0 { 1000 } else { 0 },
                add_offset,
                limit,
                ..HistoryQuery::default()
            },
            ..SearchQuery::text("needle", limit)
        };
        let (ids, count) = found(store, a, Some(b), &q);
        assert_eq!(count, 300, "count of {q:?}");
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        assert!(ids.iter().all(|id| id % 2 == 1), "only matches: {ids:?}");
        ids
    };
    let odd = |from: i32, to: i32| (from..=to).filter(|i| i % 2 == 1).collect::<Vec<i32>>();
    // Older, from the newest.
    let (mut seen, mut offset_id) = (Vec::new(), 0);
    loop {
        let ids = page(offset_id, 0, 70);
        let Some(&last) = ids.last() else { break };
        offset_id = last;
        seen.extend(ids);
        assert!(seen.len() <= 300, "paging older never ends");
    }
    seen.reverse();
    assert_eq!(seen, odd(1, 600), "older from the newest");
    // Newer, from the oldest, as clients page up.
    let (mut seen, mut offset_id) = (Vec::new(), 1);
    loop {
        let ids = page(offset_id, -50, 50);
        let Some(&newest) = ids.first() else { break };
        offset_id = newest + 1;
        seen.extend(ids);
        assert!(seen.len() <= 300, "paging newer never ends");
    }
    seen.sort_unstable();
    assert_eq!(seen, odd(1, 600), "newer from the oldest");
    // Around an id (from the middle in both directions), and a plain skip.
    assert_eq!(page(301, -2, 4), [303, 301, 299, 297]);
    assert_eq!(page(0, 10, 3), [579, 577, 575]);
    assert_eq!(page(0, 300, 3), [] as [i32; 0]);
    // Within max_id / min_id.
    let q = SearchQuery {
        page: HistoryQuery {
            max_id: 11,
            min_id: 0,
            ..HistoryQuery::default()
        },
        ..SearchQuery::text("needle", 100)
    };
    let (ids, _) = found(store, a, Some(b), &q);
    assert!(ids.iter().all(|id| *id < 11), "max_id: {ids:?}");
    let q = SearchQuery {
        page: HistoryQuery {
            min_id: 590,
            limit: 100,
            ..HistoryQuery::default()
        },
        ..SearchQuery::text("needle", 100)
    };
    assert_eq!(found(store, a, Some(b), &q).0, [599, 597, 595, 593, 591]);
}

/// An edit is found by its new words and no longer by its old ones, in both copies; a
/// deleted message is no longer found (the owner's copy, and the peer's with revoke).
pub fn search_edits_and_deletes(store: &dyn Store) {
    let [a, b] = new_users(store);
    send(store, a, b, "original draft", 1, 100); // A's 1, B's 1.
    send(store, a, b, "keep this draft", 2, 101); // 2
    send(store, a, b, "remove this draft", 3, 102); // 3
    send(store, a, b, "revoke this draft", 4, 103); // 4
    ok(store.edit_message(a, 1, "final version", 110));
    for (owner, peer) in [(a, b), (b, a)] {
        assert_eq!(ids(store, owner, Some(peer), "original"), [] as [i32; 0]);
        assert_eq!(ids(store, owner, Some(peer), "fin"), [1]);
        assert_eq!(ids(store, owner, Some(peer), "draft"), [4, 3, 2]);
    }
    ok(store.delete_messages(a, &[3], false, 120));
    assert_eq!(ids(store, a, Some(b), "draft"), [4, 2]);
    assert_eq!(
        ids(store, b, Some(a), "draft"),
        [4, 3, 2],
        "the peer keeps its copy"
    );
    ok(store.delete_messages(a, &[4], true, 130));
    assert_eq!(ids(store, a, Some(b), "draft"), [2]);
    assert_eq!(
        ids(store, b, Some(a), "draft"),
        [3, 2],
        "revoked on both sides"
    );
    ok(store.edit_message(a, 2, "", 140));
    assert_eq!(ids(store, a, Some(b), "draft"), [] as [i32; 0]);
    assert_eq!(
        ids(store, a, Some(b), ""),
        [2, 1],
        "an empty text is still a message"
    );
    // A new message after all that is found.
    send(store, a, b, "fresh draft", 5, 150);
    assert_eq!(ids(store, a, Some(b), "draft"), [5]);
}

/// A channel's posts: words, sender, filters, paging, deletions; another channel's posts are
/// not found.
pub fn search_channel(store: &dyn Store) {
    let [a, b] = new_users(store);
    let ch = ok(store.create_channel(a, "Group", "", false, true, 1, 100)).id;
    let other = ok(store.create_channel(b, "Other", "", true, false, 2, 100)).id;
    ok(store.add_member(ch, b, Role::Member, b, 100));
    ok(store.post(other, b, "launch elsewhere", 1, 100, no_extras()));
    for i in 1..=30 {
        let from = if i % 3 == 0 { b } else { a };
        let text = format!("launch report {i}");
        ok(store.post(ch, from, &text, i64::from(i), 100 + i, no_extras()));
    }
    let photo = crate::Extras {
        media: Some(MediaRef::Photo(9)),
        ..no_extras()
    };
    ok(store.post(ch, a, "launch photo http://pics.example", 31, 140, photo)); // 31
    let posts = |q: &SearchQuery| {
        let (posts, count) = ok(store.search_channel(ch, q));
        assert!(posts.iter().all(|p| p.channel == ch), "{posts:?}");
        (posts.iter().map(|p| p.id).collect::<Vec<i32>>(), count)
    };
    let (first, count) = posts(&SearchQuery::text("LAUNCH", 10));
    assert_eq!((first, count), ((22..=31).rev().collect(), 31));
    assert_eq!(posts(&SearchQuery::text("report 7", 10)), (vec![7], 1));
    assert_eq!(posts(&SearchQuery::text("elsewhere", 10)), (vec![], 0));
    let by_b = SearchQuery {
        from_id: Some(b),
        ..SearchQuery::text("launch", 100)
    };
    assert_eq!(posts(&by_b).0, [30, 27, 24, 21, 18, 15, 12, 9, 6, 3]);
    for filter in [MediaFilter::Photos, MediaFilter::Url] {
        let q = SearchQuery {
            filter,
            ..SearchQuery::text("", 10)
        };
        assert_eq!(posts(&q), (vec![31], 1), "{filter:?}");
    }
    let docs = SearchQuery {
        filter: MediaFilter::Documents,
        ..SearchQuery::text("", 10)
    };
    assert_eq!(posts(&docs), (vec![], 0));
    let next = SearchQuery {
        page: HistoryQuery {
            offset_id: 22,
            limit: 5,
            ..HistoryQuery::default()
        },
        ..SearchQuery::text("launch", 5)
    };
    assert_eq!(posts(&next), (vec![21, 20, 19, 18, 17], 31));
    let dated = SearchQuery {
        min_date: 110,
        max_date: 113,
        ..SearchQuery::text("report", 10)
    };
    assert_eq!(posts(&dated).0, [12, 11]);
    ok(store.delete_channel_messages(ch, &[31, 30], 150));
    assert_eq!(
        posts(&SearchQuery::text("launch", 3)),
        (vec![29, 28, 27], 29)
    );
    assert_eq!(posts(&SearchQuery::text("photo", 3)), (vec![], 0));
}

/// Texts with NUL and with the characters of search syntaxes are stored and found by their
/// words; queries made of such characters (quotes, `*`, `AND`, `:`, `&`, `|`, `!`, `(`, ...)
/// match words or nothing, and never fail.
pub fn search_odd_text(store: &dyn Store) {
    let [a, b] = new_users(store);
    let texts = [
        "nul\0byte\0inside",                                  // 1
        "quote \"here\" and 'there'",                         // 2
        "star* col:on amp&ers|and !bang (paren) back\\slash", // 3
        "android AND ORacle NEAR(x y)",                       // 4
        "-minus ^caret {brace} [bracket] @at #hash ~tilde",   // 5
    ];
    for (i, text) in texts.iter().enumerate() {
        send(store, a, b, text, i as i64 + 1, 100 + i as i32);
    }
    let chat = Some(b);
    assert_eq!(ids(store, a, chat, "byte"), [1], "a word between NULs");
    assert_eq!(ids(store, a, chat, "nul inside"), [1]);
    assert_eq!(
        ids(store, a, chat, "nul\0by"),
        [1],
        "a NUL in the query separates"
    );
    assert_eq!(ids(store, a, chat, "\"here\""), [2]);
    assert_eq!(ids(store, a, chat, "'there"), [2]);
    assert_eq!(ids(store, a, chat, "star*"), [3]);
    assert_eq!(ids(store, a, chat, "col:on"), [3]);
    assert_eq!(ids(store, a, chat, "amp&ers|bang"), [3]);
    assert_eq!(ids(store, a, chat, "(paren"), [3]);
    assert_eq!(ids(store, a, chat, "back\\"), [3]);
    assert_eq!(
        ids(store, a, chat, "AND"),
        [4, 3, 2],
        "a word, not an operator"
    );
    assert_eq!(ids(store, a, chat, "or"), [4]);
    assert_eq!(ids(store, a, chat, "NEAR(x"), [4]);
    assert_eq!(ids(store, a, chat, "-minus"), [5]);
    assert_eq!(ids(store, a, chat, "^caret {brace} [bracket]"), [5]);
    assert_eq!(
        ids(store, a, chat, "text:here"),
        [] as [i32; 0],
        "no column filter"
    );
    for query in [
        "\"", "*", ":", "&", "|", "!", "(", ")", "\"*", "'", "\\", "\0", "(\"", "!&|:*", "''",
        "'\\'", "-", "^", "{", "}", "[", "]",
    ] {
        let (ids, count) = found(store, a, chat, &SearchQuery::text(query, 10));
        assert_eq!((ids, count), (vec![], 0), "query {query:?}");
    }
    for query in [
        "AND OR",
        "a AND",
        "NOT here",
        "here OR there",
        "x:*",
        "here:*",
        "here & there",
        "here | there",
        "!here",
        "here <-> there",
        "NEAR(here there)",
        "(here",
        "here)",
    ] {
        // Each word is a word to find: no error whatever it spells.
        ok(store.search(a, chat, &SearchQuery::text(query, 10)));
        ok(store.search(a, None, &SearchQuery::text(query, 10)));
    }
    assert_eq!(
        ids(store, a, chat, "here OR there"),
        [] as [i32; 0],
        "OR is a word too"
    );
    assert_eq!(ids(store, a, chat, "here there"), [2]);
    let ch = ok(store.create_channel(a, "Odd", "", true, false, 1, 100)).id;
    ok(store.post(ch, a, "chan\0nel \"post\" *", 1, 100, no_extras()));
    let (posts, count) = ok(store.search_channel(ch, &SearchQuery::text("nel \"po", 10)));
    assert_eq!((posts.len(), count), (1, 1));
    assert_eq!(posts[0].text, "chan\0nel \"post\" *");
    let (posts, count) = ok(store.search_channel(ch, &SearchQuery::text("\"*\"", 10)));
    assert_eq!((posts.len(), count), (0, 0));
}
