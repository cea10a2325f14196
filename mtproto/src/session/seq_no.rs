//! Sequence numbers: twice the content-related messages sent before, plus one for a
//! content-related message.

/// The seq_no counter of one side of a session.
///
/// ```
/// let mut s = mtproto::session::SeqNo::default();
/// assert_eq!(s.next(true), 1);
/// assert_eq!(s.next(false), 2);
/// assert_eq!(s.next(true), 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqNo {
    content_sent: i32,
}

impl SeqNo {
    /// The seq_no of the next message; content-related messages (RPC calls and answers,
    /// updates) move the counter.
    pub fn next(&mut self, content_related: bool) -> i32 {
        let seq = self.content_sent.wrapping_mul(2) + i32::from(content_related);
        if content_related {
            self.content_sent = self.content_sent.wrapping_add(1);
        }
        seq
    }

    /// Moves the counter by `content_messages` (either way, never below zero), to recover
    /// from a peer's "seqno too low/high" notification.
    pub fn skip(&mut self, content_messages: i32) {
        self.content_sent = self.content_sent.saturating_add(content_messages).max(0);
    }

    /// Whether a seq_no marks a content-related message.
    pub fn is_content_related(seq_no: i32) -> bool {
        seq_no & 1 == 1
    }
}
