//! Scaling: throughput against replicas with the ideal `N · thr(1)` (left) and scaling
//! efficiency `thr(N) / (N · thr(1))` with its 1.0 reference (right).

use crate::results::{Results, Scale as ScaleExp};
use crate::topology::Arch;

use super::super::chart::{self, Area, Frame, Key, Titles};
use super::super::pick::{self, ARCHS};
use super::super::scale::{Kind, Scale};
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Anchor, Font, Pen, Svg};
use super::{Figure, numbered};

pub(super) fn figures(results: &Results) -> Vec<Figure> {
    pick::pairs(&results.runs, pick::scales, |s| &s.name)
        .iter()
        .enumerate()
        .filter_map(|(i, pair)| {
            let exps: Vec<(Arch, &ScaleExp)> = ARCHS
                .iter()
                .filter_map(|&a| pair.get(a).map(|s| (a, s)))
                .filter(|(_, s)| !s.points.is_empty())
                .collect();
            figure(&pair.name, &exps, numbered("scaling", i, &pair.name))
        })
        .collect()
}

fn figure(name: &str, exps: &[(Arch, &ScaleExp)], file: String) -> Option<Figure> {
    if exps.is_empty() {
        return None;
    }
    let n_max = exps
        .iter()
        .flat_map(|(_, s)| s.points.iter().map(|p| p.replicas))
        .max()
        .unwrap_or(1);
    let thr1 = |s: &ScaleExp| {
        s.points
            .iter()
            .find(|p| p.replicas == 1)
            .map(|p| p.throughput_rps)
    };
    let thr_max = exps
        .iter()
        .flat_map(|(_, s)| {
            let ideal = thr1(s).map(|t| t * n_max as f64);
            s.points.iter().map(|p| p.throughput_rps).chain(ideal)
        })
        .fold(0.0, f64::max);
    let eff_max = exps
        .iter()
        .flat_map(|(_, s)| s.points.iter().map(|p| p.efficiency))
        .fold(1.2, f64::max);
    let x_hi = n_max as f64 + 0.5;
    let x_ticks: Vec<(f64, String)> = (1..=n_max).map(|n| (n as f64, n.to_string())).collect();
    let left = Area {
        x: style::MARGIN_LEFT,
        y: 70.0,
        w: 300.0,
        h: 324.0,
    };
    let right = Area {
        x: left.right() + 92.0,
        w: style::WIDTH - style::MARGIN_RIGHT - left.right() - 92.0,
        ..left
    };
    let thr = Frame {
        area: left,
        x: Scale::new(Kind::Linear, 0.5, x_hi, left.x, left.right()),
        y: Scale::linear_from_zero(thr_max * 1.05, left.bottom(), left.y),
    };
    let eff = Frame {
        area: right,
        x: Scale::new(Kind::Linear, 0.5, x_hi, right.x, right.right()),
        y: Scale::linear_from_zero(eff_max, right.bottom(), right.y),
    };
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let service = exps[0].1.service.clone();
    let title = if service == name {
        format!("Scaling {service}")
    } else {
        format!("Scaling {service} ({name})")
    };
    chart::title(&mut svg, &title);
    let titles = |y| Titles { x: "replicas", y };
    chart::axes_ticked(
        &mut svg,
        &thr,
        titles("throughput (req/s)"),
        &x_ticks,
        &thr.y.ticks(),
    );
    chart::axes_ticked(
        &mut svg,
        &eff,
        titles("scaling efficiency"),
        &x_ticks,
        &eff.y.ticks(),
    );
    let one = eff.y.map(1.0);
    svg.line(
        right.x,
        one,
        right.right(),
        one,
        Pen::dashed(style::REFERENCE, 1.4, style::DASHED),
    );
    svg.text(
        right.right() - 6.0,
        one - 6.0,
        "linear (1.0)",
        Font::new(style::TICK_SIZE, Anchor::End).coloured(style::REFERENCE),
    );
    if !exps.iter().any(|(a, _)| *a == Arch::Monolith) {
        svg.text(
            left.x + 10.0,
            left.y + 20.0,
            "monolith: not measured (it scales only as a whole)",
            Font::new(style::TICK_SIZE, Anchor::Start).coloured(style::AXIS),
        );
    }
    let mut legend = Vec::new();
    for (arch, s) in exps {
        let colour = arch_colour(*arch);
        let mut pts: Vec<_> = s.points.iter().collect();
        pts.sort_by_key(|p| p.replicas);
        if let Some(t1) = thr1(s) {
            let ideal = [(1.0, Some(t1)), (n_max as f64, Some(t1 * n_max as f64))];
            chart::series(
                &mut svg,
                &thr,
                &ideal,
                Pen::dashed(colour, 1.2, style::DOTTED),
            );
        }
        let series = |f: fn(&crate::results::ScalePoint) -> f64| -> Vec<(f64, Option<f64>)> {
            pts.iter()
                .map(|p| (p.replicas as f64, Some(f(p))))
                .collect()
        };
        for (frame, data) in [
            (&thr, series(|p| p.throughput_rps)),
            (&eff, series(|p| p.efficiency)),
        ] {
            chart::series(&mut svg, frame, &data, Pen::solid(colour, 2.2));
            for (x, y) in data.iter().filter_map(|(x, y)| y.map(|y| (*x, y))) {
                let (px, py) = frame.point(x, y);
                svg.marker(px, py, 4.0, colour, false);
            }
        }
        legend.push((
            Key::LineMarker { colour },
            format!(
                "{}, {} CPU per replica",
                arch_label(*arch),
                s.cpus_per_replica
            ),
        ));
    }
    legend.push((
        Key::Line {
            colour: style::AXIS,
            dash: Some(style::DOTTED),
        },
        "ideal N · thr(1)".to_owned(),
    ));
    chart::legend_row(&mut svg, 46.0, &legend);
    Some(Figure {
        file,
        caption: title,
        svg: svg.finish(),
    })
}
