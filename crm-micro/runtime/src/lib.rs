//! What every microservice shares beyond the domain crates.
//!
//! # Layout
//! - [`events`]: domain events over NATS JetStream: the outbox relay's dispatcher, durable
//!   consumers that apply events exactly once, and consumer lag.
//! - [`service`]: the skeleton of every context service: settings, database and migrations,
//!   the relay to NATS and the consumer, the edge with JWKS authentication, ops, draining.

pub mod events;
pub mod service;
