//! Latency against achieved throughput, both architectures on one chart: p99 solid with
//! markers (hollow where the point missed the SLO), p50 dashed, and the SLO as a line.

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
    let (lo, hi) = points()
        .flat_map(|p| [ms(p.latency.p50_us), ms(p.latency.p99_us)])
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
    chart::legend(&mut svg, &area, &legend, Corner::TopLeft);
    Some(Figure {
        file,
        caption: title,
        svg: svg.finish(),
    })
}
