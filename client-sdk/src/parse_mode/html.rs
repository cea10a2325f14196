//! Telegram's HTML subset, read with the WHATWG tokenizer of the `html5gum` crate.
//!
//! | markup | entity |
//! | --- | --- |
//! | `<b>`, `<strong>` | bold |
//! | `<i>`, `<em>` | italic |
//! | `<u>`, `<ins>` | underline |
//! | `<s>`, `<del>`, `<strike>` | strikethrough |
//! | `<tg-spoiler>`, `<span class="tg-spoiler">` | spoiler |
//! | `<code>` | code |
//! | `<pre>`, `<pre><code class="language-rust">` | pre, with the language |
//! | `<a href="https://…">` | text link |
//! | `<a href="tg://user?id=42">` | mention of user 42 (`messageEntityMentionName`) |
//! | `<a href="mailto:…">` | email |
//! | `<blockquote>`, `<blockquote expandable>` | blockquote (collapsed) |
//! | `<tg-emoji emoji-id="…">` | custom emoji |
//!
//! Other tags are dropped and their text kept; `&amp;`-style references are decoded. Entities
//! follow the tags by name, as in Telethon: `<b>a<i>b</b>c</i>` is a bold `ab` and an italic
//! `bc`. A tag of a name already open does not start a second entity. Parsing never fails.
//!
//! Where this differs from `telethon.extensions.html.parse`:
//! - `<tg-spoiler>`, `<span class="tg-spoiler">`, `<ins>` and `<strike>` are entities (as in
//!   the Bot API; Telethon drops them);
//! - `tg://user?id=N` links are mentions (Telethon makes a text link, which its client turns
//!   into a mention when sending);
//! - malformed markup follows the WHATWG tokenizer, not Python's `HTMLParser`: a `<` that
//!   starts no tag is text (Telethon drops an unfinished tag at the end).

use super::{Insert, Kind, Rank, Span, mention_id, order, spans_of, strip};
use html5gum::{Token, Tokenizer};
use mtproto_api::enums;
use std::collections::HashMap;

/// The entity kind a start tag opens, if any.
fn kind_of(name: &str, attr: impl Fn(&str) -> Option<String>) -> Option<Kind> {
    Some(match name {
        "b" | "strong" => Kind::Bold,
        "i" | "em" => Kind::Italic,
        "u" | "ins" => Kind::Underline,
        "s" | "del" | "strike" => Kind::Strike,
        "tg-spoiler" => Kind::Spoiler,
        "span" if attr("class").as_deref() == Some("tg-spoiler") => Kind::Spoiler,
        "blockquote" => Kind::Blockquote {
            collapsed: attr("expandable").is_some(),
        },
        "code" => Kind::Code,
        "pre" => Kind::Pre(String::new()),
        "a" => {
            let url = attr("href")?;
            if url.starts_with("mailto:") {
                Kind::Email
            } else if let Some(id) = mention_id(&url) {
                Kind::MentionName(id)
            } else {
                Kind::TextUrl(url)
            }
        }
        "tg-emoji" => Kind::CustomEmoji(attr("emoji-id")?.parse().ok()?),
        _ => return None,
    })
}

/// The text and entities that `html` stands for.
///
/// ```
/// use client_sdk::parse_mode::html;
/// use mtproto_api::{enums::MessageEntity, types};
/// let (text, entities) = html::parse("<b>Hi</b> <a href='tg://user?id=7'>you</a> &amp; 👍");
/// assert_eq!(text, "Hi you & 👍");
/// assert_eq!(entities, [
///     MessageEntity::Bold(types::MessageEntityBold { offset: 0, length: 2 }),
///     MessageEntity::MentionName(types::MessageEntityMentionName {
///         offset: 3, length: 3, user_id: 7,
///     }),
/// ]);
/// ```
pub fn parse(html: &str) -> (String, Vec<enums::MessageEntity>) {
    let mut text: Vec<u16> = Vec::with_capacity(html.len());
    // Entities being built, by the tag name that opened them.
    let mut building: HashMap<String, Span> = HashMap::new();
    let mut done: Vec<Span> = Vec::new();
    for token in Tokenizer::new(html).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).into_owned();
                let attr = |key: &str| {
                    tag.attributes
                        .get(key.as_bytes())
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                };
                if name == "code" {
                    if let Some(pre) = building.get_mut("pre") {
                        // <pre><code class="language-…">: the pre's language, not a code.
                        if let Some(language) = attr("class")
                            .and_then(|c| c.strip_prefix("language-").map(String::from))
                        {
                            pre.kind = Kind::Pre(language);
                        }
                        continue;
                    }
                }
                if tag.self_closing || building.contains_key(&name) {
                    continue;
                }
                if let Some(kind) = kind_of(&name, attr) {
                    building.insert(
                        name,
                        Span {
                            kind,
                            offset: text.len(),
                            length: 0,
                        },
                    );
                }
            }
            Token::EndTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name);
                if let Some(span) = building.remove(name.as_ref()) {
                    done.push(span);
                }
            }
            Token::String(s) => {
                let s = String::from_utf8_lossy(&s);
                let before = text.len();
                text.extend(s.encode_utf16());
                let added = text.len() - before;
                for span in building.values_mut() {
                    span.length += added;
                }
            }
            Token::Comment(_) | Token::Doctype(_) | Token::Error(_) => {}
        }
    }
    strip(&mut text, &mut done);
    // Telethon's order: by offset, and at the same offset the one closed last first.
    done.reverse();
    done.sort_by_key(|s| s.offset);
    let entities = done.into_iter().map(Span::into_entity).collect();
    (String::from_utf16_lossy(&text), entities)
}

