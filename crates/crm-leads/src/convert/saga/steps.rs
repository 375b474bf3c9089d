//! The forward steps. Each one reads what it needs from the saga (the plan and the results of
//! earlier steps, both stored), calls one context through its API acting as the original
//! caller, and records its result in the saga; `drive` writes it down.

use std::time::Duration;

use uuid::Uuid;

use crm_activities::RecordType;
use crm_core::{Actor, Error, Result, db, record};
use crm_customers::{Company, Contact};
use crm_sales::NewOpportunity;

use super::drive::{Mode, Progress, at, missing};
use super::start::{existing_company, existing_contact};
use super::store::{self, Hold, Saga};
use super::{Ctx, State, Step};
use crate::Lead;
use crate::convert::plan::{
    joining, mark_converted, no_company, no_contact, relink_targets, unknown,
};
use crate::convert::{Conversion, Target};

impl Saga {
    pub(super) fn company_record(&self) -> Result<&Company> {
        self.company
            .as_ref()
            .ok_or_else(|| Error::internal(format!("saga {}: no company recorded", self.id)))
    }

    pub(super) fn contact_record(&self) -> Result<&Contact> {
        self.contact
            .as_ref()
            .ok_or_else(|| Error::internal(format!("saga {}: no contact recorded", self.id)))
    }

    /// The opportunity to create, with the monolith's defaults; built from stored data only,
    /// so that every attempt sends the same body under the same key.
    pub(super) fn opportunity_input(&self) -> Result<Option<NewOpportunity>> {
        if self.plan.opportunity.is_none() {
            return Ok(None);
        }
        let (company, contact) = (self.company_record()?, self.contact_record()?);
        Ok(self.plan.opportunity_input(company, contact))
    }
}

/// The fields a fill changed, as `{field: {from, to}}`.
fn filled<T: serde::Serialize>(before: &T, after: &T) -> Result<serde_json::Value> {
    Ok(serde_json::Value::Object(record::diff(
        &serde_json::to_value(before)?,
        &serde_json::to_value(after)?,
    )))
}

impl Ctx {
    /// Runs the saga's next step and moves it on.
    pub(super) async fn forward(
        &self,
        saga: &mut Saga,
        token: Uuid,
        mode: Mode,
    ) -> Result<Progress> {
        let actor = saga.actor.clone();
        let key = saga.key(saga.step.as_str());
        match saga.step {
            Step::Company => self.company(saga, &actor, &key).await?,
            Step::Contact => self.contact(saga, &actor, &key).await?,
            Step::Opportunity => {
                if let Some(input) = saga.opportunity_input()? {
                    let o = self
                        .sales
                        .create_opportunity(&actor, input, &key)
                        .await
                        .map_err(|e| at(e, "opportunity"))?;
                    saga.opportunity = Some(o);
                }
            }
            Step::FillCompany => self.fill_company(saga, &actor, &key).await?,
            Step::FillContact => self.fill_contact(saga, &actor, &key).await?,
            Step::Relink => {
                let to = relink_targets(
                    saga.company_record()?.meta.id,
                    saga.contact_record()?.meta.id,
                    saga.opportunity.as_ref().map(|o| o.meta.id),
                );
                // Adding links that exist changes nothing, so a retry is harmless.
                self.activities
                    .relink(&actor, (RecordType::Lead, saga.lead_id), &to)
                    .await?;
                saga.relinked = true;
            }
            Step::Finish => return self.finish(saga, token, mode).await,
            Step::Done => return Err(Error::internal(format!("saga {} is done", saga.id))),
        }
        saga.step = saga.step.next();
        Ok(Progress::Advanced)
    }

    async fn company(&self, saga: &mut Saga, actor: &Actor, key: &str) -> Result<()> {
        let company = match saga.plan.company.clone() {
            // Attached: checked now, filled after the opportunity (see the module docs).
            Target { id: Some(id), .. } => {
                existing_company(self.customers.as_ref(), actor, id).await?
            }
            Target {
                id: None,
                data: Some(d),
            } => {
                let c = self
                    .customers
                    .create_company(actor, d, key)
                    .await
                    .map_err(|e| at(e, "company.data"))?;
                saga.company_created = true;
                c
            }
            Target {
                id: None,
                data: None,
            } => return Err(no_company()),
        };
        saga.company = Some(company);
        Ok(())
    }

