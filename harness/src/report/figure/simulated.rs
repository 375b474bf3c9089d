//! The charts of a simulated report, each titled SIMULATED: latency over time per
//! architecture (p99 solid, p50 dashed, fault windows shaded), replicas in service over time
//! when a process is autoscaled, and the cores each architecture needs against the rate.

use crate::simulate::study::SimReport;

use super::super::chart::{self, Area, Corner, Frame, Key, Titles};
use super::super::scale::Scale;
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Pen, Svg};
use super::Figure;

pub(crate) const LATENCY: &str = "sim-latency-over-time.png";
pub(crate) const REPLICAS: &str = "sim-replicas-over-time.png";
pub(crate) const CORES: &str = "sim-cores.png";

pub(crate) fn all(r: &SimReport) -> Vec<Figure> {
    let mut out = Vec::new();
    out.extend(latency(r));
    out.extend(replicas(r));
    out.extend(cores(r));
    out
}

fn frame(x_max: f64, y: (f64, f64), log_x: bool) -> Frame {
    let area = Area::standard();
    Frame {
        area,
        x: if log_x {
            Scale::log_covering(y.0.max(1e-9), x_max, area.x, area.right())
        } else {
            Scale::linear_from_zero(x_max, area.x, area.right())
        },
        y: Scale::log_covering(y.0, y.1, area.bottom(), area.y),
    }
}

