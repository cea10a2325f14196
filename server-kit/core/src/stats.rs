//! What the server measures: the names of its metrics, their labels, and small helpers the
//! gateway and the services record through. Recording goes through the [`metrics`] facade,
//! which does nothing until a recorder is installed (the binary's `--metrics ADDR`, see
//! [`observe`](crate::observe)), so a server without it pays a few atomic loads.
//!
//! Labels stay bounded: transports and outcomes are fixed sets, RPC methods are the names of
//! methods a service answers (anything else is `unknown`), RPC error names have their numbers
//! replaced by `X` (`FLOOD_WAIT_X`), and store call sites are the functions of the code that
//! calls the store.

use metrics::{counter, gauge};
use mtproto::transport::Kind;
use std::borrow::Cow;

/// Counter: connections whose transport was recognised, by `transport` (`abridged`,
/// `intermediate`, `padded`, `full`) and `obfuscated` (`true`, `false`).
pub const CONNECTIONS_ACCEPTED: &str = "server_kit_connections_accepted_total";
/// Gauge: open connections, by `transport` and `obfuscated` (both `unknown` until the first
/// bytes tell).
pub const CONNECTIONS_OPEN: &str = "server_kit_connections_open";
/// Counter: connections refused at once because their IP has too many open.
pub const CONNECTIONS_REFUSED: &str = "server_kit_connections_refused_total";
/// Counter: WebSocket upgrades by `outcome`: `accepted`, `refused` (not an upgrade of
/// `/apiws`, or broken), `timed_out` (the request took longer than the upgrade timeout).
pub const WEBSOCKET_UPGRADES: &str = "server_kit_websocket_upgrades_total";
/// Counter: key exchanges by `outcome`: `completed`, `failed` (the protocol went wrong),
/// `rate_limited` (refused by `--handshakes-per-minute`), `not_stored` (the store failed).
pub const KEY_EXCHANGES: &str = "server_kit_key_exchanges_total";
/// Counter: RPC calls answered, by `method` (`messages.sendMessage`) and `outcome` (`ok` or
/// the RPC error's name, e.g. `PEER_ID_INVALID`, `FLOOD_WAIT_X`).
pub const RPCS: &str = "server_kit_rpcs_total";
/// Histogram: seconds from a call's start to its answer, by `method`.
pub const RPC_DURATION: &str = "server_kit_rpc_duration_seconds";
/// Histogram: seconds a store call took, queueing for the blocking pool included, by `site`
/// (the function that made it, e.g. `services::messages::send_message`) and `outcome` (`ok`,
/// `error`).
pub const STORE_CALL_DURATION: &str = crate::store::STORE_CALL_DURATION;
/// Counter: updates queued to sessions (one per session an update went to).
pub const UPDATES_PUSHED: &str = "server_kit_updates_pushed_total";
/// Counter: notices published to the bus for the other nodes (feature `cluster`).
pub const BUS_SENT: &str = "server_kit_bus_notices_sent_total";
/// Counter: notices heard from other nodes on the bus.
pub const BUS_RECEIVED: &str = "server_kit_bus_notices_received_total";
/// Counter: notices lost, by `reason`: `queue_full` (too many waiting to be published),
/// `bus_down` (Redis unreachable), `server_busy` (too many heard and not yet handled).
/// Clients catch up through `updates.getDifference`: a lost notice costs latency only.
pub const BUS_DROPPED: &str = "server_kit_bus_notices_dropped_total";
/// Gauge: 1 while the bus reaches the other nodes (always 1 with one node).
pub const BUS_CONNECTED: &str = "server_kit_bus_connected";
/// Gauge: notices taken from the bus whose pushes are not done yet (more wait in the bus's
/// own queue when the server falls behind; past that they are dropped, `server_busy`).
pub const BUS_BACKLOG: &str = "server_kit_bus_backlog";
/// Histogram: seconds from taking a notice off the bus to having pushed what it announced
/// (the store read included): how far behind this node's clients are.
pub const BUS_LAG: &str = "server_kit_bus_notice_lag_seconds";
/// Counter: push notifications by `outcome`: `queued`, `dropped` (too many pending),
/// `delivered`, `failed` (after the provider's retries), `unregistered` (the service said
/// the device is gone: it is forgotten). One queued notification may be delivered to
/// several devices.
pub const PUSH_NOTIFICATIONS: &str = "server_kit_push_notifications_total";
/// Counter: push jobs (finding the recipients of a commit) by `outcome`: `started`,
/// `dropped` (too many running).
pub const PUSH_JOBS: &str = "server_kit_push_jobs_total";
/// Gauge: push notifications being delivered or waiting for a retry (the queue depth).
pub const PUSH_PENDING: &str = "server_kit_push_pending";
/// Gauge: push jobs running.
pub const PUSH_JOBS_RUNNING: &str = "server_kit_push_jobs_running";
/// Counter: login codes handed to the SMS provider.
pub const SMS_CODES: &str = "server_kit_sms_codes_sent_total";
/// Counter: login codes sent through a remote SMS gateway (`--sms twilio|http`), by
/// `outcome`: `queued`, `dropped` (too many pending), `delivered`, `failed` (after the
/// gateway's retries).
pub const SMS_DELIVERIES: &str = "server_kit_sms_deliveries_total";
/// Gauge: login codes being sent through a remote SMS gateway or waiting for a retry.
pub const SMS_PENDING: &str = "server_kit_sms_pending";
/// Counter: file bytes by `direction`: `uploaded` (parts stored), `downloaded` (parts read).
pub const FILE_BYTES: &str = "server_kit_file_bytes_total";

