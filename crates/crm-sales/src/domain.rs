//! The sales rules, free of I/O: stage keys, the default stages, and what a stage change
//! does to an opportunity (status, probability, closed_at, loss_reason).
//!
//! - Won: probability 100 and `closed_at` set.
//! - Lost: a `loss_reason` is required; probability 0 and `closed_at` set.
//! - A closed opportunity keeps its stage until it is reopened explicitly, into an open stage;
//!   reopening clears `closed_at` and `loss_reason`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::{Error, FieldError, Patch};

/// Forecast categories, from most to least likely to close.
pub const FORECAST_CATEGORIES: &[&str] = &["pipeline", "best_case", "commit", "closed", "omitted"];

/// Where an opportunity stands, derived from its stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Won,
    Lost,
}

impl Status {
    pub const ALL: &'static [&'static str] = &["open", "won", "lost"];

    pub fn of(is_closed: bool, is_won: bool) -> Status {
        match (is_closed, is_won) {
            (_, true) => Status::Won,
            (true, false) => Status::Lost,
            (false, false) => Status::Open,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Won => "won",
            Status::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Won, Status::Lost]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    pub fn is_closed(self) -> bool {
        self != Status::Open
    }
}

/// A stage key: `[a-z0-9_]{1,40}` (surrounding blanks are dropped).
pub fn stage_key(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = (1..=40).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(v.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be 1 to 40 characters of a-z, 0-9 and _",
        ))
    }
}

/// The forecast category a stage gets when none is given.
pub fn default_forecast(is_closed: bool, is_won: bool) -> &'static str {
    match Status::of(is_closed, is_won) {
        Status::Won => "closed",
        Status::Lost => "omitted",
        Status::Open => "pipeline",
    }
}

/// One stage of the default set.
#[derive(Clone, Copy, Debug)]
pub struct DefaultStage {
    pub key: &'static str,
    pub label: &'static str,
    pub probability: i64,
    pub forecast_category: &'static str,
    pub is_closed: bool,
    pub is_won: bool,
}

const fn stage(
    key: &'static str,
    label: &'static str,
    probability: i64,
    forecast_category: &'static str,
    is_closed: bool,
    is_won: bool,
) -> DefaultStage {
    DefaultStage {
        key,
        label,
        probability,
        forecast_category,
        is_closed,
        is_won,
    }
}

/// The stages of a pipeline created without any, in order.
pub const DEFAULT_STAGES: &[DefaultStage] = &[
    stage("prospecting", "Prospecting", 10, "pipeline", false, false),
    stage(
        "qualification",
        "Qualification",
        20,
        "pipeline",
        false,
        false,
    ),
    stage("proposal", "Proposal", 50, "best_case", false, false),
    stage("negotiation", "Negotiation", 80, "commit", false, false),
    stage("closed_won", "Closed won", 100, "closed", true, true),
    stage("closed_lost", "Closed lost", 0, "omitted", true, false),
];

/// The name of a lazily created default pipeline.
pub const DEFAULT_PIPELINE_NAME: &str = "Sales pipeline";

/// What the rules need to know of a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageFacts {
    pub id: Uuid,
    pub probability: i64,
    pub is_closed: bool,
    pub is_won: bool,
}

impl StageFacts {
    pub fn status(&self) -> Status {
        Status::of(self.is_closed, self.is_won)
    }
}

/// The fields of an opportunity the rules decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub stage_id: Uuid,
    pub status: Status,
    pub probability: i64,
    pub loss_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What the caller asks for besides the stage (already range-checked and trimmed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub probability: Patch<i64>,
    pub loss_reason: Patch<String>,
}

/// Why a change is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// 409: a closed opportunity keeps its stage until reopened.
    Closed,
    /// 409: only a closed opportunity can be reopened.
    NotClosed,
    /// 422: reopening needs an open stage (the caller names the field).
    StageNotOpen,
    /// 422 naming fields.
    Invalid(Vec<FieldError>),
}

