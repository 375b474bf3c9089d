//! Sign-up, log-in, refresh-token rotation and log-out.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::query::SqlValue;
use crm_core::record;
use crm_core::validate::{self, Validator};
use crm_core::{Actor, Error, Result, Role, db, new_id};
use crm_http::jwt::Claims;

use crate::Identity;
use crate::user::{self, User};

fn signup_schema(s: &mut schemars::Schema) {
    use crm_core::schema::{EMAIL, Rule, constrain};
    let text = Rule::Text {
        max: 200,
        required: true,
    };
    constrain(
        s,
        true,
        &[
            ("tenant_name", text),
            ("name", text),
            ("email", Rule::Pattern(EMAIL)),
            ("password", Rule::Pattern(crate::user::PASSWORD)),
        ],
    );
}

/// `POST /auth/signup`: a new tenant and its first admin.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = signup_schema)]
pub struct Signup {
    pub tenant_name: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// `POST /auth/login`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Tokens for a session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Tokens {
    /// EdDSA JWT for `Authorization: Bearer`.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque, single use: exchange it at `/auth/refresh` for new tokens.
    pub refresh_token: String,
    pub user: User,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A random URL-safe secret of `bytes` bytes.
pub(crate) fn secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    B64.encode(buf)
}

impl Identity {
    async fn issue(&self, conn: &mut PgConnection, user: User) -> Result<Tokens> {
        let actor = Actor::new(user.meta.tenant_id, user.meta.id, user.role);
        let access = self
            .keys
            .signer()
            .sign(&Claims::new(&actor, self.settings.access_ttl_secs));
        let refresh = secret(32);
        sqlx::query(
            "INSERT INTO crm_identity.refresh_tokens (id, user_id, tenant_id, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        )
        .bind(new_id())
        .bind(user.meta.id)
        .bind(user.meta.tenant_id)
        .bind(sha256_hex(&refresh))
        .bind(self.settings.refresh_ttl_secs as f64)
        .execute(&mut *conn)
        .await?;
        Ok(Tokens {
            access_token: access,
            token_type: "Bearer".into(),
            expires_in: self.settings.access_ttl_secs,
            refresh_token: refresh,
            user,
        })
    }

    pub async fn signup(&self, req: Signup) -> Result<Tokens> {
        if !self.settings.allow_signup {
            return Err(Error::Forbidden(
                "sign-up is disabled on this server".into(),
            ));
        }
        let mut v = Validator::new();
        let tenant_name = v.check(validate::text("tenant_name", &req.tenant_name, 1, 200));
        let name = v.check(validate::text("name", &req.name, 1, 200));
        let email = v.check(validate::email("email", &req.email).map(|e| e.to_lowercase()));
        v.check(user::check_password("password", &req.password));
        v.finish()?;
        let hash = user::hash_password(req.password).await?;
        let tenant_id = new_id();
        let user_id = new_id();
        let actor = Actor::new(tenant_id, user_id, Role::Admin);
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO crm_identity.tenants (id, name) VALUES ($1, $2)")
            .bind(tenant_id)
            .bind(tenant_name)
            .execute(&mut *tx)
            .await?;
        let user = record::insert::<User>(
            &mut tx,
            &actor,
            user_id,
            vec![
                ("email", SqlValue::Text(email)),
                ("name", SqlValue::Text(name)),
                ("role", SqlValue::Text(Some("admin".into()))),
                ("password_hash", SqlValue::Text(Some(hash))),
            ],
        )
        .await?;
        crm_core::outbox::append(&mut tx, &record::event(&actor, &user, "created")?).await?;
        let tokens = self.issue(&mut tx, user).await?;
        db::commit(tx).await?;
        Ok(tokens)
    }

    pub async fn login(&self, req: Login) -> Result<Tokens> {
        let email = req.email.trim().to_lowercase();
        let row: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT id, password_hash FROM crm_identity.users
             WHERE lower(email) = $1 AND deleted_at IS NULL AND active",
        )
        .bind(&email)
        .fetch_optional(&self.pool)
        .await?;
        // Verify against a dummy hash for unknown users so timing does not reveal them.
        let (id, hash) = row.unwrap_or((Uuid::nil(), self.dummy_hash.clone()));
        let ok = user::verify_password(req.password, hash).await?;
        if !ok || id.is_nil() {
            return Err(Error::Unauthorized("wrong e-mail or password".into()));
        }
        let mut tx = self.pool.begin().await?;
        let user: User = sqlx::query_as(&format!(
            "UPDATE crm_identity.users SET last_login_at = now() WHERE id = $1 RETURNING {}",
            user::COLUMNS
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let tokens = self.issue(&mut tx, user).await?;
        db::commit(tx).await?;
        Ok(tokens)
    }

    /// Exchanges a refresh token for new tokens. A token used twice means it leaked: every
    /// session of that user is revoked.
    pub async fn refresh(&self, req: RefreshRequest) -> Result<Tokens> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(Uuid, Uuid, bool, bool)> = sqlx::query_as(
            "SELECT id, user_id, revoked_at IS NOT NULL, expires_at < now()
             FROM crm_identity.refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(sha256_hex(req.refresh_token.trim()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, user_id, revoked, expired)) = row else {
            return Err(Error::Unauthorized("unknown refresh token".into()));
        };
        if revoked {
            sqlx::query("UPDATE crm_identity.refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::warn!(%user_id, "refresh token reused; all sessions of the user revoked");
            return Err(Error::Unauthorized(
                "refresh token already used; sign in again".into(),
            ));
        }
        if expired {
            return Err(Error::Unauthorized(
                "refresh token expired; sign in again".into(),
            ));
        }
        let user: Option<User> = sqlx::query_as(&format!(
            "SELECT {} FROM crm_identity.users WHERE id = $1 AND deleted_at IS NULL AND active",
            user::COLUMNS
        ))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let user =
            user.ok_or_else(|| Error::Unauthorized("the user is no longer active".into()))?;
        let tokens = self.issue(&mut tx, user).await?;
        sqlx::query(
            "UPDATE crm_identity.refresh_tokens SET revoked_at = now(),
                 replaced_by = (SELECT id FROM crm_identity.refresh_tokens WHERE token_hash = $2)
             WHERE id = $1",
        )
        .bind(id)
        .bind(sha256_hex(&tokens.refresh_token))
        .execute(&mut *tx)
        .await?;
        db::commit(tx).await?;
        Ok(tokens)
    }

    pub async fn logout(&self, req: RefreshRequest) -> Result<()> {
        sqlx::query("UPDATE crm_identity.refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(sha256_hex(req.refresh_token.trim()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub(crate) fn hash_key(key: &str) -> String {
    sha256_hex(key)
}
