-- The traceparent of the consumer span that queued the delivery (tracing on, sampled event),
-- so the signed POST continues the trace of the write that caused it.
ALTER TABLE crm_notifications.deliveries ADD COLUMN traceparent text;
