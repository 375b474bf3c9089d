//! The calibration as `crm-bench calibrate` prints and writes it: the file's header (where
//! it came from, the held-in points, the utilisation law's cross-check, the notes) and the
//! demand table.

use super::calibrate::Calibrated;

/// The calibration file as `crm-bench calibrate` writes it: a header saying where it came
/// from and how far the utilisation law agrees, then the `crm-sim/calibration/v1` TOML.
pub fn file_text(cal: &Calibrated) -> String {
    let mut out = String::from(
        "# crm-sim calibration, derived by `crm-bench calibrate` from a measured report's\n\
         # per-hop breakdown (every time below is a measured distribution, µs). Documented\n\
         # field by field in harness/crm-sim/README.md; edit freely.\n",
    );
    out.push_str(&format!("# source: {}\n", cal.calibration.source));
    out.push_str(
        "# held-in points (calibrated on; `crm-bench simulate --validate` predicts the others):\n",
    );
    for p in &cal.held_in {
        out.push_str(&format!(
            "#   {} {} at {} req/s\n",
            p.arch, p.experiment, p.offered_rps
        ));
    }
    for line in demand_table(cal).lines() {
        out.push_str(&format!("# {line}\n"));
    }
    for n in &cal.notes {
        out.push_str(&format!("# note: {n}\n"));
    }
    out.push('\n');
    out.push_str(&cal.calibration.to_toml());
    out
}

/// The utilisation-law cross-check as text, one line per process.
pub fn demand_table(cal: &Calibrated) -> String {
    let mut out = String::from(
        "service demand, CPU ms per request: the trees' self times vs the utilisation law D = U/X;\n\
         background: CPU outside any request span, cores (CPU-s per s) = measured CPU rate − \
         trees × achieved rate X, or the intercept of CPU = a + b·X over two or more points\n",
    );
    for (arch, rows) in &cal.demand {
        for d in rows {
            let measured = d
                .measured_ms
                .map_or("not sampled".to_owned(), |m| format!("{m:.3}"));
            let gap = d
                .disagreement()
                .map_or(String::new(), |e| format!(" ({:+.0}%)", e * 100.0));
            let gap = match d.scaled_by {
                Some(f) => format!("{gap}, {:.0}% of its times on a core", f * 100.0),
                None => gap,
            };
            let gap = match d.unspanned_ms {
                Some(u) => format!("{gap}, {u:.3} ms outside its spans added"),
                None => gap,
            };
            let gap = match d.wake_ms {
                Some(w) => format!("{gap}, up to {w:.3} ms more waking up"),
                None => gap,
            };
            out.push_str(&format!(
                "  {arch} {:<14} model {:.3}, measured {measured}{gap}\n",
                d.process, d.model_ms
            ));
            if let Some(b) = &d.background {
                out.push_str(&format!(
                    "  {arch} {:<14}   background {}\n",
                    d.process,
                    b.describe()
                ));
            }
        }
    }
    out
}
