//! The event core: a priority queue of timed events on [`std::collections::BinaryHeap`].
//!
//! Time is an integer count of nanoseconds, so that no rounding can reorder two events, and
//! every event carries a sequence number: events due at the same instant leave in the order
//! they were scheduled, which makes a run a pure function of its inputs and seed.
//!
//! The key `(time, seq)` is packed into one `u128` so that a heap comparison is a single
//! integer comparison; the heap is a max-heap, so the key is stored inverted.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Simulated time in nanoseconds since the start of the run.
pub type Time = u64;

/// Nanoseconds in a microsecond, a millisecond and a second.
pub const US: Time = 1_000;
pub const MS: Time = 1_000_000;
pub const SEC: Time = 1_000_000_000;

/// Seconds (as written in input files) to [`Time`], rounded to the nearest nanosecond.
pub fn secs(s: f64) -> Time {
    (s * SEC as f64).round().max(0.0) as Time
}

/// Milliseconds to [`Time`].
pub fn millis(ms: f64) -> Time {
    (ms * MS as f64).round().max(0.0) as Time
}

struct Entry<E> {
    /// `!((time << 64) | seq)`: the greatest key is the earliest event.
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// Pending events of type `E`, earliest first, ties in insertion order.
pub struct Queue<E> {
    heap: BinaryHeap<Entry<E>>,
    now: Time,
    seq: u64,
    processed: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Queue<E> {
    pub fn new() -> Self {
        Queue {
            heap: BinaryHeap::with_capacity(1024),
            now: 0,
            seq: 0,
            processed: 0,
        }
    }

    /// The time of the event popped last (0 before the first).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at `at`; a time in the past is taken as now (an event cannot
    /// change what already happened).
    pub fn schedule(&mut self, at: Time, event: E) {
        let at = at.max(self.now);
        let key = !(((at as u128) << 64) | self.seq as u128);
        self.seq += 1;
        self.heap.push(Entry { key, event });
    }

    /// Schedules `event` `delay` nanoseconds from now.
    pub fn after(&mut self, delay: Time, event: E) {
        self.schedule(self.now.saturating_add(delay), event);
    }

    /// The earliest event, its time becoming now.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let Entry { key, event } = self.heap.pop()?;
        let at = ((!key) >> 64) as Time;
        self.now = at;
        self.processed += 1;
        Some((at, event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| ((!e.key) >> 64) as Time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_leave_in_time_order_and_ties_in_insertion_order() {
        let mut q = Queue::new();
        q.schedule(30, "c");
        q.schedule(10, "a1");
        q.schedule(20, "b");
        q.schedule(10, "a2");
        q.schedule(10, "a3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [(10, "a1"), (10, "a2"), (10, "a3"), (20, "b"), (30, "c")]
        );
        assert_eq!(q.processed(), 5);
        assert_eq!(q.now(), 30);
    }

    #[test]
    fn an_event_in_the_past_happens_now() {
        let mut q = Queue::new();
        q.schedule(100, 1);
        assert_eq!(q.pop(), Some((100, 1)));
        q.schedule(50, 2);
        q.after(5, 3);
        assert_eq!(q.peek_time(), Some(100));
        assert_eq!(q.pop(), Some((100, 2)));
        assert_eq!(q.pop(), Some((105, 3)));
        assert!(q.is_empty());
    }
}
