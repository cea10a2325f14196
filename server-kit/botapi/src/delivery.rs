//! `setWebhook`, `deleteWebhook`, `getWebhookInfo`, and the delivery of a bot's updates to
//! its webhook: one task per bot POSTs them one at a time, in order, each confirmed (its
//! offset saved) only when the receiver answers 2xx; a failure is recorded for
//! `getWebhookInfo` and retried after a backoff that doubles up to
//! [`MAX_BACKOFF`]. The task wakes when the bot's box changes,
//! as a long poll does.

use crate::api::{BotApi, lock, store_error};
use crate::error::ApiError;
use crate::params::Params;
use crate::webhook::{DEFAULT_MAX_CONNECTIONS, MAX_BACKOFF, MAX_CONNECTIONS, Webhook};
use serde_json::{Value, json};
use server_kit_core::state::unix_now;
use server_kit_store::User;
use std::sync::Arc;
use std::time::Duration;

/// The first wait after a failed POST.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Updates read per round of deliveries.
const ROUND: usize = 100;
/// The longest secret token.
const MAX_SECRET: usize = 256;

impl BotApi {
    /// `setWebhook`: url (empty: delete), secret_token, allowed_updates, max_connections,
    /// drop_pending_updates.
    pub(crate) async fn set_webhook(
        self: &Arc<Self>,
        bot: &User,
        p: &Params,
    ) -> Result<Value, ApiError> {
        let url = p.string("url")?.unwrap_or_default();
        if url.is_empty() {
            return self.delete_webhook(bot, p).await;
        }
        let valid_url = ["https://", "http://"]
            .iter()
            .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme))
            && url.parse::<hyper::Uri>().is_ok();
        if !valid_url {
            return Err(ApiError::BadRequest(
                "bad webhook: an HTTPS URL must be provided for webhook".into(),
            ));
        }
        let secret_token = p.string("secret_token")?.filter(|s| !s.is_empty());
        if let Some(secret) = &secret_token {
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if secret.len() > MAX_SECRET || !secret.chars().all(allowed) {
                return Err(ApiError::BadRequest(
                    "secret token contains unallowed characters".into(),
                ));
            }
        }
        let max_connections = match p.int("max_connections")? {
            None => DEFAULT_MAX_CONNECTIONS,
            Some(n) => u32::try_from(n.clamp(1, i64::from(MAX_CONNECTIONS))).unwrap_or(1),
        };
        let allowed_updates = match p.array("allowed_updates")? {
            Some(kinds) => kinds
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
            // Not given: what the webhook (or the polls) had.
            None => self
                .webhooks
                .get(bot.id)
                .map(|h| h.allowed_updates)
                .unwrap_or_default(),
        };
        if p.flag("drop_pending_updates")?.unwrap_or(false) {
            self.drop_pending(bot.id).await?;
        }
        let hook = Webhook {
            url,
            secret_token,
            allowed_updates,
            max_connections,
        };
        self.webhooks.set(bot.id, Some(hook)).await;
        // A running getUpdates ends with 409.
        self.end_poll(bot.id);
        self.start_delivery(bot.id);
        Ok(Value::Bool(true))
    }

    /// `deleteWebhook`: drop_pending_updates.
    pub(crate) async fn delete_webhook(&self, bot: &User, p: &Params) -> Result<Value, ApiError> {
        if let Some(task) = lock(&self.deliveries).remove(&bot.id) {
            task.abort();
        }
        if self.webhooks.get(bot.id).is_some() {
            self.webhooks.set(bot.id, None).await;
        }
        if p.flag("drop_pending_updates")?.unwrap_or(false) {
            self.drop_pending(bot.id).await?;
        }
        Ok(Value::Bool(true))
    }

    /// `getWebhookInfo`.
    pub(crate) async fn webhook_info(&self, bot: &User) -> Result<Value, ApiError> {
        let hook = self.webhooks.get(bot.id);
        let allowed = hook
            .as_ref()
            .map(|h| h.allowed_updates.clone())
            .unwrap_or_default();
        let from = self.confirm(bot.id, 0).await?;
        let pending = self
            .collect(bot.id, from, usize::MAX, &allowed)
            .await?
            .len();
        let mut info = json!({
            "url": hook.as_ref().map_or("", |h| h.url.as_str()),
            "has_custom_certificate": false,
            "pending_update_count": pending,
        });
        if let Some(hook) = &hook {
            info["max_connections"] = hook.max_connections.into();
            if !hook.allowed_updates.is_empty() {
                info["allowed_updates"] = hook.allowed_updates.clone().into();
            }
            let delivery = self.webhooks.delivery(bot.id);
            if let (Some(date), Some(message)) =
                (delivery.last_error_date, delivery.last_error_message)
            {
                info["last_error_date"] = date.into();
                info["last_error_message"] = message.into();
            }
        }
        Ok(info)
    }

    /// Confirms every update the bot has now.
    async fn drop_pending(&self, bot: i64) -> Result<(), ApiError> {
        let pts = self
            .node
            .store
            .run(move |s| s.pts(bot))
            .await
            .map_err(store_error)?;
        if self.offsets.raise(bot, pts) {
            self.offsets.save().await;
        }
        Ok(())
    }

    /// Starts (or restarts) the delivery task of the bot's webhook.
    pub(crate) fn start_delivery(self: &Arc<Self>, bot: i64) {
        let api = self.clone();
        let task = tokio::spawn(async move { api.deliver(bot).await });
        if let Some(old) = lock(&self.deliveries).insert(bot, task.abort_handle()) {
            old.abort();
        }
    }

    /// Delivers the bot's updates to its webhook until it is deleted.
    async fn deliver(self: Arc<Self>, bot: i64) {
        let notify = self.watch.watch(bot);
        let mut backoff = FIRST_BACKOFF;
        loop {
            // Listening before reading: a change committed meanwhile still wakes us.
            let changed = notify.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let Some(hook) = self.webhooks.get(bot) else {
                return;
            };
            let from = self.offsets.get(bot);
            let updates = match self.collect(bot, from, ROUND, &hook.allowed_updates).await {
                Ok(updates) => updates,
                Err(e) => {
                    tracing::warn!(bot, "bot api webhook: reading updates: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            if updates.is_empty() {
                changed.await;
                continue;
            }
            for update in updates {
                let id = update["update_id"].as_i64().unwrap_or(0);
                match self
                    .webhooks
                    .post(&hook, update.to_string().into_bytes())
                    .await
                {
                    Ok(()) => {
                        backoff = FIRST_BACKOFF;
                        let id = i32::try_from(id).unwrap_or(i32::MAX);
                        if self.offsets.raise(bot, id) {
                            self.offsets.save().await;
                        }
                    }
                    Err(e) => {
                        tracing::info!(bot, "bot api webhook: {e}");
                        self.webhooks.failed(bot, unix_now(), e);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        break;
                    }
                }
            }
        }
    }
}
