//! One worker: an OS thread with its own single-threaded tokio runtime, its share of the
//! connections and of the arrivals, and its own recorder. Everything on the hot path is
//! thread-local (`Rc`, `RefCell`, `Cell`): no lock, no cross-thread wake-up per request.
//!
//! Each connection runs a loop: take the next unclaimed arrival, wait on its own timer until
//! the arrival's intended time (or not at all if it is already overdue), send, record. A
//! connection that is busy claims nothing, so when every connection is busy the due
//! arrivals wait, and their corrected latency — measured from the intended time — grows.

use std::cell::{Cell, RefCell};
use std::iter::{Peekable, Skip, StepBy};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng as _;
use tokio::sync::{oneshot, watch};

use super::conn::Connection;
use super::handle::Shared;
use super::timer::{Clock, PreciseTimer};
use crate::LoadError;
use crate::op::{Outcome, Workload, WorkloadRng};
use crate::record::{Recorder, Sample};
use crate::reqlog::{LogWriter, NOT_SENT_OP, RequestRecord};
use crate::schedule::{Arrivals, Schedule};
use crate::target::Target;
use crate::trace::{Sampler, TRACEPARENT};

/// How a worker paces its requests.
pub(crate) enum Pace {
    /// Intended send times from a schedule; overdue arrivals are still sent for `drain`
    /// after the end, then counted as not sent.
    Open { schedule: Schedule, drain: Duration },
    /// Back to back until `warmup + duration`.
    Saturation,
}

/// Everything a worker needs, moved into its thread.
pub(crate) struct WorkerPlan {
    pub(crate) index: usize,
    pub(crate) workers: usize,
    pub(crate) connections: usize,
    pub(crate) pace: Pace,
    pub(crate) warmup: Duration,
    /// Planned end of the run, from its start.
    pub(crate) end: Duration,
    pub(crate) timeout: Duration,
    pub(crate) bucket: Duration,
    pub(crate) seed: u64,
    pub(crate) trace_ratio: Option<f64>,
    pub(crate) cpu: Option<usize>,
    pub(crate) target: Target,
    pub(crate) workload: Arc<dyn Workload>,
    pub(crate) shared: Arc<Shared>,
    /// This worker's side of the per-request log, when the run keeps one.
    pub(crate) log: Option<LogWriter>,
}

/// A worker's recorder, or why it failed.
pub(crate) type WorkerResult = Result<Recorder, String>;

/// Starts the worker's thread. It connects, reports on `ready`, waits for `start` to carry
/// the run's t = 0, runs, and sends its recorder on the returned channel.
pub(crate) fn spawn(
    plan: WorkerPlan,
    ready: oneshot::Sender<Result<(), String>>,
    start: watch::Receiver<Option<Instant>>,
) -> Result<oneshot::Receiver<WorkerResult>, LoadError> {
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("crm-load-{}", plan.index))
        .spawn(move || {
            if let Some(cpu) = plan.cpu {
                pin_to(cpu);
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready.send(Err(format!("runtime: {e}")));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            let result = local.block_on(&runtime, run(plan, ready, start));
            let _ = done_tx.send(result);
        })
        .map_err(|e| LoadError::Worker(format!("thread: {e}")))?;
    Ok(done_rx)
}

/// Pins the calling thread to one CPU; best effort (a missing CPU leaves it unpinned).
fn pin_to(cpu: usize) {
    use nix::sched::{CpuSet, sched_setaffinity};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = sched_setaffinity(Pid::from_raw(0), &set);
    }
}

type Strided = Peekable<StepBy<Skip<Arrivals>>>;

enum Source {
    /// Boxed: the arrival generator (a ChaCha state) dwarfs the closed-loop counter.
    Open(Box<RefCell<Strided>>),
    Closed {
        next: Cell<u64>,
        stride: u64,
    },
}

