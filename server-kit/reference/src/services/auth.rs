//! Signing in: `auth.sendCode` (through the [`SmsProvider`](server_kit_core::sms::SmsProvider), at
//! most [`codes_per_phone_per_hour`](server_kit_core::Options::codes_per_phone_per_hour) per number),
//! `auth.signIn`, `auth.signUp`, `auth.logOut`, `auth.resetAuthorizations`, and
//! `help.acceptTermsOfService`. An account with a cloud password is not signed in by
//! `auth.signIn`: it answers `SESSION_PASSWORD_NEEDED` and [`super::password`] takes over.

use super::{bool_true, normalize_phone, ok, signed_in};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_array, random_i64};
use crate::store::LoginCode;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// How long a login code is valid, in seconds.
pub const CODE_TTL_SECS: i64 = 300;
/// Wrong codes allowed before the code is withdrawn.
pub const MAX_CODE_ATTEMPTS: i32 = 5;
/// The id of the terms of service (`help.termsOfService.id`).
pub const TERMS_ID: &str = "server-kit-terms-1";

/// The sign-in service.
#[derive(Debug, Clone, Copy)]
pub struct AuthService;

service!(AuthService {
    functions::auth::SendCode => send_code,
    functions::auth::SignIn => sign_in,
    functions::auth::SignUp => sign_up,
    functions::auth::LogOut => log_out,
    functions::auth::ResetAuthorizations => reset_authorizations,
    functions::help::AcceptTermsOfService => accept_terms,
});

fn now_secs() -> i64 {
    i64::from(crate::state::unix_now())
}

async fn send_code(server: &Arc<Node>, _: Caller, call: functions::auth::SendCode) -> RpcResult {
    let phone = normalize_phone(&call.phone_number);
    if phone.len() < 5 || phone.len() > 15 {
        return Err(RpcError::bad_request("PHONE_NUMBER_INVALID"));
    }
    // Each code is an SMS: limited per phone number across every node.
    server
        .presence
        .hit(
            format!("sendCode:{phone}"),
            server.options.codes_per_phone_per_hour,
            std::time::Duration::from_secs(3600),
        )
        .await
        .map_err(|limited| RpcError::flood_wait(limited.retry_after.as_secs()))?;
    let code = match &server.options.login_code {
        Some(code) => code.clone(),
        None => {
            let n = u32::from_le_bytes(random_array()) % 100_000;
            format!("{n:05}")
        }
    };
    let hash: String = random_array::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let entry = LoginCode {
        phone: phone.clone(),
        hash: hash.clone(),
        code: code.clone(),
        expires_at: now_secs() + CODE_TTL_SECS,
        attempts: 0,
        verified: false,
    };
    server.store.run(move |s| s.put_login_code(&entry)).await?;
    // A fixed development code (`--login-code`) is known already: no SMS, and it stays out
    // of the log the development provider writes.
    if server.options.login_code.is_none() {
        server.sms.send_code(&phone, &code);
        metrics::counter!(crate::stats::SMS_CODES).increment(1);
    }
    ok(enums::auth::SentCode::SentCode(types::auth::SentCode {
        r#type: types::auth::SentCodeTypeSms {
            length: code.len() as i32,
        }
        .into(),
        phone_code_hash: hash,
        next_type: None,
        timeout: None,
    }))
}

/// Checks the code entry for `phone` against `hash` (and `code` when given); the entry.
async fn check_code(
    server: &Arc<Node>,
    phone: &str,
    hash: &str,
    code: Option<&str>,
) -> Result<LoginCode, RpcError> {
    let p = phone.to_owned();
    let entry = server
        .store
        .run(move |s| s.login_code(&p))
        .await?
        .ok_or_else(|| RpcError::bad_request("PHONE_CODE_EXPIRED"))?;
    if entry.hash != hash {
        return Err(RpcError::bad_request("PHONE_CODE_EXPIRED"));
    }
    if entry.expires_at < now_secs() || entry.attempts >= MAX_CODE_ATTEMPTS {
        let p = phone.to_owned();
        server.store.run(move |s| s.delete_login_code(&p)).await?;
        return Err(RpcError::bad_request("PHONE_CODE_EXPIRED"));
    }
    if let Some(code) = code {
        if code.is_empty() {
            return Err(RpcError::bad_request("PHONE_CODE_EMPTY"));
        }
        if code != entry.code {
            let p = phone.to_owned();
            server.store.run(move |s| s.bump_login_attempts(&p)).await?;
            return Err(RpcError::bad_request("PHONE_CODE_INVALID"));
        }
    }
    Ok(entry)
}

