//! Conversion in one database transaction, for the monolith: every step uses the owning
//! context's own write functions on the same connection, so the lead, company, contact,
//! opportunity, activity links and all their events commit together or not at all.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use crm_activities::RecordType;
use crm_core::query::SqlValue;
use crm_core::record::{self, Writer};
use crm_core::{Action, Actor, Object, Result, db, outbox};
use crm_customers::{Company, CompanyPatch, Contact, ContactPatch, Customers, NewContact, dedupe};
use crm_sales::{NewOpportunity, Sales};

use super::{
    Conversion, ConvertRequest, Converter, Target, company_from_lead, contact_from_lead,
    default_opportunity_name, duplicates_found,
};
use crate::Lead;

pub struct LocalConverter {
    pool: sqlx::PgPool,
    customers: Arc<Customers>,
    sales: Arc<Sales>,
}

impl LocalConverter {
    pub fn new(pool: sqlx::PgPool, customers: Arc<Customers>, sales: Arc<Sales>) -> Self {
        LocalConverter {
            pool,
            customers,
            sales,
        }
    }
}

#[async_trait]
impl Converter for LocalConverter {
    async fn convert(
        &self,
        actor: &Actor,
        lead_id: Uuid,
        req: ConvertRequest,
        skip: bool,
    ) -> Result<Conversion> {
        actor.require(Action::Update, Object::Lead)?;
        actor.require(Action::Create, Object::Company)?;
        actor.require(Action::Create, Object::Contact)?;
        if req.opportunity.is_some() {
            actor.require(Action::Create, Object::Opportunity)?;
        }
        // The monolith's whole conversion is one transaction: one span, its statements as
        // children (the saga's steps are the microservices' counterpart).
        let transaction = async {
            let mut tx = self.pool.begin().await?;
            let result = self.run(&mut tx, actor, lead_id, req, skip).await?;
            db::commit(tx).await?;
            Ok(result)
        };
        tracing::Instrument::instrument(
            transaction,
            crm_telemetry::propagate::internal("convert transaction"),
        )
        .await
    }
}

impl LocalConverter {
    async fn run(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        lead_id: Uuid,
        req: ConvertRequest,
        skip: bool,
    ) -> Result<Conversion> {
        let lead = record::lock::<Lead>(conn, actor.tenant_id, lead_id).await?;
        if lead.meta.deleted_at.is_some() {
            return Err(crm_core::Error::not_found("lead"));
        }
        lead.status.convert()?;

        let company_target = match req.company {
            Some(t) => t,
            None => Target {
                id: None,
                data: Some(company_from_lead(&lead)?),
            },
        };
        let contact_target = match req.contact {
            Some(t) => t,
            None => Target {
                id: None,
                data: Some(contact_from_lead(&lead)),
            },
        };
        if !skip {
            self.check_duplicates(conn, actor, &company_target, &contact_target)
                .await?;
        }
        let company = self.company(conn, actor, company_target).await?;
        let contact = self
            .contact(conn, actor, contact_target, company.meta.id)
            .await?;
        let opportunity = match req.opportunity {
            None => None,
            Some(o) => {
                let input = NewOpportunity {
                    name: Some(
                        o.name
                            .unwrap_or_else(|| default_opportunity_name(&company, &lead)),
                    ),
                    amount: o.amount.or_else(|| lead.estimated_value.clone()),
                    close_date: o.close_date,
                    pipeline_id: o.pipeline_id,
                    stage_id: o.stage_id,
                    stage_key: o.stage_key,
                    owner_id: o.owner_id.or(lead.owner_id),
                    company_id: Some(company.meta.id),
                    primary_contact_id: Some(contact.meta.id),
                    original_lead_id: Some(lead.meta.id),
                    ..NewOpportunity::default()
                };
                Some(
                    self.sales
                        .create_linked(conn, actor, input)
                        .await
                        .map_err(|e| prefix(e, "opportunity"))?,
                )
            }
        };

        let now = chrono::Utc::now();
        let lead_after = record::write_columns::<Lead>(
            conn,
            actor,
            lead.meta.id,
            vec![
                ("status", SqlValue::Text(Some("converted".into()))),
                ("status_changed_at", SqlValue::Timestamp(Some(now))),
                ("converted_at", SqlValue::Timestamp(Some(now))),
                (
                    "converted_company_id",
                    SqlValue::Uuid(Some(company.meta.id)),
                ),
                (
                    "converted_contact_id",
                    SqlValue::Uuid(Some(contact.meta.id)),
                ),
                (
                    "converted_opportunity_id",
                    SqlValue::Uuid(opportunity.as_ref().map(|o| o.meta.id)),
                ),
            ],
        )
        .await?;
        let changes = serde_json::json!({
            "status": {"from": lead.status.as_str(), "to": "converted"},
            "company_id": company.meta.id,
            "contact_id": contact.meta.id,
            "opportunity_id": opportunity.as_ref().map(|o| o.meta.id),
        });
        outbox::append(
            conn,
            &record::event(actor, &lead_after, "converted")?.with_changes(changes),
        )
        .await?;

        let mut to = vec![
            (RecordType::Contact, contact.meta.id),
            (RecordType::Company, company.meta.id),
        ];
        if let Some(o) = &opportunity {
            to.push((RecordType::Opportunity, o.meta.id));
        }
        crm_activities::relink(conn, actor, (RecordType::Lead, lead.meta.id), &to).await?;

        Ok(Conversion {
            lead: lead_after,
            company,
            contact,
            opportunity,
        })
    }

