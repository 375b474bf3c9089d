//! Pipelines: the record, its bodies, the one-default-per-tenant rule, and the lazily
//! created default pipeline.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{FieldKind, FieldSpec, SqlValue};
use crm_core::record::{self, Meta, Resource, Writer};
use crm_core::schema::{self, Rule};
use crm_core::{Actor, Error, Object, Patch, Result, outbox};

use crate::Sales;
use crate::domain::DEFAULT_PIPELINE_NAME;
use crate::stage::StageSpec;
use crate::stage_plan;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct Pipeline {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub meta: Meta,
    pub name: String,
    /// The pipeline opportunities land in when they name none; one per tenant.
    pub is_default: bool,
    pub description: Option<String>,
}

pub(crate) const COLUMNS: &str =
    concat!(crm_core::meta_columns!(), ", name, is_default, description");

impl Resource for Pipeline {
    const OBJECT: &'static str = "pipeline";
    const COLLECTION: &'static str = "pipelines";
    const PERMISSION: Object = Object::Pipeline;
    const TABLE: &'static str = "crm_sales.pipelines";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("is_default", FieldKind::Bool).no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn constraint_error(constraint: &str) -> Option<Error> {
        match constraint {
            "pipelines_in_use" => Some(Error::conflict(
                "pipeline-in-use",
                "the pipeline still holds live opportunities; move or delete them first",
            )),
            // Only reachable when two requests make a default at the same moment.
            "pipelines_one_default" => Some(Error::conflict(
                "duplicate",
                "another pipeline became the default concurrently; retry the request",
            )),
            _ => None,
        }
    }
}

/// What each field of a pipeline body accepts (`columns` checks the same).
const PIPELINE_RULES: &[(&str, Rule)] = &[
    (
        "name",
        Rule::Text {
            max: 200,
            required: true,
        },
    ),
    ("is_default", Rule::NonNull),
    (
        "description",
        Rule::Text {
            max: 5000,
            required: false,
        },
    ),
];

fn new_pipeline_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, PIPELINE_RULES);
    if let Some(stages) = s.get_mut("properties").and_then(|p| p.get_mut("stages")) {
        stages["minItems"] = serde_json::json!(1);
        stages["maxItems"] = serde_json::json!(30);
    }
}

fn pipeline_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, PIPELINE_RULES);
}

/// `POST /pipelines`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_pipeline_schema)]
pub struct NewPipeline {
    /// Required.
    pub name: Option<String>,
    /// `true` makes this the tenant's default pipeline (the previous one stops being it).
    pub is_default: Option<bool>,
    pub description: Option<String>,
    /// 1 to 30 stages, at least one of them open; absent: the default stages.
    pub stages: Option<Vec<StageSpec>>,
}

/// `PATCH /pipelines/{id}`: absent fields stay, `null` clears. Stages change through `/stages`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = pipeline_patch_schema)]
pub struct PipelinePatch {
    #[serde(default)]
    pub name: Patch<String>,
    /// Only `true`: the default moves by making another pipeline the default.
    #[serde(default)]
    pub is_default: Patch<bool>,
    #[serde(default)]
    pub description: Patch<String>,
}

