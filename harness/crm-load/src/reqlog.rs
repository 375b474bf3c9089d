//! The per-request log: one compact fixed-size record per finished request (and per arrival
//! never sent) — intended time, latency, send delay, operation, outcome — for timings at
//! millisecond resolution (when did the failures stop?) and for statistics that need the
//! samples in time order (batched confidence intervals, the warm-up's stationarity test).
//!
//! Each worker appends to its own buffer (a `Vec` push on the hot path) and hands full or
//! 100 ms old buffers over a channel; a [`LogReader`] collects them while the run goes on,
//! so a caller can watch the samples arrive and stop the run when it has seen enough. Memory
//! is bounded: 16 bytes a record, at most the configured number of records per run (the
//! rest are counted as dropped, and a log with drops is not used to rebuild results).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::errors::ErrorClass;
use crate::op::OpName;

/// Buffered records a worker hands over at once (64 KiB).
const CHUNK: usize = 4096;
/// A worker hands over its buffer at least this often, so a reader sees recent requests.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// `op` of an arrival that was never sent (it has no operation).
pub const NOT_SENT_OP: u16 = u16::MAX;

/// Outcome codes below 100 (HTTP statuses are stored as they are).
const CONNECT: u16 = 1;
const TIMEOUT: u16 = 2;
const IO: u16 = 3;
const NOT_SENT: u16 = 4;

/// One request, as offsets from the run's start, in microseconds (a run up to 71 minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// When the schedule meant it to be sent.
    pub intended_us: u32,
    /// From the intended time to the whole response or the failure (corrected latency).
    pub latency_us: u32,
    /// From the intended time to the actual send (the uncorrected latency is
    /// `latency_us − send_delay_us`).
    pub send_delay_us: u32,
    /// Index into [`RequestLog::ops`], or [`NOT_SENT_OP`].
    pub op: u16,
    /// The HTTP status, or a code below 100 for a failure without one.
    pub outcome: u16,
}

impl RequestRecord {
    pub(crate) fn new(
        intended: Duration,
        latency: Duration,
        send_delay: Duration,
        op: u16,
        result: Result<u16, ErrorClass>,
    ) -> Self {
        let us = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        let outcome = match result {
            Ok(status) => status,
            Err(ErrorClass::Connect) => CONNECT,
            Err(ErrorClass::Timeout) => TIMEOUT,
            Err(ErrorClass::NotSent) => NOT_SENT,
            Err(ErrorClass::RateLimited) => 429,
            Err(ErrorClass::Client(c) | ErrorClass::Server(c)) => c,
            Err(ErrorClass::Io) => IO,
        };
        Self {
            intended_us: us(intended),
            latency_us: us(latency),
            send_delay_us: us(send_delay),
            op,
            outcome,
        }
    }

    /// A response arrived (any status).
    pub fn responded(&self) -> bool {
        self.outcome >= 100
    }

    /// The failure class; `None` for a 1xx–3xx response.
    pub fn error(&self) -> Option<ErrorClass> {
        match self.outcome {
            CONNECT => Some(ErrorClass::Connect),
            TIMEOUT => Some(ErrorClass::Timeout),
            NOT_SENT => Some(ErrorClass::NotSent),
            100..=399 => None,
            429 => Some(ErrorClass::RateLimited),
            c @ 400..=499 => Some(ErrorClass::Client(c)),
            c @ 500..=599 => Some(ErrorClass::Server(c)),
            _ => Some(ErrorClass::Io),
        }
    }

    /// Served: a success, or a 4xx answer (the API working as specified). 5xx, 429, refused
    /// or broken connections, timeouts and arrivals never sent are not.
    pub fn served(&self) -> bool {
        matches!(self.error(), None | Some(ErrorClass::Client(_)))
    }

    /// When it finished, µs from the run's start.
    pub fn done_us(&self) -> u64 {
        u64::from(self.intended_us) + u64::from(self.latency_us)
    }
}

/// What the workers and the reader share.
#[derive(Debug, Default)]
pub(crate) struct LogShared {
    ops: Mutex<Vec<String>>,
    dropped: AtomicU64,
}

impl LogShared {
    fn intern(&self, name: &str) -> u16 {
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        match ops.iter().position(|n| n == name) {
            Some(i) => i as u16,
            None => {
                ops.push(name.to_owned());
                (ops.len() - 1).min(NOT_SENT_OP as usize - 1) as u16
            }
        }
    }
}

/// A worker's side of the log.
pub(crate) struct LogWriter {
    shared: Arc<LogShared>,
    tx: Sender<Vec<RequestRecord>>,
    buf: Vec<RequestRecord>,
    /// Names this worker has seen, with their index (a short list: the workload's ops).
    known: Vec<(OpName, u16)>,
    last_flush: Instant,
    /// Records this worker may still keep.
    budget: usize,
}

impl LogWriter {
    /// The index of an operation's name (interned in the shared table once per worker).
    pub(crate) fn op(&mut self, name: &OpName) -> u16 {
        if let Some((_, i)) = self.known.iter().find(|(n, _)| n == name) {
            return *i;
        }
        let i = self.shared.intern(name);
        self.known.push((name.clone(), i));
        i
    }

    pub(crate) fn push(&mut self, r: RequestRecord, now: Instant) {
        if self.budget == 0 {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.budget -= 1;
        self.buf.push(r);
        if self.buf.len() >= CHUNK || now.duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush(now);
        }
    }

    pub(crate) fn flush(&mut self, now: Instant) {
        self.last_flush = now;
        if !self.buf.is_empty() {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            // A reader that went away just stops reading; the run goes on.
            let _ = self.tx.send(full);
        }
    }
}

