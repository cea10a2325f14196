//! Formatted text: `parse_mode` (HTML with the client SDK's parser; MarkdownV2 and the legacy
//! Markdown here, as the Bot API documents them) and `entities` (the Bot API's
//! `MessageEntity` objects) into the services' entities, and stored entities back into the
//! Bot API's objects. Offsets and lengths count UTF-16 units, as Telegram's.

use crate::error::ApiError;
use client_sdk::parse_mode::{html, utf16_len};
use mtproto_api::{enums, types};
use serde_json::{Map, Value, json};

/// The text and entities `text` stands for in `parse_mode` (`None`: plain).
pub fn parse(
    text: &str,
    parse_mode: Option<&str>,
) -> Result<(String, Vec<enums::MessageEntity>), ApiError> {
    match parse_mode {
        None | Some("") => Ok((text.to_owned(), Vec::new())),
        Some(mode) if mode.eq_ignore_ascii_case("html") => Ok(html::parse(text)),
        Some(mode) if mode.eq_ignore_ascii_case("markdownv2") => markdown(text, true),
        Some(mode) if mode.eq_ignore_ascii_case("markdown") => markdown(text, false),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unsupported parse_mode \"{other}\""
        ))),
    }
}

/// What an open MarkdownV2 marker makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Bold,
    Italic,
    Underline,
    Strike,
    Spoiler,
    Link,
}

fn cant_parse(what: &str) -> ApiError {
    ApiError::BadRequest(format!("can't parse entities: {what}"))
}