    async fn check_duplicates(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        company: &Target<crm_customers::NewCompany>,
        contact: &Target<NewContact>,
    ) -> Result<()> {
        // Data with nothing to match on yields no candidates: judging the data is the job of
        // the create step, which names bad fields by their place in the request.
        fn nothing_to_match<T>(r: Result<Vec<T>>) -> Result<Vec<T>> {
            match r {
                Err(crm_core::Error::Validation(_)) => Ok(Vec::new()),
                other => other,
            }
        }
        let companies = match company {
            Target {
                id: None,
                data: Some(d),
            } => {
                nothing_to_match(dedupe::company_candidates(conn, actor.tenant_id, d, None).await)?
            }
            _ => Vec::new(),
        };
        let contacts = match contact {
            Target {
                id: None,
                data: Some(d),
            } => {
                nothing_to_match(dedupe::contact_candidates(conn, actor.tenant_id, d, None).await)?
            }
            _ => Vec::new(),
        };
        if companies.is_empty() && contacts.is_empty() {
            return Ok(());
        }
        Err(duplicates_found(
            serde_json::to_value(companies)?,
            serde_json::to_value(contacts)?,
        ))
    }

    async fn company(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        t: Target<crm_customers::NewCompany>,
    ) -> Result<Company> {
        let c = self.customers.as_ref();
        match t {
            Target { id: Some(id), data } => {
                let current = live::<Company>(conn, actor, id, "company.id").await?;
                match data {
                    None => Ok(current),
                    Some(d) => {
                        let fill = CompanyPatch::from(d).only_filling(&current);
                        Writer::<Company>::update(c, conn, actor, id, None, fill)
                            .await
                            .map_err(|e| prefix(e, "company.data"))
                    }
                }
            }
            Target {
                id: None,
                data: Some(d),
            } => Writer::<Company>::create(c, conn, actor, d)
                .await
                .map_err(|e| prefix(e, "company.data")),
            Target {
                id: None,
                data: None,
            } => Err(crm_core::Error::inconsistent(
                "company",
                "give company.id or company.data",
            )),
        }
    }

    async fn contact(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        t: Target<NewContact>,
        company_id: Uuid,
    ) -> Result<Contact> {
        let c = self.customers.as_ref();
        match t {
            Target { id: Some(id), data } => {
                let current = live::<Contact>(conn, actor, id, "contact.id").await?;
                let mut d = data.unwrap_or_default();
                d.company_id = d.company_id.or(Some(company_id));
                let fill = ContactPatch::from(d).only_filling(&current);
                Writer::<Contact>::update(c, conn, actor, id, None, fill)
                    .await
                    .map_err(|e| prefix(e, "contact.data"))
            }
            Target {
                id: None,
                data: Some(mut d),
            } => {
                d.company_id = d.company_id.or(Some(company_id));
                Writer::<Contact>::create(c, conn, actor, d)
                    .await
                    .map_err(|e| prefix(e, "contact.data"))
            }
            Target {
                id: None,
                data: None,
            } => Err(crm_core::Error::invalid(
                "contact",
                "give contact.id or contact.data",
            )),
        }
    }
}

/// A live record the request refers to by id; a missing one is an unknown reference (422).
async fn live<R: record::Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    field: &str,
) -> Result<R> {
    match record::lock::<R>(conn, actor.tenant_id, id).await {
        Ok(r) if r.meta().deleted_at.is_none() => Ok(r),
        Ok(_) | Err(crm_core::Error::NotFound(_)) => Err(crm_core::Error::UnknownReference(vec![
            crm_core::FieldError::new(field, format!("no such {}", R::OBJECT)),
        ])),
        Err(e) => Err(e),
    }
}

/// Names fields of a nested step's field errors (validation, unknown references,
/// inconsistencies) by their place in the request.
pub(crate) fn prefix(e: crm_core::Error, at: &str) -> crm_core::Error {
    use crm_core::Error;
    let place = |errors: Vec<crm_core::FieldError>| {
        errors
            .into_iter()
            .map(|f| crm_core::FieldError::new(format!("{at}.{}", f.field), f.message))
            .collect()
    };
    match e {
        Error::Validation(errors) => Error::Validation(place(errors)),
        Error::UnknownReference(errors) => Error::UnknownReference(place(errors)),
        Error::Inconsistent(errors) => Error::Inconsistent(place(errors)),
        other => other,
    }
}
