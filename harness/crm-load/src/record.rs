//! The in-memory recorder: per-operation histograms and counts plus the timeline, owned by
//! one worker (or one goose user) without any locking, and merged at the end of a run.

use std::time::Duration;

use crate::errors::{ErrorClass, ErrorCounts};
use crate::histogram::{LatencyHistogram, TIMELINE_PRECISION};
use crate::op::OpName;
use crate::trace::TracedRequest;

/// What one operation accumulated.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpStats {
    /// Latency from the intended send time, of every operation that got a response.
    pub(crate) corrected: LatencyHistogram,
    /// Latency from the actual send time, same operations.
    pub(crate) uncorrected: LatencyHistogram,
    /// Operations recorded (successes and failures).
    pub(crate) requests: u64,
    /// Operations that got a 1xx–3xx response.
    pub(crate) ok: u64,
    /// Failures by class.
    pub(crate) errors: ErrorCounts,
}

impl OpStats {
    fn merge(&mut self, other: &OpStats) {
        self.corrected.add(&other.corrected);
        self.uncorrected.add(&other.uncorrected);
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors.merge(&other.errors);
    }
}

/// One operation within one timeline bucket.
#[derive(Clone, Debug)]
pub(crate) struct BucketOp {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// Failures other than a 4xx answer: the service did not serve the request.
    pub(crate) unavailable: u64,
    pub(crate) corrected: LatencyHistogram,
}

impl Default for BucketOp {
    fn default() -> Self {
        Self {
            requests: 0,
            errors: 0,
            unavailable: 0,
            corrected: LatencyHistogram::with_precision(TIMELINE_PRECISION),
        }
    }
}

/// One slice of the run. Requests, errors and latency are counted in the bucket of their
/// *intended* send time (when the user wanted it); completions in the bucket they finished.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bucket {
    pub(crate) requests: u64,
    pub(crate) completed: u64,
    pub(crate) errors: u64,
    pub(crate) ops: Vec<(OpName, BucketOp)>,
}

/// One finished operation, as offsets from the run's start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub(crate) intended: Duration,
    pub(crate) done: Duration,
    pub(crate) corrected: Duration,
    pub(crate) uncorrected: Duration,
    /// A response (any status) arrived, so the latencies are real.
    pub(crate) responded: bool,
    pub(crate) error: Option<ErrorClass>,
}

/// Per-operation stats, totals and timeline of one worker.
#[derive(Clone, Debug)]
pub(crate) struct Recorder {
    warmup: Duration,
    bucket: Duration,
    /// End of the measured window (moved earlier when a run is stopped).
    end: Duration,
    pub(crate) ops: Vec<(OpName, OpStats)>,
    pub(crate) timeline: Vec<Bucket>,
    /// Arrivals that never got sent (counted apart: they have no operation).
    pub(crate) not_sent: u64,
    /// Operations intended during warm-up, not in `ops`.
    pub(crate) warmup_requests: u64,
    /// Completions inside [warmup, end], for the achieved rate.
    pub(crate) completed_in_window: u64,
    /// Successful completions inside [warmup, end].
    pub(crate) ok_in_window: u64,
    /// Sampled requests of the measured window (tracing on).
    pub(crate) traced: Vec<TracedRequest>,
}

impl Recorder {
    pub(crate) fn new(warmup: Duration, end: Duration, bucket: Duration) -> Self {
        Self {
            warmup,
            bucket: bucket.max(Duration::from_millis(1)),
            end,
            ops: Vec::new(),
            timeline: Vec::new(),
            not_sent: 0,
            warmup_requests: 0,
            completed_in_window: 0,
            ok_in_window: 0,
            traced: Vec::new(),
        }
    }

    /// Remembers a sampled request of the measured window with its trace id.
    pub(crate) fn record_traced(&mut self, name: &OpName, trace_id: u128, s: Sample) {
        if s.intended < self.warmup || s.done > self.end || !s.responded {
            return;
        }
        self.traced.push(TracedRequest {
            trace_id: format!("{trace_id:032x}"),
            op: name.to_string(),
            uncorrected_us: s.uncorrected.as_micros() as u64,
            corrected_us: s.corrected.as_micros() as u64,
            ok: s.error.is_none(),
            sent_s: s.done.saturating_sub(s.uncorrected).as_secs_f64(),
        });
    }

    /// Moves the end of the measured window (a stopped run ends early).
    pub(crate) fn set_end(&mut self, end: Duration) {
        self.end = end;
    }

    pub(crate) fn end(&self) -> Duration {
        self.end
    }

    fn bucket_mut(&mut self, at: Duration) -> &mut Bucket {
        let i = (at.as_nanos() / self.bucket.as_nanos()) as usize;
        if self.timeline.len() <= i {
            self.timeline.resize_with(i + 1, Bucket::default);
        }
        &mut self.timeline[i]
    }

