//! Login codes through Twilio's Messages API: `POST
//! {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth with the account
//! SID and auth token, a form body of `To` (`+` and the digits), `From` (or
//! `MessagingServiceSid`) and `Body`.
//!
//! Answers: 2xx sent (Twilio says 201); 429 and 5xx retried (after `Retry-After` when
//! given); other 4xx final, logged with Twilio's error number (its `code`, e.g. 21211 for
//! an invalid `To`) and never with the login code or Twilio's message text.

use super::{base_url, client, retry_after, transport_error};
use crate::provider_error::ProviderError;
use crate::rpc::BoxFuture;
use crate::sms::{SmsError, SmsGateway};

/// Who a message is sent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A Twilio phone number (`From`).
    From(String),
    /// A messaging service (`MessagingServiceSid`), which picks the number.
    MessagingService(String),
}

/// Twilio's Messages API (see the [module docs](self)).
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
    sender: Sender,
    message: String,
}

impl std::fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSms")
            .field("url", &self.url)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl TwilioSms {
    /// Sends from `sender` with account `account_sid`, text `message` (`{code}` replaced),
    /// to the API at `base` (normally `https://api.twilio.com`).
    pub fn new(
        account_sid: &str,
        auth_token: &str,
        sender: Sender,
        message: &str,
        base: &str,
    ) -> Result<Self, ProviderError> {
        let invalid = |what: &str, why: &str| ProviderError::Invalid {
            what: what.into(),
            why: why.into(),
        };
        if account_sid.is_empty() || !account_sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "--twilio-account-sid",
                "expected letters and digits (AC...)",
            ));
        }
        if !message.contains("{code}") {
            return Err(invalid("--sms-message", "has no {code}"));
        }
        let base = base_url("--twilio-url", base)?;
        Ok(TwilioSms {
            client: client(false)?,
            url: format!("{base}/2010-04-01/Accounts/{account_sid}/Messages.json"),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            sender,
            message: message.to_owned(),
        })
    }

    /// The form fields of one message.
    pub fn form(&self, phone: &str, code: &str) -> Vec<(&'static str, String)> {
        let (name, value) = match &self.sender {
            Sender::From(number) => ("From", number.clone()),
            Sender::MessagingService(sid) => ("MessagingServiceSid", sid.clone()),
        };
        vec![
            ("To", format!("+{phone}")),
            (name, value),
            ("Body", self.message.replace("{code}", code)),
        ]
    }
}

/// What a Twilio answer means.
fn classify(status: u16, wait: Option<std::time::Duration>, body: &[u8]) -> Result<(), SmsError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|j| j["code"].as_u64());
    let reason = match code {
        Some(code) => format!("Twilio: HTTP {status}, error {code}"),
        None => format!("Twilio: HTTP {status}"),
    };
    Err(match (status, wait) {
        (429 | 500..=599, Some(retry_after)) => SmsError::Throttled {
            reason,
            retry_after,
        },
        (408 | 429 | 500..=599, None) => SmsError::Temporary(reason),
        _ => SmsError::Permanent(reason),
    })
}

impl SmsGateway for TwilioSms {
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let response = self
                .client
                .post(&self.url)
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .form(&self.form(phone, code))
                .send()
                .await
                .map_err(|e| SmsError::Temporary(format!("Twilio: {}", transport_error(e))))?;
            let status = response.status().as_u16();
            let wait = retry_after(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            classify(status, wait, &body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_are_classified_without_the_text() {
        assert_eq!(classify(201, None, b"{}"), Ok(()));
        let invalid = br#"{"code": 21211, "message": "The 'To' number +1555 is not valid",
            "status": 400}"#;
        assert_eq!(
            classify(400, None, invalid),
            Err(SmsError::Permanent("Twilio: HTTP 400, error 21211".into()))
        );
        assert_eq!(
            classify(429, Some(Duration::from_secs(1)), b"{\"code\": 20429}"),
            Err(SmsError::Throttled {
                reason: "Twilio: HTTP 429, error 20429".into(),
                retry_after: Duration::from_secs(1)
            })
        );
        assert!(matches!(
            classify(503, None, b""),
            Err(SmsError::Temporary(_))
        ));
    }

    #[test]
    fn the_form_names_the_sender() {
        let t = TwilioSms::new(
            "AC123",
            "secret",
            Sender::MessagingService("MG9".into()),
            "Code {code}",
            "https://api.twilio.com/",
        )
        .unwrap();
        assert_eq!(
            t.url,
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        assert_eq!(
            t.form("15550001", "12345"),
            [
                ("To", "+15550001".to_owned()),
                ("MessagingServiceSid", "MG9".to_owned()),
                ("Body", "Code 12345".to_owned())
            ]
        );
        assert!(
            TwilioSms::new(
                "AC/1",
                "s",
                Sender::From("+1".into()),
                "{code}",
                "https://x"
            )
            .is_err()
        );
        assert!(
            TwilioSms::new(
                "AC1",
                "s",
                Sender::From("+1".into()),
                "no code",
                "https://x"
            )
            .is_err()
        );
        assert!(format!("{t:?}").find("secret").is_none(), "{t:?}");
    }
}
