//! The conversion core both runners share, so that the transaction ([`super::local`]) and
//! the saga ([`super::saga`]) answer alike: who may convert, the [`Plan`] (the request
//! resolved against the lead, with the lead's defaults), the duplicate check, the
//! opportunity to create, the records the lead's activities move to, the lead's own side,
//! and the errors that name a field by its place in the request. The runners differ only
//! in how they reach the other contexts: one connection, or their APIs.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crm_activities::RecordType;
use crm_core::query::SqlValue;
use crm_core::{Action, Actor, Error, FieldError, Object, Result, outbox, record};
use crm_customers::dedupe::Candidate;
use crm_customers::{Company, Contact, NewCompany, NewContact};
use crm_sales::NewOpportunity;

use super::{ConvertRequest, OpportunityInput, Target};
use crate::Lead;

/// The permissions a conversion needs: to update the lead, to create a company and a
/// contact, and an opportunity when the request asks for one.
pub(crate) fn authorize(actor: &Actor, req: &ConvertRequest) -> Result<()> {
    actor.require(Action::Update, Object::Lead)?;
    actor.require(Action::Create, Object::Company)?;
    actor.require(Action::Create, Object::Contact)?;
    if req.opportunity.is_some() {
        actor.require(Action::Create, Object::Opportunity)?;
    }
    Ok(())
}

/// The request resolved against the lead: what to attach or create. The saga stores it, so
/// every retry of a step sends the same body whatever happens to the lead meanwhile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Plan {
    /// The lead as it was (defaults and the opportunity's name come from it).
    pub lead: Lead,
    pub company: Target<NewCompany>,
    pub contact: Target<NewContact>,
    pub opportunity: Option<OpportunityInput>,
}

impl Plan {
    /// A company and a contact made from the lead where the request names none.
    pub(crate) fn resolve(lead: Lead, req: ConvertRequest) -> Result<Plan> {
        let company = match req.company {
            Some(t) => t,
            None => Target {
                id: None,
                data: Some(company_from_lead(&lead)?),
            },
        };
        let contact = req.contact.unwrap_or_else(|| Target {
            id: None,
            data: Some(contact_from_lead(&lead)),
        });
        Ok(Plan {
            lead,
            company,
            contact,
            opportunity: req.opportunity,
        })
    }

    /// 409 `duplicates-found` with the candidates for the records the plan creates (not
    /// those it attaches by id).
    pub(crate) async fn check_duplicates(&self, source: &mut impl Candidates) -> Result<()> {
        let companies = match self.company.to_create() {
            Some(d) => nothing_to_match(source.companies(d).await)?,
            None => Vec::new(),
        };
        let contacts = match self.contact.to_create() {
            Some(d) => nothing_to_match(source.contacts(d).await)?,
            None => Vec::new(),
        };
        if companies.is_empty() && contacts.is_empty() {
            return Ok(());
        }
        let mut extra = serde_json::Map::new();
        extra.insert(
            "candidates".into(),
            serde_json::json!({"companies": companies, "contacts": contacts}),
        );
        Err(Error::Conflict {
            code: "duplicates-found",
            detail: "possible duplicates exist; attach them by id, or repeat with X-Skip-Duplicate-Check: true".into(),
            extra: Some(extra),
        })
    }

    /// The opportunity to create, with the lead's defaults, if the request asks for one.
    pub(crate) fn opportunity_input(
        &self,
        company: &Company,
        contact: &Contact,
    ) -> Option<NewOpportunity> {
        let (o, lead) = (self.opportunity.as_ref()?, &self.lead);
        Some(NewOpportunity {
            name: Some(o.name.clone().unwrap_or_else(|| {
                let name = format!("{} – {}", company.name, lead.name);
                name.chars().take(200).collect()
            })),
            amount: o.amount.clone().or_else(|| lead.estimated_value.clone()),
            close_date: o.close_date,
            pipeline_id: o.pipeline_id,
            stage_id: o.stage_id,
            stage_key: o.stage_key.clone(),
            owner_id: o.owner_id.or(lead.owner_id),
            company_id: Some(company.meta.id),
            primary_contact_id: Some(contact.meta.id),
            original_lead_id: Some(lead.meta.id),
            ..NewOpportunity::default()
        })
    }
}

impl<T> Target<T> {
    /// The data of a record to create (no id given).
    fn to_create(&self) -> Option<&T> {
        match self {
            Target { id: None, data } => data.as_ref(),
            Target { id: Some(_), .. } => None,
        }
    }
}

/// Where the duplicate check finds candidates: the transaction's connection in the
/// monolith, the customers API in the saga.
#[async_trait]
pub(crate) trait Candidates: Send {
    async fn companies(&mut self, data: &NewCompany) -> Result<Vec<Candidate<Company>>>;
    async fn contacts(&mut self, data: &NewContact) -> Result<Vec<Candidate<Contact>>>;
}

/// Data with nothing to match on yields no candidates: judging the data is the job of the
/// steps after the check, which name bad fields by their place in the request.
fn nothing_to_match<T>(r: Result<Vec<T>>) -> Result<Vec<T>> {
    match r {
        Err(Error::Validation(_)) => Ok(Vec::new()),
        Err(Error::Remote(p)) if p.status == 422 => Ok(Vec::new()),
        other => other,
    }
}

/// The company to create when the request gives no `company`.
fn company_from_lead(lead: &Lead) -> Result<NewCompany> {
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
fn contact_from_lead(lead: &Lead) -> NewContact {
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

/// A contact's data (to create, or to fill an attached contact with), joining the converted
/// company unless it names a company itself.
pub(crate) fn joining(mut data: NewContact, company_id: Uuid) -> NewContact {
    data.company_id = data.company_id.or(Some(company_id));
    data
}

/// The records the lead's activities are linked to once it is converted.
pub(crate) fn relink_targets(
    company_id: Uuid,
    contact_id: Uuid,
    opportunity_id: Option<Uuid>,
) -> Vec<(RecordType, Uuid)> {
    let mut to = vec![
        (RecordType::Contact, contact_id),
        (RecordType::Company, company_id),
    ];
    to.extend(opportunity_id.map(|id| (RecordType::Opportunity, id)));
    to
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

/// 422: the record the request names at `field` does not exist.
pub(crate) fn unknown(field: &str, object: &str) -> Error {
    Error::UnknownReference(vec![FieldError::new(field, format!("no such {object}"))])
}

/// 422 `inconsistent`: the plan neither attaches nor creates a company.
pub(crate) fn no_company() -> Error {
    Error::inconsistent("company", "give company.id or company.data")
}

/// 422 `validation`: the plan neither attaches nor creates a contact.
pub(crate) fn no_contact() -> Error {
    Error::invalid("contact", "give contact.id or contact.data")
}

/// Names fields of a nested step's field errors (validation, unknown references,
/// inconsistencies) by their place in the request.
pub(crate) fn prefix(e: Error, at: &str) -> Error {
    let place = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|f| FieldError::new(format!("{at}.{}", f.field), f.message))
            .collect()
    };
    match e {
        Error::Validation(errors) => Error::Validation(place(errors)),
        Error::UnknownReference(errors) => Error::UnknownReference(place(errors)),
        Error::Inconsistent(errors) => Error::Inconsistent(place(errors)),
        other => other,
    }
}
