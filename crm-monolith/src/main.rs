use clap::Parser;

use crm_monolith::{Application, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = crm_monolith::init_tracing(&cli.log_format)?;
    let done = match cli.command.unwrap_or_default() {
        Command::Serve => {
            let app = Application::build(cli.settings).await?;
            app.run(crm_http::server::shutdown_signal()).await
        }
        Command::Migrate => crm_monolith::migrate_only(&cli.settings).await,
    };
    telemetry.shutdown();
    done
}
