//! Writing opportunities: validation of every field at once, the pipeline and stage a write
//! names, the stage rules of [`crate::domain`], stage history and events, all in the
//! caller's transaction.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::SqlValue;
use crm_core::record::{self, Columns, Writer};
use crm_core::{Actor, Error, FieldError, Patch, Result, validate};

use crate::domain::{self, Request, RuleError, Standing};
use crate::opportunity::{
    MoveRequest, NewOpportunity, Opportunity, OpportunityPatch, ReopenRequest,
};
use crate::resolve::{self, Named};
use crate::stage::Stage;
use crate::{Sales, events, history, pipeline};

fn value<T: Copy>(p: &Patch<T>) -> Option<T> {
    match p {
        Patch::Value(v) => Some(*v),
        _ => None,
    }
}

/// The fields stored as given.
fn plain_columns(b: &mut ColumnsBuilder, p: &mut OpportunityPatch) {
    use std::mem::take;
    b.text("name", "name", take(&mut p.name), true, 200);
    b.money(
        "amount_micros",
        "amount_currency",
        "amount",
        take(&mut p.amount),
        false,
    );
    b.date("close_date", "close_date", take(&mut p.close_date), false);
    b.uuid("company_id", "company_id", take(&mut p.company_id), false);
    b.uuid(
        "primary_contact_id",
        "primary_contact_id",
        take(&mut p.primary_contact_id),
        false,
    );
    b.uuid("owner_id", "owner_id", take(&mut p.owner_id), false);
    b.uuid(
        "original_lead_id",
        "original_lead_id",
        take(&mut p.original_lead_id),
        false,
    );
}

/// Probability and loss reason, checked in shape; the rules decide whether they apply.
fn rule_request(b: &mut ColumnsBuilder, p: &mut OpportunityPatch) -> Request {
    let probability = match std::mem::take(&mut p.probability) {
        Patch::Value(n) => match validate::range("probability", n, 0, 100) {
            Ok(n) => Patch::Value(n),
            Err(e) => {
                b.error(e.field, e.message);
                Patch::Absent
            }
        },
        other => other,
    };
    let loss_reason = match std::mem::take(&mut p.loss_reason) {
        Patch::Value(s) if s.trim().is_empty() => Patch::Null,
        Patch::Value(s) => match validate::text("loss_reason", &s, 1, 1000) {
            Ok(s) => Patch::Value(s),
            Err(e) => {
                b.error(e.field, e.message);
                Patch::Absent
            }
        },
        other => other,
    };
    Request {
        probability,
        loss_reason,
    }
}

/// Applies the rules' verdict: field errors join the others, refusals end the write.
fn verdict(
    r: std::result::Result<Standing, RuleError>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Standing>> {
    match r {
        Ok(s) => Ok(Some(s)),
        Err(RuleError::Invalid(es)) => {
            errors.extend(es);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The derived columns: those of `stage` when entering it, and the standing's.
fn derived_columns(cols: &mut Columns, stage: Option<&Stage>, s: &Standing) {
    if let Some(stage) = stage {
        cols.push(("pipeline_id", SqlValue::Uuid(Some(stage.pipeline_id))));
        cols.push(("stage_id", SqlValue::Uuid(Some(stage.meta.id))));
        cols.push(("stage_key", SqlValue::Text(Some(stage.key.clone()))));
        cols.push((
            "forecast_category",
            SqlValue::Text(Some(stage.forecast_category.clone())),
        ));
    }
    cols.push(("status", SqlValue::Text(Some(s.status.as_str().into()))));
    cols.push(("probability", SqlValue::Int(Some(s.probability))));
    cols.push(("loss_reason", SqlValue::Text(s.loss_reason.clone())));
    cols.push(("closed_at", SqlValue::Timestamp(s.closed_at)));
}

/// The columns, or a 422: `validation` naming every bad field when the body itself is
/// wrong, else `unknown-reference` naming the fields whose ids name no live record, else
/// `inconsistent` naming those the stage rules refuse (`between`).
fn finish(
    mut b: ColumnsBuilder,
    errors: Vec<FieldError>,
    missing: Vec<FieldError>,
    between: Vec<FieldError>,
) -> Result<Columns> {
    for e in errors {
        b.error(e.field, e.message);
    }
    for e in between {
        b.inconsistent(e.field, e.message);
    }
    if !b.is_ok() {
        for e in missing {
            b.error(e.field, e.message);
        }
        return b.finish();
    }
    if !missing.is_empty() {
        return Err(Error::UnknownReference(missing));
    }
    b.finish()
}

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