struct Ctx {
    workload: Arc<dyn Workload>,
    shared: Arc<Shared>,
    start: Instant,
    timeout: Duration,
    source: Source,
    rng: RefCell<WorkloadRng>,
    recorder: RefCell<Recorder>,
    log: RefCell<Option<LogWriter>>,
    stopped: Cell<bool>,
    /// End of the run from its start: no arrival at or after it is sent.
    end: Cell<Duration>,
    /// After this instant overdue arrivals are no longer sent.
    drain_deadline: Cell<Instant>,
    timers: Vec<Rc<PreciseTimer>>,
    sampler: Option<Sampler>,
}

impl Ctx {
    /// Applies a stop: the run ends now, nothing overdue is sent, sleepers wake up.
    fn stop(&self, stopped_at: Instant) {
        if self.stopped.replace(true) {
            return;
        }
        let at = stopped_at.saturating_duration_since(self.start);
        if at < self.end.get() {
            self.end.set(at);
            self.recorder.borrow_mut().set_end(at);
        }
        self.drain_deadline.set(stopped_at);
        for timer in &self.timers {
            timer.wake();
        }
    }

    /// Sends one operation and records it; `intended` is `None` in closed loop.
    async fn send(&self, conn: &mut Connection, seq: u64, intended: Option<Instant>) {
        let mut op = self.workload.next(seq, &mut self.rng.borrow_mut());
        let traced = self.sampler.as_ref().and_then(|s| {
            let (header, sampled) = s.traceparent();
            op.headers
                .insert(http::header::HeaderName::from_static(TRACEPARENT), header);
            sampled
        });
        let sent = Instant::now();
        let intended = intended.unwrap_or(sent);
        self.shared
            .sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = conn.exchange(&op, sent + self.timeout).await;
        let outcome = Outcome {
            seq,
            result,
            intended,
            sent,
            done: Instant::now(),
        };
        self.workload.on_response(&op, &outcome);
        let error = outcome.error();
        self.shared.finished(error.is_some());
        let sample = Sample {
            intended: intended.saturating_duration_since(self.start),
            done: outcome.done.saturating_duration_since(self.start),
            corrected: outcome.corrected(),
            uncorrected: outcome.uncorrected(),
            responded: outcome.result.is_ok(),
            error,
        };
        if let Some(log) = self.log.borrow_mut().as_mut() {
            let record = RequestRecord::new(
                sample.intended,
                sample.corrected,
                sent.saturating_duration_since(intended),
                log.op(&op.name),
                match &outcome.result {
                    Ok(r) => Ok(r.status.as_u16()),
                    Err(class) => Err(*class),
                },
            );
            log.push(record, outcome.done);
        }
        let mut recorder = self.recorder.borrow_mut();
        recorder.record(&op.name, sample);
        if let Some(trace) = traced {
            recorder.record_traced(&op.name, trace, sample);
        }
    }

    /// Counts an arrival due at `at` that was never sent (and logs it).
    fn not_sent(&self, at: Duration) {
        self.recorder.borrow_mut().record_not_sent(at);
        if let Some(log) = self.log.borrow_mut().as_mut() {
            let r = RequestRecord::new(
                at,
                Duration::ZERO,
                Duration::ZERO,
                NOT_SENT_OP,
                Err(crate::ErrorClass::NotSent),
            );
            log.push(r, Instant::now());
        }
    }
}

