//! Cloud passwords (two-step verification): `account.getPassword`,
//! `account.updatePasswordSettings` and `auth.checkPassword`, with SRP from `mtproto::srp`.
//!
//! - The server never sees a password: setting one stores the client's verifier
//!   `v = g^x mod p` with its salts; checking one takes the client's `A` and `M1` against the
//!   `B` (from a secret `b`) that `account.getPassword` handed out with an `srp_id`.
//! - `srp_id` → `b` is kept in the store with an expiry ([`SRP_TTL_SECS`]), so the
//!   `account.getPassword` and the `auth.checkPassword` of one sign-in may reach different
//!   nodes. Each check is used once, right or wrong: a client asks `account.getPassword` again
//!   for each try (as Telethon and Telegram's apps do).
//! - Signing in to an account with a password: `auth.signIn` with the right code answers
//!   `SESSION_PASSWORD_NEEDED` and records the key's pending sign-in (in the store, for
//!   [`LOGIN_TTL_SECS`]); the key stays unauthorized until `auth.checkPassword` succeeds.
//!   `account.getPassword` works for such a key too (it shows the hint).
//! - Wrong passwords: [`WRONG_PASSWORDS`] per user within [`WRONG_PASSWORD_WINDOW`] (counted
//!   across nodes through [`Presence::hit`](server_kit_core::presence::Presence::hit)); past that,
//!   checks are refused with `FLOOD_WAIT_X` until the window ends, right password or not
//!   (the lock is kept with the password in the store, so every node refuses).
//! - Errors as Telegram names them: `PASSWORD_HASH_INVALID`, `SRP_ID_INVALID`,
//!   `SRP_PASSWORD_CHANGED`, `NEW_SALT_INVALID`, `NEW_SETTINGS_INVALID`, `NEW_SETTINGS_EMPTY`,
//!   `EMAIL_INVALID` (this server sends no email: recovery emails are not supported).

use super::{bool_true, ok};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_array, random_i64, unix_now};
use crate::store::User;
use crate::store::passwords::{Password, PasswordLogin, SrpCheck};
use mtproto::srp::{SIZE, SrpError, SrpGroup};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use std::time::Duration;

/// How long an `srp_id` from `account.getPassword` can be answered, in seconds.
pub const SRP_TTL_SECS: i64 = 600;
/// How long a sign-in that passed the code waits for the password, in seconds.
pub const LOGIN_TTL_SECS: i64 = 900;
/// Wrong passwords allowed per user within [`WRONG_PASSWORD_WINDOW`].
pub const WRONG_PASSWORDS: u32 = 5;
/// The window wrong passwords are counted in.
pub const WRONG_PASSWORD_WINDOW: Duration = Duration::from_secs(300);
/// The longest hint, in characters.
pub const MAX_HINT_CHARS: usize = 128;
/// The server's part of a new `salt1` (the client appends 32 random bytes).
const NEW_SALT1_LEN: usize = 8;
/// A new `salt2`.
const NEW_SALT2_LEN: usize = 16;
/// The `salt1` lengths accepted when a password is set: the server's part and at least the
/// client's 32 bytes.
const SALT1_LEN: std::ops::RangeInclusive<usize> = NEW_SALT1_LEN + 32..=256;
/// The `salt2` lengths accepted when a password is set.
const SALT2_LEN: std::ops::RangeInclusive<usize> = 8..=256;

/// The cloud-password service.
#[derive(Debug, Clone, Copy)]
pub struct PasswordService;

service!(PasswordService {
    functions::account::GetPassword => get_password,
    functions::account::UpdatePasswordSettings => update_password_settings,
    functions::auth::CheckPassword => check_password,
});

fn now_secs() -> i64 {
    i64::from(unix_now())
}

/// The algorithm of a stored password, as TL.
fn algo_tl(salt1: &[u8], salt2: &[u8], group: &SrpGroup) -> enums::PasswordKdfAlgo {
    types::PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
        salt1: salt1.to_vec().into(),
        salt2: salt2.to_vec().into(),
        g: group.g(),
        p: group.p().to_vec().into(),
    }
    .into()
}

/// The group of a stored password (what the server accepted when it was set).
fn stored_group(password: &Password) -> Result<SrpGroup, RpcError> {
    SrpGroup::checked(password.g, &password.p, &mut crate::state::rng()).map_err(|e| {
        tracing::error!("a stored password has a bad group: {e}");
        RpcError::internal()
    })
}

/// Runs CPU-heavy SRP arithmetic (2048-bit powers) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| RpcError::internal())
}

