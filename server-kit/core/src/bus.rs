//! The bus between server nodes: after a node commits a change to a user's box (or a post to
//! a channel), it tells the other nodes "user U (channel C) is now at pts P". A node with
//! sessions of that user (or of that channel's members) connected reads the new entries from
//! the shared store and pushes them, exactly as the committing node pushes to its own
//! sessions.
//!
//! The bus carries ids and pts (or qts) only, never the data: the store is the one source of
//! truth.
//! Correctness never depends on the bus. A lost notice (Redis restarting, a node
//! reconnecting, a full queue) costs latency only: the client sees a pts gap at its next
//! update, or asks `updates.getDifference` on its own (after a reconnect, or its idle
//! timer), and gets everything from the store. After the bus itself reconnects, a node
//! tells its connected sessions `updatesTooLong`, so they catch up at once instead of at
//! their next update.
//!
//! [`LocalBus`] (the default) does nothing: one node, today's behaviour. `RedisBus`
//! (`server-kit-cluster`, flag `--bus redis://HOST:PORT`) uses Redis pub/sub.
//!
//! Why Redis rather than NATS: the issue also wants the session cache, presence and rate
//! limits shared across nodes, which are keys with expiry and counters — Redis does those
//! and pub/sub with one service to run, where NATS would need its JetStream key-value layer
//! or a second service. Redis pub/sub is fire-and-forget with no persistence, which is all a
//! "something changed" signal needs, and Debian packages it (`redis-server`).

use std::fmt;
use tokio::sync::mpsc;

/// A change committed by some node, by id only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeNotice {
    /// A user's box moved to `pts` (the last entry took `pts_count`).
    User {
        /// Whose box.
        user: i64,
        /// The pts after the change.
        pts: i32,
        /// How many pts it took.
        pts_count: i32,
    },
    /// An auth key was signed in or out, or destroyed: nodes reload it from the store (a
    /// key signed out through one node must not stay signed in on another).
    Key {
        /// The key id.
        key_id: i64,
    },
    /// A channel's log moved to `pts`.
    Channel {
        /// The channel.
        channel: i64,
        /// The pts after the change.
        pts: i32,
        /// How many pts it took.
        pts_count: i32,
    },
    /// Someone is typing (or uploading, recording, ...): shown to the sessions of a user or
    /// of a chat's members, never stored.
    Typing {
        /// Who sees it.
        to: TypingTo,
        /// Who is typing.
        from: i64,
        /// The action: a `SendMessageAction` constructor id.
        action: u32,
        /// Its progress, for the upload actions that carry one (0 otherwise).
        progress: i32,
    },
    /// The reactions to a message changed: shown to the sessions connected now (reactions
    /// move no pts), read from the store.
    Reactions {
        /// Who sees it: the owner of the box the message is in, or a channel's members.
        to: TypingTo,
        /// The message, by its id in that box or channel.
        msg_id: i32,
    },
    /// An encrypted message was queued in auth key `key`'s qts box at `qts`: the node with
    /// that key's sessions reads it from the store and pushes it.
    Encrypted {
        /// The auth key (device) it is for.
        key: i64,
        /// Its qts.
        qts: i32,
    },
    /// Something one device of a secret chat must see: `key`'s sessions, or, while a request
    /// waits (`key` 0), every device of `user`.
    SecretChat {
        /// The user who sees it.
        user: i64,
        /// Their device, or 0 for all of them.
        key: i64,
        /// The secret chat.
        chat: i32,
        /// What happened.
        event: SecretChatEvent,
    },
}

/// What a [`ChangeNotice::SecretChat`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretChatEvent {
    /// Its state changed (requested, accepted, discarded): read it from the store.
    Changed,
    /// The other side is typing.
    Typing,
    /// The other side read the messages sent up to `max_date`.
    Read {
        /// The date of the last message read.
        max_date: i32,
    },
}

impl SecretChatEvent {
    /// Its code and value on the wire (0 changed, 1 typing, 2 read with its date).
    pub fn to_code(self) -> (u8, i32) {
        match self {
            SecretChatEvent::Changed => (0, 0),
            SecretChatEvent::Typing => (1, 0),
            SecretChatEvent::Read { max_date } => (2, max_date),
        }
    }

    /// The inverse of [`to_code`](Self::to_code).
    pub fn from_code(code: u8, value: i32) -> Option<Self> {
        match code {
            0 => Some(SecretChatEvent::Changed),
            1 => Some(SecretChatEvent::Typing),
            2 => Some(SecretChatEvent::Read { max_date: value }),
            _ => None,
        }
    }
}

/// Who sees a [`ChangeNotice::Typing`] or [`ChangeNotice::Reactions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingTo {
    /// The other user of a private chat.
    User(i64),
    /// The members of a channel (megagroup).
    Channel(i64),
    /// The members of a basic group.
    Chat(i64),
}

