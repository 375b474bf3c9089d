use clap::Parser;

#[derive(Parser)]
#[command(
    name = "customers-svc",
    version,
    about = "The customers context as a service: companies, contacts, duplicates, merge, search."
)]
struct Cli {
    #[command(flatten)]
    settings: customers_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("customers", cli.settings.log_format())?;
    let served = customers_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
