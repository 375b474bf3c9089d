use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before any goose run can install its own ctrl-c handler over tokio's.
    crm_load::journeys::install_interrupt_handler();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_BENCH_LOG")
                .unwrap_or_else(|_| "crm_bench=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    crm_bench::cli::run(crm_bench::cli::Cli::parse()).await
}
