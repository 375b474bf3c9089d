//! Where the time goes: for each operation of a traced sweep point, one stacked bar per
//! architecture side by side, its segments the mean time per request in each part (means,
//! unlike medians, add up: the stack is the mean end-to-end latency).

use crate::results::{Breakdown, Results};
use crate::topology::Arch;

use super::super::chart::{self, Area, Frame, Key, Titles};
use super::super::pick::{self, ARCHS};
use super::super::scale::{Kind, Scale};
use super::super::style;
use super::super::svg::{Anchor, Font, Svg};
use super::{Figure, slug};

/// One sweep point traced on at least one architecture.
pub(crate) struct TracedPoint<'a> {
    pub(crate) sweep: String,
    pub(crate) rate: f64,
    pub(crate) by_arch: Vec<(Arch, &'a Breakdown)>,
}

impl TracedPoint<'_> {
    pub(crate) fn file(&self) -> String {
        format!("breakdown-{}-{:.0}.png", slug(&self.sweep), self.rate)
    }

    /// Operations traced on any architecture, sorted.
    pub(crate) fn ops(&self) -> Vec<String> {
        let mut ops: Vec<String> = self
            .by_arch
            .iter()
            .flat_map(|(_, b)| b.ops.keys().cloned())
            .collect();
        ops.sort();
        ops.dedup();
        ops
    }
}

/// Every traced sweep point, in sweep and rate order.
pub(crate) fn traced_points(results: &Results) -> Vec<TracedPoint<'_>> {
    let mut out = Vec::new();
    for pair in pick::pairs(&results.runs, pick::sweeps, |s| &s.name) {
        let mut rates: Vec<f64> = Vec::new();
        for arch in ARCHS {
            if let Some(s) = pair.get(arch) {
                for p in s.points.iter().filter(|p| p.run.breakdown.is_some()) {
                    if !rates.iter().any(|r| pick::same_rate(*r, p.offered_rps)) {
                        rates.push(p.offered_rps);
                    }
                }
            }
        }
        rates.sort_by(f64::total_cmp);
        for rate in rates {
            let by_arch = ARCHS
                .iter()
                .filter_map(|&a| {
                    let s = pair.get(a)?;
                    let p = s
                        .points
                        .iter()
                        .find(|p| pick::same_rate(p.offered_rps, rate))?;
                    Some((a, p.run.breakdown.as_deref()?))
                })
                .collect();
            out.push(TracedPoint {
                sweep: pair.name.clone(),
                rate,
                by_arch,
            });
        }
    }
    out
}

/// The parts in stacking order: the edge first, the services, the database, then what lies
/// between and around them.
pub(crate) fn part_order(names: &[String]) -> Vec<String> {
    let rank = |n: &str| match n {
        "gateway" => 0,
        "monolith" => 1,
        n if n.starts_with("service:") => 2,
        "postgres" => 3,
        "wire" => 4,
        "wait" => 5,
        "unaccounted" => 6,
        _ => 7,
    };
    let mut v = names.to_vec();
    v.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    v.dedup();
    v
}

/// A colour per part (Okabe–Ito and Tableau hues; services get distinct ones in turn).
fn colour(part: &str, services: &[String]) -> &'static str {
    const SERVICES: [&str; 7] = [
        "#e69f00", "#f0e442", "#cc79a7", "#d55e00", "#8c564b", "#bcbd22", "#17becf",
    ];
    match part {
        "gateway" => "#56b4e9",
        "monolith" => "#0072b2",
        "postgres" => "#009e73",
        "wire" => "#999999",
        "wait" => "#7f3c8d",
        "unaccounted" => "#dddddd",
        p => services
            .iter()
            .position(|s| s == p)
            .map_or("#444444", |i| SERVICES[i % SERVICES.len()]),
    }
}

pub(super) fn figures(results: &Results) -> Vec<Figure> {
    traced_points(results)
        .iter()
        .filter(|p| !p.by_arch.is_empty())
        .map(figure)
        .collect()
}

