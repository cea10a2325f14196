//! Where login codes go: the [`SmsProvider`] trait and the development provider that writes
//! them to the log.

/// Sends login codes.
pub trait SmsProvider: Send + Sync + 'static {
    /// Delivers `code` to `phone` (digits only).
    fn send_code(&self, phone: &str, code: &str);
}

/// Writes codes to the log (development).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSms;

impl SmsProvider for LogSms {
    fn send_code(&self, phone: &str, code: &str) {
        tracing::info!(phone, code, "login code");
    }
}
