//! Runs one service of the microservice CRM, or the gateway, by name: the same `build`
//! functions as the per-service binaries, in one executable the end-to-end tests can start
//! as real processes (cargo hands a package's tests only its own binaries).

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    node: Node,
}

#[derive(Subcommand)]
enum Node {
    Identity(identity_svc::Settings),
    Customers(customers_svc::Settings),
    Sales(sales_svc::Settings),
    Activities(activities_svc::Settings),
    Leads(leads_svc::Settings),
    Analytics(analytics_svc::Settings),
    Notifications(notifications_svc::Settings),
    Gateway(gateway::Settings),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let node = Cli::parse().node;
    let name = match &node {
        Node::Identity(_) => "identity",
        Node::Customers(_) => "customers",
        Node::Sales(_) => "sales",
        Node::Activities(_) => "activities",
        Node::Leads(_) => "leads",
        Node::Analytics(_) => "analytics",
        Node::Notifications(_) => "notifications",
        Node::Gateway(_) => "gateway",
    };
    let telemetry = crm_runtime::service::init_tracing(name, "text")?;
    let stop = crm_http::server::shutdown_signal();
    let served = match node {
        Node::Identity(s) => identity_svc::build(s).await?.run(stop).await,
        Node::Customers(s) => customers_svc::build(s).await?.run(stop).await,
        Node::Sales(s) => sales_svc::build(s).await?.run(stop).await,
        Node::Activities(s) => activities_svc::build(s).await?.run(stop).await,
        Node::Leads(s) => leads_svc::build(s).await?.run(stop).await,
        Node::Analytics(s) => analytics_svc::build(s).await?.run(stop).await,
        Node::Notifications(s) => notifications_svc::build(s).await?.run(stop).await,
        Node::Gateway(s) => gateway::Gateway::build(s).await?.run(stop).await,
    };
    telemetry.shutdown();
    served
}
