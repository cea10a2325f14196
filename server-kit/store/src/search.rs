//! Message search (`messages.search`): the words of a query, each matching a word of a
//! message by prefix, case-insensitively, with a sender, a media filter and dates; the
//! matches newest first, paged like a chat's history ([`HistoryQuery::window`]).
//!
//! What a word is, is decided here for every backend ([`words`], [`Terms`]): a run of
//! letters and digits (`char::is_alphanumeric`), lowercased; anything else separates words.
//! A backend indexes the words of each text (SQLite's FTS5 with its `unicode61` tokenizer,
//! which splits the same way; PostgreSQL a `tsvector` of [`index_words`]) and asks for
//! `word*` of each word of the query, so a query cannot carry the index's own syntax.

use crate::channels::ChannelMessage;
use crate::{HistoryQuery, Message, StoreError};

/// Which messages a search keeps besides its words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MediaFilter {
    /// Every message.
    #[default]
    Any,
    /// Those with a photo.
    Photos,
    /// Those with a document (any file).
    Documents,
    /// Those whose text holds a link ([`LINK_MARKERS`]).
    Url,
}

/// A text holds a link when it contains one of these, ASCII letters in any case.
pub const LINK_MARKERS: [&str; 3] = ["http://", "https://", "www."];

/// The most words of a query that count; the rest are ignored.
pub const MAX_QUERY_WORDS: usize = 16;

/// The most bytes of a word that count (a longer word is cut at a character boundary, in
/// texts and queries alike, so a prefix still finds it).
pub const MAX_WORD_BYTES: usize = 200;

/// The arguments of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words to find, each by prefix ([`Terms`]); empty or blank: no condition.
    pub text: String,
    /// Only messages sent by this user.
    pub from_id: Option<i64>,
    /// Only messages of this kind.
    pub filter: MediaFilter,
    /// Only messages sent after this date (0: no bound).
    pub min_date: i32,
    /// Only messages sent before this date (0: no bound).
    pub max_date: i32,
    /// Which page of the matches, newest first, as for a chat's history.
    pub page: HistoryQuery,
}

/// What the text of a [`SearchQuery`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terms {
    /// No text: every message (that the other conditions keep).
    Any,
    /// A text without a single word (only punctuation): no message.
    Nothing,
    /// Messages that have, for each of these words (lowercase, distinct, at most
    /// [`MAX_QUERY_WORDS`]), a word that starts with it.
    Words(Vec<String>),
}

impl SearchQuery {
    /// A search for `text` with no other condition, first page of `limit`.
    pub fn text(text: &str, limit: i32) -> Self {
        SearchQuery {
            text: text.to_owned(),
            page: HistoryQuery {
                limit,
                ..HistoryQuery::default()
            },
            ..SearchQuery::default()
        }
    }

    /// What the text asks for.
    pub fn terms(&self) -> Terms {
        if self.text.trim().is_empty() {
            return Terms::Any;
        }
        let mut found: Vec<String> = Vec::new();
        for word in words(&self.text) {
            if !found.contains(&word) {
                found.push(word);
            }
            if found.len() == MAX_QUERY_WORDS {
                break;
            }
        }
        if found.is_empty() {
            Terms::Nothing
        } else {
            Terms::Words(found)
        }
    }

    /// Whether a message of this date is within `min_date` and `max_date`.
    pub fn keeps_date(&self, date: i32) -> bool {
        (self.min_date <= 0 || date > self.min_date) && (self.max_date <= 0 || date < self.max_date)
    }
}

/// The words of a text, in order, lowercased, each cut to [`MAX_WORD_BYTES`].
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut word = w.to_lowercase();
            if word.len() > MAX_WORD_BYTES {
                let mut end = MAX_WORD_BYTES;
                while !word.is_char_boundary(end) {
                    end -= 1;
                }
                word.truncate(end);
            }
            word
        })
}

/// The most bytes of distinct words [`index_words`] keeps of one text (PostgreSQL refuses a
/// `tsvector` over 1 MiB).
pub const MAX_INDEX_BYTES: usize = 256 * 1024;

/// The distinct [`words`] of a text, joined by spaces, as a backend that indexes words it is
/// given stores them (no word has a space; the empty string for a text without words).
pub fn index_words(text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for word in words(text) {
        if out.len() + word.len() + 1 > MAX_INDEX_BYTES {
            break;
        }
        if seen.insert(word.clone()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word);
        }
    }
    out
}

/// Whether a text holds a link ([`LINK_MARKERS`], ASCII letters in any case).
pub fn has_link(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    LINK_MARKERS.iter().any(|m| lower.contains(m))
}

/// Message search.
pub trait SearchStore {
    /// The owner's messages that match, newest first, one page of them, and how many match in
    /// all: in the chat with `peer`, or in every private chat of the owner (`None`).
    fn search(
        &self,
        owner: i64,
        peer: Option<i64>,
        query: &SearchQuery,
    ) -> Result<(Vec<Message>, i32), StoreError>;
    /// The same in a channel's posts.
    fn search_channel(
        &self,
        channel: i64,
        query: &SearchQuery,
    ) -> Result<(Vec<ChannelMessage>, i32), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_anything_but_letters_and_digits() {
        let got: Vec<String> = words("Hello, WORLD! a\"b*c:d&e|f(g) Привет_мир 42x").collect();
        assert_eq!(
            got,
            [
                "hello",
                "world",
                "a",
                "b",
                "c",
                "d",
                "e",
                "f",
                "g",
                "привет",
                "мир",
                "42x"
            ]
        );
        assert_eq!(words("\0\0 ").count(), 0);
    }

    #[test]
    fn terms() {
        assert_eq!(SearchQuery::text("", 1).terms(), Terms::Any);
        assert_eq!(SearchQuery::text("  \t", 1).terms(), Terms::Any);
        assert_eq!(SearchQuery::text("\"*:()", 1).terms(), Terms::Nothing);
        assert_eq!(
            SearchQuery::text("Foo foo BAR", 1).terms(),
            Terms::Words(vec!["foo".into(), "bar".into()])
        );
        let many = (0..40).map(|i| format!("w{i} ")).collect::<String>();
        match SearchQuery::text(&many, 1).terms() {
            Terms::Words(w) => assert_eq!(w.len(), MAX_QUERY_WORDS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_words_are_cut_at_a_character_boundary() {
        let long = "é".repeat(150);
        let word = words(&long).next().expect("a word");
        assert!(word.len() <= MAX_WORD_BYTES && word.len() >= MAX_WORD_BYTES - 1);
        assert!(long.starts_with(&word));
    }

    #[test]
    fn index_words_are_distinct_and_bounded() {
        assert_eq!(index_words("a B a b c"), "a b c");
        assert_eq!(index_words("!!"), "");
        let huge = (0..100_000).map(|i| format!("w{i} ")).collect::<String>();
        assert!(index_words(&huge).len() <= MAX_INDEX_BYTES);
    }

    #[test]
    fn links() {
        assert!(has_link("see HTTPS://x.org"));
        assert!(has_link("www.example.com"));
        assert!(has_link("http://a"));
        assert!(!has_link("http:/ nope"));
    }
}