fn figure(point: &TracedPoint<'_>) -> Figure {
    let ops = point.ops();
    let names: Vec<String> = point
        .by_arch
        .iter()
        .flat_map(|(_, b)| b.ops.values().flat_map(|o| o.parts.keys().cloned()))
        .collect();
    let parts = part_order(&names);
    let services: Vec<String> = parts
        .iter()
        .filter(|p| p.starts_with("service:"))
        .cloned()
        .collect();
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!(
        "Where the time goes: {} at {:.0} req/s (mean per request)",
        point.sweep, point.rate
    );
    chart::title(&mut svg, &title);
    let legend: Vec<(Key, String)> = parts
        .iter()
        .map(|p| {
            (
                Key::Swatch {
                    colour: colour(p, &services),
                    opacity: 0.9,
                },
                p.trim_start_matches("service:").to_owned(),
            )
        })
        .collect();
    chart::legend_row(&mut svg, 46.0, &legend);
    let area = Area {
        x: style::MARGIN_LEFT,
        y: 96.0,
        w: style::WIDTH - style::MARGIN_LEFT - style::MARGIN_RIGHT,
        h: style::HEIGHT - 96.0 - 84.0,
    };
    // A bar's height: the mean end-to-end latency, parts stacked to it (the unaccounted
    // part can be negative when spans outlast the generator's figure; it is then not drawn).
    let stack = |b: &Breakdown, op: &str| -> Vec<(String, f64)> {
        b.ops.get(op).map_or_else(Vec::new, |o| {
            parts
                .iter()
                .filter_map(|p| Some((p.clone(), o.parts.get(p)?.mean.max(0.0) / 1000.0)))
                .collect()
        })
    };
    let max = point
        .by_arch
        .iter()
        .flat_map(|(_, b)| {
            ops.iter()
                .map(|op| stack(b, op).iter().map(|s| s.1).sum::<f64>())
        })
        .fold(0.0, f64::max);
    let frame = Frame {
        area,
        x: Scale::new(Kind::Linear, 0.0, 1.0, area.x, area.right()),
        y: Scale::linear_from_zero(max * 1.08, area.bottom(), area.y),
    };
    let y_ticks = frame.y.ticks();
    chart::axes_ticked(&mut svg, &frame, Titles { x: "", y: "ms" }, &[], &y_ticks);
    if ops.is_empty() {
        chart::nothing_measured(&mut svg, &area, "no traces matched");
    }
    let slot = area.w / ops.len().max(1) as f64;
    let bar_w = (slot * 0.36).min(28.0);
    for (k, op) in ops.iter().enumerate() {
        let cx = area.x + slot * (k as f64 + 0.5);
        for (arch, b) in &point.by_arch {
            let side = if *arch == Arch::Monolith { -1.0 } else { 1.0 };
            let x = cx + side * (bar_w / 2.0 + 1.0) - bar_w / 2.0;
            let mut below = 0.0;
            for (part, ms) in stack(b, op) {
                let (bottom, top) = (frame.y.map(below), frame.y.map(below + ms));
                svg.rect(x, top, bar_w, bottom - top, colour(&part, &services), 0.9);
                below += ms;
            }
            svg.text(
                x + bar_w / 2.0,
                area.bottom() + 13.0,
                if *arch == Arch::Monolith { "M" } else { "μ" },
                Font::new(style::TICK_SIZE - 2.0, Anchor::Middle)
                    .coloured(style::arch_colour(*arch)),
            );
        }
        svg.text(
            cx,
            area.bottom() + 28.0 + (k % 2) as f64 * 14.0,
            op,
            Font::new(style::TICK_SIZE - 1.5, Anchor::Middle).coloured(style::AXIS),
        );
    }
    Figure {
        file: point.file(),
        caption: format!("{title}; M = monolith, μ = microservices"),
        svg: svg.finish(),
    }
}
