//! Drafts: what a user has typed and not sent, one per chat, kept for every session of theirs
//! (`messages.saveDraft`, `messages.getAllDrafts`, `dialog.draft`).

use crate::{DialogPeer, StoreError};

/// A draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The text typed so far.
    pub text: String,
    /// The message of the chat it will reply to.
    pub reply_to: Option<i32>,
    /// Link previews turned off.
    pub no_webpage: bool,
    /// When it was saved.
    pub date: i32,
}

/// Draft storage.
pub trait DraftStore {
    /// Saves the owner's draft in `peer`, or clears it (`None`); `false` when clearing found
    /// none.
    fn save_draft(
        &self,
        owner: i64,
        peer: DialogPeer,
        draft: Option<&Draft>,
    ) -> Result<bool, StoreError>;
    /// The owner's drafts, newest first.
    fn drafts(&self, owner: i64) -> Result<Vec<(DialogPeer, Draft)>, StoreError>;
}
