-- The W3C traceparent of the span that wrote the event (NULL when tracing was off or the
-- request was not sampled), so the relay and the consumers continue the writer's trace.
ALTER TABLE crm_core.outbox ADD COLUMN traceparent text;
