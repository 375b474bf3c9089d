//! The live side of a run: progress counters for a progress bar, a stop button, marks for
//! events (a fault injected) and the run's start, shared by the caller and the workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::results::Mark;

/// The run's t = 0, on the monotonic clock and on the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct RunStart {
    /// Monotonic instant (offsets in the results are from this).
    pub instant: Instant,
    /// The same moment on the wall clock (`started_at` in the results).
    pub wall: DateTime<Utc>,
}

impl RunStart {
    /// t = 0 on the wall-clock instant `at`, or (`None`) after a short lead so that no
    /// worker finds the first arrivals already late. An instant already past is refused:
    /// the engines sharing it would no longer share a clock.
    pub(crate) fn at(at: Option<DateTime<Utc>>) -> crate::Result<Self> {
        let now = Utc::now();
        let lead = match at {
            None => Duration::from_millis(2),
            Some(at) => (at - now).to_std().map_err(|_| {
                crate::LoadError::Config(format!(
                    "the common start {at} had passed ({} ms ago) when the connections were ready",
                    (now - at).num_milliseconds()
                ))
            })?,
        };
        Ok(Self {
            instant: Instant::now() + lead,
            wall: now + lead,
        })
    }
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Requests handed to a connection so far (warm-up included).
    pub sent: u64,
    /// Requests finished (any outcome).
    pub completed: u64,
    /// Finished requests that failed.
    pub errors: u64,
    /// Time since t = 0 (zero before the start).
    pub elapsed: Duration,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) sent: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) errors: AtomicU64,
    stop: watch::Sender<bool>,
    stopped_at: OnceLock<Instant>,
    start: OnceLock<RunStart>,
    marks: Mutex<Vec<(Instant, String)>>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            sent: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            stop: watch::Sender::new(false),
            stopped_at: OnceLock::new(),
            start: OnceLock::new(),
            marks: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn set_start(&self, start: RunStart) {
        let _ = self.start.set(start);
    }

    /// When the first stop was asked for.
    pub(crate) fn stopped_at(&self) -> Option<Instant> {
        self.stopped_at.get().copied()
    }

    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub(crate) fn finished(&self, failed: bool) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The marks as offsets from the start.
    pub(crate) fn marks(&self) -> Vec<Mark> {
        let Some(start) = self.start.get() else {
            return Vec::new();
        };
        let marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        marks
            .iter()
            .map(|(at, label)| Mark {
                t_s: signed_secs(*at, start.instant),
                label: label.clone(),
            })
            .collect()
    }
}

fn signed_secs(at: Instant, start: Instant) -> f64 {
    match at.checked_duration_since(start) {
        Some(d) => d.as_secs_f64(),
        None => -start.duration_since(at).as_secs_f64(),
    }
}

/// A cloneable handle on a running load: progress, stop, marks.
#[derive(Clone, Debug)]
pub struct RunHandle {
    pub(crate) shared: Arc<Shared>,
}

impl RunHandle {
    /// The counters now (relaxed reads: a progress bar, not an exact total).
    pub fn progress(&self) -> Progress {
        let s = &self.shared;
        Progress {
            sent: s.sent.load(Ordering::Relaxed),
            completed: s.completed.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
            elapsed: self
                .started()
                .map(|st| st.instant.elapsed())
                .unwrap_or_default(),
        }
    }

    /// Ends the run early: nothing new is sent; requests in flight finish (or time out) and
    /// the results cover the run up to now.
    pub fn stop(&self) {
        let _ = self.shared.stopped_at.set(Instant::now());
        self.shared.stop.send_replace(true);
    }

    /// True once [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        *self.shared.stop.borrow()
    }

    /// Records `label` at the current instant; it appears in the results' `marks`, relative
    /// to the run's start, so a chart can shade the window between two marks.
    pub fn mark(&self, label: impl Into<String>) {
        let mut marks = self.shared.marks.lock().unwrap_or_else(|e| e.into_inner());
        marks.push((Instant::now(), label.into()));
    }

    /// The run's t = 0, once it has started.
    pub fn started(&self) -> Option<RunStart> {
        self.shared.start.get().copied()
    }
}
