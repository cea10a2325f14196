//! Telegram-flavoured Markdown: Telethon's delimiters, with Pyrogram's additions.
//!
//! | markup | entity |
//! | --- | --- |
//! | `**bold**` | bold |
//! | `__italic__` | italic |
//! | `--underline--` | underline |
//! | `~~strike~~` | strikethrough |
//! | `\|\|spoiler\|\|` | spoiler |
//! | `` `code` `` | code |
//! | ```` ```lang⏎code``` ```` | pre, with the language when the first line is one word |
//! | `[text](https://…)` | text link |
//! | `[name](tg://user?id=42)` | mention of user 42 (`messageEntityMentionName`) |
//! | `> line` at the start of lines | blockquote (consecutive lines: one quote) |
//!
//! Entities nest (`**bold __both__**`, `[**bold link**](…)`); code and pre hold their text as
//! written. A backslash before a markup character (`` \ * _ - ~ | ` [ ] > ``) makes it text;
//! [`unparse`] writes such escapes where they are needed, so `parse(unparse(t, e)) == (t, e)`
//! for text without surrounding whitespace (and code without backticks).
//!
//! What is not markup (a lone `**`, an unclosed `[`) is text: parsing never fails. Like
//! Telethon's, the parser rewrites the text as it goes: its time grows with the square of the
//! input's length, which is nothing for a message (4096 characters at most) but adds up for
//! very long documents (about 80 ms for 18,000 characters in a debug build).
//!
//! Where this differs from `telethon.extensions.markdown.parse` (Telethon has no escapes,
//! underline, spoiler, blockquote or pre languages):
//! - `\` before a markup character is an escape (Telethon keeps the backslash);
//! - `--`, `||` and `>` at the start of a line are markup;
//! - ```` ```lang ```` followed by a line break gives the pre a language and the line is not
//!   text; a line break right after the opening ```` ``` ```` is dropped (as Telegram
//!   Desktop does);
//! - a link's text is parsed for markup (Telethon leaves it as written);
//! - `tg://user?id=N` links are mentions (Telethon makes a text link, which its client turns
//!   into a mention when sending).

use super::{Insert, Kind, Rank, Span, mention_id, order, remove_units, spans_of, strip};
use mtproto_api::enums;

/// The delimiters, longest first (so ```` ``` ```` is not read as three `` ` ``).
const DELIMITERS: [(&str, Kind); 7] = [
    ("```", Kind::Code),
    ("**", Kind::Bold),
    ("__", Kind::Italic),
    ("--", Kind::Underline),
    ("~~", Kind::Strike),
    ("||", Kind::Spoiler),
    ("`", Kind::Code),
];

/// The characters a backslash escapes.
const ESCAPABLE: &str = "\\*_-~|`[]>";

fn unit(c: char) -> u16 {
    c as u16
}

fn is_escapable(c: u16) -> bool {
    ESCAPABLE.encode_utf16().any(|e| e == c)
}

fn starts_with(text: &[u16], at: usize, delim: &str) -> bool {
    (at..)
        .zip(delim.encode_utf16())
        .all(|(i, c)| text.get(i) == Some(&c))
}

/// Whether the character at `at` follows an odd number of backslashes.
fn escaped(text: &[u16], at: usize) -> bool {
    text[..at]
        .iter()
        .rev()
        .take_while(|c| **c == unit('\\'))
        .count()
        % 2
        == 1
}

/// The first `delim` at or after `from`; for code, the first at all (code has no escapes).
fn find(text: &[u16], delim: &str, from: usize, code: bool) -> Option<usize> {
    (from..text.len()).find(|&p| starts_with(text, p, delim) && (code || !escaped(text, p)))
}