fn latency(r: &SimReport) -> Option<Figure> {
    let ms = |us: u64| us as f64 / 1000.0;
    let x_max = r
        .runs
        .iter()
        .flat_map(|a| a.outputs.timeline.iter().map(|b| b.start_s))
        .fold(0.0, f64::max);
    let (lo, hi) = r
        .runs
        .iter()
        .flat_map(|a| {
            a.outputs
                .timeline
                .iter()
                .flat_map(|b| [ms(b.p50_us), ms(b.p99_us)])
        })
        .filter(|v| *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() || x_max <= 0.0 {
        return None;
    }
    let f = frame(x_max, (lo, hi), false);
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!("Latency over time, SIMULATED ({})", r.name);
    chart::title(&mut svg, &title);
    chart::axes(
        &mut svg,
        &f,
        Titles {
            x: "simulated time (s)",
            y: "latency (ms, log)",
        },
    );
    // Each window once (both architectures, and several replicas, often share one): from
    // the fault to the end of its restart.
    let mut windows: Vec<(f64, f64)> = r
        .runs
        .iter()
        .flat_map(|a| &a.scenario.faults)
        .map(|f| (f.at_s, (f.at_s + f.for_s + f.restart_s).min(x_max)))
        .collect();
    windows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    windows.dedup();
    for (from, to) in windows {
        let (x0, x1) = (f.x.map(from), f.x.map(to));
        svg.rect(
            x0,
            f.area.y,
            (x1 - x0).max(1.0),
            f.area.h,
            style::FAULT_SHADE,
            style::SHADE_OPACITY,
        );
    }
    let mut legend = Vec::new();
    for a in &r.runs {
        let colour = arch_colour(a.arch);
        let p99: Vec<_> = a
            .outputs
            .timeline
            .iter()
            .map(|b| (b.start_s, (b.p99_us > 0).then(|| ms(b.p99_us))))
            .collect();
        let p50: Vec<_> = a
            .outputs
            .timeline
            .iter()
            .map(|b| (b.start_s, (b.p50_us > 0).then(|| ms(b.p50_us))))
            .collect();
        chart::series(&mut svg, &f, &p99, Pen::solid(colour, 2.0));
        chart::series(&mut svg, &f, &p50, Pen::dashed(colour, 1.4, style::DASHED));
        legend.push((
            Key::Line { colour, dash: None },
            format!("{} p99 (simulated)", arch_label(a.arch)),
        ));
    }
    legend.push((
        Key::Line {
            colour: style::AXIS,
            dash: Some(style::DASHED),
        },
        "p50".to_owned(),
    ));
    chart::legend(&mut svg, &f.area, &legend, Corner::TopLeft);
    Some(Figure {
        file: LATENCY.into(),
        caption: title,
        svg: svg.finish(),
    })
}

fn replicas(r: &SimReport) -> Option<Figure> {
    if r.runs.iter().all(|a| a.scenario.autoscale.is_empty()) {
        return None;
    }
    let total = |b: &crm_sim::Bucket| b.replicas.values().sum::<u32>() as f64;
    let x_max = r
        .runs
        .iter()
        .flat_map(|a| a.outputs.timeline.iter().map(|b| b.start_s))
        .fold(0.0, f64::max);
    let hi = r
        .runs
        .iter()
        .flat_map(|a| a.outputs.timeline.iter().map(total))
        .fold(1.0, f64::max);
    if x_max <= 0.0 {
        return None;
    }
    let area = Area::standard();
    let f = Frame {
        area,
        x: Scale::linear_from_zero(x_max, area.x, area.right()),
        y: Scale::linear_from_zero(hi * 1.1, area.bottom(), area.y),
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!("Replicas in service over time, SIMULATED ({})", r.name);
    chart::title(&mut svg, &title);
    chart::axes(
        &mut svg,
        &f,
        Titles {
            x: "simulated time (s)",
            y: "replicas, all processes",
        },
    );
    let mut legend = Vec::new();
    for a in &r.runs {
        let colour = arch_colour(a.arch);
        let pts: Vec<_> = a
            .outputs
            .timeline
            .iter()
            .map(|b| (b.start_s, Some(total(b))))
            .collect();
        chart::series(&mut svg, &f, &pts, Pen::solid(colour, 2.0));
        legend.push((
            Key::Line { colour, dash: None },
            format!("{} (simulated)", arch_label(a.arch)),
        ));
    }
    chart::legend(&mut svg, &area, &legend, Corner::TopLeft);
    Some(Figure {
        file: REPLICAS.into(),
        caption: title,
        svg: svg.finish(),
    })
}

fn cores(r: &SimReport) -> Option<Figure> {
    let found: Vec<_> = r
        .cores
        .iter()
        .filter_map(|c| Some((c.arch, c.rate, c.cores?)))
        .collect();
    if found.is_empty() {
        return None;
    }
    let x_lo = found.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let x_hi = found.iter().map(|c| c.1).fold(0.0, f64::max);
    let y_lo = found.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
    let y_hi = found.iter().map(|c| c.2).fold(0.0, f64::max);
    let area = Area::standard();
    let f = Frame {
        area,
        x: Scale::log_covering(x_lo, x_hi.max(x_lo * 10.0), area.x, area.right()),
        y: Scale::log_covering(y_lo, y_hi.max(y_lo * 10.0), area.bottom(), area.y),
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!("Cores needed to hold the SLO, SIMULATED ({})", r.name);
    chart::title(&mut svg, &title);
    chart::axes(
        &mut svg,
        &f,
        Titles {
            x: "rate (req/s, log)",
            y: "cores (log)",
        },
    );
    let mut legend = Vec::new();
    for arch in [
        crate::topology::Arch::Monolith,
        crate::topology::Arch::Micro,
    ] {
        let pts: Vec<_> = found
            .iter()
            .filter(|c| c.0 == arch)
            .map(|c| (c.1, Some(c.2)))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let colour = arch_colour(arch);
        chart::series(&mut svg, &f, &pts, Pen::solid(colour, 2.0));
        for (x, y) in pts.iter().filter_map(|(x, y)| Some((*x, (*y)?))) {
            let (px, py) = f.point(x, y);
            svg.marker(px, py, 4.0, colour, false);
        }
        legend.push((
            Key::LineMarker { colour },
            format!("{} (simulated)", arch_label(arch)),
        ));
    }
    chart::legend(&mut svg, &area, &legend, Corner::TopLeft);
    Some(Figure {
        file: CORES.into(),
        caption: title,
        svg: svg.finish(),
    })
}
