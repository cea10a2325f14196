//! Formatted text: Telegram-flavoured Markdown ([`markdown`]) and HTML ([`html`]) to a
//! message's text and entities, and back.
//!
//! Entities count in UTF-16 code units, as Telegram does: `"👍 **ok**"` has its bold at
//! offset 3 (the emoji is two units, the space one).
//!
//! ```
//! # #[cfg(all(feature = "markdown", feature = "html"))] {
//! use client_sdk::parse_mode::{html, markdown};
//! let (text, entities) = markdown::parse("👍 **bold** 𝒜");
//! assert_eq!(text, "👍 bold 𝒜");
//! assert_eq!(html::unparse(&text, &entities), "👍 <b>bold</b> 𝒜");
//! assert_eq!(html::parse("👍 <b>bold</b> 𝒜"), (text, entities));
//! # }
//! ```
//!
//! Both parsers follow Telethon's (`telethon.extensions.markdown` / `.html`, checked against
//! them in the tests) and never fail: what is not markup is text. Leading and trailing
//! whitespace is stripped, as Telethon and Telegram do.

// Without either mode, only `ParseMode::Plain` and `utf16_len` are left.
#![cfg_attr(not(any(feature = "markdown", feature = "html")), allow(dead_code))]

#[cfg(feature = "html")]
pub mod html;
#[cfg(feature = "markdown")]
pub mod markdown;

use mtproto_api::{enums, types};

/// How a text to send is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ParseMode {
    /// The text is sent as it is, without entities.
    #[default]
    Plain,
    /// Telegram-flavoured Markdown ([`markdown`]).
    #[cfg(feature = "markdown")]
    Markdown,
    /// Telegram's HTML subset ([`html`]).
    #[cfg(feature = "html")]
    Html,
}

impl ParseMode {
    /// The text and entities `input` stands for in this mode.
    pub fn parse(self, input: &str) -> (String, Vec<enums::MessageEntity>) {
        match self {
            ParseMode::Plain => (input.to_string(), Vec::new()),
            #[cfg(feature = "markdown")]
            ParseMode::Markdown => markdown::parse(input),
            #[cfg(feature = "html")]
            ParseMode::Html => html::parse(input),
        }
    }
}

/// The length of `s` in UTF-16 code units: how Telegram counts entity offsets and lengths.
///
/// ```
/// assert_eq!(client_sdk::parse_mode::utf16_len("a👍𝒜"), 5);
/// ```
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// What an entity does to its text, for the entities the parse modes write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Bold,
    Italic,
    Underline,
    Strike,
    Spoiler,
    Code,
    Pre(String),
    TextUrl(String),
    MentionName(i64),
    Email,
    Blockquote { collapsed: bool },
    CustomEmoji(i64),
}

/// An entity being built: offsets in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub kind: Kind,
    pub offset: usize,
    pub length: usize,
}

impl Span {
    fn end(&self) -> usize {
        self.offset + self.length
    }

    /// As a TL entity (offsets past `i32::MAX` saturate: such a text cannot be sent anyway).
    pub(crate) fn into_entity(self) -> enums::MessageEntity {
        let offset = i32::try_from(self.offset).unwrap_or(i32::MAX);
        let length = i32::try_from(self.length).unwrap_or(i32::MAX);
        match self.kind {
            Kind::Bold => types::MessageEntityBold { offset, length }.into(),
            Kind::Italic => types::MessageEntityItalic { offset, length }.into(),
            Kind::Underline => types::MessageEntityUnderline { offset, length }.into(),
            Kind::Strike => types::MessageEntityStrike { offset, length }.into(),
            Kind::Spoiler => types::MessageEntitySpoiler { offset, length }.into(),
            Kind::Code => types::MessageEntityCode { offset, length }.into(),
            Kind::Pre(language) => types::MessageEntityPre {
                offset,
                length,
                language,
            }
            .into(),
            Kind::TextUrl(url) => types::MessageEntityTextUrl {
                offset,
                length,
                url,
            }
            .into(),
            Kind::MentionName(user_id) => types::MessageEntityMentionName {
                offset,
                length,
                user_id,
            }
            .into(),
            Kind::Email => types::MessageEntityEmail { offset, length }.into(),
            Kind::Blockquote { collapsed } => types::MessageEntityBlockquote {
                collapsed,
                offset,
                length,
            }
            .into(),
            Kind::CustomEmoji(document_id) => types::MessageEntityCustomEmoji {
                offset,
                length,
                document_id,
            }
            .into(),
        }
    }

    /// The span of a TL entity the parse modes can write (`None` for the ones Telegram finds
    /// by itself, such as mentions, hashtags and plain URLs, and for empty ones).
    pub(crate) fn of(entity: &enums::MessageEntity) -> Option<Span> {
        use enums::MessageEntity as E;
        let (kind, offset, length) = match entity {
            E::Bold(e) => (Kind::Bold, e.offset, e.length),
            E::Italic(e) => (Kind::Italic, e.offset, e.length),
            E::Underline(e) => (Kind::Underline, e.offset, e.length),
            E::Strike(e) => (Kind::Strike, e.offset, e.length),
            E::Spoiler(e) => (Kind::Spoiler, e.offset, e.length),
            E::Code(e) => (Kind::Code, e.offset, e.length),
            E::Pre(e) => (Kind::Pre(e.language.clone()), e.offset, e.length),
            E::TextUrl(e) => (Kind::TextUrl(e.url.clone()), e.offset, e.length),
            E::MentionName(e) => (Kind::MentionName(e.user_id), e.offset, e.length),
            E::InputMessageEntityMentionName(e) => match &e.user_id {
                enums::InputUser::InputUser(u) => {
                    (Kind::MentionName(u.user_id), e.offset, e.length)
                }
                enums::InputUser::FromMessage(u) => {
                    (Kind::MentionName(u.user_id), e.offset, e.length)
                }
                _ => return None,
            },
            E::Email(e) => (Kind::Email, e.offset, e.length),
            E::Blockquote(e) => (
                Kind::Blockquote {
                    collapsed: e.collapsed,
                },
                e.offset,
                e.length,
            ),
            E::CustomEmoji(e) => (Kind::CustomEmoji(e.document_id), e.offset, e.length),
            _ => return None,
        };
        let offset = usize::try_from(offset).ok()?;
        let length = usize::try_from(length).ok().filter(|l| *l > 0)?;
        Some(Span {
            kind,
            offset,
            length,
        })
    }
}

