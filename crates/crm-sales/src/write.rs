//! Writing opportunities: validation of every field at once, the pipeline and stage a write
//! names, the stage rules of [`crate::domain`], stage history and events, all in the
//! caller's transaction.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::record::{self, Writer};
use crm_core::{Actor, Error, FieldError, Patch, Result};

use crate::domain::{self, RuleError};
use crate::opportunity::{
    MoveRequest, NewOpportunity, Opportunity, OpportunityPatch, ReopenRequest,
};
use crate::resolve::{self, Named};
use crate::{Sales, events, history, pipeline};

mod columns;
use columns::{derived_columns, finish, plain_columns, rule_request, value, verdict};

impl Sales {
    /// Creates an opportunity; `check_refs` checks company and contact through the
    /// customers context.
    async fn create_opportunity(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewOpportunity,
        check_refs: bool,
    ) -> Result<Opportunity> {
        let mut p = OpportunityPatch::from(input);
        if p.owner_id.is_absent() {
            p.owner_id = Patch::Value(actor.user_id);
        }
        let (company, contact) = (value(&p.company_id), value(&p.primary_contact_id));
        // The caller as default owner needs no check: a token names a user of the tenant.
        let owner = value(&p.owner_id).filter(|o| *o != actor.user_id);
        let mut b = ColumnsBuilder::new(true);
        plain_columns(&mut b, &mut p);
        let req = rule_request(&mut b, &mut p);
        let (mut errors, mut missing, mut between) = (Vec::new(), Vec::new(), Vec::new());
        let pipeline = match std::mem::take(&mut p.pipeline_id) {
            Patch::Value(id) if resolve::pipeline_exists(conn, actor.tenant_id, id).await? => {
                Some(id)
            }
            Patch::Value(id) => {
                missing.push(FieldError::new(
                    "pipeline_id",
                    format!("no pipeline {id} in this tenant (unknown or deleted)"),
                ));
                None
            }
            _ => Some(
                pipeline::ensure_default_pipeline(conn, actor)
                    .await?
                    .meta
                    .id,
            ),
        };
        let mut stage = None;
        if let Some(pl) = pipeline {
            let (id, key) = (
                std::mem::take(&mut p.stage_id),
                std::mem::take(&mut p.stage_key),
            );
            stage = match resolve::named_stage(
                conn,
                actor.tenant_id,
                pl,
                id,
                key,
                &mut errors,
                &mut missing,
            )
            .await?
            {
                Named::Found(s) => Some(*s),
                Named::Invalid => None,
                Named::Nothing => {
                    resolve::first_or_error(conn, actor.tenant_id, pl, &mut errors).await?
                }
            };
        }
        if check_refs {
            self.check_references(actor, owner, company, contact, &mut missing)
                .await?;
        } else {
            self.check_references(actor, owner, None, None, &mut missing)
                .await?;
        }
        let standing = match &stage {
            Some(s) => verdict(domain::enter(&s.facts(), req, Utc::now()), &mut between)?,
            None => None,
        };
        let mut cols = finish(b, errors, missing, between)?;
        let (Some(stage), Some(standing)) = (stage, standing) else {
            return Err(Error::internal("a valid opportunity without a stage"));
        };
        derived_columns(&mut cols, Some(&stage), &standing);
        let created = record::create::<Opportunity>(conn, actor, cols).await?;
        history::append(conn, actor, None, &created).await?;
        events::stage_entered(conn, actor, None, &created).await?;
        Ok(created)
    }

    /// Creates an opportunity whose `company_id` / `primary_contact_id` the caller vouches
    /// for, in the caller's transaction: lead conversion creates them in that same
    /// transaction, where the customers API (on its own connection) cannot see them yet.
    /// Everything else is validated as in `POST /opportunities`.
    pub async fn create_linked(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewOpportunity,
    ) -> Result<Opportunity> {
        self.create_opportunity(conn, actor, input, false).await
    }

