//! Results rebuilt from the per-request log with another warm-up: the caller decides when
//! the warm-up ended (by a stationarity test) after the run, and the figures are those the
//! engine would have reported had it known from the start.

use std::time::Duration;

use crate::record::{Recorder, Sample};
use crate::reqlog::{NOT_SENT_OP, RequestLog};
use crate::results::{self, RunConfig, RunMeta, RunResults};
use crate::{LoadError, Result};

impl RunResults {
    /// These results with the warm-up moved to `warmup` (from the run's start), replayed
    /// from `log` — the log of this very run. Fails when the log dropped records (it was
    /// full) or `warmup` is not inside the run.
    pub fn with_warmup(&self, log: &RequestLog, warmup: Duration) -> Result<RunResults> {
        if log.dropped > 0 {
            return Err(LoadError::Config(format!(
                "the request log dropped {} records: raise its capacity",
                log.dropped
            )));
        }
        let end = Duration::from_secs_f64(self.warmup_s + self.measured_s);
        if warmup >= end {
            return Err(LoadError::Config(format!(
                "a warm-up of {warmup:?} leaves nothing of a {end:?} run"
            )));
        }
        let bucket = Duration::from_secs_f64(self.timeline.bucket_s);
        let mut rec = Recorder::new(warmup, end, bucket);
        let names: Vec<crate::op::OpName> = log.ops.iter().map(|n| n.clone().into()).collect();
        for r in &log.records {
            let intended = Duration::from_micros(r.intended_us.into());
            if r.op == NOT_SENT_OP {
                rec.record_not_sent(intended);
                continue;
            }
            let Some(name) = names.get(usize::from(r.op)) else {
                continue;
            };
            let corrected = Duration::from_micros(r.latency_us.into());
            rec.record(
                name,
                Sample {
                    intended,
                    done: intended + corrected,
                    corrected,
                    uncorrected: corrected
                        .saturating_sub(Duration::from_micros(r.send_delay_us.into())),
                    responded: r.responded(),
                    error: r.error(),
                },
            );
        }
        let offered = match &self.config {
            RunConfig::OpenLoop(c) => Some(
                c.schedule
                    .arrivals()
                    .take_while(|a| a.at < end)
                    .filter(|a| a.at >= warmup)
                    .count() as u64,
            ),
            _ => None,
        };
        let meta = RunMeta {
            config: self.config.clone(),
            target: self.target.clone(),
            started_at: self.started_at,
            offered,
            stopped_early: self.stopped_early,
            marks: self.marks.clone(),
        };
        let mut rebuilt = results::build(&rec, meta);
        // The traced requests (the log does not hold them) of the new window, chosen as the
        // recorder chose them: intended at or after the warm-up, done by the end.
        let (from, to) = (warmup.as_secs_f64(), end.as_secs_f64());
        rebuilt.traced = self
            .traced
            .iter()
            .filter(|t| {
                let done = t.sent_s + t.uncorrected_us as f64 / 1e6;
                let intended = done - t.corrected_us as f64 / 1e6;
                intended >= from - 1e-6 && done <= to + 1e-6
            })
            .cloned()
            .collect();
        Ok(rebuilt)
    }
}
