//! Cloud passwords (two-step verification, SRP) end to end, over loopback against the server
//! binary:
//!
//! - `our_client_sets_checks_changes_and_removes_a_password`: client-sdk signs up and sets a
//!   password with a hint; a second session of the same phone gets `PasswordRequired` with
//!   the hint and stays unauthorized; a wrong password is refused, the right one signs in; an
//!   `srp_id` is used once; a check made before the password changed is `SRP_PASSWORD_CHANGED`;
//!   change and removal work (and need the current password).
//! - `wrong_passwords_are_rate_limited`: the 6th wrong password within 5 minutes is
//!   `FLOOD_WAIT_X`, and so is the right one after it.
//! - `telethon_and_our_client_share_a_password`: Telethon 1.45 (`tests/telethon/password.py`)
//!   sets a password with `edit_2fa` and signs in with `sign_in(password=...)` after
//!   `SessionPasswordNeededError`; our client signs in with that password and changes it;
//!   Telethon signs in with ours and removes it; then both sign in with the code alone.
//!   Needs `python3` with `pip install telethon==1.45.0` (`.ci/test.sh` makes a venv with it).

mod common;

use client_sdk::api::{enums, functions, types};
use client_sdk::{
    Client, Config, InvocationError, MemorySessionStore, PasswordError, PasswordToken, SignInError,
};
use common::{ServerProcess, free_port, scratch_dir, server_key};
use mtproto::srp::{SrpGroup, password_hash};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_server-kit");
const INSTALL: &str = "pip install telethon==1.45.0";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A new client (a new auth key) that does not wait out flood waits.
async fn connect(addr: SocketAddr, data: &Path) -> Client {
    let mut config = Config::for_server(
        2,
        addr.to_string(),
        server_key(data),
        Arc::new(MemorySessionStore::default()),
    );
    config.flood_sleep_threshold = Duration::ZERO;
    Client::connect(config).await.expect("connect")
}

fn user_id(user: &enums::User) -> i64 {
    match user {
        enums::User::User(u) => u.id,
        enums::User::Empty(u) => u.id,
    }
}

async fn sign_up(client: &Client, phone: &str, name: &str) -> i64 {
    let token = client.request_login_code(phone).await.expect("send code");
    assert!(matches!(
        client.sign_in(&token, "12345").await,
        Err(SignInError::SignUpRequired)
    ));
    user_id(&client.sign_up(&token, name, "").await.expect("sign up"))
}

/// A new session of `phone` that gets the code right: signed in, or waiting for the password.
async fn log_in(
    addr: SocketAddr,
    data: &Path,
    phone: &str,
) -> (Client, Result<i64, PasswordToken>) {
    let client = connect(addr, data).await;
    let token = client.request_login_code(phone).await.expect("send code");
    let outcome = match client.sign_in(&token, "12345").await {
        Ok(user) => Ok(user_id(&user)),
        Err(SignInError::PasswordRequired(token)) => Err(token),
        Err(e) => panic!("sign in: {e}"),
    };
    (client, outcome)
}

fn rpc_error(e: &InvocationError) -> (i32, &str) {
    match e {
        InvocationError::Rpc { error: rpc, .. } => (rpc.code, rpc.name.as_str()),
        other => panic!("not an RPC error: {other}"),
    }
}

fn expect_rpc<T: std::fmt::Debug>(result: Result<T, InvocationError>, code: i32, name: &str) {
    match result {
        Err(e) => assert_eq!(rpc_error(&e), (code, name), "{e}"),
        Ok(v) => panic!("expected {code} {name}, got {v:?}"),
    }
}

/// The SRP answer to `state` for `password`, made here with mtproto::srp (what client-sdk
/// does inside check_password), to replay it.
fn srp_answer(state: &types::account::Password, password: &str) -> enums::InputCheckPasswordSRP {
    let Some(enums::PasswordKdfAlgo::SHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(algo)) =
        &state.current_algo
    else {
        panic!("no current algo: {state:?}");
    };
    let group = SrpGroup::checked(algo.g, &algo.p, &mut common::os_rng).expect("group");
    let x = password_hash(password.as_bytes(), &algo.salt1, &algo.salt2);
    let mut a = [0u8; 256];
    common::os_rng(&mut a);
    let proof = group
        .client_proof(
            &x,
            &algo.salt1,
            &algo.salt2,
            state.srp_b.as_ref().unwrap(),
            &a,
        )
        .expect("proof");
    types::InputCheckPasswordSRP {
        srp_id: state.srp_id.unwrap(),
        a: proof.a_public.to_vec().into(),
        m1: proof.m1.to_vec().into(),
    }
    .into()
}

