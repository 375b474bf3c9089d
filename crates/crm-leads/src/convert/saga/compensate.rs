//! Undoing a saga, in reverse order: opportunity, contact, company. Deletes are idempotent
//! (an already deleted record is done), so an interrupted compensation simply runs again from
//! the top; nothing per delete needs recording.

use crm_core::{Actor, Result, Role};

use super::drive::{missing, transient};
use super::store::Saga;
use super::{Ctx, Step};
use crate::convert::Target;

/// Who undoes: the same user, with at least the manager role. A rep may create companies,
/// contacts and opportunities but not delete them, and compensation deletes only what this
/// saga itself created, so acting with delete rights grants the user nothing new.
fn undoer(actor: &Actor) -> Actor {
    let role = if actor.role == Role::Admin {
        Role::Admin
    } else {
        Role::Manager
    };
    Actor {
        role,
        ..actor.clone()
    }
}

/// A delete that found nothing (already deleted, or gone) is done.
fn deleted(r: Result<()>) -> Result<()> {
    match r {
        Err(e) if missing(&e) => Ok(()),
        other => other,
    }
}

/// A replayed create that is refused made nothing; one that fails transiently must be tried
/// again before the undoing can go on.
fn replayed<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if transient(&e) => Err(e),
        Err(_) => Ok(None),
    }
}

impl Ctx {
    pub(super) async fn compensate(&self, saga: &mut Saga) -> Result<()> {
        if saga.step_in_doubt {
            self.recover(saga).await?;
            // Kept in memory only: `drive` writes it with the outcome, and should this run
            // stop first, the next one replays the same keys and learns the same records.
        }
        let undo = undoer(&saga.actor);
        if let Some(o) = &saga.opportunity {
            deleted(
                self.sales
                    .delete_opportunity(&undo, o.meta.id, &saga.key("undo-opportunity"))
                    .await,
            )?;
        }
        if let Some(c) = &saga.contact {
            leave_filled(saga, "contact", c.meta.id, saga.contact_filled.as_ref());
            if saga.contact_created {
                deleted(
                    self.customers
                        .delete_contact(&undo, c.meta.id, &saga.key("undo-contact"))
                        .await,
                )?;
            }
        }
        if let Some(c) = &saga.company {
            leave_filled(saga, "company", c.meta.id, saga.company_filled.as_ref());
            if saga.company_created {
                deleted(
                    self.customers
                        .delete_company(&undo, c.meta.id, &saga.key("undo-company"))
                        .await,
                )?;
            }
        }
        Ok(())
    }

    /// The step in doubt was a create that may have happened without its result being
    /// recorded (a crash, a timeout): replaying it under its key answers with what it made
    /// (a service that never saw it makes it now), so that it can be deleted.
    async fn recover(&self, saga: &mut Saga) -> Result<()> {
        let actor = saga.actor.clone();
        let key = saga.key(saga.step.as_str());
        match saga.step {
            Step::Company if saga.company.is_none() => {
                if let Target {
                    id: None,
                    data: Some(d),
                } = saga.plan.company.clone()
                {
                    let made = replayed(self.customers.create_company(&actor, d, &key).await)?;
                    saga.company_created = made.is_some();
                    saga.company = made;
                }
            }
            Step::Contact if saga.contact.is_none() => {
                if let (
                    Target {
                        id: None,
                        data: Some(mut d),
                    },
                    Some(company),
                ) = (saga.plan.contact.clone(), &saga.company)
                {
                    d.company_id = d.company_id.or(Some(company.meta.id));
                    let made = replayed(self.customers.create_contact(&actor, d, &key).await)?;
                    saga.contact_created = made.is_some();
                    saga.contact = made;
                }
            }
            Step::Opportunity if saga.opportunity.is_none() => {
                if let Some(input) = saga.opportunity_input()? {
                    saga.opportunity =
                        replayed(self.sales.create_opportunity(&actor, input, &key).await)?;
                }
            }
            // Fills cannot be undone (below), a relink is harmless, `finish` is atomic.
            _ => {}
        }
        Ok(())
    }
}

/// Fields a fill set on an attached record stay: `CustomersApi` has no write that clears
/// fields. They were empty and the request asked for them; logged so nobody is surprised.
fn leave_filled(saga: &Saga, what: &str, id: uuid::Uuid, filled: Option<&serde_json::Value>) {
    if let Some(fields) = filled.and_then(|f| f.as_object()).filter(|f| !f.is_empty()) {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        tracing::warn!(saga = %saga.id, record = %id, fields = ?names,
            "compensating a lead conversion leaves the fields it filled on the attached {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoing_acts_as_the_same_user_with_delete_rights() {
        let rep = Actor::new(uuid::Uuid::nil(), uuid::Uuid::max(), Role::Rep);
        let u = undoer(&rep);
        assert_eq!((u.tenant_id, u.user_id), (rep.tenant_id, rep.user_id));
        assert!(
            u.role
                .allows(crm_core::Action::Delete, crm_core::Object::Company)
        );
        assert_eq!(
            undoer(&Actor {
                role: Role::Admin,
                ..rep
            })
            .role,
            Role::Admin
        );
    }
}