async fn run(
    plan: WorkerPlan,
    ready: oneshot::Sender<Result<(), String>>,
    mut start: watch::Receiver<Option<Instant>>,
) -> WorkerResult {
    let mut conns = Vec::with_capacity(plan.connections);
    let mut timers = Vec::with_capacity(plan.connections);
    let prepared = (|| {
        let clock = Clock::new()?;
        for _ in 0..plan.connections {
            timers.push(Rc::new(PreciseTimer::new(clock)?));
        }
        Ok::<_, std::io::Error>(())
    })();
    if let Err(e) = prepared {
        let _ = ready.send(Err(format!("timer: {e}")));
        return Err(format!("timer: {e}"));
    }
    // Connect before t = 0 so the first requests do not pay for it; a refused connection is
    // retried by its first request (and counted as a connect error if it fails again).
    let deadline = Instant::now() + plan.timeout;
    for _ in 0..plan.connections {
        let mut conn = Connection::new(plan.target.clone());
        let _ = conn.connect(deadline).await;
        conns.push(conn);
    }
    let _ = ready.send(Ok(()));
    let start = match start.wait_for(Option::is_some).await {
        Ok(s) => s.expect("waited for Some"),
        Err(_) => return Err("the run was abandoned before it started".into()),
    };

    let stride = plan.workers as u64;
    let (source, drain) = match &plan.pace {
        Pace::Open { schedule, drain } => {
            let arrivals = schedule
                .arrivals()
                .skip(plan.index)
                .step_by(plan.workers)
                .peekable();
            (Source::Open(Box::new(RefCell::new(arrivals))), *drain)
        }
        Pace::Saturation => (
            Source::Closed {
                next: Cell::new(plan.index as u64),
                stride,
            },
            Duration::ZERO,
        ),
    };
    let mut rng = WorkloadRng::seed_from_u64(plan.seed);
    rng.set_stream(plan.index as u64);
    let ctx = Rc::new(Ctx {
        workload: plan.workload,
        shared: plan.shared.clone(),
        start,
        timeout: plan.timeout,
        source,
        rng: RefCell::new(rng),
        recorder: RefCell::new(Recorder::new(plan.warmup, plan.end, plan.bucket)),
        log: RefCell::new(plan.log),
        stopped: Cell::new(false),
        end: Cell::new(plan.end),
        drain_deadline: Cell::new(start + plan.end + drain),
        timers: timers.clone(),
        sampler: plan
            .trace_ratio
            .map(|r| Sampler::new(r, plan.seed ^ (plan.index as u64).rotate_left(32))),
    });

    let tasks: Vec<_> = conns
        .into_iter()
        .zip(timers)
        .map(|(conn, timer)| tokio::task::spawn_local(connection_loop(ctx.clone(), conn, timer)))
        .collect();
    let all_done = async {
        let mut failure = None;
        for task in tasks {
            if let Err(e) = task.await {
                failure = Some(format!("a connection task failed: {e}"));
            }
        }
        failure
    };
    tokio::pin!(all_done);
    let mut stop = plan.shared.stop_signal();
    let failure = tokio::select! {
        failure = &mut all_done => failure,
        _ = stop.wait_for(|s| *s) => {
            ctx.stop(plan.shared.stopped_at().unwrap_or_else(Instant::now));
            all_done.await
        }
    };
    if let Some(failure) = failure {
        return Err(failure);
    }

    // Arrivals due before the end that no connection got to.
    if let Source::Open(arrivals) = &ctx.source {
        let end = ctx.end.get();
        for a in arrivals.borrow_mut().by_ref() {
            if a.at >= end {
                break;
            }
            ctx.not_sent(a.at);
        }
    }
    if let Some(log) = ctx.log.borrow_mut().as_mut() {
        log.flush(Instant::now());
    }
    let recorder = ctx.recorder.borrow().clone();
    Ok(recorder)
}

async fn connection_loop(ctx: Rc<Ctx>, mut conn: Connection, timer: Rc<PreciseTimer>) {
    match &ctx.source {
        Source::Open(arrivals) => loop {
            if ctx.stopped.get() {
                break;
            }
            let claimed = {
                let mut arrivals = arrivals.borrow_mut();
                match arrivals.peek() {
                    Some(a) if a.at < ctx.end.get() => arrivals.next(),
                    _ => None,
                }
            };
            let Some(arrival) = claimed else { break };
            let intended = ctx.start + arrival.at;
            if intended > Instant::now() {
                let _ = timer.sleep_until(intended).await;
                if ctx.stopped.get() && arrival.at >= ctx.end.get() {
                    break;
                }
            }
            if Instant::now() > ctx.drain_deadline.get() {
                ctx.not_sent(arrival.at);
                break;
            }
            ctx.send(&mut conn, arrival.seq, Some(intended)).await;
        },
        Source::Closed { next, stride } => {
            let end = ctx.start + ctx.end.get();
            while !ctx.stopped.get() && Instant::now() < end {
                let seq = next.get();
                next.set(seq + stride);
                ctx.send(&mut conn, seq, None).await;
            }
        }
    }
}
