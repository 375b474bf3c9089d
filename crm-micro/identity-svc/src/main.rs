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
    crm_runtime::service::init_tracing(cli.settings.log_format());
    identity_svc::build(cli.settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await
}
