//! Putting the balancer in front of the monolith, and taking it away, on a running
//! deployment: experiments on monolith replicas (rolling deploys, the kill of one replica of
//! N, scaling) need it, and everything else runs the monolith as it always ran, alone and
//! reached directly. Both runtimes start it the way they restart any instance, so this works
//! in either.
//!
//! The balancer is the microservices' gateway binary in balancer mode: the same
//! least-outstanding balancing, health checks, breaker and retries (never on the replica that
//! just failed). The request path then gains one local HTTP hop, client → balancer →
//! monolith replica, which [`super::Deployment::request_path`] states.

use anyhow::Context;

use super::launch::{new_instance, write_registry};
use super::{Deployment, Runtime};
use crate::topology::{Arch, BALANCER};

/// Starts the balancer in front of the monolith's current replicas (if it is not there yet),
/// waits until it is ready and points the public URL at it.
pub async fn put_in_front(rt: &dyn Runtime, d: &mut Deployment) -> anyhow::Result<()> {
    anyhow::ensure!(
        d.arch == Arch::Monolith,
        "the balancer goes in front of the monolith"
    );
    if d.instance(BALANCER).is_none() {
        d.instances.push(new_instance(BALANCER, 1));
        write_registry(d)?;
        // A planned instance with no process yet: restarting it starts it.
        rt.restart(d, BALANCER)
            .await
            .context("start the balancer in front of the monolith")?;
    }
    d.public_url = d
        .instance(BALANCER)
        .and_then(|i| i.url.clone())
        .context("the balancer's URL")?;
    Ok(())
}

/// Back to one monolith reached directly: the public URL first, then the balancer stops.
/// Call with one monolith replica left and no load running.
pub async fn take_away(rt: &dyn Runtime, d: &mut Deployment) -> anyhow::Result<()> {
    if d.instance(BALANCER).is_none() {
        return Ok(());
    }
    anyhow::ensure!(
        d.replicas("monolith").len() == 1,
        "take the monolith back to one replica before removing its balancer"
    );
    d.public_url = d
        .instance("monolith")
        .and_then(|i| i.url.clone())
        .context("the monolith's URL")?;
    rt.kill(d, BALANCER).await?;
    d.instances.retain(|i| i.name != BALANCER);
    Ok(())
}
