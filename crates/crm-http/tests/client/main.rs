//! The service-to-service client against real local servers: retries, idempotent writes on a
//! real database, the circuit breaker, timeouts, load balancing, problem passthrough,
//! request-context propagation and the JWKS key source.

mod balancing;
mod jwks;
mod propagation;
mod resilience;
mod support;
