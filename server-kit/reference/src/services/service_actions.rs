//! Service messages as clients see them: the `MessageAction` of a stored
//! [`ServiceAction`], in basic groups and channels alike.

use crate::store::ServiceAction;
use mtproto_api::{enums, types};

/// The `MessageAction` of a service message.
pub(crate) fn action_tl(action: &ServiceAction) -> enums::MessageAction {
    match action {
        ServiceAction::ChatCreate { title, users } => types::MessageActionChatCreate {
            title: title.clone(),
            users: users.clone(),
        }
        .into(),
        ServiceAction::AddUsers { users } => types::MessageActionChatAddUser {
            users: users.clone(),
        }
        .into(),
        ServiceAction::DeleteUser { user } => {
            types::MessageActionChatDeleteUser { user_id: *user }.into()
        }
        ServiceAction::EditTitle { title } => types::MessageActionChatEditTitle {
            title: title.clone(),
        }
        .into(),
        ServiceAction::MigrateTo { channel } => types::MessageActionChatMigrateTo {
            channel_id: *channel,
        }
        .into(),
        ServiceAction::PinMessage => types::MessageActionPinMessage {}.into(),
    }
}
