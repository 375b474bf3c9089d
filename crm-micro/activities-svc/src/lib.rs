//! The activities context as a service: activities, and every record's timeline fed by the
//! other services' events.

use std::sync::Arc;

use crm_activities::{Activities, ActivitiesEvents, TimelineHandler};
use crm_http::openapi::ApiDoc;
use crm_runtime::service::{Base, Service, api};

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "activities",
        settings,
        &[(crm_activities::CONTEXT, crm_activities::MIGRATIONS)],
    )
    .await?;
    let svc = Arc::new(Activities::new(base.pool.clone()));
    let mut doc = ApiDoc::new();
    crm_activities::http::openapi(&mut doc);
    let auth = base.authenticator();
    base.finish(
        api(crm_activities::http::router(svc)),
        auth,
        vec![Arc::new(TimelineHandler), Arc::new(ActivitiesEvents)],
        Vec::new(),
        doc.finish("CRM activities service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
