//! References between records, checked on every write: an `owner_id`, `assignee_id`,
//! `company_id`, `primary_contact_id`, `pipeline_id`, `stage_id` or activity link must name
//! a live (not soft-deleted) record of the caller's tenant, else the write is a 422 naming
//! the field. Both builds give the same answer: the monolith asks the owning context
//! in-process, the microservices ask the owning service over HTTP (its client's timeouts,
//! retries and breaker; a 503 naming the service when it is down).
//!
//! A write collects its references in [`Refs`] and checks them at once through [`Owners`],
//! the [`Lookup`] of each record type: one batched look-up per owner and type, each id asked
//! once per request (a batch shares the answers between its items, see [`scope`]).
//! References to records of the writing context itself are checked by the context on its
//! own transaction instead, where records created earlier in that transaction are visible.
//!
//! What happens to references afterwards:
//! - soft delete keeps them: an opportunity of a deleted company still names it, and
//!   restoring the company makes the reference whole again. Only values a write sets are
//!   checked, so a PATCH that leaves a reference alone still succeeds;
//! - a merge re-points them: `company.merged` / `contact.merged` move opportunities,
//!   contacts and activity links to the surviving record (by event, so in the
//!   microservices within moments);
//! - a write naming a deleted or merged record is refused like an unknown id.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::actor::Actor;
use crate::error::{FieldError, Result};

/// Answers which records of a type exist: implemented by each context for the types it owns
/// (in-process) and by its HTTP client (over the owning service's internal route).
#[async_trait]
pub trait Lookup: Send + Sync {
    /// Of `ids`, those naming live records of `object` (`user`, `company`, ...) in the
    /// actor's tenant, in any order.
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>>;
}

/// The [`Lookup`] answering for each record type a context refers to.
#[derive(Clone, Default)]
pub struct Owners {
    by_object: HashMap<&'static str, Arc<dyn Lookup>>,
}

impl Owners {
    pub fn new() -> Self {
        Self::default()
    }

    /// `lookup` answers for `objects`.
    pub fn with(mut self, objects: &[&'static str], lookup: Arc<dyn Lookup>) -> Self {
        for o in objects {
            self.by_object.insert(o, lookup.clone());
        }
        self
    }

    /// Both sets; `other` wins where both name an owner.
    pub fn merge(mut self, other: Owners) -> Self {
        self.by_object.extend(other.by_object);
        self
    }

    /// Whether references to `object` are checked. A context built without an owner for a
    /// type (its own unit tests) leaves those references unchecked.
    pub fn checks(&self, object: &str) -> bool {
        self.by_object.contains_key(object)
    }
}

/// The references one write makes: `(field, object, id)`.
#[derive(Debug, Default)]
pub struct Refs {
    wanted: Vec<(String, &'static str, Uuid)>,
}

impl Refs {
    pub fn new() -> Self {
        Self::default()
    }

    /// `field` names a record of type `object` (nothing to check when `None`).
    pub fn add(&mut self, field: impl Into<String>, object: &'static str, id: Option<Uuid>) {
        if let Some(id) = id {
            self.wanted.push((field.into(), object, id));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Checks every reference whose type has an owner; each one that names no live record
    /// of the tenant becomes a field error. An owner that cannot answer fails the write
    /// (503/504 from a service client), never reads as "missing".
    pub async fn check(
        self,
        actor: &Actor,
        owners: &Owners,
        errors: &mut Vec<FieldError>,
    ) -> Result<()> {
        let mut known: HashMap<(&'static str, Uuid), bool> = HashMap::new();
        let mut asked: HashMap<&'static str, Vec<Uuid>> = HashMap::new();
        for (_, object, id) in &self.wanted {
            let (object, id) = (*object, *id);
            if !owners.checks(object) || known.contains_key(&(object, id)) {
                continue;
            }
            match remembered(object, id) {
                Some(live) => {
                    known.insert((object, id), live);
                }
                None => {
                    let ids = asked.entry(object).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        for (object, ids) in asked {
            let live: HashSet<Uuid> = owners.by_object[object]
                .live(actor, object, &ids)
                .await?
                .into_iter()
                .collect();
            for id in ids {
                let is_live = live.contains(&id);
                known.insert((object, id), is_live);
                remember(object, id, is_live);
            }
        }
        for (field, object, id) in self.wanted {
            if known.get(&(object, id)) == Some(&false) {
                errors.push(FieldError::new(
                    field,
                    format!("no {object} {id} in this tenant (unknown, deleted or merged)"),
                ));
            }
        }
        Ok(())
    }
}

impl Refs {
    /// [`Refs::check`], failing with 422 `unknown-reference` naming each missing one.
    pub async fn require(self, actor: &Actor, owners: &Owners) -> Result<()> {
        let mut errors = Vec::new();
        self.check(actor, owners, &mut errors).await?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::UnknownReference(errors))
        }
    }
}

tokio::task_local! {
    /// Answers already given in this request ([`scope`]).
    static KNOWN: RefCell<HashMap<(&'static str, Uuid), bool>>;
}

fn remembered(object: &'static str, id: Uuid) -> Option<bool> {
    KNOWN
        .try_with(|k| k.borrow().get(&(object, id)).copied())
        .ok()
        .flatten()
}

fn remember(object: &'static str, id: Uuid, live: bool) {
    let _ = KNOWN.try_with(|k| k.borrow_mut().insert((object, id), live));
}

/// Runs `f` (one request) with one memory of look-up answers: every id is asked once
/// however many items of a batch name it. Nothing is kept beyond `f`.
pub async fn scope<F: std::future::Future>(f: F) -> F::Output {
    KNOWN.scope(RefCell::new(HashMap::new()), f).await
}

/// The ids among `ids` naming live records of `table` in `tenant`: the in-process answer of a
/// [`Lookup`], on whatever connection the caller holds.
pub async fn live_ids(
    conn: &mut sqlx::PgConnection,
    table: &str,
    tenant: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE tenant_id = $1 AND id = ANY($2) AND deleted_at IS NULL"
    ))
    .bind(tenant)
    .bind(ids)
    .fetch_all(conn)
    .await?)
}

/// Refuses an object type a [`Lookup`] does not own (a wiring mistake, hence a 500).
pub fn not_owned(context: &str, object: &str) -> crate::Error {
    crate::Error::internal(format!("the {context} context owns no '{object}' records"))
}