#[test]
fn our_client_sets_checks_changes_and_removes_a_password() {
    let port = free_port();
    let data = scratch_dir("password-sdk");
    let _server =
        ServerProcess::start_with(BINARY, port, &data, &["--codes-per-phone-per-hour", "50"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let phone = "+1 555 0701";
    runtime().block_on(async {
        let first = connect(addr, &data).await;
        let me = sign_up(&first, phone, "Pat").await;
        let state = first.password_state().await.unwrap();
        assert!(!state.has_password && state.current_algo.is_none() && state.srp_id.is_none());
        first
            .set_password(None, Some("first secret"), "the first one")
            .await
            .expect("set");
        let state = first.password_state().await.unwrap();
        assert!(state.has_password);
        assert_eq!(state.hint.as_deref(), Some("the first one"));
        assert!(matches!(
            first.set_password(None, Some("x"), "").await,
            Err(PasswordError::CurrentRequired)
        ));

        // A second session: the right code is not enough.
        let (second, outcome) = log_in(addr, &data, phone).await;
        let token = outcome.expect_err("a password is asked for");
        assert_eq!(token.hint(), Some("the first one"));
        assert!(!second.is_authorized());
        expect_rpc(second.get_me().await, 401, "AUTH_KEY_UNREGISTERED");
        assert!(matches!(
            second.check_password(&token, "first secreT").await,
            Err(PasswordError::Wrong)
        ));
        expect_rpc(second.get_me().await, 401, "AUTH_KEY_UNREGISTERED");

        // An srp_id is good for one try.
        let state = second.password_state().await.unwrap();
        let wrong = srp_answer(&state, "not it");
        let check = |password| functions::auth::CheckPassword { password };
        expect_rpc(
            second.invoke(&check(wrong.clone())).await,
            400,
            "PASSWORD_HASH_INVALID",
        );
        expect_rpc(second.invoke(&check(wrong)).await, 400, "SRP_ID_INVALID");
        expect_rpc(
            second
                .invoke(&check(
                    enums::InputCheckPasswordSRP::InputCheckPasswordEmpty,
                ))
                .await,
            400,
            "PASSWORD_HASH_INVALID",
        );

        let user = second
            .check_password(&token, "first secret")
            .await
            .expect("the right password");
        assert_eq!(user_id(&user), me);
        assert!(second.is_authorized());
        assert_eq!(user_id(&second.get_me().await.unwrap()), me);

        // A check made before the password changed.
        let before = first.password_state().await.unwrap();
        assert!(matches!(
            second
                .set_password(Some("wrong"), Some("second secret"), "")
                .await,
            Err(PasswordError::Wrong)
        ));
        second
            .set_password(Some("first secret"), Some("second secret"), "two")
            .await
            .expect("change");
        let stale = functions::account::UpdatePasswordSettings {
            password: srp_answer(&before, "first secret"),
            new_settings: types::account::PasswordInputSettings {
                new_algo: Some(enums::PasswordKdfAlgo::Unknown),
                new_password_hash: Some(Vec::new().into()),
                hint: Some(String::new()),
                email: None,
                new_secure_settings: None,
            }
            .into(),
        };
        expect_rpc(first.invoke(&stale).await, 400, "SRP_PASSWORD_CHANGED");

        // The old password no longer signs in, the new one does.
        let (third, outcome) = log_in(addr, &data, phone).await;
        let token = outcome.expect_err("still a password");
        assert_eq!(token.hint(), Some("two"));
        assert!(matches!(
            third.check_password(&token, "first secret").await,
            Err(PasswordError::Wrong)
        ));
        third.check_password(&token, "second secret").await.unwrap();

        // Removed (with the current password): the code alone signs in again.
        assert!(matches!(
            third.set_password(None, None, "").await,
            Err(PasswordError::CurrentRequired)
        ));
        third
            .set_password(Some("second secret"), None, "")
            .await
            .expect("remove");
        assert!(!first.password_state().await.unwrap().has_password);
        let (fourth, outcome) = log_in(addr, &data, phone).await;
        assert_eq!(outcome.expect("no password now"), me);
        assert!(fourth.is_authorized());
        // Removing what is not there.
        expect_rpc(
            fourth
                .invoke(&functions::account::UpdatePasswordSettings {
                    password: enums::InputCheckPasswordSRP::InputCheckPasswordEmpty,
                    new_settings: types::account::PasswordInputSettings::default().into(),
                })
                .await,
            400,
            "NEW_SETTINGS_EMPTY",
        );

        // A key that is not signing in has no password to ask about.
        let stranger = connect(addr, &data).await;
        expect_rpc(
            stranger.password_state().await,
            401,
            "AUTH_KEY_UNREGISTERED",
        );
        expect_rpc(
            stranger
                .invoke(&functions::auth::CheckPassword {
                    password: enums::InputCheckPasswordSRP::InputCheckPasswordEmpty,
                })
                .await,
            401,
            "AUTH_KEY_UNREGISTERED",
        );
    });
}

#[test]
fn wrong_passwords_are_rate_limited() {
    let port = free_port();
    let data = scratch_dir("password-flood");
    let _server =
        ServerProcess::start_with(BINARY, port, &data, &["--codes-per-phone-per-hour", "50"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let phone = "+1 555 0702";
    runtime().block_on(async {
        let owner = connect(addr, &data).await;
        sign_up(&owner, phone, "Lee").await;
        owner.set_password(None, Some("right"), "").await.unwrap();
        let (guesser, outcome) = log_in(addr, &data, phone).await;
        let token = outcome.expect_err("a password is asked for");
        for i in 0..5 {
            assert!(
                matches!(
                    guesser.check_password(&token, &format!("guess {i}")).await,
                    Err(PasswordError::Wrong)
                ),
                "guess {i}"
            );
        }
        for password in ["guess 5", "right"] {
            match guesser.check_password(&token, password).await {
                Err(PasswordError::Other(e)) => {
                    let Some(rpc) = e.rpc() else { panic!("{e}") };
                    assert_eq!((rpc.code, rpc.name.as_str()), (420, "FLOOD_WAIT"), "{e}");
                    assert!(rpc.value.is_some_and(|s| (1..=300).contains(&s)), "{e}");
                }
                other => panic!("{password}: expected FLOOD_WAIT, got {other:?}"),
            }
        }
        assert!(!guesser.is_authorized());
        // The owner is limited too (the lock is the account's), also for changes.
        assert!(matches!(
            owner.set_password(Some("right"), Some("new"), "").await,
            Err(PasswordError::Other(e)) if rpc_error(&e) == (420, "FLOOD_WAIT")
        ));
    });
}

fn telethon_phase(port: u16, data: &Path, phase: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon/password.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(data)
        .arg(phase)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3, then `{INSTALL}`"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'telethon'") {
        panic!("Telethon is missing: `{INSTALL}`");
    }
    assert!(
        output.status.success() && stdout.trim_end().ends_with(&format!("{phase} ok")),
        "phase {phase} failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log: {}",
        data.with_extension("log").display()
    );
}

#[test]
fn telethon_and_our_client_share_a_password() {
    let port = free_port();
    let data = scratch_dir("password-telethon");
    let _server =
        ServerProcess::start_with(BINARY, port, &data, &["--codes-per-phone-per-hour", "50"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // The phone and passwords are the script's.
    let phone = "+1 555 0710";
    telethon_phase(port, &data, "telethon_sets");
    runtime().block_on(async {
        let (client, outcome) = log_in(addr, &data, phone).await;
        let token = outcome.expect_err("Telethon's password is asked for");
        assert_eq!(token.hint(), Some("tele hint"));
        assert!(matches!(
            client.check_password(&token, "rust-pw").await,
            Err(PasswordError::Wrong)
        ));
        client
            .check_password(&token, "tele-pw")
            .await
            .expect("the password Telethon set");
        client
            .set_password(Some("tele-pw"), Some("rust-pw"), "rust hint")
            .await
            .expect("change");
    });
    telethon_phase(port, &data, "rust_set");
    runtime().block_on(async {
        let (client, outcome) = log_in(addr, &data, phone).await;
        outcome.expect("Telethon removed the password");
        assert!(!client.password_state().await.unwrap().has_password);
    });
}
