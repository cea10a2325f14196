//! The hand-written rules of the layer bridges (the catalogue in `build.rs`, offered to every
//! served layer's bridge, which uses a rule only where it needs one): values a field of one
//! layer needs that the other layer does not have under the same name. Everything else the
//! bridges convert is generated from the schemas. Rules towards layer 229 (`Direction::Up`)
//! read an old layer's value, so they are generic over it: one function serves every layer.

use crate::{enums, types};
use tl_runtime::{Convert, LayerError};

/// `channels.joinChannel` answers `messages.ChatInviteJoinResult` in 229 but `Updates` in older
/// layers (198, 220):
/// the updates of `chatInviteJoinResultOk`.
pub(crate) fn join_channel_updates(
    result: enums::messages::ChatInviteJoinResult,
) -> Result<enums::Updates, LayerError> {
    match result {
        enums::messages::ChatInviteJoinResult::Ok(ok) => Ok(ok.updates),
        enums::messages::ChatInviteJoinResult::WebView(_) => Err(LayerError::Rule {
            rule: "join_channel_updates",
            reason: "a join that needs a web view has no answer in layers before 227",
        }),
    }
}

/// Layer 198 counts a gifted subscription in months, 229 in days.
pub(crate) fn gift_premium_months(
    action: &types::MessageActionGiftPremium,
) -> Result<i32, LayerError> {
    Ok(action.days / 30)
}

/// Layer 198 counts a gift code's subscription in months, 229 in days.
pub(crate) fn gift_code_months(action: &types::MessageActionGiftCode) -> Result<i32, LayerError> {
    Ok(action.days / 30)
}

/// A chat theme is an emoticon in 198; a unique-gift theme has none.
pub(crate) fn chat_theme_emoticon(
    action: &types::MessageActionSetChatTheme,
) -> Result<String, LayerError> {
    Ok(match &action.theme {
        enums::ChatTheme::ChatTheme(t) => t.emoticon.clone(),
        _ => String::new(),
    })
}

/// 198 only knows private or not; every 229 choice but the default is private.
pub(crate) fn paid_reaction_private(
    update: &types::UpdatePaidReactionPrivacy,
) -> Result<bool, LayerError> {
    Ok(!matches!(
        update.private,
        enums::PaidReactionPrivacy::Default
    ))
}

/// Per-mille rarity in 198; 229's named rarities map to typical values.
fn permille(rarity: &enums::StarGiftAttributeRarity) -> i32 {
    match rarity {
        enums::StarGiftAttributeRarity::StarGiftAttributeRarity(r) => r.permille,
        enums::StarGiftAttributeRarity::Uncommon => 200,
        enums::StarGiftAttributeRarity::Rare => 50,
        enums::StarGiftAttributeRarity::Epic => 10,
        enums::StarGiftAttributeRarity::Legendary => 1,
    }
}

/// See [`permille`].
pub(crate) fn model_rarity_permille(a: &types::StarGiftAttributeModel) -> Result<i32, LayerError> {
    Ok(permille(&a.rarity))
}

/// See [`permille`].
pub(crate) fn pattern_rarity_permille(
    a: &types::StarGiftAttributePattern,
) -> Result<i32, LayerError> {
    Ok(permille(&a.rarity))
}

/// See [`permille`].
pub(crate) fn backdrop_rarity_permille(
    a: &types::StarGiftAttributeBackdrop,
) -> Result<i32, LayerError> {
    Ok(permille(&a.rarity))
}

/// An older layer's plain keyboard button (`keyboardButton`) is 229's default button type.
pub(crate) fn keyboard_button_type<Button>(_: &Button) -> Result<enums::ButtonType, LayerError> {
    Ok(enums::ButtonType::Default)
}

/// A poll sent by a client has no hash yet (the server computes it).
pub(crate) fn poll_hash<Poll>(_: &Poll) -> Result<i64, LayerError> {
    Ok(0)
}

/// Layer 230 describes a bot verification with entities; 229 with plain text. Generic over
/// the target layer's `TextWithEntities` (230's own type: its entities differ from 229's).
pub(crate) fn bot_verification_description<Text>(
    verification: &types::BotVerification,
) -> Result<Text, LayerError>
where
    enums::TextWithEntities: Convert<Text>,
{
    enums::TextWithEntities::from(types::TextWithEntities {
        text: verification.description.clone(),
        entities: Vec::new(),
    })
    .convert()
}

/// Inline keyboards: layer 229 gives each button a `type` (`keyboardInlineButton`, rows of
/// `keyboardInlineButtonRow`), older layers one constructor per kind of button
/// (`keyboardButtonCallback`, `keyboardButtonUrl`, ... in rows of `keyboardButtonRow`). A
/// kind the other side lacks (or this rule does not map) becomes a plain button with the same
/// text going down, and is left out going up.
pub(crate) trait OldInlineRow: Sized {
    /// A 229 row as this layer's.
    fn from_inline(row: &enums::KeyboardInlineButtonRow) -> Self;
}

