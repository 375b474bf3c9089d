//! Resolving what a write names: pipelines and stages of the tenant (on the write's own
//! transaction), and references into other contexts (users, companies, contacts: through
//! their owners, `crm_core::refs`).
//!
//! Lookups take `FOR KEY SHARE`, the lock the foreign keys take anyway: a stage cannot be
//! deleted or re-flagged between being read here and the opportunity being written.

use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::refs::Refs;
use crm_core::{Actor, FieldError, Patch, Result};

use crate::Sales;
use crate::stage::{self, Stage};

/// What a request's `stage_id` / `stage_key` came to.
pub(crate) enum Named {
    /// Neither was given.
    Nothing,
    Found(Box<Stage>),
    /// An error was recorded.
    Invalid,
}

/// Whether `id` is a live pipeline of the tenant.
pub(crate) async fn pipeline_exists(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<bool> {
    let found: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM crm_sales.pipelines
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR KEY SHARE",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// The first live stage of `pipeline` matching `condition` over `$3` (a key) and `$4` (an id).
async fn stage_where(
    conn: &mut PgConnection,
    tenant: Uuid,
    condition: &str,
    pipeline: Uuid,
    arg: Option<&str>,
    id: Option<Uuid>,
) -> Result<Option<Stage>> {
    Ok(sqlx::query_as::<_, Stage>(&format!(
        "SELECT {} FROM crm_sales.stages
         WHERE tenant_id = $1 AND pipeline_id = $2 AND deleted_at IS NULL AND {condition}
         ORDER BY position, id LIMIT 1 FOR KEY SHARE",
        stage::COLUMNS
    ))
    .bind(tenant)
    .bind(pipeline)
    .bind(arg)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// The pipeline's first live stage by position.
pub(crate) async fn first_stage(
    conn: &mut PgConnection,
    tenant: Uuid,
    pipeline: Uuid,
) -> Result<Option<Stage>> {
    stage_where(conn, tenant, "TRUE", pipeline, None, None).await
}

/// The stage named by `stage_id` and/or `stage_key` in `pipeline`: a stage of another
/// pipeline or an unknown key goes to `missing` (unknown references), two names for
/// different stages to `errors`.
pub(crate) async fn named_stage(
    conn: &mut PgConnection,
    tenant: Uuid,
    pipeline: Uuid,
    stage_id: Patch<Uuid>,
    stage_key: Patch<String>,
    errors: &mut Vec<FieldError>,
    missing: &mut Vec<FieldError>,
) -> Result<Named> {
    let by_id = match stage_id {
        Patch::Absent => None,
        Patch::Null => {
            errors.push(FieldError::new("stage_id", "must not be null"));
            return Ok(Named::Invalid);
        }
        Patch::Value(id) => {
            match stage_where(conn, tenant, "id = $4", pipeline, None, Some(id)).await? {
                Some(s) => Some(s),
                None => {
                    missing.push(FieldError::new(
                        "stage_id",
                        format!("is not a live stage of pipeline {pipeline}"),
                    ));
                    return Ok(Named::Invalid);
                }
            }
        }
    };
    // A null key is no choice at all: `stage_key` only selects, it is not stored as given.
    let by_key = match stage_key {
        Patch::Absent | Patch::Null => None,
        Patch::Value(k) => {
            let k = k.trim();
            match stage_where(conn, tenant, "key = $3", pipeline, Some(k), None).await? {
                Some(s) => Some(s),
                None => {
                    missing.push(FieldError::new(
                        "stage_key",
                        format!("'{k}' is not a stage of pipeline {pipeline}"),
                    ));
                    return Ok(Named::Invalid);
                }
            }
        }
    };
    Ok(match (by_id, by_key) {
        (Some(a), Some(b)) if a.meta.id != b.meta.id => {
            errors.push(FieldError::new(
                "stage_key",
                "names another stage than stage_id",
            ));
            Named::Invalid
        }
        (Some(s), _) | (None, Some(s)) => Named::Found(Box::new(s)),
        (None, None) => Named::Nothing,
    })
}

/// Default stage when none is named: the pipeline's first one.
pub(crate) async fn first_or_error(
    conn: &mut PgConnection,
    tenant: Uuid,
    pipeline: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Stage>> {
    let s = first_stage(conn, tenant, pipeline).await?;
    if s.is_none() {
        errors.push(FieldError::new("pipeline_id", "the pipeline has no stages"));
    }
    Ok(s)
}

impl Sales {
    /// The references of an opportunity write to other contexts (owner, company, primary
    /// contact), checked at once through their owners: one look-up per type.
    pub(crate) async fn check_references(
        &self,
        actor: &Actor,
        owner: Option<Uuid>,
        company: Option<Uuid>,
        contact: Option<Uuid>,
        errors: &mut Vec<FieldError>,
    ) -> Result<()> {
        let mut refs = Refs::new();
        refs.add("owner_id", "user", owner);
        refs.add("company_id", "company", company);
        refs.add("primary_contact_id", "contact", contact);
        refs.check(actor, &self.owners, errors).await
    }
}