/// The user whose password a caller may ask about: the signed-in user, or the account a
/// pending sign-in of the caller's key waits for.
async fn password_owner(server: &Arc<Node>, caller: &Caller) -> Result<i64, RpcError> {
    if let Some(user) = caller.user_id {
        return Ok(user);
    }
    if let Some(login) = pending_login(server, caller.key_id).await? {
        return Ok(login.user_id);
    }
    // Signed in through another node since this one loaded the key (the method is callable
    // without authorization, so the dispatcher did not look).
    let key_id = caller.key_id;
    server
        .store
        .run(move |s| s.auth_key(key_id))
        .await?
        .and_then(|key| key.user_id)
        .ok_or_else(|| RpcError::unauthorized("AUTH_KEY_UNREGISTERED"))
}

/// The key's sign-in that waits for a password, if it has one that has not expired.
async fn pending_login(server: &Arc<Node>, key_id: i64) -> Result<Option<PasswordLogin>, RpcError> {
    let login = server.store.run(move |s| s.password_login(key_id)).await?;
    Ok(login.filter(|l| l.expires_at > now_secs()))
}

/// `auth.signIn` got the right code for `user`, who has a password: the key waits for it.
pub(crate) async fn password_needed(server: &Arc<Node>, caller: Caller, user: &User) -> RpcResult {
    let login = PasswordLogin {
        key_id: caller.key_id,
        user_id: user.id,
        expires_at: now_secs() + LOGIN_TTL_SECS,
    };
    let phone = user.phone.clone();
    server
        .store
        .run(move |s| {
            s.put_password_login(&login, now_secs())?;
            // The code has done its part.
            s.delete_login_code(&phone)
        })
        .await?;
    tracing::info!(user = user.id, "sign-in waits for the password");
    Err(RpcError::unauthorized("SESSION_PASSWORD_NEEDED"))
}