/// Makes the writers of `workers` workers sharing `capacity` records, and their reader.
pub(crate) fn channel_for(workers: usize, capacity: usize) -> (Vec<LogWriter>, LogReader) {
    let shared = Arc::new(LogShared::default());
    let (tx, rx) = channel();
    let writers = (0..workers)
        .map(|i| LogWriter {
            shared: shared.clone(),
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            known: Vec::new(),
            last_flush: Instant::now(),
            budget: capacity / workers + usize::from(i < capacity % workers),
        })
        .collect();
    let reader = LogReader {
        shared,
        rx,
        records: Vec::new(),
    };
    (writers, reader)
}

/// Collects the log while the run goes on.
pub struct LogReader {
    shared: Arc<LogShared>,
    rx: Receiver<Vec<RequestRecord>>,
    records: Vec<RequestRecord>,
}

impl LogReader {
    /// Takes in what the workers handed over since the last call; returns how many records
    /// arrived. Records come in completion order per worker, not sorted.
    pub fn poll(&mut self) -> usize {
        let before = self.records.len();
        while let Ok(chunk) = self.rx.try_recv() {
            self.records.extend_from_slice(&chunk);
        }
        self.records.len() - before
    }

    /// Every record so far (after [`poll`](Self::poll)), unsorted.
    pub fn records(&self) -> &[RequestRecord] {
        &self.records
    }

    /// The operation names so far, by index.
    pub fn ops(&self) -> Vec<String> {
        self.shared
            .ops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The whole log, sorted by intended time. Call after the run's results were awaited,
    /// when every worker has handed over its last records.
    pub fn finish(mut self) -> RequestLog {
        self.poll();
        let mut records = std::mem::take(&mut self.records);
        records.sort_by_key(|r| (r.intended_us, r.latency_us));
        RequestLog {
            records,
            ops: self.ops(),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }
}

/// A run's whole request log.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    /// Sorted by intended time.
    pub records: Vec<RequestRecord>,
    /// Operation names by index.
    pub ops: Vec<String>,
    /// Records not kept because the log was full.
    pub dropped: u64,
}

impl RequestLog {
    /// A mask over [`ops`](Self::ops): which indexes `pick` selects.
    pub fn select(&self, pick: impl Fn(&str) -> bool) -> Vec<bool> {
        self.ops.iter().map(|n| pick(n)).collect()
    }

    /// The first instant (µs from the run's start) in `[from_us, to_us)` after which every
    /// request of the selected operations intended before `to_us` was served: the intended
    /// time of the first served request after the last unserved one, or `from_us` when none
    /// failed. `None` when the last one failed (they never recovered within the window) or
    /// none was intended in the window.
    pub fn recovered_at(&self, ops: &[bool], from_us: u64, to_us: u64) -> Option<u64> {
        let chosen = |r: &&RequestRecord| {
            let t = u64::from(r.intended_us);
            t >= from_us && t < to_us && ops.get(usize::from(r.op)).copied().unwrap_or(false)
        };
        let mut inside = self.records.iter().filter(chosen).peekable();
        inside.peek()?;
        let mut recovered = Some(from_us);
        for r in inside {
            if !r.served() {
                recovered = None;
            } else if recovered.is_none() {
                recovered = Some(u64::from(r.intended_us));
            }
        }
        recovered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t_ms: u32, op: u16, status: Result<u16, ErrorClass>) -> RequestRecord {
        RequestRecord::new(
            Duration::from_millis(t_ms.into()),
            Duration::from_millis(2),
            Duration::ZERO,
            op,
            status,
        )
    }

    #[test]
    fn a_record_is_sixteen_bytes_and_keeps_its_outcome() {
        assert_eq!(std::mem::size_of::<RequestRecord>(), 16);
        let r = rec(5, 0, Err(ErrorClass::Server(503)));
        assert_eq!(r.error(), Some(ErrorClass::Server(503)));
        assert!(r.responded() && !r.served());
        assert!(rec(5, 0, Err(ErrorClass::Client(409))).served());
        assert!(!rec(5, 0, Err(ErrorClass::Connect)).responded());
        assert_eq!(
            rec(5, 0, Err(ErrorClass::Timeout)).error(),
            Some(ErrorClass::Timeout)
        );
        assert_eq!(rec(5, 0, Ok(204)).error(), None);
        assert_eq!(rec(7, 0, Ok(200)).done_us(), 9_000);
    }

    #[test]
    fn recovery_is_the_first_served_request_after_the_last_failure() {
        let log = RequestLog {
            records: vec![
                rec(100, 0, Err(ErrorClass::Connect)),
                rec(110, 1, Err(ErrorClass::Connect)),
                rec(120, 0, Ok(200)),
                rec(130, 0, Err(ErrorClass::Server(503))),
                rec(141, 0, Ok(200)),
                rec(150, 1, Err(ErrorClass::Io)),
                rec(160, 0, Ok(200)),
            ],
            ops: vec!["a".into(), "b".into()],
            dropped: 0,
        };
        let a = log.select(|n| n == "a");
        assert_eq!(log.recovered_at(&a, 90_000, 200_000), Some(141_000));
        assert_eq!(log.recovered_at(&a, 135_000, 200_000), Some(135_000));
        let b = log.select(|n| n == "b");
        assert_eq!(log.recovered_at(&b, 90_000, 200_000), None);
        assert_eq!(log.recovered_at(&a, 170_000, 200_000), None);
    }
}
