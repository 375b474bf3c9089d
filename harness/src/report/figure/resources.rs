//! Resource bars: CPU per request, summed peak RSS, total CPU time and cores needed at a
//! rate, one small panel each (their units differ), a bar per architecture.

use crate::results::{Resources, Results};
use crate::topology::Arch;

use super::super::chart::{self, Area, Frame, Key, Titles};
use super::super::format::sig3;
use super::super::pick::{self, ARCHS};
use super::super::scale::Scale;
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Anchor, Font, Svg};
use super::Figure;

/// One panel: its title and each architecture's value.
struct Panel {
    title: String,
    /// The second line of the panel's title.
    unit: String,
    values: Vec<(Arch, f64)>,
}

pub(super) fn figure(results: &Results) -> Option<Figure> {
    let pair = pick::pairs(&results.runs, pick::resources, |r| &r.name)
        .into_iter()
        .next()?;
    let present: Vec<(Arch, &Resources)> = ARCHS
        .iter()
        .filter_map(|&a| pair.get(a).map(|r| (a, r)))
        .collect();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut panels = vec![
        Panel {
            title: "CPU per request".into(),
            unit: "CPU-ms".into(),
            values: present
                .iter()
                .map(|(a, r)| (*a, r.cpu_ms_per_request))
                .collect(),
        },
        Panel {
            title: "peak RSS, summed".into(),
            unit: "MiB".into(),
            values: present
                .iter()
                .map(|(a, r)| (*a, mib(r.total_peak_rss_bytes)))
                .collect(),
        },
        Panel {
            title: "CPU time, total".into(),
            unit: "CPU-s".into(),
            values: present.iter().map(|(a, r)| (*a, r.total_cpu_s)).collect(),
        },
    ];
    let rate = present.iter().map(|(_, r)| r.at_rps).fold(0.0, f64::max);
    if rate > 0.0 {
        panels.push(Panel {
            title: "cores needed".into(),
            unit: format!("at {rate:.0} req/s"),
            values: present
                .iter()
                .filter(|(_, r)| pick::same_rate(r.at_rps, rate))
                .map(|(a, r)| (*a, r.cores_at_rate))
                .collect(),
        });
    }
    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!("Resource use ({})", pair.name);
    chart::title(&mut svg, &title);
    let legend: Vec<(Key, String)> = present
        .iter()
        .map(|(a, _)| {
            (
                Key::Swatch {
                    colour: arch_colour(*a),
                    opacity: 0.5,
                },
                arch_label(*a).to_owned(),
            )
        })
        .collect();
    chart::legend_row(&mut svg, 46.0, &legend);
    let slot = (style::WIDTH - 16.0) / panels.len() as f64;
    for (i, panel) in panels.iter().enumerate() {
        let area = Area {
            x: 16.0 + i as f64 * slot + 50.0,
            y: 104.0,
            w: slot - 66.0,
            h: 300.0,
        };
        draw_panel(&mut svg, &area, panel);
    }
    Some(Figure {
        file: "resources.png".to_owned(),
        caption: title,
        svg: svg.finish(),
    })
}

fn draw_panel(svg: &mut Svg, area: &Area, panel: &Panel) {
    svg.text(
        area.x + area.w / 2.0,
        area.y - 24.0,
        &panel.title,
        Font::new(style::LABEL_SIZE, Anchor::Middle).bold(),
    );
    svg.text(
        area.x + area.w / 2.0,
        area.y - 8.0,
        &panel.unit,
        Font::new(style::TICK_SIZE, Anchor::Middle).coloured(style::AXIS),
    );
    let max = panel.values.iter().map(|v| v.1).fold(0.0, f64::max);
    let frame = Frame {
        area: *area,
        x: Scale::new(
            super::super::scale::Kind::Linear,
            0.0,
            1.0,
            area.x,
            area.right(),
        ),
        y: Scale::linear_from_zero(max * 1.12, area.bottom(), area.y),
    };
    let y_ticks = frame.y.ticks();
    chart::axes_ticked(svg, &frame, Titles { x: "", y: "" }, &[], &y_ticks);
    if panel.values.is_empty() {
        chart::nothing_measured(svg, area, "not measured");
        return;
    }
    let n = ARCHS.len() as f64;
    let bar_w = area.w / n * 0.6;
    for (arch, v) in &panel.values {
        let i = ARCHS.iter().position(|a| a == arch).unwrap_or(0) as f64;
        let cx = area.x + area.w * (i + 0.5) / n;
        let top = frame.y.map(*v);
        svg.rect(
            cx - bar_w / 2.0,
            top,
            bar_w,
            area.bottom() - top,
            arch_colour(*arch),
            0.85,
        );
        svg.text(
            cx,
            top - 5.0,
            &sig3(*v),
            Font::new(style::TICK_SIZE, Anchor::Middle),
        );
        svg.text(
            cx,
            area.bottom() + 16.0,
            match arch {
                Arch::Monolith => "monolith",
                Arch::Micro => "micro",
            },
            Font::new(style::TICK_SIZE, Anchor::Middle).coloured(style::AXIS),
        );
    }
}
