//! The lead record, its create/patch bodies, and its writes; how a write recomputes status
//! and score is in `derive`.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{FieldKind, FieldSpec};
use crm_core::record::{self, Meta, Resource, Writer};
use crm_core::schema::{self, Rule};
use crm_core::{Actor, Error, Money, Object, Patch, Result, outbox, validate};
use crm_customers::LEAD_SOURCES;

use crate::Leads;
use crate::domain::{STATUSES, ScoreReason, Status};

mod derive;
use derive::{add_score, derive};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lead {
    #[serde(flatten)]
    pub meta: Meta,
    /// The person's name.
    pub name: String,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub source: String,
    pub status: Status,
    pub status_changed_at: chrono::DateTime<chrono::Utc>,
    pub disqualify_reason: Option<String>,
    /// 0..100, explained by `score_reasons`.
    pub score: i32,
    pub score_reasons: Vec<ScoreReason>,
    pub owner_id: Option<Uuid>,
    pub estimated_value: Option<Money>,
    pub description: Option<String>,
    pub converted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub converted_company_id: Option<Uuid>,
    pub converted_contact_id: Option<Uuid>,
    pub converted_opportunity_id: Option<Uuid>,
}

impl<'r> FromRow<'r, PgRow> for Lead {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let status: String = row.try_get("status")?;
        Ok(Lead {
            meta: Meta::from_row(row)?,
            name: row.try_get("name")?,
            company_name: row.try_get("company_name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            title: row.try_get("title")?,
            source: row.try_get("source")?,
            status: Status::parse(&status)
                .ok_or_else(|| sqlx::Error::Decode(format!("lead status {status}").into()))?,
            status_changed_at: row.try_get("status_changed_at")?,
            disqualify_reason: row.try_get("disqualify_reason")?,
            score: row.try_get("score")?,
            score_reasons: row
                .try_get::<sqlx::types::Json<Vec<ScoreReason>>, _>("score_reasons")?
                .0,
            owner_id: row.try_get("owner_id")?,
            estimated_value: Money::from_columns(
                row.try_get("estimated_value_micros")?,
                row.try_get("estimated_value_currency")?,
            ),
            description: row.try_get("description")?,
            converted_at: row.try_get("converted_at")?,
            converted_company_id: row.try_get("converted_company_id")?,
            converted_contact_id: row.try_get("converted_contact_id")?,
            converted_opportunity_id: row.try_get("converted_opportunity_id")?,
        })
    }
}

const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", name, company_name, email, phone, title, source, status, status_changed_at, disqualify_reason,",
    " score, score_reasons, owner_id, estimated_value_micros, estimated_value_currency, description,",
    " converted_at, converted_company_id, converted_contact_id, converted_opportunity_id"
);

impl Resource for Lead {
    const OBJECT: &'static str = "lead";
    const COLLECTION: &'static str = "leads";
    const PERMISSION: Object = Object::Lead;
    const TABLE: &'static str = "crm_leads.leads";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text).no_sort(),
        FieldSpec::new("company_name", FieldKind::Text)
            .nullable()
            .no_sort(),
        FieldSpec::new("email", FieldKind::Text)
            .nullable()
            .no_sort(),
        FieldSpec::new("source", FieldKind::Enum(LEAD_SOURCES)).no_sort(),
        FieldSpec::new("status", FieldKind::Enum(STATUSES)),
        FieldSpec::new("score", FieldKind::Int),
        FieldSpec::new("owner_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("estimated_value.amount_micros", FieldKind::Int)
            .column("estimated_value_micros")
            .nullable()
            .no_sort(),
        FieldSpec::new("converted_at", FieldKind::Timestamp)
            .nullable()
            .no_sort(),
        FieldSpec::new("status_changed_at", FieldKind::Timestamp).no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }
}

/// `POST /leads`. With `owner_id` the lead starts `assigned`, else `new`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_lead_schema)]
pub struct NewLead {
    /// Required: the person's name.
    pub name: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    /// web, call, email, referral, partner, campaign, event or other (default).
    pub source: Option<String>,
    pub owner_id: Option<Uuid>,
    pub estimated_value: Option<Money>,
    pub description: Option<String>,
}

/// `PATCH /leads/{id}`. `status` follows the status machine; `converted` is refused.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = lead_patch_schema)]
pub struct LeadPatch {
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub company_name: Patch<String>,
    #[serde(default)]
    pub email: Patch<String>,
    #[serde(default)]
    pub phone: Patch<String>,
    #[serde(default)]
    pub title: Patch<String>,
    #[serde(default)]
    pub source: Patch<String>,
    #[serde(default)]
    pub owner_id: Patch<Uuid>,
    #[serde(default)]
    pub estimated_value: Patch<Money>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub status: Patch<Status>,
    #[serde(default)]
    pub disqualify_reason: Patch<String>,
}

/// What each field of a lead body accepts (`field_columns` checks the same).
const LEAD_RULES: &[(&str, Rule)] = &[
    (
        "name",
        Rule::Text {
            max: 200,
            required: true,
        },
    ),
    (
        "company_name",
        Rule::Text {
            max: 200,
            required: false,
        },
    ),
    ("email", Rule::OptPattern(schema::EMAIL)),
    ("phone", Rule::OptPattern(schema::PHONE)),
    (
        "title",
        Rule::Text {
            max: 200,
            required: false,
        },
    ),
    ("source", Rule::OneOfNonNull(LEAD_SOURCES)),
    (
        "description",
        Rule::Text {
            max: 5000,
            required: false,
        },
    ),
];

