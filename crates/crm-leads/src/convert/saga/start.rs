//! Everything before the saga's first write: the duplicate check through the customers
//! API, the checks of the data, and writing the saga itself.
//!
//! The data is checked here with the customers context's own rules (the same `columns`
//! functions its writes run), so that bad data answers 422 before anything exists, as it does
//! in the monolith, instead of after a company was created and had to be deleted again.

use async_trait::async_trait;
use tokio::time::Instant;
use uuid::Uuid;

use crm_core::{Actor, Error, Result, db, record};
use crm_customers::dedupe::Candidate;
use crm_customers::{
    Company, CompanyPatch, Contact, ContactPatch, CustomersApi, NewCompany, NewContact,
};

use super::Ctx;
use super::drive::{at, missing, transient};
use super::store::{self, Saga};
use crate::Lead;
use crate::convert::Target;
use crate::convert::plan::{Candidates, Plan, no_company, no_contact, unknown};

/// What writing the saga came to.
pub(super) enum Begun {
    /// Written and claimed with this token.
    Started(Saga, Uuid),
    /// Another request started one for this lead in the meantime.
    Unfinished(Saga),
}

/// A live company the request names by id; a missing one is the request's fault (422).
pub(super) async fn existing_company(
    customers: &dyn CustomersApi,
    actor: &Actor,
    id: Uuid,
) -> Result<Company> {
    customers.company(actor, id).await.map_err(|e| {
        if missing(&e) {
            unknown("company.id", "company")
        } else {
            e
        }
    })
}

/// A live contact the request names by id; a missing one is the request's fault (422).
pub(super) async fn existing_contact(
    customers: &dyn CustomersApi,
    actor: &Actor,
    id: Uuid,
) -> Result<Contact> {
    customers.contact(actor, id).await.map_err(|e| {
        if missing(&e) {
            unknown("contact.id", "contact")
        } else {
            e
        }
    })
}

/// The duplicate check's candidates, asked of the customers service, each call retried
/// while it fails transiently within the request's budget.
pub(super) struct Remote<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) actor: &'a Actor,
    pub(super) until: Instant,
}

#[async_trait]
impl Candidates for Remote<'_> {
    async fn companies(&mut self, data: &NewCompany) -> Result<Vec<Candidate<Company>>> {
        let c = self.ctx.customers.as_ref();
        self.ctx
            .retrying(self.until, || c.company_duplicates(self.actor, data))
            .await
    }

    async fn contacts(&mut self, data: &NewContact) -> Result<Vec<Candidate<Contact>>> {
        let c = self.ctx.customers.as_ref();
        self.ctx
            .retrying(self.until, || c.contact_duplicates(self.actor, data))
            .await
    }
}

impl Ctx {
    /// Retries a read that fails transiently until `until`; its last error otherwise.
    pub(super) async fn retrying<T, F, Fut>(&self, until: Instant, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call().await {
                Err(e) if transient(&e) => {
                    let wait = self.settings.backoff.delay(attempt);
                    if Instant::now() + wait >= until {
                        return Err(e);
                    }
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// The checks the monolith's writes would make, in its order: company, then contact.
    pub(super) async fn precheck(&self, actor: &Actor, plan: &Plan, until: Instant) -> Result<()> {
        let c = self.customers.as_ref();
        match &plan.company {
            Target { id: Some(id), data } => {
                let current = self
                    .retrying(until, || existing_company(c, actor, *id))
                    .await?;
                if let Some(d) = data {
                    CompanyPatch::from(d.clone())
                        .only_filling(&current)
                        .columns(false)
                        .map_err(|e| at(e, "company.data"))?;
                }
            }
            Target {
                id: None,
                data: Some(d),
            } => {
                CompanyPatch::from(d.clone())
                    .columns(true)
                    .map_err(|e| at(e, "company.data"))?;
            }
            _ => return Err(no_company()),
        }
        // The company a contact names itself (the default is the converted company, which
        // exists by the time the contact is written).
        let named_company = match &plan.contact {
            Target { id: Some(id), data } => {
                let current = self
                    .retrying(until, || existing_contact(c, actor, *id))
                    .await?;
                let d = data.clone().unwrap_or_default();
                let named = d.company_id.filter(|_| current.company_id.is_none());
                ContactPatch::from(d)
                    .only_filling(&current)
                    .columns(false)
                    .map_err(|e| at(e, "contact.data"))?;
                named
            }
            Target {
                id: None,
                data: Some(d),
            } => {
                ContactPatch::from(d.clone())
                    .columns(true)
                    .map_err(|e| at(e, "contact.data"))?;
                d.company_id
            }
            _ => return Err(no_contact()),
        };
        if let Some(id) = named_company {
            match self.retrying(until, || c.company(actor, id)).await {
                Ok(_) => {}
                Err(e) if missing(&e) => return Err(unknown("contact.data.company_id", "company")),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes the saga, claimed, under the lead's row lock: the lead is re-checked there,
    /// and a saga another request started meanwhile is found rather than duplicated.
    pub(super) async fn begin(
        &self,
        actor: &Actor,
        request: serde_json::Value,
        plan: Plan,
        skip: bool,
    ) -> Result<Begun> {
        let mut tx = self.pool.begin().await?;
        let lead = record::lock::<Lead>(&mut tx, actor.tenant_id, plan.lead.meta.id).await?;
        if lead.meta.deleted_at.is_some() {
            return Err(Error::not_found("lead"));
        }
        if let Some(saga) = store::unfinished(&mut *tx, actor.tenant_id, lead.meta.id).await? {
            return Ok(Begun::Unfinished(saga));
        }
        lead.status.convert()?;
        let saga = Saga::new(actor, request, plan, skip, self.settings.deadline);
        let token = Uuid::new_v4();
        store::insert(&mut tx, &saga, token, self.settings.lease).await?;
        db::commit(tx).await?;
        tracing::debug!(saga = %saga.id, lead = %saga.lead_id, "conversion saga started");
        Ok(Begun::Started(saga, token))
    }
}
