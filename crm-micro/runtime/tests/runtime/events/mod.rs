//! Events over NATS JetStream: relay → stream → durable consumer → handler, exactly once.

mod delivery;
mod faults;
mod helpers;
