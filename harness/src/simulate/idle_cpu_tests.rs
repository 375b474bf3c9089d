//! The CPU wake's least-squares fit on exact points.

use super::*;

#[test]
fn a_known_wake_is_recovered_from_exact_points() {
    let (b, a, c, tau_s, q) = (0.02, 1.2e-3, 1.0e-3, 2e-3, 1.0);
    let pts: Vec<Point> = [20.0, 50.0, 100.0, 200.0, 300.0]
        .into_iter()
        .map(|x: f64| {
            // The utilisation that the law itself gives (a fixed point).
            let mut u = 0.0;
            for _ in 0..200 {
                u = b + x * (a + c * (1.0 - u) / (1.0 + x * q * tau_s));
            }
            Point {
                x,
                cores: u,
                u,
                v: x * q,
            }
        })
        .collect();
    let f = fit(&pts, tau_s).expect("fits");
    assert!((f.b - b).abs() < 1e-9, "{f:?}");
    assert!((f.a - a).abs() < 1e-9, "{f:?}");
    assert!((f.c - c).abs() < 1e-9, "{f:?}");
    // A straight line through the same points has no wake to find.
    let line: Vec<Point> = pts
        .iter()
        .map(|p| Point {
            cores: b + p.x * a,
            ..*p
        })
        .collect();
    let g = fit(&line, tau_s);
    assert!(g.is_none_or(|g| g.c.abs() < 1e-9), "{g:?}");
}