/// MarkdownV2 (`v2`) or the legacy Markdown: `*bold*`, `_italic_`, `` `code` ``,
/// ```` ```pre``` ```` (a language on the opening line), `[text](url)`; in V2 also
/// `__underline__`, `~strike~`, `||spoiler||`, and `\` before any character makes it text.
fn markdown(input: &str, v2: bool) -> Result<(String, Vec<enums::MessageEntity>), ApiError> {
    let chars: Vec<char> = input.chars().collect();
    let mut text = String::new();
    let mut at = 0usize; // UTF-16 length of `text`
    let mut open: Vec<(Marker, usize)> = Vec::new();
    let mut entities: Vec<enums::MessageEntity> = Vec::new();
    let mut i = 0;
    let push = |text: &mut String, at: &mut usize, c: char| {
        text.push(c);
        *at += c.len_utf16();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let escapable = |c: char| v2 || matches!(c, '_' | '*' | '`' | '[');
        match c {
            '\\' if next.is_some_and(escapable) => {
                push(&mut text, &mut at, next.unwrap_or_default());
                i += 2;
                continue;
            }
            '`' => {
                let fence = next == Some('`') && chars.get(i + 2) == Some(&'`');
                let (start, marker_len) = if fence { (i + 3, 3) } else { (i + 1, 1) };
                let mut j = start;
                let mut body = String::new();
                loop {
                    match chars.get(j) {
                        None => return Err(cant_parse("can't find end of code entity")),
                        Some('\\') if v2 && matches!(chars.get(j + 1), Some('`' | '\\')) => {
                            body.push(chars[j + 1]);
                            j += 2;
                        }
                        Some('`')
                            if !fence
                                || (chars.get(j + 1) == Some(&'`')
                                    && chars.get(j + 2) == Some(&'`')) =>
                        {
                            break;
                        }
                        Some(&other) => {
                            body.push(other);
                            j += 1;
                        }
                    }
                }
                let mut language = String::new();
                if fence {
                    if let Some((first, rest)) = body.split_once('\n') {
                        if !first.is_empty() && !first.contains(char::is_whitespace) {
                            language = first.to_owned();
                            body = rest.to_owned();
                        }
                    }
                }
                let offset = at;
                for ch in body.chars() {
                    push(&mut text, &mut at, ch);
                }
                let (offset, length) = (offset as i32, (at - offset) as i32);
                if length > 0 {
                    entities.push(if fence {
                        types::MessageEntityPre {
                            offset,
                            length,
                            language,
                        }
                        .into()
                    } else {
                        types::MessageEntityCode { offset, length }.into()
                    });
                }
                i = j + marker_len;
                continue;
            }
            '[' => {
                open.push((Marker::Link, at));
                i += 1;
                continue;
            }
            ']' if next == Some('(') && open.iter().any(|(m, _)| *m == Marker::Link) => {
                let mut j = i + 2;
                let mut url = String::new();
                loop {
                    match chars.get(j) {
                        None => return Err(cant_parse("can't find end of a URL")),
                        Some('\\') if v2 && chars.get(j + 1).is_some() => {
                            url.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(')') => break,
                        Some(&other) => {
                            url.push(other);
                            j += 1;
                        }
                    }
                }
                let Some(pos) = open.iter().rposition(|(m, _)| *m == Marker::Link) else {
                    return Err(cant_parse("unexpected ]"));
                };
                let (_, start) = open.remove(pos);
                if at > start {
                    entities.push(
                        types::MessageEntityTextUrl {
                            offset: start as i32,
                            length: (at - start) as i32,
                            url,
                        }
                        .into(),
                    );
                }
                i = j + 1;
                continue;
            }
            _ => {}
        }
        let marker = match (c, next) {
            ('*', _) => Some((Marker::Bold, 1)),
            ('_', Some('_')) if v2 => Some((Marker::Underline, 2)),
            ('_', _) => Some((Marker::Italic, 1)),
            ('~', _) if v2 => Some((Marker::Strike, 1)),
            ('|', Some('|')) if v2 => Some((Marker::Spoiler, 2)),
            _ => None,
        };
        let Some((marker, width)) = marker else {
            if v2 && "[]()>#+-=|{}.!".contains(c) {
                return Err(cant_parse(&format!(
                    "character '{c}' is reserved and must be escaped with the preceding '\\'"
                )));
            }
            push(&mut text, &mut at, c);
            i += 1;
            continue;
        };
        match open.iter().rposition(|(m, _)| *m == marker) {
            Some(pos) => {
                let (_, start) = open.remove(pos);
                if at > start {
                    entities.extend(span_entity(marker, start as i32, (at - start) as i32));
                }
            }
            None => open.push((marker, at)),
        }
        i += width;
    }
    if let Some((marker, _)) = open.first() {
        return Err(cant_parse(&format!("can't find end of {marker:?} entity")));
    }
    entities.sort_by_key(offset_of);
    Ok((text, entities))
}

/// The entity a closed span marker makes (links are made where they close, on `](`).
fn span_entity(marker: Marker, offset: i32, length: i32) -> Option<enums::MessageEntity> {
    Some(match marker {
        Marker::Bold => types::MessageEntityBold { offset, length }.into(),
        Marker::Italic => types::MessageEntityItalic { offset, length }.into(),
        Marker::Underline => types::MessageEntityUnderline { offset, length }.into(),
        Marker::Strike => types::MessageEntityStrike { offset, length }.into(),
        Marker::Spoiler => types::MessageEntitySpoiler { offset, length }.into(),
        Marker::Link => return None,
    })
}

/// An entity's offset.
fn offset_of(e: &enums::MessageEntity) -> i32 {
    entity_json(e)
        .and_then(|j| j["offset"].as_i64())
        .unwrap_or(0) as i32
}

/// The Bot API's `entities` parameter as the services take it.
pub fn entities_tl(entities: &[Value]) -> Result<Vec<enums::MessageEntity>, ApiError> {
    entities.iter().map(entity_tl).collect()
}

fn entity_tl(entity: &Value) -> Result<enums::MessageEntity, ApiError> {
    let bad = |what: &str| ApiError::BadRequest(format!("can't parse entities: {what}"));
    let object: &Map<String, Value> = entity.as_object().ok_or_else(|| bad("object expected"))?;
    let int = |name: &str| -> Result<i32, ApiError> {
        object
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| *v >= 0)
            .ok_or_else(|| bad(&format!("field \"{name}\" must be a non-negative integer")))
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
    let (offset, length) = (int("offset")?, int("length")?);
    let kind = text("type").ok_or_else(|| bad("field \"type\" must be a string"))?;
    Ok(match kind.as_str() {
        "mention" => types::MessageEntityMention { offset, length }.into(),
        "hashtag" => types::MessageEntityHashtag { offset, length }.into(),
        "cashtag" => types::MessageEntityCashtag { offset, length }.into(),
        "bot_command" => types::MessageEntityBotCommand { offset, length }.into(),
        "url" => types::MessageEntityUrl { offset, length }.into(),
        "email" => types::MessageEntityEmail { offset, length }.into(),
        "phone_number" => types::MessageEntityPhone { offset, length }.into(),
        "bold" => types::MessageEntityBold { offset, length }.into(),
        "italic" => types::MessageEntityItalic { offset, length }.into(),
        "underline" => types::MessageEntityUnderline { offset, length }.into(),
        "strikethrough" => types::MessageEntityStrike { offset, length }.into(),
        "spoiler" => types::MessageEntitySpoiler { offset, length }.into(),
        "code" => types::MessageEntityCode { offset, length }.into(),
        "blockquote" | "expandable_blockquote" => types::MessageEntityBlockquote {
            collapsed: kind == "expandable_blockquote",
            offset,
            length,
        }
        .into(),
        "pre" => types::MessageEntityPre {
            offset,
            length,
            language: text("language").unwrap_or_default(),
        }
        .into(),
        "text_link" => types::MessageEntityTextUrl {
            offset,
            length,
            url: text("url").ok_or_else(|| bad("a text_link needs a url"))?,
        }
        .into(),
        "text_mention" => types::MessageEntityMentionName {
            offset,
            length,
            user_id: object
                .get("user")
                .and_then(|u| u["id"].as_i64())
                .ok_or_else(|| bad("a text_mention needs a user"))?,
        }
        .into(),
        "custom_emoji" => types::MessageEntityCustomEmoji {
            offset,
            length,
            document_id: text("custom_emoji_id")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| bad("a custom_emoji needs its id"))?,
        }
        .into(),
        other => return Err(bad(&format!("unsupported entity type \"{other}\""))),
    })
}