async fn sign_in(server: &Arc<Node>, caller: Caller, call: functions::auth::SignIn) -> RpcResult {
    let phone = normalize_phone(&call.phone_number);
    let code = call
        .phone_code
        .ok_or_else(|| RpcError::bad_request("PHONE_CODE_EMPTY"))?;
    let entry = check_code(server, &phone, &call.phone_code_hash, Some(&code)).await?;
    let p = phone.clone();
    match server.store.run(move |s| s.user_by_phone(&p)).await? {
        Some(user) => {
            let id = user.id;
            if server.store.run(move |s| s.password(id)).await?.is_some() {
                return super::password::password_needed(server, caller, &user).await;
            }
            signed_in(server, caller, user).await
        }
        None => {
            // The number is proven: auth.signUp may now create its account.
            let verified = LoginCode {
                verified: true,
                ..entry
            };
            server
                .store
                .run(move |s| s.put_login_code(&verified))
                .await?;
            ok(enums::auth::Authorization::SignUpRequired(
                types::auth::AuthorizationSignUpRequired {
                    terms_of_service: Some(terms()),
                },
            ))
        }
    }
}

fn terms() -> enums::help::TermsOfService {
    types::help::TermsOfService {
        popup: false,
        id: types::DataJSON {
            data: format!("\"{TERMS_ID}\""),
        }
        .into(),
        text: "Be kind. This is a server-kit reference server.".into(),
        entities: Vec::new(),
        min_age_confirm: None,
    }
    .into()
}

async fn sign_up(server: &Arc<Node>, caller: Caller, call: functions::auth::SignUp) -> RpcResult {
    let phone = normalize_phone(&call.phone_number);
    let entry = check_code(server, &phone, &call.phone_code_hash, None).await?;
    if !entry.verified {
        // No auth.signIn with the right code came first: nothing proves the number is the
        // caller's.
        return Err(RpcError::bad_request("PHONE_CODE_EMPTY"));
    }
    let first = call.first_name.trim().to_owned();
    if first.is_empty() || first.chars().count() > 64 {
        return Err(RpcError::bad_request("FIRSTNAME_INVALID"));
    }
    let last = call.last_name.trim().to_owned();
    if last.chars().count() > 64 {
        return Err(RpcError::bad_request("LASTNAME_INVALID"));
    }
    let p = phone.clone();
    let user = server
        .store
        .run(move |s| s.create_user(&p, &first, &last, random_i64()))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Taken { .. } => {
                RpcError::bad_request("PHONE_NUMBER_OCCUPIED")
            }
            other => other.into(),
        })?;
    signed_in(server, caller, user).await
}

async fn log_out(server: &Arc<Node>, caller: Caller, _: functions::auth::LogOut) -> RpcResult {
    super::secret_chats::end_device(server, caller.key_id).await?;
    server.bind_user(caller.key_id, None).await?;
    ok(enums::auth::LoggedOut::LoggedOut(types::auth::LoggedOut {
        future_auth_token: None,
    }))
}

async fn reset_authorizations(
    server: &Arc<Node>,
    caller: Caller,
    _: functions::auth::ResetAuthorizations,
) -> RpcResult {
    let user = caller.user()?;
    for key in server.keys_of(user) {
        if key != caller.key_id {
            super::secret_chats::end_device(server, key).await?;
            server.drop_key(key).await?;
        }
    }
    bool_true()
}

async fn accept_terms(
    _: &Arc<Node>,
    _: Caller,
    _: functions::help::AcceptTermsOfService,
) -> RpcResult {
    bool_true()
}
