//! Routes of the identity context and their OpenAPI operations, and the internal routes the
//! other services use (tokens for background work, API key resolution).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::{Action, Actor, Error, Object, Role};
use crm_http::auth::ApiKeyResolver;
use crm_http::jwt::{Claims, Jwks};
use crm_http::openapi::{ApiDoc, Op};
use crm_http::{ApiResult, Caller, Json, PathId, resource, respond};

use crate::apikey::{ApiKey, ApiKeyList, CreatedApiKey, NewApiKey};
use crate::session::{Login, RefreshRequest, Signup, Tokens};
use crate::{Identity, Tenant, User};

/// Routes under `/api/v1`.
pub fn router(svc: Arc<Identity>) -> Router {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/tenant", get(tenant))
        .route("/api-keys", get(list_keys).post(create_key))
        .route("/api-keys/{id}", delete(revoke_key))
        .merge(resource::routes::<User, Identity>())
        .with_state(svc)
}

/// The header carrying the secret shared by the services, on every internal route.
pub const INTERNAL_SECRET: &str = "x-internal-secret";
pub const INTERNAL_TOKENS: &str = "/internal/v1/tokens";
pub const INTERNAL_RESOLVE_KEY: &str = "/internal/v1/api-keys/resolve";
/// The 401 detail of [`INTERNAL_RESOLVE_KEY`] for a key that acts for no one.
pub const UNKNOWN_KEY: &str = "unknown or revoked API key";

/// `POST /internal/v1/tokens`: a token for this user, acting with `role` (at most theirs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

/// A service-issued access token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// `POST /internal/v1/api-keys/resolve`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveKey {
    pub key: String,
}

/// Who an API key acts as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResolvedKey {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub api_key_id: Uuid,
}

#[derive(Clone)]
struct Internal {
    svc: Arc<Identity>,
    secret: Arc<String>,
}

/// Routes for other services only, at the root (the gateway never exposes `/internal`),
/// each requiring `X-Internal-Secret: <secret>` (401 otherwise; an empty secret opens
/// nothing): [`INTERNAL_TOKENS`] issues tokens for background work and for requests made
/// with API keys; [`INTERNAL_RESOLVE_KEY`] resolves an API key for the gateway.
pub fn internal_router(svc: Arc<Identity>, secret: String) -> Router {
    Router::new()
        .route(INTERNAL_TOKENS, post(issue_token))
        .route(INTERNAL_RESOLVE_KEY, post(resolve_key))
        .with_state(Internal {
            svc,
            secret: Arc::new(secret),
        })
}

