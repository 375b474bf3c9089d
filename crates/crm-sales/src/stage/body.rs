//! A stage's bodies: one stage of a new pipeline (`StageSpec`), `POST /stages` and `PATCH
//! /stages/{id}`, their OpenAPI constraints and the columns they validate to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::SqlValue;
use crm_core::record::Columns;
use crm_core::schema::{self, Rule};
use crm_core::{Patch, Result};

use super::Stage;
use crate::domain::{self, FORECAST_CATEGORIES};

/// What each field of a stage body accepts (`columns` checks the same).
const STAGE_RULES: &[(&str, Rule)] = &[
    (
        "key",
        Rule::Pattern(
            r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[a-z0-9_]{1,40}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
        ),
    ),
    ("key", Rule::Required),
    (
        "label",
        Rule::Text {
            max: 100,
            required: true,
        },
    ),
    ("position", Rule::Range(0, 100_000)),
    ("position", Rule::NonNull),
    ("probability", Rule::Range(0, 100)),
    ("probability", Rule::NonNull),
    ("is_closed", Rule::NonNull),
    ("is_won", Rule::NonNull),
    ("forecast_category", Rule::OneOfNonNull(FORECAST_CATEGORIES)),
];

fn stage_spec_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, STAGE_RULES);
}

fn new_stage_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, STAGE_RULES);
    schema::constrain(s, true, &[("pipeline_id", Rule::Required)]);
}

fn stage_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, STAGE_RULES);
}

/// One stage in `POST /pipelines` (`stages`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = stage_spec_schema)]
pub struct StageSpec {
    /// Required; `[a-z0-9_]{1,40}`.
    pub key: Option<String>,
    /// Required.
    pub label: Option<String>,
    /// Default: after the stages before it.
    pub position: Option<i64>,
    /// 0 to 100; required for open stages, default 100 for won and 0 for lost ones.
    pub probability: Option<i64>,
    pub is_closed: Option<bool>,
    pub is_won: Option<bool>,
    /// Default: `closed` for won, `omitted` for lost, `pipeline` for open stages.
    pub forecast_category: Option<String>,
}

/// `POST /stages`: a stage added to an existing pipeline.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_stage_schema)]
pub struct NewStage {
    /// Required: a live pipeline of the tenant.
    pub pipeline_id: Option<Uuid>,
    pub key: Option<String>,
    pub label: Option<String>,
    /// Default: after the pipeline's last stage.
    pub position: Option<i64>,
    pub probability: Option<i64>,
    pub is_closed: Option<bool>,
    pub is_won: Option<bool>,
    pub forecast_category: Option<String>,
}

/// `PATCH /stages/{id}`. A stage never moves to another pipeline.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = stage_patch_schema)]
pub struct StagePatch {
    #[serde(default)]
    pub key: Patch<String>,
    #[serde(default)]
    pub label: Patch<String>,
    #[serde(default)]
    pub position: Patch<i64>,
    #[serde(default)]
    pub probability: Patch<i64>,
    #[serde(default)]
    pub is_closed: Patch<bool>,
    #[serde(default)]
    pub is_won: Patch<bool>,
    #[serde(default)]
    pub forecast_category: Patch<String>,
}

impl From<StageSpec> for StagePatch {
    fn from(s: StageSpec) -> Self {
        StagePatch {
            key: s.key.into(),
            label: s.label.into(),
            position: s.position.into(),
            probability: s.probability.into(),
            is_closed: s.is_closed.into(),
            is_won: s.is_won.into(),
            forecast_category: s.forecast_category.into(),
        }
    }
}

impl NewStage {
    pub(super) fn split(self) -> (Option<Uuid>, StagePatch) {
        let spec = StageSpec {
            key: self.key,
            label: self.label,
            position: self.position,
            probability: self.probability,
            is_closed: self.is_closed,
            is_won: self.is_won,
            forecast_category: self.forecast_category,
        };
        (self.pipeline_id, spec.into())
    }
}

impl StagePatch {
    /// The validated columns. Fields are named `{prefix}.{field}` (or bare without prefix);
    /// `current` is the stage being patched (`None` when creating); a creation without a
    /// position gets `default_position`.
    pub fn columns(
        self,
        prefix: &str,
        current: Option<&Stage>,
        default_position: i64,
    ) -> Result<Columns> {
        let creating = current.is_none();
        let f = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let mut b = ColumnsBuilder::new(creating);
        b.text_with("key", &f("key"), self.key, true, domain::stage_key);
        b.text("label", &f("label"), self.label, true, 100);
        if creating && self.position.is_absent() {
            b.set("position", SqlValue::Int(Some(default_position)));
        } else {
            b.int("position", &f("position"), self.position, true, 0, 100_000);
        }
        let flag = |p: &Patch<bool>, cur: Option<bool>| match p {
            Patch::Value(v) => *v,
            _ => cur.unwrap_or(false),
        };
        let is_closed = flag(&self.is_closed, current.map(|c| c.is_closed));
        let is_won = flag(&self.is_won, current.map(|c| c.is_won));
        b.bool("is_closed", &f("is_closed"), self.is_closed);
        b.bool("is_won", &f("is_won"), self.is_won);
        if is_won && !is_closed {
            b.inconsistent(f("is_won"), "requires is_closed");
        }
        if creating && (is_closed || is_won) && self.probability.is_absent() {
            b.set(
                "probability",
                SqlValue::Int(Some(if is_won { 100 } else { 0 })),
            );
        } else if creating && self.probability.is_absent() {
            // Closed stages have theirs; an open one must say how likely it is.
            b.inconsistent(f("probability"), "is required for an open stage");
        } else {
            b.int(
                "probability",
                &f("probability"),
                self.probability,
                true,
                0,
                100,
            );
        }
        if creating && self.forecast_category.is_absent() {
            let category = domain::default_forecast(is_closed, is_won);
            b.set("forecast_category", SqlValue::Text(Some(category.into())));
        } else {
            b.one_of(
                "forecast_category",
                &f("forecast_category"),
                self.forecast_category,
                true,
                FORECAST_CATEGORIES,
            );
        }
        b.finish()
    }

    /// Whether the patch changes what opportunities copy from or derive of the stage.
    pub(super) fn changes_identity(&self, s: &Stage) -> bool {
        let differs = |p: &Patch<bool>, v: bool| matches!(p, Patch::Value(x) if *x != v);
        matches!(&self.key, Patch::Value(k) if k.trim() != s.key)
            || matches!(&self.forecast_category, Patch::Value(c) if *c != s.forecast_category)
            || differs(&self.is_closed, s.is_closed)
            || differs(&self.is_won, s.is_won)
    }
}