/// An older layer's inline keyboard, read as layer 229's rows.
pub(crate) trait OldInlineMarkup {
    /// The rows as 229's.
    fn inline_rows(&self) -> Vec<enums::KeyboardInlineButtonRow>;
}

/// `replyInlineMarkup.rows` going down (see [`OldInlineRow`]).
pub(crate) fn inline_rows_down<Row: OldInlineRow>(
    markup: &types::ReplyInlineMarkup,
) -> Result<Vec<Row>, LayerError> {
    Ok(markup.rows.iter().map(Row::from_inline).collect())
}

/// `replyInlineMarkup.rows` going up (see [`OldInlineMarkup`]).
pub(crate) fn inline_rows_up<Markup: OldInlineMarkup>(
    markup: &Markup,
) -> Result<Vec<enums::KeyboardInlineButtonRow>, LayerError> {
    Ok(markup.inline_rows())
}

/// A 229 inline row from its buttons.
fn inline_row(buttons: Vec<types::KeyboardInlineButton>) -> enums::KeyboardInlineButtonRow {
    types::KeyboardInlineButtonRow {
        buttons: buttons.into_iter().map(Into::into).collect(),
    }
    .into()
}

/// The buttons of a 229 inline row.
fn inline_buttons(row: &enums::KeyboardInlineButtonRow) -> &[enums::KeyboardInlineButton] {
    let enums::KeyboardInlineButtonRow::KeyboardInlineButtonRow(row) = row;
    &row.buttons
}

/// The old layers' inline keyboards, with (`styled`) or without a `style` on each button.
macro_rules! old_inline_keyboard {
    ($layer:ident, $($style:ident)?) => {
        impl OldInlineRow for crate::$layer::enums::KeyboardButtonRow {
            fn from_inline(row: &enums::KeyboardInlineButtonRow) -> Self {
                use crate::$layer::{enums as old, types as t};
                let buttons = inline_buttons(row)
                    .iter()
                    .map(|b| {
                        let enums::KeyboardInlineButton::KeyboardInlineButton(b) = b;
                        match &b.r#type {
                            enums::InlineButtonType::Callback(c) => {
                                old::KeyboardButton::Callback(t::KeyboardButtonCallback {
                                    requires_password: c.requires_password,
                                    $($style: b.style.clone(),)?
                                    text: b.text.clone(),
                                    data: c.data.clone(),
                                })
                            }
                            enums::InlineButtonType::Url(u) => {
                                old::KeyboardButton::Url(t::KeyboardButtonUrl {
                                    $($style: b.style.clone(),)?
                                    text: b.text.clone(),
                                    url: u.url.clone(),
                                })
                            }
                            _ => old::KeyboardButton::KeyboardButton(t::KeyboardButton {
                                $($style: b.style.clone(),)?
                                text: b.text.clone(),
                            }),
                        }
                    })
                    .collect();
                old::KeyboardButtonRow::KeyboardButtonRow(t::KeyboardButtonRow { buttons })
            }
        }

        impl OldInlineMarkup for crate::$layer::types::ReplyInlineMarkup {
            fn inline_rows(&self) -> Vec<enums::KeyboardInlineButtonRow> {
                use crate::$layer::enums as old;
                self.rows
                    .iter()
                    .map(|row| {
                        let old::KeyboardButtonRow::KeyboardButtonRow(row) = row;
                        let buttons = row
                            .buttons
                            .iter()
                            .filter_map(|b| {
                                let (text, r#type, style) = match b {
                                    old::KeyboardButton::Callback(c) => (
                                        c.text.clone(),
                                        types::InlineButtonTypeCallback {
                                            requires_password: c.requires_password,
                                            data: c.data.clone(),
                                        }
                                        .into(),
                                        old_inline_keyboard!(@style c $($style)?),
                                    ),
                                    old::KeyboardButton::Url(u) => (
                                        u.text.clone(),
                                        types::InlineButtonTypeUrl { url: u.url.clone() }.into(),
                                        old_inline_keyboard!(@style u $($style)?),
                                    ),
                                    _ => return None,
                                };
                                Some(types::KeyboardInlineButton {
                                    style,
                                    text,
                                    r#type,
                                })
                            })
                            .collect();
                        inline_row(buttons)
                    })
                    .collect()
            }
        }
    };
    (@style $button:ident style) => { $button.style.clone() };
    (@style $button:ident) => { None };
}

old_inline_keyboard!(layer198,);
old_inline_keyboard!(layer220,);
old_inline_keyboard!(layer227, style);
old_inline_keyboard!(layer228, style);
