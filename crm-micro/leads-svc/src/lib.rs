//! The leads context as a service: lead conversion runs as a persisted, compensating saga
//! over the customers, sales and activities services (the monolith runs it as one
//! transaction), with a resumer that finishes sagas interrupted by a crash or an outage.

use std::sync::Arc;

use crm_activities::client::ActivitiesClient;
use crm_core::refs::{Lookup, Owners};
use crm_customers::client::CustomersClient;
use crm_http::openapi::ApiDoc;
use crm_identity::client::IdentityClient;
use crm_leads::Leads;
use crm_leads::convert::saga::{SagaConverter, SagaSettings};
use crm_runtime::service::{Base, Service, Task, api};
use crm_sales::client::SalesClient;

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "leads",
        settings,
        &[(crm_leads::CONTEXT, crm_leads::MIGRATIONS)],
    )
    .await?;
    let s = base.settings.clone();
    let customers = Arc::new(CustomersClient::new(
        base.client("customers", &s.customers_urls),
    ));
    let sales = Arc::new(SalesClient::new(base.client("sales", &s.sales_urls)));
    let activities = Arc::new(ActivitiesClient::new(
        base.client("activities", &s.activities_urls),
    ));
    let identity = Arc::new(IdentityClient::new(
        base.client("identity", &s.identity_urls),
    ));
    let saga = SagaConverter::new(
        base.pool.clone(),
        customers,
        sales,
        activities,
        SagaSettings::default(),
    );
    let resumer = saga.resumer();
    let users: Arc<dyn Lookup> = identity.clone();
    let svc = Arc::new(
        Leads::new(base.pool.clone(), identity, Arc::new(saga))
            .with_owners(Owners::new().with(&["user"], users)),
    );
    let mut doc = ApiDoc::new();
    crm_leads::http::openapi(&mut doc);
    let routes =
        api(crm_leads::http::router(svc.clone())).merge(crm_leads::http::internal_router(svc));
    let auth = base.authenticator();
    let resume: Task = Box::new(move |stop| Box::pin(resumer.run(stop)));
    base.finish(
        routes,
        auth,
        Vec::new(),
        vec![resume],
        doc.finish("CRM leads service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
