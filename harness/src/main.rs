use std::process::ExitCode;

use clap::Parser;

/// Set to `1` to print an error's backtrace after its message. anyhow captures one only
/// when `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` is set too; a `RUST_BACKTRACE` left set on
/// a developer's machine alone no longer buries the message under ~30 frames.
const BACKTRACE_VAR: &str = "CRM_BENCH_BACKTRACE";

#[tokio::main]
async fn main() -> ExitCode {
    // Before any goose run can install its own ctrl-c handler over tokio's.
    crm_load::journeys::install_interrupt_handler();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_BENCH_LOG")
                .unwrap_or_else(|_| "crm_bench=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match crm_bench::cli::run(crm_bench::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let wanted = std::env::var(BACKTRACE_VAR).is_ok_and(|v| v == "1");
            eprint!("{}", crm_bench::cli::describe_error(&e, wanted));
            ExitCode::FAILURE
        }
    }
}
