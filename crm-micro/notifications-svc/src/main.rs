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
    crm_runtime::service::init_tracing(cli.settings.log_format());
    notifications_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await
}
