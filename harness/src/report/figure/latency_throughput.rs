//! Latency against achieved throughput, both architectures on one chart: p99 solid with
//! markers (hollow where the point missed the SLO), p50 dashed, each with its 95% interval as
//! an error bar, and the SLO as a line.

use crate::results::{Results, Sweep};

use super::super::chart::{self, Area, Corner, Frame, Key, Titles};
use super::super::format;
use super::super::pick::{self, ARCHS};
use super::super::scale::Scale;
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Anchor, Font, Pen, Svg};
use super::{Figure, numbered};

pub(super) fn figures(results: &Results) -> Vec<Figure> {
    pick::pairs(&results.runs, pick::sweeps, |s| &s.name)
        .iter()
        .enumerate()
        .filter_map(|(i, pair)| {
            let sweeps: Vec<_> = ARCHS
                .iter()
                .filter_map(|&a| pair.get(a).map(|s| (a, s)))
                .filter(|(_, s)| !s.points.is_empty())
                .collect();
            figure(
                &pair.name,
                &sweeps,
                numbered("latency-throughput", i, &pair.name),
            )
        })
        .collect()
}

fn figure(name: &str, sweeps: &[(crate::topology::Arch, &Sweep)], file: String) -> Option<Figure> {
    if sweeps.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let slo = sweeps.first().map(|(_, s)| ms(s.slo_p99_us))?;
    let points = || sweeps.iter().flat_map(|(_, s)| s.points.iter());
    let x_max = points().map(|p| p.achieved_rps).fold(0.0, f64::max);
    let bars = |p: &crate::results::SweepPoint| -> Vec<f64> {
        let c = p.latency.ci.as_ref();
        [c.and_then(|c| c.p50), c.and_then(|c| c.p99)]
            .into_iter()
            .flatten()
            .flat_map(|c| [c.lo / 1000.0, c.hi / 1000.0])
            .collect()
    };
    let (lo, hi) = points()
        .flat_map(|p| {
            let mut v = vec![ms(p.latency.p50_us), ms(p.latency.p99_us)];
            v.extend(bars(p));
            v
        })
        .chain([slo])
        .filter(|v| *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let area = Area::standard();
    let frame = Frame {
        area,
        x: Scale::linear_from_zero(x_max, area.x, area.right()),
        y: Scale::log_covering(lo, hi, area.bottom(), area.y),
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!("Latency against throughput ({name})");
    chart::title(&mut svg, &title);
    chart::axes(
        &mut svg,
        &frame,
        Titles {
            x: "achieved throughput (req/s)",
            y: "latency, corrected (ms, log)",
        },
    );
    let slo_y = frame.y.map(slo);
    svg.line(
        area.x,
        slo_y,
        area.right(),
        slo_y,
        Pen::dashed(style::REFERENCE, 1.4, style::DASHED),
    );
    svg.text(
        area.right() - 6.0,
        slo_y - 6.0,
        &format!("SLO: p99 ≤ {}", format::us(sweeps[0].1.slo_p99_us)),
        Font::new(style::TICK_SIZE, Anchor::End).coloured(style::REFERENCE),
    );
    let mut legend = Vec::new();
    for (arch, sweep) in sweeps {
        let colour = arch_colour(*arch);
        let mut pts: Vec<_> = sweep.points.iter().collect();
        pts.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
        let p50: Vec<_> = pts
            .iter()
            .map(|p| (p.achieved_rps, Some(ms(p.latency.p50_us))))
            .collect();
        let p99: Vec<_> = pts
            .iter()
            .map(|p| (p.achieved_rps, Some(ms(p.latency.p99_us))))
            .collect();
        chart::series(
            &mut svg,
            &frame,
            &p50,
            Pen::dashed(colour, 1.5, style::DASHED),
        );
        chart::series(&mut svg, &frame, &p99, Pen::solid(colour, 2.2));
        for p in &pts {
            let cis = p.latency.ci.as_ref();
            for ci in [cis.and_then(|c| c.p50), cis.and_then(|c| c.p99)]
                .into_iter()
                .flatten()
            {
                error_bar(&mut svg, &frame, p.achieved_rps, ci, colour);
            }
            let v = ms(p.latency.p99_us);
            if frame.shows(p.achieved_rps, v) {
                let (x, y) = frame.point(p.achieved_rps, v);
                svg.marker(x, y, 4.0, colour, !p.meets_slo);
            }
        }
        legend.push((
            Key::LineMarker { colour },
            format!("{} p99", arch_label(*arch)),
        ));
    }
    legend.push((
        Key::Line {
            colour: style::AXIS,
            dash: Some(style::DASHED),
        },
        "p50".to_owned(),
    ));
    legend.push((
        Key::Marker {
            colour: style::AXIS,
            hollow: true,
        },
        "missed the SLO".to_owned(),
    ));
    legend.push((
        Key::Line {
            colour: style::AXIS,
            dash: None,
        },
        "| 95% interval".to_owned(),
    ));
    chart::legend(&mut svg, &area, &legend, Corner::TopLeft);
    Some(Figure {
        file,
        caption: title,
        svg: svg.finish(),
    })
}

/// A vertical bar from the interval's low to its high end at `x`, capped at both ends (an
/// arrow-less open end: no cap on top when the interval is open above).
pub(super) fn error_bar(
    svg: &mut Svg,
    frame: &Frame,
    x: f64,
    ci: crate::results::Ci,
    colour: &str,
) {
    let (lo, hi) = (ci.lo / 1000.0, ci.hi / 1000.0);
    if !(frame.shows(x, lo) && frame.shows(x, hi)) {
        return;
    }
    let (px, y_lo) = frame.point(x, lo);
    let (_, y_hi) = frame.point(x, hi);
    let pen = Pen::solid(colour, 1.2);
    svg.line(px, y_lo, px, y_hi, pen);
    svg.line(px - 3.0, y_lo, px + 3.0, y_lo, pen);
    if !ci.open {
        svg.line(px - 3.0, y_hi, px + 3.0, y_hi, pen);
    }
}
