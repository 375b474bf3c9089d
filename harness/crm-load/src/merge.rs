//! Results of several engines that ran side by side on a common clock (distributed load)
//! made into one: counts and rates added, every histogram added — the per-operation ones,
//! the totals and each timeline bucket's — and each percentile read from the sum, never
//! averaged across engines.

use std::collections::BTreeMap;

use crate::results::{BucketOpResults, OpResults, RunResults, TimelineBucket};
use crate::{LoadError, Result};

impl OpResults {
    /// Adds `other`'s counts and histograms; the summaries are read again from the sums.
    pub fn add(&mut self, other: &OpResults) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors.merge(&other.errors);
        self.corrected_histogram.add(&other.corrected_histogram);
        self.uncorrected_histogram.add(&other.uncorrected_histogram);
        self.corrected = self.corrected_histogram.summary();
        self.uncorrected = self.uncorrected_histogram.summary();
    }
}

impl BucketOpResults {
    fn add(&mut self, other: &BucketOpResults) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.unavailable += other.unavailable;
        self.histogram.add(&other.histogram);
        let s = self.histogram.summary();
        (self.p50_us, self.p99_us, self.max_us) = (s.p50_us, s.p99_us, s.max_us);
    }
}

impl TimelineBucket {
    fn add(&mut self, other: &TimelineBucket) {
        self.requests += other.requests;
        self.completed += other.completed;
        self.errors += other.errors;
        add_by_name(&mut self.ops, &other.ops, BucketOpResults::add);
    }
}

fn add_by_name<T: Clone>(
    into: &mut BTreeMap<String, T>,
    from: &BTreeMap<String, T>,
    add: fn(&mut T, &T),
) {
    for (name, v) in from {
        match into.get_mut(name) {
            Some(mine) => add(mine, v),
            None => {
                into.insert(name.clone(), v.clone());
            }
        }
    }
}

impl RunResults {
    /// Adds the results of an engine that ran beside this one, from the same t = 0 with the
    /// same timeline bucket. Rates add up (each engine's over its own measured window, which
    /// the common clock makes the same but for the drain); the configuration, target, start
    /// and marks stay this run's.
    pub fn add(&mut self, other: &RunResults) -> Result<()> {
        if self.timeline.bucket_s != other.timeline.bucket_s {
            return Err(LoadError::Config(format!(
                "cannot merge results with {} s and {} s timeline buckets",
                self.timeline.bucket_s, other.timeline.bucket_s
            )));
        }
        self.measured_s = self.measured_s.max(other.measured_s);
        self.offered_rate = match (self.offered_rate, other.offered_rate) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.achieved_rate += other.achieved_rate;
        self.ok_rate += other.ok_rate;
        self.warmup_requests += other.warmup_requests;
        self.stopped_early |= other.stopped_early;
        self.totals.add(&other.totals);
        add_by_name(&mut self.ops, &other.ops, OpResults::add);
        let buckets = &mut self.timeline.buckets;
        for (i, b) in other.timeline.buckets.iter().enumerate() {
            match buckets.get_mut(i) {
                Some(mine) => mine.add(b),
                None => buckets.push(b.clone()),
            }
        }
        self.traced.extend(other.traced.iter().cloned());
        Ok(())
    }
}
