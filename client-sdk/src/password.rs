//! Cloud passwords (two-step verification): finishing a sign-in that asks for one
//! ([`Client::check_password`]) and setting, changing or removing the account's
//! ([`Client::set_password`]). The password never leaves the client: it proves it knows it
//! with SRP ([`mtproto::srp`]), and setting one sends only the verifier `g^x mod p`.
//!
//! The SRP arithmetic (100000 rounds of PBKDF2-HMAC-SHA512 and a few 2048-bit powers) runs on
//! tokio's blocking pool, so it never stalls the runtime's workers.

use crate::client::Client;
use crate::connection::os_rng;
use crate::error::{InvocationError, PasswordError, SignInError};
use mtproto::srp::{SIZE, SrpError, SrpGroup, password_hash};
use mtproto_api::{enums, functions, types};

/// What [`Client::sign_in`] gives with [`SignInError::PasswordRequired`]: the account has a
/// cloud password; pass this to [`Client::check_password`] with the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordToken {
    hint: Option<String>,
}

impl PasswordToken {
    pub(crate) fn new(hint: Option<String>) -> Self {
        PasswordToken {
            hint: hint.filter(|h| !h.is_empty()),
        }
    }

    /// The hint the user gave with the password, to show when asking for it.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

/// Tries of a check whose `srp_id` the server no longer knows (it expired, was already used
/// by a call retried after a flood wait, or the password changed meanwhile): asked again with
/// a fresh `account.getPassword`.
const TRIES: usize = 2;

/// `password_hash` and the client proof for the account's current password, or
/// `inputCheckPasswordEmpty` when it has none (a `password` given then is not needed).
async fn current_check(
    state: &types::account::Password,
    password: Option<&str>,
) -> Result<enums::InputCheckPasswordSRP, PasswordError> {
    if !state.has_password {
        return Ok(enums::InputCheckPasswordSRP::InputCheckPasswordEmpty);
    }
    let password = password.ok_or(PasswordError::CurrentRequired)?;
    let Some(enums::PasswordKdfAlgo::SHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(algo)) =
        state.current_algo.clone()
    else {
        return Err(PasswordError::UnknownAlgorithm);
    };
    let (Some(srp_b), Some(srp_id)) = (state.srp_b.clone(), state.srp_id) else {
        return Err(InvocationError::Incomplete {
            request: "account.getPassword",
            missing: "srp_B and srp_id (the account has a password)",
        }
        .into());
    };
    let password = password.as_bytes().to_vec();
    let proof = tokio::task::spawn_blocking(move || {
        let group = SrpGroup::checked(algo.g, &algo.p, &mut os_rng)?;
        let x = password_hash(&password, &algo.salt1, &algo.salt2);
        // A secret whose A is unsafe comes once in 2^60 draws; a few tries always do.
        for _ in 0..8 {
            let mut a = [0u8; SIZE];
            os_rng(&mut a);
            match group.client_proof(&x, &algo.salt1, &algo.salt2, &srp_b, &a) {
                Err(SrpError::UnluckySecret) => continue,
                Err(e) => return Err(e),
                Ok(proof) => return Ok(proof),
            }
        }
        Err(SrpError::UnluckySecret)
    })
    .await
    .map_err(|_| InvocationError::Dropped)??;
    Ok(types::InputCheckPasswordSRP {
        srp_id,
        a: proof.a_public.to_vec().into(),
        m1: proof.m1.to_vec().into(),
    }
    .into())
}

/// The settings that set `new` as the password (the verifier made with the server's
/// `new_algo`, whose `salt1` gets 32 random bytes of the client's), or remove it (`None`).
async fn new_settings(
    state: &types::account::Password,
    new: Option<&str>,
    hint: &str,
) -> Result<types::account::PasswordInputSettings, PasswordError> {
    let Some(new) = new.filter(|n| !n.is_empty()) else {
        return Ok(types::account::PasswordInputSettings {
            new_algo: Some(enums::PasswordKdfAlgo::Unknown),
            new_password_hash: Some(Vec::new().into()),
            hint: Some(String::new()),
            email: None,
            new_secure_settings: None,
        });
    };
    let enums::PasswordKdfAlgo::SHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(algo) =
        state.new_algo.clone()
    else {
        return Err(PasswordError::UnknownAlgorithm);
    };
    let new = new.as_bytes().to_vec();
    let (algo, verifier) = tokio::task::spawn_blocking(move || {
        let group = SrpGroup::checked(algo.g, &algo.p, &mut os_rng)?;
        let mut salt1 = algo.salt1.to_vec();
        let mut own = [0u8; 32];
        os_rng(&mut own);
        salt1.extend_from_slice(&own);
        let verifier = group.verifier(&password_hash(&new, &salt1, &algo.salt2));
        let algo = types::PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
            salt1: salt1.into(),
            ..algo
        };
        Ok::<_, SrpError>((algo, verifier))
    })
    .await
    .map_err(|_| InvocationError::Dropped)??;
    Ok(types::account::PasswordInputSettings {
        new_algo: Some(algo.into()),
        new_password_hash: Some(verifier.to_vec().into()),
        hint: Some(hint.to_string()),
        email: None,
        new_secure_settings: None,
    })
}

