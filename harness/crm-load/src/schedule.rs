//! Arrival schedules: when each request is *meant* to be sent.
//!
//! A [`Schedule`] is a [`RateProfile`] (requests per second over time: steps and linear ramps)
//! and a [`Spacing`] (evenly spaced, or a seeded Poisson process). Both are built on the
//! cumulative rate Λ(t) = ∫₀ᵗ rate: evenly spaced arrivals are at Λ⁻¹(0), Λ⁻¹(1), Λ⁻¹(2), …
//! and Poisson arrivals at Λ⁻¹ of the partial sums of unit exponentials (the time-rescaling
//! theorem), which gives a Poisson process whose intensity follows the profile exactly.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::LoadError;
use crate::serde_secs;

/// One piece of a rate profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Segment {
    /// A constant `rate` (requests per second) for `duration`.
    Step {
        /// How long the step lasts.
        #[serde(with = "serde_secs")]
        duration: Duration,
        /// Requests per second.
        rate: f64,
    },
    /// A rate moving linearly from `from` to `to` over `duration`.
    Ramp {
        /// How long the ramp lasts.
        #[serde(with = "serde_secs")]
        duration: Duration,
        /// Requests per second at the start.
        from: f64,
        /// Requests per second at the end.
        to: f64,
    },
}

impl Segment {
    fn duration(&self) -> f64 {
        match self {
            Segment::Step { duration, .. } | Segment::Ramp { duration, .. } => {
                duration.as_secs_f64()
            }
        }
    }

    fn rates(&self) -> (f64, f64) {
        match *self {
            Segment::Step { rate, .. } => (rate, rate),
            Segment::Ramp { from, to, .. } => (from, to),
        }
    }

    /// Requests expected during the segment: its area under the rate curve.
    fn area(&self) -> f64 {
        let (a, b) = self.rates();
        (a + b) / 2.0 * self.duration()
    }

    /// Time into the segment at which `u` (0 ≤ u < area) requests are due.
    fn inverse(&self, u: f64) -> f64 {
        if u <= 0.0 {
            return 0.0;
        }
        let (a, b) = self.rates();
        let d = self.duration();
        let slope = (b - a) / d;
        if slope.abs() < 1e-12 {
            return u / a;
        }
        // Root of slope/2·τ² + a·τ − u = 0, in the form that stays exact when a is 0 and
        // does not cancel when slope is small.
        let disc = (a * a + 2.0 * slope * u).max(0.0);
        (2.0 * u / (a + disc.sqrt())).min(d)
    }
}

/// Requests per second over time, as consecutive segments from t = 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RateProfile {
    /// The segments, in order.
    pub segments: Vec<Segment>,
}

impl RateProfile {
    /// An empty profile; add segments with [`step`](Self::step) and [`ramp`](Self::ramp).
    pub fn new() -> Self {
        Self::default()
    }

    /// `rate` requests per second for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Self {
        Self::new().step(duration, rate)
    }

    /// Appends a constant-rate segment.
    pub fn step(mut self, duration: Duration, rate: f64) -> Self {
        self.segments.push(Segment::Step { duration, rate });
        self
    }

    /// Appends a linear ramp from `from` to `to` requests per second.
    pub fn ramp(mut self, duration: Duration, from: f64, to: f64) -> Self {
        self.segments.push(Segment::Ramp { duration, from, to });
        self
    }

    /// Total length.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.segments.iter().map(Segment::duration).sum())
    }

    /// Requests expected over the whole profile: ∫ rate dt.
    pub fn expected_count(&self) -> f64 {
        self.segments.iter().map(Segment::area).sum()
    }

    /// Λ(t): requests expected from 0 to `t`.
    pub fn cumulative(&self, t: Duration) -> f64 {
        let mut left = t.as_secs_f64();
        let mut total = 0.0;
        for s in &self.segments {
            let d = s.duration();
            if left >= d {
                total += s.area();
                left -= d;
                continue;
            }
            let (a, b) = s.rates();
            total += a * left + (b - a) / d * left * left / 2.0;
            break;
        }
        total
    }

    /// Checks that every rate is finite and non-negative and every duration positive.
    pub fn validate(&self) -> Result<(), LoadError> {
        if self.segments.is_empty() {
            return Err(LoadError::Config("a rate profile needs a segment".into()));
        }
        for (i, s) in self.segments.iter().enumerate() {
            let (a, b) = s.rates();
            if !(a.is_finite() && b.is_finite() && a >= 0.0 && b >= 0.0) {
                return Err(LoadError::Config(format!(
                    "segment {i}: rates must be finite and >= 0, not {a} .. {b}"
                )));
            }
            if s.duration() <= 0.0 {
                return Err(LoadError::Config(format!(
                    "segment {i}: duration must be > 0"
                )));
            }
        }
        Ok(())
    }
}

