//! The verdict rules: noise bands, intervals, failures.

use super::*;

fn spec(lower: bool) -> Spec {
    Spec {
        metric: "response time",
        measure: "p99".into(),
        unit: "ms",
        short: "p99",
        lower_is_better: lower,
        floor: 0.1,
    }
}

#[test]
fn the_lower_latency_wins_and_by_says_how_many_times() {
    let v = decide(
        spec(true),
        Side::Value(10.0),
        Side::Value(21.0),
        String::new(),
    );
    assert_eq!(v.winner, Some(Arch::Monolith));
    assert_eq!(v.by, "2.1× lower p99");
}

#[test]
fn a_difference_inside_the_noise_band_is_a_tie() {
    let v = decide(
        spec(true),
        Side::Value(10.0),
        Side::Value(10.9),
        String::new(),
    );
    assert_eq!(v.winner, None);
    let v = decide(
        spec(false),
        Side::Value(100.0),
        Side::Value(135.0),
        String::new(),
    );
    assert_eq!(v.winner, Some(Arch::Micro));
    assert_eq!(v.by, "+35% p99");
}

#[test]
fn with_intervals_a_winner_needs_them_to_separate() {
    let ci = |lo, hi| Ci {
        lo,
        hi,
        open: false,
    };
    // 40% apart, far outside the noise band, but the intervals overlap: a tie.
    let v = decide(
        spec(true),
        Side::Ranged(10.0, ci(8.0, 13.0)),
        Side::Ranged(14.0, ci(12.0, 17.0)),
        String::new(),
    );
    assert_eq!(v.winner, None);
    assert!(v.note.contains("intervals"), "{}", v.note);
    // 5% apart, inside the noise band, but the intervals separate: a winner.
    let v = decide(
        spec(true),
        Side::Ranged(100.0, ci(99.0, 101.0)),
        Side::Ranged(105.0, ci(104.0, 106.0)),
        String::new(),
    );
    assert_eq!(v.winner, Some(Arch::Monolith));
    // An interval open above cannot be shown to be the larger's.
    let open = Ci {
        lo: 5.0,
        hi: 6.0,
        open: true,
    };
    let v = decide(
        spec(false),
        Side::Ranged(5.5, open),
        Side::Ranged(20.0, ci(18.0, 22.0)),
        String::new(),
    );
    assert_eq!(v.winner, None);
    assert_eq!(v.monolith_ci, Some(open));
    // ... and says so: not a tie, undecided.
    assert!(v.by.starts_with("undecided"), "{}", v.by);
    assert!(v.by.contains("monolith"), "{}", v.by);
    assert_eq!(winner_text(&v), "undecided");
    // Open intervals that overlap anyway are within noise.
    let v = decide(
        spec(false),
        Side::Ranged(5.5, Ci { hi: 19.0, ..open }),
        Side::Ranged(20.0, ci(18.0, 22.0)),
        String::new(),
    );
    assert_eq!(v.by, "tie (within noise)");
}

#[test]
fn a_side_not_measured_gives_no_winner_and_says_so() {
    let v = decide(spec(true), Side::Value(10.0), Side::Missing, String::new());
    assert_eq!(v.winner, None);
    assert!(v.note.contains("microservices: not measured"), "{}", v.note);
}

#[test]
fn a_side_that_failed_outright_loses() {
    let v = decide(
        spec(false),
        Side::Failed("met the SLO at no tested rate"),
        Side::Value(300.0),
        String::new(),
    );
    assert_eq!(v.winner, Some(Arch::Micro));
    assert_eq!(v.monolith, None);
}
