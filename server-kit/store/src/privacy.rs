//! Privacy: who sees a user's online status and last seen time (`account.setPrivacy` with
//! `inputPrivacyKeyStatusTimestamp`). The rule is kept on the user's row
//! ([`User::status_visibility`](crate::User::status_visibility)), so answers that show users
//! need no extra lookup.

use crate::StoreError;

/// Who sees a user's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Everybody (the default).
    #[default]
    Everybody,
    /// The user's contacts only.
    Contacts,
    /// Nobody.
    Nobody,
}

impl Visibility {
    /// The number it is stored as.
    pub fn code(self) -> i32 {
        match self {
            Visibility::Everybody => 0,
            Visibility::Contacts => 1,
            Visibility::Nobody => 2,
        }
    }

    /// The inverse of [`code`](Self::code); an unknown number is an error.
    pub fn from_code(code: i32) -> Result<Self, StoreError> {
        Ok(match code {
            0 => Visibility::Everybody,
            1 => Visibility::Contacts,
            2 => Visibility::Nobody,
            other => {
                return Err(StoreError::Database(format!(
                    "unknown status visibility {other}"
                )));
            }
        })
    }
}

/// Privacy storage.
pub trait PrivacyStore {
    /// Sets who sees the user's status; [`StoreError::NotFound`] for an unknown user.
    fn set_status_visibility(&self, user: i64, visibility: Visibility) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in [
            Visibility::Everybody,
            Visibility::Contacts,
            Visibility::Nobody,
        ] {
            assert_eq!(Visibility::from_code(v.code()).unwrap(), v);
        }
        assert!(Visibility::from_code(7).is_err());
    }
}
