//! Stages of a pipeline: the record, its bodies and rules (slug keys unique per pipeline,
//! `is_won` implies `is_closed`, forecast categories), and the default set.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::query::{FieldKind, FieldSpec, SqlValue};
use crm_core::record::{self, Meta, Resource, Writer};
use crm_core::{Actor, Error, FieldError, Object, Result};

use crate::Sales;
use crate::domain::{FORECAST_CATEGORIES, StageFacts};
use crate::stage_plan::gather;

mod body;
pub use body::{NewStage, StagePatch, StageSpec};

pub const MAX_STAGES: usize = 30;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct Stage {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub meta: Meta,
    pub pipeline_id: Uuid,
    /// `[a-z0-9_]{1,40}`, unique among the pipeline's live stages.
    pub key: String,
    pub label: String,
    /// Stages are shown and chosen by default in ascending position.
    pub position: i32,
    /// 0 to 100: the probability an opportunity gets on entering the stage.
    pub probability: i32,
    pub is_closed: bool,
    /// Implies `is_closed`.
    pub is_won: bool,
    /// `pipeline`, `best_case`, `commit`, `closed` or `omitted`.
    pub forecast_category: String,
}

impl Stage {
    pub fn facts(&self) -> StageFacts {
        StageFacts {
            id: self.meta.id,
            probability: i64::from(self.probability),
            is_closed: self.is_closed,
            is_won: self.is_won,
        }
    }
}

pub(crate) const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", pipeline_id, key, label, position, probability, is_closed, is_won, forecast_category"
);

impl Resource for Stage {
    const OBJECT: &'static str = "stage";
    const COLLECTION: &'static str = "stages";
    const PERMISSION: Object = Object::Pipeline;
    const TABLE: &'static str = "crm_sales.stages";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("pipeline_id", FieldKind::Uuid).no_sort(),
        FieldSpec::new("key", FieldKind::Text).no_sort(),
        FieldSpec::new("position", FieldKind::Int),
        FieldSpec::new("probability", FieldKind::Int),
        FieldSpec::new("is_closed", FieldKind::Bool).no_sort(),
        FieldSpec::new("is_won", FieldKind::Bool).no_sort(),
        FieldSpec::new("forecast_category", FieldKind::Enum(FORECAST_CATEGORIES)).no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn constraint_error(constraint: &str) -> Option<Error> {
        match constraint {
            "stages_pipeline_key" => {
                let mut extra = serde_json::Map::new();
                extra.insert("field".into(), "key".into());
                Some(Error::Conflict {
                    code: "duplicate",
                    detail: "the pipeline already has a stage with this key".into(),
                    extra: Some(extra),
                })
            }
            "stages_in_use" => Some(in_use()),
            _ => None,
        }
    }
}

fn in_use() -> Error {
    Error::conflict(
        "stage-in-use",
        "live opportunities are in this stage; its key, closed/won flags and forecast category stay until they leave",
    )
}

/// The live stages of a pipeline, by position.
pub async fn stages_of(
    conn: &mut PgConnection,
    tenant: Uuid,
    pipeline: Uuid,
) -> Result<Vec<Stage>> {
    Ok(sqlx::query_as::<_, Stage>(&format!(
        "SELECT {COLUMNS} FROM crm_sales.stages
         WHERE tenant_id = $1 AND pipeline_id = $2 AND deleted_at IS NULL ORDER BY position, id"
    ))
    .bind(tenant)
    .bind(pipeline)
    .fetch_all(conn)
    .await?)
}

async fn in_use_by_opportunities(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM crm_sales.opportunities
                        WHERE tenant_id = $1 AND stage_id = $2 AND deleted_at IS NULL)",
    )
    .bind(tenant)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

#[async_trait]
impl Writer<Stage> for Sales {
    type Create = NewStage;
    type Patch = StagePatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewStage,
    ) -> Result<Stage> {
        let (pipeline_id, patch) = input.split();
        let (mut errors, mut missing, mut between) = (Vec::new(), Vec::new(), Vec::new());
        let mut next_position = 1;
        match pipeline_id {
            None => errors.push(FieldError::new("pipeline_id", "is required")),
            Some(id) => {
                // Key-share lock: the pipeline cannot be deleted under the new stage.
                let last: Option<Option<i32>> = sqlx::query_scalar(
                    "SELECT (SELECT max(position) FROM crm_sales.stages s
                             WHERE s.pipeline_id = p.id AND s.deleted_at IS NULL)
                     FROM crm_sales.pipelines p
                     WHERE p.tenant_id = $1 AND p.id = $2 AND p.deleted_at IS NULL FOR KEY SHARE",
                )
                .bind(actor.tenant_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                match last {
                    None => missing.push(FieldError::new(
                        "pipeline_id",
                        format!("no pipeline {id} in this tenant (unknown or deleted)"),
                    )),
                    Some(max) => next_position = i64::from(max.unwrap_or(0)) + 1,
                }
            }
        }
        let cols = gather(
            &mut errors,
            &mut between,
            patch.columns("", None, next_position),
        )?;
        if !errors.is_empty() {
            errors.extend(missing);
            errors.extend(between);
            return Err(Error::Validation(errors));
        }
        if !missing.is_empty() {
            return Err(Error::UnknownReference(missing));
        }
        if !between.is_empty() {
            return Err(Error::Inconsistent(between));
        }
        match (cols, pipeline_id) {
            (Some(mut cols), Some(p)) => {
                cols.push(("pipeline_id", SqlValue::Uuid(Some(p))));
                record::create::<Stage>(conn, actor, cols).await
            }
            _ => Err(Error::internal("a valid stage without a pipeline")),
        }
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: StagePatch,
    ) -> Result<Stage> {
        let before = record::lock::<Stage>(conn, actor.tenant_id, id).await?;
        if before.meta.deleted_at.is_some() {
            return Err(Error::not_found(Stage::OBJECT));
        }
        record::check_version(&before, expected)?;
        let identity = patch.changes_identity(&before);
        let cols = patch.columns("", Some(&before), 0)?;
        // Opportunities copy the key and forecast category and derive their status from
        // the flags; changing those under them would leave them inconsistent.
        if identity && in_use_by_opportunities(conn, actor.tenant_id, id).await? {
            return Err(in_use());
        }
        if cols.is_empty() {
            return Ok(before);
        }
        let after = record::write_columns::<Stage>(conn, actor, id, cols).await?;
        record::append_updated(conn, actor, &before, &after).await?;
        Ok(after)
    }
}
