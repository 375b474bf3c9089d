//! Report rendering from a small fixture results.json (made-up numbers, see
//! tests/fixtures/README.md): every file is written, the HTML is self-contained, the PNGs
//! decode at their size, the verdicts follow the rules, re-rendering is identical, and a
//! results.json of another schema is refused with a clear message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crm_bench::report;
use crm_bench::results::{Ci, Experiment, LatencyCis, Results, Verdict};
use crm_bench::topology::Arch;
use resvg::tiny_skia::Pixmap;

#[path = "report/inputs.rs"]
mod inputs;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fixture-results.json")
}

fn fixture() -> Results {
    report::load(&fixture_path()).expect("the fixture loads")
}

/// Writes a report of `results` into a fresh directory.
fn rendered(results: &Results) -> (tempfile::TempDir, report::Written) {
    let dir = tempfile::tempdir().unwrap();
    let written = report::write(dir.path(), results).expect("write the report");
    (dir, written)
}

/// Every file of a directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// `crm-bench report DIR`, to run.
fn crm_bench_report(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm-bench"));
    c.arg("report").arg(dir);
    c
}

fn verdict<'a>(vs: &'a [Verdict], metric: &str, measure_starts: &str) -> &'a Verdict {
    vs.iter()
        .find(|v| v.metric == metric && v.measure.starts_with(measure_starts))
        .unwrap_or_else(|| panic!("no verdict {metric} / {measure_starts}* in {vs:#?}"))
}

/// The values of the attribute `name=` in an HTML page.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!("{name}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap_or(rest.len())]
        })
        .collect()
}

const CHARTS: [&str; 7] = [
    "spectrum.png",
    "latency-throughput.png",
    "latency-over-time-kill-analytics.png",
    "latency-over-time-redeploy-customers.png",
    "resources.png",
    "scaling.png",
    "verdicts.png",
];

#[test]
fn rendering_the_fixture_writes_every_file() {
    let (dir, written) = rendered(&fixture());
    assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    for f in ["results.json", "summary.md", "index.html"]
        .iter()
        .chain(CHARTS.iter())
    {
        assert!(
            dir.path().join(f).is_file(),
            "{f} missing; wrote {:?}",
            written.files
        );
    }
}

#[test]
fn the_html_is_self_contained_with_every_chart_inline() {
    let (dir, _) = rendered(&fixture());
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    for attr in ["src", "href", "xlink:href", "action"] {
        for v in attribute_values(&html, attr) {
            assert!(
                !(v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")),
                "{attr}=\"{v}\" points elsewhere"
            );
        }
    }
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(!html.contains("<link"), "the page loads no stylesheet");
    assert!(
        !html.contains("@import") && !html.contains("url("),
        "the CSS fetches nothing"
    );
    // One inline SVG per chart; the verdict table is a table in the page (and a PNG).
    assert_eq!(html.matches("<svg").count(), CHARTS.len() - 1);
    assert!(html.contains("<h2>Verdicts</h2>\n"));
    assert!(html.contains("<td>response time</td><td>p99 at 200 req/s (mixed)</td>"));
}

#[test]
fn the_pngs_decode_at_twice_the_chart_size_and_show_both_architectures() {
    let (dir, _) = rendered(&fixture());
    for f in CHARTS {
        let png = Pixmap::load_png(dir.path().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(png.width(), 1600, "{f}");
        if f != "verdicts.png" {
            assert_eq!(png.height(), 900, "{f}");
        }
        // Both architectures' colours are drawn (#0072b2 monolith, #e69f00 micro), except on
        // the scaling chart, which only the microservices measured.
        let has = |rgb: [u8; 3]| {
            png.pixels().iter().any(|p| {
                let c = p.demultiply();
                [c.red(), c.green(), c.blue()] == rgb
            })
        };
        if f != "scaling.png" {
            assert!(has([0x00, 0x72, 0xb2]), "{f} shows no monolith colour");
        }
        assert!(has([0xe6, 0x9f, 0x00]), "{f} shows no microservices colour");
    }
}

#[test]
fn the_verdicts_name_the_winners_the_rules_imply() {
    let (dir, _) = rendered(&fixture());
    let written = report::load(dir.path()).unwrap();
    let vs = &written.verdicts;
    // p99 at 200 req/s, the highest rate both met the SLO at: 8.3 ms against 31 ms.
    let p99 = verdict(vs, "response time", "p99 at 200 req/s");
    assert_eq!(p99.winner, Some(Arch::Monolith));
    assert_eq!(p99.by, "3.7× lower p99");
    // Max rate under the SLO: 310 against 240 req/s.
    assert_eq!(
        verdict(vs, "throughput", "max rate").winner,
        Some(Arch::Monolith)
    );
    // Unaffected success during the fault: 91.25% against 99.94%.
    let success = verdict(vs, "fault tolerance", "success of unaffected");
    assert_eq!(success.winner, Some(Arch::Micro));
    // Redeploy: 412 against 35 failed requests.
    assert_eq!(
        verdict(vs, "deployment", "requests failed").winner,
        Some(Arch::Micro)
    );
    // Only the microservices scaled a service: no winner, and the note says why.
    let scale = verdict(vs, "scalability", "scaling efficiency");
    assert_eq!((scale.winner, scale.monolith), (None, None));
    assert!(
        scale.note.contains("scales only as a whole"),
        "{}",
        scale.note
    );
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("| response time | p99 at 200 req/s (mixed) | 8.30 ms | 31.0 ms | monolith | 3.7× lower p99 |"),
        "{md}"
    );
}

#[test]
fn response_time_falls_back_to_a_lower_rate_and_ties_within_the_noise() {
    let mut r = fixture();
    for run in &mut r.runs {
        for e in &mut run.experiments {
            let Experiment::Sweep(s) = e else { continue };
            for p in &mut s.points {
                if run.arch == Arch::Micro && p.offered_rps == 200.0 {
                    // The microservices now miss the SLO at 200 req/s...
                    p.meets_slo = false;
                }
                if run.arch == Arch::Micro && p.offered_rps == 100.0 {
                    // ...and at 100 req/s are within 10% of the monolith's 5.2 ms.
                    p.latency.p99_us = 5_500;
                }
            }
        }
    }
    let vs = report::verdicts(&r.runs);
    let p99 = verdict(&vs, "response time", "p99 at 100 req/s");
    assert_eq!(p99.winner, None, "{p99:#?}");
    assert_eq!(p99.by, "tie (within noise)");
}

#[test]
fn a_run_of_one_architecture_says_what_was_not_measured() {
    let mut r = fixture();
    r.runs.retain(|run| run.arch == Arch::Monolith);
    r.verdicts.clear();
    let (dir, _) = rendered(&r);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("microservices: not measured at all"), "{md}");
    let written = report::load(dir.path()).unwrap();
    assert!(written.verdicts.iter().all(|v| v.winner.is_none()));
    assert!(
        !dir.path().join("scaling.png").exists(),
        "nothing scaled, no chart"
    );
}

