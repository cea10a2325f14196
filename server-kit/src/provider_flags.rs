//! The flags of the real push and SMS providers (`--fcm-*`, `--apns-*`, `--sms`,
//! `--twilio-*`, `--sms-http-*`), and what they make. The providers themselves are in the
//! module `providers`, with the cargo feature `providers`; without it the flags exist (so
//! `--help` and config files read the same) but using one is an error that says so.
//!
//! Secrets are never flag values (a command line shows in `ps`): the FCM service account and
//! the APNs key are files, the Twilio auth token and the HTTP provider's `Authorization`
//! come from a file or an environment variable.

use crate::push::PushProvider;
use crate::sms::SmsProvider;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which SMS provider sends login codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SmsKind {
    /// The log (development).
    #[default]
    Log,
    /// Twilio's Messages API.
    Twilio,
    /// Any HTTP API, through a request template.
    Http,
}

/// The providers' flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProviderArgs {
    /// Android devices (token type 2) get push notifications through FCM HTTP v1 with this
    /// service-account JSON key file (from the Firebase console). Feature `providers`.
    #[arg(long, value_name = "FILE")]
    pub fcm_service_account: Option<PathBuf>,
    /// FCM's base URL (tests point it at a local server).
    #[arg(long, value_name = "URL", default_value = "https://fcm.googleapis.com")]
    pub fcm_url: String,
    /// Apple devices (token type 1) get push notifications through APNs with this .p8 token
    /// signing key (needs --apns-key-id, --apns-team-id, --apns-topic). Feature `providers`.
    #[arg(long, value_name = "FILE")]
    pub apns_key: Option<PathBuf>,
    /// The APNs key's id (10 characters, shown with the key in Apple's developer account).
    #[arg(long, value_name = "ID")]
    pub apns_key_id: Option<String>,
    /// The Apple developer team id the key belongs to.
    #[arg(long, value_name = "ID")]
    pub apns_team_id: Option<String>,
    /// The app's bundle id (the `apns-topic` header).
    #[arg(long, value_name = "BUNDLE")]
    pub apns_topic: Option<String>,
    /// Every APNs notification goes to the sandbox (development builds of the app). Without
    /// it each device's own `app_sandbox` (from account.registerDevice) decides.
    #[arg(long)]
    pub apns_sandbox: bool,
    /// One base URL for APNs instead of Apple's production and sandbox hosts (tests point it
    /// at a local HTTP/2 server; `http://` speaks HTTP/2 without TLS).
    #[arg(long, value_name = "URL")]
    pub apns_url: Option<String>,
    /// Where login codes go: `log`, `twilio` (--twilio-*) or `http` (--sms-http-*).
    #[arg(long, value_enum, default_value_t = SmsKind::Log)]
    pub sms: SmsKind,
    /// The text of a login code SMS; `{code}` is replaced by the code (Twilio).
    #[arg(long, value_name = "TEXT", default_value = "Your login code: {code}")]
    pub sms_message: String,
    /// The Twilio account SID (AC...).
    #[arg(long, value_name = "SID")]
    pub twilio_account_sid: Option<String>,
    /// A file holding the Twilio auth token (default: the TWILIO_AUTH_TOKEN environment
    /// variable).
    #[arg(long, value_name = "FILE")]
    pub twilio_auth_token_file: Option<PathBuf>,
    /// The Twilio phone number codes are sent from (+15551234567).
    #[arg(long, value_name = "NUMBER")]
    pub twilio_from: Option<String>,
    /// A Twilio messaging service (MG...) to send from instead of --twilio-from.
    #[arg(long, value_name = "SID")]
    pub twilio_messaging_service_sid: Option<String>,
    /// Twilio's base URL (tests point it at a local server).
    #[arg(long, value_name = "URL", default_value = "https://api.twilio.com")]
    pub twilio_url: String,
    /// The HTTP SMS provider's URL; `{phone}` and `{code}` in it are replaced
    /// (percent-encoded).
    #[arg(long, value_name = "URL")]
    pub sms_http_url: Option<String>,
    /// The HTTP SMS provider's method.
    #[arg(long, value_name = "METHOD", default_value = "POST")]
    pub sms_http_method: String,
    /// The HTTP SMS provider's body; `{phone}` and `{code}` are replaced, escaped for the
    /// content type (JSON strings, form fields). Empty: no body.
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = r#"{"phone": "{phone}", "code": "{code}"}"#
    )]
    pub sms_http_body: String,
    /// The HTTP SMS provider's body content type.
    #[arg(long, value_name = "TYPE", default_value = "application/json")]
    pub sms_http_content_type: String,
    /// A file holding the HTTP SMS provider's `Authorization` header value (default: the
    /// SMS_HTTP_AUTHORIZATION environment variable; neither: no header).
    #[arg(long, value_name = "FILE")]
    pub sms_http_authorization_file: Option<PathBuf>,
}

pub use crate::provider_error::ProviderError;

/// Reads a secret from `file`, or else from the environment variable `var`; trimmed.
pub fn secret(file: Option<&Path>, var: &str) -> Result<Option<String>, ProviderError> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|source| ProviderError::Read {
            path: path.to_owned(),
            source,
        })?,
        None => match std::env::var(var) {
            Ok(value) => value,
            Err(_) => return Ok(None),
        },
    };
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

