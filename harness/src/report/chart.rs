//! What every chart shares: the plot area, axes with grid, ticks and titles, the chart title,
//! legends, series drawing with gaps, and the "nothing measured" panel.

use super::scale::Scale;
use super::style::{self, text_width};
use super::svg::{Anchor, Font, Pen, Svg};

/// A rectangle in SVG units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Area {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

impl Area {
    /// The plot area of a full-size chart, inside the standard margins.
    pub(crate) fn standard() -> Self {
        Area {
            x: style::MARGIN_LEFT,
            y: style::MARGIN_TOP,
            w: style::WIDTH - style::MARGIN_LEFT - style::MARGIN_RIGHT,
            h: style::HEIGHT - style::MARGIN_TOP - style::MARGIN_BOTTOM,
        }
    }

    pub(crate) fn right(&self) -> f64 {
        self.x + self.w
    }

    pub(crate) fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// A plot area with its two scales.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub(crate) area: Area,
    pub(crate) x: Scale,
    pub(crate) y: Scale,
}

impl Frame {
    pub(crate) fn point(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x.map(x), self.y.map(y))
    }

    /// Whether the point can be drawn (log axes cannot draw zero).
    pub(crate) fn shows(&self, x: f64, y: f64) -> bool {
        self.x.shows(x) && self.y.shows(y)
    }
}

/// Axis titles of a frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Titles<'a> {
    pub(crate) x: &'a str,
    pub(crate) y: &'a str,
}

/// The chart's title, centred above the plot area.
pub(crate) fn title(svg: &mut Svg, text: &str) {
    svg.text(
        style::WIDTH / 2.0,
        26.0,
        text,
        Font::new(style::TITLE_SIZE, Anchor::Middle).bold(),
    );
}

/// Grid lines, the frame, tick labels and axis titles. Tick labels that would overlap the
/// previous one are left out.
pub(crate) fn axes(svg: &mut Svg, f: &Frame, titles: Titles<'_>) {
    axes_ticked(svg, f, titles, &f.x.ticks(), &f.y.ticks());
}

/// As [`axes`], with the ticks given (integer replica counts, say).
pub(crate) fn axes_ticked(
    svg: &mut Svg,
    f: &Frame,
    titles: Titles<'_>,
    x_ticks: &[(f64, String)],
    y_ticks: &[(f64, String)],
) {
    let a = f.area;
    let grid = Pen::solid(style::GRID, 1.0);
    let tick_font = Font::new(style::TICK_SIZE, Anchor::Middle).coloured(style::AXIS);
    let mut last_right = f64::NEG_INFINITY;
    for (v, label) in x_ticks {
        let px = f.x.map(*v);
        if px < a.x - 0.5 || px > a.right() + 0.5 {
            continue;
        }
        svg.line(px, a.y, px, a.bottom(), grid);
        svg.line(
            px,
            a.bottom(),
            px,
            a.bottom() + 4.0,
            Pen::solid(style::AXIS, 1.0),
        );
        let half = text_width(label, style::TICK_SIZE) / 2.0;
        // The last label may stick out past the canvas: pull it in.
        let lx = px.min(style::WIDTH - half - 3.0);
        if lx - half > last_right + 4.0 {
            svg.text(lx, a.bottom() + 18.0, label, tick_font);
            last_right = lx + half;
        }
    }
    let mut last_top = f64::INFINITY;
    for (v, label) in y_ticks {
        let py = f.y.map(*v);
        if py < a.y - 0.5 || py > a.bottom() + 0.5 {
            continue;
        }
        svg.line(a.x, py, a.right(), py, grid);
        svg.line(a.x - 4.0, py, a.x, py, Pen::solid(style::AXIS, 1.0));
        if py + style::TICK_SIZE / 2.0 < last_top - 2.0 {
            svg.text(
                a.x - 7.0,
                py + style::TICK_SIZE * 0.35,
                label,
                Font::new(style::TICK_SIZE, Anchor::End).coloured(style::AXIS),
            );
            last_top = py - style::TICK_SIZE / 2.0;
        }
    }
    svg.outline(a.x, a.y, a.w, a.h, Pen::solid(style::AXIS, 1.0), "none");
    let label_font = Font::new(style::LABEL_SIZE, Anchor::Middle);
    svg.text(a.x + a.w / 2.0, a.bottom() + 40.0, titles.x, label_font);
    let left = (a.x - 58.0).max(style::LABEL_SIZE + 2.0);
    svg.text(left, a.y + a.h / 2.0, titles.y, label_font.vertical());
}

