//! Real servers for tests and the benchmark harness, never mocks in their place, and the
//! API contract suite.
//!
//! # Layout
//! - [`pg`]: a private PostgreSQL 15 cluster in a temp dir on a free port; [`pg::DetachedPg`]
//!   one that outlives its starter (`crm-bench up`).
//! - [`nats`]: a private `nats-server` with JetStream, in a temp dir on a free port.
//! - [`contract`]: the API contract suite, speaking only HTTP to a base URL.
//! - [`net`]: free ports and waiting for a TCP listener.
//! - [`server`]: a context's router served on a free port behind the real edge stack, with
//!   tokens minted for any actor, and a small JSON client.

pub mod contract;
pub mod nats;
pub mod net;
pub mod pg;
pub mod server;
