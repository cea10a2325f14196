//! One live connection to a DC: a TCP stream carrying the transport's bytes as they are, or
//! WebSocket binary messages carrying them ([`Transport::is_websocket`]: `ws://ADDR/apiws`,
//! subprotocol `binary`). Either way the connection task sees a byte stream.

use crate::config::Transport;
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use mtproto::client::ClientConnectionError;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long connecting (and a WebSocket upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Protocol(#[from] ClientConnectionError),
    #[error("timed out")]
    Timeout,
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    #[error("{url}: {why}")]
    BadUrl { url: String, why: &'static str },
}

impl From<LinkError> for crate::InvocationError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Io(e) => e.into(),
            LinkError::Timeout => std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connecting took longer than 10 s",
            )
            .into(),
            LinkError::Protocol(e) => crate::InvocationError::Transport(e),
            e @ (LinkError::WebSocket(_) | LinkError::BadUrl { .. }) => {
                std::io::Error::new(std::io::ErrorKind::ConnectionAborted, e.to_string()).into()
            }
        }
    }
}

/// The socket under a link.
enum Wire {
    Tcp {
        reader: OwnedReadHalf,
        writer: OwnedWriteHalf,
    },
    WebSocket(Box<WebSocketStream<TcpStream>>),
}

/// A live connection with its buffers: what was read and not yet handed on, what is to be
/// written.
pub(crate) struct Link {
    wire: Wire,
    pub(crate) inbuf: BytesMut,
    pub(crate) outbuf: BytesMut,
}

/// The WebSocket URL for a DC address: `ws://ADDR/apiws`, or ADDR itself if it is a
/// `ws://` URL.
fn websocket_url(addr: &str) -> Result<String, LinkError> {
    if addr.starts_with("wss://") {
        return Err(LinkError::BadUrl {
            url: addr.to_owned(),
            why: "wss:// needs TLS, which client-sdk does not carry (use ws:// behind a TLS proxy)",
        });
    }
    if addr.starts_with("ws://") {
        return Ok(addr.to_owned());
    }
    Ok(format!("ws://{addr}/apiws"))
}

impl Link {
    /// Connects to `addr` (`host:port`, or a `ws://` URL for the WebSocket transports).
    pub(crate) async fn open(addr: &str, transport: Transport) -> Result<Link, LinkError> {
        let wire = tokio::time::timeout(CONNECT_TIMEOUT, async {
            if !transport.is_websocket() {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (reader, writer) = stream.into_split();
                return Ok::<_, LinkError>(Wire::Tcp { reader, writer });
            }
            let url = websocket_url(addr)?;
            let mut request = url.as_str().into_client_request()?;
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("binary"));
            let host = request.uri().host().ok_or_else(|| LinkError::BadUrl {
                url: url.clone(),
                why: "no host",
            })?;
            let port = request.uri().port_u16().unwrap_or(80);
            let stream = TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
            stream.set_nodelay(true)?;
            let (ws, _) = tokio_tungstenite::client_async(request, stream).await?;
            Ok(Wire::WebSocket(Box::new(ws)))
        })
        .await
        .map_err(|_| LinkError::Timeout)??;
        Ok(Link {
            wire,
            inbuf: BytesMut::with_capacity(64 * 1024),
            outbuf: BytesMut::with_capacity(64 * 1024),
        })
    }

    /// Waits for bytes and appends them to `inbuf`: how many (0 when the server closed).
    /// Cancel-safe.
    pub(crate) async fn read(&mut self) -> Result<usize, LinkError> {
        match &mut self.wire {
            Wire::Tcp { reader, .. } => Ok(reader.read_buf(&mut self.inbuf).await?),
            Wire::WebSocket(ws) => loop {
                match ws.next().await {
                    None | Some(Ok(Message::Close(_))) => return Ok(0),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Binary(bytes))) if !bytes.is_empty() => {
                        self.inbuf.extend_from_slice(&bytes);
                        return Ok(bytes.len());
                    }
                    Some(Ok(Message::Text(_))) => {
                        return Err(LinkError::Io(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "a text message from the server (MTProto is binary)",
                        )));
                    }
                    // Pings are answered by tungstenite on its next read or write.
                    Some(Ok(_)) => {}
                }
            },
        }
    }

    /// Writes `outbuf` whole (one binary message on WebSocket) and empties it.
    pub(crate) async fn write_out(&mut self) -> Result<(), LinkError> {
        match &mut self.wire {
            Wire::Tcp { writer, .. } => writer.write_all(&self.outbuf).await?,
            Wire::WebSocket(ws) => {
                let message = Message::binary(self.outbuf.split().freeze());
                ws.send(message).await?;
            }
        }
        self.outbuf.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls() {
        assert_eq!(
            websocket_url("127.0.0.1:4430").unwrap(),
            "ws://127.0.0.1:4430/apiws"
        );
        assert_eq!(
            websocket_url("ws://example.org:80/apiws_test").unwrap(),
            "ws://example.org:80/apiws_test"
        );
        assert!(matches!(
            websocket_url("wss://example.org/apiws"),
            Err(LinkError::BadUrl { .. })
        ));
    }
}
