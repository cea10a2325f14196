//! `--metrics ADDR`: an HTTP/1.1 listener beside the MTProto port for the people who run the
//! server.
//!
//! - `/metrics`: what [`stats`] records, in Prometheus' text format
//!   (`metrics-exporter-prometheus`'s recorder, installed by [`Exporter::install`]; latencies
//!   are histograms with the buckets of [`LATENCY_BUCKETS`](crate::stats::LATENCY_BUCKETS)).
//! - `/healthz`: 200 while the process runs.
//! - `/readyz`: 200 when the store answers a cheap query within [`STORE_PROBE_TIMEOUT`] and
//!   the bus (if any) reaches the other nodes; else 503 with the reason as plain text.
//!
//! Keep ADDR private (loopback or an internal network): the pages are not authenticated.

use crate::state::Node;
use crate::stats;
use crate::store::StoreError;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode, header};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long `/readyz` waits for the store's answer.
pub const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the recorder's histograms are folded in (its upkeep).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the metrics recorder could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The recorder refused its settings, or another recorder is installed already.
    #[error("the metrics recorder: {0}")]
    Recorder(#[from] metrics_exporter_prometheus::BuildError),
}

/// The installed Prometheus recorder: renders what the server recorded.
#[derive(Debug, Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
}

impl Exporter {
    /// Installs the recorder for the whole process (once; before the server is built, so
    /// that nothing recorded is lost) and describes the server's metrics.
    pub fn install() -> Result<Self, ObserveError> {
        let handle = PrometheusBuilder::new()
            .set_buckets(&stats::LATENCY_BUCKETS)?
            .install_recorder()?;
        stats::describe();
        Ok(Exporter { handle })
    }

    /// The metrics in Prometheus' text format, with the gauges read from `server` now (the
    /// push queue, the bus).
    pub fn render(&self, server: &Node) -> String {
        metrics::gauge!(stats::PUSH_PENDING).set(server.push.pending() as f64);
        metrics::gauge!(stats::PUSH_JOBS_RUNNING).set(server.push.jobs() as f64);
        metrics::gauge!(stats::BUS_CONNECTED).set(f64::from(u8::from(server.bus.is_connected())));
        self.handle.render()
    }
}

/// Why the server is not ready for clients.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The store's answer was an error.
    #[error("store: {0}")]
    Store(StoreError),
    /// The store did not answer in time.
    #[error("store: no answer within {0:?}")]
    StoreTimeout(Duration),
    /// The bus does not reach the other nodes.
    #[error("bus: not connected")]
    Bus,
}

/// Whether `server` can serve clients: its store answers a cheap query (a user looked up by
/// an id no user has) within [`STORE_PROBE_TIMEOUT`], and its bus is connected.
pub async fn readiness(server: &Node) -> Result<(), NotReady> {
    let probe = server.store.run(|s| s.user(0).map(drop));
    check(probe, server.bus.is_connected(), STORE_PROBE_TIMEOUT).await
}

