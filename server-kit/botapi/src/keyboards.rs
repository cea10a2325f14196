//! `reply_markup` as the Bot API writes it (`InlineKeyboardMarkup`, `ReplyKeyboardMarkup`,
//! `ReplyKeyboardRemove`, `ForceReply`) and as the services take it (`ReplyMarkup`), and an
//! inline keyboard back as a `Message`'s `reply_markup`.

use crate::error::ApiError;
use mtproto_api::{enums, types};
use serde_json::{Map, Value, json};

/// The longest callback data, in bytes (as Telegram's).
pub const MAX_CALLBACK_DATA: usize = 64;

fn bad(what: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "can't parse reply keyboard markup JSON object: {what}"
    ))
}

/// A string member of a button or keyboard.
fn text_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A flag member (absent: `false`).
fn flag(object: &Map<String, Value>, name: &str) -> bool {
    object.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// The rows of a keyboard member: arrays of buttons.
fn rows<'a>(object: &'a Map<String, Value>, name: &str) -> Result<Vec<&'a Vec<Value>>, ApiError> {
    object
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| bad(&format!("field \"{name}\" must be an array of arrays")))?
        .iter()
        .map(|row| {
            row.as_array()
                .ok_or_else(|| bad(&format!("field \"{name}\" must be an array of arrays")))
        })
        .collect()
}

/// The `reply_markup` parameter as the services take it.
pub fn markup_tl(markup: &Map<String, Value>) -> Result<enums::ReplyMarkup, ApiError> {
    if markup.contains_key("inline_keyboard") {
        let rows = rows(markup, "inline_keyboard")?
            .into_iter()
            .map(|row| {
                let buttons = row.iter().map(inline_button).collect::<Result<_, _>>()?;
                Ok(types::KeyboardInlineButtonRow { buttons }.into())
            })
            .collect::<Result<_, ApiError>>()?;
        return Ok(types::ReplyInlineMarkup {
            force_reply: false,
            rows,
        }
        .into());
    }
    if markup.contains_key("keyboard") {
        let rows = rows(markup, "keyboard")?
            .into_iter()
            .map(|row| {
                let buttons = row.iter().map(reply_button).collect::<Result<_, _>>()?;
                Ok(types::KeyboardButtonRow { buttons }.into())
            })
            .collect::<Result<_, ApiError>>()?;
        return Ok(types::ReplyKeyboardMarkup {
            resize: flag(markup, "resize_keyboard"),
            single_use: flag(markup, "one_time_keyboard"),
            selective: flag(markup, "selective"),
            persistent: flag(markup, "is_persistent"),
            force_reply: false,
            rows,
            placeholder: text_of(markup, "input_field_placeholder"),
        }
        .into());
    }
    if flag(markup, "remove_keyboard") {
        return Ok(types::ReplyKeyboardHide {
            selective: flag(markup, "selective"),
        }
        .into());
    }
    if flag(markup, "force_reply") {
        return Ok(types::ReplyKeyboardForceReply {
            single_use: false,
            selective: flag(markup, "selective"),
            placeholder: text_of(markup, "input_field_placeholder"),
        }
        .into());
    }
    Err(bad("object expected"))
}

/// One `InlineKeyboardButton`: callback_data, url or copy_text (the kinds this server
/// serves).
fn inline_button(button: &Value) -> Result<enums::KeyboardInlineButton, ApiError> {
    let button = button
        .as_object()
        .ok_or_else(|| bad("an inline keyboard button must be an object"))?;
    let text = text_of(button, "text").ok_or_else(|| bad("button text not found"))?;
    let r#type: enums::InlineButtonType = if let Some(data) = text_of(button, "callback_data") {
        if data.is_empty() || data.len() > MAX_CALLBACK_DATA {
            return Err(ApiError::BadRequest("BUTTON_DATA_INVALID".into()));
        }
        types::InlineButtonTypeCallback {
            requires_password: false,
            data: data.into_bytes().into(),
        }
        .into()
    } else if let Some(url) = text_of(button, "url") {
        types::InlineButtonTypeUrl { url }.into()
    } else if let Some(copy) = button.get("copy_text").and_then(Value::as_object) {
        types::InlineButtonTypeCopy {
            copy_text: text_of(copy, "text").unwrap_or_default(),
        }
        .into()
    } else {
        return Err(ApiError::BadRequest(
            "inline keyboard button kind is not supported: use callback_data, url or copy_text"
                .into(),
        ));
    };
    Ok(types::KeyboardInlineButton {
        style: None,
        text,
        r#type,
    }
    .into())
}

