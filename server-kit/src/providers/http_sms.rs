//! Login codes through any HTTP API, described by a request template: a URL, a method, a
//! body and its content type, with `{phone}` (digits, no `+`) and `{code}` replaced in the
//! URL (percent-encoded) and in the body (escaped for the content type: inside JSON strings
//! for `application/json`, percent-encoded for `application/x-www-form-urlencoded`, as they
//! are otherwise). An optional `Authorization` header value comes from a file or the
//! environment.
//!
//! Answers: 2xx sent; 408, 425, 429 and 5xx retried (after `Retry-After` when given); the
//! rest final. Errors name the status only: the URL and the answer may carry the code.

use super::{base_url, client, retry_after, transport_error};
use crate::provider_error::ProviderError;
use crate::rpc::BoxFuture;
use crate::sms::{SmsError, SmsGateway};

/// How values are escaped in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    Json,
    Form,
    None,
}

/// An HTTP API described by a template (see the [module docs](self)).
pub struct HttpTemplateSms {
    client: reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: String,
    content_type: String,
    escape: Escape,
    authorization: Option<String>,
}

impl std::fmt::Debug for HttpTemplateSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTemplateSms")
            .field("method", &self.method)
            .field("host", &self.host())
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// `value` percent-encoded: everything but letters, digits and `-._~`.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `value` escaped to sit inside a JSON string.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::from(value).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn fill(template: &str, phone: &str, code: &str, escape: impl Fn(&str) -> String) -> String {
    template
        .replace("{phone}", &escape(phone))
        .replace("{code}", &escape(code))
}

impl HttpTemplateSms {
    /// A provider sending `method url` with `body` of `content_type` (an empty body sends
    /// none), and `authorization` as the `Authorization` header when given.
    pub fn new(
        url: &str,
        method: &str,
        body: &str,
        content_type: &str,
        authorization: Option<String>,
    ) -> Result<Self, ProviderError> {
        let invalid = |what: &str, why: String| ProviderError::Invalid {
            what: what.into(),
            why,
        };
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|e| invalid("--sms-http-method", e.to_string()))?;
        // The URL must make sense with sample values in it.
        base_url(
            "--sms-http-url",
            &fill(url, "15550000000", "12345", percent_encode),
        )?;
        if !url.contains("{code}") && !body.contains("{code}") {
            return Err(invalid(
                "--sms-http-url / --sms-http-body",
                "neither has {code}".into(),
            ));
        }
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let escape = match essence.as_str() {
            "application/json" => Escape::Json,
            "application/x-www-form-urlencoded" => Escape::Form,
            _ => Escape::None,
        };
        if reqwest::header::HeaderValue::from_str(content_type).is_err() {
            return Err(invalid(
                "--sms-http-content-type",
                "not a header value".into(),
            ));
        }
        if let Some(auth) = &authorization {
            if reqwest::header::HeaderValue::from_str(auth).is_err() {
                return Err(invalid(
                    "the Authorization value",
                    "not a header value".into(),
                ));
            }
        }
        Ok(HttpTemplateSms {
            client: client(false)?,
            method,
            url: url.to_owned(),
            body: body.to_owned(),
            content_type: content_type.to_owned(),
            escape,
            authorization,
        })
    }

    /// The host requests go to (for the log: the URL itself may hold placeholders).
    pub fn host(&self) -> String {
        reqwest::Url::parse(&fill(&self.url, "0", "0", percent_encode))
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The URL and body for one code.
    pub fn request(&self, phone: &str, code: &str) -> (String, String) {
        let url = fill(&self.url, phone, code, percent_encode);
        let body = match self.escape {
            Escape::Json => fill(&self.body, phone, code, json_escape),
            Escape::Form => fill(&self.body, phone, code, percent_encode),
            Escape::None => fill(&self.body, phone, code, str::to_owned),
        };
        (url, body)
    }
}

impl SmsGateway for HttpTemplateSms {
    fn send<'a>(&'a self, phone: &'a str, code: &'a str) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let (url, body) = self.request(phone, code);
            let mut request = self.client.request(self.method.clone(), url);
            if !body.is_empty() {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, &self.content_type)
                    .body(body);
            }
            if let Some(auth) = &self.authorization {
                request = request.header(reqwest::header::AUTHORIZATION, auth);
            }
            let response = request
                .send()
                .await
                .map_err(|e| SmsError::Temporary(format!("SMS HTTP: {}", transport_error(e))))?;
            let status = response.status().as_u16();
            let wait = retry_after(response.headers());
            let reason = format!("SMS HTTP: HTTP {status}");
            match (status, wait) {
                (200..=299, _) => Ok(()),
                (408 | 425 | 429 | 500..=599, Some(retry_after)) => Err(SmsError::Throttled {
                    reason,
                    retry_after,
                }),
                (408 | 425 | 429 | 500..=599, None) => Err(SmsError::Temporary(reason)),
                _ => Err(SmsError::Permanent(reason)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_where_they_go() {
        let json = HttpTemplateSms::new(
            "https://sms.example/send?to={phone}",
            "post",
            r#"{"to": "{phone}", "text": "code {code}"}"#,
            "application/json; charset=utf-8",
            Some("Bearer x".into()),
        )
        .unwrap();
        assert_eq!(json.host(), "sms.example");
        assert_eq!(json.method, reqwest::Method::POST);
        let (url, body) = json.request("1555", "1\"2 &3");
        assert_eq!(url, "https://sms.example/send?to=1555");
        assert_eq!(body, r#"{"to": "1555", "text": "code 1\"2 &3"}"#);
        serde_json::from_str::<serde_json::Value>(&body).expect("still JSON");

        let form = HttpTemplateSms::new(
            "http://127.0.0.1:9/sms",
            "PUT",
            "to={phone}&code={code}",
            "application/x-www-form-urlencoded",
            None,
        )
        .unwrap();
        assert_eq!(form.request("1555", "1 &2").1, "to=1555&code=1%20%262");

        let get = HttpTemplateSms::new(
            "http://127.0.0.1:9/sms?to={phone}&code={code}",
            "GET",
            "",
            "text/plain",
            None,
        )
        .unwrap();
        assert_eq!(
            get.request("1555", "a/b").0,
            "http://127.0.0.1:9/sms?to=1555&code=a%2Fb"
        );
    }

    #[test]
    fn templates_are_checked() {
        let new = |url: &str, method: &str, body: &str| {
            HttpTemplateSms::new(url, method, body, "application/json", None)
        };
        assert!(new("ftp://x/{code}", "POST", "").is_err());
        assert!(new("http://x/", "POST", "no placeholder").is_err());
        assert!(new("http://x/", "BAD METHOD", "{code}").is_err());
        assert!(new("http://x/", "POST", "{code}").is_ok());
        assert!(
            HttpTemplateSms::new("http://x/", "POST", "{code}", "a\nb", None).is_err(),
            "content type"
        );
    }
}
