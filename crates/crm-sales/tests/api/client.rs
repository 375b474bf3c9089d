//! `SalesClient` against the real routes on a real database: every method answers as the
//! in-process `Sales` does, and errors keep their status and fields.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use uuid::Uuid;

use crm_core::{Actor, Money, Role};
use crm_customers::{Customers, CustomersApi, NewCompany};
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::client::{CallPolicy, ServiceClient, SignerTokens, Upstream};
use crm_http::jwt::Signer;
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};
use crm_sales::client::SalesClient;
use crm_sales::{NewOpportunity, Sales, SalesApi};
use crm_testkit::pg::PgCluster;

/// The sales service (public and internal routes behind the real edge), its client, and
/// the in-process customers it checks references with.
async fn service() -> (Arc<Sales>, SalesClient, Arc<Customers>) {
    let pool = PgCluster::shared()
        .migrated_pool(&[
            (crm_customers::CONTEXT, crm_customers::MIGRATIONS),
            (crm_sales::CONTEXT, crm_sales::MIGRATIONS),
        ])
        .await
        .expect("database");
    let customers = Arc::new(Customers::new(pool.clone()));
    let svc = Arc::new(Sales::new(pool.clone(), customers.clone()));
    let signer = Signer::generate("t");
    let edge = Edge {
        auth: Authenticator::new(Arc::new(StaticKeys::of(&[&signer])), None),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: Some(pool),
        timeout: Duration::from_secs(30),
    };
    let routes = Router::new()
        .nest(crm_http::API, crm_sales::http::router(svc.clone()))
        .merge(crm_sales::http::internal_router(svc.clone()));
    let app = server::fallbacks(server::with_edge(routes, &edge));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = ServiceClient::new(
        Upstream::new("sales", vec![base]),
        Arc::new(SignerTokens::new(signer)),
        CallPolicy::default(),
    );
    (svc, SalesClient::new(http), customers)
}

fn tenant(role: Role) -> Actor {
    Actor::new(Uuid::now_v7(), Uuid::now_v7(), role)
}

fn deal(name: &str, company: Uuid, close: &str) -> NewOpportunity {
    NewOpportunity {
        name: Some(name.into()),
        amount: Some(Money {
            amount_micros: 5_000_000,
            currency: "EUR".into(),
        }),
        close_date: Some(close.parse().unwrap()),
        company_id: Some(company),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_method_answers_as_in_process() {
    let (local, remote, customers) = service().await;
    let a = tenant(Role::Manager);
    let (rp, rs) = remote.default_pipeline(&a).await.unwrap();
    let (lp, ls) = local.default_pipeline(&a).await.unwrap();
    assert_eq!((rp, rs.clone()), (lp, ls));
    assert_eq!(rs.len(), 6);

    let company = customers
        .create_company(
            &a,
            NewCompany {
                name: Some("Globex".into()),
                ..Default::default()
            },
            "c",
        )
        .await
        .unwrap()
        .meta
        .id;
    let later = remote
        .create_opportunity(&a, deal("Globex renewal", company, "2031-06-01"), "o1")
        .await
        .unwrap();
    let sooner = local
        .create_opportunity(&a, deal("Globex expansion", company, "2030-01-01"), "o2")
        .await
        .unwrap();
    let again = remote
        .create_opportunity(&a, deal("Globex renewal", company, "2031-06-01"), "o1")
        .await
        .unwrap();
    assert_eq!(again, later, "the same key: one opportunity");
    assert_eq!(
        remote.opportunity(&a, later.meta.id).await.unwrap(),
        local.opportunity(&a, later.meta.id).await.unwrap()
    );

    let open = remote
        .open_opportunities_of_company(&a, company, 10)
        .await
        .unwrap();
    assert_eq!(
        open,
        local
            .open_opportunities_of_company(&a, company, 10)
            .await
            .unwrap()
    );
    assert_eq!(
        open.iter().map(|o| o.meta.id).collect::<Vec<_>>(),
        [sooner.meta.id, later.meta.id]
    );
    assert_eq!(
        remote
            .open_opportunities_of_company(&a, company, 0)
            .await
            .unwrap()
            .len(),
        1,
        "clamped"
    );

    for types in [
        vec![],
        vec!["opportunity".to_owned()],
        vec!["lead".to_owned()],
    ] {
        assert_eq!(
            remote.search(&a, "globex", &types, 10).await.unwrap(),
            local.search(&a, "globex", &types, 10).await.unwrap()
        );
    }
    assert_eq!(remote.search(&a, "globex", &[], 10).await.unwrap().len(), 2);

    remote
        .delete_opportunity(&a, later.meta.id, "d1")
        .await
        .unwrap();
    remote
        .delete_opportunity(&a, later.meta.id, "d1")
        .await
        .expect("already gone is done");
    let (r, l) = (
        remote.opportunity(&a, later.meta.id).await.unwrap_err(),
        local.opportunity(&a, later.meta.id).await.unwrap_err(),
    );
    assert_eq!((r.status(), r.code()), (l.status(), l.code()));
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn errors_keep_their_status_code_and_fields() {
    let (local, remote, _) = service().await;
    let a = tenant(Role::Rep);
    let bad = NewOpportunity {
        probability: Some(150),
        company_id: Some(Uuid::now_v7()),
        ..Default::default()
    };
    let (r, l) = (
        remote
            .create_opportunity(&a, bad.clone(), "b")
            .await
            .unwrap_err(),
        local.create_opportunity(&a, bad, "b").await.unwrap_err(),
    );
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(
        (r.status(), r.problem().errors),
        (l.status(), l.problem().errors)
    );
    let r = remote
        .delete_opportunity(&a, Uuid::now_v7(), "x")
        .await
        .unwrap_err();
    assert_eq!((r.status().as_u16(), r.code()), (403, "forbidden"));
}
