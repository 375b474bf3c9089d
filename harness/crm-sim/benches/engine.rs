//! Events per second of the event core: the classic "hold" model — a queue kept at a steady
//! size, each step popping the earliest event and scheduling one a random delay later —
//! at the queue sizes a run sees (hundreds to a hundred thousand pending events).
//!
//! `cargo bench -p crm-sim --bench engine`; the target is ≥ 5 million events per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crm_sim::engine::Queue;

/// A small event, like the model's (`Copy`, 16 bytes).
#[derive(Clone, Copy)]
struct Ev {
    a: u64,
    b: u32,
}

const STEPS: u64 = 1_000_000;

fn hold(pending: usize) -> u64 {
    let mut q: Queue<Ev> = Queue::new();
    // xorshift: the bench measures the queue, not a random number generator.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 2_000_000
    };
    for i in 0..pending {
        q.schedule(next(), Ev { a: i as u64, b: 0 });
    }
    let mut sum = 0u64;
    for _ in 0..STEPS {
        let (_, ev) = q.pop().expect("the queue never empties");
        sum = sum.wrapping_add(ev.a + ev.b as u64);
        q.after(
            next(),
            Ev {
                a: ev.a,
                b: ev.b + 1,
            },
        );
    }
    sum
}

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/hold");
    g.throughput(Throughput::Elements(STEPS));
    g.sample_size(10);
    for pending in [1_000usize, 10_000, 100_000] {
        g.bench_with_input(BenchmarkId::from_parameter(pending), &pending, |b, &p| {
            b.iter(|| black_box(hold(p)))
        });
    }
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