impl ChangeNotice {
    /// The user or channel the notice is about (the order of notices matters per value:
    /// nodes handle notices of one value in turn).
    pub fn subject(&self) -> i64 {
        match *self {
            ChangeNotice::User { user, .. } => user,
            ChangeNotice::Channel { channel, .. } => channel,
            ChangeNotice::Key { key_id } => key_id,
            ChangeNotice::Typing {
                to: TypingTo::User(id) | TypingTo::Channel(id) | TypingTo::Chat(id),
                ..
            }
            | ChangeNotice::Reactions {
                to: TypingTo::User(id) | TypingTo::Channel(id) | TypingTo::Chat(id),
                ..
            } => id,
            ChangeNotice::Encrypted { key, .. } => key,
            ChangeNotice::SecretChat { user, .. } => user,
        }
    }
}

/// What a node hears from the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Another node committed a change.
    Changed(ChangeNotice),
    /// The bus was down and is back: notices may have been lost meanwhile.
    Reconnected,
}

/// A malformed notice on the bus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed bus notice: {0}")]
pub struct Malformed(pub String);

/// Why a bus could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The address is not one the bus understands.
    #[error("bus address: {0}")]
    Address(String),
}

/// The way to the other nodes.
pub trait Bus: Send + Sync + 'static {
    /// Tells the other nodes about a committed change. Never waits and never fails the
    /// caller: a notice that cannot be sent is dropped (and costs latency only).
    fn publish(&self, change: ChangeNotice);
    /// What other nodes say, once (`None` afterwards, and always for [`LocalBus`]).
    fn events(&self) -> Option<mpsc::Receiver<Event>>;
    /// Returns once every notice published before the call has been sent (or dropped as
    /// undeliverable): a graceful shutdown waits for it, within its deadline. Default: at
    /// once (nothing is queued).
    fn flush(&self) -> crate::BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Whether the bus reaches the other nodes now (for `/readyz`). With no other nodes
    /// there is nothing to reach: `true`.
    fn is_connected(&self) -> bool {
        true
    }
}

/// No other nodes: publishing does nothing, nothing arrives.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalBus;

impl Bus for LocalBus {
    fn publish(&self, _: ChangeNotice) {}

    fn events(&self) -> Option<mpsc::Receiver<Event>> {
        None
    }
}

/// A notice as sent on the wire: the sending node and the change, as ASCII text
/// (`u NODE USER PTS COUNT`, `c NODE CHANNEL PTS COUNT`, `k NODE KEY 0 0`, or for typing
/// `t NODE USER FROM ACTION PROGRESS` / `T NODE CHANNEL FROM ACTION PROGRESS`, for reactions
/// `r NODE USER MSG` / `R NODE CHANNEL MSG`, for secret chats `e NODE KEY QTS` (an encrypted
/// message queued for a device) and `x NODE USER KEY CHAT CODE VALUE`
/// ([`SecretChatEvent::to_code`]); node and action in hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// The node that committed the change (random per process).
    pub node: u64,
    /// The change.
    pub change: ChangeNotice,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = self.node;
        match self.change {
            ChangeNotice::User {
                user,
                pts,
                pts_count,
            } => write!(f, "u {node:x} {user} {pts} {pts_count}"),
            ChangeNotice::Channel {
                channel,
                pts,
                pts_count,
            } => write!(f, "c {node:x} {channel} {pts} {pts_count}"),
            ChangeNotice::Key { key_id } => write!(f, "k {node:x} {key_id} 0 0"),
            ChangeNotice::Typing {
                to,
                from,
                action,
                progress,
            } => {
                let (kind, id) = match to {
                    TypingTo::User(id) => ('t', id),
                    TypingTo::Channel(id) => ('T', id),
                    TypingTo::Chat(id) => ('g', id),
                };
                write!(f, "{kind} {node:x} {id} {from} {action:x} {progress}")
            }
            ChangeNotice::Reactions { to, msg_id } => {
                let (kind, id) = match to {
                    TypingTo::User(id) => ('r', id),
                    TypingTo::Channel(id) => ('R', id),
                    TypingTo::Chat(id) => ('q', id),
                };
                write!(f, "{kind} {node:x} {id} {msg_id}")
            }
            ChangeNotice::Encrypted { key, qts } => write!(f, "e {node:x} {key} {qts}"),
            ChangeNotice::SecretChat {
                user,
                key,
                chat,
                event,
            } => {
                let (code, value) = event.to_code();
                write!(f, "x {node:x} {user} {key} {chat} {code} {value}")
            }
        }
    }
}

impl std::str::FromStr for Notice {
    type Err = Malformed;

