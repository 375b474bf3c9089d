use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = gateway::Settings::parse();
    let telemetry = crm_runtime::service::init_tracing("gateway", &settings.log_format)?;
    let served = gateway::Gateway::build(settings)
        .await?
        .run(crm_http::server::shutdown_signal())
        .await;
    telemetry.shutdown();
    served
}
