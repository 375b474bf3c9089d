//! Lead conversion: `POST /leads/{id}/convert`.
//!
//! The request, the defaults taken from the lead, the duplicate check and the result are
//! shared by both builds; only *how* the steps run differs, behind [`Converter`]: the
//! monolith runs them in one database transaction ([`local::LocalConverter`]), the
//! microservices as a persisted, compensating saga ([`saga::SagaConverter`]).
//!
//! # Layout
//! - this file: the request, the result, [`Converter`].
//! - `plan`: the core both runners share (permissions, the plan with the lead's defaults,
//!   the duplicate check, the opportunity's input, the lead's side, field errors).
//! - [`local`]: the transaction. [`saga`]: the saga, which starts from its own module docs.

pub mod local;
mod plan;
pub mod saga;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::{Actor, Money, Result};
use crm_customers::{Company, Contact, NewCompany, NewContact};
use crm_sales::Opportunity;

use crate::Lead;

/// Attach an existing record (`id`, with `data` filling only its empty fields) or create
/// one from `data`; at least one of them is given (not null), which the schema states.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = target_schema)]
pub struct Target<T> {
    pub id: Option<Uuid>,
    pub data: Option<T>,
}

/// A [`Target`] names a record or gives its data: `{}` and `{"data": null}` are refused
/// (422 naming the field), so the schema says so too.
fn target_schema(s: &mut schemars::Schema) {
    let given = |field: &str| {
        serde_json::json!({
            "required": [field],
            "properties": { field: { "not": { "type": "null" } } }
        })
    };
    s.insert(
        "anyOf".into(),
        serde_json::json!([given("id"), given("data")]),
    );
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
