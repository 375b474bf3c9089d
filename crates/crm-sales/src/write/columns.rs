//! The columns of an opportunity write: the fields stored as given, the rule fields checked
//! in shape, the derived ones, and the 422 that names every bad field.

use crm_core::columns::ColumnsBuilder;
use crm_core::query::SqlValue;
use crm_core::record::Columns;
use crm_core::{Error, FieldError, Patch, Result, validate};

use crate::domain::{Request, RuleError, Standing};
use crate::opportunity::OpportunityPatch;
use crate::stage::Stage;

pub(super) fn value<T: Copy>(p: &Patch<T>) -> Option<T> {
    match p {
        Patch::Value(v) => Some(*v),
        _ => None,
    }
}

/// The fields stored as given.
pub(super) fn plain_columns(b: &mut ColumnsBuilder, p: &mut OpportunityPatch) {
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
pub(super) fn rule_request(b: &mut ColumnsBuilder, p: &mut OpportunityPatch) -> Request {
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
pub(super) fn verdict(
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
pub(super) fn derived_columns(cols: &mut Columns, stage: Option<&Stage>, s: &Standing) {
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
pub(super) fn finish(
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
