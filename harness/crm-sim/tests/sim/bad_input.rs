//! Every refusal names the key's path and its line.

use crm_sim::{Calibration, Error, Scenario};

use crate::calibration;

/// The 1-based line where `needle` first appears.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the text"));
    text[..at].matches('\n').count() + 1
}

fn refused(r: Result<impl std::fmt::Debug, Error>) -> Error {
    r.expect_err("the input must be refused")
}

fn assert_problem(e: &Error, path: &str, line: usize, says: &str) {
    let p = e
        .problems()
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no problem at {path}: {e}"));
    assert_eq!(p.line, Some(line), "{p}");
    assert!(p.message.contains(says), "{p}");
    assert!(e.to_string().contains(&format!("(line {line})")), "{e}");
}

const CAL: &str = r#"schema = "crm-sim/calibration/v1"

[micro]
default_policy = "client"

[micro.policies.client]
timeout_ms = 5000

[micro.processes.gateway]
kind = "gateway"

[micro.processes.customers]
kind = "service"

[[micro.ops.get_company.shapes]]
probability = 1.0

[[micro.ops.get_company.shapes.nodes]]
process = "gateway"

[[micro.ops.get_company.shapes.nodes]]
process = "customers"
parent = 0

[[micro.ops.get_company.shapes.nodes]]
process = "customers"
parent = 1
"#;

const SCENARIO: &str = r#"schema = "crm-sim/scenario/v1"
architecture = "micro"
duration_s = 10

[[nodes]]
name = "n"
cores = 2

[processes.customers]
replicas = 2
cpus = 0.5
nodes = ["n"]

[open]
rate = 100.0
mix = { get_company = 1.0 }
"#;

#[test]
fn the_fixtures_are_valid() {
    let cal = calibration(CAL);
    Scenario::parse(SCENARIO, "s.toml", &cal).expect("valid scenario");
}

#[test]
fn an_unknown_process_is_refused_with_its_path_and_line() {
    let text = CAL.replacen(
        "process = \"customers\"\nparent = 1",
        "process = \"custmers\"\nparent = 1",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.ops.get_company.shapes[0].nodes[2].process",
        line_of(&text, "custmers"),
        "unknown process \"custmers\"",
    );
}

#[test]
fn probabilities_that_do_not_sum_to_one_are_refused() {
    let text = CAL.replace("probability = 1.0", "probability = 0.8");
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.ops.get_company.shapes",
        line_of(&text, "[[micro.ops.get_company.shapes]]"),
        "sum to 1",
    );
}

#[test]
fn a_parent_that_makes_a_cycle_is_refused() {
    let text = CAL.replacen("parent = 0", "parent = 2", 1);
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.ops.get_company.shapes[0].nodes[1].parent",
        line_of(&text, "parent = 2"),
        "cycle",
    );
}

#[test]
fn a_cpu_share_outside_zero_to_one_is_refused() {
    let text = CAL.replacen(
        "process = \"customers\"\nparent = 1",
        "process = \"customers\"\nparent = 1\nself_cpu = 1.5",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.ops.get_company.shapes[0].nodes[2].self_cpu",
        line_of(&text, "self_cpu"),
        "between 0 and 1",
    );
    let text = CAL.replacen(
        "default_policy = \"client\"\n",
        "default_policy = \"client\"\n\n[micro.events]\nrelay_us = { fixed = 100.0 }\nrelay_cpu = -0.5\n",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.events.relay_cpu",
        line_of(&text, "relay_cpu"),
        "between 0 and 1",
    );
}

#[test]
fn a_calibration_of_another_schema_version_is_refused() {
    let text = format!(
        "# from crm-bench calibrate\n{}",
        CAL.replace("calibration/v1", "calibration/v2")
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "schema",
        2,
        "\"crm-sim/calibration/v2\" is not supported",
    );
}

#[test]
fn an_unknown_key_is_refused_with_its_path_and_line() {
    let text = CAL.replace("timeout_ms = 5000", "timeout_ms = 5000\nretrys = 2");
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.policies.client.retrys",
        line_of(&text, "retrys"),
        "unknown field",
    );
}

#[test]
fn a_client_span_is_refused_with_what_to_do_instead() {
    let text = CAL.replacen(
        "process = \"customers\"\nparent = 0",
        "process = \"customers\"\nparent = 0\nkind = \"client\"",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.ops.get_company.shapes[0].nodes[1].kind",
        line_of(&text, "kind = \"client\""),
        "wire_us",
    );
}

fn scenario_refused(text: &str) -> Error {
    refused(Scenario::parse(text, "s.toml", &calibration(CAL)))
}

