//! Opportunities: the record (its JSON shape is what events carry and analytics projects),
//! and the bodies of create, patch, move and reopen. The write rules are in [`crate::write`].

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crm_core::query::{FieldKind, FieldSpec};
use crm_core::record::{Meta, Resource};
use crm_core::schema::{self, Rule};
use crm_core::{Money, Object, Patch};

use crate::domain::{FORECAST_CATEGORIES, Standing, Status};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Opportunity {
    #[serde(flatten)]
    pub meta: Meta,
    pub name: String,
    pub amount: Option<Money>,
    /// Expected close date, `YYYY-MM-DD`.
    pub close_date: Option<NaiveDate>,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    /// The stage's key, copied at write time.
    pub stage_key: String,
    /// The stage's forecast category, copied at write time.
    pub forecast_category: String,
    /// Derived from the stage: `open`, `won` or `lost`.
    pub status: Status,
    /// 0 to 100; the stage's unless given; 100 when won, 0 when lost.
    pub probability: i32,
    pub company_id: Option<Uuid>,
    pub primary_contact_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    /// The lead this opportunity was converted from.
    pub original_lead_id: Option<Uuid>,
    /// Required while lost, absent otherwise.
    pub loss_reason: Option<String>,
    /// When it was won or lost; absent while open.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Opportunity {
    /// The part of the record the stage rules decide.
    pub fn standing(&self) -> Standing {
        Standing {
            stage_id: self.stage_id,
            status: self.status,
            probability: i64::from(self.probability),
            loss_reason: self.loss_reason.clone(),
            closed_at: self.closed_at,
        }
    }
}

impl<'r> FromRow<'r, PgRow> for Opportunity {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let status: String = row.try_get("status")?;
        Ok(Opportunity {
            meta: Meta::from_row(row)?,
            name: row.try_get("name")?,
            amount: Money::from_columns(
                row.try_get("amount_micros")?,
                row.try_get("amount_currency")?,
            ),
            close_date: row.try_get("close_date")?,
            pipeline_id: row.try_get("pipeline_id")?,
            stage_id: row.try_get("stage_id")?,
            stage_key: row.try_get("stage_key")?,
            forecast_category: row.try_get("forecast_category")?,
            status: Status::parse(&status).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "status".into(),
                source: format!("unknown status '{status}'").into(),
            })?,
            probability: row.try_get("probability")?,
            company_id: row.try_get("company_id")?,
            primary_contact_id: row.try_get("primary_contact_id")?,
            owner_id: row.try_get("owner_id")?,
            original_lead_id: row.try_get("original_lead_id")?,
            loss_reason: row.try_get("loss_reason")?,
            closed_at: row.try_get("closed_at")?,
        })
    }
}

pub(crate) const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", name, amount_micros, amount_currency, close_date, pipeline_id, stage_id, stage_key,",
    " forecast_category, status, probability, company_id, primary_contact_id, owner_id,",
    " original_lead_id, loss_reason, closed_at"
);

impl Resource for Opportunity {
    const OBJECT: &'static str = "opportunity";
    const COLLECTION: &'static str = "opportunities";
    const PERMISSION: Object = Object::Opportunity;
    const TABLE: &'static str = "crm_sales.opportunities";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("status", FieldKind::Enum(Status::ALL)).no_sort(),
        FieldSpec::new("stage_key", FieldKind::Text).no_sort(),
        FieldSpec::new("stage_id", FieldKind::Uuid).no_sort(),
        FieldSpec::new("pipeline_id", FieldKind::Uuid).no_sort(),
        FieldSpec::new("company_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("primary_contact_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("owner_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("original_lead_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("close_date", FieldKind::Date).nullable(),
        FieldSpec::new("amount.amount_micros", FieldKind::Int)
            .column("amount_micros")
            .nullable(),
        FieldSpec::new("amount.currency", FieldKind::Text)
            .column("amount_currency")
            .nullable()
            .no_sort(),
        FieldSpec::new("probability", FieldKind::Int),
        FieldSpec::new("forecast_category", FieldKind::Enum(FORECAST_CATEGORIES)).no_sort(),
        FieldSpec::new("closed_at", FieldKind::Timestamp).nullable(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }
}

/// What each field of an opportunity body accepts (`write` checks the same).
const OPPORTUNITY_RULES: &[(&str, Rule)] = &[
    (
        "name",
        Rule::Text {
            max: 200,
            required: true,
        },
    ),
    ("probability", Rule::Range(0, 100)),
    (
        "loss_reason",
        Rule::Text {
            max: 1000,
            required: false,
        },
    ),
];

fn new_opportunity_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, OPPORTUNITY_RULES);
}

