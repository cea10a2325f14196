//! Errors as the Bot API answers them: `{"ok":false,"error_code":N,"description":"…"}` with
//! HTTP status N (frameworks pick their exception from the status).

use serde_json::{Value, json};

/// A failed Bot API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The token is not `BOT_ID:SECRET` of an existing bot (401).
    #[error("Unauthorized: invalid token specified")]
    Unauthorized,
    /// No such method, or a path that is not `/bot<token>/<method>` (404).
    #[error("Not Found: {0}")]
    NotFound(&'static str),
    /// A parameter is missing or malformed, or the services refused the call (400).
    #[error("Bad Request: {0}")]
    BadRequest(String),
    /// The bot may not do this (403).
    #[error("Forbidden: {0}")]
    Forbidden(String),
    /// Another getUpdates of the same bot started: this one ends (409).
    #[error("Conflict: {0}")]
    Conflict(&'static str),
    /// Too many calls: try again after `retry_after` seconds (429).
    #[error("Too Many Requests: retry after {retry_after}")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The request body is larger than the frontend reads (413).
    #[error("Request Entity Too Large")]
    TooLarge,
    /// Something failed inside the server (500).
    #[error("Internal Server Error")]
    Internal,
}

impl ApiError {
    /// A missing parameter.
    pub fn missing(name: &str) -> Self {
        ApiError::BadRequest(format!("parameter \"{name}\" is required"))
    }

    /// A parameter of the wrong form.
    pub fn invalid(name: &str, what: &str) -> Self {
        ApiError::BadRequest(format!("parameter \"{name}\" {what}"))
    }

    /// The HTTP status, which is also the `error_code`.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::NotFound(_) => 404,
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::Conflict(_) => 409,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::TooLarge => 413,
            ApiError::Internal => 500,
        }
    }

    /// The answer's JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.status(),
            "description": self.to_string(),
        });
        if let ApiError::TooManyRequests { retry_after } = self {
            body["parameters"] = json!({ "retry_after": retry_after });
        }
        body
    }

    /// An error of the MTProto services, as the Bot API words it.
    pub fn from_rpc(e: &server_kit_core::rpc::RpcError) -> Self {
        let name = e.name.as_str();
        match (e.code, name) {
            (420, _) => ApiError::TooManyRequests {
                retry_after: u64::from(e.value.unwrap_or(1)),
            },
            (_, "PEER_ID_INVALID" | "CHAT_ID_INVALID" | "CHANNEL_INVALID") => {
                ApiError::BadRequest("chat not found".into())
            }
            (_, "MESSAGE_EMPTY") => ApiError::BadRequest("message text is empty".into()),
            (_, "MESSAGE_TOO_LONG") => ApiError::BadRequest("message is too long".into()),
            (_, "USER_IS_BLOCKED" | "YOU_BLOCKED_USER") => {
                ApiError::Forbidden("bot was blocked by the user".into())
            }
            (_, "CHAT_WRITE_FORBIDDEN" | "USER_NOT_PARTICIPANT" | "CHAT_ADMIN_REQUIRED") => {
                ApiError::Forbidden("bot is not a member of the chat".into())
            }
            (403, _) => ApiError::Forbidden(e.message.to_ascii_lowercase()),
            (400, _) => ApiError::BadRequest(e.message.clone()),
            _ => ApiError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_status_as_error_code() {
        let body = ApiError::Unauthorized.to_json();
        assert_eq!(body["ok"], false);
        assert_eq!(body["error_code"], 401);
        assert_eq!(body["description"], "Unauthorized: invalid token specified");
        let body = ApiError::TooManyRequests { retry_after: 7 }.to_json();
        assert_eq!(body["error_code"], 429);
        assert_eq!(body["parameters"]["retry_after"], 7);
    }

    #[test]
    fn rpc_errors_map_to_bot_api_wording() {
        let e = server_kit_core::rpc::RpcError::new(400, "PEER_ID_INVALID");
        assert_eq!(
            ApiError::from_rpc(&e),
            ApiError::BadRequest("chat not found".into())
        );
        let e = server_kit_core::rpc::RpcError::new(420, "FLOOD_WAIT_12");
        assert_eq!(
            ApiError::from_rpc(&e),
            ApiError::TooManyRequests { retry_after: 12 }
        );
        let e = server_kit_core::rpc::RpcError::new(500, "INTERNAL");
        assert_eq!(ApiError::from_rpc(&e), ApiError::Internal);
    }
}
