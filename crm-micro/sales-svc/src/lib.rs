//! The sales context as a service: company and contact references are checked by calling
//! the customers service, owners by calling identity; merged companies and contacts are re-pointed from their events.

use std::sync::Arc;

use crm_core::refs::Owners;
use crm_customers::client::CustomersClient;
use crm_http::openapi::ApiDoc;
use crm_identity::client::IdentityClient;
use crm_runtime::service::{Base, Service, api};
use crm_sales::{Sales, SalesEvents};

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "sales",
        settings,
        &[(crm_sales::CONTEXT, crm_sales::MIGRATIONS)],
    )
    .await?;
    let customers = CustomersClient::new(base.client("customers", &base.settings.customers_urls));
    let identity = IdentityClient::new(base.client("identity", &base.settings.identity_urls));
    let svc = Arc::new(
        Sales::new(base.pool.clone(), Arc::new(customers))
            .with_owners(Owners::new().with(&["user"], Arc::new(identity))),
    );
    let mut doc = ApiDoc::new();
    crm_sales::http::openapi(&mut doc);
    let routes =
        api(crm_sales::http::router(svc.clone())).merge(crm_sales::http::internal_router(svc));
    let auth = base.authenticator();
    base.finish(
        routes,
        auth,
        vec![Arc::new(SalesEvents::new())],
        Vec::new(),
        doc.finish("CRM sales service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
