//! The seeded truth: what a deployment holding a data set must report, computed from the
//! generator alone — records per kind, and the figures of `/analytics/totals`, `/pipeline`,
//! `/forecast` (by month), `/win-rate` and `/funnel` with no filters. [`super::check`]
//! holds a deployment against it.
//!
//! The figure types mirror the analytics responses without the ids the generator cannot
//! know (pipeline and stage ids); a response deserialises into them, extra fields ignored,
//! and compares with `==`. Money sums are exact integers; ratios are computed as the
//! service computes them (`part as f64 / whole as f64`) and compare to within 1e-12
//! (parsing JSON need not give back a float's last bit).

use crate::seed::generator::StageStatus;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use crm_sales::domain::{DEFAULT_PIPELINE_NAME, FORECAST_CATEGORIES, Status};

use super::generator::{Plan, STAGES};
use super::plan::LEAD_STATUSES;
use super::{Size, generator};

mod figures;

pub use figures::*;

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| part as f64 / whole as f64)
}

/// Adds one opportunity to figures: `weighted` collects Σ amount × probability per
/// currency, divided by 100 once at the end as the service does.
fn add(
    f: &mut Figures,
    weighted: &mut BTreeMap<String, i128>,
    amount: Option<generator::Money>,
    probability: i64,
) {
    f.count += 1;
    let Some(m) = amount else { return };
    let i = match f.by_currency.iter().position(|c| c.currency == m.currency) {
        Some(i) => i,
        None => {
            f.by_currency.push(CurrencyAmount {
                currency: m.currency.to_owned(),
                ..CurrencyAmount::default()
            });
            f.by_currency.sort_by(|a, b| a.currency.cmp(&b.currency));
            f.by_currency
                .iter()
                .position(|c| c.currency == m.currency)
                .expect("pushed")
        }
    };
    f.by_currency[i].count += 1;
    f.by_currency[i].amount_micros += m.micros;
    *weighted.entry(m.currency.to_owned()).or_default() +=
        i128::from(m.micros) * i128::from(probability);
}

fn finish(f: &mut Figures, weighted: &BTreeMap<String, i128>) {
    for c in &mut f.by_currency {
        c.weighted_amount_micros = (weighted[&c.currency] / 100) as i64;
    }
}

/// The truth of the data set of `size` and `seed`.
pub fn truth(size: Size, seed: u64) -> Truth {
    truth_of(&Plan::new(size, seed))
}