/// Compares in time independent of where the values differ.
fn authorised(secret: &str, headers: &HeaderMap) -> Result<(), Error> {
    let given = headers
        .get(INTERNAL_SECRET)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let same = given.len() == secret.len()
        && given
            .iter()
            .zip(secret.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same && !secret.is_empty() {
        Ok(())
    } else {
        Err(Error::Unauthorized(format!(
            "internal routes need {INTERNAL_SECRET}"
        )))
    }
}

/// Admin ranks first in `Role::ALL`: `have` covers `want` when it comes no later.
fn at_least(have: Role, want: Role) -> bool {
    let rank = |r: Role| Role::ALL.iter().position(|x| *x == r);
    rank(have) <= rank(want)
}

async fn issue_token(
    State(i): State<Internal>,
    headers: HeaderMap,
    Json(req): Json<TokenRequest>,
) -> ApiResult<Json<IssuedToken>> {
    authorised(&i.secret, &headers)?;
    let role: Option<Role> = sqlx::query_scalar(
        "SELECT role FROM crm_identity.users
         WHERE tenant_id = $1 AND id = $2 AND active AND deleted_at IS NULL",
    )
    .bind(req.tenant_id)
    .bind(req.user_id)
    .fetch_optional(i.svc.pool())
    .await?;
    let Some(role) = role else {
        return Err(Error::Unauthorized("no such active user in this tenant".into()).into());
    };
    if !at_least(role, req.role) {
        return Err(
            Error::Forbidden(format!("the user's role '{role}' is below '{}'", req.role)).into(),
        );
    }
    let ttl = i.svc.settings.access_ttl_secs;
    let actor = Actor::new(req.tenant_id, req.user_id, req.role);
    Ok(Json(IssuedToken {
        access_token: i.svc.keys().signer().sign(&Claims::new(&actor, ttl)),
        expires_in: ttl,
    }))
}

async fn resolve_key(
    State(i): State<Internal>,
    headers: HeaderMap,
    Json(req): Json<ResolveKey>,
) -> ApiResult<Json<ResolvedKey>> {
    authorised(&i.secret, &headers)?;
    match i.svc.resolve(&req.key).await? {
        Some((actor, api_key_id)) => Ok(Json(ResolvedKey {
            tenant_id: actor.tenant_id,
            user_id: actor.user_id,
            role: actor.role,
            api_key_id,
        })),
        None => Err(Error::Unauthorized(UNKNOWN_KEY.into()).into()),
    }
}

/// `/.well-known/jwks.json`, at the root.
pub fn well_known(svc: Arc<Identity>) -> Router {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(svc)
}

async fn signup(State(svc): State<Arc<Identity>>, Json(req): Json<Signup>) -> ApiResult<Response> {
    let tokens = svc.signup(req).await?;
    Ok(respond::json(StatusCode::CREATED, &tokens))
}

async fn login(
    State(svc): State<Arc<Identity>>,
    Json(req): Json<Login>,
) -> ApiResult<Json<Tokens>> {
    Ok(Json(svc.login(req).await?))
}

async fn refresh(
    State(svc): State<Arc<Identity>>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<Tokens>> {
    Ok(Json(svc.refresh(req).await?))
}

async fn logout(
    State(svc): State<Arc<Identity>>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<StatusCode> {
    svc.logout(req).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(svc): State<Arc<Identity>>, Caller(actor): Caller) -> ApiResult<Json<User>> {
    Ok(Json(svc.me(&actor).await?))
}

async fn tenant(
    State(svc): State<Arc<Identity>>,
    Caller(actor): Caller,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(svc.tenant(&actor).await?))
}

async fn jwks(State(svc): State<Arc<Identity>>) -> Response {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(svc.keys().jwks()),
    )
        .into_response()
}

async fn list_keys(
    State(svc): State<Arc<Identity>>,
    Caller(actor): Caller,
) -> ApiResult<Json<ApiKeyList>> {
    actor.require(Action::Read, Object::ApiKey)?;
    Ok(Json(ApiKeyList {
        data: svc.list_api_keys(&actor).await?,
    }))
}

async fn create_key(
    State(svc): State<Arc<Identity>>,
    Caller(actor): Caller,
    body: crm_http::extract::RawJson,
) -> ApiResult<Response> {
    actor.require(Action::Create, Object::ApiKey)?;
    let req: NewApiKey = body.parse()?;
    let created = svc.create_api_key(&actor, req).await?;
    Ok(respond::json(StatusCode::CREATED, &created))
}

async fn revoke_key(
    State(svc): State<Arc<Identity>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Json<ApiKey>> {
    actor.require(Action::Delete, Object::ApiKey)?;
    Ok(Json(svc.revoke_api_key(&actor, id).await?))
}

pub fn openapi(doc: &mut ApiDoc) {
    let tokens = doc.schema::<Tokens>();
    let (signup, login, refresh) = (
        doc.schema::<Signup>(),
        doc.schema::<Login>(),
        doc.schema::<RefreshRequest>(),
    );
    doc.add(
        "post",
        "/auth/signup",
        Op::new("auth", "Create a tenant and its first admin")
            .public()
            .problems(403, &["forbidden"])
            .problems(409, &["duplicate"])
            .problems(429, &["rate-limited"])
            .body(signup)
            .response(201, "Signed in", Some(tokens.clone())),
    );
    doc.add(
        "post",
        "/auth/login",
        Op::new("auth", "Sign in with e-mail and password")
            .public()
            .problems(401, &["unauthorized"])
            .problems(429, &["rate-limited"])
            .body(login)
            .response(200, "Signed in", Some(tokens.clone())),
    );
    doc.add(
        "post",
        "/auth/refresh",
        Op::new(
            "auth",
            "Exchange a refresh token (single use) for new tokens",
        )
        .public()
        .problems(401, &["unauthorized"])
        .body(refresh.clone())
        .response(200, "New tokens", Some(tokens)),
    );
    doc.add(
        "post",
        "/auth/logout",
        Op::new("auth", "Revoke a refresh token")
            .public()
            .problems(401, &["unauthorized"])
            .body(refresh)
            .response(204, "Revoked", None),
    );
    let user = doc.schema::<User>();
    doc.add(
        "get",
        "/auth/me",
        Op::new("auth", "The signed-in user").response(200, "The user", Some(user)),
    );
    let tenant = doc.schema::<Tenant>();
    doc.add(
        "get",
        "/tenant",
        Op::new("auth", "The caller's tenant").response(200, "The tenant", Some(tenant)),
    );
    let jwks = doc.schema::<Jwks>();
    doc.add(
        "get",
        "/.well-known/jwks.json",
        Op::new("auth", "Public keys that verify access tokens")
            .public()
            .response(200, "JWKS", Some(jwks)),
    );
    let (list, new, created, key) = (
        doc.schema::<ApiKeyList>(),
        doc.schema::<NewApiKey>(),
        doc.schema::<CreatedApiKey>(),
        doc.schema::<ApiKey>(),
    );
    doc.add(
        "get",
        "/api-keys",
        Op::new("api-keys", "List API keys (admins)").response(
            200,
            "Keys, without secrets",
            Some(list),
        ),
    );
    doc.add(
        "post",
        "/api-keys",
        Op::new(
            "api-keys",
            "Create an API key (admins); the key is shown once",
        )
        .body(new)
        .response(201, "The key", Some(created)),
    );
    doc.add(
        "delete",
        "/api-keys/{id}",
        Op::new("api-keys", "Revoke an API key")
            .path_id("id")
            .response(200, "Revoked", Some(key)),
    );
    resource::document::<User, Identity>(doc, "users");
}
