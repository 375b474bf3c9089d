//! Stored responses for requests carrying an `Idempotency-Key`.
//!
//! The first request with a key reserves it (`in flight`), runs, and stores its response.
//! A replay with the same body gets the stored response; with another body, 422; while the
//! first is still running, 409. Keys live 24 hours per tenant.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Error, Result};

pub const MAX_KEY_LEN: usize = 255;

/// A response kept for replay.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, PartialEq)]
pub enum Begin {
    /// The key is new (or expired): run the request, then [`complete`] or [`release`].
    Proceed,
    /// The same request ran before: answer with its response.
    Replay(Stored),
    /// The same key is still being processed.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
}

/// A fingerprint of what makes two requests "the same": method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad_request(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(())
}

/// Reserves `key` or reports what happened to it before.
///
/// A key still in flight after `lease` (longer than any request may run) belonged to a
/// process that died: the same request may take it over and run again. Ids derived from the
/// key ([`crate::ids`]) make that re-run find, rather than repeat, whatever the first run
/// committed.
pub async fn begin(
    pool: &PgPool,
    tenant: Uuid,
    key: &str,
    fp: &str,
    lease: std::time::Duration,
) -> Result<Begin> {
    let fresh: Option<bool> = sqlx::query_scalar(
        "INSERT INTO crm_core.idempotency_keys AS k (tenant_id, key, fingerprint) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, key) DO UPDATE
             SET fingerprint = EXCLUDED.fingerprint, status = NULL, headers = NULL, body = NULL,
                 created_at = now(), completed_at = NULL
             WHERE k.created_at < now() - interval '24 hours'
                OR (k.status IS NULL AND k.fingerprint = EXCLUDED.fingerprint
                    AND k.created_at < now() - make_interval(secs => $4))
         RETURNING true",
    )
    .bind(tenant)
    .bind(key)
    .bind(fp)
    .bind(lease.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    if fresh.is_some() {
        return Ok(Begin::Proceed);
    }
    type Row = (String, Option<i16>, Option<Value>, Option<Vec<u8>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT fingerprint, status, headers, body FROM crm_core.idempotency_keys WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some((stored_fp, status, headers, body)) = row else {
        // Released between our insert attempt and the read: treat as in flight; a retry runs.
        return Ok(Begin::InFlight);
    };
    if stored_fp != fp {
        return Ok(Begin::Mismatch);
    }
    let Some(status) = status else {
        return Ok(Begin::InFlight);
    };
    let headers = headers
        .and_then(|h| serde_json::from_value::<Vec<(String, String)>>(h).ok())
        .unwrap_or_default();
    Ok(Begin::Replay(Stored {
        status: status as u16,
        headers,
        body: body.unwrap_or_default(),
    }))
}

/// Stores the response of a request that ran under `key`.
pub async fn complete(pool: &PgPool, tenant: Uuid, key: &str, r: &Stored) -> Result<()> {
    sqlx::query(
        "UPDATE crm_core.idempotency_keys SET status = $3, headers = $4, body = $5, completed_at = now()
         WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant)
    .bind(key)
    .bind(r.status as i16)
    .bind(serde_json::to_value(&r.headers)?)
    .bind(&r.body)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets `key` (the request failed in a way a retry may fix).
pub async fn release(pool: &PgPool, tenant: Uuid, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM crm_core.idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status IS NULL")
        .bind(tenant)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes keys older than 24 hours.
pub async fn purge(pool: &PgPool) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM crm_core.idempotency_keys WHERE created_at < now() - interval '24 hours'",
    )
    .execute(pool)
    .await?
    .rows_affected())
}
