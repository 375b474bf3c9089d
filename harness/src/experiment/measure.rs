//! One measured load run against one deployment: the CRM workload at a schedule (or
//! saturating), actions applied at their times while it runs (faults, redeploys, replica
//! changes), resources sampled throughout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crm_load::{OpenLoopConfig, RequestLog, RunResults, SaturationConfig, Schedule, Target};

use super::ArchCtx;
use crate::distributed::{self, fleet::Fleet};
use crate::faults::Injector;
use crate::results::{InstanceUsage, PointInfo};
use crate::scenario::{Action, Adaptive, Arrival};
use crate::workload::CrmWorkload;

/// How requests are paced.
#[derive(Clone, Debug)]
pub enum Pace {
    /// Scheduled arrivals at this rate (the scenario's arrival process), or its rate profile.
    Open { rate: f64 },
    /// This many connections back to back.
    Saturate { connections: usize },
}

/// An action at a time during the run.
#[derive(Clone, Debug)]
pub struct PlannedStep {
    /// Seconds after the warm-up.
    pub at_s: f64,
    pub action: Action,
    pub target: String,
    pub delay: Duration,
    pub replicas: Option<u32>,
}

/// An action as it happened, in seconds from the run's start.
#[derive(Clone, Debug)]
pub struct StepDone {
    pub action: Action,
    pub target: String,
    pub started_s: f64,
    pub finished_s: f64,
    pub how: String,
    pub error: Option<String>,
}

/// A run to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    pub label: String,
    pub pace: Pace,
    pub warmup_s: f64,
    /// Measured seconds, after the warm-up.
    pub duration_s: f64,
    pub mix: BTreeMap<String, f64>,
    pub steps: Vec<PlannedStep>,
    pub bucket_s: f64,
    /// Run until precise enough (open loop only; `warmup_s` and `duration_s` then unused).
    pub adaptive: Option<Adaptive>,
}

/// What a run measured.
pub struct Measured {
    pub raw: RunResults,
    /// Where the time went (traced scenarios).
    pub breakdown: Option<crate::results::Breakdown>,
    pub steps: Vec<StepDone>,
    pub resources: Vec<InstanceUsage>,
    /// Every request, in intended-time order (open-loop runs).
    pub log: Option<RequestLog>,
    /// How the run went: adaptive stop, warm-up, CPU steal and machine speed.
    pub info: PointInfo,
}

impl ArchCtx {
    /// A workload over `mix` with pools filled from the API.
    pub async fn workload(
        &mut self,
        mix: &BTreeMap<String, f64>,
    ) -> anyhow::Result<Arc<CrmWorkload>> {
        self.runs += 1;
        let w = CrmWorkload::new(mix, &self.token, &self.tag(), self.acks.clone())?;
        w.prepare(&self.d.public_url)
            .await
            .context("prepare the workload")?;
        Ok(Arc::new(w))
    }

    /// The marker prefix of the current run's records.
    fn tag(&self) -> String {
        format!("{}{}r{}", self.d.arch, self.nonce, self.runs)
    }

