//! Axis scales (linear, log, and the percentile axis `log10(1/(1-p))`) and their ticks.

/// How values map onto an axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Linear,
    /// Base-10 logarithmic; the domain must be positive.
    Log,
    /// Percentiles 0..100 placed at `log10(1 / (1 - p/100))`: 90% at 1, 99% at 2, 99.9% at 3...
    Percentile,
}

/// A mapping from a value domain onto a pixel range.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub(crate) kind: Kind,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    px0: f64,
    px1: f64,
}

/// The deepest percentile the spectrum axis shows (five nines).
pub(crate) const MAX_PERCENTILE: f64 = 99.999;

impl Scale {
    /// A scale of `kind` over `[lo, hi]` onto pixels `px0..px1` (`px1 < px0` for y axes).
    pub(crate) fn new(kind: Kind, lo: f64, hi: f64, px0: f64, px1: f64) -> Self {
        Scale {
            kind,
            lo,
            hi,
            px0,
            px1,
        }
    }

    /// A linear scale from 0 (or below, for negative data) up to a rounded maximum.
    pub(crate) fn linear_from_zero(max: f64, px0: f64, px1: f64) -> Self {
        // All zeros still get a readable 0..1 axis.
        let hi = if max > 0.0 { nice_ceil(max) } else { 1.0 };
        Scale::new(Kind::Linear, 0.0, hi, px0, px1)
    }

    /// A log scale covering `[min, max]` widened to 1-2-5 steps (at least one decade apart
    /// would waste space; at least a factor 4 keeps ticks meaningful).
    pub(crate) fn log_covering(min: f64, max: f64, px0: f64, px1: f64) -> Self {
        let min = min.max(1e-9);
        let max = max.max(min);
        let mut lo = step_floor(min);
        let mut hi = step_ceil(max);
        if hi / lo < 4.0 {
            lo = step_floor(lo / 1.5);
            hi = step_ceil(hi * 1.5);
        }
        Scale::new(Kind::Log, lo, hi, px0, px1)
    }

    /// The percentile axis from 0 to [`MAX_PERCENTILE`].
    pub(crate) fn percentile(px0: f64, px1: f64) -> Self {
        Scale::new(Kind::Percentile, 0.0, MAX_PERCENTILE, px0, px1)
    }

    fn t(&self, v: f64) -> f64 {
        match self.kind {
            Kind::Linear => v,
            Kind::Log => v.max(1e-12).log10(),
            Kind::Percentile => {
                let p = v.clamp(0.0, MAX_PERCENTILE) / 100.0;
                (1.0 / (1.0 - p)).log10()
            }
        }
    }

    /// The pixel position of `v`.
    pub(crate) fn map(&self, v: f64) -> f64 {
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        let f = if b > a {
            (self.t(v) - a) / (b - a)
        } else {
            0.0
        };
        self.px0 + f * (self.px1 - self.px0)
    }

    /// Whether `v` can be drawn on this scale (log scales cannot draw zero).
    pub(crate) fn shows(&self, v: f64) -> bool {
        v.is_finite() && (self.kind != Kind::Log || v > 0.0)
    }

    /// Tick values with their labels.
    pub(crate) fn ticks(&self) -> Vec<(f64, String)> {
        match self.kind {
            Kind::Linear => linear_ticks(self.lo, self.hi),
            Kind::Log => log_ticks(self.lo, self.hi),
            Kind::Percentile => [0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999]
                .iter()
                .map(|&p| (p, format!("{}%", label(p))))
                .collect(),
        }
    }
}

/// Ticks at 1, 2, 2.5 or 5 × 10^k steps, about six of them.
fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let step = nice_step((hi - lo) / 6.0);
    let mut out = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 {
        let v = k * step;
        out.push((v, label(v)));
        k += 1.0;
    }
    out
}

/// Ticks at 1-2-5 per decade, thinned to decades when there are many.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let candidates = |mantissas: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        let mut decade = 10f64.powf(lo.log10().floor());
        while decade <= hi * 1.0001 {
            for m in mantissas {
                let v = decade * m;
                if v >= lo * 0.9999 && v <= hi * 1.0001 {
                    out.push(v);
                }
            }
            decade *= 10.0;
        }
        out
    };
    let mut values = candidates(&[1.0, 2.0, 5.0]);
    if values.len() > 9 {
        values = candidates(&[1.0]);
    }
    values.into_iter().map(|v| (v, label(v))).collect()
}

fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// The smallest 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above `v`.
fn nice_ceil(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * mag >= v * 0.9999 {
            return m * mag;
        }
    }
    10.0 * mag
}

/// The largest 1-2-5 × 10^k at or below `v`.
fn step_floor(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    for m in [5.0, 2.0, 1.0] {
        if m * mag <= v * 1.0001 {
            return m * mag;
        }
    }
    mag
}

/// The smallest 1-2-5 × 10^k at or above `v`.
fn step_ceil(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= v * 0.9999 {
            return m * mag;
        }
    }
    10.0 * mag
}

/// A tick label: as few digits as the value needs (`0.05`, `2.5`, `1000`, `12k`).
pub(crate) fn label(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        return format!("{}k", trim(v / 1000.0, 1));
    }
    let decimals = if v == 0.0 || v.abs() >= 10.0 {
        0
    } else if v.abs() >= 1.0 {
        1
    } else {
        (-v.abs().log10().floor()) as usize + 2
    };
    trim(v, decimals.max(3))
}

fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_axis_puts_each_nine_one_step_further() {
        let s = Scale::percentile(0.0, 500.0);
        assert!((s.map(0.0) - 0.0).abs() < 1e-9);
        assert!((s.map(90.0) - 100.0).abs() < 1e-6);
        assert!((s.map(99.0) - 200.0).abs() < 1e-6);
        assert!((s.map(99.9) - 300.0).abs() < 1e-6);
        assert!((s.map(99.999) - 500.0).abs() < 1e-6);
    }

    #[test]
    fn log_ticks_fall_on_one_two_five_and_cover_the_data() {
        let s = Scale::log_covering(0.7, 340.0, 0.0, 100.0);
        assert!(s.lo <= 0.7 && s.hi >= 340.0);
        let ticks: Vec<f64> = s.ticks().iter().map(|t| t.0).collect();
        assert!(ticks.contains(&1.0) && ticks.contains(&100.0), "{ticks:?}");
        for t in ticks {
            let m = t / 10f64.powf(t.log10().floor());
            assert!([1.0, 2.0, 5.0].iter().any(|x| (x - m).abs() < 1e-6), "{t}");
        }
    }

    #[test]
    fn linear_ticks_are_round_and_labels_are_short() {
        let s = Scale::linear_from_zero(437.0, 0.0, 100.0);
        assert_eq!(s.hi, 500.0);
        let labels: Vec<String> = s.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "100", "200", "300", "400", "500"]);
        assert_eq!(label(0.05), "0.05");
        assert_eq!(label(2.5), "2.5");
        assert_eq!(label(25_000.0), "25k");
    }
}
