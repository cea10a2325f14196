//! `--metrics ADDR` end to end: after sign-ups, a message, a refused call and an upload, the
//! counters and histograms of `/metrics` moved with the right labels, `/healthz` and
//! `/readyz` answer, and every metric the Grafana dashboard in `deploy/` queries is one the
//! server exports (and every one it exports is on the dashboard).

mod common;

use common::{MiniClient, ServerProcess, free_port, scratch_dir, server_key};
use mtproto::transport::Kind;
use mtproto_api::{enums, functions, types};
use std::collections::{BTreeMap, BTreeSet};

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");

/// One sample of a scrape: its name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Reads Prometheus' text format (what this server writes of it: no escaped quotes or
/// commas in label values, no timestamps).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|e| panic!("{line}: {e}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').expect("labels end with }");
                    let labels = inner
                        .split(',')
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').expect("label=value");
                            (k.to_owned(), v.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            Sample {
                name: name.to_owned(),
                labels,
                value,
            }
        })
        .collect()
}

/// The sum of the samples named `name` whose labels include `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
        .sum()
}

/// GET `http://addr{path}`: status and body.
async fn get(addr: String, path: &str) -> (u16, String) {
    let url = format!("http://{addr}{path}");
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut response = agent.get(&url).call().expect("HTTP GET");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().expect("body");
        (status, body)
    })
    .await
    .expect("GET task")
}

/// A server with `--metrics`, the flow of this test, and its scrape.
struct Flow {
    scrape: String,
    metrics: String,
    _server: ServerProcess,
    dir: std::path::PathBuf,
}

