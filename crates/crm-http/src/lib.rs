//! HTTP plumbing shared by the monolith, every microservice and the gateway.
//!
//! # Layout
//! - [`error`]: [`ApiError`], the problem+json response of every failure.
//! - [`extract`]: JSON, query, path-id and `If-Match` extractors that fail as problems,
//!   and [`Caller`], the authenticated actor.
//! - [`storable`]: text PostgreSQL cannot store (NUL) refused at the edge, naming the field.
//! - [`respond`]: `201 Created` with `Location`, `ETag`-carrying responses.
//! - [`jwt`], [`auth`]: EdDSA access tokens, JWKS (and [`auth::JwksKeys`], the cached remote
//!   key source), and the authenticating middleware.
//! - [`idempotency`], [`ratelimit`]: `Idempotency-Key` replay and per-tenant/per-key limits.
//! - [`metrics`]: Prometheus request counts and latency histograms per route.
//! - [`openapi`]: the OpenAPI 3.1 document assembled from the code's types.
//! - [`refs`]: the internal route answering which referenced records exist, and its client.
//! - [`resource`]: generic list/get/create/patch/delete/restore/batch routes for a record type.
//! - [`server`]: the middleware stack, ops endpoints, serving and graceful shutdown.
//! - [`faults`]: run-time fault injection into one module (panics, slow queries, a CPU hog)
//!   for the benchmark's fault experiments, behind the internal secret.
//! - [`context`]: the request being served (request id, trace id) as a task-local.
//! - [`client`]: service-to-service calls with timeouts, retries, a circuit breaker and a
//!   concurrency limit, over load-balanced, health-checked replicas ([`client::Upstream`]).

pub mod auth;
pub mod client;
pub mod context;
pub mod error;
pub mod extract;
pub mod faults;
pub mod idempotency;
pub mod jwt;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod refs;
pub mod resource;
pub mod respond;
pub mod server;
pub mod storable;

pub use error::{ApiError, ApiResult};
pub use extract::{Caller, IfMatch, Json, PathId, Query};
pub use respond::{Created, Versioned};

/// The public API's base path.
pub const API: &str = "/api/v1";