#[async_trait]
impl Writer<Pipeline> for Sales {
    type Create = NewPipeline;
    type Patch = PipelinePatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewPipeline,
    ) -> Result<Pipeline> {
        let mut b = ColumnsBuilder::new(true);
        b.text("name", "name", input.name, true, 200);
        b.bool("is_default", "is_default", input.is_default);
        b.text("description", "description", input.description, false, 5000);
        let stages = stage_plan::plan(&mut b, input.stages);
        let cols = b.finish()?;
        if input.is_default == Some(true) {
            unset_default(conn, actor, None).await?;
        }
        let pipeline = record::create::<Pipeline>(conn, actor, cols).await?;
        stage_plan::create_all(conn, actor, pipeline.meta.id, stages).await?;
        Ok(pipeline)
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: PipelinePatch,
    ) -> Result<Pipeline> {
        let before = record::lock::<Pipeline>(conn, actor.tenant_id, id).await?;
        if before.meta.deleted_at.is_some() {
            return Err(Error::not_found(Pipeline::OBJECT));
        }
        record::check_version(&before, expected)?;
        let mut b = ColumnsBuilder::new(false);
        b.text("name", "name", patch.name, true, 200);
        b.text("description", "description", patch.description, false, 5000);
        let mut becomes_default = false;
        match patch.is_default {
            Patch::Absent => {}
            Patch::Null => b.error("is_default", "must be true or false"),
            Patch::Value(true) => becomes_default = !before.is_default,
            Patch::Value(false) if before.is_default => b.error(
                "is_default",
                "stays true until another pipeline is made the default",
            ),
            Patch::Value(false) => {}
        }
        if becomes_default {
            b.set("is_default", SqlValue::Bool(Some(true)));
        }
        let cols = b.finish()?;
        if cols.is_empty() {
            return Ok(before);
        }
        if becomes_default {
            unset_default(conn, actor, Some(id)).await?;
        }
        let after = record::write_columns::<Pipeline>(conn, actor, id, cols).await?;
        record::append_updated(conn, actor, &before, &after).await?;
        Ok(after)
    }
}

/// The tenant's live default pipeline, if any.
pub async fn find_default(conn: &mut PgConnection, tenant: Uuid) -> Result<Option<Pipeline>> {
    Ok(sqlx::query_as::<_, Pipeline>(&format!(
        "SELECT {COLUMNS} FROM crm_sales.pipelines WHERE tenant_id = $1 AND is_default AND deleted_at IS NULL"
    ))
    .bind(tenant)
    .fetch_optional(conn)
    .await?)
}

/// Takes the default flag from the current default pipeline (other than `except`).
async fn unset_default(conn: &mut PgConnection, actor: &Actor, except: Option<Uuid>) -> Result<()> {
    let current: Option<Pipeline> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM crm_sales.pipelines
         WHERE tenant_id = $1 AND is_default AND deleted_at IS NULL AND id IS DISTINCT FROM $2 FOR UPDATE"
    ))
    .bind(actor.tenant_id)
    .bind(except)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(before) = current {
        let after = record::write_columns::<Pipeline>(
            conn,
            actor,
            before.meta.id,
            vec![("is_default", SqlValue::Bool(Some(false)))],
        )
        .await?;
        record::append_updated(conn, actor, &before, &after).await?;
    }
    Ok(())
}

/// The tenant's default pipeline, created with the default stages on first use, in the
/// caller's transaction. Race-safe: the partial unique index lets one insert win; a loser
/// waits for the winner's commit and then reads its pipeline.
pub async fn ensure_default_pipeline(conn: &mut PgConnection, actor: &Actor) -> Result<Pipeline> {
    for _ in 0..3 {
        if let Some(p) = find_default(conn, actor.tenant_id).await? {
            return Ok(p);
        }
        let inserted: Option<Pipeline> = sqlx::query_as(&format!(
            "INSERT INTO crm_sales.pipelines (id, tenant_id, created_by, updated_by, name, is_default)
             VALUES ($1, $2, $3, $3, $4, true)
             ON CONFLICT (tenant_id) WHERE is_default AND deleted_at IS NULL DO NOTHING
             RETURNING {COLUMNS}"
        ))
        .bind(crm_core::new_id())
        .bind(actor.tenant_id)
        .bind(actor.user_id)
        .bind(DEFAULT_PIPELINE_NAME)
        .fetch_optional(&mut *conn)
        .await
        .map_err(record::db_error::<Pipeline>)?;
        if let Some(p) = inserted {
            outbox::append(conn, &record::event(actor, &p, "created")?).await?;
            stage_plan::create_all(conn, actor, p.meta.id, stage_plan::plan_defaults()).await?;
            return Ok(p);
        }
        // Another transaction committed a default between our read and our insert; the
        // next read sees it (unless it was deleted again meanwhile: then we insert again).
    }
    Err(Error::conflict(
        "default-pipeline",
        "the default pipeline changed concurrently; retry the request",
    ))
}
