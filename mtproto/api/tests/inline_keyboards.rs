//! Inline keyboards between layer 229 (`keyboardInlineButton` with a `type`) and the layers
//! with one constructor per kind of button (198, 220, 227, 228): callback and URL buttons
//! keep their data both ways, a kind the old layer cannot show goes down as a plain button
//! and is left out coming up.

use mtproto_api::{enums, layer198, layer227, types};
use tl_runtime::{Convert, Deserialize, Serialize};

fn keyboard_229() -> types::ReplyInlineMarkup {
    let button = |text: &str, r#type: enums::InlineButtonType| -> enums::KeyboardInlineButton {
        types::KeyboardInlineButton {
            style: None,
            text: text.into(),
            r#type,
        }
        .into()
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
                    "copy",
                    types::InlineButtonTypeCopy {
                        copy_text: "c".into(),
                    }
                    .into(),
                )],
            }
            .into(),
        ],
    }
}

#[test]
fn inline_keyboards_reach_layer_198_and_come_back() {
    let old: layer198::types::ReplyInlineMarkup = Convert::convert(keyboard_229()).unwrap();
    let old = layer198::types::ReplyInlineMarkup::from_bytes(old.to_bytes()).unwrap();
    let layer198::enums::KeyboardButtonRow::KeyboardButtonRow(first) = &old.rows[0];
    match &first.buttons[..] {
        [
            layer198::enums::KeyboardButton::Callback(a),
            layer198::enums::KeyboardButton::Url(site),
        ] => {
            assert_eq!((a.text.as_str(), &a.data[..]), ("A", &b"a"[..]));
            assert_eq!(site.url, "https://example.com");
        }
        other => panic!("{other:?}"),
    }
    let layer198::enums::KeyboardButtonRow::KeyboardButtonRow(second) = &old.rows[1];
    assert!(
        matches!(&second.buttons[..], [layer198::enums::KeyboardButton::KeyboardButton(b)] if b.text == "copy"),
        "{second:?}"
    );
    // Up again: the callback and URL buttons as they were, the plain one left out.
    let back: types::ReplyInlineMarkup = Convert::convert(old).unwrap();
    let mut expected = keyboard_229();
    let enums::KeyboardInlineButtonRow::KeyboardInlineButtonRow(row) = &mut expected.rows[1];
    row.buttons.clear();
    assert_eq!(back, expected);
}

#[test]
fn layer_227_buttons_keep_their_style() {
    let mut keyboard = keyboard_229();
    let enums::KeyboardInlineButtonRow::KeyboardInlineButtonRow(row) = &mut keyboard.rows[0];
    let enums::KeyboardInlineButton::KeyboardInlineButton(first) = &mut row.buttons[0];
    first.style = Some(types::KeyboardButtonStyle::default().into());
    let old: layer227::types::ReplyInlineMarkup = Convert::convert(keyboard.clone()).unwrap();
    let layer227::enums::KeyboardButtonRow::KeyboardButtonRow(first_row) = &old.rows[0];
    let layer227::enums::KeyboardButton::Callback(a) = &first_row.buttons[0] else {
        panic!("{first_row:?}")
    };
    assert!(a.style.is_some());
    let back: types::ReplyInlineMarkup = Convert::convert(old).unwrap();
    assert_eq!(back.rows[0], keyboard.rows[0]);
}
