//! `--web DIR` (with `--web-listen ADDR`): an HTTP/1.1 listener serving a web client's static
//! files, such as the chat page of `examples/web/` (its `dist/` after `npm run build`).
//!
//! - `/` and any directory: its `index.html`; other paths: the file under DIR, with the
//!   MIME type of its extension ([`mime_type`]). Paths with `..`, hidden segments (a leading
//!   `.`), backslashes or NUL are refused (404), and so is anything that resolves (through
//!   symbolic links) outside DIR; missing files are 404.
//! - `/server-key.pem`: the server's RSA public key (PKCS#1 PEM), the key clients must
//!   trust in the key exchange.
//! - `/config.json`: `{"dc_id": 2, "ws_host": "127.0.0.1", "ws_port": 4430}`, where the
//!   page's MTProto over WebSocket goes (`ws://HOST:PORT/apiws`; `ws_host` is null when the
//!   server listens on all addresses: the page then uses the host it was loaded from).
//!
//! So one built page serves any server. GET and HEAD only; plain HTTP (put TLS in front for
//! other hosts, and then serve the WebSocket through it too).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode, header};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Files larger than this are not served (a web client's files are far smaller).
pub const MAX_FILE: u64 = 64 << 20;

/// Why the web root cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// DIR does not exist or is not a directory.
    #[error("--web {dir}: not a directory ({source})")]
    NotADirectory {
        /// The directory given.
        dir: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// DIR has no `index.html` (for `examples/web`: build it first, `npm run build`).
    #[error(
        "--web {0}: no index.html in it (for examples/web: `npm ci && npm run build` there, then --web examples/web/dist)"
    )]
    NoIndex(PathBuf),
}

/// What the listener serves: the root directory, the key and the page's settings.
#[derive(Debug)]
pub struct WebSite {
    root: PathBuf,
    key_pem: Bytes,
    config_json: Bytes,
}

impl WebSite {
    /// Serves DIR (which must hold `index.html`), with `key_pem` as `/server-key.pem` and
    /// `/config.json` naming `dc_id` and the WebSocket address `ws`.
    pub fn new(
        dir: &Path,
        key_pem: impl Into<Bytes>,
        dc_id: i32,
        ws: SocketAddr,
    ) -> Result<Self, WebError> {
        let root = std::fs::canonicalize(dir)
            .and_then(|root| {
                if root.is_dir() {
                    Ok(root)
                } else {
                    Err(std::io::Error::other("a file"))
                }
            })
            .map_err(|source| WebError::NotADirectory {
                dir: dir.to_owned(),
                source,
            })?;
        if !root.join("index.html").is_file() {
            return Err(WebError::NoIndex(dir.to_owned()));
        }
        let host = if ws.ip().is_unspecified() {
            serde_json::Value::Null
        } else {
            ws.ip().to_string().into()
        };
        let config = serde_json::json!({"dc_id": dc_id, "ws_host": host, "ws_port": ws.port()});
        Ok(WebSite {
            root,
            key_pem: key_pem.into(),
            config_json: Bytes::from(format!("{config}\n")),
        })
    }

    /// The file a request path names, if it is a regular file inside the root.
    pub fn resolve(&self, path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(path)?;
        let mut file = self.root.clone();
        for segment in decoded.split('/').filter(|s| !s.is_empty()) {
            if segment.starts_with('.') || segment.contains(['\\', '\0']) {
                return None;
            }
            file.push(segment);
        }
        let mut file = std::fs::canonicalize(file).ok()?;
        if file.is_dir() {
            file = std::fs::canonicalize(file.join("index.html")).ok()?;
        }
        (file.starts_with(&self.root) && file.is_file()).then_some(file)
    }

    /// The bytes and MIME type of the file `path` names, if it is served.
    fn load(&self, path: &str) -> Option<(Vec<u8>, &'static str)> {
        let found = self.resolve(path)?;
        let read = std::fs::metadata(&found).and_then(|meta| {
            if meta.len() > MAX_FILE {
                return Err(std::io::Error::other("too large to serve"));
            }
            std::fs::read(&found)
        });
        match read {
            Ok(bytes) => Some((bytes, mime_type(&found))),
            Err(e) => {
                tracing::warn!(file = %found.display(), "web: cannot read: {e}");
                None
            }
        }
    }
}

