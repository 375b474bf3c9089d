use clap::Parser;

#[derive(Parser)]
#[command(
    name = "analytics-svc",
    version,
    about = "The analytics context as a service: event-fed projections and the live feed."
)]
struct Cli {
    #[command(flatten)]
    settings: analytics_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("analytics", cli.settings.log_format())?;
    let served = analytics_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