/// A stored entity as the Bot API's `MessageEntity` (`None` for kinds it has no name for).
pub fn entity_json(e: &enums::MessageEntity) -> Option<Value> {
    use enums::MessageEntity as E;
    let plain = |kind: &str, offset: i32, length: i32| json!({ "type": kind, "offset": offset, "length": length });
    Some(match e {
        E::Mention(e) => plain("mention", e.offset, e.length),
        E::Hashtag(e) => plain("hashtag", e.offset, e.length),
        E::Cashtag(e) => plain("cashtag", e.offset, e.length),
        E::BotCommand(e) => plain("bot_command", e.offset, e.length),
        E::Url(e) => plain("url", e.offset, e.length),
        E::Email(e) => plain("email", e.offset, e.length),
        E::Phone(e) => plain("phone_number", e.offset, e.length),
        E::Bold(e) => plain("bold", e.offset, e.length),
        E::Italic(e) => plain("italic", e.offset, e.length),
        E::Underline(e) => plain("underline", e.offset, e.length),
        E::Strike(e) => plain("strikethrough", e.offset, e.length),
        E::Spoiler(e) => plain("spoiler", e.offset, e.length),
        E::Code(e) => plain("code", e.offset, e.length),
        E::Blockquote(e) => plain(
            if e.collapsed {
                "expandable_blockquote"
            } else {
                "blockquote"
            },
            e.offset,
            e.length,
        ),
        E::Pre(e) => {
            let mut pre = plain("pre", e.offset, e.length);
            if !e.language.is_empty() {
                pre["language"] = e.language.clone().into();
            }
            pre
        }
        E::TextUrl(e) => {
            let mut link = plain("text_link", e.offset, e.length);
            link["url"] = e.url.clone().into();
            link
        }
        E::MentionName(e) => {
            let mut mention = plain("text_mention", e.offset, e.length);
            mention["user"] = json!({ "id": e.user_id, "is_bot": false, "first_name": "" });
            mention
        }
        E::CustomEmoji(e) => {
            let mut emoji = plain("custom_emoji", e.offset, e.length);
            emoji["custom_emoji_id"] = e.document_id.to_string().into();
            emoji
        }
        _ => return None,
    })
}

