//! Model vs measurement: p50 and p99 against the offered rate of every sweep point, measured
//! (solid, filled markers) beside the calibrated model's prediction (dashed, hollow markers,
//! labelled *simulated*), one colour per architecture, the held-in points ringed.

use crate::results::Results;
use crate::results::model::ModelRow;

use super::super::chart::{self, Area, Corner, Frame, Key, Titles};
use super::super::content::model::FIGURE;
use super::super::scale::Scale;
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Pen, Svg};
use super::Figure;

/// `(rate, measured µs, predicted µs, held in)` of one metric's sweep rows.
fn points(rows: &[ModelRow], metric: &str) -> Vec<(f64, Option<f64>, Option<f64>, bool)> {
    let mut v: Vec<_> = rows
        .iter()
        .filter(|r| r.metric == metric && r.offered_rps > 0.0 && r.unit == "µs")
        .filter(|r| r.point.ends_with("req/s"))
        .map(|r| (r.offered_rps, r.measured, r.predicted, r.held_in))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

pub(super) fn figure(results: &Results) -> Option<Figure> {
    let m = results.model.as_ref()?;
    let series: Vec<_> = m
        .archs
        .iter()
        .map(|a| (a.arch, points(&a.rows, "p50"), points(&a.rows, "p99")))
        .filter(|(_, p50, p99)| !p50.is_empty() || !p99.is_empty())
        .collect();
    if series.is_empty() {
        return None;
    }
    let ms = |us: f64| us / 1000.0;
    let all = || series.iter().flat_map(|(_, a, b)| a.iter().chain(b.iter()));
    let x_max = all().map(|p| p.0).fold(0.0, f64::max);
    let (lo, hi) = all()
        .flat_map(|p| [p.1, p.2])
        .flatten()
        .map(ms)
        .filter(|v| *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return None;
    }
    let area = Area::standard();
    let frame = Frame {
        area,
        x: Scale::linear_from_zero(x_max, area.x, area.right()),
        y: Scale::log_covering(lo, hi, area.bottom(), area.y),
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = "Model vs measurement: latency by offered rate (model dashed: SIMULATED)";
    chart::title(&mut svg, title);
    chart::axes(
        &mut svg,
        &frame,
        Titles {
            x: "offered rate (req/s)",
            y: "latency (ms, log)",
        },
    );
    let mut legend = Vec::new();
    for (arch, p50, p99) in &series {
        let colour = arch_colour(*arch);
        for (pts, width) in [(p50, 1.4), (p99, 2.2)] {
            let measured: Vec<_> = pts.iter().map(|p| (p.0, p.1.map(ms))).collect();
            let predicted: Vec<_> = pts.iter().map(|p| (p.0, p.2.map(ms))).collect();
            chart::series(&mut svg, &frame, &measured, Pen::solid(colour, width));
            chart::series(
                &mut svg,
                &frame,
                &predicted,
                Pen::dashed(colour, width, style::DASHED),
            );
            for p in pts.iter() {
                for (v, hollow) in [(p.1, false), (p.2, true)] {
                    if let Some(v) = v.map(ms).filter(|v| frame.shows(p.0, *v)) {
                        let (x, y) = frame.point(p.0, v);
                        svg.marker(x, y, if p.3 { 6.0 } else { 4.0 }, colour, hollow);
                    }
                }
            }
        }
        legend.push((
            Key::LineMarker { colour },
            format!("{} measured (p99 thick, p50 thin)", arch_label(*arch)),
        ));
        legend.push((
            Key::Line {
                colour,
                dash: Some(style::DASHED),
            },
            format!("{} simulated", arch_label(*arch)),
        ));
    }
    legend.push((
        Key::Marker {
            colour: style::AXIS,
            hollow: true,
        },
        "large marker: held in (calibrated on)".to_owned(),
    ));
    chart::legend(&mut svg, &area, &legend, Corner::TopLeft);
    Some(Figure {
        file: FIGURE.to_owned(),
        caption: title.to_owned(),
        svg: svg.finish(),
    })
}
