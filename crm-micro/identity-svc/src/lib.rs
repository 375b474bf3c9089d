//! The identity context as a service: it signs the tokens every other service verifies
//! (through its JWKS), and issues service tokens and resolves API keys for the services and
//! the gateway on its internal routes.

use std::sync::Arc;

use axum::Router;
use crm_http::auth::Authenticator;
use crm_http::openapi::ApiDoc;
use crm_identity::Identity;
use crm_runtime::service::{Base, Service, ServiceSettings, api};

#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    #[command(flatten)]
    pub service: ServiceSettings,
    /// Allow `POST /auth/signup` to create tenants.
    #[arg(long, env = "CRM_ALLOW_SIGNUP", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_signup: bool,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "CRM_ACCESS_TTL_SECS", default_value_t = 900)]
    pub access_ttl_secs: i64,
}

impl Settings {
    pub fn log_format(&self) -> &str {
        self.service.log_format()
    }
}

pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let base = Base::connect(
        "identity",
        settings.service,
        &[(crm_identity::CONTEXT, crm_identity::MIGRATIONS)],
    )
    .await?;
    let identity = Arc::new(
        Identity::new(
            base.pool.clone(),
            crm_identity::Settings {
                allow_signup: settings.allow_signup,
                access_ttl_secs: settings.access_ttl_secs,
                ..Default::default()
            },
        )
        .await?,
    );
    let mut doc = ApiDoc::new();
    crm_identity::http::openapi(&mut doc);
    let routes: Router = api(crm_identity::http::router(identity.clone()))
        .merge(crm_identity::http::well_known(identity.clone()))
        .merge(crm_identity::http::internal_router(
            identity.clone(),
            base.settings.internal_secret.clone(),
        ))
        .merge(crm_http::refs::router(
            crm_identity::CONTEXT,
            identity.clone(),
        ));
    // Identity verifies with its own keys and resolves its own API keys.
    let auth = Authenticator::new(identity.keys(), Some(identity));
    base.finish(
        routes,
        auth,
        Vec::new(),
        Vec::new(),
        doc.finish("CRM identity service", env!("CARGO_PKG_VERSION")),
    )
    .await
}
