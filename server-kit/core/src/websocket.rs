//! MTProto over WebSocket as Telegram serves it to browsers: an HTTP/1.1 upgrade on
//! [`PATHS`] (`/apiws`, `/apiws_test`) with the subprotocol `binary` echoed, then binary
//! messages, each carrying the next chunk of the connection's byte stream (the 64-byte
//! obfuscated2 header first, then abridged, intermediate or padded intermediate frames
//! inside). Only the upgrade lives here; the gateway hands the messages' bytes to the same
//! [`ServerConnection`](mtproto::ServerConnection) as TCP bytes, so transport detection
//! stays in mtproto.

use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The request paths upgraded: Telegram's production and test endpoints.
pub const PATHS: [&str; 2] = ["/apiws", "/apiws_test"];

/// The subprotocol browsers and GramJS ask for, echoed when offered.
pub const SUBPROTOCOL: &str = "binary";

/// The most bytes one outgoing message carries: a larger answer (a file chunk) goes out as
/// several messages, since the stream, not the message, is what counts. Small enough for
/// clients whose WebSocket library caps a frame at 1 MiB (the npm `websocket` package that
/// GramJS uses in Node does).
pub const OUT_CHUNK: usize = 64 << 10;

/// How much a WebSocket connection reads from its socket at once (its read buffer, which
/// every WebSocket connection holds while it lives; TCP connections share one per thread).
const READ_BUFFER: usize = 16 << 10;

/// What a frame or message may add to the largest transport frame: the frame's own header and
/// a client that puts the obfuscation header and a frame in one message.
const MESSAGE_SLACK: usize = 4 << 10;

/// A WebSocket connection on an accepted TCP stream.
pub type WsStream = WebSocketStream<TcpStream>;

/// Why an upgrade did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The request was not finished within the upgrade timeout.
    #[error("no WebSocket upgrade within {0:?}")]
    TimedOut(Duration),
    /// Not a WebSocket upgrade of one of [`PATHS`] (or the socket failed meanwhile).
    #[error("WebSocket upgrade refused: {0}")]
    Refused(#[from] tokio_tungstenite::tungstenite::Error),
}

/// The limits of a WebSocket connection: messages and frames at most the largest transport
/// frame (`max_frame`, [`Options::max_frame`](crate::Options::max_frame)) plus a little;
/// unmasked client frames refused, as RFC 6455 says.
pub fn config(max_frame: usize) -> WebSocketConfig {
    let max = max_frame.saturating_add(MESSAGE_SLACK);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        .accept_unmasked_frames(false)
}

/// Whether a `Sec-WebSocket-Protocol` header value offers [`SUBPROTOCOL`].
fn offers_binary(value: &HeaderValue) -> bool {
    value
        .to_str()
        .is_ok_and(|list| list.split(',').any(|p| p.trim() == SUBPROTOCOL))
}

/// Answers an upgrade request: 404 for a path not in [`PATHS`], the subprotocol echoed when
/// the client offers it (a server must not name one that was not offered).
#[allow(clippy::result_large_err)] // The signature tungstenite's callback asks for.
fn answer(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    if !PATHS.contains(&request.uri().path()) {
        let mut refused = ErrorResponse::new(Some("not a WebSocket endpoint".into()));
        *refused.status_mut() = StatusCode::NOT_FOUND;
        return Err(refused);
    }
    if request
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .any(offers_binary)
    {
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok(response)
}

/// Reads the upgrade request from `stream` and answers it, within `timeout`.
pub async fn accept(
    stream: TcpStream,
    max_frame: usize,
    timeout: Duration,
) -> Result<WsStream, UpgradeError> {
    let upgrade =
        tokio_tungstenite::accept_hdr_async_with_config(stream, answer, Some(config(max_frame)));
    match tokio::time::timeout(timeout, upgrade).await {
        Ok(Ok(ws)) => Ok(ws),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(UpgradeError::TimedOut(timeout)),
    }
}

/// Whether the bytes at the front of `stream` are an HTTP `GET ` (looked at, not consumed).
/// Returns `false` at once when the first byte is not `G`, which no plain MTProto transport
/// starts with; an obfuscated2 header may (1 in 256), so after a `G` it waits for four bytes,
/// up to `timeout`.
pub async fn starts_with_get(stream: &TcpStream, timeout: Duration) -> Result<bool, UpgradeError> {
    const GET: &[u8; 4] = b"GET ";
    let mut head = [0u8; 4];
    let n = stream.peek(&mut head).await.map_err(io_error)?;
    if n == 0 || head[0] != GET[0] {
        return Ok(false);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = stream.peek(&mut head).await.map_err(io_error)?;
        if n == GET.len() || head[..n] != GET[..n] {
            return Ok(head[..n] == GET[..]);
        }
        // Fewer than four bytes so far, all of them `GET `'s: peeking again returns at
        // once, so wait a little between looks.
        if tokio::time::Instant::now() >= deadline {
            return Err(UpgradeError::TimedOut(timeout));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn io_error(e: std::io::Error) -> UpgradeError {
    UpgradeError::Refused(e.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, protocols: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(path);
        if let Some(p) = protocols {
            builder = builder.header("Sec-WebSocket-Protocol", p);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn only_apiws_paths_are_upgraded() {
        for path in PATHS {
            assert!(answer(&request(path, None), Response::new(())).is_ok());
        }
        let refused = answer(&request("/", None), Response::new(())).unwrap_err();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert!(answer(&request("/apiws/x", None), Response::new(())).is_err());
    }

    #[test]
    fn binary_is_echoed_only_when_offered() {
        let echoed = |p| {
            answer(&request("/apiws", p), Response::new(()))
                .unwrap()
                .headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(echoed(Some("binary")).as_deref(), Some("binary"));
        assert_eq!(echoed(Some("chat, binary")).as_deref(), Some("binary"));
        assert_eq!(echoed(Some("chat")), None);
        assert_eq!(echoed(None), None);
    }
}
