//! Integration tests of crm-runtime against a real nats-server and a real PostgreSQL.

mod events;