/// How arrivals are spaced within the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spacing {
    /// Evenly: the k-th request when Λ(t) = k (so exactly 1/rate apart at a constant rate).
    Uniform,
    /// A Poisson process with the profile as its intensity, reproducible from `seed`.
    Poisson {
        /// Seed of the exponential inter-arrival draws.
        seed: u64,
    },
}

/// Intended send times: a rate profile and a spacing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Requests per second over time.
    pub profile: RateProfile,
    /// Even or Poisson.
    pub spacing: Spacing,
}

/// One intended request: its index in the whole schedule and when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// 0, 1, 2, … across the whole schedule (and across workers).
    pub seq: u64,
    /// Intended send time, from the start of the run.
    pub at: Duration,
}

impl Schedule {
    /// `rate` requests per second, evenly spaced, for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Self {
        Self::new(RateProfile::constant(rate, duration), Spacing::Uniform)
    }

    /// A Poisson process of mean `rate` per second for `duration`.
    pub fn poisson(rate: f64, duration: Duration, seed: u64) -> Self {
        Self::new(
            RateProfile::constant(rate, duration),
            Spacing::Poisson { seed },
        )
    }

    /// Any profile with either spacing.
    pub fn new(profile: RateProfile, spacing: Spacing) -> Self {
        Self { profile, spacing }
    }

    /// Total length of the schedule.
    pub fn duration(&self) -> Duration {
        self.profile.duration()
    }

    /// The intended send times, in order.
    pub fn arrivals(&self) -> Arrivals {
        let rng = match self.spacing {
            Spacing::Uniform => None,
            Spacing::Poisson { seed } => Some(ChaCha8Rng::seed_from_u64(seed)),
        };
        let mut a = Arrivals {
            segments: self.profile.segments.clone(),
            rng,
            seq: 0,
            next_y: 0.0,
            index: 0,
            seg_y: 0.0,
            seg_t: 0.0,
        };
        a.next_y = a.draw();
        a
    }
}

/// Iterator over a schedule's [`Arrival`]s, generated lazily in O(1) each.
#[derive(Clone, Debug)]
pub struct Arrivals {
    segments: Vec<Segment>,
    rng: Option<ChaCha8Rng>,
    seq: u64,
    /// Λ value of the next arrival.
    next_y: f64,
    /// Cursor: current segment, and Λ and t at its start.
    index: usize,
    seg_y: f64,
    seg_t: f64,
}

impl Arrivals {
    /// Λ increment to the next arrival: 1 when uniform, Exp(1) when Poisson.
    fn draw(&mut self) -> f64 {
        match &mut self.rng {
            None => 0.0,
            // 1 − U lies in (0, 1], so the logarithm is finite.
            Some(rng) => -(1.0 - rng.r#gen::<f64>()).ln(),
        }
    }
}

impl Iterator for Arrivals {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let y = self.next_y;
        // Advance to the segment in which Λ reaches y; zero-rate segments are skipped.
        loop {
            let s = self.segments.get(self.index)?;
            let area = s.area();
            if y < self.seg_y + area {
                break;
            }
            self.seg_y += area;
            self.seg_t += s.duration();
            self.index += 1;
        }
        let t = self.seg_t + self.segments[self.index].inverse(y - self.seg_y);
        let arrival = Arrival {
            seq: self.seq,
            at: Duration::from_secs_f64(t),
        };
        self.seq += 1;
        self.next_y = match self.rng {
            None => self.seq as f64,
            Some(_) => y + self.draw(),
        };
        Some(arrival)
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
