//! Signing keys: created on first start, kept in the database so every instance (and every
//! restart) signs and verifies with the same keys.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sqlx::PgPool;

use crm_core::{Error, Result};
use crm_http::auth::KeySource;
use crm_http::jwt::{Jwks, Signer};

pub struct Keys {
    pool: PgPool,
    /// kid → key, newest last in `order`.
    keys: RwLock<(HashMap<String, SigningKey>, Vec<String>)>,
}

impl Keys {
    /// Loads the unretired keys, creating one when there is none.
    pub async fn load(pool: PgPool) -> Result<Keys> {
        let keys = Keys {
            pool,
            keys: RwLock::default(),
        };
        if keys.reload().await? == 0 {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let kid = format!("k{}", chrono::Utc::now().format("%Y%m%d%H%M%S%f"));
            sqlx::query("INSERT INTO crm_identity.signing_keys (kid, private_key) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&kid)
                .bind(key.to_bytes().to_vec())
                .execute(&keys.pool)
                .await?;
            keys.reload().await?;
        }
        Ok(keys)
    }

    async fn reload(&self) -> Result<usize> {
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT kid, private_key FROM crm_identity.signing_keys WHERE retired_at IS NULL ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut map = HashMap::new();
        let mut order = Vec::new();
        for (kid, bytes) in rows {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| Error::internal(format!("signing key {kid} is not 32 bytes")))?;
            map.insert(kid.clone(), SigningKey::from_bytes(&bytes));
            order.push(kid);
        }
        let n = order.len();
        *self.keys.write().expect("keys lock") = (map, order);
        Ok(n)
    }

    /// The newest key, which signs new tokens.
    pub fn signer(&self) -> Signer {
        let guard = self.keys.read().expect("keys lock");
        let kid = guard.1.last().expect("at least one key after load").clone();
        Signer::new(kid.clone(), guard.0[&kid].clone())
    }

    pub fn jwks(&self) -> Jwks {
        let guard = self.keys.read().expect("keys lock");
        Jwks {
            keys: guard
                .1
                .iter()
                .map(|kid| Signer::new(kid.clone(), guard.0[kid].clone()).jwk())
                .collect(),
        }
    }

    fn lookup(&self, kid: &str) -> Option<VerifyingKey> {
        self.keys
            .read()
            .expect("keys lock")
            .0
            .get(kid)
            .map(SigningKey::verifying_key)
    }
}

#[async_trait]
impl KeySource for Keys {
    async fn verifying_key(&self, kid: &str) -> Result<Option<VerifyingKey>> {
        if let Some(k) = self.lookup(kid) {
            return Ok(Some(k));
        }
        // Another instance may have added a key since we loaded.
        self.reload().await?;
        Ok(self.lookup(kid))
    }
}
