//! Conversion in one database transaction, for the monolith: every step uses the owning
//! context's own write functions on the same connection, so the lead, company, contact,
//! opportunity, activity links and all their events commit together or not at all.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use crm_activities::RecordType;
use crm_core::record::{self, Writer};
use crm_core::{Actor, Result, db};
use crm_customers::dedupe::{self, Candidate};
use crm_customers::{
    Company, CompanyPatch, Contact, ContactPatch, Customers, NewCompany, NewContact,
};
use crm_sales::Sales;

use super::plan::{
    Candidates, Plan, authorize, joining, mark_converted, no_company, no_contact, prefix,
    relink_targets, unknown,
};
use super::{Conversion, ConvertRequest, Converter, Target};
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
        authorize(actor, &req)?;
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

/// The duplicate check's candidates, read in the conversion's transaction.
struct InTransaction<'c> {
    conn: &'c mut PgConnection,
    tenant: Uuid,
}

#[async_trait]
impl Candidates for InTransaction<'_> {
    async fn companies(&mut self, data: &NewCompany) -> Result<Vec<Candidate<Company>>> {
        dedupe::company_candidates(self.conn, self.tenant, data, None).await
    }

    async fn contacts(&mut self, data: &NewContact) -> Result<Vec<Candidate<Contact>>> {
        dedupe::contact_candidates(self.conn, self.tenant, data, None).await
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
        let plan = Plan::resolve(lead, req)?;
        if !skip {
            let tenant = actor.tenant_id;
            let conn = &mut *conn;
            plan.check_duplicates(&mut InTransaction { conn, tenant })
                .await?;
        }
        let company = self.company(conn, actor, &plan.company).await?;
        let contact = self
            .contact(conn, actor, &plan.contact, company.meta.id)
            .await?;
        let opportunity = match plan.opportunity_input(&company, &contact) {
            None => None,
            Some(input) => Some(
                self.sales
                    .create_linked(conn, actor, input)
                    .await
                    .map_err(|e| prefix(e, "opportunity"))?,
            ),
        };
        let opportunity_id = opportunity.as_ref().map(|o| o.meta.id);
        let lead = mark_converted(
            conn,
            actor,
            &plan.lead,
            company.meta.id,
            contact.meta.id,
            opportunity_id,
        )
        .await?;
        let to = relink_targets(company.meta.id, contact.meta.id, opportunity_id);
        crm_activities::relink(conn, actor, (RecordType::Lead, lead.meta.id), &to).await?;
        Ok(Conversion {
            lead,
            company,
            contact,
            opportunity,
        })
    }

    async fn company(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        t: &Target<NewCompany>,
    ) -> Result<Company> {
        let c = self.customers.as_ref();
        match t {
            Target { id: Some(id), data } => {
                let current = live::<Company>(conn, actor, *id, "company.id").await?;
                match data {
                    None => Ok(current),
                    Some(d) => {
                        let fill = CompanyPatch::from(d.clone()).only_filling(&current);
                        Writer::<Company>::update(c, conn, actor, *id, None, fill)
                            .await
                            .map_err(|e| prefix(e, "company.data"))
                    }
                }
            }
            Target {
                id: None,
                data: Some(d),
            } => Writer::<Company>::create(c, conn, actor, d.clone())
                .await
                .map_err(|e| prefix(e, "company.data")),
            Target {
                id: None,
                data: None,
            } => Err(no_company()),
        }
    }

    async fn contact(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        t: &Target<NewContact>,
        company_id: Uuid,
    ) -> Result<Contact> {
        let c = self.customers.as_ref();
        match t {
            Target { id: Some(id), data } => {
                let current = live::<Contact>(conn, actor, *id, "contact.id").await?;
                let d = joining(data.clone().unwrap_or_default(), company_id);
                let fill = ContactPatch::from(d).only_filling(&current);
                Writer::<Contact>::update(c, conn, actor, *id, None, fill)
                    .await
                    .map_err(|e| prefix(e, "contact.data"))
            }
            Target {
                id: None,
                data: Some(d),
            } => Writer::<Contact>::create(c, conn, actor, joining(d.clone(), company_id))
                .await
                .map_err(|e| prefix(e, "contact.data")),
            Target {
                id: None,
                data: None,
            } => Err(no_contact()),
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
        Ok(_) | Err(crm_core::Error::NotFound(_)) => Err(unknown(field, R::OBJECT)),
        Err(e) => Err(e),
    }
}
