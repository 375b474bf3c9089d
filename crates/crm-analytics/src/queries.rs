//! The dashboards' queries over the projections; every one scoped to the caller's tenant and
//! to live (not deleted) rows.
//!
//! Sums are computed in SQL as `numeric` and travel as text into `i128`, so no amount ever
//! passes through a float and no sum can overflow. Weighted amounts are
//! `div(Σ amount × probability, 100)`: exact, then rounded down once.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crm_core::{Action, Actor, Error, Object, Result};

use crate::Analytics;
use crate::params::{DateRange, Period};
use crate::report::*;

/// A `numeric` sum sent as text; `NULL` (no rows with an amount) is zero.
pub(crate) fn micros(s: Option<String>) -> Result<i128> {
    s.map_or(Ok(0), |s| {
        s.parse()
            .map_err(|e| Error::internal(format!("sum '{s}' is not an integer: {e}")))
    })
}

const SUMS: &str = "count(*) AS count, sum(amount_micros)::text AS amount,
    div(sum(amount_micros::numeric * probability), 100)::text AS weighted";

/// The forecast category an opportunity counts under: its outcome once closed.
const CATEGORY: &str = "CASE status WHEN 'won' THEN 'closed' WHEN 'lost' THEN 'omitted'
    ELSE coalesce(forecast_category, 'pipeline') END";

/// Count and sums of one currency (`NULL`: opportunities without an amount).
#[derive(sqlx::FromRow)]
struct Sums {
    currency: Option<String>,
    count: i64,
    amount: Option<String>,
    weighted: Option<String>,
}

