//! The request being served, as a task-local: its request id and W3C trace id, so that a call
//! to another service made anywhere below a handler carries them on (`x-request-id`,
//! `traceparent`) without every trait method taking them as arguments.
//!
//! [`crate::server`]'s `trace` middleware sets it for the duration of each request. A task
//! spawned while serving does not inherit task-locals: wrap its future in [`inherit`].
//!
//! The `traceparent` itself is parsed and formatted by [`crm_telemetry::propagate`], the one
//! place every hop (HTTP, outbox, NATS, webhooks) goes through. With tracing on, an outgoing
//! call names the current span and carries its sampled flag; with tracing off it carries this
//! context's trace id under a new span id, as it always did.

use std::future::Future;

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// The header naming a request across hops.
pub const REQUEST_ID: &str = "x-request-id";
/// The W3C Trace Context header.
pub const TRACEPARENT: &str = crm_telemetry::propagate::TRACEPARENT;

/// Who asked for the work in progress, as far as tracing is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    /// The `x-request-id` of the request (the caller's, or one made at our edge).
    pub request_id: String,
    /// 32 lower-case hex digits: the incoming `traceparent`'s trace id, else a new one.
    pub trace_id: String,
}

impl RequestContext {
    /// A context for work that no request started (a background job, a resumed saga).
    pub fn fresh() -> Self {
        RequestContext {
            request_id: uuid::Uuid::new_v4().to_string(),
            trace_id: new_trace_id(),
        }
    }

    /// The context of an incoming request: its request id, and the trace id of its
    /// `traceparent` when that header is well-formed.
    pub fn incoming(request_id: &str, traceparent: Option<&str>) -> Self {
        RequestContext {
            request_id: if request_id.is_empty() {
                uuid::Uuid::new_v4().to_string()
            } else {
                request_id.to_owned()
            },
            trace_id: traceparent
                .and_then(trace_id_of)
                .unwrap_or_else(new_trace_id),
        }
    }

    /// A `traceparent` for an outgoing call made from the current span: with tracing on,
    /// that span's id and sampled flag; otherwise this trace, a new span id, sampled.
    pub fn traceparent(&self) -> String {
        if let Some(tp) = crm_telemetry::propagate::current() {
            return tp.format();
        }
        format!(
            "00-{}-{:016x}-01",
            self.trace_id,
            rand::random::<u64>().max(1)
        )
    }
}

/// The context of the request being served by this task, if any.
pub fn current() -> Option<RequestContext> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `f` with `ctx` as the current request context.
pub async fn scope<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    CURRENT.scope(ctx, f).await
}

/// Wraps `f` so that it runs with the context current *now* (for `tokio::spawn`).
pub fn inherit<F: Future>(f: F) -> impl Future<Output = F::Output> {
    let ctx = current();
    async move {
        match ctx {
            Some(ctx) => CURRENT.scope(ctx, f).await,
            None => f.await,
        }
    }
}

pub(crate) fn new_trace_id() -> String {
    format!("{:032x}", rand::random::<u128>().max(1))
}

/// The trace id of a version-00 `traceparent`, refusing malformed and all-zero ids
/// (W3C Trace Context §3.2).
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    crm_telemetry::propagate::trace_id_of(traceparent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incoming_trace_id_is_kept_and_a_bad_one_replaced() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = RequestContext::incoming("r1", Some(tp));
        assert_eq!(ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.request_id, "r1");
        let out = ctx.traceparent();
        assert_eq!(trace_id_of(&out).as_deref(), Some(ctx.trace_id.as_str()));
        assert_ne!(out, tp, "a new span id");

        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "garbage",
        ] {
            assert_eq!(trace_id_of(bad), None, "{bad}");
            let ctx = RequestContext::incoming("", Some(bad));
            assert!(trace_id_of(&format!("00-{}-00f067aa0ba902b7-01", ctx.trace_id)).is_some());
            assert!(!ctx.request_id.is_empty());
        }
    }

    #[tokio::test]
    async fn the_context_is_visible_in_scope_and_in_inheriting_tasks() {
        assert_eq!(current(), None);
        let ctx = RequestContext::fresh();
        let seen = scope(ctx.clone(), async {
            tokio::spawn(inherit(async { current() })).await.unwrap()
        })
        .await;
        assert_eq!(seen, Some(ctx));
    }
}
