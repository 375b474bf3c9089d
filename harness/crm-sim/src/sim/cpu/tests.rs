//! Processor sharing and CFS quotas on a few jobs whose finishing times are known.

use super::*;
use crate::sim::slab::Slab;

/// Runs the node to completion, returning (job index, finish time) in order.
fn drain(cpu: &mut Cpu, ids: &[crate::sim::slab::Id]) -> Vec<(usize, Time)> {
    let mut out = Vec::new();
    let mut done = Vec::new();
    let mut wakes = Vec::new();
    cpu.wakes(0, &mut wakes);
    while let Some((node, at, _)) = wakes.pop() {
        cpu.advance(node, at, &mut done);
        for j in done.drain(..) {
            let Job::Frame(id) = j else { unreachable!() };
            out.push((ids.iter().position(|i| *i == id).unwrap(), at));
        }
        cpu.wakes(at, &mut wakes);
    }
    out
}

#[test]
fn two_jobs_on_one_core_share_it() {
    let mut slab = Slab::new();
    let ids: Vec<_> = (0..2).map(|i| slab.insert(i)).collect();
    let mut cpu = Cpu::new(&[1.0], &[1.0], 100_000_000);
    let r = cpu.add(0, None, 0);
    let mut done = Vec::new();
    cpu.submit(0, r, 1000.0, Job::Frame(ids[0]), &mut done);
    cpu.submit(0, r, 3000.0, Job::Frame(ids[1]), &mut done);
    // Both at half speed until the first is done at 2000; the second alone after.
    assert_eq!(drain(&mut cpu, &ids), [(0, 2000), (1, 4000)]);
    assert!((cpu.cpu_ns(r) - 4000.0).abs() < 1e-6);
}

#[test]
fn a_quota_of_half_a_core_throttles_for_the_rest_of_each_period() {
    let mut slab = Slab::new();
    let ids = [slab.insert(0)];
    let period = 100_000_000;
    let mut cpu = Cpu::new(&[1.0], &[1.0], period);
    let r = cpu.add(0, Some(0.5), 0);
    let mut done = Vec::new();
    // 120 ms of work at 50 ms per 100 ms period: 50 + 50 + 20 → done at 220 ms.
    cpu.submit(0, r, 120_000_000.0, Job::Frame(ids[0]), &mut done);
    assert_eq!(drain(&mut cpu, &ids), [(0, 220_000_000)]);
}