fn opportunity_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, OPPORTUNITY_RULES);
}

/// `POST /opportunities`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_opportunity_schema)]
pub struct NewOpportunity {
    /// Required.
    pub name: Option<String>,
    pub amount: Option<Money>,
    /// `YYYY-MM-DD`.
    pub close_date: Option<NaiveDate>,
    /// Default: the tenant's default pipeline (created on first use).
    pub pipeline_id: Option<Uuid>,
    /// A stage of the pipeline; default: its first stage by position.
    pub stage_id: Option<Uuid>,
    /// Alternative to `stage_id`: the stage's key in the pipeline.
    pub stage_key: Option<String>,
    /// 0 to 100; default: the stage's.
    pub probability: Option<i64>,
    /// A live company of the tenant.
    pub company_id: Option<Uuid>,
    /// A live contact of the tenant.
    pub primary_contact_id: Option<Uuid>,
    /// Default: the creating user.
    pub owner_id: Option<Uuid>,
    pub original_lead_id: Option<Uuid>,
    /// Required when the stage is lost.
    pub loss_reason: Option<String>,
}

/// `PATCH /opportunities/{id}`: absent fields stay, `null` clears. A stage change follows
/// the same rules as `move`; a closed opportunity changes stage only by `reopen`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = opportunity_patch_schema)]
pub struct OpportunityPatch {
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub amount: Patch<Money>,
    #[serde(default)]
    pub close_date: Patch<NaiveDate>,
    /// Moving to another pipeline lands on `stage_id`/`stage_key` or its first stage.
    #[serde(default)]
    pub pipeline_id: Patch<Uuid>,
    #[serde(default)]
    pub stage_id: Patch<Uuid>,
    #[serde(default)]
    pub stage_key: Patch<String>,
    #[serde(default)]
    pub probability: Patch<i64>,
    #[serde(default)]
    pub company_id: Patch<Uuid>,
    #[serde(default)]
    pub primary_contact_id: Patch<Uuid>,
    #[serde(default)]
    pub owner_id: Patch<Uuid>,
    #[serde(default)]
    pub original_lead_id: Patch<Uuid>,
    #[serde(default)]
    pub loss_reason: Patch<String>,
}

impl From<NewOpportunity> for OpportunityPatch {
    fn from(n: NewOpportunity) -> Self {
        OpportunityPatch {
            name: n.name.into(),
            amount: n.amount.into(),
            close_date: n.close_date.into(),
            pipeline_id: n.pipeline_id.into(),
            stage_id: n.stage_id.into(),
            stage_key: n.stage_key.into(),
            probability: n.probability.into(),
            company_id: n.company_id.into(),
            primary_contact_id: n.primary_contact_id.into(),
            owner_id: n.owner_id.into(),
            original_lead_id: n.original_lead_id.into(),
            loss_reason: n.loss_reason.into(),
        }
    }
}

/// `POST /opportunities/{id}/move`: give `stage_id` or `stage_key` (of its pipeline).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub stage_id: Option<Uuid>,
    pub stage_key: Option<String>,
    /// Required when the stage is lost.
    pub loss_reason: Option<String>,
}

/// `POST /opportunities/{id}/reopen`: the open stage (of its pipeline) to reopen into.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    pub stage_id: Option<Uuid>,
    pub stage_key: Option<String>,
}
