//! Statements that ran in parallel inside one span: a breakdown whose node sums them (twice
//! the wall time two statements take side by side) is cut back to the time the requests
//! waited, and the calibration says so.

use crm_bench::simulate::{self, Options, synthetic};

use super::{close, known, mean, monolith_breakdowns, one_point, spec};

#[test]
fn statements_summed_over_parallel_spans_are_cut_to_their_wall_time() {
    let k = known();
    let mut results = synthetic::report(&k, &spec(true)).expect("the synthetic report simulates");
    // The monolith's overview runs two statements in its internal node; as if they had run
    // side by side, the breakdown now lists twice their time, while the requests' end-to-end
    // latency is what it was.
    for b in monolith_breakdowns(&mut results) {
        let node = b.ops.get_mut("overview").unwrap().shapes[0]
            .nodes
            .iter_mut()
            .find(|n| n.db_statements >= 2.0)
            .unwrap();
        node.db_us.mean *= 2.0;
        node.db_us.q.iter_mut().for_each(|(_, v)| *v *= 2.0);
    }
    // Held in at 50 req/s, where the measured mean is nearly the tree's (little queueing).
    let cal = simulate::calibrate(&results, "synthetic", &one_point()).unwrap();
    let note = cal.notes.iter().find(|n| n.contains("monolith overview"));
    assert!(
        note.is_some_and(|n| n.contains("in parallel")),
        "{:?}",
        cal.notes
    );
    let want = &k.monolith.as_ref().unwrap().ops["overview"].shapes[0].nodes[1];
    let got = &cal.calibration.monolith.as_ref().unwrap().ops["overview"].shapes[0].nodes[1];
    let (g, w) = (mean(&got.db_us), mean(&want.db_us));
    close(g, w, 0.15, "overview statements (summed: twice as long)");
    // With three held-in rates the measured mean carries the queueing of 200 and 400 req/s:
    // less is cut, never more than the sum's excess over all-at-once.
    let three = simulate::calibrate(&results, "synthetic", &Options::default()).unwrap();
    let g3 = mean(
        &three.calibration.monolith.as_ref().unwrap().ops["overview"].shapes[0].nodes[1].db_us,
    );
    assert!(
        g3 >= w * 0.98 && g3 <= 2.0 * w,
        "three points: {g3} µs, known {w}"
    );
    // Trees that add up to their measured mean are left alone.
    assert!(
        !cal.notes
            .iter()
            .any(|n| n.contains("get_company") && n.contains("in parallel")),
        "{:?}",
        cal.notes
    );
}
