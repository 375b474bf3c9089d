//! Latency over time for each fault and deploy run: p99 per bucket (top, log) and the share
//! of failed requests (bottom), both architectures, the fault or deploy window shaded. When
//! the experiment groups its operations, solid lines are the unaffected group and dashed the
//! affected one; otherwise solid is p99 and dashed p50 of all operations.

use crate::results::{Bucket, LoadRun, Results, Window};
use crate::topology::Arch;

use super::super::chart::{self, Area, Frame, Key, Titles};
use super::super::pick::{self, ARCHS};
use super::super::scale::{self, Scale};
use super::super::style::{self, arch_colour, arch_label};
use super::super::svg::{Pen, Svg};
use super::{Figure, timeline_file};

/// One architecture's run of the experiment.
struct Track<'a> {
    arch: Arch,
    run: &'a LoadRun,
}

pub(super) fn figures(results: &Results) -> Vec<Figure> {
    let mut out = Vec::new();
    for pair in pick::pairs(&results.runs, pick::faults, |f| &f.name) {
        let tracks = ARCHS
            .iter()
            .filter_map(|&a| {
                pair.get(a).map(|f| Track {
                    arch: a,
                    run: &f.run,
                })
            })
            .collect();
        out.extend(figure(&pair.name, "fault", tracks, style::FAULT_SHADE));
    }
    for pair in pick::pairs(&results.runs, pick::deploys, |d| &d.name) {
        let tracks = ARCHS
            .iter()
            .filter_map(|&a| {
                pair.get(a).map(|d| Track {
                    arch: a,
                    run: &d.run,
                })
            })
            .collect();
        out.extend(figure(&pair.name, "deploy", tracks, style::DEPLOY_SHADE));
    }
    out
}

fn mid(b: &Bucket) -> f64 {
    b.t_s + b.width_s / 2.0
}

fn failed_pct(requests: u64, failed: u64) -> Option<f64> {
    (requests > 0).then(|| failed as f64 / requests as f64 * 100.0)
}

fn nonzero_ms(us: u64, requests: u64) -> Option<f64> {
    (requests > 0 && us > 0).then(|| us as f64 / 1000.0)
}

