//! Identity's internal routes and clients against the real service on a real database:
//! service tokens verified through the JWKS, API keys resolved remotely, and
//! `users_with_role` answering as in-process.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use uuid::Uuid;

use crm_core::{Actor, Role};
use crm_http::auth::{ApiKeyResolver, Authenticator, JwksKeys};
use crm_http::client::{CallPolicy, ServiceClient, TokenSource, Upstream};
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};
use crm_identity::apikey::NewApiKey;
use crm_identity::client::{IdentityClient, InternalTokens, RemoteApiKeys};
use crm_identity::session::Signup;
use crm_identity::{Identity, IdentityApi, Settings};
use crm_testkit::pg::PgCluster;

const SECRET: &str = "s3cret-shared-by-services";

struct Service {
    svc: Arc<Identity>,
    up: Arc<Upstream>,
    base: String,
    pool: sqlx::PgPool,
    admin: Actor,
}

async fn service() -> Service {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_identity::CONTEXT, crm_identity::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(
        Identity::new(pool.clone(), Settings::default())
            .await
            .unwrap(),
    );
    let edge = Edge {
        auth: Authenticator::new(svc.keys(), Some(svc.clone())),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: Some(pool.clone()),
        timeout: Duration::from_secs(30),
    };
    let routes = Router::new()
        .nest(crm_http::API, crm_identity::http::router(svc.clone()))
        .merge(crm_identity::http::well_known(svc.clone()))
        .merge(crm_identity::http::internal_router(
            svc.clone(),
            SECRET.into(),
        ));
    let app = server::fallbacks(server::with_edge(routes, &edge));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tokens = svc
        .signup(Signup {
            tenant_name: "Initech".into(),
            name: "Bill".into(),
            email: format!("bill-{}@initech.com", Uuid::now_v7()),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    let admin = Actor::new(tokens.user.meta.tenant_id, tokens.user.meta.id, Role::Admin);
    Service {
        up: Upstream::new("identity", vec![base.clone()]),
        svc,
        base,
        pool,
        admin,
    }
}

/// Adds `n` users of `role` to the tenant (in creation order); returns their ids.
async fn add_users(pool: &sqlx::PgPool, tenant: Uuid, role: Role, n: i32) -> Vec<Uuid> {
    sqlx::query_scalar(
        "INSERT INTO crm_identity.users (id, tenant_id, email, name, role, password_hash, created_at)
         SELECT gen_random_uuid(), $1, $1::text || '-' || $2 || g || '@x.io', 'User ' || g, $2, 'x',
                now() + g * interval '1 ms'
         FROM generate_series(1, $3) g RETURNING id",
    )
    .bind(tenant)
    .bind(role.as_str())
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn service_tokens_act_for_active_users_and_verify_through_the_jwks() {
    let s = service().await;
    let t = s.admin.tenant_id;
    let rep = Actor::new(t, add_users(&s.pool, t, Role::Rep, 1).await[0], Role::Rep);
    let tokens = InternalTokens::new(s.up.clone(), SECRET.into());
    let token = tokens.token(&rep).await.unwrap();
    assert_eq!(tokens.token(&rep).await.unwrap(), token, "cached");
    let auth = Authenticator::new(Arc::new(JwksKeys::new(s.up.clone())), None);
    let (who, _) = auth.identify(&format!("Bearer {token}")).await.unwrap();
    assert_eq!(who, rep);

    let as_viewer = Actor {
        role: Role::Viewer,
        ..s.admin.clone()
    };
    let (who, _) = auth
        .identify(&format!(
            "Bearer {}",
            tokens.token(&as_viewer).await.unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(who.role, Role::Viewer, "acting below one's role is fine");

    let e = tokens
        .token(&Actor {
            role: Role::Admin,
            ..rep.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(e.status().as_u16(), 403, "never above it");
    let e = tokens
        .token(&Actor::new(t, Uuid::now_v7(), Role::Rep))
        .await
        .unwrap_err();
    assert_eq!(e.status().as_u16(), 401);
    sqlx::query("UPDATE crm_identity.users SET active = false WHERE id = $1")
        .bind(rep.user_id)
        .execute(&s.pool)
        .await
        .unwrap();
    let fresh = InternalTokens::new(s.up.clone(), SECRET.into());
    assert_eq!(
        fresh.token(&rep).await.unwrap_err().status().as_u16(),
        401,
        "inactive"
    );

    let wrong = InternalTokens::new(s.up.clone(), "guess".into());
    assert_eq!(
        wrong.token(&s.admin).await.unwrap_err().status().as_u16(),
        401
    );
    let res = reqwest::Client::new()
        .post(format!("{}/internal/v1/tokens", s.base))
        .json(&serde_json::json!({"tenant_id": t, "user_id": s.admin.user_id, "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "no secret, no token");
}

#[tokio::test]
async fn api_keys_resolve_remotely_as_in_process() {
    let s = service().await;
    let created = s
        .svc
        .create_api_key(
            &s.admin,
            NewApiKey {
                name: "ci".into(),
                role: Some(Role::Rep),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let remote = RemoteApiKeys::new(s.up.clone(), SECRET.into());
    let hit = remote.resolve(&created.key).await.unwrap();
    assert_eq!(hit, s.svc.resolve(&created.key).await.unwrap());
    let (actor, id) = hit.unwrap();
    assert_eq!((actor.role, id), (Role::Rep, created.api_key.id));
    assert_eq!(remote.resolve("crm_not-a-key").await.unwrap(), None);

    let auth = Authenticator::new(
        Arc::new(JwksKeys::new(s.up.clone())),
        Some(Arc::new(remote)),
    );
    let (who, key) = auth
        .identify(&format!("Bearer {}", created.key))
        .await
        .unwrap();
    assert_eq!((who, key), (actor, Some(id)));

    let misconfigured = RemoteApiKeys::new(s.up.clone(), String::new());
    let e = misconfigured.resolve(&created.key).await.unwrap_err();
    assert_eq!(
        e.status().as_u16(),
        401,
        "a refused secret is an error, not an unknown key"
    );
}

#[tokio::test]
async fn users_with_role_answers_as_in_process_across_pages() {
    let s = service().await;
    let t = s.admin.tenant_id;
    let reps = add_users(&s.pool, t, Role::Rep, 230).await;
    add_users(&s.pool, t, Role::Manager, 3).await;
    sqlx::query("UPDATE crm_identity.users SET active = false WHERE id = $1")
        .bind(reps[5])
        .execute(&s.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_identity.users SET deleted_at = now() WHERE id = $1")
        .bind(reps[9])
        .execute(&s.pool)
        .await
        .unwrap();
    let tokens = Arc::new(InternalTokens::new(s.up.clone(), SECRET.into()));
    let remote = IdentityClient::new(ServiceClient::new(
        s.up.clone(),
        tokens,
        CallPolicy::default(),
    ));
    let viewer = Actor {
        role: Role::Viewer,
        ..s.admin.clone()
    };
    for role in Role::ALL {
        let r = remote.users_with_role(&viewer, role).await.unwrap();
        assert_eq!(
            r,
            s.svc.users_with_role(&viewer, role).await.unwrap(),
            "{role}"
        );
    }
    assert_eq!(
        remote
            .users_with_role(&viewer, Role::Rep)
            .await
            .unwrap()
            .len(),
        228
    );
}
