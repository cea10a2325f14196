//! The error a server answers a call with (`rpc_error`): one type for both sides, the server
//! that sends it and the client that reads it.

use std::fmt;

/// An error answer to a call, split the way Telegram builds its names: `FLOOD_WAIT_30` is the
/// name `FLOOD_WAIT` with the value 30, `FILE_PART_3_MISSING` is `FILE_PART_MISSING` with 3.
///
/// ```
/// use mtproto::RpcError;
/// let e = RpcError::new(420, "FLOOD_WAIT_30");
/// assert_eq!((e.name.as_str(), e.value), ("FLOOD_WAIT", Some(30)));
/// assert!(e.is("FLOOD_WAIT") && e.is("FLOOD_*"));
/// let e = RpcError::new(400, "FILE_PART_3_MISSING");
/// assert_eq!((e.name.as_str(), e.value), ("FILE_PART_MISSING", Some(3)));
/// assert_eq!(RpcError::flood_wait(5).message, "FLOOD_WAIT_5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The HTTP-like code: 303 (migrate), 400, 401 (unauthorized), 403, 420 (flood), 500.
    pub code: i32,
    /// The name with any number taken out, e.g. `PHONE_MIGRATE`.
    pub name: String,
    /// The number the name carried, e.g. the seconds of a `FLOOD_WAIT_X`.
    pub value: Option<u32>,
    /// The message exactly as it goes over the wire, e.g. `PHONE_MIGRATE_4`.
    pub message: String,
}

impl RpcError {
    /// The error with code `code` and wire message `message`, its name and value split out.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut name_parts = Vec::new();
        let mut value = None;
        for part in message.split('_') {
            match part.parse::<u32>() {
                Ok(v) if value.is_none() && !part.is_empty() => value = Some(v),
                _ => name_parts.push(part),
            }
        }
        RpcError {
            code,
            name: name_parts.join("_"),
            value,
            message,
        }
    }

    /// A 400 error (the request is wrong).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// A 401 error (the key is not signed in, or no longer).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, message)
    }

    /// A 420 `FLOOD_WAIT_X`: the caller may try again after `seconds` (at least 1).
    pub fn flood_wait(seconds: u64) -> Self {
        Self::new(420, format!("FLOOD_WAIT_{}", seconds.max(1)))
    }

    /// A 500 `INTERNAL` error (details belong in the server's log, not in the answer).
    pub fn internal() -> Self {
        Self::new(500, "INTERNAL")
    }

    /// Whether the error has this name (a trailing `*` matches any rest: `"FLOOD_*"`).
    pub fn is(&self, name: &str) -> bool {
        match name.strip_suffix('*') {
            Some(prefix) => self.name.starts_with(prefix),
            None => self.name == name,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RPC error {} {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// A call that does not decode is the caller's mistake: 400 `INPUT_REQUEST_INVALID`.
impl From<tl_runtime::Error> for RpcError {
    fn from(_: tl_runtime::Error) -> Self {
        RpcError::bad_request("INPUT_REQUEST_INVALID")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_split() {
        let e = RpcError::new(303, "PHONE_MIGRATE_4");
        assert_eq!((e.name.as_str(), e.value), ("PHONE_MIGRATE", Some(4)));
        let e = RpcError::new(400, "PHONE_CODE_INVALID");
        assert_eq!((e.name.as_str(), e.value), ("PHONE_CODE_INVALID", None));
        let e = RpcError::new(420, "FLOOD_PREMIUM_WAIT_7");
        assert_eq!((e.name.as_str(), e.value), ("FLOOD_PREMIUM_WAIT", Some(7)));
        assert!(e.is("FLOOD_*"));
        assert!(!e.is("FLOOD_WAIT"));
        // Telegram's odd one: a number glued to a word stays in the name.
        let e = RpcError::new(400, "MD5_CHECKSUM_INVALID");
        assert_eq!((e.name.as_str(), e.value), ("MD5_CHECKSUM_INVALID", None));
        assert_eq!(e.message, "MD5_CHECKSUM_INVALID");
    }

    #[test]
    fn constructors_give_the_wire_message() {
        assert_eq!(RpcError::flood_wait(0).message, "FLOOD_WAIT_1");
        assert_eq!(RpcError::flood_wait(0).value, Some(1));
        let e = RpcError::unauthorized("AUTH_KEY_UNREGISTERED");
        assert_eq!((e.code, e.message.as_str()), (401, "AUTH_KEY_UNREGISTERED"));
        assert_eq!(RpcError::internal().to_string(), "RPC error 500 INTERNAL");
    }
}
