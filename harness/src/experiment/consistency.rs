//! Consistency: how long an acknowledged write takes to show in the event-fed analytics
//! (probes: a lead written in a tenant of its own, then its funnel polled until it counts
//! it), the analytics service's own event → projection lag, and after the load the
//! reconciliation of every acknowledged write of the architecture's runs so far and of the
//! analytics totals against the source tables. Any difference fails the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crm_load::LatencyHistogram;

use super::ArchCtx;
use super::measure::{Pace, Plan};
use crate::reconcile;
use crate::results::{Consistency, LatencyStats, ProjectionLag};
use crate::scenario::ConsistencySpec;

/// A tenant of its own, so its funnel moves only with the probes' writes.
struct Probe {
    api: String,
    token: String,
    http: reqwest::Client,
}

impl Probe {
    async fn sign_up(public_url: &str, nonce: &str) -> anyhow::Result<Probe> {
        let api = format!("{public_url}/api/v1");
        let http = reqwest::Client::new();
        let r: Value = http
            .post(format!("{api}/auth/signup"))
            .json(&json!({
                "tenant_name": "crm-bench probes",
                "name": "Probe",
                "email": format!("probe-{nonce}-{}@bench.crm", uuid::Uuid::new_v4().simple()),
                "password": format!("probe-{}", uuid::Uuid::new_v4().simple()),
            }))
            .send()
            .await?
            .error_for_status()
            .context("sign up the probe tenant")?
            .json()
            .await?;
        let token = r["access_token"]
            .as_str()
            .context("probe token")?
            .to_owned();
        Ok(Probe { api, token, http })
    }

    async fn funnel_total(&self) -> Option<i64> {
        let r = self
            .http
            .get(format!("{}/analytics/funnel", self.api))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.json::<Value>().await.ok()?["total"].as_i64()
    }

    /// One probe: writes a lead, then polls until the funnel counts it. The time from the
    /// acknowledgement until it showed, or `None` if it did not within `patience`.
    async fn once(&self, n: i64, patience: Duration) -> anyhow::Result<Option<Duration>> {
        let r = self
            .http
            .post(format!("{}/leads", self.api))
            .bearer_auth(&self.token)
            .json(&json!({"name": format!("Probe lead {n}"), "source": "web"}))
            .timeout(Duration::from_secs(10))
            .send()
            .await?;
        if r.status() != 201 {
            bail!("a probe write answered {}", r.status());
        }
        let acked = Instant::now();
        while acked.elapsed() < patience {
            if self.funnel_total().await.is_some_and(|t| t >= n) {
                return Ok(Some(acked.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(None)
    }
}

async fn lag_report(public_url: &str, token: &str) -> Option<ProjectionLag> {
    let r: Value = reqwest::Client::new()
        .get(format!("{public_url}/api/v1/analytics/lag"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(ProjectionLag {
        events: r["count"].as_u64()?,
        p50_ms: r["p50_ms"].as_f64()?,
        p99_ms: r["p99_ms"].as_f64()?,
        max_ms: r["max_ms"].as_f64()?,
    })
}

pub(super) async fn run(ctx: &mut ArchCtx, c: &ConsistencySpec) -> anyhow::Result<Consistency> {
    let (warmup_s, duration_s) = ctx.times(c.warmup_s, c.duration_s);
    let url = ctx.d.public_url.clone();
    let _ = reqwest::Client::new()
        .delete(format!("{url}/api/v1/analytics/lag"))
        .bearer_auth(&ctx.token)
        .send()
        .await;
    let probe = Arc::new(Probe::sign_up(&url, &ctx.nonce).await?);
    let probes = c.probes;
    let every = Duration::from_secs_f64(duration_s / f64::from(probes.max(1)));
    let prober = {
        let probe = probe.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs_f64(warmup_s)).await;
            let mut h = LatencyHistogram::new();
            let mut late = 0u64;
            for n in 1..=i64::from(probes) {
                let t = Instant::now();
                match probe.once(n, Duration::from_secs(30)).await? {
                    Some(lag) => h.record(lag),
                    None => late += 1,
                }
                tokio::time::sleep(every.saturating_sub(t.elapsed())).await;
            }
            anyhow::Ok((h, late))
        })
    };
    let plan = Plan {
        label: format!("{} consistency", ctx.d.arch),
        pace: Pace::Open { rate: c.rate },
        warmup_s,
        duration_s,
        mix: ctx.mix(&c.mix),
        steps: Vec::new(),
        bucket_s: 1.0,
        adaptive: None,
    };
    ctx.measure(&plan).await?;
    let (hist, late) = prober.await.context("the probes")??;
    let projection_lag = lag_report(&url, &ctx.token).await;

    ctx.progress.step(format!("{}: reconciling", ctx.d.arch));
    let mut writes = reconcile::writes(&ctx.d, &ctx.acks).await?;
    writes.mismatches = reconcile::analytics(&ctx.d, &ctx.token, Duration::from_secs(60)).await?;
    let mut mismatches = writes.mismatches.clone();
    if late > 0 {
        mismatches.push(format!(
            "{late} probe writes never showed in analytics within 30 s"
        ));
    }
    mismatches.extend(writes.details.iter().cloned());
    let s = hist.summary();
    let passed = writes.passed() && late == 0;
    ctx.progress.note(format!(
        "  {}: write → dashboard lag p50 {:.1} ms p99 {:.1} ms over {} probes; reconciliation {}",
        ctx.d.arch,
        s.p50_us as f64 / 1000.0,
        s.p99_us as f64 / 1000.0,
        s.count,
        if passed { "passed" } else { "FAILED" }
    ));
    for m in &mismatches {
        ctx.progress.note(format!("    {m}"));
    }
    Ok(Consistency {
        name: c.name.clone().unwrap_or_else(|| "consistency".into()),
        lag: LatencyStats {
            count: s.count,
            min_us: s.min_us,
            mean_us: s.mean_us,
            p50_us: s.p50_us,
            p90_us: s.p90_us,
            p99_us: s.p99_us,
            p999_us: s.p999_us,
            max_us: s.max_us,
            ci: None,
        },
        lag_samples: s.count,
        acknowledged_writes: ctx.acks.counts(),
        missing: writes.missing,
        duplicated: writes.duplicated,
        mismatches,
        passed,
        projection_lag,
    })
}
