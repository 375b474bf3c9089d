//! The charts, one file each, drawn as SVG from a [`Results`]. A chart is made only when
//! its data was measured; the summary says what was not.

pub(crate) mod breakdown;
mod latency_throughput;
mod model;
mod resources;
mod scaling;
pub(crate) mod simulated;
mod spectrum;
mod timeline;
mod verdict_table;

use crate::results::Results;

/// A chart: its file name (`spectrum.png`), caption, and SVG.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    pub(crate) file: String,
    pub(crate) caption: String,
    pub(crate) svg: String,
}

/// Every chart the results support, in report order.
pub(crate) fn all(results: &Results) -> Vec<Figure> {
    let mut out = Vec::new();
    out.extend(verdict_table::figure(results));
    out.extend(latency_throughput::figures(results));
    out.extend(spectrum::figure(results));
    out.extend(timeline::figures(results));
    out.extend(scaling::figures(results));
    out.extend(resources::figure(results));
    out.extend(breakdown::figures(results));
    out.extend(model::figure(results));
    out
}

/// A name safe in a file name: lowercase letters, digits and dashes.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// The latency-over-time chart of the fault or deploy named `name`.
pub(crate) fn timeline_file(name: &str) -> String {
    format!("latency-over-time-{}.png", slug(name))
}

/// The file of the `i`-th chart of a kind: `base.png`, then `base-<name>.png`.
pub(crate) fn numbered(base: &str, i: usize, name: &str) -> String {
    if i == 0 {
        format!("{base}.png")
    } else {
        format!("{base}-{}.png", slug(name))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_keep_file_names_plain() {
        assert_eq!(
            super::slug("Kill analytics (SIGKILL)"),
            "kill-analytics-sigkill"
        );
        assert_eq!(
            super::numbered("scaling", 1, "customers x3"),
            "scaling-customers-x3.png"
        );
    }
}