/// A `[text](url)` at `at`: the end of the text and the end of the whole link.
fn link_at(text: &[u16], at: usize) -> Option<(usize, usize)> {
    if text.get(at) != Some(&unit('[')) {
        return None;
    }
    let close = at + 1 + text[at + 1..].iter().position(|c| *c == unit(']'))?;
    if text.get(close + 1) != Some(&unit('(')) {
        return None;
    }
    let end = close + 2 + text[close + 2..].iter().position(|c| *c == unit(')'))?;
    Some((close, end + 1))
}

/// The language of a pre whose text starts at `start` and ends at `end`: a first line that
/// is one word. Returns the language and how many units it (with its line break) takes.
fn pre_language(text: &[u16], start: usize, end: usize) -> Option<(String, usize)> {
    let line = text[start..end].iter().position(|c| *c == unit('\n'))?;
    let word = &text[start..start + line];
    let is_word = |c: &u16| {
        char::from_u32(u32::from(*c)).is_some_and(|c| c.is_alphanumeric() || "_+-#.".contains(c))
    };
    if word.is_empty() || !word.iter().all(is_word) || start + line + 1 >= end {
        return None;
    }
    Some((String::from_utf16_lossy(word), line + 1))
}

/// The text and entities that `markdown` stands for.
///
/// ```
/// use client_sdk::parse_mode::markdown;
/// use mtproto_api::{enums::MessageEntity, types};
/// let (text, entities) = markdown::parse("**Hi** [you](tg://user?id=7)!");
/// assert_eq!(text, "Hi you!");
/// assert_eq!(entities, [
///     MessageEntity::Bold(types::MessageEntityBold { offset: 0, length: 2 }),
///     MessageEntity::MentionName(types::MessageEntityMentionName {
///         offset: 3, length: 3, user_id: 7,
///     }),
/// ]);
/// ```
pub fn parse(markdown: &str) -> (String, Vec<enums::MessageEntity>) {
    let mut text: Vec<u16> = markdown.encode_utf16().collect();
    let mut spans: Vec<Span> = Vec::new();
    let mut quote: Option<usize> = None;
    let mut line_seen: Option<usize> = None;
    let mut i = 0;
    while i < text.len() {
        // Quotes: `>` (and one space) at the start of a line.
        if (i == 0 || text[i - 1] == unit('\n')) && line_seen != Some(i) {
            line_seen = Some(i);
            if text[i] == unit('>') {
                let count = if text.get(i + 1) == Some(&unit(' ')) {
                    2
                } else {
                    1
                };
                text.drain(i..i + count);
                remove_units(&mut spans, i, count);
                quote.get_or_insert(i);
            } else if let Some(start) = quote.take() {
                push_quote(&mut spans, start, i - 1);
            }
            if i == text.len() {
                break;
            }
        }
        if text[i] == unit('\\') && text.get(i + 1).is_some_and(|c| is_escapable(*c)) {
            text.remove(i);
            remove_units(&mut spans, i, 1);
            i += 1;
            continue;
        }
        if let Some((delim, kind)) = DELIMITERS.iter().find(|(d, _)| starts_with(&text, i, d)) {
            let code = *kind == Kind::Code;
            if let Some(end) = find(&text, delim, i + delim.len() + 1, code) {
                let n = delim.len();
                text.drain(end..end + n);
                remove_units(&mut spans, end, n);
                text.drain(i..i + n);
                remove_units(&mut spans, i, n);
                let mut end = end - n;
                let mut kind = kind.clone();
                if *delim == "```" {
                    let mut language = String::new();
                    if text.get(i) == Some(&unit('\n')) && end > i + 1 {
                        text.remove(i);
                        remove_units(&mut spans, i, 1);
                        end -= 1;
                    } else if let Some((lang, count)) = pre_language(&text, i, end) {
                        text.drain(i..i + count);
                        remove_units(&mut spans, i, count);
                        end -= count;
                        language = lang;
                    }
                    kind = Kind::Pre(language);
                }
                spans.push(Span {
                    kind,
                    offset: i,
                    length: end - i,
                });
                if code {
                    // No markup inside code.
                    i = end;
                }
                continue;
            }
        } else if let Some((close, end)) = link_at(&text, i) {
            let url = String::from_utf16_lossy(&text[close + 2..end - 1]);
            let kind = match mention_id(&url) {
                Some(id) => Kind::MentionName(id),
                None => Kind::TextUrl(url),
            };
            text.drain(close..end);
            remove_units(&mut spans, close, end - close);
            text.remove(i);
            remove_units(&mut spans, i, 1);
            spans.push(Span {
                kind,
                offset: i,
                length: close - i - 1,
            });
            // The link's text is read for markup too.
            continue;
        }
        i += 1;
    }
    if let Some(start) = quote {
        let end = match text.last() {
            Some(c) if *c == unit('\n') => text.len() - 1,
            _ => text.len(),
        };
        push_quote(&mut spans, start, end);
    }
    strip(&mut text, &mut spans);
    spans.sort_by_key(|s| s.offset);
    let entities = spans.into_iter().map(Span::into_entity).collect();
    (String::from_utf16_lossy(&text), entities)
}

