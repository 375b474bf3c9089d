//! A report re-rendered from its results.json is identical; a results.json of another
//! schema version, or malformed, is refused with a clear message and renders nothing.

use crm_bench::report;

use super::{crm_bench_report, fixture, fixture_path, rendered, snapshot};

#[test]
fn report_dir_re_renders_identically_from_results_json() {
    let (dir, _) = rendered(&fixture());
    let before = snapshot(dir.path());
    // Stale output goes: a chart of an experiment that is no longer there would linger.
    std::fs::write(dir.path().join("scaling-old.png"), b"stale").unwrap();
    std::fs::remove_file(dir.path().join("index.html")).unwrap();
    let out = crm_bench_report(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = snapshot(dir.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &before {
        assert!(after[name] == *bytes, "{name} differs after re-rendering");
    }
}

#[test]
fn a_results_json_of_another_schema_version_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture_path())
        .unwrap()
        .replace("crm-bench/results/v1", "crm-bench/results/v9");
    std::fs::write(dir.path().join("results.json"), text).unwrap();
    let err = report::render(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("\"crm-bench/results/v9\"")
            && err.contains("reads \"crm-bench/results/v1\" or \"crm-bench/results/v2\""),
        "{err}"
    );
    let out = crm_bench_report(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("crm-bench/results/v9"));
    assert!(
        !dir.path().join("index.html").exists(),
        "nothing rendered from it"
    );
}

#[test]
fn a_malformed_results_json_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("results.json"),
        "{\"schema\": \"crm-bench/results/v1\",",
    )
    .unwrap();
    let err = report::render(dir.path()).unwrap_err().to_string();
    assert!(err.contains("is not valid JSON"), "{err}");
    std::fs::write(dir.path().join("results.json"), "{\"runs\": []}").unwrap();
    let err = report::render(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a crm-bench results file"), "{err}");
    std::fs::write(
        dir.path().join("results.json"),
        "{\"schema\": \"crm-bench/results/v1\", \"runs\": 3}",
    )
    .unwrap();
    let err = report::render(dir.path()).unwrap_err().to_string();
    assert!(err.contains("does not match schema"), "{err}");
}
