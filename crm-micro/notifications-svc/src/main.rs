use clap::Parser;

#[derive(Parser)]
#[command(
    name = "notifications-svc",
    version,
    about = "The notifications context as a service: webhooks and signed deliveries."
)]
struct Cli {
    #[command(flatten)]
    settings: notifications_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("notifications", cli.settings.log_format())?;
    let served = notifications_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
