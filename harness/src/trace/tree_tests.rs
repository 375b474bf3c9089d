//! Tests of [`super`]: attribution, self time, critical paths and the text tree on small
//! synthetic traces.

use super::super::span::Kind;
use super::*;

pub(crate) fn span(
    id: &str,
    parent: &str,
    service: &str,
    name: &str,
    kind: Kind,
    start_us: u64,
    end_us: u64,
) -> SpanRecord {
    SpanRecord {
        trace_id: "t".into(),
        span_id: id.into(),
        parent_id: parent.into(),
        service: service.into(),
        name: name.into(),
        kind,
        start_ns: start_us * 1000,
        end_ns: end_us * 1000,
        db: false,
        wait: None,
        peer: None,
        lag_us: None,
        status: None,
    }
}

#[test]
fn a_chain_of_hops_is_charged_to_each_process_the_wire_and_the_database() {
    let mut db = span(
        "d",
        "s",
        "leads",
        "SELECT crm_leads.leads",
        Kind::Client,
        40,
        70,
    );
    db.db = true;
    let mut pool = span("p", "s", "leads", "db.acquire", Kind::Internal, 30, 40);
    pool.wait = Some("pool".into());
    let spans = [
        span(
            "g",
            "loadgen",
            "gateway",
            "POST /leads",
            Kind::Server,
            0,
            100,
        ),
        span("c", "g", "gateway", "POST leads", Kind::Client, 10, 90),
        span(
            "s",
            "c",
            "leads",
            "POST /api/v1/leads",
            Kind::Server,
            20,
            80,
        ),
        db,
        pool,
    ];
    let t = Trace::new(spans.iter().collect());
    assert_eq!(t.spans[t.root.unwrap()].span_id, "g");
    let parts = t.attribute();
    assert_eq!(parts["gateway"], 20.0);
    assert_eq!(parts["wire"], 20.0);
    assert_eq!(parts["service:leads"], 20.0);
    assert_eq!(parts["postgres"], 30.0);
    assert_eq!(parts["wait"], 10.0);
    assert_eq!(parts.values().sum::<f64>(), 100.0);
    let path: Vec<&str> = t
        .critical_path()
        .iter()
        .map(|(i, _)| t.spans[*i].span_id.as_str())
        .collect();
    // The pool wait, then the statement it waited for: both on the path, in order.
    assert_eq!(path, ["g", "c", "s", "p", "d"]);
    let text = t.render(50);
    assert!(text.contains("postgres: SELECT crm_leads.leads"), "{text}");
}

#[test]
fn parallel_children_share_their_overlap_and_self_time_uses_their_union() {
    // A fan-out: two calls from 10 to 60 and from 30 to 90 inside a 100 µs span.
    let spans = [
        span(
            "g",
            "",
            "gateway",
            "GET /companies/{id}/overview",
            Kind::Server,
            0,
            100,
        ),
        span("a", "g", "gateway", "GET customers", Kind::Client, 10, 60),
        span("b", "g", "gateway", "GET sales", Kind::Client, 30, 90),
    ];
    let t = Trace::new(spans.iter().collect());
    let root = t.root.unwrap();
    // Covered by the union [10, 90]: 80 µs; own 20.
    assert_eq!(t.self_us(root), 20.0);
    let parts = t.attribute();
    assert_eq!(parts["gateway"], 20.0);
    // 10..30 a alone (20), 30..60 shared (15 + 15), 60..90 b alone (30).
    assert_eq!(parts["wire"], 80.0);
    assert_eq!(parts.values().sum::<f64>(), 100.0);
}

#[test]
fn asynchronous_work_is_in_the_tree_but_not_in_the_response_time() {
    let mut consume = span(
        "k",
        "r",
        "analytics",
        "consume analytics lead.converted",
        Kind::Consumer,
        95,
        300,
    );
    consume.lag_us = Some(40);
    let spans = [
        span(
            "m",
            "",
            "monolith",
            "POST /leads/{id}/convert",
            Kind::Server,
            0,
            100,
        ),
        span(
            "r",
            "m",
            "monolith",
            "relay lead.converted",
            Kind::Producer,
            90,
            200,
        ),
        consume,
    ];
    let t = Trace::new(spans.iter().collect());
    let parts = t.attribute();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts["monolith"], 100.0);
    assert!(t.is_async[1] && t.is_async[2]);
    assert!(t.render(50).contains("[async]"));
}

#[test]
fn the_critical_path_keeps_every_sequential_step_not_only_the_last_one() {
    let spans = [
        span(
            "r",
            "",
            "monolith",
            "POST /leads/{id}/convert",
            Kind::Server,
            0,
            100,
        ),
        span(
            "t",
            "r",
            "monolith",
            "convert transaction",
            Kind::Internal,
            5,
            80,
        ),
        span("q", "t", "monolith", "SELECT", Kind::Internal, 10, 20),
        span(
            "i",
            "r",
            "monolith",
            "idempotency complete",
            Kind::Internal,
            85,
            95,
        ),
        // Overlaps the transaction, finished before it: not waited for.
        span("x", "r", "monolith", "side", Kind::Internal, 30, 40),
    ];
    let t = Trace::new(spans.iter().collect());
    let path: Vec<(&str, usize)> = t
        .critical_path()
        .iter()
        .map(|(i, d)| (t.spans[*i].span_id.as_str(), *d))
        .collect();
    assert_eq!(path, [("r", 0), ("t", 1), ("q", 2), ("i", 1)]);
}

#[test]
fn unions_merge_overlaps_and_ignore_empty_intervals() {
    assert_eq!(
        union_len(vec![(0.0, 10.0), (5.0, 15.0), (20.0, 25.0), (3.0, 3.0)]),
        20.0
    );
    assert_eq!(union_len(Vec::new()), 0.0);
}