#[test]
fn results_without_experiments_render_a_report_that_says_so() {
    let mut r = fixture();
    for run in &mut r.runs {
        run.experiments.clear();
    }
    r.verdicts.clear();
    let (dir, written) = rendered(&r);
    assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("No verdicts"), "{md}");
    assert!(
        md.contains("sweep: not measured (the scenario did not run it)."),
        "{md}"
    );
    let pngs = snapshot(dir.path())
        .into_keys()
        .filter(|f| f.ends_with(".png"))
        .count();
    assert_eq!(pngs, 0, "no chart without data");
}

#[test]
fn without_a_font_the_pngs_are_skipped_with_a_clear_message_and_the_rest_is_written() {
    let (dir, _) = rendered(&fixture());
    let no_fonts = tempfile::tempdir().unwrap();
    let out = crm_bench_report(dir.path())
        .env("CRM_BENCH_FONT_DIR", no_fonts.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PNGs not written: no DejaVu Sans font found")
            && err.contains("fonts-dejavu-core"),
        "{err}"
    );
    let files = snapshot(dir.path());
    assert!(
        files.keys().all(|f| !f.ends_with(".png")),
        "{:?}",
        files.keys()
    );
    assert!(files.contains_key("index.html") && files.contains_key("summary.md"));
}

#[test]
fn a_failed_experiment_is_listed_as_not_measured() {
    let mut results = fixture();
    results.runs[1].failures.push(crm_bench::results::Failure {
        experiment: "customers".into(),
        kind: "scale".into(),
        error: "CPU quotas need cgroups".into(),
    });
    let (dir, _) = rendered(&results);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("customers (scale) was not measured: CPU quotas need cgroups"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("was not measured"));
}

/// The fixture with 95% intervals on every sweep point's p50 and p99: ±`spread` of each.
fn with_intervals(spread: f64) -> Results {
    let mut r = fixture();
    for run in &mut r.runs {
        for e in &mut run.experiments {
            let Experiment::Sweep(s) = e else { continue };
            for p in &mut s.points {
                let ci = |v: u64| Ci {
                    lo: v as f64 * (1.0 - spread),
                    hi: v as f64 * (1.0 + spread),
                    open: false,
                };
                p.latency.ci = Some(LatencyCis {
                    p50: Some(ci(p.latency.p50_us)),
                    p99: Some(ci(p.latency.p99_us)),
                    batched: true,
                    p99_n_eff: 1000.0,
                    ..LatencyCis::default()
                });
            }
        }
    }
    r.verdicts.clear();
    r
}

#[test]
fn a_verdict_with_intervals_names_a_winner_only_when_they_separate() {
    // 8.3 ms against 31 ms: ±20% intervals are far apart, ±70% ones overlap.
    let vs = report::verdicts(&with_intervals(0.2).runs);
    let p99 = verdict(&vs, "response time", "p99 at 200 req/s");
    assert_eq!(p99.winner, Some(Arch::Monolith), "{p99:#?}");
    assert!(p99.note.contains("intervals"), "{}", p99.note);
    assert!(p99.monolith_ci.is_some() && p99.micro_ci.is_some());
    let vs = report::verdicts(&with_intervals(0.7).runs);
    let p99 = verdict(&vs, "response time", "p99 at 200 req/s");
    assert_eq!(p99.winner, None, "{p99:#?}");
    assert_eq!(p99.by, "tie (within noise)");
}

#[test]
fn the_report_prints_every_percentiles_interval_and_draws_it() {
    let r = with_intervals(0.2);
    let (dir, _) = rendered(&r);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    // The verdict table and the sweep table both give the interval.
    assert!(md.contains("8.30 ms [6.64–9.96]"), "{md}");
    assert!(md.contains("p99 [95% interval]"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("95% interval"), "no error-bar legend");
    // Re-read: the intervals survive results.json, and the file says v2.
    let back = report::load(dir.path()).unwrap();
    assert_eq!(back.schema, "crm-bench/results/v2");
    assert_eq!(back, {
        let mut w = r.clone();
        w.verdicts = back.verdicts.clone();
        w.schema = back.schema.clone();
        w
    });
}
