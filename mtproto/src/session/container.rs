//! `msg_container#73f1f8dc messages:vector<%message>`, with
//! `message msg_id:long seqno:int bytes:int body:Object`.

use super::BadMsgCode;

/// The constructor id of `msg_container`.
pub const MSG_CONTAINER_ID: u32 = 0x73f1_f8dc;
/// The most messages one container may hold.
pub const MAX_CONTAINER_MESSAGES: usize = 1024;

/// One message inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerMessage {
    /// Its id.
    pub msg_id: i64,
    /// Its seq_no.
    pub seq_no: i32,
    /// Its body (a TL object).
    pub body: Vec<u8>,
}

/// Why a container was refused (answered with `bad_msg_notification` code 64).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// The body is not a container or ends too early.
    #[error("malformed container at offset {offset}")]
    Malformed {
        /// Where reading stopped.
        offset: usize,
    },
    /// More than 1024 messages.
    #[error("container holds {count} messages, at most 1024 are allowed")]
    TooMany {
        /// The count given.
        count: u32,
    },
    /// A message inside is itself a container.
    #[error("nested container in message {msg_id}")]
    Nested {
        /// The inner message.
        msg_id: i64,
    },
    /// An inner id is not below the container's own id.
    #[error("inner msg_id {msg_id} is not below the container's {container}")]
    IdNotBelow {
        /// The inner id.
        msg_id: i64,
        /// The container's id.
        container: i64,
    },
    /// Two inner messages share an id.
    #[error("inner msg_id {msg_id} appears twice")]
    DuplicateId {
        /// The repeated id.
        msg_id: i64,
    },
}

impl ContainerError {
    /// The `bad_msg_notification` code for it.
    pub fn code(&self) -> BadMsgCode {
        BadMsgCode::InvalidContainer
    }
}

/// Writes a container of `messages`.
pub fn pack_container(messages: &[InnerMessage]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + messages.iter().map(|m| 16 + m.body.len()).sum::<usize>());
    out.extend_from_slice(&MSG_CONTAINER_ID.to_le_bytes());
    out.extend_from_slice(&(messages.len() as u32).to_le_bytes());
    for m in messages {
        out.extend_from_slice(&m.msg_id.to_le_bytes());
        out.extend_from_slice(&m.seq_no.to_le_bytes());
        out.extend_from_slice(&(m.body.len() as u32).to_le_bytes());
        out.extend_from_slice(&m.body);
    }
    out
}

/// Reads a container whose own id is `container_msg_id`, checking the rules of PROTOCOL.md
/// 1.3: at most 1024 messages, lengths within the body and multiples of 4, no nesting, inner
/// ids below the container's and distinct.
pub fn unpack_container(
    body: &[u8],
    container_msg_id: i64,
) -> Result<Vec<InnerMessage>, ContainerError> {
    let word = |at: usize| -> Result<u32, ContainerError> {
        body.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(ContainerError::Malformed { offset: at })
    };
    if word(0)? != MSG_CONTAINER_ID {
        return Err(ContainerError::Malformed { offset: 0 });
    }
    let count = word(4)?;
    if count as usize > MAX_CONTAINER_MESSAGES {
        return Err(ContainerError::TooMany { count });
    }
    let mut out: Vec<InnerMessage> = Vec::with_capacity(count as usize);
    let mut at = 8;
    for _ in 0..count {
        let msg_id = i64::from(word(at)?) | i64::from(word(at + 4)?) << 32;
        let seq_no = word(at + 8)? as i32;
        let len = word(at + 12)? as usize;
        at += 16;
        if len % 4 != 0 || len > body.len() - at {
            return Err(ContainerError::Malformed { offset: at - 4 });
        }
        let inner = &body[at..at + len];
        at += len;
        if inner.get(..4) == Some(&MSG_CONTAINER_ID.to_le_bytes()[..]) {
            return Err(ContainerError::Nested { msg_id });
        }
        if msg_id >= container_msg_id {
            return Err(ContainerError::IdNotBelow {
                msg_id,
                container: container_msg_id,
            });
        }
        if out.iter().any(|m| m.msg_id == msg_id) {
            return Err(ContainerError::DuplicateId { msg_id });
        }
        out.push(InnerMessage {
            msg_id,
            seq_no,
            body: inner.to_vec(),
        });
    }
    if at != body.len() {
        return Err(ContainerError::Malformed { offset: at });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: i64, body: &[u8]) -> InnerMessage {
        InnerMessage {
            msg_id: id,
            seq_no: 1,
            body: body.to_vec(),
        }
    }

    #[test]
    fn round_trip_and_rules() {
        let messages = vec![msg(4, &[1, 2, 3, 4]), msg(8, &[])];
        let packed = pack_container(&messages);
        assert_eq!(unpack_container(&packed, 12), Ok(messages.clone()));
        assert_eq!(
            unpack_container(&packed, 8),
            Err(ContainerError::IdNotBelow {
                msg_id: 8,
                container: 8
            })
        );
        let dup = pack_container(&[msg(4, &[]), msg(4, &[])]);
        assert_eq!(
            unpack_container(&dup, 12),
            Err(ContainerError::DuplicateId { msg_id: 4 })
        );
        let nested = pack_container(&[msg(4, &packed)]);
        assert_eq!(
            unpack_container(&nested, 12),
            Err(ContainerError::Nested { msg_id: 4 })
        );
        let mut too_many = MSG_CONTAINER_ID.to_le_bytes().to_vec();
        too_many.extend_from_slice(&1025u32.to_le_bytes());
        assert_eq!(
            unpack_container(&too_many, 12),
            Err(ContainerError::TooMany { count: 1025 })
        );
        // Every truncation is an error, never a panic.
        for cut in 0..packed.len() {
            assert!(unpack_container(&packed[..cut], 12).is_err(), "cut {cut}");
        }
        let mut odd = packed.clone();
        odd[8 + 12] = 3;
        assert!(matches!(
            unpack_container(&odd, 12),
            Err(ContainerError::Malformed { .. })
        ));
    }
}