    async fn update_opportunity(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        mut p: OpportunityPatch,
    ) -> Result<Opportunity> {
        let tenant = actor.tenant_id;
        let before = record::lock::<Opportunity>(conn, tenant, id).await?;
        if before.meta.deleted_at.is_some() {
            return Err(Error::not_found("opportunity"));
        }
        record::check_version(&before, expected)?;
        let (company, contact) = (value(&p.company_id), value(&p.primary_contact_id));
        let owner = value(&p.owner_id).filter(|o| *o != actor.user_id);
        let mut b = ColumnsBuilder::new(false);
        plain_columns(&mut b, &mut p);
        let req = rule_request(&mut b, &mut p);
        let (mut errors, mut missing, mut between) = (Vec::new(), Vec::new(), Vec::new());
        let pipeline = match std::mem::take(&mut p.pipeline_id) {
            Patch::Absent => before.pipeline_id,
            Patch::Value(pl) if pl == before.pipeline_id => pl,
            Patch::Value(pl) if resolve::pipeline_exists(conn, tenant, pl).await? => pl,
            Patch::Value(pl) => {
                missing.push(FieldError::new(
                    "pipeline_id",
                    format!("no pipeline {pl} in this tenant (unknown or deleted)"),
                ));
                before.pipeline_id
            }
            Patch::Null => {
                errors.push(FieldError::new("pipeline_id", "must not be null"));
                before.pipeline_id
            }
        };
        let (sid, skey) = (
            std::mem::take(&mut p.stage_id),
            std::mem::take(&mut p.stage_key),
        );
        let target = match resolve::named_stage(
            conn,
            tenant,
            pipeline,
            sid,
            skey,
            &mut errors,
            &mut missing,
        )
        .await?
        {
            Named::Found(s) => Some(*s),
            Named::Nothing if pipeline != before.pipeline_id => {
                resolve::first_or_error(conn, tenant, pipeline, &mut errors).await?
            }
            Named::Nothing | Named::Invalid => None,
        };
        self.check_references(actor, owner, company, contact, &mut missing)
            .await?;
        let current = before.standing();
        let rules = match &target {
            Some(s) => domain::change(&current, &s.facts(), req, Utc::now()),
            None => domain::edit(&current, req),
        };
        let standing = verdict(rules, &mut between)?;
        let mut cols = finish(b, errors, missing, between)?;
        let Some(standing) = standing else {
            return Err(Error::internal("valid fields without a verdict"));
        };
        let moved = standing.stage_id != before.stage_id;
        if moved || standing != current {
            derived_columns(&mut cols, target.as_ref().filter(|_| moved), &standing);
        }
        if cols.is_empty() {
            return Ok(before);
        }
        let after = record::write_columns::<Opportunity>(conn, actor, id, cols).await?;
        record::append_updated(conn, actor, &before, &after).await?;
        if moved {
            history::append(conn, actor, Some(&before), &after).await?;
            events::stage_entered(conn, actor, Some(&before), &after).await?;
        }
        Ok(after)
    }

    /// `POST /opportunities/{id}/move`: a stage change by the same rules as PATCH.
    pub async fn move_opportunity(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        req: MoveRequest,
    ) -> Result<Opportunity> {
        if req.stage_id.is_none() && req.stage_key.is_none() {
            return Err(Error::invalid("stage_id", "give stage_id or stage_key"));
        }
        let patch = OpportunityPatch {
            stage_id: req.stage_id.into(),
            stage_key: req.stage_key.into(),
            loss_reason: req.loss_reason.into(),
            ..OpportunityPatch::default()
        };
        self.update_opportunity(conn, actor, id, expected, patch)
            .await
    }

    /// `POST /opportunities/{id}/reopen`: a closed opportunity back into an open stage.
    pub async fn reopen_opportunity(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        req: ReopenRequest,
    ) -> Result<Opportunity> {
        let before = record::lock::<Opportunity>(conn, actor.tenant_id, id).await?;
        if before.meta.deleted_at.is_some() {
            return Err(Error::not_found("opportunity"));
        }
        record::check_version(&before, expected)?;
        if !before.status.is_closed() {
            return Err(RuleError::NotClosed.into());
        }
        let field = if req.stage_id.is_some() {
            "stage_id"
        } else {
            "stage_key"
        };
        let (mut errors, mut missing) = (Vec::new(), Vec::new());
        let named = resolve::named_stage(
            conn,
            actor.tenant_id,
            before.pipeline_id,
            req.stage_id.into(),
            req.stage_key.into(),
            &mut errors,
            &mut missing,
        )
        .await?;
        let stage = match named {
            Named::Found(s) => *s,
            Named::Nothing => return Err(Error::invalid("stage_id", "give stage_id or stage_key")),
            Named::Invalid if errors.is_empty() => return Err(Error::UnknownReference(missing)),
            Named::Invalid => return Err(Error::Validation(errors)),
        };
        let standing = domain::reopen(&before.standing(), &stage.facts()).map_err(|e| match e {
            RuleError::StageNotOpen => Error::invalid(field, "must be an open stage"),
            other => other.into(),
        })?;
        let mut cols = Vec::new();
        derived_columns(&mut cols, Some(&stage), &standing);
        let after = record::write_columns::<Opportunity>(conn, actor, id, cols).await?;
        record::append_updated(conn, actor, &before, &after).await?;
        history::append(conn, actor, Some(&before), &after).await?;
        events::stage_entered(conn, actor, Some(&before), &after).await?;
        Ok(after)
    }
}

#[async_trait]
impl Writer<Opportunity> for Sales {
    type Create = NewOpportunity;
    type Patch = OpportunityPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewOpportunity,
    ) -> Result<Opportunity> {
        self.create_opportunity(conn, actor, input, true).await
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: OpportunityPatch,
    ) -> Result<Opportunity> {
        self.update_opportunity(conn, actor, id, expected, patch)
            .await
    }
}