impl Sums {
    fn add_to(&self, figures: &mut Figures) -> Result<()> {
        let (amount, weighted) = (micros(self.amount.clone())?, micros(self.weighted.clone())?);
        figures.add(self.currency.clone(), self.count, amount, weighted);
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct Stage {
    id: Uuid,
    pipeline_id: Option<Uuid>,
    key: Option<String>,
    label: Option<String>,
    position: Option<i32>,
    deleted: bool,
}

#[derive(sqlx::FromRow)]
struct StageSums {
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    stage_key: Option<String>,
    #[sqlx(flatten)]
    sums: Sums,
}

#[derive(sqlx::FromRow)]
struct ForecastSums {
    start: NaiveDate,
    category: String,
    #[sqlx(flatten)]
    sums: Sums,
}

impl Analytics {
    /// Open opportunities per stage of `pipeline_id`, or of the tenant's default pipeline,
    /// or of every pipeline when no default is known yet.
    pub async fn pipeline(
        &self,
        actor: &Actor,
        pipeline_id: Option<Uuid>,
    ) -> Result<PipelineReport> {
        actor.require(Action::Read, Object::Analytics)?;
        let tenant = actor.tenant_id;
        let mut conn = self.pool.acquire().await?;
        let pipeline: Option<(Uuid, Option<String>)> = match pipeline_id {
            Some(id) => {
                sqlx::query_as(
                    "SELECT $2::uuid, (SELECT name FROM crm_analytics.pipelines
                 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL)",
                )
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT id, name FROM crm_analytics.pipelines
                 WHERE tenant_id = $1 AND is_default AND deleted_at IS NULL
                 ORDER BY last_occurred_at DESC, id LIMIT 1",
                )
                .bind(tenant)
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let (pipeline_id, pipeline_name) = pipeline.unzip();
        let pipeline_name = pipeline_name.flatten();

        let stages: Vec<Stage> = sqlx::query_as(
            "SELECT id, pipeline_id, key, label, position, deleted_at IS NOT NULL AS deleted
                 FROM crm_analytics.stages
                 WHERE tenant_id = $1 AND ($2::uuid IS NULL OR pipeline_id = $2)",
        )
        .bind(tenant)
        .bind(pipeline_id)
        .fetch_all(&mut *conn)
        .await?;
        let sums: Vec<StageSums> = sqlx::query_as(&format!(
            "SELECT pipeline_id, stage_id, max(stage_key) AS stage_key, currency, {SUMS}
             FROM crm_analytics.opportunities
             WHERE tenant_id = $1 AND deleted_at IS NULL AND status = 'open'
               AND ($2::uuid IS NULL OR pipeline_id = $2)
             GROUP BY pipeline_id, stage_id, currency"
        ))
        .bind(tenant)
        .bind(pipeline_id)
        .fetch_all(&mut *conn)
        .await?;

        // Keyed by (pipeline, stage): known stages first, then stages only opportunities
        // mention (their stage events not projected yet). Deleted stages are read too, so
        // that open opportunities still sitting in one keep its label; without any, it goes.
        let mut deleted = Vec::new();
        let mut by_stage: BTreeMap<(Option<Uuid>, Option<Uuid>), StageFigures> = stages
            .into_iter()
            .map(|s| {
                if s.deleted {
                    deleted.push((s.pipeline_id, Some(s.id)));
                }
                let stage = StageFigures {
                    pipeline_id: s.pipeline_id,
                    stage_id: Some(s.id),
                    key: s.key,
                    label: s.label,
                    position: s.position,
                    figures: Figures::default(),
                };
                ((s.pipeline_id, Some(s.id)), stage)
            })
            .collect();
        let mut total = Figures::default();
        for row in sums {
            let stage = by_stage
                .entry((row.pipeline_id, row.stage_id))
                .or_insert_with(|| StageFigures {
                    pipeline_id: row.pipeline_id,
                    stage_id: row.stage_id,
                    key: row.stage_key.clone(),
                    label: None,
                    position: None,
                    figures: Figures::default(),
                });
            row.sums.add_to(&mut stage.figures)?;
            row.sums.add_to(&mut total)?;
        }
        for key in deleted {
            if by_stage.get(&key).is_some_and(|s| s.figures.count == 0) {
                by_stage.remove(&key);
            }
        }
        let mut stages: Vec<StageFigures> = by_stage.into_values().collect();
        stages.sort_by(|a, b| {
            (a.pipeline_id, a.position.is_none(), a.position, &a.key).cmp(&(
                b.pipeline_id,
                b.position.is_none(),
                b.position,
                &b.key,
            ))
        });
        Ok(PipelineReport {
            pipeline_id,
            pipeline_name,
            stages,
            total,
        })
    }

    /// Opportunities by period of close date and forecast category.
    pub async fn forecast(
        &self,
        actor: &Actor,
        period: Period,
        range: DateRange,
    ) -> Result<ForecastReport> {
        actor.require(Action::Read, Object::Analytics)?;
        let rows: Vec<ForecastSums> = sqlx::query_as(&format!(
                "SELECT date_trunc($2, close_date::timestamp)::date AS start, {CATEGORY} AS category,
                        currency, {SUMS}
                 FROM crm_analytics.opportunities
                 WHERE tenant_id = $1 AND deleted_at IS NULL AND close_date IS NOT NULL
                   AND ($3::date IS NULL OR close_date >= $3) AND ($4::date IS NULL OR close_date <= $4)
                 GROUP BY 1, 2, 3 ORDER BY 1"
            ))
            .bind(actor.tenant_id)
            .bind(period.as_str())
            .bind(range.from)
            .bind(range.to)
            .fetch_all(&self.pool)
            .await?;
        let mut periods: Vec<ForecastPeriod> = Vec::new();
        for ForecastSums {
            start,
            category,
            sums,
        } in rows
        {
            if periods.last().is_none_or(|p| p.start != start) {
                periods.push(ForecastPeriod {
                    period: period.label(start),
                    start,
                    end: period.end(start),
                    categories: Vec::new(),
                });
            }
            let categories = &mut periods.last_mut().expect("pushed above").categories;
            let entry = match categories
                .iter()
                .position(|c| c.forecast_category == category)
            {
                Some(i) => &mut categories[i],
                None => {
                    categories.push(ForecastCategory {
                        forecast_category: category,
                        figures: Figures::default(),
                    });
                    categories.last_mut().expect("pushed above")
                }
            };
            sums.add_to(&mut entry.figures)?;
        }
        for p in &mut periods {
            p.categories.sort_by(|a, b| {
                category_rank(&a.forecast_category).cmp(&category_rank(&b.forecast_category))
            });
        }
        Ok(ForecastReport {
            period,
            from: range.from,
            to: range.to,
            periods,
        })
    }

    /// Won and lost opportunities closed in the range, optionally of one owner.
    pub async fn win_rate(
        &self,
        actor: &Actor,
        range: DateRange,
        owner_id: Option<Uuid>,
    ) -> Result<WinRateReport> {
        actor.require(Action::Read, Object::Analytics)?;
        let rows: Vec<(String, Option<String>, i64, Option<String>)> = sqlx::query_as(
            "SELECT status, currency, count(*), sum(amount_micros)::text
             FROM crm_analytics.opportunities
             WHERE tenant_id = $1 AND deleted_at IS NULL AND status IN ('won', 'lost')
               AND ($2::timestamptz IS NULL OR closed_at >= $2)
               AND ($3::timestamptz IS NULL OR closed_at < $3)
               AND ($4::uuid IS NULL OR owner_id = $4)
             GROUP BY status, currency ORDER BY currency",
        )
        .bind(actor.tenant_id)
        .bind(range.start())
        .bind(range.end_exclusive())
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        let (mut won, mut lost) = (0, 0);
        let mut by_currency: Vec<WinRateAmounts> = Vec::new();
        for (status, currency, count, amount) in rows {
            let is_won = status == "won";
            *(if is_won { &mut won } else { &mut lost }) += count;
            let Some(currency) = currency else { continue };
            let amount = micros(amount)?;
            if by_currency.last().is_none_or(|c| c.currency != currency) {
                by_currency.push(WinRateAmounts {
                    currency,
                    won: 0,
                    lost: 0,
                    won_amount_micros: 0,
                    lost_amount_micros: 0,
                    win_rate_by_amount: None,
                });
            }
            let c = by_currency.last_mut().expect("pushed above");
            if is_won {
                c.won += count;
                c.won_amount_micros += amount;
            } else {
                c.lost += count;
                c.lost_amount_micros += amount;
            }
        }
        for c in &mut by_currency {
            c.win_rate_by_amount = ratio(
                c.won_amount_micros,
                c.won_amount_micros + c.lost_amount_micros,
            );
        }
        Ok(WinRateReport {
            from: range.from,
            to: range.to,
            owner_id,
            won,
            lost,
            win_rate: ratio(won.into(), (won + lost).into()),
            by_currency,
        })
    }

    /// Leads created in the range, by their current status.
    pub async fn funnel(&self, actor: &Actor, range: DateRange) -> Result<FunnelReport> {
        actor.require(Action::Read, Object::Analytics)?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, count(*) FROM crm_analytics.leads
             WHERE tenant_id = $1 AND deleted_at IS NULL
               AND ($2::timestamptz IS NULL OR created_at >= $2)
               AND ($3::timestamptz IS NULL OR created_at < $3)
             GROUP BY status",
        )
        .bind(actor.tenant_id)
        .bind(range.start())
        .bind(range.end_exclusive())
        .fetch_all(&self.pool)
        .await?;
        let mut by_status = zeroed(&LEAD_STATUSES);
        by_status.extend(rows);
        let total: i64 = by_status.values().sum();
        let converted = by_status["converted"];
        Ok(FunnelReport {
            from: range.from,
            to: range.to,
            total,
            by_status,
            converted,
            conversion_rate: ratio(converted.into(), total.into()),
        })
    }
}

fn category_rank(c: &str) -> (usize, &str) {
    let known = ["pipeline", "best_case", "commit", "closed", "omitted"];
    (known.iter().position(|k| *k == c).unwrap_or(known.len()), c)
}
