//! Tracing a scenario's open-loop runs: one OTLP receiver for the whole scenario, the CRM's
//! processes started with it as their exporter's endpoint, the load generator marking the
//! chosen share of requests sampled, and after each run its spans kept in the report
//! directory and decomposed into the run's breakdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crm_load::RunResults;

use super::ArchCtx;
use crate::results::Breakdown;
use crate::topology::TraceExport;
use crate::trace::Collector;
use crate::trace::summarize::{RunTrace, breakdown};

/// How long the receiver must stay quiet before a run's spans count as all in (the CRM's
/// exporters send every 0.5 s), and the longest wait for it.
const QUIET: Duration = Duration::from_millis(1_500);
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

/// The scenario's tracing: its receiver and where its spans files go.
pub struct RunTracing {
    pub collector: Collector,
    pub sample_ratio: f64,
    pub report_dir: PathBuf,
}

impl RunTracing {
    pub async fn start(sample_ratio: f64, report_dir: PathBuf) -> anyhow::Result<Arc<RunTracing>> {
        Ok(Arc::new(RunTracing {
            collector: Collector::start().await?,
            sample_ratio,
            report_dir,
        }))
    }

    /// What the deployment's processes are started with.
    pub fn export(&self) -> TraceExport {
        TraceExport {
            endpoint: self.collector.endpoint(),
            sample_ratio: self.sample_ratio,
        }
    }
}

impl ArchCtx {
    /// The share of requests to trace in the next run, if the scenario traces.
    pub(super) fn trace_ratio(&self) -> Option<f64> {
        let t = self.tracing.as_ref()?;
        // Spans of the work before this run (seeding, the workload's preparation).
        t.collector.take();
        self.sample_ratio
    }

    /// After a traced run: waits for its spans, writes them, and decomposes them.
    pub(super) async fn trace_breakdown(&self, raw: &RunResults) -> Option<Breakdown> {
        let t = self.tracing.as_ref()?;
        let ratio = self.sample_ratio?;
        t.collector.settle(QUIET, SETTLE_LIMIT).await;
        let spans = t.collector.take();
        // The HTTP edge, with the system idle again after the run.
        let edge_us = crate::trace::edge::round_trip_us(&self.d.public_url, &self.load_cpus).await;
        let name = format!("spans/{}-run{:03}.jsonl.gz", self.d.arch, self.runs);
        if let Err(e) = crate::trace::file::write(&t.report_dir.join(&name), &spans) {
            self.progress
                .note(format!("  could not keep the run's spans: {e:#}"));
        }
        let b = breakdown(&RunTrace {
            spans: &spans,
            traced: &raw.traced,
            sample_ratio: ratio,
            spans_file: name,
            rejected_exports: t.collector.rejected(),
            edge_us,
        });
        self.progress.note(format!(
            "  traced: {} of {} sampled requests matched, {} spans",
            b.traces, b.sampled_requests, b.spans
        ));
        Some(b)
    }
}
