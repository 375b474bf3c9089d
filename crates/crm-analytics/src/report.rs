//! The figures the analytics endpoints answer with.
//!
//! Money is integer micros and is never added across currencies: every amount sits in a
//! per-currency entry. Sums are `i128` because a sum of `i64` micros may exceed `i64`.
//! Opportunities without an amount are counted in `count` but appear in no currency entry.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::params::Period;

/// Count and amounts of one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CurrencyAmount {
    pub currency: String,
    pub count: i64,
    pub amount_micros: i128,
    /// Σ amount × probability / 100, rounded down to whole micros once per entry.
    pub weighted_amount_micros: i128,
}

/// A count of opportunities and their amounts by currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Figures {
    pub count: i64,
    pub by_currency: Vec<CurrencyAmount>,
}

impl Figures {
    /// Adds one aggregated row; rows without a currency add to the count only.
    pub(crate) fn add(
        &mut self,
        currency: Option<String>,
        count: i64,
        amount: i128,
        weighted: i128,
    ) {
        self.count += count;
        let Some(currency) = currency else { return };
        match self.by_currency.iter_mut().find(|c| c.currency == currency) {
            Some(c) => {
                c.count += count;
                c.amount_micros += amount;
                c.weighted_amount_micros += weighted;
            }
            None => {
                self.by_currency.push(CurrencyAmount {
                    currency,
                    count,
                    amount_micros: amount,
                    weighted_amount_micros: weighted,
                });
                self.by_currency.sort_by(|a, b| a.currency.cmp(&b.currency));
            }
        }
    }
}

/// `GET /analytics/pipeline`: open opportunities per stage.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PipelineReport {
    /// The pipeline reported on; `null` when no pipeline was named and the tenant's default
    /// is not known, in which case every pipeline's stages are listed.
    pub pipeline_id: Option<Uuid>,
    pub pipeline_name: Option<String>,
    /// Ordered by pipeline, then position; stages without open opportunities included.
    pub stages: Vec<StageFigures>,
    pub total: Figures,
}

/// One stage of the board and its open opportunities.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StageFigures {
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub key: Option<String>,
    /// `null` while the stage's own events have not been projected yet.
    pub label: Option<String>,
    pub position: Option<i32>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `GET /analytics/forecast`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ForecastReport {
    pub period: Period,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Periods holding at least one close date, in order.
    pub periods: Vec<ForecastPeriod>,
}

/// One month or quarter of close dates.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ForecastPeriod {
    /// `2025-04` or `2025-Q2`.
    pub period: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// In the order pipeline, best_case, commit, closed, omitted; only those present.
    pub categories: Vec<ForecastCategory>,
}

/// The opportunities of one forecast category within a period.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ForecastCategory {
    /// Won opportunities count as `closed`, lost ones as `omitted`, whatever their stage says.
    pub forecast_category: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `GET /analytics/win-rate`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WinRateReport {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub owner_id: Option<Uuid>,
    pub won: i64,
    pub lost: i64,
    /// won / (won + lost) by count; `null` when nothing closed.
    pub win_rate: Option<f64>,
    pub by_currency: Vec<WinRateAmounts>,
}

/// Won and lost opportunities of one currency.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WinRateAmounts {
    pub currency: String,
    pub won: i64,
    pub lost: i64,
    pub won_amount_micros: i128,
    pub lost_amount_micros: i128,
    /// won amount / (won + lost amount); `null` when both are zero.
    pub win_rate_by_amount: Option<f64>,
}

/// `GET /analytics/funnel`: leads created in the range, by their current status.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FunnelReport {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub total: i64,
    /// Every status of the lead machine, zero when none.
    pub by_status: BTreeMap<String, i64>,
    pub converted: i64,
    /// converted / total; `null` when no lead was created in the range.
    pub conversion_rate: Option<f64>,
}

/// `GET /analytics/totals`: exact figures to reconcile with the source tables.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Totals {
    pub opportunities: OpportunityTotals,
    pub leads: LeadTotals,
}

/// Opportunities as the projection holds them.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OpportunityTotals {
    /// Records not deleted.
    pub live: i64,
    /// Deleted records still kept by the projection (not part of any figure).
    pub deleted: i64,
    pub by_status: BTreeMap<String, i64>,
    /// Live opportunities with an amount, by status and currency.
    pub amounts: Vec<StatusAmount>,
}

/// Live opportunities of one status and currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StatusAmount {
    pub status: String,
    pub currency: String,
    pub count: i64,
    pub amount_micros: i128,
}

/// Leads as the projection holds them.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LeadTotals {
    pub live: i64,
    pub deleted: i64,
    pub by_status: BTreeMap<String, i64>,
}

/// A ratio, or `None` for 0 / 0.
pub(crate) fn ratio(part: i128, whole: i128) -> Option<f64> {
    (whole != 0).then(|| part as f64 / whole as f64)
}

/// Opportunity statuses, always present in `by_status`.
pub const OPPORTUNITY_STATUSES: [&str; 3] = ["open", "won", "lost"];

/// Lead statuses, always present in `by_status`.
pub const LEAD_STATUSES: [&str; 6] = [
    "new",
    "assigned",
    "working",
    "converted",
    "disqualified",
    "recycled",
];

/// A `by_status` map with every known status at zero.
pub(crate) fn zeroed(statuses: &[&str]) -> BTreeMap<String, i64> {
    statuses.iter().map(|s| ((*s).to_owned(), 0)).collect()
}
