//! `ActivitiesClient` against the real routes on a real database: every method answers as the
//! in-process `Activities` does, and errors keep their status and fields.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde_json::json;
use uuid::Uuid;

use crm_activities::client::ActivitiesClient;
use crm_activities::{
    Activities, ActivitiesApi, LinkInput, NewActivity, RecordType, TimelineHandler,
};
use crm_core::{Actor, EventEnvelope, Role, outbox};
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::client::{CallPolicy, ServiceClient, SignerTokens, Upstream};
use crm_http::jwt::Signer;
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};
use crm_testkit::pg::PgCluster;

async fn service() -> (Arc<Activities>, ActivitiesClient, sqlx::PgPool) {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_activities::CONTEXT, crm_activities::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(Activities::new(pool.clone()));
    let signer = Signer::generate("t");
    let edge = Edge {
        auth: Authenticator::new(Arc::new(StaticKeys::of(&[&signer])), None),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: Some(pool.clone()),
        timeout: Duration::from_secs(30),
    };
    let routes = Router::new().nest(crm_http::API, crm_activities::http::router(svc.clone()));
    let app = server::fallbacks(server::with_edge(routes, &edge));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = ServiceClient::new(
        Upstream::new("activities", vec![base]),
        Arc::new(SignerTokens::new(signer)),
        CallPolicy::default(),
    );
    (svc, ActivitiesClient::new(http), pool)
}

async fn note(pool: &sqlx::PgPool, actor: &Actor, text: &str, on: &[(RecordType, Uuid)]) -> Uuid {
    let input = NewActivity {
        kind: Some("note".into()),
        body: Some(text.into()),
        links: Some(
            on.iter()
                .map(|(t, id)| LinkInput {
                    record_type: t.as_str().into(),
                    id: *id,
                })
                .collect(),
        ),
        ..Default::default()
    };
    let mut tx = pool.begin().await.unwrap();
    let a = crm_activities::create(&mut tx, actor, input).await.unwrap();
    tx.commit().await.unwrap();
    a.meta.id
}

#[tokio::test]
async fn every_method_answers_as_in_process() {
    let (local, remote, pool) = service().await;
    let a = Actor::new(Uuid::now_v7(), Uuid::now_v7(), Role::Rep);
    let (lead, company, contact) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for i in 0..3 {
        note(&pool, &a, &format!("note {i}"), &[(RecordType::Lead, lead)]).await;
    }
    for limit in [1, 2, 50] {
        let r = remote
            .recent(&a, RecordType::Lead, lead, limit)
            .await
            .unwrap();
        assert_eq!(
            r,
            local
                .recent(&a, RecordType::Lead, lead, limit)
                .await
                .unwrap()
        );
        assert_eq!(r.len(), limit.min(3) as usize);
    }
    let some_activity = Uuid::now_v7();
    assert!(
        remote
            .recent(&a, RecordType::Activity, some_activity, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        local
            .recent(&a, RecordType::Activity, some_activity, 5)
            .await
            .unwrap()
            .is_empty()
    );

    let created = EventEnvelope::new(
        &a,
        "lead",
        "created",
        lead,
        json!({"id": lead, "name": "Lee"}),
    );
    outbox::apply(&pool, &TimelineHandler, &created)
        .await
        .unwrap();
    let r = remote
        .timeline(&a, RecordType::Lead, lead, 10)
        .await
        .unwrap();
    assert_eq!(
        r,
        local
            .timeline(&a, RecordType::Lead, lead, 10)
            .await
            .unwrap()
    );
    assert_eq!(r.len(), 1);
    assert_eq!(
        remote
            .timeline(&a, RecordType::Activity, some_activity, 10)
            .await
            .unwrap(),
        local
            .timeline(&a, RecordType::Activity, some_activity, 10)
            .await
            .unwrap(),
        "an unknown activity's timeline is empty either way"
    );

    let to = [
        (RecordType::Company, company),
        (RecordType::Contact, contact),
    ];
    assert_eq!(
        remote
            .relink(&a, (RecordType::Lead, lead), &to)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        local
            .relink(&a, (RecordType::Lead, lead), &to)
            .await
            .unwrap(),
        0,
        "nothing new"
    );
    assert_eq!(
        remote
            .recent(&a, RecordType::Company, company, 10)
            .await
            .unwrap(),
        local
            .recent(&a, RecordType::Contact, contact, 10)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn errors_keep_their_status_code_and_fields() {
    let (local, remote, _) = service().await;
    let a = Actor::new(Uuid::now_v7(), Uuid::now_v7(), Role::Viewer);
    let (r, l) = (
        remote
            .relink(&a, (RecordType::Lead, Uuid::now_v7()), &[])
            .await
            .unwrap_err(),
        local
            .relink(&a, (RecordType::Lead, Uuid::now_v7()), &[])
            .await
            .unwrap_err(),
    );
    assert_eq!((r.status().as_u16(), r.code()), (403, "forbidden"));
    assert_eq!(l.status(), r.status());

    let rep = Actor {
        role: Role::Rep,
        ..a
    };
    let r = remote
        .relink(&rep, (RecordType::Lead, Uuid::now_v7()), &[])
        .await
        .unwrap_err();
    assert_eq!(r.status().as_u16(), 422);
    let fields: Vec<_> = r.problem().errors.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["to"]);
    let r = remote
        .recent(&rep, RecordType::Lead, Uuid::now_v7(), 500)
        .await
        .unwrap_err();
    let l = local
        .recent(&rep, RecordType::Lead, Uuid::now_v7(), 500)
        .await
        .unwrap_err();
    assert_eq!(
        (r.status(), r.problem().errors),
        (l.status(), l.problem().errors)
    );
}
