//! What carries a connection's bytes: a plain TCP stream, or WebSocket binary messages on one
//! ([`websocket`](crate::websocket)). Either way the bytes go to the connection's
//! [`ServerConnection`] as they come, and what it has to send goes back the same way.

use crate::state::{now, rng};
use crate::websocket::{OUT_CHUNK, WsStream};
use futures_util::{SinkExt, StreamExt};
use mtproto::ServerConnection;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};

/// The most one read takes from a TCP socket.
const READ_CHUNK: usize = 64 << 10;

thread_local! {
    /// The read buffer of every TCP connection served on this thread: a connection waits for
    /// its socket to be readable without a buffer, and what it reads goes straight to its
    /// [`ServerConnection`], which keeps only the part of a frame not yet complete. An idle
    /// TCP connection so holds no read buffer of its own.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_CHUNK]);
}

/// Why a carrier failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarrierError {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket protocol was broken (bad frame, frame or message too large, ...).
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    /// A text message: MTProto over WebSocket is binary only.
    #[error("websocket: a text message of {len} bytes")]
    TextMessage {
        /// Its length.
        len: usize,
    },
}

/// What one [`Carrier::recv`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Bytes went to the connection.
    Bytes,
    /// Nothing for the connection (a spurious wake-up, a ping answered): wait again.
    Nothing,
    /// The client closed the connection.
    End,
}

/// A connection's byte carrier.
#[derive(Debug)]
pub enum Carrier {
    /// MTProto straight on TCP.
    Tcp(TcpStream),
    /// MTProto in WebSocket binary messages.
    WebSocket(Box<WsStream>),
}

impl Carrier {
    /// Whether this is a WebSocket connection.
    pub fn is_websocket(&self) -> bool {
        matches!(self, Carrier::WebSocket(_))
    }

    /// Waits for bytes and hands them to `conn`. Cancel-safe: dropped while waiting, no bytes
    /// are lost.
    pub async fn recv(&mut self, conn: &mut ServerConnection) -> Result<Received, CarrierError> {
        match self {
            Carrier::Tcp(stream) => {
                stream.readable().await?;
                READ_BUF.with_borrow_mut(|buf| match stream.try_read(buf) {
                    Ok(0) => Ok(Received::End),
                    Ok(n) => {
                        conn.handle(now(), &buf[..n], &mut rng());
                        Ok(Received::Bytes)
                    }
                    // Readiness can be spurious: wait again.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Received::Nothing),
                    Err(e) => Err(e.into()),
                })
            }
            Carrier::WebSocket(ws) => match ws.next().await {
                None => Ok(Received::End),
                Some(Err(e)) => Err(e.into()),
                Some(Ok(Message::Binary(bytes))) => {
                    if bytes.is_empty() {
                        return Ok(Received::Nothing);
                    }
                    conn.handle(now(), &bytes, &mut rng());
                    Ok(Received::Bytes)
                }
                Some(Ok(Message::Text(text))) => Err(CarrierError::TextMessage { len: text.len() }),
                Some(Ok(Message::Close(_))) => {
                    // The close reply tungstenite queued goes out before the socket closes.
                    let _ = ws.flush().await;
                    Ok(Received::End)
                }
                // Pings are answered by tungstenite on its next read or write.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                    Ok(Received::Nothing)
                }
            },
        }
    }

    /// Writes `bytes` (whole transport frames): as they are on TCP, in binary messages of at
    /// most [`OUT_CHUNK`] bytes on WebSocket.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), CarrierError> {
        match self {
            Carrier::Tcp(stream) => stream.write_all(bytes).await?,
            Carrier::WebSocket(ws) => {
                for chunk in bytes.chunks(OUT_CHUNK) {
                    ws.feed(Message::binary(bytes::Bytes::copy_from_slice(chunk)))
                        .await?;
                }
                ws.flush().await?;
            }
        }
        Ok(())
    }

    /// Closes our side after the last bytes (a TCP FIN, a WebSocket close frame), then reads
    /// away what the client still sends until it closes too, at most `linger`: closing a
    /// socket with unread input would send a reset, which may make the client drop answers
    /// it has not read yet.
    pub async fn close(self, linger: Duration) -> Result<(), CarrierError> {
        match self {
            Carrier::Tcp(mut stream) => {
                stream.shutdown().await?;
                let mut sink = vec![0u8; 16 << 10];
                let _ = tokio::time::timeout(linger, async {
                    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                })
                .await;
            }
            Carrier::WebSocket(mut ws) => {
                crate::websocket::WsStream::close(&mut ws, None).await?;
                let _ = tokio::time::timeout(linger, async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
            }
        }
        Ok(())
    }
}
