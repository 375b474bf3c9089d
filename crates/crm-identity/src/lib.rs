//! The identity context: tenants, users and roles, Argon2id passwords, EdDSA access tokens
//! with rotating refresh tokens, API keys, and the JWKS other processes verify with.
//! Schema `crm_identity`.
//!
//! # Layout
//! - [`keys`]: signing keys kept in the database; the [`crm_http::auth::KeySource`].
//! - [`user`]: the user record and password hashing.
//! - [`session`]: sign-up, log-in, refresh and log-out.
//! - [`apikey`]: API keys and the [`crm_http::auth::ApiKeyResolver`].
//! - [`http`]: routes and OpenAPI operations, and the internal routes for other services.
//! - [`client`]: identity over HTTP: [`client::InternalTokens`] (the services' token source),
//!   [`client::RemoteApiKeys`], and [`client::IdentityClient`], the [`IdentityApi`].

pub mod apikey;
pub mod client;
pub mod http;
pub mod keys;
pub mod session;
pub mod user;

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crm_core::migrate::Migration;
use crm_core::record::{self, Resource};
use crm_core::refs::Lookup;
use crm_core::{Action, Actor, Object, Result, Role};

pub use keys::Keys;
pub use user::User;

pub const CONTEXT: &str = "identity";

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "tenants, users, tokens, api keys, signing keys",
    sql: include_str!("../migrations/0001_identity.sql"),
}];

#[derive(Clone, Debug)]
pub struct Settings {
    /// Whether `POST /auth/signup` may create tenants.
    pub allow_signup: bool,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_signup: true,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
        }
    }
}

/// A user as other contexts see one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserRef {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// What other contexts may ask of identity. As a [`Lookup`] it answers which users exist
/// (the `owner_id` and `assignee_id` of every other context).
#[async_trait]
pub trait IdentityApi: Lookup {
    /// Active users of the caller's tenant with `role`, oldest first (stable for round-robin).
    async fn users_with_role(&self, actor: &Actor, role: Role) -> Result<Vec<UserRef>>;
}

pub struct Identity {
    pool: PgPool,
    keys: Arc<Keys>,
    settings: Settings,
    key_cache: apikey::KeyCache,
    /// A hash to verify against when the e-mail is unknown (constant-time log-in failures).
    dummy_hash: String,
}

impl Identity {
    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }

    pub async fn new(pool: PgPool, settings: Settings) -> Result<Identity> {
        let keys = Arc::new(Keys::load(pool.clone()).await?);
        let dummy_hash = user::hash_password("not a real password".into()).await?;
        Ok(Identity {
            pool,
            keys,
            settings,
            key_cache: apikey::KeyCache::default(),
            dummy_hash,
        })
    }

    pub fn keys(&self) -> Arc<Keys> {
        self.keys.clone()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The caller's own user record.
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        let mut conn = self.pool.acquire().await?;
        record::get::<User>(&mut conn, actor.tenant_id, actor.user_id).await
    }

    pub async fn tenant(&self, actor: &Actor) -> Result<Tenant> {
        Ok(
            sqlx::query_as("SELECT id, name, created_at FROM crm_identity.tenants WHERE id = $1")
                .bind(actor.tenant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow, JsonSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Which users exist, over a pool of its own: the light [`Lookup`] other contexts hold in the
/// monolith (their checks must not wait on the pool their own transaction holds).
#[derive(Clone)]
pub struct Users {
    pool: PgPool,
}

impl Users {
    pub fn new(pool: PgPool) -> Self {
        Users { pool }
    }
}

#[async_trait]
impl Lookup for Users {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        if object != User::OBJECT {
            return Err(crm_core::refs::not_owned(CONTEXT, object));
        }
        let mut conn = self.pool.acquire().await?;
        crm_core::refs::live_ids(&mut conn, User::TABLE, actor.tenant_id, ids).await
    }
}

#[async_trait]
impl Lookup for Identity {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        Users::new(self.pool.clone()).live(actor, object, ids).await
    }
}

#[async_trait]
impl IdentityApi for Identity {
    async fn users_with_role(&self, actor: &Actor, role: Role) -> Result<Vec<UserRef>> {
        actor.require(Action::Read, Object::User)?;
        let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT id, name, email FROM crm_identity.users
             WHERE tenant_id = $1 AND role = $2 AND active AND deleted_at IS NULL
             ORDER BY created_at, id LIMIT 1000",
        )
        .bind(actor.tenant_id)
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, email)| UserRef {
                id,
                name,
                email,
                role,
            })
            .collect())
    }
}
