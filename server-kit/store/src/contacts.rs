//! Contacts and privacy beyond the contact list itself ([`Store::add_contact`](crate::Store::add_contact),
//! [`Store::contacts`](crate::Store::contacts)): removing contacts, each user's list of
//! blocked users, and finding people by name or username.
//!
//! A block is one-way and per owner: `owner` blocking `user` says nothing about what `user`
//! did. The services read both directions ([`ContactStore::is_blocked`] twice) to refuse a
//! private message either way.

use crate::{StoreError, User};

/// The most users one [`ContactStore::search_users`] returns, whatever the caller asked.
pub const MAX_SEARCH_RESULTS: usize = 100;

/// The fold a search compares with: Unicode lowercase, up to the first U+0000 (PostgreSQL's
/// `text` cannot hold one, so no store matches across it). A store applies it to the query
/// and to each name it compares.
pub fn search_fold(text: &str) -> String {
    let end = text.find('\0').unwrap_or(text.len());
    text[..end].to_lowercase()
}

/// Contact removal, the blocklist and people search.
pub trait ContactStore {
    /// Removes these users from `owner`'s contacts; the ids that were contacts (and are no
    /// longer), ascending, each once. Ids that were not contacts are ignored.
    fn delete_contacts(&self, owner: i64, users: &[i64]) -> Result<Vec<i64>, StoreError>;

    /// `owner` blocks `user` as of `date` (Unix seconds). Idempotent: `false` when `user`
    /// was blocked already, whose first date then stays.
    fn block(&self, owner: i64, user: i64, date: i32) -> Result<bool, StoreError>;

    /// `owner` unblocks `user`; `false` when `user` was not blocked.
    fn unblock(&self, owner: i64, user: i64) -> Result<bool, StoreError>;

    /// `owner`'s blocked users with the date each was blocked, newest first (by date, then
    /// by user id, highest first), skipping `offset` and at most `limit` (negative values
    /// count as 0); and how many `owner` has blocked in all.
    fn blocked(
        &self,
        owner: i64,
        offset: i32,
        limit: i32,
    ) -> Result<(Vec<(i64, i32)>, i32), StoreError>;

    /// Whether `owner` has blocked `user`.
    fn is_blocked(&self, owner: i64, user: i64) -> Result<bool, StoreError>;

    /// Users whose first name, last name or username starts with `query`, compared after
    /// [`search_fold`] (so case-insensitively), in id order (oldest account first), at most
    /// `limit` (and at most [`MAX_SEARCH_RESULTS`]). A query that is empty after the fold
    /// finds nobody.
    fn search_users(&self, query: &str, limit: usize) -> Result<Vec<User>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::search_fold;

    #[test]
    fn fold_lowercases_and_stops_at_nul() {
        assert_eq!(search_fold("AnNa"), "anna");
        assert_eq!(search_fold("ÄRGER"), "ärger");
        assert_eq!(search_fold("Ab\0Cd"), "ab");
        assert_eq!(search_fold("\0x"), "");
    }
}
