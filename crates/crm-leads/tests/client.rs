//! `LeadsClient` against the real routes (public and internal) on a real database: every
//! method answers as the in-process `Leads` does, and errors keep their status.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use uuid::Uuid;

use crm_core::record::Writer;
use crm_core::{Actor, Role};
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::client::{CallPolicy, ServiceClient, SignerTokens, Upstream};
use crm_http::jwt::Signer;
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};
use crm_identity::Identity;
use crm_leads::client::LeadsClient;
use crm_leads::convert::local::LocalConverter;
use crm_leads::{Lead, Leads, LeadsApi, NewLead};
use crm_testkit::pg::PgCluster;

async fn service() -> (Arc<Leads>, LeadsClient) {
    let pool = PgCluster::shared()
        .migrated_pool(&[
            (crm_identity::CONTEXT, crm_identity::MIGRATIONS),
            (crm_customers::CONTEXT, crm_customers::MIGRATIONS),
            (crm_sales::CONTEXT, crm_sales::MIGRATIONS),
            (crm_activities::CONTEXT, crm_activities::MIGRATIONS),
            (crm_leads::CONTEXT, crm_leads::MIGRATIONS),
        ])
        .await
        .expect("database");
    let identity = Arc::new(
        Identity::new(pool.clone(), Default::default())
            .await
            .unwrap(),
    );
    let customers = Arc::new(crm_customers::Customers::new(pool.clone()));
    let sales = Arc::new(crm_sales::Sales::new(pool.clone(), customers.clone()));
    let converter = Arc::new(LocalConverter::new(pool.clone(), customers, sales));
    let svc = Arc::new(Leads::new(pool.clone(), identity, converter));
    let signer = Signer::generate("t");
    let edge = Edge {
        auth: Authenticator::new(Arc::new(StaticKeys::of(&[&signer])), None),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: Some(pool),
        timeout: Duration::from_secs(30),
    };
    let routes = Router::new()
        .nest(crm_http::API, crm_leads::http::router(svc.clone()))
        .merge(crm_leads::http::internal_router(svc.clone()));
    let app = server::fallbacks(server::with_edge(routes, &edge));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = ServiceClient::new(
        Upstream::new("leads", vec![base]),
        Arc::new(SignerTokens::new(signer)),
        CallPolicy::default(),
    );
    (svc, LeadsClient::new(http))
}

async fn lead(svc: &Leads, actor: &Actor, name: &str, company: &str) -> Lead {
    let input = NewLead {
        name: Some(name.into()),
        company_name: Some(company.into()),
        email: Some(format!("{}@{company}.io", name.to_lowercase())),
        ..Default::default()
    };
    let mut tx = svc.pool().begin().await.unwrap();
    let l = Writer::<Lead>::create(svc, &mut tx, actor, input)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    l
}

#[tokio::test]
async fn every_method_answers_as_in_process() {
    let (local, remote) = service().await;
    let a = Actor::new(Uuid::now_v7(), Uuid::now_v7(), Role::Rep);
    let l = lead(&local, &a, "Lena", "umbrella").await;
    lead(&local, &a, "Umberto", "umbrella").await;
    assert_eq!(
        remote.lead(&a, l.meta.id).await.unwrap(),
        local.lead(&a, l.meta.id).await.unwrap()
    );
    for (types, n) in [
        (vec![], 2),
        (vec!["lead".to_owned()], 2),
        (vec!["company".to_owned()], 0),
    ] {
        let r = remote.search(&a, "umbrella", &types, 10).await.unwrap();
        assert_eq!(r, local.search(&a, "umbrella", &types, 10).await.unwrap());
        assert_eq!(r.len(), n, "{types:?}");
    }
    assert_eq!(
        remote.search(&a, "umbrella", &[], 1).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn errors_keep_their_status_and_code() {
    let (local, remote) = service().await;
    let a = Actor::new(Uuid::now_v7(), Uuid::now_v7(), Role::Viewer);
    let missing = Uuid::now_v7();
    let (r, l) = (
        remote.lead(&a, missing).await.unwrap_err(),
        local.lead(&a, missing).await.unwrap_err(),
    );
    assert_eq!((r.status().as_u16(), r.code()), (404, "not-found"));
    assert_eq!((r.status(), r.code()), (l.status(), l.code()));
    let (r, l) = (
        remote.search(&a, "!!", &[], 5).await.unwrap_err(),
        local.search(&a, "!!", &[], 5).await.unwrap_err(),
    );
    assert_eq!(
        (r.status(), r.problem().errors),
        (l.status(), l.problem().errors)
    );
}