/// The answer to `method path`.
async fn answer(site: &Arc<WebSite>, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD\n");
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/server-key.pem" => return file(site.key_pem.clone(), "application/x-pem-file"),
        "/config.json" => return file(site.config_json.clone(), "application/json"),
        _ => {}
    }
    // Path checks and reads touch the file system: off the runtime's threads.
    let (site, path) = (site.clone(), path.to_owned());
    match tokio::task::spawn_blocking(move || site.load(&path)).await {
        Ok(Some((bytes, mime))) => file(Bytes::from(bytes), mime),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The MIME type served for a file, from its extension (`application/octet-stream` for
/// unknown ones).
pub fn mime_type(file: &Path) -> &'static str {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("wasm") => "application/wasm",
        Some("pem") => "application/x-pem-file",
        _ => "application/octet-stream",
    }
}

/// `%XX` decoded (the rest as it is), or `None` for a bad escape or bytes that are no UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn file(body: Bytes, mime: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(mime));
    // The page is small and changes with the server: always revalidate.
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = file(
        Bytes::from_static(body.as_bytes()),
        "text/plain; charset=utf-8",
    );
    *response.status_mut() = status;
    response
}

/// Serves `site` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, site: Arc<WebSite>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("web: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let site = site.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let site = site.clone();
                async move {
                    let response = answer(&site, request.method(), request.uri().path()).await;
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = http.serve_connection(io, service).await {
                tracing::debug!("web: connection ended: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (WebSite, PathBuf) {
        let base = std::env::temp_dir().join(format!(
            "server-kit-web-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let root = base.join("site");
        std::fs::create_dir_all(root.join("img")).unwrap();
        std::fs::write(root.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(root.join("img/index.html"), "img").unwrap();
        std::fs::write(root.join("app.js"), "1").unwrap();
        std::fs::write(root.join(".hidden"), "no").unwrap();
        std::fs::write(base.join("secret.pem"), "private").unwrap();
        std::os::unix::fs::symlink(base.join("secret.pem"), root.join("link.pem")).unwrap();
        let addr = "0.0.0.0:4430".parse().unwrap();
        (WebSite::new(&root, "KEY", 2, addr).unwrap(), base)
    }

    #[test]
    fn paths_resolve_inside_the_root_only() {
        let (site, base) = site();
        let root = site.root.clone();
        assert_eq!(site.resolve("/"), Some(root.join("index.html")));
        assert_eq!(site.resolve("/app.js"), Some(root.join("app.js")));
        assert_eq!(site.resolve("/img"), Some(root.join("img/index.html")));
        assert_eq!(site.resolve("//app%2Ejs"), Some(root.join("app.js")));
        for bad in [
            "/../secret.pem",
            "/img/../../secret.pem",
            "/%2e%2e/secret.pem",
            "/%2E%2E%2Fsecret.pem",
            "/..%5csecret.pem",
            "/.hidden",
            "/link.pem",
            "/app.js%00.html",
            "/%zz",
            "/%c3",
            "/missing.js",
        ] {
            assert_eq!(site.resolve(bad), None, "{bad}");
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn config_names_the_websocket_address() {
        let (site, base) = site();
        assert_eq!(
            &site.config_json[..],
            b"{\"dc_id\":2,\"ws_host\":null,\"ws_port\":4430}\n"
        );
        let named = WebSite::new(&site.root, "KEY", 4, "127.0.0.1:9".parse().unwrap()).unwrap();
        assert_eq!(
            &named.config_json[..],
            b"{\"dc_id\":4,\"ws_host\":\"127.0.0.1\",\"ws_port\":9}\n"
        );
        assert!(matches!(
            WebSite::new(&base, "KEY", 2, "127.0.0.1:9".parse().unwrap()),
            Err(WebError::NoIndex(_))
        ));
        assert!(matches!(
            WebSite::new(
                &base.join("nothing"),
                "KEY",
                2,
                "127.0.0.1:9".parse().unwrap()
            ),
            Err(WebError::NotADirectory { .. })
        ));
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn mime_types_follow_extensions() {
        for (name, mime) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.JS", "text/javascript; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js.map", "application/json"),
            ("a.png", "image/png"),
            ("a.svg", "image/svg+xml"),
            ("LICENSE", "application/octet-stream"),
        ] {
            assert_eq!(mime_type(Path::new(name)), mime, "{name}");
        }
    }
}
