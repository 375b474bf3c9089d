//! Timeouts, which are many and mostly cancelled: a timeout of a given length is armed in
//! time order, so each length keeps a FIFO and only its head sits in the event queue. A
//! cancelled timeout is not removed; when it fires, its target has moved on and ignores it.
//! This keeps the heap small (a few entries instead of one per request in flight).

use std::collections::VecDeque;

use super::slab::Id;
use crate::engine::Time;

/// What a timeout is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A call's attempt.
    Attempt(Id, u8),
    /// A frame waiting for a database connection.
    Pool(Id),
}

pub(crate) struct Timers {
    delays: Vec<Time>,
    queues: Vec<VecDeque<(Time, Token)>>,
    armed: Vec<bool>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            delays: Vec::new(),
            queues: Vec::new(),
            armed: Vec::new(),
        }
    }

    /// Arms `token` to fire `delay` after `now`; returns the queue to wake at the given time
    /// when it had nothing armed.
    pub(crate) fn arm(&mut self, now: Time, delay: Time, token: Token) -> Option<(usize, Time)> {
        let q = match self.delays.iter().position(|d| *d == delay) {
            Some(q) => q,
            None => {
                self.delays.push(delay);
                self.queues.push(VecDeque::new());
                self.armed.push(false);
                self.delays.len() - 1
            }
        };
        let at = now.saturating_add(delay);
        self.queues[q].push_back((at, token));
        if self.armed[q] {
            return None;
        }
        self.armed[q] = true;
        Some((q, at))
    }

    /// The tokens of queue `q` due by `now`, and when the queue must wake next.
    pub(crate) fn fire(&mut self, q: usize, now: Time, due: &mut Vec<Token>) -> Option<Time> {
        let queue = &mut self.queues[q];
        while queue.front().is_some_and(|(at, _)| *at <= now) {
            due.push(queue.pop_front().expect("front").1);
        }
        match queue.front() {
            Some((at, _)) => Some(*at),
            None => {
                self.armed[q] = false;
                None
            }
        }
    }
}

/// A counting semaphore with a FIFO of waiters (connection pools, call slots, the load
/// generator's connections). Waiters that gave up stay queued and are skipped when served.
pub(crate) struct Sem<T> {
    pub(crate) free: u32,
    pub(crate) waiters: VecDeque<T>,
}

impl<T> Sem<T> {
    pub(crate) fn new(size: u32) -> Sem<T> {
        Sem {
            free: size,
            waiters: VecDeque::new(),
        }
    }

    pub(crate) fn try_acquire(&mut self) -> bool {
        if self.free > 0 {
            self.free -= 1;
            true
        } else {
            false
        }
    }
}
