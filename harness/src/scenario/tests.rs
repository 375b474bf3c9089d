use super::*;

const GOOD: &str = r#"
name = "t"
architectures = ["monolith", "micro"]
[data]
size = "small"
[slo]
p99_ms = 50
[mix]
get_company = 3
list_companies = 1
[[experiment]]
kind = "sweep"
rates = [50, 100]
search = { low = 100, high = 800, iterations = 3 }
[[experiment]]
kind = "fault"
target = "analytics"
action = "kill"
rate = 100
at_s = 3
for_s = 4
duration_s = 12
[[experiment]]
kind = "deploy"
service = "customers"
mode = "rolling"
replicas = 2
rate = 100
at_s = 3
"#;

fn err(text: &str) -> String {
    format!(
        "{:#}",
        Scenario::parse(text, "s.toml").expect_err("should fail")
    )
}

#[test]
fn a_good_scenario_parses_with_defaults_filled_in() {
    let s = Scenario::parse(GOOD, "s.toml").unwrap();
    assert_eq!(s.architectures, vec![Arch::Monolith, Arch::Micro]);
    assert_eq!(s.load.connections, 256);
    assert_eq!(s.experiments.len(), 3);
    assert_eq!(s.experiments[1].name(), "fault");
    assert_eq!(s.effective_mix().len(), 2);
}

#[test]
fn an_unknown_top_level_key_is_named() {
    let e = err("name = \"t\"\narchitecture = [\"micro\"]\n");
    assert!(e.contains("architecture"), "{e}");
    assert!(e.contains("s.toml"), "{e}");
}

#[test]
fn an_unknown_key_inside_an_experiment_is_named() {
    let e = err("name = \"t\"\n[[experiment]]\nkind = \"sweep\"\nrates = [1]\nrat = 3\n");
    assert!(e.contains("rat"), "{e}");
}

#[test]
fn an_unknown_experiment_kind_is_named() {
    let e = err("name = \"t\"\n[[experiment]]\nkind = \"sweeep\"\n");
    assert!(e.contains("sweeep"), "{e}");
}

#[test]
fn an_unknown_operation_in_the_mix_is_named_with_its_path() {
    let e = err("name = \"t\"\n[mix]\nget_compny = 1\n");
    assert!(e.contains("mix.get_compny: unknown operation"), "{e}");
}

#[test]
fn semantic_problems_are_all_listed_with_their_paths() {
    let text = r#"
name = "t"
repeats = 0
[cpus]
sut = "1-x"
[[experiment]]
kind = "fault"
target = "analytic"
action = "restart"
rate = -1
at_s = 8
for_s = 5
duration_s = 10
[[experiment]]
kind = "scale"
service = "customers"
replicas = [2, 3]
cpus_per_replica = 0.5
"#;
    let e = err(text);
    for needle in [
        "repeats: must be 1 to 20",
        "cpus.sut:",
        "experiment[0].target: unknown service 'analytic'",
        "experiment[0].action: 'restart' is not a fault",
        "experiment[0].rate: must be a positive number",
        "experiment[0].for_s: the fault",
        "experiment[1].replicas: must start with 1",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
}

#[test]
fn a_rolling_restart_needs_two_replicas() {
    let e = err(
        "name = \"t\"\n[[experiment]]\nkind = \"deploy\"\nservice = \"customers\"\nmode = \"rolling\"\nrate = 10\nat_s = 1\n",
    );
    assert!(
        e.contains("experiment[0].replicas: a rolling restart needs at least 2"),
        "{e}"
    );
}

#[test]
fn cpu_lists_are_checked() {
    use super::problems::valid_cpu_list;
    assert!(valid_cpu_list("1"));
    assert!(valid_cpu_list("0,2-3"));
    assert!(!valid_cpu_list("3-1"));
    assert!(!valid_cpu_list(""));
    assert!(!valid_cpu_list("a"));
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        // sim-*.toml are simulation files (`crm-bench simulate`), tested in tests/simulate.rs.
        let simulation = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("sim-"));
        if path.extension().is_some_and(|e| e == "toml") && !simulation {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
            n += 1;
        }
    }
    assert!(n >= 1, "no scenarios in {}", dir.display());
}

#[test]
fn tracing_is_off_unless_asked_and_its_ratio_must_be_a_share() {
    assert_eq!(Scenario::parse(GOOD, "s.toml").unwrap().tracing, None);
    let on = Scenario::parse(&format!("{GOOD}\n[tracing]\n"), "s.toml").unwrap();
    assert_eq!(
        on.tracing,
        Some(Tracing {
            sample_ratio: DEFAULT_SAMPLE_RATIO,
            overhead: false
        })
    );
    let e = err(&format!("{GOOD}\n[tracing]\nsample_ratio = 1.5\n"));
    assert!(e.contains("tracing.sample_ratio"), "{e}");
    let e = err(&format!("{GOOD}\n[tracing]\nratio = 0.5\n"));
    assert!(e.contains("ratio"), "{e}");
}

#[test]
fn precision_keys_are_checked_with_their_paths() {
    let e = err(r#"
name = "t"
[load]
steal_max = 2
[load.adaptive]
precision = 0
min_s = 5
max_s = 3
[[experiment]]
kind = "sweep"
rates = [10]
search = { low = 10, high = 20, precision = 1.5 }
[[experiment]]
kind = "fault"
target = "analytics"
action = "kill"
rate = 10
at_s = 1
for_s = 2
cycles = 3
duration_s = 8
"#);
    for needle in [
        "load.steal_max: must be a share",
        "load.adaptive.precision: must be a fraction",
        "load.adaptive.max_s: must be at least min_s",
        "experiment[0].search.precision",
        "experiment[1].cycles: 3 cycles end at 11 s",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
    let e = err("name = \"t\"\n[load.adaptive]\nprecison = 0.1\n");
    assert!(e.contains("precison") && e.contains("line 3"), "{e}");
}

#[test]
fn the_precision_knob_tightens_the_target_and_lengthens_the_cap() {
    let s = Scenario::parse("name = \"t\"\n", "s.toml").unwrap();
    assert!(s.load.adaptive.is_none());
    let s = s.with_precision(0.05).unwrap();
    let a = s.load.adaptive.clone().unwrap();
    assert_eq!(a.precision, 0.05);
    assert_eq!(a.max_s, Adaptive::default().max_s * 4.0);
    assert!(s.with_precision(0.0).is_err());
}

#[test]
fn replicas_that_cannot_work_are_refused_with_path_and_line() {
    let text = r#"name = "t"
[[experiment]]
kind = "fault"
target = "customers"
action = "kill"
replicas = 0
rate = 10
at_s = 1
for_s = 1
duration_s = 5
[[experiment]]
kind = "fault"
target = "customers"
action = "slow"
replicas = 2
rate = 10
at_s = 1
for_s = 1
duration_s = 5
[[experiment]]
kind = "deploy"
service = "customers"
mode = "rolling"
replicas = 0
rate = 10
at_s = 1
"#;
    let e = err(text);
    for needle in [
        "line 6: experiment[0].replicas: must be 1 to 16, got 0",
        "line 14: experiment[1].action: one replica of several is killed or paused",
        "line 24: experiment[2].replicas: must be 1 to 16",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
    let ok = Scenario::parse(&text.replace("replicas = 0", "replicas = 2"), "s.toml");
    assert!(format!("{:#}", ok.unwrap_err()).contains("experiment[1].action"));
}
