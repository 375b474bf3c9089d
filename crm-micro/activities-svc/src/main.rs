use clap::Parser;

#[derive(Parser)]
#[command(
    name = "activities-svc",
    version,
    about = "The activities context as a service: activities and the event-fed timeline."
)]
struct Cli {
    #[command(flatten)]
    settings: activities_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("activities", cli.settings.log_format())?;
    let served = activities_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