    fn from_str(text: &str) -> Result<Self, Malformed> {
        let bad = || Malformed(text.chars().take(64).collect());
        let mut words = text.split(' ');
        let kind = words.next().ok_or_else(bad)?;
        let node = u64::from_str_radix(words.next().ok_or_else(bad)?, 16).map_err(|_| bad())?;
        let id: i64 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if kind == "t" || kind == "T" || kind == "g" {
            let from: i64 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let action =
                u32::from_str_radix(words.next().ok_or_else(bad)?, 16).map_err(|_| bad())?;
            let progress: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            if words.next().is_some() {
                return Err(bad());
            }
            let to = match kind {
                "t" => TypingTo::User(id),
                "g" => TypingTo::Chat(id),
                _ => TypingTo::Channel(id),
            };
            let change = ChangeNotice::Typing {
                to,
                from,
                action,
                progress,
            };
            return Ok(Notice { node, change });
        }
        if kind == "r" || kind == "R" || kind == "q" {
            let msg_id: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            if words.next().is_some() {
                return Err(bad());
            }
            let to = match kind {
                "r" => TypingTo::User(id),
                "q" => TypingTo::Chat(id),
                _ => TypingTo::Channel(id),
            };
            let change = ChangeNotice::Reactions { to, msg_id };
            return Ok(Notice { node, change });
        }
        if kind == "e" {
            let qts: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            if words.next().is_some() {
                return Err(bad());
            }
            let change = ChangeNotice::Encrypted { key: id, qts };
            return Ok(Notice { node, change });
        }
        if kind == "x" {
            let key: i64 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let chat: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let code: u8 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let value: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let event = SecretChatEvent::from_code(code, value).ok_or_else(bad)?;
            if words.next().is_some() {
                return Err(bad());
            }
            let change = ChangeNotice::SecretChat {
                user: id,
                key,
                chat,
                event,
            };
            return Ok(Notice { node, change });
        }
        let pts: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let pts_count: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if words.next().is_some() || pts_count < 0 || pts_count > pts {
            return Err(bad());
        }
        let change = match kind {
            "u" => ChangeNotice::User {
                user: id,
                pts,
                pts_count,
            },
            "c" => ChangeNotice::Channel {
                channel: id,
                pts,
                pts_count,
            },
            "k" => ChangeNotice::Key { key_id: id },
            _ => return Err(bad()),
        };
        Ok(Notice { node, change })
    }
}

/// Exponential backoff for reconnecting: 100 ms doubling to 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: std::time::Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

impl Backoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(100);
    const MAX: std::time::Duration = std::time::Duration::from_secs(5);

    /// The wait before the next try.
    pub fn next_delay(&mut self) -> std::time::Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    /// A try succeeded.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_garbage_is_an_error() {
        for change in [
            ChangeNotice::User {
                user: 42,
                pts: 7,
                pts_count: 1,
            },
            ChangeNotice::Channel {
                channel: -5,
                pts: 1_000_000,
                pts_count: 3,
            },
            ChangeNotice::Key { key_id: i64::MIN },
            ChangeNotice::Typing {
                to: TypingTo::User(7),
                from: 8,
                action: 0x16bf744e,
                progress: 0,
            },
            ChangeNotice::Typing {
                to: TypingTo::Chat(1_000),
                from: 100_001,
                action: 0x16bf_744e,
                progress: 0,
            },
            ChangeNotice::Typing {
                to: TypingTo::Channel(1_000_001),
                from: -8,
                action: u32::MAX,
                progress: 55,
            },
            ChangeNotice::Reactions {
                to: TypingTo::User(7),
                msg_id: 12,
            },
            ChangeNotice::Reactions {
                to: TypingTo::Channel(-1_000_001),
                msg_id: i32::MAX,
            },
            ChangeNotice::Encrypted {
                key: i64::MIN,
                qts: 17,
            },
            ChangeNotice::SecretChat {
                user: 100_001,
                key: 0,
                chat: 77,
                event: SecretChatEvent::Changed,
            },
            ChangeNotice::SecretChat {
                user: 100_002,
                key: -5,
                chat: i32::MAX,
                event: SecretChatEvent::Typing,
            },
            ChangeNotice::SecretChat {
                user: 100_003,
                key: 9,
                chat: 1,
                event: SecretChatEvent::Read {
                    max_date: 1_700_000_000,
                },
            },
        ] {
            let notice = Notice {
                node: u64::MAX - 3,
                change,
            };
            assert_eq!(notice.to_string().parse::<Notice>(), Ok(notice));
        }
        for bad in [
            "",
            "u",
            "x 1 2 3 1",
            "u zz 2 3 1",
            "u 1 2 3",
            "u 1 2 3 1 9",
            "u 1 2 3 4",
            "u 1 2 3 -1",
            "u 1 99999999999999999999 3 1",
            "t 1 2 3",
            "t 1 2 3 zz 0",
            "T 1 2 3 16bf744e 0 9",
            "r 1 2",
            "r 1 2 x",
            "R 1 2 3 4",
            "e 1 2",
            "e 1 2 3 4",
            "x 1 2 3 4 9 0",
            "x 1 2 3 4 0",
            "x 1 2 3 4 0 0 0",
        ] {
            assert!(bad.parse::<Notice>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    #[test]
    fn the_local_bus_is_silent() {
        LocalBus.publish(ChangeNotice::User {
            user: 1,
            pts: 1,
            pts_count: 1,
        });
        assert!(LocalBus.events().is_none());
        assert!(LocalBus.is_connected());
    }
}
