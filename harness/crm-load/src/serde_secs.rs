//! Serde for [`Duration`] as seconds in a float, so results.json reads `"warmup_s": 2.0`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Writes the duration as seconds.
pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Reads seconds back; negative or non-finite values are refused.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}
