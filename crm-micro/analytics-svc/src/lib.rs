//! The analytics context as a service: projections fed by the other services' events.

use std::sync::Arc;

use crm_analytics::Analytics;
use crm_http::openapi::ApiDoc;
use crm_runtime::service::{Base, Service, api};

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "analytics",
        settings,
        &[(crm_analytics::CONTEXT, crm_analytics::MIGRATIONS)],
    )
    .await?;
    let svc = Arc::new(Analytics::new(base.pool.clone()));
    svc.track_metrics(&base.metrics);
    let mut doc = ApiDoc::new();
    crm_analytics::http::openapi(&mut doc);
    let auth = base.authenticator();
    let handler = Arc::new(svc.handler());
    base.finish(
        api(crm_analytics::http::router(svc)),
        auth,
        vec![handler],
        Vec::new(),
        doc.finish("CRM analytics service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
