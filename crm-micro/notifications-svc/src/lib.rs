//! The notifications context as a service: webhook fan-out from every service's events and
//! the signed delivery worker.

use std::sync::Arc;

use crm_http::openapi::ApiDoc;
use crm_notifications::Notifications;
use crm_runtime::service::{Base, Service, Task, api};

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "notifications",
        settings,
        &[(crm_notifications::CONTEXT, crm_notifications::MIGRATIONS)],
    )
    .await?;
    let svc = Arc::new(Notifications::new(base.pool.clone()));
    let deliverer = svc.deliverer(crm_notifications::Settings::default())?;
    let mut doc = ApiDoc::new();
    crm_notifications::http::openapi(&mut doc);
    let auth = base.authenticator();
    let handler = Arc::new(svc.handler());
    let deliver: Task = Box::new(move |stop| Box::pin(deliverer.run(stop)));
    base.finish(
        api(crm_notifications::http::router(svc)),
        auth,
        vec![handler],
        vec![deliver],
        doc.finish("CRM notifications service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
