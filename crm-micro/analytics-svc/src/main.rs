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
    crm_runtime::service::init_tracing(cli.settings.log_format());
    analytics_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await
}