    /// Records one finished operation.
    pub(crate) fn record(&mut self, name: &OpName, s: Sample) {
        let ok = s.error.is_none();
        if s.done >= self.warmup && s.done <= self.end {
            self.completed_in_window += 1;
            self.ok_in_window += u64::from(ok);
        }
        self.bucket_mut(s.done).completed += 1;

        let bucket = self.bucket_mut(s.intended);
        bucket.requests += 1;
        bucket.errors += u64::from(!ok);
        let bop = match bucket.ops.iter().position(|(n, _)| n == name) {
            Some(i) => &mut bucket.ops[i].1,
            None => {
                bucket.ops.push((name.clone(), BucketOp::default()));
                &mut bucket.ops.last_mut().expect("just pushed").1
            }
        };
        bop.requests += 1;
        bop.errors += u64::from(!ok);
        bop.unavailable += u64::from(s.error.is_some_and(|c| !matches!(c, ErrorClass::Client(_))));
        if s.responded {
            bop.corrected.record(s.corrected);
        }

        if s.intended < self.warmup {
            self.warmup_requests += 1;
            return;
        }
        let stats = self.op_mut(name);
        stats.requests += 1;
        match s.error {
            None => stats.ok += 1,
            Some(class) => stats.errors.add(class),
        }
        if s.responded {
            stats.corrected.record(s.corrected);
            stats.uncorrected.record(s.uncorrected);
        }
    }

    /// Counts an arrival that was due at `intended` but never sent.
    pub(crate) fn record_not_sent(&mut self, intended: Duration) {
        let bucket = self.bucket_mut(intended);
        bucket.errors += 1;
        if intended >= self.warmup {
            self.not_sent += 1;
        }
    }

    fn op_mut(&mut self, name: &OpName) -> &mut OpStats {
        match self.ops.iter().position(|(n, _)| n == name) {
            Some(i) => &mut self.ops[i].1,
            None => {
                self.ops.push((name.clone(), OpStats::default()));
                &mut self.ops.last_mut().expect("just pushed").1
            }
        }
    }

    /// Adds another worker's recorder (same warm-up, end and bucket width).
    pub(crate) fn merge(&mut self, other: &Recorder) {
        for (name, stats) in &other.ops {
            self.op_mut(name).merge(stats);
        }
        if self.timeline.len() < other.timeline.len() {
            self.timeline
                .resize_with(other.timeline.len(), Bucket::default);
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(&other.timeline) {
            mine.requests += theirs.requests;
            mine.completed += theirs.completed;
            mine.errors += theirs.errors;
            for (name, op) in &theirs.ops {
                match mine.ops.iter_mut().find(|(n, _)| n == name) {
                    Some((_, m)) => {
                        m.requests += op.requests;
                        m.errors += op.errors;
                        m.unavailable += op.unavailable;
                        m.corrected.add(&op.corrected);
                    }
                    None => mine.ops.push((name.clone(), op.clone())),
                }
            }
        }
        self.not_sent += other.not_sent;
        self.traced.extend(other.traced.iter().cloned());
        self.warmup_requests += other.warmup_requests;
        self.completed_in_window += other.completed_in_window;
        self.ok_in_window += other.ok_in_window;
    }

    pub(crate) fn warmup(&self) -> Duration {
        self.warmup
    }

    pub(crate) fn bucket(&self) -> Duration {
        self.bucket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn sample(intended: u64, latency: u64, error: Option<ErrorClass>) -> Sample {
        Sample {
            intended: ms(intended),
            done: ms(intended + latency),
            corrected: ms(latency),
            uncorrected: ms(latency),
            responded: true,
            error,
        }
    }

    #[test]
    fn warm_up_is_kept_out_of_the_operations_but_not_out_of_the_timeline() {
        let mut r = Recorder::new(ms(1000), ms(3000), ms(500));
        let name: OpName = "read".into();
        r.record(&name, sample(100, 5, None));
        r.record(&name, sample(1500, 5, Some(ErrorClass::Server(500))));
        assert_eq!(r.warmup_requests, 1);
        let (_, stats) = &r.ops[0];
        assert_eq!(
            (stats.requests, stats.ok, stats.errors.server[&500]),
            (1, 0, 1)
        );
        assert_eq!(r.timeline.len(), 4);
        assert_eq!((r.timeline[0].requests, r.timeline[3].errors), (1, 1));
        assert_eq!(r.completed_in_window, 1);
    }

    #[test]
    fn merging_two_workers_adds_everything() {
        let name: OpName = "read".into();
        let mut a = Recorder::new(Duration::ZERO, ms(2000), ms(1000));
        let mut b = a.clone();
        a.record(&name, sample(10, 1, None));
        b.record(&name, sample(1500, 2, None));
        b.record_not_sent(ms(1900));
        a.merge(&b);
        assert_eq!(a.ops[0].1.requests, 2);
        assert_eq!(a.ops[0].1.corrected.count(), 2);
        assert_eq!(a.not_sent, 1);
        assert_eq!(a.timeline.len(), 2);
        assert_eq!(a.timeline[1].errors, 1);
    }
}
