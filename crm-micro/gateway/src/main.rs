use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = gateway::Settings::parse();
    crm_runtime::service::init_tracing(&settings.log_format);
    gateway::Gateway::build(settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await
}
