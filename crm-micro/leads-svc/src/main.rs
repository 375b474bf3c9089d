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
    crm_runtime::service::init_tracing(cli.settings.log_format());
    leads_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await
}
