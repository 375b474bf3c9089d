//! Sizes, colours and fonts shared by every figure, so both architectures look the same in
//! every chart and every PNG has a known size.

use crate::topology::Arch;

/// Width and height of a chart, in SVG user units (CSS pixels in the HTML).
pub(crate) const WIDTH: f64 = 800.0;
pub(crate) const HEIGHT: f64 = 450.0;
/// PNGs are rasterised at this multiple of the SVG size (crisp on high-density screens).
pub(crate) const PNG_SCALE: f32 = 2.0;

/// Space around the plot area: room for the title (top), tick labels and axis titles.
pub(crate) const MARGIN_LEFT: f64 = 78.0;
pub(crate) const MARGIN_RIGHT: f64 = 24.0;
pub(crate) const MARGIN_TOP: f64 = 44.0;
pub(crate) const MARGIN_BOTTOM: f64 = 56.0;

/// Font family: DejaVu Sans is what the PNGs are rasterised with; browsers fall back.
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans, Verdana, Arial, sans-serif";
pub(crate) const TITLE_SIZE: f64 = 16.0;
pub(crate) const LABEL_SIZE: f64 = 13.0;
pub(crate) const TICK_SIZE: f64 = 11.5;
pub(crate) const LEGEND_SIZE: f64 = 12.0;
/// Average advance of a DejaVu Sans glyph as a fraction of the font size: used to size
/// legend boxes and to keep tick labels from overlapping (no font metrics at SVG time).
pub(crate) const CHAR_WIDTH: f64 = 0.55;

pub(crate) const TEXT: &str = "#222222";
pub(crate) const AXIS: &str = "#444444";
pub(crate) const GRID: &str = "#e3e3e3";
pub(crate) const BACKGROUND: &str = "#ffffff";
/// Reference lines (SLO, efficiency 1.0, ideal scaling).
pub(crate) const REFERENCE: &str = "#666666";
/// Shaded windows on latency-over-time: faults, deploys, warm-up.
pub(crate) const FAULT_SHADE: &str = "#d62728";
pub(crate) const DEPLOY_SHADE: &str = "#9467bd";
pub(crate) const WARMUP_SHADE: &str = "#7f7f7f";
pub(crate) const SHADE_OPACITY: f64 = 0.14;

/// Line dash patterns: solid for the main series, dashed for the secondary one.
pub(crate) const DASHED: &str = "7 4";
pub(crate) const DOTTED: &str = "2 3";

/// The colour of an architecture in every chart (Okabe–Ito: distinguishable with the common
/// colour-vision deficiencies).
pub(crate) fn arch_colour(arch: Arch) -> &'static str {
    match arch {
        Arch::Monolith => "#0072b2",
        Arch::Micro => "#e69f00",
    }
}

/// How an architecture is named in charts and tables.
pub(crate) fn arch_label(arch: Arch) -> &'static str {
    match arch {
        Arch::Monolith => "monolith",
        Arch::Micro => "microservices",
    }
}

/// Estimated width of `text` at `size` (see [`CHAR_WIDTH`]).
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * CHAR_WIDTH
}
