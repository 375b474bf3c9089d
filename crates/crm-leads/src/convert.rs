//! Lead conversion: `POST /leads/{id}/convert`.
//!
//! The request, the defaults taken from the lead, the duplicate check and the result are
//! shared by both builds; only *how* the steps run differs, behind [`Converter`]: the
//! monolith runs them in one database transaction ([`local::LocalConverter`]), the
//! microservices as a persisted, compensating saga ([`saga::SagaConverter`]).

pub mod local;
pub mod saga;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::query::SqlValue;
use crm_core::{Actor, Error, Money, Result, outbox, record};
use crm_customers::{Company, Contact, NewCompany, NewContact};
use crm_sales::Opportunity;

use crate::Lead;

/// Attach an existing record (`id`, with `data` filling only its empty fields) or create
/// one from `data`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target<T> {
    pub id: Option<Uuid>,
    pub data: Option<T>,
}

/// The opportunity to create; every field optional (defaults from the lead).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityInput {
    /// Default: "<company> – <lead name>".
    pub name: Option<String>,
    /// Default: the lead's estimated value.
    pub amount: Option<Money>,
    pub close_date: Option<chrono::NaiveDate>,
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub stage_key: Option<String>,
    /// Default: the lead's owner.
    pub owner_id: Option<Uuid>,
}

/// `POST /leads/{id}/convert`. An empty body converts using the lead's own data: a company
/// from `company_name`, a contact from name, e-mail, phone and title, no opportunity.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertRequest {
    #[serde(default)]
    pub company: Option<Target<NewCompany>>,
    #[serde(default)]
    pub contact: Option<Target<NewContact>>,
    /// Present (even `{}`) to create an opportunity.
    #[serde(default)]
    pub opportunity: Option<OpportunityInput>,
}

/// What a conversion produced.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Conversion {
    pub lead: Lead,
    pub company: Company,
    pub contact: Contact,
    pub opportunity: Option<Opportunity>,
}

/// Runs a conversion; `skip_duplicate_check` is the `X-Skip-Duplicate-Check` header.
#[async_trait]
pub trait Converter: Send + Sync {
    async fn convert(
        &self,
        actor: &Actor,
        lead_id: Uuid,
        req: ConvertRequest,
        skip_duplicate_check: bool,
    ) -> Result<Conversion>;
}

/// The company to create when the request gives no `company`.
pub fn company_from_lead(lead: &Lead) -> Result<NewCompany> {
    let name = lead.company_name.clone().ok_or_else(|| {
        Error::inconsistent(
            "company",
            "give company.id or company.data: the lead names no company",
        )
    })?;
    Ok(NewCompany {
        name: Some(name),
        owner_id: lead.owner_id,
        ..NewCompany::default()
    })
}

/// The contact to create when the request gives no `contact`: the lead's name split into
/// first and last at the last space.
pub fn contact_from_lead(lead: &Lead) -> NewContact {
    let name = lead.name.trim();
    let (first, last) = match name.rsplit_once(' ') {
        Some((f, l)) if !f.trim().is_empty() => (f.trim().to_owned(), Some(l.to_owned())),
        _ => (name.to_owned(), None),
    };
    NewContact {
        first_name: Some(first),
        last_name: last,
        emails: lead.email.clone().map(|e| vec![e]),
        phones: lead.phone.clone().map(|p| vec![p]),
        job_title: lead.title.clone(),
        owner_id: lead.owner_id,
        lead_source: Some(lead.source.clone()),
        ..NewContact::default()
    }
}

/// The opportunity's name when none is given.
pub fn default_opportunity_name(company: &Company, lead: &Lead) -> String {
    let name = format!("{} – {}", company.name, lead.name);
    name.chars().take(200).collect()
}

/// Candidates found before creating records; a 409 carrying them unless skipped.
pub fn duplicates_found(companies: serde_json::Value, contacts: serde_json::Value) -> Error {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "candidates".into(),
        serde_json::json!({"companies": companies, "contacts": contacts}),
    );
    Error::Conflict {
        code: "duplicates-found",
        detail: "possible duplicates exist; attach them by id, or repeat with X-Skip-Duplicate-Check: true".into(),
        extra: Some(extra),
    }
}

/// The lead's side of a conversion, in the caller's transaction, on a lead the caller has
/// locked and checked: status `converted` with the ids of what it became, and a
/// `lead.converted` event whose changes name them.
pub(crate) async fn mark_converted(
    conn: &mut PgConnection,
    actor: &Actor,
    lead: &Lead,
    company_id: Uuid,
    contact_id: Uuid,
    opportunity_id: Option<Uuid>,
) -> Result<Lead> {
    let now = chrono::Utc::now();
    let after = record::write_columns::<Lead>(
        conn,
        actor,
        lead.meta.id,
        vec![
            ("status", SqlValue::Text(Some("converted".into()))),
            ("status_changed_at", SqlValue::Timestamp(Some(now))),
            ("converted_at", SqlValue::Timestamp(Some(now))),
            ("converted_company_id", SqlValue::Uuid(Some(company_id))),
            ("converted_contact_id", SqlValue::Uuid(Some(contact_id))),
            ("converted_opportunity_id", SqlValue::Uuid(opportunity_id)),
        ],
    )
    .await?;
    let changes = serde_json::json!({
        "status": {"from": lead.status.as_str(), "to": "converted"},
        "company_id": company_id,
        "contact_id": contact_id,
        "opportunity_id": opportunity_id,
    });
    outbox::append(
        conn,
        &record::event(actor, &after, "converted")?.with_changes(changes),
    )
    .await?;
    Ok(after)
}
