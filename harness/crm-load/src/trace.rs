//! Trace sampling decided by the load generator: with a ratio set, every request carries a
//! W3C `traceparent` whose sampled flag is set on that share of them (the CRM's parent-based
//! sampling obeys it in every process), and each sampled request is remembered with its
//! trace id, operation and measured latency, so the spans the system under test exported
//! can be matched to the generator's own end-to-end figure of the very same request.
//!
//! Without a ratio nothing here runs and no header is added. With one, the cost per request
//! is a few arithmetic operations and a 55-byte header written without formatting.

use std::cell::Cell;

use http::HeaderValue;
use serde::{Deserialize, Serialize};

/// One sampled request, as the load generator saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TracedRequest {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    pub op: String,
    /// From the actual send time to the whole response (µs).
    pub uncorrected_us: u64,
    /// From the intended send time (µs).
    pub corrected_us: u64,
    /// A 1xx–3xx answer.
    pub ok: bool,
    /// When it was sent, seconds from the run's start.
    pub sent_s: f64,
}

/// The per-worker sampler: a splitmix64 stream (the workload's own generator is left
/// untouched, so tracing does not change which operations a run sends).
pub(crate) struct Sampler {
    state: Cell<u64>,
    /// A draw below this is sampled.
    threshold: u64,
    always: bool,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Sampler {
    pub(crate) fn new(ratio: f64, seed: u64) -> Self {
        let ratio = ratio.clamp(0.0, 1.0);
        Sampler {
            state: Cell::new(seed ^ 0x9e37_79b9_7f4a_7c15),
            threshold: (ratio * u64::MAX as f64) as u64,
            always: ratio >= 1.0,
        }
    }

    fn next(&self) -> u64 {
        let s = self.state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next request's `traceparent`, and its trace id when it is sampled.
    pub(crate) fn traceparent(&self) -> (HeaderValue, Option<u128>) {
        let sampled = self.always || self.next() < self.threshold;
        let trace = (u128::from(self.next()) << 64 | u128::from(self.next())).max(1);
        let span = self.next().max(1);
        let mut buf = [0u8; 55];
        buf[..3].copy_from_slice(b"00-");
        for i in 0..32 {
            buf[3 + i] = HEX[((trace >> (124 - 4 * i)) & 0xf) as usize];
        }
        buf[35] = b'-';
        for i in 0..16 {
            buf[36 + i] = HEX[((span >> (60 - 4 * i)) & 0xf) as usize];
        }
        buf[52..].copy_from_slice(if sampled { b"-01" } else { b"-00" });
        let value = HeaderValue::from_bytes(&buf).expect("hex digits and dashes");
        (value, sampled.then_some(trace))
    }
}

/// The name of the header.
pub(crate) const TRACEPARENT: &str = "traceparent";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sampled_share_follows_the_ratio_and_headers_are_valid_traceparents() {
        let s = Sampler::new(0.1, 7);
        let mut sampled = 0;
        for _ in 0..20_000 {
            let (h, id) = s.traceparent();
            let h = h.to_str().unwrap();
            let parts: Vec<&str> = h.split('-').collect();
            assert_eq!(parts.len(), 4, "{h}");
            assert_eq!((parts[0], parts[1].len(), parts[2].len()), ("00", 32, 16));
            assert_eq!(parts[3] == "01", id.is_some());
            if let Some(id) = id {
                assert_eq!(format!("{id:032x}"), parts[1]);
                sampled += 1;
            }
        }
        assert!(
            (1_700..2_300).contains(&sampled),
            "{sampled} of 20000 at 10%"
        );
        let all = Sampler::new(1.0, 1);
        assert!((0..100).all(|_| all.traceparent().1.is_some()));
        let none = Sampler::new(0.0, 1);
        assert!((0..100).all(|_| none.traceparent().1.is_none()));
    }
}