async fn flow(name: &str) -> Flow {
    let dir = scratch_dir(name);
    let data = dir.join("data");
    let port = free_port();
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = ServerProcess::start_with(BINARY, port, &data, &["--metrics", &metrics]);
    let addr = format!("127.0.0.1:{port}").parse().expect("address");
    let key = server_key(&data);
    let mut a = MiniClient::connect(addr, &key, Kind::Intermediate)
        .await
        .expect("connect");
    let mut b = MiniClient::connect(addr, &key, Kind::Abridged)
        .await
        .expect("connect");
    a.sign_up("15550177001", "Alice", "")
        .await
        .expect("sign up");
    let bob = b.sign_up("15550177002", "Bob", "").await.expect("sign up");
    let peer = enums::InputPeer::User(types::InputPeerUser {
        user_id: bob.id,
        access_hash: bob.access_hash.unwrap_or_default(),
    });
    a.invoke(&functions::messages::SendMessage::new(
        peer,
        "hello".to_owned(),
        1,
    ))
    .await
    .expect("sendMessage");
    b.next_update(std::time::Duration::from_secs(5))
        .await
        .expect("Bob gets the message pushed");
    let stranger = enums::InputPeer::User(types::InputPeerUser {
        user_id: bob.id,
        access_hash: 12345,
    });
    let refused = a
        .invoke(&functions::messages::SendMessage::new(
            stranger,
            "to nobody".to_owned(),
            2,
        ))
        .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("PEER_ID_INVALID")),
        "{refused:?}"
    );
    a.invoke(&functions::upload::SaveFilePart {
        file_id: 77,
        file_part: 0,
        bytes: vec![7u8; 10].into(),
    })
    .await
    .expect("saveFilePart");
    let (status, scrape) = get(metrics.clone(), "/metrics").await;
    assert_eq!(status, 200, "{scrape}");
    Flow {
        scrape,
        metrics,
        _server: server,
        dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_a_sign_up_and_a_message() {
    let flow = flow("metrics-flow").await;
    let samples = parse(&flow.scrape);
    let at = |name: &str, labels: &[(&str, &str)]| total(&samples, name, labels);
    let transport = |t| [("transport", t), ("obfuscated", "false")];

    // Two connections, one per transport, both still open; two keys made.
    for t in ["intermediate", "abridged"] {
        assert_eq!(
            at("server_kit_connections_accepted_total", &transport(t)),
            1.0,
            "{t}: {}",
            flow.scrape
        );
        assert_eq!(at("server_kit_connections_open", &transport(t)), 1.0, "{t}");
    }
    assert_eq!(
        at(
            "server_kit_key_exchanges_total",
            &[("outcome", "completed")]
        ),
        2.0
    );
    assert_eq!(
        at("server_kit_key_exchanges_total", &[("outcome", "failed")]),
        0.0
    );

    // RPCs by method and outcome, each timed.
    let rpcs = "server_kit_rpcs_total";
    let send = ("method", "messages.sendMessage");
    assert_eq!(
        at(rpcs, &[("method", "auth.sendCode"), ("outcome", "ok")]),
        2.0
    );
    assert_eq!(
        at(rpcs, &[("method", "auth.signUp"), ("outcome", "ok")]),
        2.0
    );
    assert_eq!(at(rpcs, &[send, ("outcome", "ok")]), 1.0);
    assert_eq!(at(rpcs, &[send, ("outcome", "PEER_ID_INVALID")]), 1.0);
    let histogram = "server_kit_rpc_duration_seconds";
    assert_eq!(at(&format!("{histogram}_count"), &[send]), 2.0);
    assert_eq!(
        at(&format!("{histogram}_bucket"), &[send, ("le", "+Inf")]),
        2.0
    );
    assert!(at(&format!("{histogram}_sum"), &[send]) > 0.0);
    assert!(
        samples
            .iter()
            .filter(|s| s.name == rpcs)
            .all(|s| s.labels["method"] != "unknown"),
        "every call of this flow has a method name"
    );

    // Store calls, by the function that made them.
    let store = "server_kit_store_call_duration_seconds_count";
    let site = ("site", "services::messages::send_message");
    assert!(
        at(store, &[site, ("outcome", "ok")]) >= 1.0,
        "{}",
        flow.scrape
    );
    assert!(at(store, &[("site", "services::auth::send_code")]) >= 2.0);
    assert_eq!(at(store, &[("outcome", "error")]), 0.0);

    // Bob's session got the message; the upload's bytes; no SMS with --login-code.
    assert!(at("server_kit_updates_pushed_total", &[]) >= 1.0);
    assert_eq!(
        at("server_kit_file_bytes_total", &[("direction", "uploaded")]),
        10.0
    );
    assert_eq!(at("server_kit_sms_codes_sent_total", &[]), 0.0);
    assert_eq!(at("server_kit_bus_connected", &[]), 1.0);
    assert_eq!(at("server_kit_push_pending", &[]), 0.0);

    assert_eq!(
        get(flow.metrics.clone(), "/healthz").await,
        (200, "ok\n".into())
    );
    assert_eq!(
        get(flow.metrics.clone(), "/readyz").await,
        (200, "ready\n".into())
    );
    assert_eq!(get(flow.metrics.clone(), "/other").await.0, 404);
    let _ = std::fs::remove_dir_all(&flow.dir);
}

/// The metric names an expression of the dashboard reads.
fn names_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("server_kit_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every `expr` of every panel's targets, rows' panels included.
fn expressions(panels: &[serde_json::Value], out: &mut Vec<String>) {
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(expr.to_owned());
            }
        }
        if let Some(inner) = panel["panels"].as_array() {
            expressions(inner, out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_queries_what_the_server_exports() {
    let path = format!(
        "{}/deploy/grafana-dashboard.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut exprs = Vec::new();
    expressions(panels, &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    let queried: BTreeSet<String> = exprs.iter().flat_map(|e| names_in(e)).collect();

    let flow = flow("metrics-dashboard").await;
    let exported: BTreeSet<String> = parse(&flow.scrape).into_iter().map(|s| s.name).collect();
    let missing: Vec<&String> = queried.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics the server does not export: {missing:?}\n{}",
        flow.scrape
    );
    // Histograms are queried through _bucket, _sum or _count; one of them is enough.
    let family = |name: &str| {
        ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name)
            .to_owned()
    };
    let queried_families: BTreeSet<String> = queried.iter().map(|n| family(n)).collect();
    let unshown: Vec<String> = exported
        .iter()
        .map(|n| family(n))
        .filter(|f| !queried_families.contains(f))
        .collect();
    assert!(
        unshown.is_empty(),
        "metrics the dashboard does not show: {unshown:?}"
    );
    let _ = std::fs::remove_dir_all(&flow.dir);
}
