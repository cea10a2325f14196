//! Pinned dialogs: the chats a user keeps on top of their dialog list, in their order
//! (`messages.toggleDialogPin`, `reorderPinnedDialogs`, `getPinnedDialogs`).

use crate::{DialogPeer, StoreError};

/// The most dialogs one user may pin (Telegram's limit for accounts without Premium).
pub const MAX_PINNED_DIALOGS: usize = 5;

/// Pinned dialog storage.
pub trait PinnedDialogStore {
    /// The owner's pinned dialogs, top first.
    fn pinned_dialogs(&self, owner: i64) -> Result<Vec<DialogPeer>, StoreError>;
    /// Pins `peer` on top of the owner's pinned dialogs, or unpins it; `false` when it
    /// already was so.
    fn pin_dialog(&self, owner: i64, peer: DialogPeer, pinned: bool) -> Result<bool, StoreError>;
    /// Puts the owner's pinned dialogs in `order` (top first; repeats count once): with
    /// `force` exactly those are pinned, otherwise the pinned ones `order` leaves out stay
    /// pinned below it.
    fn reorder_pinned_dialogs(
        &self,
        owner: i64,
        order: &[DialogPeer],
        force: bool,
    ) -> Result<(), StoreError>;
}
