//! crm-bench: brings either build of the CRM up (as processes or containers), seeds it,
//! drives load, injects faults, and reports.
//!
//! # Layout
//! - [`topology`]: architecture, runtime, replicas and limits per service.
//! - [`runtime`]: the process and Docker runtimes behind one trait, and the deployment they
//!   produce.
//! - [`state`]: the state file that lets `down` (or a later command) find what `up` started.
//! - [`experiment`]: running a scenario: each experiment on each architecture, the report.
//! - [`reconcile`]: acknowledged writes and analytics totals against the source tables.
//! - [`faults`]: faults, healing, redeploys and replica changes applied to a deployment.
//! - [`lifecycle`]: up and down around the state file; cleanup on error, ctrl-c and panic.
//! - [`seed`]: the deterministic data generator and its two loading paths.
//! - [`scenario`]: scenario files (TOML) and their validation.
//! - [`workload`]: the CRM's operations and the mix over them.
//! - [`results`]: what a scenario run measured (results.json).
//! - [`trace`]: the OTLP receiver, spans files, and the per-hop breakdown of traced runs.
//! - [`simulate`]: crm-sim calibrated from a report, validation against it, simulation studies.
//! - [`report`]: report directories (results.json, summary.md, index.html, PNGs) and verdicts.
//! - [`compare`]: regression check of one results.json against a baseline.
//! - [`distributed`]: load workers (`crm-bench load-worker`) and the merge of their results.
//! - [`cli`]: the command line.
//! - [`testing`]: support for the harness's integration tests.

pub mod cli;
pub mod compare;
pub mod distributed;
pub mod experiment;
pub mod faults;
pub mod lifecycle;
pub mod reconcile;
pub mod report;
pub mod results;
pub mod runtime;
pub mod scenario;
pub mod seed;
pub mod simulate;
pub mod state;
pub mod testing;
pub mod topology;
pub mod trace;
pub mod workload;