/// The user id of a `tg://user?id=N` link.
pub(crate) fn mention_id(url: &str) -> Option<i64> {
    url.strip_prefix("tg://user?id=")?.parse().ok()
}

/// Takes `count` units out of the text at `at`, moving and shrinking the spans it affects.
pub(crate) fn remove_units(spans: &mut [Span], at: usize, count: usize) {
    let shift = |p: usize| {
        if p >= at + count {
            p - count
        } else if p > at {
            at
        } else {
            p
        }
    };
    for span in spans {
        let (start, end) = (shift(span.offset), shift(span.end()));
        span.offset = start;
        span.length = end - start;
    }
}

/// Whether Python's `str.strip()` strips `c` (Unicode whitespace plus U+001C..U+001F).
fn is_py_space(c: u16) -> bool {
    char::from_u32(u32::from(c))
        .is_some_and(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Telethon's `strip_text`: strips whitespace at both ends of `text` (UTF-16), moving and
/// cutting the spans to what is left, and drops empty ones.
pub(crate) fn strip(text: &mut Vec<u16>, spans: &mut Vec<Span>) {
    let start = text
        .iter()
        .position(|c| !is_py_space(*c))
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|c| !is_py_space(*c))
        .map_or(start, |p| p + 1);
    text.truncate(end);
    text.drain(..start);
    let len = text.len();
    spans.retain_mut(|span| {
        let s = span.offset.clamp(start, end);
        let e = span.end().clamp(start, end);
        span.offset = s - start;
        span.length = e - s;
        span.length > 0 && span.offset < len
    });
}

/// One markup insertion when writing entities back: at a UTF-16 position, an opening or a
/// closing string.
pub(crate) struct Insert {
    /// Where, in UTF-16 units of the text.
    pub at: usize,
    /// What comes first at the same place: line markers (a quote's `> `), then closings,
    /// then openings.
    pub rank: Rank,
    /// For openings: the entity's end (outer entities, ending later, open first); for closings:
    /// the entity's start (inner entities, starting later, close first).
    pub other_end: usize,
    /// The entity's index, to keep the order stable.
    pub index: usize,
    /// The markup.
    pub text: String,
}

/// The kind of an [`Insert`], in the order they are written at the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// Markup that must start a line.
    LineStart,
    /// The end of an entity.
    Closing,
    /// The start of an entity.
    Opening,
}

/// Sorts insertions into the order they are written (see [`Insert`]), nudging positions
/// inside a surrogate pair past it.
pub(crate) fn order(text: &[u16], inserts: &mut [Insert]) {
    for insert in inserts.iter_mut() {
        insert.at = insert.at.min(text.len());
        if insert.at > 0
            && insert.at < text.len()
            && (0xDC00..0xE000).contains(&text[insert.at])
            && (0xD800..0xDC00).contains(&text[insert.at - 1])
        {
            insert.at += 1;
        }
    }
    inserts.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then(a.rank.cmp(&b.rank))
            .then_with(|| match a.rank {
                Rank::Closing => b.other_end.cmp(&a.other_end).then(b.index.cmp(&a.index)),
                _ => b.other_end.cmp(&a.other_end).then(a.index.cmp(&b.index)),
            })
    });
}

/// The spans of `entities` that fit in a text of `len` UTF-16 units (cut to fit).
pub(crate) fn spans_of(entities: &[enums::MessageEntity], len: usize) -> Vec<Span> {
    entities
        .iter()
        .filter_map(Span::of)
        .filter_map(|mut span| {
            if span.offset >= len {
                return None;
            }
            span.length = span.length.min(len - span.offset);
            Some(span)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: usize, length: usize) -> Span {
        Span {
            kind: Kind::Bold,
            offset,
            length,
        }
    }

    #[test]
    fn removing_units_moves_and_shrinks_spans() {
        let mut spans = vec![span(0, 10), span(2, 2), span(6, 2), span(3, 4)];
        remove_units(&mut spans, 2, 2);
        let got: Vec<_> = spans.iter().map(|s| (s.offset, s.length)).collect();
        assert_eq!(got, [(0, 8), (2, 0), (4, 2), (2, 3)]);
    }

    #[test]
    fn strip_cuts_spans_like_telethon() {
        let mut text: Vec<u16> = "  ab cd \n".encode_utf16().collect();
        let mut spans = vec![span(0, 3), span(1, 1), span(5, 4), span(8, 1)];
        strip(&mut text, &mut spans);
        assert_eq!(String::from_utf16_lossy(&text), "ab cd");
        let got: Vec<_> = spans.iter().map(|s| (s.offset, s.length)).collect();
        assert_eq!(got, [(0, 1), (3, 2)]);
    }

    #[test]
    fn utf16_lengths() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("👍"), 2);
        assert_eq!(mention_id("tg://user?id=42"), Some(42));
        assert_eq!(mention_id("tg://user?id=x"), None);
    }
}
