//! A count of pieces of work still running (calls being answered, connections still
//! reading), which a graceful shutdown waits to see reach zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Counts the [`Working`] guards alive; [`idle`](Self::idle) waits until there are none.
#[derive(Debug, Default, Clone)]
pub(crate) struct InFlight {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    count: AtomicUsize,
    idle: Notify,
}

/// One piece of work in flight: counted from its creation until it is dropped.
#[derive(Debug)]
pub(crate) struct Working {
    inner: Arc<Inner>,
}

impl InFlight {
    /// Counts one more piece of work until the guard is dropped.
    pub(crate) fn start(&self) -> Working {
        self.inner.count.fetch_add(1, Ordering::AcqRel);
        Working {
            inner: self.inner.clone(),
        }
    }

    /// How many are in flight now.
    pub(crate) fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    /// Returns once nothing is in flight (at once if nothing is).
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            // Registered before the count is read: a guard dropped in between still wakes us.
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        if self.inner.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn idle_waits_for_the_last_guard() {
        let work = InFlight::default();
        work.idle().await;
        let (a, b) = (work.start(), work.start());
        assert_eq!(work.count(), 2);
        let waiter = tokio::spawn({
            let work = work.clone();
            async move { work.idle().await }
        });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "idle with one guard alive");
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("idle after the last guard")
            .expect("waiter task");
        assert_eq!(work.count(), 0);
    }
}