    async fn contact(&self, saga: &mut Saga, actor: &Actor, key: &str) -> Result<()> {
        let company_id = saga.company_record()?.meta.id;
        let contact = match saga.plan.contact.clone() {
            Target { id: Some(id), .. } => {
                existing_contact(self.customers.as_ref(), actor, id).await?
            }
            Target {
                id: None,
                data: Some(d),
            } => {
                let c = self
                    .customers
                    .create_contact(actor, joining(d, company_id), key)
                    .await
                    .map_err(|e| at(e, "contact.data"))?;
                saga.contact_created = true;
                c
            }
            Target {
                id: None,
                data: None,
            } => return Err(no_contact()),
        };
        saga.contact = Some(contact);
        Ok(())
    }

    async fn fill_company(&self, saga: &mut Saga, actor: &Actor, key: &str) -> Result<()> {
        let Target {
            id: Some(id),
            data: Some(d),
        } = saga.plan.company.clone()
        else {
            return Ok(());
        };
        let after = self
            .customers
            .fill_company(actor, id, d, key)
            .await
            .map_err(|e| {
                if missing(&e) {
                    unknown("company.id", "company")
                } else {
                    at(e, "company.data")
                }
            })?;
        saga.company_filled = Some(filled(saga.company_record()?, &after)?);
        saga.company = Some(after);
        Ok(())
    }

    async fn fill_contact(&self, saga: &mut Saga, actor: &Actor, key: &str) -> Result<()> {
        let Target { id: Some(id), data } = saga.plan.contact.clone() else {
            return Ok(());
        };
        // As in the monolith: an attached contact without a company joins the converted one.
        let d = joining(data.unwrap_or_default(), saga.company_record()?.meta.id);
        let after = self
            .customers
            .fill_contact(actor, id, d, key)
            .await
            .map_err(|e| {
                if missing(&e) {
                    unknown("contact.id", "contact")
                } else {
                    at(e, "contact.data")
                }
            })?;
        saga.contact_filled = Some(filled(saga.contact_record()?, &after)?);
        saga.contact = Some(after);
        Ok(())
    }

    /// The local end: lead `converted` + `lead.converted` + saga `completed`, in one
    /// transaction, so the lead is converted exactly when its saga says so.
    async fn finish(&self, saga: &mut Saga, token: Uuid, mode: Mode) -> Result<Progress> {
        let (company, contact) = (
            saga.company_record()?.clone(),
            saga.contact_record()?.clone(),
        );
        let mut tx = self.pool.begin().await?;
        let lead = record::lock::<Lead>(&mut tx, saga.tenant_id, saga.lead_id).await?;
        if lead.meta.deleted_at.is_some() {
            return Err(Error::not_found("lead"));
        }
        // Closed while the saga ran (nothing stops that): compensate, as for any refusal.
        lead.status.convert()?;
        let opportunity_id = saga.opportunity.as_ref().map(|o| o.meta.id);
        let lead = mark_converted(
            &mut tx,
            &saga.actor,
            &lead,
            company.meta.id,
            contact.meta.id,
            opportunity_id,
        )
        .await?;
        // Changed on a copy: if the commit fails, the saga in hand must still say `running`.
        let mut done = saga.clone();
        done.state = State::Completed;
        done.step = Step::Done;
        done.step_in_doubt = false;
        done.reported |= matches!(mode, Mode::Request(_));
        if !store::save(&mut *tx, &done, token, Hold::Release(Duration::ZERO)).await? {
            return Ok(Progress::LostClaim);
        }
        db::commit(tx).await?;
        *saga = done;
        tracing::debug!(saga = %saga.id, lead = %saga.lead_id, "conversion saga completed");
        Ok(Progress::Completed(Box::new(Conversion {
            lead,
            company,
            contact,
            opportunity: saga.opportunity.clone(),
        })))
    }
}
