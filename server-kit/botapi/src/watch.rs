//! Waking long polls when a bot's box changes, without the core knowing of the frontend: the
//! frontend wraps the node's [`Bus`] (every change committed on this node is published on it)
//! and its [`RemoteChanges`] handler (changes committed by other nodes), and hears of each
//! `ChangeNotice::User` on the way through.

use server_kit_core::bus::{Bus, ChangeNotice, Event};
use server_kit_core::{BoxFuture, Node, RemoteChanges};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, mpsc};

/// One [`Notify`] per watched user, woken when that user's box changes.
#[derive(Debug, Default)]
pub struct BoxWatch {
    users: Mutex<HashMap<i64, Arc<Notify>>>,
}

impl BoxWatch {
    /// The notifier of `user`'s box (made on first use).
    pub fn watch(&self, user: i64) -> Arc<Notify> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.entry(user).or_default().clone()
    }

    /// Wakes whoever waits on `user`'s box.
    pub fn changed(&self, user: i64) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = users.get(&user) {
            notify.notify_waiters();
        }
    }

    fn heard(&self, change: &ChangeNotice) {
        if let ChangeNotice::User { user, .. } = change {
            self.changed(*user);
        }
    }

    /// `inner` with this watch hearing every notice published through it.
    pub fn wrap_bus(self: &Arc<Self>, inner: Arc<dyn Bus>) -> Arc<dyn Bus> {
        Arc::new(WatchedBus {
            inner,
            watch: self.clone(),
        })
    }

    /// `inner` with this watch hearing every change another node reports.
    pub fn wrap_remote(self: &Arc<Self>, inner: Arc<dyn RemoteChanges>) -> Arc<dyn RemoteChanges> {
        Arc::new(WatchedRemote {
            inner,
            watch: self.clone(),
        })
    }
}

/// A bus whose local publishes wake the watch.
struct WatchedBus {
    inner: Arc<dyn Bus>,
    watch: Arc<BoxWatch>,
}

impl Bus for WatchedBus {
    fn publish(&self, change: ChangeNotice) {
        self.watch.heard(&change);
        self.inner.publish(change);
    }

    fn events(&self) -> Option<mpsc::Receiver<Event>> {
        self.inner.events()
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        self.inner.flush()
    }

    fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }
}

/// A remote-changes handler that wakes the watch first.
struct WatchedRemote {
    inner: Arc<dyn RemoteChanges>,
    watch: Arc<BoxWatch>,
}

impl RemoteChanges for WatchedRemote {
    fn changed<'a>(&'a self, node: &'a Arc<Node>, change: ChangeNotice) -> BoxFuture<'a, ()> {
        self.watch.heard(&change);
        self.inner.changed(node, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_kit_core::bus::LocalBus;
    use std::time::Duration;

    #[tokio::test]
    async fn a_publish_wakes_the_users_waiter_only() {
        let watch = Arc::new(BoxWatch::default());
        let bus = watch.wrap_bus(Arc::new(LocalBus));
        let mine = watch.watch(7);
        let other = watch.watch(8);
        let waiting = mine.notified();
        let not_mine = other.notified();
        tokio::pin!(waiting, not_mine);
        waiting.as_mut().enable();
        not_mine.as_mut().enable();
        bus.publish(ChangeNotice::User {
            user: 7,
            pts: 3,
            pts_count: 1,
        });
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("woken");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), not_mine)
                .await
                .is_err()
        );
    }
}
