use clap::Parser;

#[derive(Parser)]
#[command(
    name = "sales-svc",
    version,
    about = "The sales context as a service: pipelines, stages, opportunities; calls customers."
)]
struct Cli {
    #[command(flatten)]
    settings: sales_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("sales", cli.settings.log_format())?;
    let served = sales_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
