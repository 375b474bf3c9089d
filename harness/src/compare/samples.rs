//! The samples `compare` compares: per architecture, experiment and point, one value of
//! each metric from every run of that point (the first run and its repeats).

use crate::results::{LoadRun, Results};

use super::Metric;

/// One metric at one point, with a value per run.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Which point: `monolith · sweep mixed · 200 req/s`.
    pub key: String,
    pub metric: Metric,
    pub values: Vec<f64>,
}

/// Every series of `results`, in report order.
pub(crate) fn collect(results: &Results) -> Vec<Series> {
    let mut out = Vec::new();
    for run in &results.runs {
        let arch = run.arch.to_string();
        for e in &run.experiments {
            match e {
                crate::results::Experiment::Sweep(s) => {
                    for p in &s.points {
                        let key = format!("{arch} · sweep {} · {:.0} req/s", s.name, p.offered_rps);
                        let runs: Vec<&LoadRun> =
                            std::iter::once(&p.run).chain(p.repeats.iter()).collect();
                        push_runs(&mut out, &key, &runs);
                    }
                    if let Some(r) = s.max_rate_under_slo {
                        out.push(Series {
                            key: format!("{arch} · sweep {} · max rate under the SLO", s.name),
                            metric: Metric::Throughput,
                            values: vec![r],
                        });
                    }
                }
                crate::results::Experiment::Scale(s) => {
                    for p in &s.points {
                        let plural = if p.replicas == 1 { "" } else { "s" };
                        let key =
                            format!("{arch} · scale {} · {} replica{plural}", s.name, p.replicas);
                        let runs: Vec<&LoadRun> =
                            std::iter::once(&p.run).chain(p.repeats.iter()).collect();
                        push_runs(&mut out, &key, &runs);
                    }
                }
                crate::results::Experiment::Journeys(j) => {
                    let key = format!("{arch} · journeys {} · {} users", j.name, j.users);
                    push_runs(&mut out, &key, &[&j.run]);
                }
                _ => {}
            }
        }
    }
    out
}

/// The metrics of a point's runs: throughput (achieved rate), corrected p50 and p99, error
/// rate, and CPU-ms per request when the run measured resources.
fn push_runs(out: &mut Vec<Series>, key: &str, runs: &[&LoadRun]) {
    let measured: Vec<&LoadRun> = runs.iter().copied().filter(|r| r.requests > 0).collect();
    if measured.is_empty() {
        return;
    }
    let mut push = |metric: Metric, values: Vec<f64>| {
        if !values.is_empty() {
            out.push(Series {
                key: key.to_owned(),
                metric,
                values,
            });
        }
    };
    push(
        Metric::Throughput,
        measured.iter().map(|r| r.achieved_rps).collect(),
    );
    push(
        Metric::P50,
        measured
            .iter()
            .map(|r| r.total.corrected.p50_us as f64)
            .collect(),
    );
    push(
        Metric::P99,
        measured
            .iter()
            .map(|r| r.total.corrected.p99_us as f64)
            .collect(),
    );
    push(
        Metric::ErrorRate,
        measured
            .iter()
            .map(|r| r.failed as f64 / r.requests as f64)
            .collect(),
    );
    push(
        Metric::CpuPerRequest,
        measured
            .iter()
            .filter(|r| !r.resources.is_empty())
            .map(|r| r.resources.iter().map(|i| i.cpu_s).sum::<f64>() * 1000.0 / r.requests as f64)
            .collect(),
    );
}