fn figure(name: &str, kind: &str, tracks: Vec<Track<'_>>, shade: &'static str) -> Option<Figure> {
    if tracks.iter().all(|t| t.run.timeline.is_empty()) {
        return None;
    }
    let grouped = tracks.iter().any(|t| {
        t.run
            .timeline
            .iter()
            .any(|b| b.groups.contains_key("unaffected"))
    });
    // (solid, dashed) series of one track: latency (ms) and failed share (%).
    type Series = Vec<(f64, Option<f64>)>;
    let series = |t: &Track<'_>| -> [(Series, Series); 2] {
        let tl = &t.run.timeline;
        if grouped {
            let g = |name: &str| -> (Series, Series) {
                let lat = tl
                    .iter()
                    .map(|b| {
                        let gb = b.groups.get(name);
                        (mid(b), gb.and_then(|g| nonzero_ms(g.p99_us, g.requests)))
                    })
                    .collect();
                let fail = tl
                    .iter()
                    .map(|b| {
                        let gb = b.groups.get(name);
                        (mid(b), gb.and_then(|g| failed_pct(g.requests, g.failed)))
                    })
                    .collect();
                (lat, fail)
            };
            let (ul, uf) = g("unaffected");
            let (al, af) = g("affected");
            [(ul, al), (uf, af)]
        } else {
            let p99 = tl
                .iter()
                .map(|b| (mid(b), nonzero_ms(b.p99_us, b.requests)))
                .collect();
            let p50 = tl
                .iter()
                .map(|b| (mid(b), nonzero_ms(b.p50_us, b.requests)))
                .collect();
            let fail = tl
                .iter()
                .map(|b| (mid(b), failed_pct(b.requests, b.failed)))
                .collect();
            [(p99, p50), (fail, Vec::new())]
        }
    };
    let all: Vec<(Arch, [(Series, Series); 2])> =
        tracks.iter().map(|t| (t.arch, series(t))).collect();

    let t_max = tracks
        .iter()
        .flat_map(|t| t.run.timeline.iter().map(|b| b.t_s + b.width_s))
        .fold(0.0, f64::max);
    let lat = all
        .iter()
        .flat_map(|(_, s)| s[0].0.iter().chain(s[0].1.iter()).filter_map(|p| p.1));
    let (lo, hi) = lat.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    let max_fail = all
        .iter()
        .flat_map(|(_, s)| s[1].0.iter().chain(s[1].1.iter()).filter_map(|p| p.1))
        .fold(0.0, f64::max);

    let top = Area {
        x: style::MARGIN_LEFT,
        y: 64.0,
        w: style::WIDTH - style::MARGIN_LEFT - style::MARGIN_RIGHT,
        h: 210.0,
    };
    let bottom = Area {
        y: 296.0,
        h: 96.0,
        ..top
    };
    let x_top = Scale::linear_from_zero(t_max, top.x, top.right());
    let lat_frame = Frame {
        area: top,
        x: x_top,
        // Headroom above the data for the window bands along the top edge.
        y: Scale::log_covering(lo, hi * 1.4, top.bottom(), top.y),
    };
    let fail_frame = Frame {
        area: bottom,
        x: x_top,
        y: Scale::linear_from_zero(max_fail.max(1.0), bottom.bottom(), bottom.y),
    };

    let mut svg = Svg::new(style::WIDTH, style::HEIGHT);
    let title = format!("Latency over time: {name}");
    chart::title(&mut svg, &title);
    let warmup = shade_windows(&mut svg, &lat_frame, &fail_frame, &tracks, shade);
    // The top panel's x ticks would collide with the bottom panel: label time only below.
    chart::axes_ticked(
        &mut svg,
        &lat_frame,
        Titles {
            x: "",
            y: "p99 (ms, log)",
        },
        &x_top
            .ticks()
            .into_iter()
            .map(|(v, _)| (v, String::new()))
            .collect::<Vec<_>>(),
        &lat_frame.y.ticks(),
    );
    let fail_ticks = thin(fail_frame.y.ticks());
    chart::axes_ticked(
        &mut svg,
        &fail_frame,
        Titles {
            x: "time since the run started (s)",
            y: "failed (%)",
        },
        &x_top.ticks(),
        &fail_ticks,
    );
    for (arch, s) in &all {
        let colour = arch_colour(*arch);
        for (panel, frame) in [(&s[0], &lat_frame), (&s[1], &fail_frame)] {
            chart::series(
                &mut svg,
                frame,
                &panel.1,
                Pen::dashed(colour, 1.6, style::DASHED),
            );
            chart::series(&mut svg, frame, &panel.0, Pen::solid(colour, 2.2));
        }
    }
    let mut legend: Vec<(Key, String)> = all
        .iter()
        .map(|(a, _)| {
            (
                Key::Line {
                    colour: arch_colour(*a),
                    dash: None,
                },
                arch_label(*a).to_owned(),
            )
        })
        .collect();
    let (solid, dashed) = if grouped {
        ("unaffected ops", "affected ops")
    } else {
        ("p99, failed %", "p50")
    };
    legend.push((
        Key::Line {
            colour: style::AXIS,
            dash: None,
        },
        solid.to_owned(),
    ));
    legend.push((
        Key::Line {
            colour: style::AXIS,
            dash: Some(style::DASHED),
        },
        dashed.to_owned(),
    ));
    legend.push((
        Key::Swatch {
            colour: shade,
            opacity: style::SHADE_OPACITY,
        },
        format!("{kind} window"),
    ));
    if warmup {
        legend.push((
            Key::Swatch {
                colour: style::WARMUP_SHADE,
                opacity: style::SHADE_OPACITY,
            },
            "warm-up".to_owned(),
        ));
    }
    chart::legend_row(&mut svg, 46.0, &legend);
    Some(Figure {
        file: timeline_file(name),
        caption: title,
        svg: svg.finish(),
    })
}

/// At most four ticks on the small failure panel.
fn thin(ticks: Vec<(f64, String)>) -> Vec<(f64, String)> {
    if ticks.len() <= 4 {
        return ticks;
    }
    let hi = ticks.last().map_or(1.0, |t| t.0);
    [0.0, hi / 2.0, hi]
        .iter()
        .map(|&v| (v, scale::label(v)))
        .collect()
}

/// Shades each window of the runs over both panels (a window both architectures share
/// once), and marks whose it is with a band in the architecture's colour along the top edge
/// (the two architectures' windows may differ, as a redeploy's end does). Returns whether
/// a warm-up was shaded.
fn shade_windows(
    svg: &mut Svg,
    top: &Frame,
    bottom: &Frame,
    tracks: &[Track<'_>],
    shade: &str,
) -> bool {
    let mut seen: Vec<&Window> = Vec::new();
    let mut warmup = false;
    for (k, t) in tracks.iter().enumerate() {
        for w in &t.run.windows {
            let is_warmup = w.label.to_lowercase().contains("warm");
            let (x0, x1) = (top.x.map(w.start_s), top.x.map(w.end_s));
            let same = |s: &&Window| {
                s.label == w.label
                    && (s.start_s - w.start_s).abs() < 0.05
                    && (s.end_s - w.end_s).abs() < 0.05
            };
            if !seen.iter().any(same) {
                seen.push(w);
                let colour = if is_warmup {
                    style::WARMUP_SHADE
                } else {
                    shade
                };
                for f in [top, bottom] {
                    svg.rect(
                        x0,
                        f.area.y,
                        x1 - x0,
                        f.area.h,
                        colour,
                        style::SHADE_OPACITY,
                    );
                }
            }
            warmup |= is_warmup;
            if !is_warmup {
                svg.rect(
                    x0,
                    top.area.y + 1.5 + 5.0 * k as f64,
                    x1 - x0,
                    4.0,
                    arch_colour(t.arch),
                    0.9,
                );
            }
        }
    }
    warmup
}