    /// Runs `plan` and returns what it measured; the deployment in `self` reflects what the
    /// steps did (restarted processes, new replicas).
    pub async fn measure(&mut self, plan: &Plan) -> anyhow::Result<Measured> {
        let workload = self.workload(&plan.mix).await?;
        let target = Target::parse(&self.d.public_url).context("the public URL")?;
        let load = &self.scenario.load;
        // Distributed points run at fixed length: the adaptive stop needs every request's
        // log in one place.
        let adaptive = match plan.pace {
            Pace::Open { .. } if self.workers.is_empty() => plan.adaptive.clone(),
            _ => None,
        };
        let mut fleet = None;
        let secs = match &adaptive {
            Some(a) => super::adaptive::schedule_s(a),
            None => plan.warmup_s + plan.duration_s,
        };
        let total = Duration::from_secs_f64(secs);
        let seed = load.seed.wrapping_add(self.runs as u64);
        // The machine's state just before the point: speed, and steal from here to the end.
        let speed = super::calibrate::quick(&self.sut_cpus);
        let jiffies = super::machine::cpu_jiffies();
        let mut run = match plan.pace {
            Pace::Open { rate } => {
                let rate = rate / (self.workers.len() + 1) as f64;
                let schedule = move |i: u64| match load.arrival {
                    Arrival::Constant => Schedule::constant(rate, total),
                    Arrival::Poisson => Schedule::poisson(rate, total, seed.wrapping_add(i)),
                };
                let mut c = OpenLoopConfig::new(schedule(0));
                c.connections = load.connections as usize;
                c.timeout = Duration::from_millis(load.timeout_ms);
                // An adaptive point's warm-up is decided while it runs.
                c.warmup = Duration::from_secs_f64(if adaptive.is_some() {
                    0.0
                } else {
                    plan.warmup_s
                });
                c.request_log = super::adaptive::log_capacity(rate, secs);
                c.bucket = Duration::from_secs_f64(plan.bucket_s);
                c.seed = seed;
                c.cpus = self.load_cpus.clone();
                c.trace_ratio = self.trace_ratio();
                if !self.workers.is_empty() {
                    // The per-request log would hold only this engine's share.
                    c.request_log = 0;
                    c.start_at = Some(distributed::fleet::start_at());
                    let local = distributed::Assignment {
                        target: self.d.public_url.clone(),
                        token: self.token.clone(),
                        tag: self.tag(),
                        mix: plan.mix.clone(),
                        config: c.clone(),
                    };
                    fleet = Some(Fleet::start(&self.workers, &local, rate, schedule));
                }
                crm_load::start_open_loop(&target, c, workload).await?
            }
            Pace::Saturate { connections } => {
                let mut c =
                    SaturationConfig::new(connections, Duration::from_secs_f64(plan.duration_s));
                c.warmup = Duration::from_secs_f64(plan.warmup_s);
                c.timeout = Duration::from_millis(load.timeout_ms);
                c.bucket = Duration::from_secs_f64(plan.bucket_s);
                c.seed = seed;
                c.cpus = self.load_cpus.clone();
                crm_load::start_saturation(&target, c, workload).await?
            }
        };
        let handle = run.handle();
        let start: Instant = run.started().instant;
        let reader = if adaptive.is_none() {
            run.take_log()
        } else {
            None
        };
        let sampler = super::sampler::Sampler::start(
            self.rt.clone(),
            self.d.clone(),
            Duration::from_millis(500),
        );

        let bar = self.progress.run_bar(&plan.label, secs);
        let bar_handle = handle.clone();
        let ticker = {
            let bar = bar.clone();
            tokio::spawn(async move {
                loop {
                    let p = bar_handle.progress();
                    bar.set_position((p.elapsed.as_secs_f64() * 10.0) as u64);
                    bar.set_message(format!(
                        "{:.0} s, {} requests, {} failed",
                        p.elapsed.as_secs_f64(),
                        p.completed,
                        p.errors
                    ));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };

        // Steps act on a copy of the deployment; it replaces ours when the run is over.
        let steps = plan.steps.clone();
        let warmup = plan.warmup_s;
        let rt = self.rt.clone();
        let mut d = self.d.clone();
        let step_handle = handle.clone();
        let stepper = tokio::spawn(async move {
            let mut injector = Injector::new(rt.as_ref());
            let mut done = Vec::new();
            for s in steps {
                let due = start + Duration::from_secs_f64(warmup + s.at_s);
                tokio::time::sleep_until(due.into()).await;
                let started_s = start.elapsed().as_secs_f64();
                step_handle.mark(format!("{} {}", s.action.as_str(), s.target));
                let r = injector
                    .apply(&mut d, s.action, &s.target, s.delay, s.replicas)
                    .await;
                let finished_s = start.elapsed().as_secs_f64();
                let (how, error) = match r {
                    Ok(how) => (how, None),
                    Err(e) => (String::new(), Some(format!("{e:#}"))),
                };
                done.push(StepDone {
                    action: s.action,
                    target: s.target,
                    started_s,
                    finished_s,
                    how,
                    error,
                });
            }
            (d, done)
        });

        let (raw, log, mut info) = match &adaptive {
            Some(a) => {
                let (raw, log, info) = super::adaptive::drive(run, a).await?;
                (raw, Some(log), info)
            }
            None => {
                let mut raw = run.wait().await.context("the load run")?;
                let mut info = PointInfo {
                    stop: "fixed".into(),
                    attempts: 1,
                    ..PointInfo::default()
                };
                if let Some(fleet) = fleet {
                    let merged = fleet.finish(raw, &self.acks).await;
                    for line in &merged.lost {
                        self.progress.note(format!("  {line}"));
                    }
                    info.flag = (!merged.lost.is_empty()).then(|| merged.lost.join("; "));
                    (raw, info.sources) = (merged.results, merged.sources);
                }
                (raw, reader.map(|r| r.finish()), info)
            }
        };
        info.cpu_steal = super::machine::steal_between(jiffies, super::machine::cpu_jiffies());
        info.speed = speed;
        let (d, steps) = stepper.await.context("the steps task")?;
        self.d = d;
        self.save_state();
        ticker.abort();
        bar.finish_and_clear();
        let resources = sampler.finish().await;
        for s in &steps {
            if let Some(e) = &s.error {
                self.progress
                    .note(format!("  {} {}: failed: {e}", s.action.as_str(), s.target));
            }
        }
        let breakdown = match plan.pace {
            Pace::Open { .. } => self.trace_breakdown(&raw).await,
            Pace::Saturate { .. } => None,
        };
        Ok(Measured {
            raw,
            breakdown,
            steps,
            resources,
            log,
            info,
        })
    }
}

impl Measured {
    /// The report's view of the run, warm-up marked, with intervals from the log and how
    /// the point was measured.
    pub fn load_run(&self) -> crate::results::LoadRun {
        let windows = vec![crate::results::Window {
            label: "warm-up".into(),
            start_s: 0.0,
            end_s: self.raw.warmup_s,
        }];
        let mut run = super::convert::load_run(
            &self.raw,
            &Default::default(),
            windows,
            self.resources.clone(),
        );
        run.breakdown = self.breakdown.clone().map(Box::new);
        self.annotate(&mut run);
        run
    }

    /// Adds the intervals and the point's facts to `run` (the report's view of this run).
    pub fn annotate(&self, run: &mut crate::results::LoadRun) {
        let mut info = self.info.clone();
        if let Some(log) = &self.log {
            info.errors_ci = super::intervals::add_to_run(run, log);
        }
        if info.p99_precision.is_none() {
            info.p99_precision = run
                .total
                .corrected
                .ci
                .as_ref()
                .and_then(|c| c.p99)
                .map(|c| c.relative_half_width(run.total.corrected.p99_us as f64));
        }
        run.point = Some(info);
    }
}

impl ArchCtx {
    /// Starts a second open-loop load beside the measured one (the noisy neighbour); wait
    /// on it for its results.
    pub async fn start_beside(
        &mut self,
        mix: &BTreeMap<String, f64>,
        rate: f64,
        secs: f64,
    ) -> anyhow::Result<crm_load::LoadRun> {
        let workload = self.workload(mix).await?;
        let target = Target::parse(&self.d.public_url)?;
        let seed = self
            .scenario
            .load
            .seed
            .wrapping_add(1_000 + self.runs as u64);
        let mut c =
            OpenLoopConfig::new(Schedule::poisson(rate, Duration::from_secs_f64(secs), seed));
        c.connections = self.scenario.load.connections as usize;
        c.timeout = Duration::from_millis(self.scenario.load.timeout_ms);
        c.seed = seed;
        c.cpus = self.load_cpus.clone();
        Ok(crm_load::start_open_loop(&target, c, workload).await?)
    }
}

impl ArchCtx {
    /// Sets `service` to `n` replicas, tells the gateway at once, and gives its health
    /// checks a moment to see the new ones before load arrives.
    pub async fn scale_to(&mut self, service: &str, n: u32) -> anyhow::Result<()> {
        if self.d.runtime == crate::topology::RuntimeKind::External {
            // The orchestrator balances an external deployment's replicas itself.
            self.rt.scale(&mut self.d, service, n).await?;
            self.save_state();
            return Ok(());
        }
        // Monolith replicas, even one, are measured behind the balancer.
        if self.d.arch == crate::topology::Arch::Monolith && service == "monolith" {
            crate::runtime::balancer::put_in_front(self.rt.as_ref(), &mut self.d).await?;
        }
        self.rt.scale(&mut self.d, service, n).await?;
        let urls: Vec<String> = self
            .d
            .replicas(service)
            .iter()
            .filter_map(|i| i.url.clone())
            .collect();
        Injector::new(self.rt.as_ref())
            .set_registry(&self.d, service, &urls)
            .await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        self.save_state();
        Ok(())
    }

    /// Measures `plan` as many times as the scenario's `repeats` (labels numbered); the
    /// report's view of each run, the first first. Warm-up is marked as a window.
    pub async fn measure_repeated(
        &mut self,
        plan: &Plan,
    ) -> anyhow::Result<Vec<crate::results::LoadRun>> {
        let mut runs = Vec::new();
        for r in 0..self.scenario.repeats {
            let mut p = plan.clone();
            p.label = format!("{} #{}", plan.label, r + 1);
            let m = self.measure(&p).await?;
            runs.push(m.load_run());
        }
        Ok(runs)
    }
}
