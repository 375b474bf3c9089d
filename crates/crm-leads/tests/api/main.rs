//! The leads context through HTTP, on a real PostgreSQL, with the identity context serving
//! the users that leads are assigned to.

mod conversion;
mod flaky;
mod leads;
mod saga;
mod saga_outages;

use std::sync::Arc;

use axum::Router;
use crm_identity::Identity;
use crm_leads::Leads;
use crm_leads::convert::local::LocalConverter;
use crm_leads::convert::saga::{SagaConverter, SagaSettings};
use crm_testkit::pg::PgCluster;
use crm_testkit::server::{Client, TestServer};
use flaky::Flaky;
use serde_json::json;

pub struct App {
    pub server: TestServer,
    pub pool: sqlx::PgPool,
}

async fn migrated_pool() -> sqlx::PgPool {
    PgCluster::shared()
        .migrated_pool(&[
            (crm_identity::CONTEXT, crm_identity::MIGRATIONS),
            (crm_customers::CONTEXT, crm_customers::MIGRATIONS),
            (crm_sales::CONTEXT, crm_sales::MIGRATIONS),
            (crm_activities::CONTEXT, crm_activities::MIGRATIONS),
            (crm_leads::CONTEXT, crm_leads::MIGRATIONS),
        ])
        .await
        .expect("database")
}

pub async fn spawn() -> App {
    let pool = migrated_pool().await;
    let identity = Arc::new(
        Identity::new(pool.clone(), Default::default())
            .await
            .expect("identity"),
    );
    let customers = Arc::new(crm_customers::Customers::new(pool.clone()));
    let sales = Arc::new(crm_sales::Sales::new(pool.clone(), customers.clone()));
    let activities = Arc::new(crm_activities::Activities::new(pool.clone()));
    let converter = Arc::new(LocalConverter::new(
        pool.clone(),
        customers.clone(),
        sales.clone(),
    ));
    let leads = Arc::new(Leads::new(pool.clone(), identity.clone(), converter));
    let routes = Router::new()
        .merge(crm_identity::http::router(identity))
        .merge(crm_customers::http::router(customers))
        .merge(crm_sales::http::router(sales))
        .merge(crm_activities::http::router(activities))
        .merge(crm_leads::http::router(leads));
    let server = TestServer::start(routes, pool.clone()).await;
    App { server, pool }
}

/// The microservices' conversion: a [`SagaConverter`] over the contexts' in-process
/// implementations, each behind a [`Flaky`] switch standing in for its service. The routes
/// reach the contexts directly, so tests can look at what the saga did while "down".
pub struct SagaApp {
    pub server: TestServer,
    pub pool: sqlx::PgPool,
    pub customers: Arc<Flaky<crm_customers::Customers>>,
    pub sales: Arc<Flaky<crm_sales::Sales>>,
    pub activities: Arc<Flaky<crm_activities::Activities>>,
    pub converter: Arc<SagaConverter>,
}

pub async fn spawn_saga(settings: SagaSettings) -> SagaApp {
    let pool = migrated_pool().await;
    let identity = Arc::new(
        Identity::new(pool.clone(), Default::default())
            .await
            .expect("identity"),
    );
    let customers = Arc::new(crm_customers::Customers::new(pool.clone()));
    let sales = Arc::new(crm_sales::Sales::new(pool.clone(), customers.clone()));
    let activities = Arc::new(crm_activities::Activities::new(pool.clone()));
    let flaky_customers = Arc::new(Flaky::new(crm_customers::Customers::new(pool.clone())));
    // Sales checks references through the customers API, so it sees customers' outages too.
    let flaky_sales = Arc::new(Flaky::new(crm_sales::Sales::new(
        pool.clone(),
        flaky_customers.clone(),
    )));
    let flaky_activities = Arc::new(Flaky::new(crm_activities::Activities::new(pool.clone())));
    let converter = Arc::new(SagaConverter::new(
        pool.clone(),
        flaky_customers.clone(),
        flaky_sales.clone(),
        flaky_activities.clone(),
        settings,
    ));
    let leads = Arc::new(Leads::new(
        pool.clone(),
        identity.clone(),
        converter.clone(),
    ));
    let routes = Router::new()
        .merge(crm_identity::http::router(identity))
        .merge(crm_customers::http::router(customers))
        .merge(crm_sales::http::router(sales))
        .merge(crm_activities::http::router(activities))
        .merge(crm_leads::http::router(leads));
    let server = TestServer::start(routes, pool.clone()).await;
    SagaApp {
        server,
        pool,
        customers: flaky_customers,
        sales: flaky_sales,
        activities: flaky_activities,
        converter,
    }
}

/// The monolith's app and the microservices' (the saga, everything up), to run the same
/// checks against both.
pub async fn both() -> [App; 2] {
    let saga = spawn_saga(SagaSettings::default()).await;
    [
        spawn().await,
        App {
            server: saga.server,
            pool: saga.pool,
        },
    ]
}

impl SagaApp {
    /// A new converter on the same database with healthy contexts: the leads service
    /// restarted after a crash, next to services that are up again.
    pub fn restarted(&self, settings: SagaSettings) -> SagaConverter {
        let customers = Arc::new(crm_customers::Customers::new(self.pool.clone()));
        SagaConverter::new(
            self.pool.clone(),
            customers.clone(),
            Arc::new(crm_sales::Sales::new(self.pool.clone(), customers)),
            Arc::new(crm_activities::Activities::new(self.pool.clone())),
            settings,
        )
    }
}

/// Registers the client's (minted) tenant with identity, as sign-up would have.
pub async fn register_tenant(pool: &sqlx::PgPool, c: &Client) {
    sqlx::query(
        "INSERT INTO crm_identity.tenants (id, name) VALUES ($1, 'test') ON CONFLICT DO NOTHING",
    )
    .bind(c.actor.tenant_id)
    .execute(pool)
    .await
    .expect("tenant");
}

/// Creates an active user with `role` in the admin's tenant; returns its id.
pub async fn user(admin: &Client, name: &str, role: &str) -> String {
    let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
    let u = admin
        .post(
            "/users",
            &json!({"email": email, "name": name, "role": role, "password": "long enough pw"}),
        )
        .await
        .expect(201);
    u["id"].as_str().unwrap().to_owned()
}
