//! The stages a new pipeline starts with: validated from its body's `stages`, or the
//! default set, created right after the pipeline in the same transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::SqlValue;
use crm_core::record::{self, Columns};
use crm_core::{Actor, Error, FieldError, Result};

use crate::domain::DEFAULT_STAGES;
use crate::stage::{MAX_STAGES, Stage, StagePatch, StageSpec};

/// Keeps the value of a validation result, or moves its field errors into `errors` (a
/// field bad on its own) and `between` (rules between fields).
pub(crate) fn gather<T>(
    errors: &mut Vec<FieldError>,
    between: &mut Vec<FieldError>,
    r: Result<T>,
) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Validation(es)) => {
            errors.extend(es);
            Ok(None)
        }
        Err(Error::Inconsistent(es)) => {
            between.extend(es);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Validates the `stages` of a new pipeline (or takes the default set), reporting into `b`.
pub(crate) fn plan(b: &mut ColumnsBuilder, stages: Option<Vec<StageSpec>>) -> Vec<Columns> {
    let Some(specs) = stages else {
        return plan_defaults();
    };
    if specs.is_empty() || specs.len() > MAX_STAGES {
        b.error("stages", format!("must hold 1 to {MAX_STAGES} stages"));
        return Vec::new();
    }
    let mut planned = Vec::with_capacity(specs.len());
    let (mut errors, mut between) = (Vec::new(), Vec::new());
    let mut keys: Vec<String> = Vec::new();
    let mut open = 0;
    for (i, spec) in specs.into_iter().enumerate() {
        let prefix = format!("stages[{i}]");
        if let Some(k) = spec.key.as_deref().map(str::trim) {
            if keys.iter().any(|seen| seen == k) {
                between.push(FieldError::new(format!("{prefix}.key"), "appears twice"));
            }
            keys.push(k.to_owned());
        }
        if spec.is_closed != Some(true) && spec.is_won != Some(true) {
            open += 1;
        }
        let r = StagePatch::from(spec).columns(&prefix, None, i as i64 + 1);
        // Only validation errors can come back from building columns.
        if let Ok(Some(cols)) = gather(&mut errors, &mut between, r) {
            planned.push(cols);
        }
    }
    if open == 0 {
        between.push(FieldError::new("stages", "must include an open stage"));
    }
    for e in errors {
        b.error(e.field, e.message);
    }
    for e in between {
        b.inconsistent(e.field, e.message);
    }
    planned
}

/// The columns of the default stages.
pub(crate) fn plan_defaults() -> Vec<Columns> {
    DEFAULT_STAGES
        .iter()
        .zip(1i64..)
        .map(|(d, position)| {
            vec![
                ("key", SqlValue::Text(Some(d.key.into()))),
                ("label", SqlValue::Text(Some(d.label.into()))),
                ("position", SqlValue::Int(Some(position))),
                ("probability", SqlValue::Int(Some(d.probability))),
                ("is_closed", SqlValue::Bool(Some(d.is_closed))),
                ("is_won", SqlValue::Bool(Some(d.is_won))),
                (
                    "forecast_category",
                    SqlValue::Text(Some(d.forecast_category.into())),
                ),
            ]
        })
        .collect()
}

/// Creates planned stages in `pipeline` (a `stage.created` event each).
pub(crate) async fn create_all(
    conn: &mut PgConnection,
    actor: &Actor,
    pipeline: Uuid,
    planned: Vec<Columns>,
) -> Result<()> {
    for mut cols in planned {
        cols.push(("pipeline_id", SqlValue::Uuid(Some(pipeline))));
        record::create::<Stage>(conn, actor, cols).await?;
    }
    Ok(())
}
