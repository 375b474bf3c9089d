//! Traces of a scenario run: received from the CRM's processes over OTLP/HTTP while the run
//! goes on, matched to the load generator's sampled requests, decomposed per hop into the
//! breakdown of results.json, and kept compressed in the report directory.
//!
//! # Layout
//! - [`span`]: the stored span — what the receiver keeps and a spans file holds.
//! - [`decode`]: OTLP export requests (protobuf or JSON, `opentelemetry-proto`'s types) → spans.
//! - [`collector`]: the OTLP/HTTP receiver on 127.0.0.1.
//! - [`tree`]: a trace's spans as a tree; the time of each request attributed to parts.
//! - [`summarize`]: per-operation parts, shapes, exemplars and critical paths.
//! - [`file`]: the gzip-compressed JSON-lines spans file.
//! - [`edge`]: the HTTP edge no span sees, measured beside the traces.

pub mod collector;
pub mod decode;
pub mod edge;
pub mod file;
pub mod span;
pub mod summarize;
pub mod tree;

pub use collector::Collector;
pub use span::{Kind, SpanRecord};
