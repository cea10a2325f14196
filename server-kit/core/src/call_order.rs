//! `invokeAfterMsg` and `invokeAfterMsgs`: a call that names earlier calls of its session runs
//! only once they have been answered. Clients chain sends to one chat this way (mtcute does
//! for every message, Telethon for `ordered=True` lists) and expect the messages to get ids
//! in that order.
//!
//! Calls are registered in the order their session received them, before any of them runs,
//! so a call always finds the ones it names that are still running; one that names a call
//! already answered, or one the session never received, runs at once.

use mtproto_api::functions;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tl_runtime::{Blob, Deserialize};
use tokio::sync::watch;

const INVOKE_WITH_LAYER: u32 = 0xda9b_0d0d;
const INVOKE_AFTER_MSG: u32 = 0xcb9f_372d;
const INVOKE_AFTER_MSGS: u32 = 0x3dc4_b4f0;
const INVOKE_WITHOUT_UPDATES: u32 = 0xbf94_59b7;

/// A call of a session: (auth key id, session id, msg_id).
type CallKey = (i64, i64, i64);

/// The calls still running, per session.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallOrder {
    running: Arc<Mutex<HashMap<CallKey, watch::Receiver<()>>>>,
}

/// A registered call; dropping it (when the call has been answered) releases the calls that
/// wait for it.
#[derive(Debug)]
pub(crate) struct Running {
    key: CallKey,
    _done: watch::Sender<()>,
    order: CallOrder,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = self.order.running.lock() {
            running.remove(&self.key);
        }
    }
}

/// What a call must wait for before it runs.
#[derive(Debug, Default)]
pub(crate) struct Prerequisites(Vec<watch::Receiver<()>>);

impl Prerequisites {
    /// Waits until every call named has been answered.
    pub(crate) async fn wait(self) {
        for mut done in self.0 {
            // The sender goes away when its call is answered: that is the signal.
            while done.changed().await.is_ok() {}
        }
    }
}

impl CallOrder {
    /// Registers call `msg_id` of a session, with `body` as received, and returns what it
    /// waits for and its registration. Call in the order the session received the calls.
    pub(crate) fn start(
        &self,
        key_id: i64,
        session_id: i64,
        msg_id: i64,
        body: &[u8],
    ) -> (Prerequisites, Running) {
        let after = named_calls(body);
        let (tx, rx) = watch::channel(());
        let mut waits = Vec::new();
        if let Ok(mut running) = self.running.lock() {
            for id in after {
                if let Some(done) = running.get(&(key_id, session_id, id)) {
                    waits.push(done.clone());
                }
            }
            running.insert((key_id, session_id, msg_id), rx);
        }
        (
            Prerequisites(waits),
            Running {
                key: (key_id, session_id, msg_id),
                _done: tx,
                order: self.clone(),
            },
        )
    }
}

/// The msg_ids an `invokeAfterMsg(s)` in `body` names, looking through the wrappers clients
/// put around it (`invokeWithLayer`, `invokeWithoutUpdates`); none for anything else or for
/// bytes that do not decode (the dispatcher answers those).
fn named_calls(body: &[u8]) -> Vec<i64> {
    let mut body = body.to_vec();
    for _ in 0..4 {
        let Some(id) = body
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return Vec::new();
        };
        body = match id {
            INVOKE_AFTER_MSG => {
                return functions::InvokeAfterMsg::<Blob>::from_bytes(body)
                    .map(|c| vec![c.msg_id])
                    .unwrap_or_default();
            }
            INVOKE_AFTER_MSGS => {
                return functions::InvokeAfterMsgs::<Blob>::from_bytes(body)
                    .map(|c| c.msg_ids)
                    .unwrap_or_default();
            }
            INVOKE_WITH_LAYER => match functions::InvokeWithLayer::<Blob>::from_bytes(body) {
                Ok(c) => c.query.0.to_vec(),
                Err(_) => return Vec::new(),
            },
            INVOKE_WITHOUT_UPDATES => {
                match functions::InvokeWithoutUpdates::<Blob>::from_bytes(body) {
                    Ok(c) => c.query.0.to_vec(),
                    Err(_) => return Vec::new(),
                }
            }
            _ => return Vec::new(),
        };
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tl_runtime::Serialize;

    fn after(msg_id: i64, inner: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        INVOKE_AFTER_MSG.serialize(&mut out);
        msg_id.serialize(&mut out);
        out.extend_from_slice(inner);
        out
    }

    #[test]
    fn named_calls_looks_through_wrappers() {
        let call = 0x1234_5678u32.to_le_bytes().to_vec();
        assert!(named_calls(&call).is_empty());
        assert_eq!(named_calls(&after(40, &call)), [40]);
        let mut layered = Vec::new();
        INVOKE_WITH_LAYER.serialize(&mut layered);
        229i32.serialize(&mut layered);
        layered.extend_from_slice(&after(44, &call));
        assert_eq!(named_calls(&layered), [44]);
        let mut many = Vec::new();
        INVOKE_AFTER_MSGS.serialize(&mut many);
        vec![4i64, 8].serialize(&mut many);
        many.extend_from_slice(&call);
        assert_eq!(named_calls(&many), [4, 8]);
        assert!(named_calls(&[1, 2]).is_empty());
        assert!(named_calls(&INVOKE_AFTER_MSG.to_le_bytes()).is_empty());
    }

    #[tokio::test]
    async fn a_call_waits_for_the_one_it_names_and_only_that() {
        let order = CallOrder::default();
        let call = 0x1234_5678u32.to_le_bytes().to_vec();
        let (none, first) = order.start(1, 2, 40, &call);
        assert!(none.0.is_empty());
        let (waits, second) = order.start(1, 2, 44, &after(40, &call));
        // Another session's msg_id 40 is another call.
        let (other, _third) = order.start(1, 3, 48, &after(40, &call));
        assert!(other.0.is_empty());
        let waiting = tokio::spawn(waits.wait());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "ran before the call it names");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("released when the call it names is answered")
            .expect("task");
        drop(second);
        // Answered calls are forgotten: naming them waits for nothing.
        let (late, _late) = order.start(1, 2, 52, &after(44, &call));
        assert!(late.0.is_empty());
        assert_eq!(order.running.lock().map(|r| r.len()).unwrap_or(0), 2);
    }
}