async fn get_password(
    server: &Arc<Node>,
    caller: Caller,
    _: functions::account::GetPassword,
) -> RpcResult {
    let user = password_owner(server, &caller).await?;
    let stored = server.store.run(move |s| s.password(user)).await?;
    let telegram = SrpGroup::telegram();
    let new_algo = algo_tl(
        &random_array::<NEW_SALT1_LEN>(),
        &random_array::<NEW_SALT2_LEN>(),
        &telegram,
    );
    let mut answer = types::account::Password {
        has_recovery: false,
        has_secure_values: false,
        has_password: false,
        current_algo: None,
        srp_b: None,
        srp_id: None,
        hint: None,
        email_unconfirmed_pattern: None,
        new_algo,
        new_secure_algo: enums::SecurePasswordKdfAlgo::Unknown,
        secure_random: random_array::<32>().to_vec().into(),
        pending_reset_date: None,
        login_email_pattern: None,
    };
    if let Some(password) = stored {
        let group = stored_group(&password)?;
        answer.current_algo = Some(algo_tl(&password.salt1, &password.salt2, &group));
        let verifier = password.verifier.clone();
        let (b, srp_b) = blocking(move || {
            // A secret whose g^b is unsafe comes once in 2^60 draws; a few tries always do.
            for _ in 0..8 {
                let b = random_array::<SIZE>();
                match group.server_public(&verifier, &b) {
                    Ok(srp_b) => return Ok((b, srp_b)),
                    Err(SrpError::UnluckySecret) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(SrpError::UnluckySecret)
        })
        .await?
        .map_err(|e| {
            tracing::error!(user, "a stored verifier cannot make srp_B: {e}");
            RpcError::internal()
        })?;
        let check = SrpCheck {
            srp_id: random_i64(),
            user_id: user,
            b: b.to_vec(),
            verifier: password.verifier.clone(),
            expires_at: now_secs() + SRP_TTL_SECS,
        };
        let srp_id = check.srp_id;
        server
            .store
            .run(move |s| s.put_srp_check(&check, now_secs()))
            .await?;
        answer.has_password = true;
        answer.srp_b = Some(srp_b.to_vec().into());
        answer.srp_id = Some(srp_id);
        answer.hint = (!password.hint.is_empty()).then_some(password.hint);
    }
    ok(enums::account::Password::Password(answer))
}

/// Checks `input` against `user`'s password. `inputCheckPasswordEmpty` passes only when the
/// user has none. Wrong answers count towards the user's limit.
async fn check_srp(
    server: &Arc<Node>,
    user: i64,
    input: enums::InputCheckPasswordSRP,
) -> Result<(), RpcError> {
    let stored = server.store.run(move |s| s.password(user)).await?;
    let (password, input) = match (stored, input) {
        (None, enums::InputCheckPasswordSRP::InputCheckPasswordEmpty) => return Ok(()),
        (Some(_), enums::InputCheckPasswordSRP::InputCheckPasswordEmpty) => {
            return Err(RpcError::bad_request("PASSWORD_HASH_INVALID"));
        }
        (stored, enums::InputCheckPasswordSRP::InputCheckPasswordSRP(input)) => (stored, input),
    };
    let now = now_secs();
    if let Some(password) = &password {
        if password.locked_until > now {
            return Err(RpcError::flood_wait((password.locked_until - now) as u64));
        }
    }
    let srp_id = input.srp_id;
    let check = server
        .store
        .run(move |s| s.take_srp_check(srp_id))
        .await?
        .filter(|c| c.user_id == user && c.expires_at > now)
        .ok_or_else(|| RpcError::bad_request("SRP_ID_INVALID"))?;
    // No password now: it was removed after this srp_id was handed out.
    let password = password.ok_or_else(|| RpcError::bad_request("SRP_PASSWORD_CHANGED"))?;
    if check.verifier != password.verifier {
        return Err(RpcError::bad_request("SRP_PASSWORD_CHANGED"));
    }
    let b: [u8; SIZE] = check.b.as_slice().try_into().map_err(|_| {
        tracing::error!(user, "a stored SRP check has a {}-byte b", check.b.len());
        RpcError::internal()
    })?;
    let group = stored_group(&password)?;
    let verdict = blocking(move || {
        group.verify(
            &password.salt1,
            &password.salt2,
            &password.verifier,
            &b,
            &input.a,
            &input.m1,
        )
    })
    .await?;
    match verdict {
        Ok(()) => Ok(()),
        Err(SrpError::WrongPassword | SrpError::AOutOfRange { .. } | SrpError::ZeroScrambler) => {
            Err(wrong_password(server, user).await)
        }
        Err(e) => {
            tracing::error!(user, "a stored password cannot be checked: {e}");
            Err(RpcError::internal())
        }
    }
}

/// Counts a wrong password of `user`: `PASSWORD_HASH_INVALID`, or `FLOOD_WAIT_X` (and a lock
/// in the store until the window ends) once the limit is passed.
async fn wrong_password(server: &Arc<Node>, user: i64) -> RpcError {
    tracing::info!(user, "wrong cloud password");
    match server
        .presence
        .hit(
            format!("password:{user}"),
            WRONG_PASSWORDS,
            WRONG_PASSWORD_WINDOW,
        )
        .await
    {
        Ok(()) => RpcError::bad_request("PASSWORD_HASH_INVALID"),
        Err(limited) => {
            let wait = limited.retry_after.as_secs().max(1);
            let until = now_secs() + wait as i64;
            if let Err(e) = server
                .store
                .run(move |s| s.lock_password(user, until))
                .await
            {
                tracing::error!(user, "cannot lock the password: {e}");
            }
            RpcError::flood_wait(wait)
        }
    }
}

async fn check_password(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::auth::CheckPassword,
) -> RpcResult {
    let login = pending_login(server, caller.key_id)
        .await?
        .ok_or_else(|| RpcError::unauthorized("AUTH_KEY_UNREGISTERED"))?;
    check_srp(server, login.user_id, call.password).await?;
    let (key_id, user_id) = (caller.key_id, login.user_id);
    let user = server
        .store
        .run(move |s| {
            s.delete_password_login(key_id)?;
            s.user(user_id)
        })
        .await?
        .ok_or_else(|| RpcError::bad_request("USER_ID_INVALID"))?;
    super::signed_in(server, caller, user).await
}

async fn update_password_settings(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::account::UpdatePasswordSettings,
) -> RpcResult {
    let me = caller.user()?;
    let enums::account::PasswordInputSettings::PasswordInputSettings(settings) = call.new_settings;
    if settings.email.as_deref().is_some_and(|e| !e.is_empty()) {
        return Err(RpcError::bad_request("EMAIL_INVALID"));
    }
    let new = new_password(settings)?;
    let current = server.store.run(move |s| s.password(me)).await?;
    if new.is_none() && current.is_none() {
        return Err(RpcError::bad_request("NEW_SETTINGS_EMPTY"));
    }
    check_srp(server, me, call.password).await?;
    let changed = new.is_some();
    server
        .store
        .run(move |s| s.set_password(me, new.as_ref()))
        .await?;
    tracing::info!(user = me, set = changed, "cloud password changed");
    bool_true()
}

/// The password `account.passwordInputSettings` sets, or `None` to remove it (an empty
/// `new_password_hash`, or `passwordKdfAlgoUnknown`).
fn new_password(
    settings: types::account::PasswordInputSettings,
) -> Result<Option<Password>, RpcError> {
    let hash = settings.new_password_hash.unwrap_or_default();
    let algo = match settings.new_algo {
        None | Some(enums::PasswordKdfAlgo::Unknown) => None,
        Some(enums::PasswordKdfAlgo::SHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(a)) => {
            Some(a)
        }
    };
    let Some(algo) = algo.filter(|_| !hash.is_empty()) else {
        return Ok(None);
    };
    let telegram = SrpGroup::telegram();
    if algo.g != telegram.g() || algo.p.as_ref() != telegram.p() {
        return Err(RpcError::bad_request("NEW_SETTINGS_INVALID"));
    }
    if !SALT1_LEN.contains(&algo.salt1.len()) || !SALT2_LEN.contains(&algo.salt2.len()) {
        return Err(RpcError::bad_request("NEW_SALT_INVALID"));
    }
    telegram
        .check_verifier(&hash)
        .map_err(|_| RpcError::bad_request("NEW_SETTINGS_INVALID"))?;
    let hint = settings.hint.unwrap_or_default();
    if hint.chars().count() > MAX_HINT_CHARS {
        return Err(RpcError::bad_request("NEW_SETTINGS_INVALID"));
    }
    Ok(Some(Password {
        salt1: algo.salt1.to_vec(),
        salt2: algo.salt2.to_vec(),
        g: algo.g,
        p: algo.p.to_vec(),
        verifier: hash.to_vec(),
        hint,
        locked_until: 0,
    }))
}

#[cfg(test)]
mod tests {
    //! Two nodes over one store, in memory: what one node hands out, the other checks.

    use super::*;
    use crate::rpc::Caller;
    use crate::store::Store;
    use mtproto::crypto::{AuthKey, RsaPrivateKey};
    use mtproto::srp::password_hash;
    use server_kit_core::{NodeBuilder, Options};
    use server_kit_sqlite::SqliteStore;
    use tl_runtime::{Deserialize, Serialize};

    const SALT1: &[u8] = b"8 bytes!and the client's thirty-two bytes";
    const SALT2: &[u8] = b"sixteen bytes...";

    struct Cluster {
        nodes: [Arc<Node>; 2],
        caller: Caller,
        user: i64,
        files_dir: std::path::PathBuf,
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.files_dir);
        }
    }

    /// Two servers on one store; a user whose password is "pw"; a key (stored through
    /// node 1) whose sign-in through node 1 waits for that password.
    async fn cluster() -> Cluster {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let user = store.create_user("15550009", "Nod", "", 1).unwrap().id;
        let group = SrpGroup::telegram();
        let password = Password {
            salt1: SALT1.to_vec(),
            salt2: SALT2.to_vec(),
            g: group.g(),
            p: group.p().to_vec(),
            verifier: group.verifier(&password_hash(b"pw", SALT1, SALT2)).to_vec(),
            hint: "hint".into(),
            locked_until: 0,
        };
        store.set_password(user, Some(&password)).unwrap();
        let files_dir = std::env::temp_dir().join(format!("password-nodes-{}", random_i64()));
        let files = Arc::new(crate::media::DiskStorage::new(&files_dir).unwrap());
        let rsa = RsaPrivateKey::generate(512, &mut crate::state::rng());
        let node = || {
            let mut options = Options::new("127.0.0.1:443".parse().unwrap());
            options.login_code = Some("12345".into());
            crate::reference(NodeBuilder::new(
                options,
                store.clone(),
                files.clone(),
                rsa.clone(),
            ))
            .shared_store(true)
            .build()
            .unwrap()
        };
        let nodes = [node(), node()];
        let key = AuthKey::new(random_array());
        let key_id = i64::from_le_bytes(key.id());
        nodes[0].add_key(key, 0).await.unwrap();
        let caller = Caller {
            key_id,
            session_id: 1,
            user_id: None,
            layer: 229,
        };
        let sent = nodes[0]
            .dispatch(
                caller,
                functions::auth::SendCode {
                    phone_number: "+1 555 0009".into(),
                    api_id: 1,
                    api_hash: "x".into(),
                    settings: types::CodeSettings::default().into(),
                }
                .to_bytes(),
            )
            .await
            .unwrap();
        let enums::auth::SentCode::SentCode(sent) =
            enums::auth::SentCode::from_bytes(sent).unwrap()
        else {
            panic!("no code sent");
        };
        let signed_in = nodes[0]
            .dispatch(
                caller,
                functions::auth::SignIn {
                    phone_number: "15550009".into(),
                    phone_code_hash: sent.phone_code_hash,
                    phone_code: Some("12345".into()),
                    email_verification: None,
                }
                .to_bytes(),
            )
            .await;
        assert_eq!(
            signed_in,
            Err(RpcError::unauthorized("SESSION_PASSWORD_NEEDED"))
        );
        Cluster {
            nodes,
            caller,
            user,
            files_dir,
        }
    }

    impl Cluster {
        async fn get_password(&self, node: usize) -> types::account::Password {
            let answer = self.nodes[node]
                .dispatch(self.caller, functions::account::GetPassword {}.to_bytes())
                .await
                .unwrap();
            let enums::account::Password::Password(state) =
                enums::account::Password::from_bytes(answer).unwrap();
            state
        }

        async fn check(
            &self,
            node: usize,
            answer: &enums::InputCheckPasswordSRP,
        ) -> Result<i64, RpcError> {
            let call = functions::auth::CheckPassword {
                password: answer.clone(),
            };
            let bytes = self.nodes[node]
                .dispatch(self.caller, call.to_bytes())
                .await?;
            match enums::auth::Authorization::from_bytes(bytes).unwrap() {
                enums::auth::Authorization::Authorization(a) => match a.user {
                    enums::User::User(u) => Ok(u.id),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }
    }

    fn answer(state: &types::account::Password, password: &str) -> enums::InputCheckPasswordSRP {
        let group = SrpGroup::telegram();
        let srp_b = state.srp_b.clone().unwrap();
        let x = password_hash(password.as_bytes(), SALT1, SALT2);
        let proof = group
            .client_proof(&x, SALT1, SALT2, &srp_b, &random_array())
            .unwrap();
        types::InputCheckPasswordSRP {
            srp_id: state.srp_id.unwrap(),
            a: proof.a_public.to_vec().into(),
            m1: proof.m1.to_vec().into(),
        }
        .into()
    }

    #[tokio::test]
    async fn a_check_handed_out_by_one_node_is_answered_on_the_other_once() {
        let c = cluster().await;
        let state = c.get_password(0).await;
        assert!(state.has_password);
        assert_eq!(state.hint.as_deref(), Some("hint"));
        let wrong = answer(&state, "not pw");
        assert_eq!(
            c.check(1, &wrong).await,
            Err(RpcError::bad_request("PASSWORD_HASH_INVALID"))
        );
        assert_eq!(
            c.check(0, &wrong).await,
            Err(RpcError::bad_request("SRP_ID_INVALID")),
            "used on node 2"
        );
        let state = c.get_password(1).await;
        let right = answer(&state, "pw");
        assert_eq!(c.check(0, &right).await, Ok(c.user));
        let key = c.nodes[1]
            .store
            .run({
                let id = c.caller.key_id;
                move |s| s.auth_key(id)
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(key.user_id, Some(c.user), "signed in, in the shared store");
        // Node 2 has not loaded the key: it finds the signed-in user in the store.
        assert!(c.get_password(1).await.has_password);
        assert_eq!(
            c.check(1, &right).await,
            Err(RpcError::unauthorized("AUTH_KEY_UNREGISTERED")),
            "the sign-in is over: nothing waits for a password"
        );
    }

    #[tokio::test]
    async fn a_lock_made_on_one_node_holds_on_the_other() {
        let c = cluster().await;
        for i in 0..WRONG_PASSWORDS {
            let state = c.get_password(0).await;
            assert_eq!(
                c.check(0, &answer(&state, &format!("guess {i}"))).await,
                Err(RpcError::bad_request("PASSWORD_HASH_INVALID"))
            );
        }
        let state = c.get_password(0).await;
        let limited = c.check(0, &answer(&state, "guess 5")).await.unwrap_err();
        assert_eq!(limited.code, 420, "{limited}");
        // Node 2 counts nothing itself yet, but the lock is in the store.
        let state = c.get_password(1).await;
        let refused = c.check(1, &answer(&state, "pw")).await.unwrap_err();
        assert!(refused.message.starts_with("FLOOD_WAIT_"), "{refused}");
        let stored = c.nodes[1]
            .store
            .run({
                let user = c.user;
                move |s| s.password(user)
            })
            .await
            .unwrap()
            .unwrap();
        assert!(stored.locked_until > now_secs());
    }
}