impl From<RuleError> for Error {
    fn from(e: RuleError) -> Error {
        match e {
            RuleError::Closed => Error::conflict(
                "invalid-transition",
                "the opportunity is closed; reopen it before changing its stage",
            ),
            RuleError::NotClosed => Error::conflict(
                "invalid-transition",
                "only a closed (won or lost) opportunity can be reopened",
            ),
            RuleError::StageNotOpen => Error::invalid("stage_id", "must be an open stage"),
            RuleError::Invalid(errors) => Error::Inconsistent(errors),
        }
    }
}

const LOSS_REQUIRED: &str = "is required when the stage is lost";
const LOSS_ONLY_LOST: &str = "applies only to a lost opportunity";

/// The standing of an opportunity entering `stage` (on creation, or from an open stage).
pub fn enter(stage: &StageFacts, req: Request, now: DateTime<Utc>) -> Result<Standing, RuleError> {
    let mut errors = Vec::new();
    let status = stage.status();
    let fixed = match status {
        Status::Won => Some(100),
        Status::Lost => Some(0),
        Status::Open => None,
    };
    let probability = match (req.probability, fixed) {
        (Patch::Null, _) => {
            errors.push(FieldError::new("probability", "must not be null"));
            0
        }
        (Patch::Value(p), Some(f)) if p != f => {
            errors.push(FieldError::new(
                "probability",
                format!("is {f} for a {} opportunity", status.as_str()),
            ));
            f
        }
        (_, Some(f)) => f,
        (Patch::Value(p), None) => p,
        (Patch::Absent, None) => stage.probability,
    };
    let loss_reason = match (status, req.loss_reason) {
        (Status::Lost, Patch::Value(r)) => Some(r),
        (Status::Lost, _) => {
            errors.push(FieldError::new("loss_reason", LOSS_REQUIRED));
            None
        }
        (_, Patch::Value(_)) => {
            errors.push(FieldError::new("loss_reason", LOSS_ONLY_LOST));
            None
        }
        (_, _) => None,
    };
    if !errors.is_empty() {
        return Err(RuleError::Invalid(errors));
    }
    Ok(Standing {
        stage_id: stage.id,
        status,
        probability,
        loss_reason,
        closed_at: status.is_closed().then_some(now),
    })
}

/// A stage change (PATCH or move). Moving to the current stage only edits.
pub fn change(
    current: &Standing,
    stage: &StageFacts,
    req: Request,
    now: DateTime<Utc>,
) -> Result<Standing, RuleError> {
    if stage.id == current.stage_id {
        return edit(current, req);
    }
    if current.status.is_closed() {
        return Err(RuleError::Closed);
    }
    enter(stage, req, now)
}

/// Changes of probability or loss reason without a stage change.
pub fn edit(current: &Standing, req: Request) -> Result<Standing, RuleError> {
    let mut errors = Vec::new();
    let mut next = current.clone();
    match (current.status, req.probability) {
        (_, Patch::Absent) => {}
        (_, Patch::Null) => errors.push(FieldError::new("probability", "must not be null")),
        (Status::Open, Patch::Value(p)) => next.probability = p,
        (_, Patch::Value(p)) if p == current.probability => {}
        (status, Patch::Value(_)) => errors.push(FieldError::new(
            "probability",
            format!(
                "is {} while the opportunity is {}; reopen it first",
                current.probability,
                status.as_str()
            ),
        )),
    }
    match (current.status, req.loss_reason) {
        (_, Patch::Absent) => {}
        (Status::Lost, Patch::Value(r)) => next.loss_reason = Some(r),
        (Status::Lost, Patch::Null) => errors.push(FieldError::new("loss_reason", LOSS_REQUIRED)),
        (_, Patch::Null) => {}
        (_, Patch::Value(_)) => errors.push(FieldError::new("loss_reason", LOSS_ONLY_LOST)),
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(RuleError::Invalid(errors))
    }
}

/// Reopens a closed opportunity into the open `stage`.
pub fn reopen(current: &Standing, stage: &StageFacts) -> Result<Standing, RuleError> {
    if !current.status.is_closed() {
        return Err(RuleError::NotClosed);
    }
    if stage.is_closed {
        return Err(RuleError::StageNotOpen);
    }
    Ok(Standing {
        stage_id: stage.id,
        status: Status::Open,
        probability: stage.probability,
        loss_reason: None,
        closed_at: None,
    })
}

#[cfg(test)]
mod tests;
