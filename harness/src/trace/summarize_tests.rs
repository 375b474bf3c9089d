//! Tests of the breakdown summary (`summarize.rs`).

use super::super::span::Kind;
use super::*;

fn span(
    trace: &str,
    (id, parent): (&str, &str),
    service: &str,
    name: &str,
    kind: Kind,
    s: u64,
    e: u64,
) -> SpanRecord {
    SpanRecord {
        trace_id: trace.into(),
        span_id: id.into(),
        parent_id: parent.into(),
        service: service.into(),
        name: name.into(),
        kind,
        start_ns: s * 1000,
        end_ns: e * 1000,
        db: false,
        wait: None,
        peer: None,
        lag_us: None,
        status: None,
    }
}

fn request(trace: &str, op: &str, us: u64) -> TracedRequest {
    TracedRequest {
        trace_id: trace.into(),
        op: op.into(),
        uncorrected_us: us,
        corrected_us: us,
        ok: true,
        sent_s: 1.0,
    }
}

#[test]
fn traces_are_matched_to_requests_and_summarised_per_operation() {
    let mut spans = Vec::new();
    for (t, extra) in [("a", 0), ("b", 10), ("c", 20)] {
        spans.push(span(
            t,
            ("g", "x"),
            "gateway",
            "GET /leads",
            Kind::Server,
            0,
            100 + extra,
        ));
        spans.push(span(
            t,
            ("c", "g"),
            "gateway",
            "GET leads",
            Kind::Client,
            10,
            90,
        ));
        spans.push(span(
            t,
            ("s", "c"),
            "leads",
            "GET /api/v1/leads",
            Kind::Server,
            20,
            80,
        ));
        let mut db = span(
            t,
            ("d", "s"),
            "leads",
            "SELECT crm_leads.leads",
            Kind::Client,
            30,
            60,
        );
        db.db = true;
        spans.push(db);
    }
    // A trace nobody asked for (warm-up) and a request whose spans never came.
    spans.push(span(
        "z",
        ("g", ""),
        "gateway",
        "GET /leads",
        Kind::Server,
        0,
        5,
    ));
    let traced = vec![
        request("a", "list_leads", 110),
        request("b", "list_leads", 120),
        request("c", "list_leads", 130),
        request("missing", "list_leads", 100),
    ];
    let b = breakdown(&RunTrace {
        spans: &spans,
        traced: &traced,
        sample_ratio: 0.5,
        spans_file: "spans/x.jsonl.gz".into(),
        rejected_exports: 0,
        edge_us: None,
    });
    assert_eq!((b.traces, b.sampled_requests, b.spans), (3, 4, 13));
    let op = &b.ops["list_leads"];
    assert_eq!(op.traces, 3);
    assert_eq!(op.end_to_end.p50(), 120.0);
    assert_eq!(op.parts["postgres"].p50(), 30.0);
    assert_eq!(op.parts["service:leads"].p50(), 30.0);
    assert_eq!(op.parts["wire"].p50(), 20.0);
    // 110 − 100, 120 − 110, 130 − 120.
    assert_eq!(op.parts["unaccounted"].p50(), 10.0);
    assert!((op.accounted_share - 110.0 / 120.0).abs() < 1e-9);
    assert_eq!(op.shapes.len(), 1);
    let shape = &op.shapes[0];
    assert_eq!(shape.probability, 1.0);
    let names: Vec<(&str, Option<usize>, &str)> = shape
        .nodes
        .iter()
        .map(|n| (n.process.as_str(), n.parent, n.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("gateway", None, "server"),
            ("gateway", Some(0), "client"),
            ("leads", Some(1), "server")
        ]
    );
    assert_eq!(shape.nodes[2].db_statements, 1.0);
    assert_eq!(shape.nodes[2].db_us.p50(), 30.0);
    assert_eq!(shape.nodes[1].wire_us.p50(), 20.0);
    assert_eq!(op.exemplars[0].trace_id, "c");
    assert_eq!(op.critical_path.len(), 4);
    assert_eq!(op.critical_path[3].depth, 3);
    assert_eq!(op.shapes[0].nodes[0].self_us.q.len(), 10);
}
