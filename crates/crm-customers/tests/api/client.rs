//! `CustomersClient` against the real routes on a real database: every method answers as the
//! in-process `Customers` does for the same data, and errors keep their status and fields.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crm_core::{Actor, Error, Role};
use crm_customers::client::CustomersClient;
use crm_customers::{Customers, CustomersApi, NewCompany, NewContact};
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::client::{CallPolicy, ServiceClient, SignerTokens, Upstream};
use crm_http::jwt::Signer;
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};
use crm_testkit::pg::PgCluster;

/// The service (public and internal routes behind the real edge) and its client.
async fn service() -> (Arc<Customers>, CustomersClient) {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_customers::CONTEXT, crm_customers::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(Customers::new(pool.clone()));
    let signer = Signer::generate("t");
    let edge = Edge {
        auth: Authenticator::new(Arc::new(StaticKeys::of(&[&signer])), None),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: Some(pool),
        timeout: Duration::from_secs(30),
    };
    let routes = Router::new()
        .nest(crm_http::API, crm_customers::http::router(svc.clone()))
        .merge(crm_customers::http::internal_router(svc.clone()));
    let app = server::fallbacks(server::with_edge(routes, &edge));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let upstream = Upstream::new("customers", vec![base]);
    let http = ServiceClient::new(
        upstream,
        Arc::new(SignerTokens::new(signer)),
        CallPolicy::default(),
    );
    (svc, CustomersClient::new(http))
}

fn tenant(role: Role) -> Actor {
    Actor::new(Uuid::now_v7(), Uuid::now_v7(), role)
}

/// A record as JSON without what differs between two tenants' copies of it.
fn content(v: impl Serialize) -> Value {
    let mut v = serde_json::to_value(v).unwrap();
    let strip = |o: &mut Value| {
        if let Some(o) = o.as_object_mut() {
            for k in [
                "id",
                "tenant_id",
                "created_at",
                "updated_at",
                "created_by",
                "updated_by",
                "company_id",
            ] {
                o.remove(k);
            }
        }
    };
    match &mut v {
        Value::Array(items) => items.iter_mut().for_each(strip),
        other => strip(other),
    }
    v
}

fn company(name: &str, domain: Option<&str>) -> NewCompany {
    NewCompany {
        name: Some(name.into()),
        domain: domain.map(Into::into),
        ..Default::default()
    }
}

fn contact(first: &str, email: &str, company_id: Option<Uuid>) -> NewContact {
    NewContact {
        first_name: Some(first.into()),
        emails: Some(vec![email.into()]),
        company_id,
        ..Default::default()
    }
}

#[tokio::test]
async fn reads_answer_as_in_process() {
    let (local, remote) = service().await;
    let a = tenant(Role::Manager);
    let acme = local
        .create_company(&a, company("Acme Rockets", Some("acme.com")), "k")
        .await
        .unwrap();
    let id = acme.meta.id;
    let ann = local
        .create_contact(&a, contact("Ann", "ann@acme.com", Some(id)), "k")
        .await
        .unwrap();
    local
        .create_contact(&a, contact("Bob Acme", "bob@acme.com", Some(id)), "k")
        .await
        .unwrap();

    assert_eq!(
        remote.company(&a, id).await.unwrap(),
        local.company(&a, id).await.unwrap()
    );
    assert_eq!(remote.contact(&a, ann.meta.id).await.unwrap(), ann);
    assert_eq!(
        remote.contacts_of_company(&a, id, 10).await.unwrap(),
        local.contacts_of_company(&a, id, 10).await.unwrap()
    );
    assert_eq!(
        remote.contacts_of_company(&a, id, 1).await.unwrap().len(),
        1
    );
    for types in [
        vec![],
        vec!["contact".to_owned()],
        vec!["company".to_owned(), "contact".to_owned()],
    ] {
        let (r, l) = (
            remote.search(&a, "acme", &types, 10).await.unwrap(),
            local.search(&a, "acme", &types, 10).await.unwrap(),
        );
        assert_eq!(r, l, "types {types:?}");
        assert!(!r.is_empty());
    }
    let probe = company("Acme Rocket", Some("https://www.acme.com"));
    assert_eq!(
        serde_json::to_value(remote.company_duplicates(&a, &probe).await.unwrap()).unwrap(),
        serde_json::to_value(local.company_duplicates(&a, &probe).await.unwrap()).unwrap()
    );
    let probe = contact("Ann", "ANN@acme.com", None);
    let dupes = remote.contact_duplicates(&a, &probe).await.unwrap();
    assert_eq!(dupes.len(), 1);
    assert_eq!(
        serde_json::to_value(dupes).unwrap(),
        serde_json::to_value(local.contact_duplicates(&a, &probe).await.unwrap()).unwrap()
    );
}

