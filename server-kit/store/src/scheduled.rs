//! Scheduled messages: written now, sent at a later time (`schedule_date`). Each is kept in
//! its author's list for its chat (`messages.getScheduledHistory`) until a node sends it. A
//! node takes the ones whose time has come by *claiming* them for a while
//! ([`ScheduledStore::claim_due`]): other nodes sharing the store leave a claimed message
//! alone, and a claim left by a node that died runs out, so that another node sends it; the
//! send is idempotent on the message's random_id, so a message claimed twice is sent once.

use crate::{DialogPeer, MediaRef, StoreError};

/// The most messages one user may keep scheduled in one chat (Telegram's limit).
pub const MAX_SCHEDULED_PER_CHAT: usize = 100;

/// A message to send later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScheduled {
    /// The chat it goes to.
    pub peer: DialogPeer,
    /// The text (or a media caption).
    pub text: String,
    /// The author's random_id: scheduling twice with one random_id keeps one message, and
    /// the message is sent with it.
    pub random_id: i64,
    /// When to send it (unix time).
    pub date: i32,
    /// Attached media, already stored.
    pub media: Option<MediaRef>,
    /// The message of the same chat it replies to.
    pub reply_to: Option<i32>,
}

/// A message waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledMessage {
    /// Its author.
    pub owner: i64,
    /// Its id in the author's scheduled list (ids of one author are never reused).
    pub id: i32,
    /// What was scheduled.
    pub message: NewScheduled,
}

/// Scheduled message storage.
pub trait ScheduledStore {
    /// Keeps `message` in the owner's list and returns it with its new id, or the one
    /// already kept with the same random_id.
    fn schedule(&self, owner: i64, message: &NewScheduled) -> Result<ScheduledMessage, StoreError>;
    /// The owner's scheduled messages in `peer` (all, or those of `ids`), soonest first.
    fn scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: Option<&[i32]>,
    ) -> Result<Vec<ScheduledMessage>, StoreError>;
    /// Deletes the owner's scheduled messages `ids` in `peer`; returns the ids it deleted.
    fn delete_scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: &[i32],
    ) -> Result<Vec<i32>, StoreError>;
    /// Claims until `until` at most `limit` messages whose time is at or before `now` and that
    /// nobody holds a live claim on (`now` past its claim), soonest first.
    fn claim_due(
        &self,
        now: i32,
        until: i32,
        limit: usize,
    ) -> Result<Vec<ScheduledMessage>, StoreError>;
    /// Claims until `until` the owner's messages `ids` in `peer` that nobody holds a live
    /// claim on, whatever their time (sending them now).
    fn claim_scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: &[i32],
        now: i32,
        until: i32,
    ) -> Result<Vec<ScheduledMessage>, StoreError>;
}
