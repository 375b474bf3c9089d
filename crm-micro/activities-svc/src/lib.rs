//! The activities context as a service: activities, and every record's timeline fed by the
//! other services' events. Links and assignees are checked by asking the owning services.

use std::sync::Arc;

use crm_activities::{Activities, ActivitiesEvents, TimelineHandler};
use crm_core::refs::Owners;
use crm_customers::client::CustomersClient;
use crm_http::openapi::ApiDoc;
use crm_identity::client::IdentityClient;
use crm_leads::client::LeadsClient;
use crm_runtime::service::{Base, Service, api};
use crm_sales::client::SalesClient;

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "activities",
        settings,
        &[(crm_activities::CONTEXT, crm_activities::MIGRATIONS)],
    )
    .await?;
    let s = &base.settings;
    // Links and assignees are checked by asking the services that own them.
    let owners = Owners::new()
        .with(
            &["user"],
            Arc::new(IdentityClient::new(
                base.client("identity", &s.identity_urls),
            )),
        )
        .with(
            &["company", "contact"],
            Arc::new(CustomersClient::new(
                base.client("customers", &s.customers_urls),
            )),
        )
        .with(
            &["lead"],
            Arc::new(LeadsClient::new(base.client("leads", &s.leads_urls))),
        )
        .with(
            &["opportunity"],
            Arc::new(SalesClient::new(base.client("sales", &s.sales_urls))),
        );
    let svc = Arc::new(Activities::new(base.pool.clone()).with_owners(owners));
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
