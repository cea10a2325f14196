//! The HTTP side: hyper's HTTP/1.1 server, paths `/bot<token>/<method>`, GET and POST,
//! parameters from the query string and the body, JSON answers whose status is the
//! `error_code`.

use crate::api::BotApi;
use crate::error::ApiError;
use crate::params::Params;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The largest request body read (no uploads yet).
pub const MAX_BODY: usize = 1 << 20;

/// Serves the Bot API on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, api: Arc<BotApi>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("bot api: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let api = api.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&api, request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%peer, "bot api connection: {e}");
            }
        });
    }
}

/// The answer to one request.
async fn answer(api: &Arc<BotApi>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match handle(api, request).await {
        Ok(result) => json!({ "ok": true, "result": result }),
        Err(e) => e.to_json(),
    };
    let status = body["error_code"]
        .as_u64()
        .and_then(|code| StatusCode::from_u16(u16::try_from(code).ok()?).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(retry_after) = body["parameters"]["retry_after"].as_u64() {
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
    }
    response
}

/// The token and method a path names: `/bot<token>/<method>`.
pub fn route(path: &str) -> Result<(String, &str), ApiError> {
    let rest = path
        .strip_prefix("/bot")
        .ok_or(ApiError::NotFound("Not Found"))?;
    let (token, method) = rest
        .split_once('/')
        .ok_or(ApiError::NotFound("Not Found"))?;
    if method.is_empty() || method.contains('/') {
        return Err(ApiError::NotFound("method not found"));
    }
    // Some clients percent-encode the token's colon.
    let token = token.replace("%3A", ":").replace("%3a", ":");
    Ok((token, method))
}

/// Parses the request and runs the call.
async fn handle(api: &Arc<BotApi>, request: Request<Incoming>) -> Result<Value, ApiError> {
    if request.method() != Method::GET && request.method() != Method::POST {
        return Err(ApiError::NotFound("Not Found"));
    }
    let (token, method) = route(request.uri().path())?;
    let method = method.to_owned();
    let mut params = Params::default();
    if let Some(query) = request.uri().query() {
        params.add_form(query.as_bytes());
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| ApiError::TooLarge)?
        .to_bytes();
    match content_type.as_str() {
        "application/json" => params.add_json(&body)?,
        "application/x-www-form-urlencoded" => params.add_form(&body),
        _ if body.is_empty() => {}
        "multipart/form-data" => {
            return Err(ApiError::BadRequest(
                "multipart/form-data is not supported yet".into(),
            ));
        }
        // No (or another) content type: a form, as curl -d sends it.
        _ => params.add_form(&body),
    }
    api.call(&token, &method, params).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_token_and_a_method() {
        assert_eq!(
            route("/bot1:abc/getMe").unwrap(),
            ("1:abc".to_owned(), "getMe")
        );
        assert_eq!(
            route("/bot1%3Aabc/sendMessage").unwrap(),
            ("1:abc".to_owned(), "sendMessage")
        );
        assert_eq!(route("/foo").unwrap_err().status(), 404);
        assert_eq!(route("/bot1:abc").unwrap_err().status(), 404);
        assert_eq!(route("/bot1:abc/").unwrap_err().status(), 404);
        assert_eq!(route("/bot1:abc/a/b").unwrap_err().status(), 404);
    }
}