/// The upper bounds of the latency histograms, in seconds (0.5 ms to 10 s).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Gives every metric its help text, and creates the ones with a fixed label set at zero, so
/// that a scrape shows them (and a dashboard finds them) before anything happened.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        CONNECTIONS_ACCEPTED,
        "Connections whose transport was recognised, by transport and obfuscation."
    );
    describe_gauge!(
        CONNECTIONS_OPEN,
        "Open connections, by transport (unknown until the first bytes)."
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections refused: too many open from one IP."
    );
    describe_counter!(KEY_EXCHANGES, "Key exchanges by outcome.");
    describe_counter!(RPCS, "RPC calls answered, by method and outcome.");
    describe_histogram!(
        RPC_DURATION,
        Unit::Seconds,
        "Time from a call's start to its answer, by method."
    );
    describe_histogram!(
        STORE_CALL_DURATION,
        Unit::Seconds,
        "Time a store call took (blocking-pool wait included), by calling function and outcome."
    );
    describe_counter!(UPDATES_PUSHED, "Updates queued to sessions.");
    describe_counter!(BUS_SENT, "Notices published to the other nodes.");
    describe_counter!(BUS_RECEIVED, "Notices heard from the other nodes.");
    describe_counter!(BUS_DROPPED, "Bus notices lost, by reason.");
    describe_gauge!(BUS_CONNECTED, "1 while the bus reaches the other nodes.");
    describe_gauge!(BUS_BACKLOG, "Bus notices heard and not yet handled.");
    describe_histogram!(
        BUS_LAG,
        Unit::Seconds,
        "Time from taking a bus notice to having pushed what it announced."
    );
    describe_counter!(PUSH_NOTIFICATIONS, "Push notifications by outcome.");
    describe_counter!(PUSH_JOBS, "Push jobs by outcome.");
    describe_gauge!(PUSH_PENDING, "Push notifications pending delivery.");
    describe_gauge!(PUSH_JOBS_RUNNING, "Push jobs running.");
    describe_counter!(SMS_CODES, "Login codes handed to the SMS provider.");
    describe_counter!(
        SMS_DELIVERIES,
        "Login codes sent through an SMS gateway, by outcome."
    );
    describe_gauge!(
        SMS_PENDING,
        "Login codes pending delivery through an SMS gateway."
    );
    describe_counter!(FILE_BYTES, "File bytes uploaded and downloaded.");

    for outcome in ["completed", "failed", "rate_limited", "not_stored"] {
        counter!(KEY_EXCHANGES, "outcome" => outcome).absolute(0);
    }
    for reason in ["queue_full", "bus_down", "server_busy"] {
        counter!(BUS_DROPPED, "reason" => reason).absolute(0);
    }
    for outcome in ["queued", "dropped", "delivered", "failed", "unregistered"] {
        counter!(PUSH_NOTIFICATIONS, "outcome" => outcome).absolute(0);
    }
    for outcome in ["started", "dropped"] {
        counter!(PUSH_JOBS, "outcome" => outcome).absolute(0);
    }
    for outcome in ["queued", "dropped", "delivered", "failed"] {
        counter!(SMS_DELIVERIES, "outcome" => outcome).absolute(0);
    }
    for direction in ["uploaded", "downloaded"] {
        counter!(FILE_BYTES, "direction" => direction).absolute(0);
    }
    for name in [
        CONNECTIONS_REFUSED,
        UPDATES_PUSHED,
        BUS_SENT,
        BUS_RECEIVED,
        SMS_CODES,
    ] {
        counter!(name).absolute(0);
    }
    for name in [
        BUS_CONNECTED,
        BUS_BACKLOG,
        PUSH_PENDING,
        PUSH_JOBS_RUNNING,
        SMS_PENDING,
    ] {
        gauge!(name).set(0.0);
    }
    // A histogram shows (empty) once it has a handle.
    let _ = metrics::histogram!(BUS_LAG);
}

