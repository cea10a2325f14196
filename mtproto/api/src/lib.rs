//! The Telegram API, layer 229, as typed Rust: `types` (one struct per constructor), `enums`
//! (one enum per boxed type), `functions` (one struct per method, with its `Return` type).
//! Generated at build time from `tl-schema/schemas/api-229.tl`.
//!
//! ```
//! use mtproto_api::{LAYER, functions, types};
//! use tl_runtime::{Deserialize, Serialize};
//! let call = functions::users::GetUsers { id: vec![types::InputUserSelf {}.into()] };
//! let bytes = call.to_bytes();
//! assert_eq!(functions::users::GetUsers::from_bytes(bytes).unwrap(), call);
//! assert_eq!(LAYER, 229);
//! ```

#![allow(clippy::large_enum_variant)]

include!(concat!(env!("OUT_DIR"), "/api_229.rs"));
