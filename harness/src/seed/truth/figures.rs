//! The figure types of the seeded truth: the analytics responses without the ids the
//! generator cannot know, deserialised from a response and compared with `==` (ratios to
//! within 1e-12).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Count and amounts of one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyAmount {
    pub currency: String,
    pub count: i64,
    pub amount_micros: i64,
    pub weighted_amount_micros: i64,
}

/// Opportunities counted, and their amounts per currency (those without an amount count
/// but have no currency entry).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub count: i64,
    pub by_currency: Vec<CurrencyAmount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageFigures {
    pub key: Option<String>,
    pub label: Option<String>,
    pub position: Option<i32>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `GET /analytics/pipeline` of the default pipeline: open opportunities per stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub pipeline_name: Option<String>,
    pub stages: Vec<StageFigures>,
    pub total: Figures,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastCategory {
    pub forecast_category: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastPeriod {
    pub period: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub categories: Vec<ForecastCategory>,
}

/// `GET /analytics/forecast` (by month): the weighted forecast by close month and category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forecast {
    pub periods: Vec<ForecastPeriod>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WinRateAmounts {
    pub currency: String,
    pub won: i64,
    pub lost: i64,
    pub won_amount_micros: i64,
    pub lost_amount_micros: i64,
    pub win_rate_by_amount: Option<f64>,
}

/// `GET /analytics/win-rate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WinRate {
    pub won: i64,
    pub lost: i64,
    pub win_rate: Option<f64>,
    pub by_currency: Vec<WinRateAmounts>,
}

/// `GET /analytics/funnel`: leads by status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Funnel {
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
    pub converted: i64,
    pub conversion_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAmount {
    pub status: String,
    pub currency: String,
    pub count: i64,
    pub amount_micros: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityTotals {
    pub live: i64,
    pub deleted: i64,
    pub by_status: BTreeMap<String, i64>,
    pub amounts: Vec<StatusAmount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadTotals {
    pub live: i64,
    pub deleted: i64,
    pub by_status: BTreeMap<String, i64>,
}

/// `GET /analytics/totals`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub opportunities: OpportunityTotals,
    pub leads: LeadTotals,
}

/// Everything a deployment seeded with one size and seed must report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Records per kind: `users` (team and admin), `companies`, `contacts`, `leads`,
    /// `opportunities`, `stage_history`, `activities`, `activity_links`.
    pub counts: BTreeMap<String, u64>,
    pub totals: Totals,
    pub pipeline: Pipeline,
    pub forecast: Forecast,
    pub win_rate: WinRate,
    pub funnel: Funnel,
}

/// Ratios equal up to the last bit or two: JSON parsing need not round-trip a float exactly.
fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0),
        (a, b) => a.is_none() && b.is_none(),
    }
}

impl PartialEq for WinRateAmounts {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.currency,
            self.won,
            self.lost,
            self.won_amount_micros,
            self.lost_amount_micros,
        ) == (
            &o.currency,
            o.won,
            o.lost,
            o.won_amount_micros,
            o.lost_amount_micros,
        ) && close(self.win_rate_by_amount, o.win_rate_by_amount)
    }
}

impl PartialEq for WinRate {
    fn eq(&self, o: &Self) -> bool {
        (self.won, self.lost, &self.by_currency) == (o.won, o.lost, &o.by_currency)
            && close(self.win_rate, o.win_rate)
    }
}

impl PartialEq for Funnel {
    fn eq(&self, o: &Self) -> bool {
        (self.total, &self.by_status, self.converted) == (o.total, &o.by_status, o.converted)
            && close(self.conversion_rate, o.conversion_rate)
    }
}