impl ProviderArgs {
    /// The push provider: `fallback` (the webhook or the log) for every device, with FCM
    /// for token type 2 and APNs for token type 1 when their flags are given.
    pub fn push(
        &self,
        fallback: Arc<dyn PushProvider>,
    ) -> Result<Arc<dyn PushProvider>, ProviderError> {
        if self.fcm_service_account.is_none() && self.apns_key.is_none() {
            return Ok(fallback);
        }
        #[cfg(feature = "providers")]
        {
            let mut routed = crate::push_routing::RoutedPush::new(fallback);
            if let Some(path) = &self.fcm_service_account {
                let fcm = crate::providers::fcm::FcmPush::new(
                    crate::providers::fcm::ServiceAccount::load(path)?,
                    &self.fcm_url,
                )?;
                tracing::info!(project = fcm.project_id(), "FCM serves token type 2");
                routed = routed.route(crate::providers::fcm::TOKEN_TYPE, Arc::new(fcm));
            }
            if let Some(path) = &self.apns_key {
                let need = |flag, value: &Option<String>| {
                    value.clone().ok_or(ProviderError::Missing {
                        flag,
                        with: "--apns-key",
                    })
                };
                let key = crate::providers::apns::ApnsKey::load(
                    path,
                    &need("apns-key-id", &self.apns_key_id)?,
                    &need("apns-team-id", &self.apns_team_id)?,
                )?;
                let mut apns = crate::providers::apns::ApnsPush::new(
                    key,
                    &need("apns-topic", &self.apns_topic)?,
                )?
                .sandbox_only(self.apns_sandbox);
                if let Some(url) = &self.apns_url {
                    apns = apns.with_base_url(url)?;
                }
                tracing::info!(sandbox = self.apns_sandbox, "APNs serves token type 1");
                routed = routed.route(crate::providers::apns::TOKEN_TYPE, Arc::new(apns));
            }
            Ok(Arc::new(routed))
        }
        #[cfg(not(feature = "providers"))]
        {
            let _ = fallback;
            Err(ProviderError::NotBuilt {
                flag: if self.fcm_service_account.is_some() {
                    "fcm-service-account"
                } else {
                    "apns-key"
                },
            })
        }
    }

    /// The SMS provider, `None` for the log.
    pub fn sms(&self) -> Result<Option<Arc<dyn SmsProvider>>, ProviderError> {
        if self.sms == SmsKind::Log {
            return Ok(None);
        }
        #[cfg(feature = "providers")]
        {
            use crate::providers::{http_sms::HttpTemplateSms, twilio::TwilioSms};
            let gateway: Arc<dyn crate::sms::SmsGateway> = match self.sms {
                SmsKind::Twilio => {
                    let sid = self
                        .twilio_account_sid
                        .clone()
                        .ok_or(ProviderError::Missing {
                            flag: "twilio-account-sid",
                            with: "--sms twilio",
                        })?;
                    let token =
                        secret(self.twilio_auth_token_file.as_deref(), "TWILIO_AUTH_TOKEN")?
                            .ok_or(ProviderError::Missing {
                                flag: "twilio-auth-token-file (or TWILIO_AUTH_TOKEN)",
                                with: "--sms twilio",
                            })?;
                    let sender = match (&self.twilio_messaging_service_sid, &self.twilio_from) {
                        (Some(service), _) => {
                            crate::providers::twilio::Sender::MessagingService(service.clone())
                        }
                        (None, Some(from)) => crate::providers::twilio::Sender::From(from.clone()),
                        (None, None) => {
                            return Err(ProviderError::Missing {
                                flag: "twilio-from (or --twilio-messaging-service-sid)",
                                with: "--sms twilio",
                            });
                        }
                    };
                    tracing::info!(account = %sid, "login codes go out through Twilio");
                    Arc::new(TwilioSms::new(
                        &sid,
                        &token,
                        sender,
                        &self.sms_message,
                        &self.twilio_url,
                    )?)
                }
                SmsKind::Http => {
                    let url = self.sms_http_url.clone().ok_or(ProviderError::Missing {
                        flag: "sms-http-url",
                        with: "--sms http",
                    })?;
                    let authorization = secret(
                        self.sms_http_authorization_file.as_deref(),
                        "SMS_HTTP_AUTHORIZATION",
                    )?;
                    let http = HttpTemplateSms::new(
                        &url,
                        &self.sms_http_method,
                        &self.sms_http_body,
                        &self.sms_http_content_type,
                        authorization,
                    )?;
                    tracing::info!(host = http.host(), "login codes go out through HTTP");
                    Arc::new(http)
                }
                SmsKind::Log => return Ok(None),
            };
            Ok(Some(Arc::new(crate::sms::SmsQueue::new(gateway))))
        }
        #[cfg(not(feature = "providers"))]
        Err(ProviderError::NotBuilt { flag: "sms" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_files_trimmed() {
        let dir = std::env::temp_dir().join(format!("server-kit-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "  s3cret\n").unwrap();
        assert_eq!(
            secret(Some(&file), "SERVER_KIT_TEST_UNSET")
                .unwrap()
                .as_deref(),
            Some("s3cret")
        );
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(secret(Some(&file), "SERVER_KIT_TEST_UNSET").unwrap(), None);
        assert!(matches!(
            secret(Some(&dir.join("missing")), "X"),
            Err(ProviderError::Read { .. })
        ));
        assert_eq!(secret(None, "SERVER_KIT_TEST_SURELY_UNSET").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_flags_the_fallback_and_the_log_serve() {
        let args = ProviderArgs::default();
        assert!(args.sms().unwrap().is_none());
        let fallback: Arc<dyn PushProvider> = Arc::new(crate::push::LogPush);
        let push = args.push(fallback.clone()).unwrap();
        assert!(Arc::ptr_eq(&push, &fallback));
    }
}
