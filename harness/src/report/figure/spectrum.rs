//! Percentile spectrum: corrected latency against percentile on the `1/(1-p)` axis, both
//! architectures at the rate their response times are compared at, and each at its highest
//! offered rate (dashed) to show the tail under the heaviest load. The solid lines carry
//! their p50, p90, p99 and p99.9 95% intervals as error bars.

use crate::results::{Results, SweepPoint};

use super::super::chart::{self, Area, Corner, Frame, Key, Titles};
use super::super::format;
use super::super::pick::{self, ARCHS};
use super::super::scale::{MAX_PERCENTILE, Scale};
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Pen, Svg};
use super::Figure;

pub(super) fn figure(results: &Results) -> Option<Figure> {
    let pair = pick::pairs(&results.runs, pick::sweeps, |s| &s.name)
        .into_iter()
        .next()?;
    let common = match (pair.monolith, pair.micro) {
        (Some(m), Some(u)) => pick::common_point(m, u),
        _ => None,
    };
    // (arch, point, dashed)
    let mut lines: Vec<(crate::topology::Arch, &SweepPoint, bool)> = Vec::new();
    for arch in ARCHS {
        let Some(sweep) = pair.get(arch) else {
            continue;
        };
        let main = match &common {
            Some(c) => Some(match arch {
                crate::topology::Arch::Monolith => c.monolith,
                crate::topology::Arch::Micro => c.micro,
            }),
            None => pick::best_point(sweep),
        };
        let Some(main) = main else { continue };
        lines.push((arch, main, false));
        if let Some(top) = pick::top_point(sweep)
            && !pick::same_rate(top.offered_rps, main.offered_rps)
        {
            lines.push((arch, top, true));
        }
    }
    lines.retain(|(_, p, _)| !p.run.total.spectrum.is_empty());
    if lines.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let values = lines
        .iter()
        .flat_map(|(_, p, _)| p.run.total.spectrum.iter().map(|&(_, v)| ms(v)))
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return None;
    }
    let area = Area::standard();
    let frame = Frame {
        area,
        x: Scale::percentile(area.x, area.right()),
        y: Scale::log_covering(lo, hi, area.bottom(), area.y),
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = match &common {
        Some(c) => format!(
            "Percentile spectrum at {} ({}, corrected)",
            format::rps(c.rate),
            pair.name
        ),
        None => format!("Percentile spectrum ({}, corrected)", pair.name),
    };
    chart::title(&mut svg, &title);
    chart::axes(
        &mut svg,
        &frame,
        Titles {
            x: "percentile",
            y: "latency (ms, log)",
        },
    );
    let mut legend = Vec::new();
    for (arch, point, dashed) in &lines {
        let colour = arch_colour(*arch);
        let pts: Vec<(f64, Option<f64>)> = point
            .run
            .total
            .spectrum
            .iter()
            .filter(|(p, _)| *p <= MAX_PERCENTILE)
            .map(|&(p, v)| (p, Some(ms(v))))
            .collect();
        let dash = dashed.then_some(style::DASHED);
        chart::series(
            &mut svg,
            &frame,
            &pts,
            Pen {
                colour,
                width: if *dashed { 1.6 } else { 2.4 },
                dash,
            },
        );
        let label = format!(
            "{}, {}{}",
            arch_label(*arch),
            format::rps(point.offered_rps),
            if *dashed { " (highest rate)" } else { "" }
        );
        legend.push((Key::Line { colour, dash }, label));
        if !*dashed && let Some(cis) = &point.run.total.corrected.ci {
            for (p, ci) in [
                (50.0, cis.p50),
                (90.0, cis.p90),
                (99.0, cis.p99),
                (99.9, cis.p999),
            ] {
                if let Some(ci) = ci {
                    super::latency_throughput::error_bar(&mut svg, &frame, p, ci, colour);
                }
            }
        }
    }
    chart::legend(&mut svg, &area, &legend, Corner::BottomRight);
    Some(Figure {
        file: "spectrum.png".to_owned(),
        caption: title,
        svg: svg.finish(),
    })
}
