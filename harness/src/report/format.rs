//! How figures are written in tables and labels: latencies in µs/ms/s with sensible digits,
//! rates, percentages, bytes; and "not measured" for what is missing, never a blank.

/// What a missing figure says.
pub(crate) const NOT_MEASURED: &str = "not measured";

/// A latency given in microseconds: `850 µs`, `4.21 ms`, `37.5 ms`, `412 ms`, `2.35 s`.
pub(crate) fn us(v: u64) -> String {
    us_f(v as f64)
}

/// As [`us`], for a fractional value.
pub(crate) fn us_f(v: f64) -> String {
    if v < 1000.0 {
        format!("{v:.0} µs")
    } else if v < 1_000_000.0 {
        format!("{} ms", sig3(v / 1000.0))
    } else {
        format!("{} s", sig3(v / 1_000_000.0))
    }
}

/// Three significant digits, no exponent (`4.21`, `37.5`, `412`, `1234`).
pub(crate) fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A rate in requests per second.
pub(crate) fn rps(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} req/s")
    } else {
        format!("{} req/s", sig3(v))
    }
}

/// A fraction 0..1 as a percentage with enough digits to tell 99.9% from 100%.
pub(crate) fn pct(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p > 99.0 && p < 100.0 {
        format!("{p:.2}%")
    } else if p < 1.0 && p > 0.0 {
        format!("{p:.3}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Bytes as MiB (or GiB above 10 GiB).
pub(crate) fn bytes(b: u64) -> String {
    let mib = b as f64 / (1024.0 * 1024.0);
    if mib >= 10_240.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{} MiB", sig3(mib))
    }
}

/// Seconds.
pub(crate) fn secs(s: f64) -> String {
    format!("{} s", sig3(s))
}

/// A verdict value in its unit.
pub(crate) fn value(v: f64, unit: &str) -> String {
    match unit {
        "%" => format!(
            "{}%",
            if v > 99.0 && v < 100.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.1}")
            }
        ),
        "req/s" => rps(v),
        "ms" => format!("{} ms", sig3(v)),
        "s" => secs(v),
        "MiB" => format!("{} MiB", sig3(v)),
        "requests" => format!("{v:.0}"),
        "×" => format!("{}×", sig3(v)),
        "" => sig3(v),
        u => format!("{} {u}", sig3(v)),
    }
}

/// A bound of an interval in the verdict's unit, without the unit (it follows the value).
pub(crate) fn bare(v: f64, unit: &str) -> String {
    match unit {
        "%" if v > 99.0 && v < 100.0 => format!("{v:.2}"),
        "%" => format!("{v:.1}"),
        "requests" => format!("{v:.1}"),
        _ => sig3(v),
    }
}

/// A latency in µs with its interval: `12.3 ms [11.0–14.1]` (`+` when open above).
pub(crate) fn us_ci(v: u64, ci: Option<crate::results::Ci>) -> String {
    match ci {
        None => us(v),
        Some(c) => {
            let scale = if v < 1000 {
                1.0
            } else if v < 1_000_000 {
                1e3
            } else {
                1e6
            };
            format!(
                "{} [{}–{}{}]",
                us(v),
                sig3(c.lo / scale),
                sig3(c.hi / scale),
                if c.open { "+" } else { "" }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_read_naturally_at_every_magnitude() {
        assert_eq!(us(850), "850 µs");
        assert_eq!(us(4_213), "4.21 ms");
        assert_eq!(us(37_520), "37.5 ms");
        assert_eq!(us(412_000), "412 ms");
        assert_eq!(us(2_350_000), "2.35 s");
        assert_eq!(pct(0.9987), "99.87%");
        assert_eq!(pct(1.0), "100.0%");
        assert_eq!(bytes(50 * 1024 * 1024), "50.0 MiB");
    }
}
