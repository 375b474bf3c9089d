//! The customers context as a service: its routes, its own database, its events to NATS;
//! owners (users) are checked by asking the identity service.

use std::sync::Arc;

use crm_core::refs::Owners;
use crm_customers::Customers;
use crm_http::openapi::ApiDoc;
use crm_identity::client::IdentityClient;
use crm_runtime::service::{Base, Service, api};

pub use crm_runtime::service::ServiceSettings as Settings;

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "customers",
        settings,
        &[(crm_customers::CONTEXT, crm_customers::MIGRATIONS)],
    )
    .await?;
    let identity = IdentityClient::new(base.client("identity", &base.settings.identity_urls));
    // Owners are users: checked by asking identity.
    let svc = Arc::new(
        Customers::new(base.pool.clone())
            .with_owners(Owners::new().with(&["user"], Arc::new(identity))),
    );
    let mut doc = ApiDoc::new();
    crm_customers::http::openapi(&mut doc);
    let routes = api(crm_customers::http::router(svc.clone()))
        .merge(crm_customers::http::internal_router(svc));
    let auth = base.authenticator();
    base.finish(
        routes,
        auth,
        Vec::new(),
        Vec::new(),
        doc.finish("CRM customers service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