fn push_quote(spans: &mut Vec<Span>, start: usize, end: usize) {
    if end > start {
        spans.push(Span {
            kind: Kind::Blockquote { collapsed: false },
            offset: start,
            length: end - start,
        });
    }
}

/// Markdown that [`parse`] reads as `text` with `entities`.
///
/// ```
/// use client_sdk::parse_mode::markdown;
/// let (text, entities) = markdown::parse("a **b __c__** [d](https://e.org)");
/// assert_eq!(markdown::unparse(&text, &entities), "a **b __c__** [d](https://e.org)");
/// assert_eq!(markdown::unparse("2*3 = 6 **", &[]), "2*3 = 6 \\*\\*");
/// ```
pub fn unparse(text: &str, entities: &[enums::MessageEntity]) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let spans = spans_of(entities, units.len());
    let mut inserts = Vec::new();
    // Whether each unit is inside code (written as it is, without escapes).
    let mut in_code = vec![false; units.len()];
    for (index, span) in spans.iter().enumerate() {
        let (open, close) = match &span.kind {
            Kind::Bold => ("**".to_string(), "**".to_string()),
            Kind::Italic => ("__".into(), "__".into()),
            Kind::Underline => ("--".into(), "--".into()),
            Kind::Strike => ("~~".into(), "~~".into()),
            Kind::Spoiler => ("||".into(), "||".into()),
            Kind::Code => ("`".into(), "`".into()),
            Kind::Pre(language) => {
                let first_line_is_word = pre_language(&units, span.offset, span.end()).is_some();
                let starts_with_break = units.get(span.offset) == Some(&unit('\n'));
                let open = if !language.is_empty() {
                    format!("```{language}\n")
                } else if first_line_is_word || starts_with_break {
                    "```\n".into()
                } else {
                    "```".into()
                };
                (open, "```".into())
            }
            Kind::TextUrl(url) => ("[".into(), format!("]({})", url.replace(')', "%29"))),
            Kind::MentionName(id) => ("[".into(), format!("](tg://user?id={id})")),
            Kind::Blockquote { .. } => {
                // "> " at the start of each of its lines.
                let mut at = span.offset;
                while at < span.end() {
                    inserts.push(Insert {
                        at,
                        rank: Rank::LineStart,
                        other_end: usize::MAX,
                        index,
                        text: "> ".into(),
                    });
                    match units[at..span.end()].iter().position(|c| *c == unit('\n')) {
                        Some(p) => at += p + 1,
                        None => break,
                    }
                }
                continue;
            }
            Kind::Email | Kind::CustomEmoji(_) => continue,
        };
        if matches!(span.kind, Kind::Code | Kind::Pre(_)) {
            in_code[span.offset..span.end()].fill(true);
        }
        inserts.push(Insert {
            at: span.offset,
            rank: Rank::Opening,
            other_end: span.end(),
            index,
            text: open,
        });
        inserts.push(Insert {
            at: span.end(),
            rank: Rank::Closing,
            other_end: span.offset,
            index,
            text: close,
        });
    }
    order(&units, &mut inserts);
    let marked: std::collections::HashSet<usize> = inserts.iter().map(|i| i.at).collect();
    let mut out: Vec<u16> = Vec::with_capacity(units.len() + inserts.len() * 4);
    let mut next = inserts.iter().peekable();
    for (at, &c) in units.iter().enumerate() {
        while let Some(insert) = next.next_if(|i| i.at == at) {
            out.extend(insert.text.encode_utf16());
        }
        if !in_code[at] && needs_escape(&units, at, &marked) {
            out.push(unit('\\'));
        }
        out.push(c);
    }
    for insert in next {
        out.extend(insert.text.encode_utf16());
    }
    String::from_utf16_lossy(&out)
}