/// The `transport` label of a transport.
pub fn transport_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Abridged => "abridged",
        Kind::Intermediate => "intermediate",
        Kind::PaddedIntermediate => "padded",
        Kind::Full => "full",
    }
}

/// The `method` label of a constructor id: its TL name (`messages.sendMessage`), or
/// `unknown` for an id the schema does not name.
pub fn method_label(id: u32) -> &'static str {
    mtproto_api::name_for_id(id).unwrap_or("unknown")
}

/// The `outcome` label of an RPC error name: numbers become `X` (`FLOOD_WAIT_17` →
/// `FLOOD_WAIT_X`, `FILE_PART_3_MISSING` → `FILE_PART_X_MISSING`), anything but `A-Z`,
/// `0-9` and `_` becomes `_`, and at most 64 characters are kept.
pub fn error_label(name: &str) -> Cow<'_, str> {
    let plain = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
        && !name
            .split('_')
            .any(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if plain {
        return Cow::Borrowed(name);
    }
    let parts: Vec<Cow<'_, str>> = name
        .split('_')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                Cow::Borrowed("X")
            } else if part
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                Cow::Borrowed(part)
            } else {
                Cow::Owned(
                    part.chars()
                        .map(|c| {
                            if c.is_ascii_uppercase() || c.is_ascii_digit() {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect(),
                )
            }
        })
        .collect();
    let mut label = parts.join("_");
    if label.len() > 64 {
        label.truncate(64);
    }
    Cow::Owned(label)
}

/// One open connection in [`CONNECTIONS_OPEN`]: counted as `unknown` from its accept, moved
/// to its transport once recognised, and taken off the gauge when dropped.
#[derive(Debug)]
pub struct OpenConnection {
    labels: (&'static str, &'static str),
}

impl OpenConnection {
    /// A connection just accepted.
    pub fn accepted() -> Self {
        let labels = ("unknown", "unknown");
        gauge!(CONNECTIONS_OPEN, "transport" => labels.0, "obfuscated" => labels.1).increment(1);
        OpenConnection { labels }
    }

    /// Its transport is known (later calls do nothing).
    pub fn recognised(&mut self, kind: Kind, obfuscated: bool) {
        if self.labels.0 != "unknown" {
            return;
        }
        let labels = (
            transport_label(kind),
            if obfuscated { "true" } else { "false" },
        );
        let (transport, obfuscated) = self.labels;
        gauge!(CONNECTIONS_OPEN, "transport" => transport, "obfuscated" => obfuscated).decrement(1);
        gauge!(CONNECTIONS_OPEN, "transport" => labels.0, "obfuscated" => labels.1).increment(1);
        counter!(CONNECTIONS_ACCEPTED, "transport" => labels.0, "obfuscated" => labels.1)
            .increment(1);
        self.labels = labels;
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let (transport, obfuscated) = self.labels;
        gauge!(CONNECTIONS_OPEN, "transport" => transport, "obfuscated" => obfuscated).decrement(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_labels_have_no_numbers() {
        assert_eq!(error_label("PEER_ID_INVALID"), "PEER_ID_INVALID");
        assert!(matches!(error_label("PEER_ID_INVALID"), Cow::Borrowed(_)));
        assert_eq!(error_label("FLOOD_WAIT_17"), "FLOOD_WAIT_X");
        assert_eq!(error_label("FILE_PART_3_MISSING"), "FILE_PART_X_MISSING");
        assert_eq!(error_label("FILE_MIGRATE_4"), "FILE_MIGRATE_X");
        // Digits inside a word are part of the name (no number of its own).
        assert_eq!(error_label("AUTH_KEY_2FA"), "AUTH_KEY_2FA");
        assert_eq!(error_label("Bad-Name 7"), "B___N____7");
        assert_eq!(error_label(&"A".repeat(100)).len(), 64);
    }

    #[test]
    fn methods_by_name() {
        use mtproto_api::functions;
        use tl_runtime::Identifiable;
        assert_eq!(
            method_label(functions::messages::SendMessage::CONSTRUCTOR_ID),
            "messages.sendMessage"
        );
        assert_eq!(
            method_label(functions::auth::SendCode::CONSTRUCTOR_ID),
            "auth.sendCode"
        );
        assert_eq!(method_label(0x1234_5678), "unknown");
        assert_eq!(transport_label(Kind::PaddedIntermediate), "padded");
    }
}
