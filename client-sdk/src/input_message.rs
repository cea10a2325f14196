//! [`InputMessage`]: what to send — text, formatting, reply, notification.

use crate::parse_mode::ParseMode;
use mtproto_api::enums;

/// A message to send with [`Client::send_message`](crate::Client::send_message). Plain
/// strings convert into one.
///
/// ```
/// # #[cfg(feature = "markdown")] {
/// use client_sdk::InputMessage;
/// let message = InputMessage::markdown("**Hi** there").reply_to(Some(42)).silent(true);
/// assert_eq!(message.text(), "Hi there");
/// assert_eq!(message.entities().len(), 1);
/// let plain: InputMessage = "**not parsed**".into();
/// assert_eq!(plain.text(), "**not parsed**");
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputMessage {
    pub(crate) text: String,
    pub(crate) entities: Vec<enums::MessageEntity>,
    pub(crate) reply_to: Option<i32>,
    pub(crate) silent: bool,
    pub(crate) no_webpage: bool,
}

impl InputMessage {
    /// Plain text, sent as it is.
    pub fn new(text: impl Into<String>) -> InputMessage {
        InputMessage {
            text: text.into(),
            ..InputMessage::default()
        }
    }

    /// Text written in `mode` (see [`parse_mode`](crate::parse_mode)).
    pub fn parsed(mode: ParseMode, input: &str) -> InputMessage {
        let (text, entities) = mode.parse(input);
        InputMessage {
            text,
            entities,
            ..InputMessage::default()
        }
    }

    /// Text in Telegram-flavoured Markdown ([`parse_mode::markdown`](crate::parse_mode::markdown)).
    #[cfg(feature = "markdown")]
    pub fn markdown(input: &str) -> InputMessage {
        InputMessage::parsed(ParseMode::Markdown, input)
    }

    /// Text in Telegram's HTML ([`parse_mode::html`](crate::parse_mode::html)).
    #[cfg(feature = "html")]
    pub fn html(input: &str) -> InputMessage {
        InputMessage::parsed(ParseMode::Html, input)
    }

    /// Sets the entities (formatting) of the text, replacing any parsed ones.
    pub fn with_entities(mut self, entities: Vec<enums::MessageEntity>) -> InputMessage {
        self.entities = entities;
        self
    }

    /// Replies to the message with this id (in the same chat), or to none.
    pub fn reply_to(mut self, id: Option<i32>) -> InputMessage {
        self.reply_to = id;
        self
    }

    /// Sends without a notification.
    pub fn silent(mut self, silent: bool) -> InputMessage {
        self.silent = silent;
        self
    }

    /// Whether a link in the text gets a preview (on by default).
    pub fn link_preview(mut self, preview: bool) -> InputMessage {
        self.no_webpage = !preview;
        self
    }

    /// The text as it is sent.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The entities as they are sent (before mentions get their access hashes).
    pub fn entities(&self) -> &[enums::MessageEntity] {
        &self.entities
    }
}

impl From<&str> for InputMessage {
    fn from(text: &str) -> Self {
        InputMessage::new(text)
    }
}

impl From<String> for InputMessage {
    fn from(text: String) -> Self {
        InputMessage::new(text)
    }
}

impl From<&String> for InputMessage {
    fn from(text: &String) -> Self {
        InputMessage::new(text.as_str())
    }
}
