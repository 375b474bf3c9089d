//! How a write recomputes a lead: the status machine's bookkeeping and rules (an owner for
//! assigned and working leads, a reason to disqualify) and the score, from the lead as it
//! will be after the write.

use crm_core::columns::ColumnsBuilder;
use crm_core::query::SqlValue;
use crm_core::record::Columns;
use crm_core::{Money, Patch, Result, validate};

use super::Lead;
use crate::domain::{self, Status};

/// Adds the derived columns (status bookkeeping, score) and checks the status rules, given
/// the lead as it was (`None` when creating).
pub(super) fn derive(
    b: &mut ColumnsBuilder,
    cols: &mut Columns,
    current: Option<&Lead>,
    status: Patch<Status>,
    reason: Patch<String>,
) -> Result<Option<(Status, Status)>> {
    let owner_after = match cols.iter().find(|(c, _)| *c == "owner_id") {
        Some((_, SqlValue::Uuid(v))) => *v,
        _ => current.and_then(|l| l.owner_id),
    };
    let from = current.map_or(Status::New, |l| l.status);
    let to = match status {
        Patch::Absent if current.is_none() && owner_after.is_some() => Status::Assigned,
        Patch::Absent if from == Status::New && owner_after.is_some() => Status::Assigned,
        Patch::Absent => from,
        Patch::Null => {
            b.error("status", "must not be null");
            from
        }
        Patch::Value(to) if to == from => from,
        Patch::Value(to) => from.transition(to)?,
    };
    if matches!(to, Status::Assigned | Status::Working) && owner_after.is_none() {
        b.inconsistent(
            "owner_id",
            format!("is required for a {} lead", to.as_str()),
        );
    }
    let mut reason_invalid = false;
    let reason_after = match reason {
        Patch::Absent => current.and_then(|l| l.disqualify_reason.clone()),
        Patch::Null => None,
        Patch::Value(r) => match validate::text("disqualify_reason", &r, 1, 500) {
            Ok(r) => Some(r),
            Err(e) => {
                b.error(e.field, e.message);
                reason_invalid = true;
                None
            }
        },
    };
    if to == Status::Disqualified && reason_after.is_none() && !reason_invalid {
        b.inconsistent("disqualify_reason", "is required to disqualify a lead");
    }
    let changed = (to != from || current.is_none()).then_some((from, to));
    if changed.is_some() {
        cols.push(("status", SqlValue::Text(Some(to.as_str().to_owned()))));
        cols.push((
            "status_changed_at",
            SqlValue::Timestamp(Some(chrono::Utc::now())),
        ));
        let keep_reason = to == Status::Disqualified;
        cols.push((
            "disqualify_reason",
            SqlValue::Text(if keep_reason { reason_after } else { None }),
        ));
    }
    Ok(changed)
}

/// Appends the score columns, computed from the lead after this write.
pub(super) fn add_score(cols: &mut Columns, current: Option<&Lead>) -> Result<()> {
    let money = match (
        cols.iter().find(|(c, _)| *c == "estimated_value_micros"),
        cols.iter().find(|(c, _)| *c == "estimated_value_currency"),
    ) {
        (Some((_, SqlValue::Int(a))), Some((_, SqlValue::Text(c)))) => {
            Money::from_columns(*a, c.clone())
        }
        _ => current.and_then(|l| l.estimated_value.clone()),
    };
    let (score, reasons) = domain::score(&domain::ScoreInput {
        email: text_after(cols, "email", current.and_then(|l| l.email.as_deref())),
        phone: text_after(cols, "phone", current.and_then(|l| l.phone.as_deref())),
        company_name: text_after(
            cols,
            "company_name",
            current.and_then(|l| l.company_name.as_deref()),
        ),
        title: text_after(cols, "title", current.and_then(|l| l.title.as_deref())),
        source: text_after(cols, "source", current.map(|l| l.source.as_str())).unwrap_or("other"),
        estimated_value: money.as_ref(),
    });
    cols.push(("score", SqlValue::Int(Some(score.into()))));
    cols.push((
        "score_reasons",
        SqlValue::Json(Some(serde_json::to_value(reasons)?)),
    ));
    Ok(())
}

/// The value a column will have: the one being written, else the current one.
fn text_after<'a>(cols: &'a Columns, col: &str, current: Option<&'a str>) -> Option<&'a str> {
    match cols.iter().find(|(c, _)| *c == col) {
        Some((_, SqlValue::Text(v))) => v.as_deref(),
        _ => current,
    }
}
