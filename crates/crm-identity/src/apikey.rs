//! API keys: `crm_` + 32 random bytes, stored as SHA-256, shown once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use uuid::Uuid;

use crm_core::{Actor, Error, Result, Role, validate};
use crm_http::auth::{API_KEY_PREFIX, ApiKeyResolver};

use crate::Identity;
use crate::session::{hash_key, secret};

/// How long a resolved key is trusted without asking the database again. A revocation takes
/// effect at once in this process and within this time elsewhere.
const CACHE_TTL: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The user the key acts for.
    pub user_id: Uuid,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, tenant_id, user_id, name, prefix, role, created_at, expires_at, last_used_at, revoked_at";

fn new_api_key_schema(s: &mut schemars::Schema) {
    use crm_core::schema::{Rule, constrain};
    let name = Rule::Text {
        max: 100,
        required: true,
    };
    constrain(s, true, &[("name", name)]);
}

/// `POST /api-keys`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_api_key_schema)]
pub struct NewApiKey {
    pub name: String,
    /// Defaults to the creator's role; may not exceed it.
    pub role: Option<Role>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The new key: `key` is shown this once and never again.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub key: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ApiKeyList {
    pub data: Vec<ApiKey>,
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Viewer => 0,
        Role::Rep => 1,
        Role::Manager => 2,
        Role::Admin => 3,
    }
}

#[derive(Default)]
pub(crate) struct KeyCache(Mutex<HashMap<String, (Actor, Uuid, Instant)>>);

impl Identity {
    pub async fn create_api_key(&self, actor: &Actor, req: NewApiKey) -> Result<CreatedApiKey> {
        let name =
            validate::text("name", &req.name, 1, 100).map_err(|e| Error::Validation(vec![e]))?;
        let role = req.role.unwrap_or(actor.role);
        if rank(role) > rank(actor.role) {
            return Err(Error::invalid("role", "may not exceed your own role"));
        }
        if req.expires_at.is_some_and(|t| t <= Utc::now()) {
            return Err(Error::inconsistent("expires_at", "must be in the future"));
        }
        let key = format!("{API_KEY_PREFIX}{}", secret(32));
        let prefix: String = key.chars().take(12).collect();
        let api_key: ApiKey = sqlx::query_as(&format!(
            "INSERT INTO crm_identity.api_keys (id, tenant_id, user_id, name, prefix, key_hash, role, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ))
        .bind(crm_core::new_id())
        .bind(actor.tenant_id)
        .bind(actor.user_id)
        .bind(name)
        .bind(prefix)
        .bind(hash_key(&key))
        .bind(role.as_str())
        .bind(req.expires_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(CreatedApiKey { api_key, key })
    }

    pub async fn list_api_keys(&self, actor: &Actor) -> Result<Vec<ApiKey>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM crm_identity.api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT 500"
        ))
        .bind(actor.tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn revoke_api_key(&self, actor: &Actor, id: Uuid) -> Result<ApiKey> {
        let key: ApiKey = sqlx::query_as::<_, ApiKey>(&format!(
            "UPDATE crm_identity.api_keys SET revoked_at = coalesce(revoked_at, now())
             WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
        ))
        .bind(actor.tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found("api key"))?;
        self.key_cache
            .0
            .lock()
            .expect("key cache lock")
            .retain(|_, (_, kid, _)| *kid != id);
        Ok(key)
    }
}

#[async_trait]
impl ApiKeyResolver for Identity {
    async fn resolve(&self, key: &str) -> Result<Option<(Actor, Uuid)>> {
        let hash = hash_key(key);
        let cached = self
            .key_cache
            .0
            .lock()
            .expect("key cache lock")
            .get(&hash)
            .cloned();
        if let Some((actor, id, at)) = cached
            && at.elapsed() < CACHE_TTL
        {
            return Ok(Some((actor, id)));
        }
        let row: Option<(Uuid, Uuid, Uuid, String)> = sqlx::query_as(
            "UPDATE crm_identity.api_keys k SET last_used_at = now()
             FROM crm_identity.users u
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
               AND u.id = k.user_id AND u.deleted_at IS NULL AND u.active
             RETURNING k.id, k.tenant_id, k.user_id, k.role",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, tenant, user, role)) = row else {
            return Ok(None);
        };
        let role =
            Role::parse(&role).ok_or_else(|| Error::internal(format!("stored role {role}")))?;
        let actor = Actor::new(tenant, user, role);
        self.key_cache
            .0
            .lock()
            .expect("key cache lock")
            .insert(hash, (actor.clone(), id, Instant::now()));
        Ok(Some((actor, id)))
    }
}
