//! `help.getConfig` and `help.getNearestDc`: where this server is.

use super::ok;
use crate::rpc::{Caller, RpcResult};
use crate::state::{Node, unix_now};
use mtproto_api::{functions, types};
use std::net::IpAddr;
use std::sync::Arc;

/// The config service.
#[derive(Debug, Clone, Copy)]
pub struct HelpService;

service!(HelpService {
    functions::help::GetConfig => get_config,
    functions::help::GetNearestDc => get_nearest_dc,
});

async fn get_config(server: &Arc<Node>, _: Caller, _: functions::help::GetConfig) -> RpcResult {
    let addr = server.options.public_addr;
    let dc_option = types::DcOption {
        ipv6: matches!(addr.ip(), IpAddr::V6(_)),
        id: server.options.dc_id,
        ip_address: addr.ip().to_string(),
        port: i32::from(addr.port()),
        ..Default::default()
    };
    let now = unix_now();
    ok(types::Config {
        date: now,
        expires: now + 3600,
        test_mode: false,
        this_dc: server.options.dc_id,
        dc_options: vec![dc_option.into()],
        dc_txt_domain_name: String::new(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5_000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1_500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".into(),
        caption_length_max: 1024,
        message_length_max: 4096,
        webfile_dc_id: server.options.dc_id,
        ..types::Config::default()
    })
}

async fn get_nearest_dc(
    server: &Arc<Node>,
    _: Caller,
    _: functions::help::GetNearestDc,
) -> RpcResult {
    ok(types::NearestDc {
        country: String::new(),
        this_dc: server.options.dc_id,
        nearest_dc: server.options.dc_id,
    })
}
