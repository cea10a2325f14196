//! Signing in and out: login codes, sign-up, bot tokens (cloud passwords: `password.rs`).

use crate::client::Client;
use crate::error::{InvocationError, SignInError};
use crate::password::PasswordToken;
use mtproto_api::{enums, functions, types};
use tracing::debug;

/// What [`Client::request_login_code`] returns, to pass to [`Client::sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginToken {
    /// The phone number the code went to.
    pub phone: String,
    /// The server's handle for this login attempt.
    pub phone_code_hash: String,
}

impl Client {
    /// Whether the session is signed in (as far as the client knows; a revoked session shows
    /// as `AUTH_KEY_UNREGISTERED` on the next call).
    pub fn is_authorized(&self) -> bool {
        self.user_id().is_some()
    }

    /// Asks the server to send a login code to `phone` (by SMS or in the app).
    pub async fn request_login_code(&self, phone: &str) -> Result<LoginToken, InvocationError> {
        let request = functions::auth::SendCode {
            phone_number: phone.to_string(),
            api_id: self.0.config.init.api_id,
            api_hash: self.0.config.api_hash.clone(),
            settings: enums::CodeSettings::CodeSettings(types::CodeSettings::default()),
        };
        match self.invoke(&request).await? {
            enums::auth::SentCode::SentCode(sent) => Ok(LoginToken {
                phone: phone.to_string(),
                phone_code_hash: sent.phone_code_hash,
            }),
            enums::auth::SentCode::Success(success) => {
                // Signed in without a code (a future-auth token was accepted): the session
                // is signed in, and there is no code to ask for.
                let answer = "auth.sentCodeSuccess";
                match self.signed_in(success.authorization).await {
                    Err(SignInError::Other(e)) => Err(e),
                    _ => Err(InvocationError::UnexpectedAnswer {
                        request: "auth.sendCode",
                        answer,
                    }),
                }
            }
            enums::auth::SentCode::PaymentRequired(_) => Err(InvocationError::UnexpectedAnswer {
                request: "auth.sendCode",
                answer: "auth.sentCodePaymentRequired",
            }),
        }
    }

    /// Signs in with the code the user received. Returns the signed-in user, or
    /// [`SignInError::PasswordRequired`] when the account has a cloud password: then finish
    /// with [`check_password`](Self::check_password).
    pub async fn sign_in(
        &self,
        token: &LoginToken,
        code: &str,
    ) -> Result<enums::User, SignInError> {
        let request = functions::auth::SignIn {
            phone_number: token.phone.clone(),
            phone_code_hash: token.phone_code_hash.clone(),
            phone_code: Some(code.to_string()),
            email_verification: None,
        };
        match self.invoke(&request).await {
            Ok(authorization) => self.signed_in(authorization).await,
            Err(e) if e.is("SESSION_PASSWORD_NEEDED") => {
                // The hint, for the app to show when it asks for the password; the sign-in
                // goes on with check_password whether or not it could be read.
                let hint = match self.password_state().await {
                    Ok(state) => state.hint,
                    Err(e) => {
                        debug!("account.getPassword for the hint: {e}");
                        None
                    }
                };
                Err(SignInError::PasswordRequired(PasswordToken::new(hint)))
            }
            Err(e) if e.is("PHONE_CODE_INVALID") => Err(SignInError::InvalidCode),
            // Telegram answers an unknown number this way rather than with
            // auth.authorizationSignUpRequired.
            Err(e) if e.is("PHONE_NUMBER_UNOCCUPIED") => Err(SignInError::SignUpRequired),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the account after [`sign_in`](Self::sign_in) said
    /// [`SignInError::SignUpRequired`].
    pub async fn sign_up(
        &self,
        token: &LoginToken,
        first_name: &str,
        last_name: &str,
    ) -> Result<enums::User, SignInError> {
        let request = functions::auth::SignUp {
            no_joined_notifications: false,
            phone_number: token.phone.clone(),
            phone_code_hash: token.phone_code_hash.clone(),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
        };
        let authorization = self.invoke(&request).await?;
        self.signed_in(authorization).await
    }

    /// Signs in as a bot with its token from @BotFather.
    pub async fn bot_sign_in(&self, bot_token: &str) -> Result<enums::User, SignInError> {
        let request = functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: self.0.config.init.api_id,
            api_hash: self.0.config.api_hash.clone(),
            bot_auth_token: bot_token.to_string(),
        };
        let authorization = self.invoke(&request).await?;
        self.signed_in(authorization).await
    }

    /// Signs out: the server forgets this session's authorization, and so does the client.
    pub async fn sign_out(&self) -> Result<(), InvocationError> {
        self.invoke(&functions::auth::LogOut {}).await?;
        self.clear_user();
        Ok(())
    }

    /// The signed-in user (`users.getUsers([inputUserSelf])`).
    pub async fn get_me(&self) -> Result<enums::User, InvocationError> {
        let users = self
            .invoke(&functions::users::GetUsers {
                id: vec![enums::InputUser::InputUserSelf],
            })
            .await?;
        self.cache_peers(&users, &[]);
        users.into_iter().next().ok_or(InvocationError::Incomplete {
            request: "users.getUsers",
            missing: "user",
        })
    }

    /// Takes the authorization a sign-in step returned: remembers the user and fetches the
    /// update state.
    pub(crate) async fn signed_in(
        &self,
        authorization: enums::auth::Authorization,
    ) -> Result<enums::User, SignInError> {
        match authorization {
            enums::auth::Authorization::Authorization(a) => {
                let (id, bot) = match &a.user {
                    enums::User::User(u) => (u.id, u.bot),
                    enums::User::Empty(u) => (u.id, false),
                };
                self.cache_peers(std::slice::from_ref(&a.user), &[]);
                self.set_user(id, bot);
                self.fetch_state().await;
                Ok(a.user)
            }
            enums::auth::Authorization::SignUpRequired(_) => Err(SignInError::SignUpRequired),
        }
    }
}
