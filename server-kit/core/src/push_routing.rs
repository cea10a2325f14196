//! Which provider serves a device: the token type it registered with
//! (`account.registerDevice`'s `token_type`: 1 APNs, 2 FCM, 10 web push, ...).
//!
//! [`RoutedPush`] is a [`PushProvider`] made of others: each token type may have its own
//! (FCM for 2, APNs for 1), and every other device goes to a fallback (the webhook or the
//! log, as without routes). A notification is split into one part per provider (and each
//! provider splits its part further as it likes, see [`PushProvider::split`]), so the
//! [`Pusher`](crate::push::Pusher) retries each part with its own provider's policy.

use crate::BoxFuture;
use crate::push::{Notification, PushError, PushProvider, RetryPolicy};
use std::sync::Arc;

/// Sends each device's notification through the provider of its token type.
pub struct RoutedPush {
    routes: Vec<(i32, Arc<dyn PushProvider>)>,
    fallback: Arc<dyn PushProvider>,
}

impl std::fmt::Debug for RoutedPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutedPush")
            .field(
                "routes",
                &self.routes.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl RoutedPush {
    /// Every device goes to `fallback` until [`route`](Self::route) says otherwise.
    pub fn new(fallback: Arc<dyn PushProvider>) -> Self {
        RoutedPush {
            routes: Vec::new(),
            fallback,
        }
    }

    /// Devices of `token_type` go to `provider` (a later route for the same type wins).
    pub fn route(mut self, token_type: i32, provider: Arc<dyn PushProvider>) -> Self {
        self.routes.retain(|(t, _)| *t != token_type);
        self.routes.push((token_type, provider));
        self
    }

    /// The token types that have a provider of their own.
    pub fn routed_types(&self) -> impl Iterator<Item = i32> + '_ {
        self.routes.iter().map(|(t, _)| *t)
    }

    /// The provider of devices of `token_type`.
    fn provider_of(&self, token_type: i32) -> &Arc<dyn PushProvider> {
        self.routes
            .iter()
            .find(|(t, _)| *t == token_type)
            .map_or(&self.fallback, |(_, p)| p)
    }

    /// The provider of a notification's devices (its first device's; the fallback when it
    /// has none).
    fn provider_for(&self, n: &Notification) -> &Arc<dyn PushProvider> {
        n.devices
            .first()
            .map_or(&self.fallback, |d| self.provider_of(d.token_type))
    }

    /// `n` cut into one notification per provider, in the order of their first device.
    fn by_provider(&self, mut n: Notification) -> Vec<Notification> {
        let mut groups: Vec<(*const (), Notification)> = Vec::new();
        for device in std::mem::take(&mut n.devices) {
            let key = Arc::as_ptr(self.provider_of(device.token_type)).cast::<()>();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, group)) => group.devices.push(device),
                None => {
                    let mut group = n.clone();
                    group.devices = vec![device];
                    groups.push((key, group));
                }
            }
        }
        if groups.is_empty() {
            return vec![n];
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }
}

impl PushProvider for RoutedPush {
    /// One attempt for every device: each provider's devices in one call to it. All the
    /// providers are tried; the first failure is returned. (The [`Pusher`](crate::push::Pusher)
    /// calls this with the parts of [`split`](PushProvider::split), each for one provider.)
    fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
        Box::pin(async move {
            let mut first_error = None;
            for part in self.by_provider(n.clone()) {
                let result = self.provider_for(&part).deliver(&part).await;
                if let (Err(e), None) = (result, &first_error) {
                    first_error = Some(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.fallback.retry_policy()
    }

    fn split(&self, notification: Notification) -> Vec<Notification> {
        self.by_provider(notification)
            .into_iter()
            .flat_map(|part| self.provider_for(&part).split(part))
            .collect()
    }

    fn retry_policy_for(&self, notification: &Notification) -> RetryPolicy {
        self.provider_for(notification)
            .retry_policy_for(notification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::Target;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Records the token types of each notification it gets; splits per device if asked.
    struct Recorder {
        per_device: bool,
        seen: Mutex<Vec<Vec<i32>>>,
        attempts: u32,
    }

    impl Recorder {
        fn new(per_device: bool, attempts: u32) -> Arc<Self> {
            Arc::new(Recorder {
                per_device,
                seen: Mutex::new(Vec::new()),
                attempts,
            })
        }
    }

    impl PushProvider for Recorder {
        fn deliver<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), PushError>> {
            self.seen
                .lock()
                .unwrap()
                .push(n.devices.iter().map(|d| d.token_type).collect());
            Box::pin(async { Ok(()) })
        }

        fn retry_policy(&self) -> RetryPolicy {
            RetryPolicy {
                attempts: self.attempts,
                first_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
            }
        }

        fn split(&self, n: Notification) -> Vec<Notification> {
            if !self.per_device {
                return vec![n];
            }
            n.devices
                .iter()
                .map(|d| Notification {
                    devices: vec![d.clone()],
                    ..n.clone()
                })
                .collect()
        }
    }

    fn notification(types: &[i32]) -> Notification {
        Notification {
            user_id: 2,
            devices: types
                .iter()
                .enumerate()
                .map(|(i, &token_type)| Target {
                    token_type,
                    token: format!("t{i}"),
                    app_sandbox: false,
                })
                .collect(),
            sender_id: Some(1),
            sender_name: "Anna".into(),
            channel: None,
            message_id: 7,
            date: 1_700_000_000,
            preview: String::new(),
            silent: false,
        }
    }

    fn types(parts: &[Notification]) -> Vec<Vec<i32>> {
        parts
            .iter()
            .map(|p| p.devices.iter().map(|d| d.token_type).collect())
            .collect()
    }

    #[tokio::test]
    async fn devices_go_to_the_provider_of_their_token_type() {
        let (fcm, apns, rest) = (
            Recorder::new(true, 3),
            Recorder::new(true, 4),
            Recorder::new(false, 5),
        );
        let routed = RoutedPush::new(rest.clone())
            .route(2, fcm.clone())
            .route(1, apns.clone());
        let n = notification(&[10, 2, 1, 2, 13]);
        let parts = routed.split(n.clone());
        // The fallback's devices stay together; FCM's and APNs' go one by one.
        assert_eq!(types(&parts), [vec![10, 13], vec![2], vec![2], vec![1]]);
        let policies: Vec<u32> = parts
            .iter()
            .map(|p| routed.retry_policy_for(p).attempts)
            .collect();
        assert_eq!(policies, [5, 3, 3, 4]);
        assert_eq!(parts[1].devices[0].token, "t1");
        assert_eq!(parts[2].devices[0].token, "t3");

        routed.deliver(&n).await.unwrap();
        assert_eq!(*rest.seen.lock().unwrap(), [vec![10, 13]]);
        assert_eq!(*fcm.seen.lock().unwrap(), [vec![2, 2]]);
        assert_eq!(*apns.seen.lock().unwrap(), [vec![1]]);

        // No devices: the fallback gets it as it is.
        assert_eq!(types(&routed.split(notification(&[]))), [Vec::<i32>::new()]);
        let mut routed_types: Vec<i32> = routed.routed_types().collect();
        routed_types.sort_unstable();
        assert_eq!(routed_types, [1, 2]);
    }
}
