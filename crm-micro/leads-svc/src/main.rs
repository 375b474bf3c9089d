use clap::Parser;

#[derive(Parser)]
#[command(
    name = "leads-svc",
    version,
    about = "The leads context as a service: leads and lead conversion as a persisted saga."
)]
struct Cli {
    #[command(flatten)]
    settings: leads_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("leads", cli.settings.log_format())?;
    let served = leads_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