#[tokio::test]
async fn writes_answer_as_in_process_and_repeat_safely() {
    let (local, remote) = service().await;
    // The same story in two tenants: in-process in one, over HTTP in the other.
    let (l, r) = (tenant(Role::Manager), tenant(Role::Manager));
    let data = company("Initech", None);
    let lc = local.create_company(&l, data.clone(), "c1").await.unwrap();
    let rc = remote.create_company(&r, data.clone(), "c1").await.unwrap();
    assert_eq!(content(&rc), content(&lc));
    let again = remote.create_company(&r, data, "c1").await.unwrap();
    assert_eq!(
        again, rc,
        "the same key: the same company, not a second one"
    );

    let fill = NewCompany {
        name: Some("Ignored".into()),
        domain: Some("initech.com".into()),
        employees: Some(40),
        ..Default::default()
    };
    let lf = local
        .fill_company(&l, lc.meta.id, fill.clone(), "f1")
        .await
        .unwrap();
    let rf = remote
        .fill_company(&r, rc.meta.id, fill.clone(), "f1")
        .await
        .unwrap();
    assert_eq!(content(&rf), content(&lf));
    assert_eq!((rf.name.as_str(), rf.meta.version), ("Initech", 2));
    let repeated = remote
        .fill_company(&r, rc.meta.id, fill, "f1")
        .await
        .unwrap();
    assert_eq!(
        repeated.domain.as_deref(),
        Some("initech.com"),
        "a repeat changes nothing"
    );

    let person = contact("Peter", "peter@initech.com", None);
    let lp = local
        .create_contact(&l, person.clone(), "p1")
        .await
        .unwrap();
    let rp = remote.create_contact(&r, person, "p1").await.unwrap();
    assert_eq!(content(&rp), content(&lp));
    let more = NewContact {
        first_name: Some("Pete".into()),
        last_name: Some("Gibbons".into()),
        emails: Some(vec!["PETER@initech.com".into(), "pg@home.net".into()]),
        ..Default::default()
    };
    let lf = local
        .fill_contact(&l, lp.meta.id, more.clone(), "f2")
        .await
        .unwrap();
    let rf = remote
        .fill_contact(&r, rp.meta.id, more, "f2")
        .await
        .unwrap();
    assert_eq!(content(&rf), content(&lf));
    assert_eq!(rf.emails, ["peter@initech.com", "pg@home.net"]);

    remote.delete_contact(&r, rp.meta.id, "d1").await.unwrap();
    remote
        .delete_contact(&r, rp.meta.id, "d1")
        .await
        .expect("already gone is done");
    remote.delete_company(&r, rc.meta.id, "d2").await.unwrap();
    remote
        .delete_company(&r, Uuid::now_v7(), "d3")
        .await
        .expect("never there is done");
    let e = remote.company(&r, rc.meta.id).await.unwrap_err();
    assert_eq!((e.status().as_u16(), e.code()), (404, "not-found"));
}

#[tokio::test]
async fn errors_keep_their_status_code_and_fields() {
    let (local, remote) = service().await;
    let a = tenant(Role::Rep);
    let bad = NewCompany {
        domain: Some("not a domain".into()),
        employees: Some(-1),
        ..Default::default()
    };
    let (r, l) = (
        remote
            .create_company(&a, bad.clone(), "b1")
            .await
            .unwrap_err(),
        local.create_company(&a, bad, "b1").await.unwrap_err(),
    );
    assert!(matches!(r, Error::Remote(_)));
    assert_eq!(r.status(), l.status());
    assert_eq!(
        r.problem().errors,
        l.problem().errors,
        "the same fields named"
    );
    assert!(!r.problem().errors.is_empty());

    let missing = Uuid::now_v7();
    let (r, l) = (
        remote.contact(&a, missing).await.unwrap_err(),
        local.contact(&a, missing).await.unwrap_err(),
    );
    assert_eq!((r.status(), r.code()), (l.status(), l.code()));
    assert_eq!(r.status().as_u16(), 404);

    let viewer = Actor {
        role: Role::Viewer,
        ..a.clone()
    };
    let r = remote
        .create_contact(&viewer, contact("V", "v@x.io", None), "v1")
        .await
        .unwrap_err();
    assert_eq!((r.status().as_u16(), r.code()), (403, "forbidden"));
    let r = remote.delete_company(&a, missing, "x").await.unwrap_err();
    assert_eq!(
        r.status().as_u16(),
        403,
        "a rep may not delete companies: {r:?}"
    );
    let r = remote.search(&a, "  ", &[], 5).await.unwrap_err();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.problem().errors,
        local
            .search(&a, "  ", &[], 5)
            .await
            .unwrap_err()
            .problem()
            .errors
    );
}