/// One legend entry: a line sample (solid or dashed), a marker, or a shaded swatch.
#[derive(Clone, Debug)]
pub(crate) enum Key {
    Line {
        colour: &'static str,
        dash: Option<&'static str>,
    },
    Marker {
        colour: &'static str,
        hollow: bool,
    },
    /// A solid line with a marker on it (a series drawn with markers).
    LineMarker {
        colour: &'static str,
    },
    Swatch {
        colour: &'static str,
        opacity: f64,
    },
}

/// Where a legend box goes: the corner of the plot the data leaves empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Corner {
    TopLeft,
    BottomRight,
}

/// Draws a legend box in a corner of `area`.
pub(crate) fn legend(svg: &mut Svg, area: &Area, items: &[(Key, String)], corner: Corner) {
    if items.is_empty() {
        return;
    }
    let row = style::LEGEND_SIZE + 7.0;
    let widest = items
        .iter()
        .map(|(_, t)| text_width(t, style::LEGEND_SIZE))
        .fold(0.0, f64::max);
    let w = 40.0 + widest + 10.0;
    let h = row * items.len() as f64 + 8.0;
    let (x, y) = match corner {
        Corner::TopLeft => (area.x + 8.0, area.y + 8.0),
        Corner::BottomRight => (area.right() - w - 8.0, area.bottom() - h - 8.0),
    };
    svg.outline(x, y, w, h, Pen::solid("#bbbbbb", 1.0), "#ffffff");
    for (i, (key, text)) in items.iter().enumerate() {
        let cy = y + 4.0 + row * (i as f64 + 0.5);
        key_sample(svg, key, x + 4.0, cy, 32.0);
        svg.text(
            x + 40.0,
            cy + style::LEGEND_SIZE * 0.35,
            text,
            Font::new(style::LEGEND_SIZE, Anchor::Start),
        );
    }
}

/// Draws a legend as one centred row at height `y` (above a plot whose corners are busy).
pub(crate) fn legend_row(svg: &mut Svg, y: f64, items: &[(Key, String)]) {
    let item_w = |t: &str| 26.0 + 6.0 + text_width(t, style::LEGEND_SIZE) + 16.0;
    let total: f64 = items.iter().map(|(_, t)| item_w(t)).sum::<f64>() - 16.0;
    let mut x = (style::WIDTH - total) / 2.0;
    for (key, text) in items {
        key_sample(svg, key, x, y, 26.0);
        svg.text(
            x + 32.0,
            y + style::LEGEND_SIZE * 0.35,
            text,
            Font::new(style::LEGEND_SIZE, Anchor::Start),
        );
        x += item_w(text);
    }
}

fn key_sample(svg: &mut Svg, key: &Key, x: f64, cy: f64, w: f64) {
    let mid = x + w / 2.0;
    match *key {
        Key::Line { colour, dash } => svg.line(
            x,
            cy,
            x + w,
            cy,
            Pen {
                colour,
                width: 2.2,
                dash,
            },
        ),
        Key::Marker { colour, hollow } => svg.marker(mid, cy, 4.0, colour, hollow),
        Key::LineMarker { colour } => {
            svg.line(x, cy, x + w, cy, Pen::solid(colour, 2.2));
            svg.marker(mid, cy, 4.0, colour, false);
        }
        Key::Swatch { colour, opacity } => {
            svg.rect(x + 2.0, cy - 6.0, w - 4.0, 12.0, colour, opacity * 2.0)
        }
    }
}

/// Draws a series as polylines, broken wherever a value cannot be drawn (a gap in the data
/// stays a gap rather than a line through it).
pub(crate) fn series(svg: &mut Svg, f: &Frame, points: &[(f64, Option<f64>)], pen: Pen<'_>) {
    let mut run: Vec<(f64, f64)> = Vec::new();
    for &(x, y) in points {
        match y {
            Some(y) if f.shows(x, y) => run.push(f.point(x, y)),
            _ => {
                draw_run(svg, &run, pen);
                run.clear();
            }
        }
    }
    draw_run(svg, &run, pen);
}

fn draw_run(svg: &mut Svg, run: &[(f64, f64)], pen: Pen<'_>) {
    match run {
        [] => {}
        // A lone point would vanish as a polyline: show it as a dot.
        [(x, y)] => svg.marker(*x, *y, pen.width.max(1.5), pen.colour, false),
        _ => svg.polyline(run, pen),
    }
}

/// A panel saying what was not measured, in place of a plot.
pub(crate) fn nothing_measured(svg: &mut Svg, area: &Area, what: &str) {
    svg.outline(
        area.x,
        area.y,
        area.w,
        area.h,
        Pen::dashed("#bbbbbb", 1.0, style::DASHED),
        "none",
    );
    svg.text(
        area.x + area.w / 2.0,
        area.y + area.h / 2.0,
        what,
        Font::new(style::LABEL_SIZE, Anchor::Middle).coloured(style::AXIS),
    );
}
