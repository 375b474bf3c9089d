//! A fixed-cost HTTP endpoint for cross-checking the load engine against other tools: the
//! test server of tests/load (GET /ok answers "ok"), on 127.0.0.1, one thread.
//!
//! `cargo run -p crm-load --example echo_server -- [PORT]`; prints `listening on URL`, serves
//! until SIGTERM or ctrl-c.

#[allow(dead_code)]
#[path = "../tests/load/server.rs"]
mod server;

use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .map(|p| p.parse::<u16>().expect("PORT is a number"))
        .unwrap_or(0);
    let server = server::TestServer::start_on(port).await?;
    println!("listening on {}", server.url());
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let c = server.counts();
    eprintln!("served {} requests", server::Counts::get(&c.total));
    Ok(())
}