fn new_lead_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, LEAD_RULES);
}

fn lead_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, LEAD_RULES);
}

fn email(field: &str, v: &str) -> std::result::Result<String, crm_core::FieldError> {
    validate::email(field, v).map(|e| e.to_lowercase())
}

impl LeadPatch {
    fn field_columns(
        self,
        creating: bool,
        b: &mut ColumnsBuilder,
    ) -> (Patch<Status>, Patch<String>) {
        b.text("name", "name", self.name, true, 200);
        b.text(
            "company_name",
            "company_name",
            self.company_name,
            false,
            200,
        );
        b.text_with("email", "email", self.email, false, email);
        b.text_with("phone", "phone", self.phone, false, validate::phone);
        b.text("title", "title", self.title, false, 200);
        let source = match (self.source, creating) {
            (Patch::Absent, true) => Patch::Value("other".to_owned()),
            (s, _) => s,
        };
        b.one_of("source", "source", source, true, LEAD_SOURCES);
        b.uuid("owner_id", "owner_id", self.owner_id, false);
        b.money(
            "estimated_value_micros",
            "estimated_value_currency",
            "estimated_value",
            self.estimated_value,
            false,
        );
        b.text("description", "description", self.description, false, 5000);
        (self.status, self.disqualify_reason)
    }
}

/// Emits `lead.status_changed` for a status move.
pub(crate) async fn status_event(
    conn: &mut PgConnection,
    actor: &Actor,
    lead: &Lead,
    from: Status,
    to: Status,
) -> Result<()> {
    let e = record::event(actor, lead, "status_changed")?
        .with_changes(serde_json::json!({"status": {"from": from.as_str(), "to": to.as_str()}}));
    outbox::append(conn, &e).await
}

/// Writes a patch to a lead already locked by the caller: validation, status machine,
/// score, events. Used by PATCH and by the lead actions.
pub(crate) async fn apply_patch(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Lead,
    expected: Option<i64>,
    patch: LeadPatch,
) -> Result<Lead> {
    if before.meta.deleted_at.is_some() {
        return Err(Error::not_found("lead"));
    }
    record::check_version(before, expected)?;
    if before.status == Status::Converted {
        return Err(Error::conflict(
            "invalid-transition",
            "a converted lead cannot be changed",
        ));
    }
    let mut fields = ColumnsBuilder::new(false);
    let (status, reason) = patch.field_columns(false, &mut fields);
    let mut cols = fields.finish()?;
    let mut rules = ColumnsBuilder::new(false);
    let moved = derive(&mut rules, &mut cols, Some(before), status, reason)?;
    rules.finish()?;
    add_score(&mut cols, Some(before))?;
    let after = record::write_columns::<Lead>(conn, actor, before.meta.id, cols).await?;
    record::append_updated(conn, actor, before, &after).await?;
    if let Some((from, to)) = moved {
        status_event(conn, actor, &after, from, to).await?;
    }
    Ok(after)
}

#[async_trait]
impl Writer<Lead> for Leads {
    type Create = NewLead;
    type Patch = LeadPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(&self, conn: &mut PgConnection, actor: &Actor, input: NewLead) -> Result<Lead> {
        let owner = input.owner_id;
        let patch = LeadPatch {
            name: input.name.into(),
            company_name: input.company_name.into(),
            email: input.email.into(),
            phone: input.phone.into(),
            title: input.title.into(),
            source: input.source.into(),
            owner_id: input.owner_id.into(),
            estimated_value: input.estimated_value.into(),
            description: input.description.into(),
            status: Patch::Absent,
            disqualify_reason: Patch::Absent,
        };
        let mut fields = ColumnsBuilder::new(true);
        let (status, reason) = patch.field_columns(true, &mut fields);
        let mut cols = fields.finish()?;
        let mut rules = ColumnsBuilder::new(true);
        derive(&mut rules, &mut cols, None, status, reason)?;
        rules.finish()?;
        self.check_owner(actor, owner).await?;
        add_score(&mut cols, None)?;
        record::create::<Lead>(conn, actor, cols).await
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: LeadPatch,
    ) -> Result<Lead> {
        let before = record::lock::<Lead>(conn, actor.tenant_id, id).await?;
        let owner = patch.owner_id.value().copied();
        if owner.is_some() && owner != before.owner_id {
            self.check_owner(actor, owner).await?;
        }
        apply_patch(conn, actor, &before, expected, patch).await
    }

    async fn find_natural(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        item: &serde_json::Value,
    ) -> Result<Option<Lead>> {
        let Some(e) = item
            .get("email")
            .and_then(|e| e.as_str())
            .and_then(|e| email("email", e).ok())
        else {
            return Ok(None);
        };
        Ok(sqlx::query_as::<_, Lead>(&format!(
            "SELECT {COLUMNS} FROM crm_leads.leads
             WHERE tenant_id = $1 AND lower(email) = $2 AND deleted_at IS NULL AND status <> 'converted'
             ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(actor.tenant_id)
        .bind(e)
        .fetch_optional(conn)
        .await?)
    }
}
