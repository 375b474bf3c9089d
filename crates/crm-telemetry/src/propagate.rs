//! W3C Trace Context (`traceparent`) across every hop: HTTP requests between processes, the
//! outbox row an event waits in, NATS message headers, webhook deliveries. One parser and one
//! format for all of them.
//!
//! With tracing on, an outgoing hop carries the *current span's* id and sampled flag, and an
//! incoming one becomes the remote parent of the span that serves it ([`set_parent`]). With
//! tracing off there is no current span context ([`current`] is `None`) and callers keep
//! doing what they did before.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (HTTP and NATS alike).
pub const TRACEPARENT: &str = "traceparent";

/// A parsed version-00 `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Traceparent {
    pub trace_id: u128,
    pub span_id: u64,
    pub sampled: bool,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Traceparent {
    /// Parses a `traceparent`, refusing malformed and all-zero ids and version `ff`
    /// (W3C Trace Context §3.2; upper-case hex is malformed).
    pub fn parse(s: &str) -> Option<Traceparent> {
        let mut parts = s.trim().split('-');
        let (Some(version), Some(trace), Some(span), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        // Version 00 has exactly four fields; later versions may append more.
        if version == "00" && parts.next().is_some() {
            return None;
        }
        if !(is_hex(version, 2)
            && version != "ff"
            && is_hex(trace, 32)
            && is_hex(span, 16)
            && is_hex(flags, 2))
        {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok()?;
        let span_id = u64::from_str_radix(span, 16).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        (trace_id != 0 && span_id != 0).then_some(Traceparent {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// A new trace: random ids, sampled.
    pub fn fresh() -> Traceparent {
        Traceparent {
            trace_id: rand::random::<u128>().max(1),
            span_id: rand::random::<u64>().max(1),
            sampled: true,
        }
    }

    /// The same trace, a new span id (a hop that has no span of its own to name).
    pub fn child(&self) -> Traceparent {
        Traceparent {
            span_id: rand::random::<u64>().max(1),
            ..*self
        }
    }

    /// `00-<trace id>-<span id>-<flags>`.
    pub fn format(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }

    /// The trace id as 32 lower-case hex digits (as logs and trace UIs show it).
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    fn span_context(&self) -> SpanContext {
        SpanContext::new(
            TraceId::from(self.trace_id),
            SpanId::from(self.span_id),
            if self.sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            true,
            TraceState::default(),
        )
    }

    /// An OpenTelemetry context whose span is this remote one, to parent a local span on.
    pub fn context(&self) -> opentelemetry::Context {
        opentelemetry::Context::new().with_remote_span_context(self.span_context())
    }

    fn of(cx: &SpanContext) -> Option<Traceparent> {
        cx.is_valid().then(|| Traceparent {
            trace_id: u128::from_be_bytes(cx.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(cx.span_id().to_bytes()),
            sampled: cx.is_sampled(),
        })
    }
}

/// The trace id of a `traceparent`, if it is well-formed.
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    Traceparent::parse(traceparent).map(|t| t.trace_id_hex())
}

/// The `traceparent` of the current span, for an outgoing hop; `None` when tracing is off
/// (or no span is current).
pub fn current() -> Option<Traceparent> {
    of_span(&tracing::Span::current())
}

/// The `traceparent` naming `span`; `None` when tracing is off.
pub fn of_span(span: &tracing::Span) -> Option<Traceparent> {
    if !crate::enabled() || span.is_disabled() {
        return None;
    }
    Traceparent::of(span.context().span().span_context())
}

/// Makes `parent` (a caller in another process, or the request that wrote an event) the
/// parent of `span`, which must not have been entered yet. A no-op when tracing is off or
/// there is no parent.
pub fn set_parent(span: &tracing::Span, parent: Option<Traceparent>) {
    if let Some(p) = parent
        && crate::enabled()
    {
        let _ = span.set_parent(p.context());
    }
}

/// Sets an OpenTelemetry attribute on `span` when tracing is on (values computed only for
/// the exporter stay uncomputed otherwise: pass a closure).
pub fn attribute<V: Into<opentelemetry::Value>>(
    span: &tracing::Span,
    key: &'static str,
    value: impl FnOnce() -> V,
) {
    if crate::enabled() {
        span.set_attribute(key, value());
    }
}

/// An internal span named `name` (a saga step, an idempotency look-up) when tracing is on;
/// with tracing off, `Span::none()`, which costs nothing.
pub fn internal(name: impl std::fmt::Display) -> tracing::Span {
    if crate::enabled() {
        tracing::info_span!("internal", otel.name = %name, otel.kind = "internal")
    } else {
        tracing::Span::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_round_trips_and_malformed_ones_are_refused() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = Traceparent::parse(tp).expect("valid");
        assert_eq!(p.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.span_id, 0x00f067aa0ba902b7);
        assert!(p.sampled);
        assert_eq!(p.format(), tp);
        let unsampled =
            Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        assert_eq!(unsampled.map(|p| p.sampled), Some(false));
        let child = p.child();
        assert_eq!(child.trace_id, p.trace_id);
        assert_ne!(child.span_id, p.span_id);
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "garbage",
            "",
        ] {
            assert_eq!(Traceparent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn with_tracing_off_there_is_no_current_traceparent() {
        let span = tracing::info_span!("x");
        let _e = span.enter();
        assert_eq!(current(), None);
    }
}