/// `s` with `&`, `<`, `>` and `"` written as references.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// HTML that [`parse`] reads as `text` with `entities` (the Bot API's tags).
///
/// ```
/// use client_sdk::parse_mode::html;
/// let (text, entities) = html::parse("<b>a <i>b</i></b> <pre><code class=\"language-rs\">x</code></pre>");
/// assert_eq!(
///     html::unparse(&text, &entities),
///     "<b>a <i>b</i></b> <pre><code class=\"language-rs\">x</code></pre>",
/// );
/// assert_eq!(html::unparse("1 < 2 & 3", &[]), "1 &lt; 2 &amp; 3");
/// ```
pub fn unparse(text: &str, entities: &[enums::MessageEntity]) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut inserts = Vec::new();
    for (index, span) in spans_of(entities, units.len()).into_iter().enumerate() {
        let mut attr = String::new();
        let (open, close) = match &span.kind {
            Kind::Bold => ("<b>".to_string(), "</b>".to_string()),
            Kind::Italic => ("<i>".into(), "</i>".into()),
            Kind::Underline => ("<u>".into(), "</u>".into()),
            Kind::Strike => ("<s>".into(), "</s>".into()),
            Kind::Spoiler => ("<tg-spoiler>".into(), "</tg-spoiler>".into()),
            Kind::Code => ("<code>".into(), "</code>".into()),
            Kind::Pre(language) if language.is_empty() => ("<pre>".into(), "</pre>".into()),
            Kind::Pre(language) => {
                escape(language, &mut attr);
                (
                    format!("<pre><code class=\"language-{attr}\">"),
                    "</code></pre>".into(),
                )
            }
            Kind::TextUrl(url) => {
                escape(url, &mut attr);
                (format!("<a href=\"{attr}\">"), "</a>".into())
            }
            Kind::MentionName(id) => (format!("<a href=\"tg://user?id={id}\">"), "</a>".into()),
            Kind::Email => {
                let start = span.offset.min(units.len());
                let end = span.end().min(units.len());
                escape(&String::from_utf16_lossy(&units[start..end]), &mut attr);
                (format!("<a href=\"mailto:{attr}\">"), "</a>".into())
            }
            Kind::Blockquote { collapsed: true } => {
                ("<blockquote expandable>".into(), "</blockquote>".into())
            }
            Kind::Blockquote { collapsed: false } => {
                ("<blockquote>".into(), "</blockquote>".into())
            }
            Kind::CustomEmoji(id) => (
                format!("<tg-emoji emoji-id=\"{id}\">"),
                "</tg-emoji>".into(),
            ),
        };
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
    let mut out = String::with_capacity(text.len() + inserts.len() * 8);
    let mut from = 0;
    for insert in &inserts {
        escape(&String::from_utf16_lossy(&units[from..insert.at]), &mut out);
        out.push_str(&insert.text);
        from = insert.at;
    }
    escape(&String::from_utf16_lossy(&units[from..]), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entities(html: &str) -> (String, Vec<(Kind, usize, usize)>) {
        let (text, entities) = parse(html);
        let spans = entities
            .iter()
            .map(|e| {
                let s = Span::of(e).expect("a span");
                (s.kind, s.offset, s.length)
            })
            .collect();
        (text, spans)
    }

    fn round_trip(html: &str) {
        let (text, entities) = parse(html);
        let again = unparse(&text, &entities);
        assert_eq!(parse(&again), (text, entities), "{html:?} → {again:?}");
    }

    #[test]
    fn emoji_and_astral_text_count_in_utf16() {
        let (text, spans) = entities("👍 <b>bold</b> 𝒜 <i>it</i>");
        assert_eq!(text, "👍 bold 𝒜 it");
        assert_eq!(spans, [(Kind::Bold, 3, 4), (Kind::Italic, 11, 2)]);
    }

    #[test]
    fn tags_entities_and_references() {
        let (text, spans) = entities(
            "<strong>a <em>b</em></strong> <u>c</u><ins>d</ins> <s>e</s><del>f</del> \
             <tg-spoiler>g</tg-spoiler><span class=\"tg-spoiler\">h</span> <code>i &lt;j&gt;</code>",
        );
        assert_eq!(text, "a b cd ef gh i <j>");
        assert_eq!(
            spans,
            [
                (Kind::Bold, 0, 3),
                (Kind::Italic, 2, 1),
                (Kind::Underline, 4, 1),
                (Kind::Underline, 5, 1),
                (Kind::Strike, 7, 1),
                (Kind::Strike, 8, 1),
                (Kind::Spoiler, 10, 1),
                (Kind::Spoiler, 11, 1),
                (Kind::Code, 13, 5),
            ]
        );
        let (text, spans) = entities(
            "<pre><code class=\"language-rust\">fn x() {}</code></pre> <a href=\"https://x.org/?a=1&amp;b=2\">l</a> \
             <a href=\"tg://user?id=5\">m</a> <a href=\"mailto:a@b.c\">a@b.c</a> <a>plain</a> \
             <blockquote expandable>q</blockquote> <tg-emoji emoji-id=\"99\">👍</tg-emoji>",
        );
        assert_eq!(text, "fn x() {} l m a@b.c plain q 👍");
        assert_eq!(
            spans,
            [
                (Kind::Pre("rust".into()), 0, 9),
                (Kind::TextUrl("https://x.org/?a=1&b=2".into()), 10, 1),
                (Kind::MentionName(5), 12, 1),
                (Kind::Email, 14, 5),
                (Kind::Blockquote { collapsed: true }, 26, 1),
                (Kind::CustomEmoji(99), 28, 2),
            ]
        );
    }

    #[test]
    fn misnested_and_malformed_markup() {
        let (text, spans) = entities("<b>a<i>b</b>c</i>");
        assert_eq!(text, "abc");
        assert_eq!(spans, [(Kind::Bold, 0, 2), (Kind::Italic, 1, 2)]);
        // Unclosed tags make no entity; unknown tags are dropped.
        assert_eq!(entities("<b>open <x>y</x>"), ("open y".into(), vec![]));
        for input in [
            "<",
            "<b",
            "</",
            "a < b",
            "<a href=",
            "&",
            "&amp",
            "&#xD800;",
            "<!--",
            "<b></b>",
            "<pre><code>",
            "<tg-emoji emoji-id=x>y</tg-emoji>",
            "\u{0}",
            "<b>👍",
        ] {
            let (text, entities) = parse(input);
            for e in &entities {
                let s = Span::of(e).expect("non-empty");
                assert!(
                    s.offset + s.length <= super::super::utf16_len(&text),
                    "{input:?}"
                );
            }
        }
    }

    #[test]
    fn round_trips() {
        for input in [
            "👍 <b>bold</b> 𝒜",
            "<b>a<i>b</b>c</i> &lt;tag&gt; &amp; \"q\"",
            "<pre><code class=\"language-rust\">fn x() {}</code></pre> <pre>raw</pre>",
            "<a href=\"https://x.org/?a=1&amp;b=2\">l</a> <a href=\"tg://user?id=5\">m</a>",
            "<blockquote>one\ntwo</blockquote> <blockquote expandable>x</blockquote>",
            "<tg-spoiler>s</tg-spoiler> <u>u</u> <s>s</s> <code>c</code> <a href=\"mailto:a@b.c\">a@b.c</a>",
            "<tg-emoji emoji-id=\"99\">👍</tg-emoji>",
        ] {
            round_trip(input);
        }
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
        assert_eq!(parse(&again).0, text, "{input:?} → {again:?}");
    }

    #[test]
    fn arbitrary_strings_never_panic() {
        let pieces = [
            "<",
            ">",
            "/",
            "b",
            "i",
            "a",
            " href=",
            "\"",
            "'",
            "&",
            "amp;",
            "#x1F44D;",
            "pre",
            "code",
            " class=language-x",
            "tg://user?id=1",
            "👍",
            "𝒜",
            " ",
            "\n",
            "=",
            "!--",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    check(&format!("{a}{b}{c}"));
                }
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 16) as usize;
            let input: String = (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            check(&input);
        }
    }
}
