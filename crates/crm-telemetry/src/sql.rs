//! SQL statements and pool waits as spans, from the events sqlx already emits.
//!
//! sqlx 0.8 times every statement itself (from sending it until its result was consumed)
//! and emits one event per statement under the `sqlx::query` target with `elapsed_secs`;
//! with `acquire_time_level` set on the pool (see `crm_core::db::connect`) it also emits one
//! per connection checkout under `sqlx::pool::acquire` with the time waited. This layer turns
//! each such event into a child span of the span current at the time, ending now and
//! starting `elapsed` earlier. Every query of every context is covered without touching the
//! repositories' code, and the times are sqlx's own, not a wrapper's guess. Statements
//! outside any sampled span (background polling) make no span at all.

use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::names;

/// sqlx's per-statement events.
pub const STATEMENTS: &str = "sqlx::query";
/// sqlx's per-checkout events.
pub const ACQUIRES: &str = "sqlx::pool::acquire";

/// The layer; see the module's documentation.
pub struct SqlLayer {
    tracer: SdkTracer,
}

impl SqlLayer {
    pub fn new(tracer: SdkTracer) -> Self {
        SqlLayer { tracer }
    }
}

#[derive(Default)]
struct Fields {
    summary: Option<String>,
    statement: Option<String>,
    elapsed_secs: Option<f64>,
    rows: u64,
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // `aquired_after_secs` is sqlx's spelling.
        if matches!(field.name(), "elapsed_secs" | "aquired_after_secs") {
            self.elapsed_secs = Some(value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if matches!(field.name(), "rows_returned" | "rows_affected") {
            self.rows += value;
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = Some(value.to_owned()),
            "db.statement" if !value.is_empty() => self.statement = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.summary = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

/// A span name for a statement: its verb and first table (`SELECT crm_leads.leads`,
/// `INSERT crm_core.outbox`, `COMMIT`), as OpenTelemetry's `db.query.summary` suggests.
pub fn summarize(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(200).collect();
    let Some(verb) = words.first() else {
        return "SQL".into();
    };
    let verb = verb
        .trim_matches(|c: char| !c.is_ascii_alphabetic())
        .to_uppercase();
    let after = |kw: &str| {
        words
            .windows(2)
            .find(|w| w[0].eq_ignore_ascii_case(kw))
            .map(|w| w[1].trim_matches(|c: char| c == '(' || c == ')' || c == ','))
    };
    let table = match verb.as_str() {
        "SELECT" | "DELETE" | "WITH" => after("from"),
        "INSERT" => after("into"),
        "UPDATE" => words.get(1).copied(),
        _ => None,
    };
    match table {
        Some(t) if !t.is_empty() => format!("{verb} {t}"),
        _ => verb,
    }
}

impl<S: Subscriber> Layer<S> for SqlLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        // The current span's OpenTelemetry context (tracing-opentelemetry attaches it on
        // every enter).
        let parent = opentelemetry::Context::current();
        if !parent.span().span_context().is_sampled() {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let Some(secs) = f.elapsed_secs.filter(|s| s.is_finite() && *s >= 0.0) else {
            return;
        };
        let end = SystemTime::now();
        let start = end
            .checked_sub(Duration::from_secs_f64(secs))
            .unwrap_or(end);
        let acquire = event.metadata().target() == ACQUIRES;
        let (name, kind, attributes) = if acquire {
            (
                names::SPAN_POOL_ACQUIRE.to_owned(),
                SpanKind::Internal,
                vec![KeyValue::new(names::WAIT, names::WAIT_POOL)],
            )
        } else {
            let sql = f
                .statement
                .as_deref()
                .or(f.summary.as_deref())
                .unwrap_or("");
            (
                summarize(sql),
                SpanKind::Client,
                vec![
                    KeyValue::new(names::DB_SYSTEM, names::POSTGRESQL),
                    KeyValue::new(names::PEER_SERVICE, "postgres"),
                    KeyValue::new(names::DB_ROWS, f.rows as i64),
                ],
            )
        };
        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_start_time(start)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        span.end_with_timestamp(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_named_by_verb_and_first_table() {
        assert_eq!(
            summarize("SELECT id, name FROM crm_leads.leads WHERE id = $1"),
            "SELECT crm_leads.leads"
        );
        assert_eq!(
            summarize("\n  INSERT INTO crm_core.outbox (event_id) VALUES ($1)"),
            "INSERT crm_core.outbox"
        );
        assert_eq!(
            summarize("UPDATE crm_sales.opportunities SET x = 1"),
            "UPDATE crm_sales.opportunities"
        );
        assert_eq!(summarize("COMMIT"), "COMMIT");
        assert_eq!(summarize("begin"), "BEGIN");
        assert_eq!(summarize(""), "SQL");
    }
}