/// Whether an error asks for a fresh `account.getPassword`.
fn stale_check(e: &InvocationError) -> bool {
    e.is("SRP_ID_INVALID") || e.is("SRP_PASSWORD_CHANGED")
}

/// The error of a call that checked a password.
fn checked_error(e: InvocationError) -> PasswordError {
    if e.is("PASSWORD_HASH_INVALID") {
        PasswordError::Wrong
    } else {
        PasswordError::Other(e)
    }
}

impl Client {
    /// The account's password state (`account.getPassword`): whether it has a password, its
    /// hint, and what a check or a new password needs.
    pub async fn password_state(&self) -> Result<types::account::Password, InvocationError> {
        let enums::account::Password::Password(state) =
            self.invoke(&functions::account::GetPassword {}).await?;
        Ok(state)
    }

    /// Finishes a sign-in that [`sign_in`](Self::sign_in) answered with
    /// [`SignInError::PasswordRequired`]: checks the account's cloud password and returns the
    /// signed-in user. A wrong password is [`PasswordError::Wrong`] (try again with the same
    /// token); too many wrong ones make the server answer `FLOOD_WAIT_X`. The token stands
    /// for the sign-in that asked for the password: the check itself uses a fresh
    /// `account.getPassword` each time.
    ///
    /// ```no_run
    /// # async fn demo(client: client_sdk::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use client_sdk::{PasswordError, SignInError};
    /// let login = client.request_login_code("+15550001234").await?;
    /// match client.sign_in(&login, "12345").await {
    ///     Ok(_) => {}
    ///     Err(SignInError::PasswordRequired(token)) => {
    ///         println!("password hint: {}", token.hint().unwrap_or("(none)"));
    ///         match client.check_password(&token, "my cloud password").await {
    ///             Ok(user) => println!("signed in as {user:?}"),
    ///             Err(PasswordError::Wrong) => println!("wrong password, try again"),
    ///             Err(e) => return Err(e.into()),
    ///         }
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn check_password(
        &self,
        _token: &PasswordToken,
        password: &str,
    ) -> Result<enums::User, PasswordError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let state = self.password_state().await?;
            if !state.has_password {
                return Err(PasswordError::NoPassword);
            }
            let check = current_check(&state, Some(password)).await?;
            match self
                .invoke(&functions::auth::CheckPassword { password: check })
                .await
            {
                Ok(authorization) => {
                    return self.signed_in(authorization).await.map_err(|e| match e {
                        SignInError::Other(e) => PasswordError::Other(e),
                        // signed_in fails otherwise only with SignUpRequired.
                        _ => PasswordError::Other(InvocationError::UnexpectedAnswer {
                            request: "auth.checkPassword",
                            answer: "auth.authorizationSignUpRequired",
                        }),
                    });
                }
                Err(e) if stale_check(&e) && tries < TRIES => continue,
                Err(e) => return Err(checked_error(e)),
            }
        }
    }

    /// Sets, changes or removes the signed-in account's cloud password.
    ///
    /// - `current`: the password the account has now (`None` if it has none; ignored then).
    /// - `new`: the new password, or `None` (or `""`) to remove it.
    /// - `hint`: shown when the password is asked for (with a new password only).
    ///
    /// A wrong `current` is [`PasswordError::Wrong`]; none when the account has a password is
    /// [`PasswordError::CurrentRequired`]. Recovery emails are not set here.
    ///
    /// ```no_run
    /// # async fn demo(client: client_sdk::Client) -> Result<(), client_sdk::PasswordError> {
    /// client.set_password(None, Some("correct horse"), "the horse").await?; // set
    /// client.set_password(Some("correct horse"), Some("battery staple"), "").await?; // change
    /// client.set_password(Some("battery staple"), None, "").await?; // remove
    /// # Ok(()) }
    /// ```
    pub async fn set_password(
        &self,
        current: Option<&str>,
        new: Option<&str>,
        hint: &str,
    ) -> Result<(), PasswordError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let state = self.password_state().await?;
            let check = current_check(&state, current).await?;
            let settings = new_settings(&state, new, hint).await?;
            let request = functions::account::UpdatePasswordSettings {
                password: check,
                new_settings: settings.into(),
            };
            match self.invoke(&request).await {
                Ok(_) => return Ok(()),
                Err(e) if stale_check(&e) && tries < TRIES => continue,
                Err(e) => return Err(checked_error(e)),
            }
        }
    }
}