#[test]
fn negative_and_zero_rates_are_refused() {
    for rate in ["-5.0", "0.0"] {
        let text = SCENARIO.replace("rate = 100.0", &format!("rate = {rate}"));
        let e = scenario_refused(&text);
        assert_problem(&e, "open.rate", line_of(&text, "rate ="), "positive");
    }
}

#[test]
fn an_unknown_operation_is_refused() {
    let text = SCENARIO.replace("get_company = 1.0", "get_compny = 1.0");
    let e = scenario_refused(&text);
    assert_problem(
        &e,
        "open.mix.get_compny",
        line_of(&text, "mix ="),
        "unknown operation \"get_compny\"",
    );
}

#[test]
fn replicas_that_do_not_fit_their_nodes_are_refused() {
    let text = SCENARIO.replace("cpus = 0.5", "cpus = 1.5");
    let e = scenario_refused(&text);
    assert_problem(
        &e,
        "processes.customers.cpus",
        line_of(&text, "cpus = 1.5"),
        "cannot place replica 1",
    );
}

#[test]
fn a_process_placed_on_an_unknown_node_is_refused() {
    let text = SCENARIO.replace("nodes = [\"n\"]", "nodes = [\"m\"]");
    let e = scenario_refused(&text);
    assert_problem(
        &e,
        "processes.customers.nodes[0]",
        line_of(&text, "nodes = [\"m\"]"),
        "unknown node \"m\"",
    );
}

#[test]
fn an_unknown_process_in_a_scenario_is_refused() {
    let text = format!(
        "{SCENARIO}\n[[faults]]\nkind = \"kill\"\nprocess = \"custmers\"\nat_s = 1\nfor_s = 1\n"
    );
    let e = scenario_refused(&text);
    assert_problem(
        &e,
        "faults[0].process",
        line_of(&text, "process = \"custmers\""),
        "unknown process",
    );
}

#[test]
fn an_architecture_missing_from_the_calibration_is_refused() {
    let text = SCENARIO.replace("architecture = \"micro\"", "architecture = \"monolith\"");
    let e = scenario_refused(&text);
    assert_problem(&e, "architecture", 2, "not in the calibration");
}

#[test]
fn a_calibration_written_out_reads_back_the_same() {
    let mut cal = calibration(CAL);
    let micro = cal.micro.as_mut().expect("micro");
    micro.policies.insert(
        "client".into(),
        crm_sim::input::calibration::Policy::service_client(),
    );
    micro.policies.insert(
        "proxy".into(),
        crm_sim::input::calibration::Policy::gateway_proxy(),
    );
    micro.ops.get_mut("get_company").expect("op").shapes[0].nodes[1].self_us =
        Some(crm_sim::DistSpec {
            mean: Some(180.0),
            q: Some(vec![(0.0, 90.0), (0.5, 160.0), (1.0, 2500.0)]),
            ..Default::default()
        });
    let text = cal.to_toml();
    let back = Calibration::parse(&text, "written.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, cal);
}

#[test]
fn a_negative_or_non_number_background_is_refused() {
    let text = CAL.replacen(
        "kind = \"service\"\n",
        "kind = \"service\"\nbackground = -0.1\n",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.processes.customers.background",
        line_of(&text, "background = -0.1"),
        "zero or more",
    );
    let text = CAL.replacen(
        "kind = \"service\"\n",
        "kind = \"service\"\nbackground = \"lots\"\n",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    let p = e
        .problems()
        .iter()
        .find(|p| p.path.contains("background"))
        .unwrap_or_else(|| panic!("no problem at background: {e}"));
    assert_eq!(p.line, Some(line_of(&text, "background = \"lots\"")), "{p}");
}

#[test]
fn an_idle_wake_on_more_than_the_whole_core_is_refused() {
    let text = CAL.replacen(
        "kind = \"service\"\n",
        "kind = \"service\"\nidle_wake = { us = 300.0, tau_ms = 5.0, cpu = 1.5 }\n",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.processes.customers.idle_wake.cpu",
        line_of(&text, "idle_wake"),
        "between 0 and 1",
    );
}

#[test]
fn an_idle_wake_without_a_cooling_time_is_refused() {
    let text = CAL.replacen(
        "kind = \"service\"\n",
        "kind = \"service\"\nidle_wake = { us = 300.0, tau_ms = 0.0 }\n",
        1,
    );
    let e = refused(Calibration::parse(&text, "c.toml"));
    assert_problem(
        &e,
        "micro.processes.customers.idle_wake.tau_ms",
        line_of(&text, "idle_wake"),
        "positive number",
    );
}
