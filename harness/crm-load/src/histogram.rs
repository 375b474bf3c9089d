//! Latency histograms: HdrHistogram in microseconds, merged by adding counts (never by
//! averaging percentiles), serialised as base64 of the V2 + deflate encoding for results.json.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Significant decimal digits of the per-operation histograms: 0.1% value resolution.
pub const PRECISION: u8 = 3;

/// Significant decimal digits of the per-bucket timeline histograms: 1% resolution, a tenth
/// of the memory, since a run holds one per operation per bucket.
pub const TIMELINE_PRECISION: u8 = 2;

/// Largest latency recorded as such: a day, in µs (bounds the histogram's growth).
const MAX_US: u64 = 86_400_000_000;

/// A latency distribution in microseconds.
///
/// Auto-resizing, so any latency up to a day is recorded exactly to its precision; a value
/// below 1 µs is recorded as 0. Serialises (serde) as one base64 string of the
/// HdrHistogram V2 + deflate encoding, which any HdrHistogram implementation can read back.
#[derive(Clone, PartialEq)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl LatencyHistogram {
    /// An empty histogram with [`PRECISION`] significant digits.
    pub fn new() -> Self {
        Self::with_precision(PRECISION)
    }

    /// An empty histogram with `sigfig` significant digits (clamped to 0..=5).
    pub fn with_precision(sigfig: u8) -> Self {
        let inner = Histogram::new(sigfig.min(5)).expect("0..=5 significant digits is valid");
        Self { inner }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        self.record_us(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one latency given in microseconds (values above a day count as a day).
    pub fn record_us(&mut self, micros: u64) {
        // `record` grows the histogram; `saturating_record` would clamp instead of growing.
        if self.inner.record(micros.min(MAX_US)).is_err() {
            self.inner.saturating_record(micros);
        }
    }

    /// Adds every count of `other` to this histogram (the only correct way to merge).
    pub fn add(&mut self, other: &LatencyHistogram) {
        // Both auto-resize, so addition cannot run out of range.
        let _ = self.inner.add(&other.inner);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    /// The value (µs) at `quantile` in 0.0..=1.0; 0 when empty.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        if self.inner.is_empty() {
            return 0;
        }
        self.inner.value_at_quantile(quantile)
    }

    /// count, min, mean and the usual percentiles, in microseconds.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.inner;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }

    /// The V2 + deflate encoding, base64 (standard alphabet, padded).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.inner, &mut bytes)
            .expect("serialising into a Vec cannot fail for an in-range histogram");
        STANDARD.encode(bytes)
    }

    /// Reads back what [`encode`](Self::encode) wrote (or any V2 / V2 + deflate histogram).
    pub fn decode(text: &str) -> Result<Self, HistogramDecodeError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| HistogramDecodeError(format!("base64: {e}")))?;
        let mut inner: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramDecodeError(format!("hdrhistogram: {e:?}")))?;
        inner.auto(true);
        Ok(Self { inner })
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LatencyHistogram")
            .field(&self.summary())
            .finish()
    }
}

impl Serialize for LatencyHistogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::decode(&text).map_err(serde::de::Error::custom)
    }
}

/// A histogram string that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("not a serialised histogram: {0}")]
pub struct HistogramDecodeError(String);

/// The figures a report prints for one distribution, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of recorded values.
    pub count: u64,
    /// Smallest value.
    pub min_us: u64,
    /// Arithmetic mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest value.
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_survives_encoding_and_decoding() {
        let mut h = LatencyHistogram::new();
        for us in [1, 10, 100, 1_000, 50_000, 60_000_000] {
            h.record_us(us);
        }
        let back = LatencyHistogram::decode(&h.encode()).unwrap();
        assert_eq!(back.summary(), h.summary());
        assert_eq!(back.count(), 6);
        assert!(back.summary().max_us >= 59_900_000);
    }

    #[test]
    fn merging_adds_counts_rather_than_averaging_percentiles() {
        let mut fast = LatencyHistogram::new();
        let mut slow = LatencyHistogram::new();
        for _ in 0..99 {
            fast.record_us(100);
        }
        slow.record_us(10_000);
        fast.add(&slow);
        let s = fast.summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_us, 100);
        // The averaged p99s would be ~5 ms; the merged distribution's p99 is the fast value.
        assert_eq!(s.p99_us, 100);
        assert!(s.max_us >= 9_990);
    }

    #[test]
    fn garbage_is_refused_when_decoding() {
        assert!(LatencyHistogram::decode("not base64 !!").is_err());
        assert!(LatencyHistogram::decode("aGVsbG8=").is_err());
    }

    #[test]
    fn serde_writes_one_string() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_millis(3));
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.starts_with('"'));
        let back: LatencyHistogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back.summary(), h.summary());
    }

    #[test]
    fn a_summary_reads_back_from_json_to_the_last_bit() {
        // This mean came back one ulp off from serde_json's default float parser (CI, 12-02);
        // results.json must give back exactly what was measured.
        let s = LatencySummary {
            count: 528,
            mean_us: 210.331_439_393_939_38,
            ..LatencySummary::default()
        };
        let back: LatencySummary =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.mean_us.to_bits(), s.mean_us.to_bits());
    }
}