/// Whether the character at `at` would be read as markup if written as it is.
fn needs_escape(text: &[u16], at: usize, marked: &std::collections::HashSet<usize>) -> bool {
    let c = text[at];
    match char::from_u32(u32::from(c)) {
        Some('\\' | '`' | '[' | ']') => true,
        Some('>') => at == 0 || text[at - 1] == unit('\n') || marked.contains(&at),
        Some('*' | '_' | '-' | '~' | '|') => {
            (at > 0 && text[at - 1] == c)
                || text.get(at + 1) == Some(&c)
                || marked.contains(&at)
                || marked.contains(&(at + 1))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtproto_api::types;

    fn entities(markdown: &str) -> (String, Vec<(Kind, usize, usize)>) {
        let (text, entities) = parse(markdown);
        let spans = entities
            .iter()
            .map(|e| {
                let s = Span::of(e).expect("a span");
                (s.kind, s.offset, s.length)
            })
            .collect();
        (text, spans)
    }

    fn round_trip(markdown: &str) {
        let (text, entities) = parse(markdown);
        let again = unparse(&text, &entities);
        assert_eq!(parse(&again), (text, entities), "{markdown:?} → {again:?}");
    }

    #[test]
    fn emoji_and_astral_text_count_in_utf16() {
        let (text, spans) = entities("👍 **bold** 𝒜 __it__");
        assert_eq!(text, "👍 bold 𝒜 it");
        assert_eq!(spans, [(Kind::Bold, 3, 4), (Kind::Italic, 11, 2)]);
        assert_eq!(
            unparse(&text, &parse("👍 **bold** 𝒜 __it__").1),
            "👍 **bold** 𝒜 __it__"
        );
        let (text, spans) = entities("**𝒜𝒜**");
        assert_eq!((text.as_str(), spans), ("𝒜𝒜", vec![(Kind::Bold, 0, 4)]));
    }

    #[test]
    fn nested_and_overlapping_entities() {
        let (text, spans) = entities("**bold __both__** ~~s||p||~~");
        assert_eq!(text, "bold both sp");
        assert_eq!(
            spans,
            [
                (Kind::Bold, 0, 9),
                (Kind::Italic, 5, 4),
                (Kind::Strike, 10, 2),
                (Kind::Spoiler, 11, 1)
            ]
        );
        let (text, spans) = entities("**ab __cd** ef__");
        assert_eq!(text, "ab cd ef");
        assert_eq!(spans, [(Kind::Bold, 0, 5), (Kind::Italic, 3, 5)]);
        let (text, spans) = entities("[**b** c](https://x.org)");
        assert_eq!(text, "b c");
        assert_eq!(
            spans,
            [
                (Kind::TextUrl("https://x.org".into()), 0, 3),
                (Kind::Bold, 0, 1)
            ]
        );
    }

    #[test]
    fn code_pre_links_mentions_quotes() {
        let (text, spans) = entities("`a **b**` ```rust\nfn x() {}``` ```\nplain```");
        assert_eq!(text, "a **b** fn x() {} plain");
        assert_eq!(
            spans,
            [
                (Kind::Code, 0, 7),
                (Kind::Pre("rust".into()), 8, 9),
                (Kind::Pre(String::new()), 18, 5)
            ]
        );
        let (text, spans) = entities("hi [Bob](tg://user?id=12) and [x](https://a.b/c_(d%29)");
        assert_eq!(text, "hi Bob and x");
        assert_eq!(
            spans,
            [
                (Kind::MentionName(12), 3, 3),
                (Kind::TextUrl("https://a.b/c_(d%29".into()), 11, 1)
            ]
        );
        let (text, spans) = entities("> one\n>two **b**\nthree\n> four");
        assert_eq!(text, "one\ntwo b\nthree\nfour");
        assert_eq!(
            spans,
            [
                (Kind::Blockquote { collapsed: false }, 0, 9),
                (Kind::Bold, 8, 1),
                (Kind::Blockquote { collapsed: false }, 16, 4)
            ]
        );
    }

    #[test]
    fn malformed_markup_is_text() {
        for input in [
            "**",
            "** x",
            "a ** b",
            "[a](b",
            "[a]",
            "[",
            "`",
            "```",
            "``` x",
            "a\\",
            "\\",
            "__a **b__",
            ">",
            "> ",
            ">\n>",
            "[](",
            "[]()",
            "**👍",
            "👍**",
            "--",
            "a -- b",
        ] {
            let (text, entities) = parse(input);
            assert!(text.len() <= input.len(), "{input:?}");
            for e in &entities {
                let s = Span::of(e).expect("non-empty");
                assert!(
                    s.offset + s.length <= super::super::utf16_len(&text),
                    "{input:?}"
                );
            }
        }
        assert_eq!(parse("a ** b").0, "a ** b");
        assert_eq!(parse("[a](b").0, "[a](b");
        assert_eq!(parse("C:\\path").0, "C:\\path");
        assert_eq!(parse("\\*\\*not bold\\*\\*").0, "**not bold**");
    }

    #[test]
    fn round_trips() {
        for input in [
            "👍 **bold** 𝒜",
            "**bold __both__** ~~s||p||~~ --u--",
            "**ab __cd** ef__",
            "[**b** c](https://x.org) [Bob](tg://user?id=12)",
            "`a **b**` ```rust\nfn x() {}``` ```\nplain```",
            "> one\n> two **b**\nthree\n> four",
            "2*3 = 6 \\*\\* a_b c__d \\[x\\] \\`q\\` \\\\ \\-\\-",
            "\\> not a quote\n> a quote",
            "**a\\***",
            "𝒜**𝒜**𝒜",
        ] {
            round_trip(input);
        }
        let text = "x".repeat(3) + "👍";
        let entities = vec![enums::MessageEntity::Bold(types::MessageEntityBold {
            offset: 1,
            length: 3,
        })];
        // An entity ending inside the emoji's surrogate pair ends after it.
        assert_eq!(unparse(&text, &entities), "x**xx👍**");
    }

    fn check(input: &str) {
        let (text, entities) = parse(input);
        let len = super::super::utf16_len(&text);
        for e in &entities {
            let s = Span::of(e).expect("non-empty");
            assert!(s.offset + s.length <= len, "{input:?}");
        }
        let _ = unparse(input, &entities);
        let again = unparse(&text, &entities);
        let _ = parse(&again);
    }

    #[test]
    fn arbitrary_strings_never_panic() {
        let alphabet: Vec<char> = "*_-~|`[]()>\\ \na👍𝒜tg:/?id=1".chars().collect();
        // Every string of up to three characters, then longer ones drawn at random.
        for a in &alphabet {
            for b in &alphabet {
                for c in &alphabet {
                    check(&format!("{a}"));
                    check(&format!("{a}{b}"));
                    check(&format!("{a}{b}{c}"));
                }
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 32) as usize;
            let input: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            check(&input);
        }
    }
}