pub(crate) fn truth_of(plan: &Plan) -> Truth {
    let mut stage_figures: Vec<(Figures, BTreeMap<String, i128>)> =
        vec![Default::default(); STAGES.len()];
    // (month start, category rank) -> figures
    let mut forecast: BTreeMap<(NaiveDate, usize), (Figures, BTreeMap<String, i128>)> =
        BTreeMap::new();
    let mut total = (Figures::default(), BTreeMap::new());
    let mut by_status: BTreeMap<String, i64> =
        Status::ALL.iter().map(|s| ((*s).to_owned(), 0)).collect();
    let mut amounts: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut win: BTreeMap<String, WinRateAmounts> = BTreeMap::new();
    let mut history = 0u64;
    for o in 0..plan.opportunities() {
        let opp = plan.opportunity(o);
        history += opp.path.len() as u64;
        let stage = opp.stage();
        let status = stage.status();
        let last = opp.path.last().expect("a path").stage;
        *by_status.get_mut(status).expect("a status") += 1;
        if status == "open" {
            let (f, w) = &mut stage_figures[last];
            add(f, w, opp.amount, stage.probability);
            add(&mut total.0, &mut total.1, opp.amount, stage.probability);
        }
        let category = match status {
            "won" => "closed",
            "lost" => "omitted",
            _ => stage.forecast_category,
        };
        let rank = FORECAST_CATEGORIES
            .iter()
            .position(|c| *c == category)
            .expect("a category");
        let month = opp.close_date.with_day(1).expect("day 1");
        let (f, w) = forecast.entry((month, rank)).or_default();
        add(f, w, opp.amount, stage.probability);
        if let Some(m) = opp.amount {
            let a = amounts
                .entry((status.to_owned(), m.currency.to_owned()))
                .or_default();
            a.0 += 1;
            a.1 += m.micros;
        }
        if status != "open" {
            let e = win.entry(opp.amount.map_or(String::new(), |m| m.currency.to_owned()));
            let w = e.or_insert_with_key(|c| WinRateAmounts {
                currency: c.clone(),
                won: 0,
                lost: 0,
                won_amount_micros: 0,
                lost_amount_micros: 0,
                win_rate_by_amount: None,
            });
            let micros = opp.amount.map_or(0, |m| m.micros);
            if status == "won" {
                w.won += 1;
                w.won_amount_micros += micros;
            } else {
                w.lost += 1;
                w.lost_amount_micros += micros;
            }
        }
    }

    let stages = STAGES
        .iter()
        .zip(stage_figures)
        .zip(1..)
        .map(|((def, (mut f, w)), position)| {
            finish(&mut f, &w);
            StageFigures {
                key: Some(def.key.to_owned()),
                label: Some(def.label.to_owned()),
                position: Some(position),
                figures: f,
            }
        })
        .collect();
    finish(&mut total.0, &total.1);
    let mut periods: Vec<ForecastPeriod> = Vec::new();
    for ((start, rank), (mut f, w)) in forecast {
        finish(&mut f, &w);
        if periods.last().is_none_or(|p| p.start != start) {
            let end = start
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .expect("a month end");
            periods.push(ForecastPeriod {
                period: start.format("%Y-%m").to_string(),
                start,
                end,
                categories: Vec::new(),
            });
        }
        periods
            .last_mut()
            .expect("pushed")
            .categories
            .push(ForecastCategory {
                forecast_category: FORECAST_CATEGORIES[rank].to_owned(),
                figures: f,
            });
    }
    let (won, lost) = (by_status["won"], by_status["lost"]);
    // Closed deals without an amount count, but in no currency.
    let by_currency: Vec<WinRateAmounts> = win
        .into_values()
        .filter(|w| !w.currency.is_empty())
        .map(|mut w| {
            w.win_rate_by_amount = ratio(
                w.won_amount_micros,
                w.won_amount_micros + w.lost_amount_micros,
            );
            w
        })
        .collect();

    let mut lead_status: BTreeMap<String, i64> =
        LEAD_STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
    for l in 0..plan.sizes.leads {
        *lead_status.get_mut(plan.lead_status(l)).expect("a status") += 1;
    }
    let leads = i64::from(plan.sizes.leads);
    let converted = lead_status["converted"];
    let links: u64 = (0..plan.sizes.activities)
        .map(|a| plan.activity(a).links.len() as u64)
        .sum();

    let counts = [
        ("users", u64::from(plan.team_size()) + 1),
        ("companies", plan.sizes.companies.into()),
        ("contacts", plan.sizes.contacts.into()),
        ("leads", plan.sizes.leads.into()),
        ("opportunities", plan.opportunities().into()),
        ("stage_history", history),
        ("activities", plan.sizes.activities.into()),
        ("activity_links", links),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Truth {
        counts,
        totals: Totals {
            opportunities: OpportunityTotals {
                live: i64::from(plan.opportunities()),
                deleted: 0,
                by_status,
                amounts: amounts
                    .into_iter()
                    .map(
                        |((status, currency), (count, amount_micros))| StatusAmount {
                            status,
                            currency,
                            count,
                            amount_micros,
                        },
                    )
                    .collect(),
            },
            leads: LeadTotals {
                live: leads,
                deleted: 0,
                by_status: lead_status.clone(),
            },
        },
        pipeline: Pipeline {
            pipeline_name: Some(DEFAULT_PIPELINE_NAME.to_owned()),
            stages,
            total: total.0,
        },
        forecast: Forecast { periods },
        win_rate: WinRate {
            won,
            lost,
            win_rate: ratio(won, won + lost),
            by_currency,
        },
        funnel: Funnel {
            total: leads,
            by_status: lead_status,
            converted,
            conversion_rate: ratio(converted, leads),
        },
    }
}