/// Whether a text's length (UTF-16 units) covers an entity at `offset` + `length`.
pub fn fits(text: &str, entities: &[enums::MessageEntity]) -> bool {
    let len = utf16_len(text);
    entities.iter().all(|e| {
        entity_json(e).is_none_or(|j| {
            let end = j["offset"].as_u64().unwrap_or(0) + j["length"].as_u64().unwrap_or(0);
            end as usize <= len
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(entities: &[enums::MessageEntity]) -> Vec<Value> {
        entities.iter().filter_map(entity_json).collect()
    }

    #[test]
    fn markdown_v2_makes_entities_in_utf16_units() {
        let (text, entities) = parse(
            "👍 *bold* _it_ __under__ ~s~ ||sp|| `c\\`d` [link](https://x.org/a\\)b) 1\\.5",
            Some("MarkdownV2"),
        )
        .unwrap();
        assert_eq!(text, "👍 bold it under s sp c`d link 1.5");
        assert_eq!(
            kinds(&entities),
            vec![
                json!({ "type": "bold", "offset": 3, "length": 4 }),
                json!({ "type": "italic", "offset": 8, "length": 2 }),
                json!({ "type": "underline", "offset": 11, "length": 5 }),
                json!({ "type": "strikethrough", "offset": 17, "length": 1 }),
                json!({ "type": "spoiler", "offset": 19, "length": 2 }),
                json!({ "type": "code", "offset": 22, "length": 3 }),
                json!({ "type": "text_link", "offset": 26, "length": 4, "url": "https://x.org/a)b" }),
            ]
        );
        let (text, entities) = parse("```rust\nfn main() {}\n```", Some("MarkdownV2")).unwrap();
        assert_eq!(text, "fn main() {}\n");
        assert_eq!(
            kinds(&entities),
            vec![json!({ "type": "pre", "offset": 0, "length": 13, "language": "rust" })]
        );
    }

    #[test]
    fn markdown_v2_refuses_what_telegram_refuses() {
        for bad in ["*open", "1.5", "a_b", "`x"] {
            assert!(parse(bad, Some("MarkdownV2")).is_err(), "{bad}");
        }
        // The legacy Markdown has no reserved characters.
        assert_eq!(parse("1.5 *b*", Some("Markdown")).unwrap().0, "1.5 b");
        assert!(parse("x", Some("Klingon")).is_err());
    }

    #[test]
    fn html_and_entities_go_through() {
        let (text, entities) =
            parse("<b>hi</b> <a href=\"https://x.org\">x</a>", Some("HTML")).unwrap();
        assert_eq!(text, "hi x");
        let json = kinds(&entities);
        assert_eq!(json[0], json!({ "type": "bold", "offset": 0, "length": 2 }));
        assert_eq!(json[1]["url"], "https://x.org");
        let back = entities_tl(&json).unwrap();
        assert_eq!(back, entities);
        assert!(fits(&text, &entities));
        assert!(!fits("h", &entities));
        assert!(entities_tl(&[json!({ "type": "nope", "offset": 0, "length": 1 })]).is_err());
        assert!(entities_tl(&[json!({ "type": "bold", "offset": -1, "length": 1 })]).is_err());
    }
}
