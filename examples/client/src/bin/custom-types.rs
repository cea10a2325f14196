//! `custom-types`: calls a function whose types this crate generated itself, in `build.rs`,
//! from `schema/extra.tl`, through the same `client.invoke` as the built-in API.
//!
//! `schema/extra.tl` holds `help.getNearestDc` and the `nearestDc` constructor with their
//! real ids. `tl subset` (the CLI of tl-codegen) extracts such definitions, with every type
//! they use, from the full official schema:
//!
//! ```text
//! cargo run -p tl-codegen --bin tl -- subset api-layer229.tl help.getNearestDc -o schema/extra.tl
//! ```
//!
//! and `build.rs` turns them into Rust with `tl_codegen::Config`. Run it against your server
//! (no sign-in needed):
//!
//! ```text
//! cargo run -p client-examples --bin custom-types -- --key /tmp/srv/rsa-public.pem
//! ```

use clap::Parser;
use client_examples::{ConnectArgs, Error};

/// The code `build.rs` generated from `schema/extra.tl`.
pub mod extra {
    include!(concat!(env!("OUT_DIR"), "/extra.rs"));
}

/// Asks the server for the nearest DC with types generated in build.rs.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which server, and where the session is kept.
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Connects and calls the generated `help.getNearestDc`.
#[tokio::main]
async fn main() -> Result<(), Error> {
    client_examples::init_logging();
    let args = Args::parse();
    // No default session file: a fresh in-memory session unless --session is given.
    let client = args.connect.connect(None).await?;

    let request = extra::functions::help::GetNearestDc {};
    let extra::enums::NearestDc::NearestDc(answer) = client.invoke(&request).await?;
    println!(
        "help.getNearestDc (schema layer {}): this_dc={} nearest_dc={} country={:?}",
        extra::LAYER,
        answer.this_dc,
        answer.nearest_dc,
        answer.country
    );
    Ok(())
}
