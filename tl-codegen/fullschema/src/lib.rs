//! Every constructor and function of Telegram's layer 229 and of mtproto.tl, generated at
//! build time by `tl-codegen` from `../shared/schema`. Used by the property tests, the
//! cross-implementation check against Telethon and the benchmarks.

include!(concat!(env!("OUT_DIR"), "/tl.rs"));
