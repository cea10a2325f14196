//! What a message carries besides its text, as the store keeps it: formatting entities and a
//! bot's keyboard, each the TL serialization (layer 229) of what the client sent
//! (`Vector<MessageEntity>`, `ReplyMarkup`). Only bots attach keyboards: a person's
//! `reply_markup` is ignored, as Telegram's clients only offer keyboards to bots.

use crate::rpc::RpcError;
use crate::state::Node;
use crate::store::Extras;
use mtproto_api::enums;
use std::sync::Arc;
use tl_runtime::{Deserialize, Serialize};

/// The stored form of a message's entities (`None` for none).
pub(crate) fn entities_bytes(entities: Option<&Vec<enums::MessageEntity>>) -> Option<Vec<u8>> {
    entities.filter(|e| !e.is_empty()).map(|e| e.to_bytes())
}

/// The stored form of a keyboard.
pub(crate) fn markup_bytes(markup: Option<&enums::ReplyMarkup>) -> Option<Vec<u8>> {
    markup.map(Serialize::to_bytes)
}

/// A message's entities from the store (what does not decode is left out: logged).
pub(crate) fn entities_tl(bytes: Option<&[u8]>) -> Option<Vec<enums::MessageEntity>> {
    let bytes = bytes?;
    match Vec::<enums::MessageEntity>::from_bytes(bytes.to_vec()) {
        Ok(entities) => Some(entities),
        Err(e) => {
            tracing::warn!("stored message entities do not decode: {e}");
            None
        }
    }
}

/// A message's keyboard from the store (what does not decode is left out: logged).
pub(crate) fn markup_tl(bytes: Option<&[u8]>) -> Option<enums::ReplyMarkup> {
    let bytes = bytes?;
    match enums::ReplyMarkup::from_bytes(bytes.to_vec()) {
        Ok(markup) => Some(markup),
        Err(e) => {
            tracing::warn!("a stored keyboard does not decode: {e}");
            None
        }
    }
}

/// Whether `user` is a bot.
pub(crate) async fn is_bot(server: &Arc<Node>, user: i64) -> Result<bool, RpcError> {
    let found = server.store.run(move |s| s.user(user)).await?;
    Ok(found.is_some_and(|u| u.bot_info_version.is_some()))
}

/// The keyboard `sender` may attach: a bot's, none for a person.
pub(crate) async fn senders_markup(
    server: &Arc<Node>,
    sender: i64,
    markup: Option<&enums::ReplyMarkup>,
) -> Result<Option<Vec<u8>>, RpcError> {
    match markup {
        Some(markup) if is_bot(server, sender).await? => Ok(markup_bytes(Some(markup))),
        _ => Ok(None),
    }
}

/// The [`Extras`] of a new message: its reply, entities and (a bot's) keyboard.
pub(crate) async fn extras(
    server: &Arc<Node>,
    sender: i64,
    reply_to: Option<i32>,
    entities: Option<&Vec<enums::MessageEntity>>,
    markup: Option<&enums::ReplyMarkup>,
) -> Result<Extras, RpcError> {
    Ok(Extras {
        reply_to,
        entities: entities_bytes(entities),
        reply_markup: senders_markup(server, sender, markup).await?,
        ..Extras::default()
    })
}

/// The callback button data of an inline keyboard, in order (what a user may press).
pub(crate) fn callback_data(markup: &enums::ReplyMarkup) -> Vec<&[u8]> {
    let enums::ReplyMarkup::ReplyInlineMarkup(inline) = markup else {
        return Vec::new();
    };
    inline
        .rows
        .iter()
        .flat_map(|row| {
            let enums::KeyboardInlineButtonRow::KeyboardInlineButtonRow(row) = row;
            row.buttons.iter()
        })
        .filter_map(|button| {
            let enums::KeyboardInlineButton::KeyboardInlineButton(button) = button;
            match &button.r#type {
                enums::InlineButtonType::Callback(c) => Some(&c.data[..]),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtproto_api::types;

    fn keyboard() -> enums::ReplyMarkup {
        let button = |text: &str, r#type: enums::InlineButtonType| {
            enums::KeyboardInlineButton::from(types::KeyboardInlineButton {
                style: None,
                text: text.into(),
                r#type,
            })
        };
        types::ReplyInlineMarkup {
            force_reply: false,
            rows: vec![
                types::KeyboardInlineButtonRow {
                    buttons: vec![
                        button(
                            "A",
                            types::InlineButtonTypeCallback {
                                requires_password: false,
                                data: b"a".to_vec().into(),
                            }
                            .into(),
                        ),
                        button(
                            "site",
                            types::InlineButtonTypeUrl {
                                url: "https://example.com".into(),
                            }
                            .into(),
                        ),
                    ],
                }
                .into(),
                types::KeyboardInlineButtonRow {
                    buttons: vec![button(
                        "B",
                        types::InlineButtonTypeCallback {
                            requires_password: false,
                            data: b"b".to_vec().into(),
                        }
                        .into(),
                    )],
                }
                .into(),
            ],
        }
        .into()
    }

    #[test]
    fn keyboards_and_entities_survive_the_store_and_list_their_callbacks() {
        let markup = keyboard();
        let stored = markup_bytes(Some(&markup)).unwrap();
        let back = markup_tl(Some(&stored)).unwrap();
        assert_eq!(back, markup);
        assert_eq!(callback_data(&back), vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(markup_tl(Some(&[1, 2, 3])), None);
        let entities = vec![enums::MessageEntity::from(types::MessageEntityBold {
            offset: 0,
            length: 4,
        })];
        let stored = entities_bytes(Some(&entities)).unwrap();
        assert_eq!(entities_tl(Some(&stored)), Some(entities));
        assert_eq!(entities_bytes(Some(&Vec::new())), None);
    }
}