/// One `KeyboardButton`: a string, or an object with `text` and maybe `request_contact` or
/// `request_location`.
fn reply_button(button: &Value) -> Result<enums::KeyboardButton, ApiError> {
    let (text, r#type) = match button {
        Value::String(text) => (text.clone(), enums::ButtonType::Default),
        Value::Object(button) => {
            let text = text_of(button, "text").ok_or_else(|| bad("button text not found"))?;
            let r#type = if flag(button, "request_contact") {
                enums::ButtonType::RequestPhone
            } else if flag(button, "request_location") {
                enums::ButtonType::RequestGeoLocation
            } else {
                enums::ButtonType::Default
            };
            (text, r#type)
        }
        _ => return Err(bad("a keyboard button must be a string or an object")),
    };
    Ok(types::KeyboardButton {
        style: None,
        text,
        r#type,
    }
    .into())
}

/// A message's keyboard as its `reply_markup` in the Bot API: inline keyboards only (reply
/// keyboards are not shown on messages there).
pub fn markup_json(markup: &enums::ReplyMarkup) -> Option<Value> {
    let enums::ReplyMarkup::ReplyInlineMarkup(inline) = markup else {
        return None;
    };
    let rows: Vec<Value> = inline
        .rows
        .iter()
        .map(|row| {
            let enums::KeyboardInlineButtonRow::KeyboardInlineButtonRow(row) = row;
            let buttons: Vec<Value> = row
                .buttons
                .iter()
                .map(|b| {
                    let enums::KeyboardInlineButton::KeyboardInlineButton(b) = b;
                    let mut button = json!({ "text": b.text });
                    match &b.r#type {
                        enums::InlineButtonType::Callback(c) => {
                            button["callback_data"] = String::from_utf8_lossy(&c.data).into();
                        }
                        enums::InlineButtonType::Url(u) => button["url"] = u.url.clone().into(),
                        enums::InlineButtonType::Copy(c) => {
                            button["copy_text"] = json!({ "text": c.copy_text });
                        }
                        _ => {}
                    }
                    button
                })
                .collect();
            Value::Array(buttons)
        })
        .collect();
    Some(json!({ "inline_keyboard": rows }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn inline_keyboards_go_there_and_back() {
        let sent = json!({ "inline_keyboard": [
            [{ "text": "A", "callback_data": "a" }, { "text": "site", "url": "https://x.org" }],
            [{ "text": "copy", "copy_text": { "text": "c" } }]
        ]});
        let markup = markup_tl(&object(sent.clone())).unwrap();
        assert_eq!(markup_json(&markup), Some(sent));
    }

    #[test]
    fn reply_keyboards_removal_and_force_reply() {
        let keyboard = json!({
            "keyboard": [["Yes", { "text": "Phone", "request_contact": true }]],
            "resize_keyboard": true, "input_field_placeholder": "pick"
        });
        let enums::ReplyMarkup::ReplyKeyboardMarkup(k) = markup_tl(&object(keyboard)).unwrap()
        else {
            panic!("a reply keyboard");
        };
        assert!(k.resize && !k.single_use);
        assert_eq!(k.placeholder.as_deref(), Some("pick"));
        let enums::KeyboardButtonRow::KeyboardButtonRow(row) = &k.rows[0];
        let enums::KeyboardButton::KeyboardButton(phone) = &row.buttons[1];
        assert_eq!(phone.r#type, enums::ButtonType::RequestPhone);
        assert!(matches!(
            markup_tl(&object(json!({ "remove_keyboard": true }))),
            Ok(enums::ReplyMarkup::ReplyKeyboardHide(_))
        ));
        assert!(matches!(
            markup_tl(&object(json!({ "force_reply": true }))),
            Ok(enums::ReplyMarkup::ReplyKeyboardForceReply(_))
        ));
        let reply = markup_tl(&object(json!({ "keyboard": [["a"]] }))).unwrap();
        assert_eq!(
            markup_json(&reply),
            None,
            "reply keyboards are not on messages"
        );
    }

    #[test]
    fn bad_markup_is_a_bad_request() {
        for bad in [
            json!({}),
            json!({ "inline_keyboard": "x" }),
            json!({ "inline_keyboard": [[{ "callback_data": "a" }]] }),
            json!({ "inline_keyboard": [[{ "text": "a", "callback_data": "x".repeat(65) }]] }),
            json!({ "inline_keyboard": [[{ "text": "a", "pay": true }]] }),
            json!({ "keyboard": [[1]] }),
        ] {
            assert!(
                matches!(
                    markup_tl(&object(bad.clone())),
                    Err(ApiError::BadRequest(_))
                ),
                "{bad}"
            );
        }
    }
}
