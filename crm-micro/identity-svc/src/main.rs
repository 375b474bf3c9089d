use clap::Parser;

#[derive(Parser)]
#[command(
    name = "identity-svc",
    version,
    about = "The identity context as a service: tenants, users, tokens, API keys, JWKS."
)]
struct Cli {
    #[command(flatten)]
    settings: identity_svc::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_runtime::service::init_tracing("identity", cli.settings.log_format())?;
    let served = identity_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