/// The readiness rule: the store `probe` answered `Ok` within `timeout`, and the bus is
/// connected.
async fn check(
    probe: impl Future<Output = Result<(), StoreError>>,
    bus_connected: bool,
    timeout: Duration,
) -> Result<(), NotReady> {
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(NotReady::Store(e)),
        Err(_) => return Err(NotReady::StoreTimeout(timeout)),
    }
    if bus_connected {
        Ok(())
    } else {
        Err(NotReady::Bus)
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` forever (and runs the
/// recorder's upkeep).
pub async fn serve(listener: TcpListener, exporter: Exporter, server: Arc<Node>) {
    let mut upkeep = tokio::time::interval(UPKEEP_EVERY);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = upkeep.tick() => {
                exporter.handle.run_upkeep();
                continue;
            }
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("metrics: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let exporter = exporter.clone();
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let exporter = exporter.clone();
                let server = server.clone();
                async move {
                    let (method, path) = (request.method().clone(), request.uri().path());
                    let response = answer(&method, path, &exporter, &server).await;
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = http.serve_connection(io, service).await {
                tracing::debug!("metrics: connection ended: {e}");
            }
        });
    }
}

/// The answer to `method path`.
async fn answer(
    method: &Method,
    path: &str,
    exporter: &Exporter,
    server: &Node,
) -> Response<Full<Bytes>> {
    let known = matches!(path, "/metrics" | "/healthz" | "/readyz");
    if !known {
        return text(StatusCode::NOT_FOUND, "not found\n".into());
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD\n".into());
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/metrics" => {
            let mut response = text(StatusCode::OK, exporter.render(server));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        "/readyz" => match readiness(server).await {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(e) => {
                tracing::debug!("not ready: {e}");
                text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n"))
            }
        },
        _ => text(StatusCode::OK, "ok\n".into()),
    }
}

/// A plain-text answer.
fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{Bus, ChangeNotice, Event};
    use crate::store::Store;
    use crate::{NodeBuilder, Options};
    use http_body_util::BodyExt;
    use server_kit_sqlite::SqliteStore;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A bus whose connection the test switches.
    #[derive(Default)]
    struct SwitchBus(AtomicBool);

    impl Bus for SwitchBus {
        fn publish(&self, _: ChangeNotice) {}
        fn events(&self) -> Option<tokio::sync::mpsc::Receiver<Event>> {
            None
        }
        fn is_connected(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }

    fn server(bus: Arc<SwitchBus>) -> Arc<Node> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().expect("store"));
        let dir = std::env::temp_dir().join(format!(
            "observe-{}-{}",
            std::process::id(),
            crate::os::random_i64()
        ));
        let files = Arc::new(crate::media::DiskStorage::new(&dir).expect("files"));
        let rsa = mtproto::crypto::RsaPrivateKey::generate(512, &mut crate::os::rng());
        let options = Options::new("127.0.0.1:443".parse().expect("address"));
        NodeBuilder::new(options, store, files, rsa)
            .bus(bus)
            .build()
            .expect("server")
    }

    fn exporter() -> Exporter {
        // Not installed: the process-wide recorder stays free for other tests.
        Exporter {
            handle: PrometheusBuilder::new().build_recorder().handle(),
        }
    }

    async fn body(response: Response<Full<Bytes>>) -> String {
        let bytes = response.into_body().collect().await.expect("body");
        String::from_utf8(bytes.to_bytes().to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn ready_when_the_store_answers_and_the_bus_is_connected() {
        let ok = || async { Ok(()) };
        let long = Duration::from_secs(5);
        assert!(check(ok(), true, long).await.is_ok());
        assert!(matches!(check(ok(), false, long).await, Err(NotReady::Bus)));
        let failed = async { Err(StoreError::Database("disk I/O error".into())) };
        let e = check(failed, true, long).await.expect_err("a failed store");
        assert!(matches!(e, NotReady::Store(_)));
        assert_eq!(e.to_string(), "store: database: disk I/O error");
        let hung = std::future::pending();
        let short = Duration::from_millis(20);
        assert!(matches!(
            check(hung, true, short).await,
            Err(NotReady::StoreTimeout(t)) if t == short
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readyz_follows_the_bus_and_healthz_always_answers() {
        let bus = Arc::new(SwitchBus::default());
        let server = server(bus.clone());
        let exporter = exporter();
        let get = |path: &'static str| {
            let (exporter, server) = (exporter.clone(), server.clone());
            async move { answer(&Method::GET, path, &exporter, &server).await }
        };
        let not_ready = get("/readyz").await;
        assert_eq!(not_ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body(not_ready).await, "bus: not connected\n");
        assert_eq!(get("/healthz").await.status(), StatusCode::OK);
        bus.0.store(true, Ordering::Relaxed);
        let ready = get("/readyz").await;
        assert_eq!(ready.status(), StatusCode::OK);
        assert_eq!(body(ready).await, "ready\n");
        assert_eq!(get("/nothing").await.status(), StatusCode::NOT_FOUND);
        let post = answer(&Method::POST, "/metrics", &exporter, &server).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        let metrics = get("/metrics").await;
        assert_eq!(metrics.status(), StatusCode::OK);
        assert!(
            metrics.headers()[header::CONTENT_TYPE]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/plain; version=0.0.4"))
        );
    }
}
