//! Noisy neighbour: the interactive mix at a fixed rate, alone, then beside a heavy
//! analytics load; how much the interactive tail latency suffers.

use std::collections::{BTreeMap, BTreeSet};

use super::ArchCtx;
use super::convert;
use super::measure::{Pace, Plan};
use crate::results::{NoisyNeighbour, Window};
use crate::scenario::NoisySpec;

/// The analytics dashboards, the default neighbour.
fn dashboards() -> BTreeMap<String, f64> {
    [
        "analytics_pipeline",
        "analytics_forecast",
        "analytics_win_rate",
        "analytics_funnel",
    ]
    .into_iter()
    .map(|o| (o.to_owned(), 1.0))
    .collect()
}

pub(super) async fn run(ctx: &mut ArchCtx, n: &NoisySpec) -> anyhow::Result<NoisyNeighbour> {
    let (warmup_s, duration_s) = ctx.times(n.warmup_s, n.duration_s);
    // The interactive mix is the scenario's without the neighbour's own operations.
    let neighbour_mix = n.neighbour_mix.clone().unwrap_or_else(dashboards);
    let mut mix = ctx.mix(&n.mix);
    mix.retain(|op, _| !neighbour_mix.contains_key(op));
    anyhow::ensure!(
        !mix.is_empty(),
        "the interactive mix is empty once the neighbour's operations are removed"
    );
    let ops: BTreeSet<String> = mix.keys().cloned().collect();
    let arch = ctx.d.arch;
    let plan = |label: &str| Plan {
        label: format!("{arch} {label}"),
        pace: Pace::Open { rate: n.rate },
        warmup_s,
        duration_s,
        mix: mix.clone(),
        steps: Vec::new(),
        bucket_s: 1.0,
        adaptive: None,
    };
    let windows = || {
        vec![Window {
            label: "warm-up".into(),
            start_s: 0.0,
            end_s: warmup_s,
        }]
    };
    let end = warmup_s + duration_s;

    let alone_plan = plan("interactive alone");
    let alone = ctx.measure(&alone_plan).await?;
    let stats_of = |m: &super::measure::Measured| match &m.log {
        Some(log) => super::intervals::group(log, &ops, &[(warmup_s, end)]),
        None => convert::group_stats(&m.raw, &ops, warmup_s, end),
    };
    let alone_stats = stats_of(&alone);

    let neighbour = ctx
        .start_beside(&neighbour_mix, n.neighbour_rate, end)
        .await?;
    let beside_plan = plan("interactive beside analytics");
    let beside = ctx.measure(&beside_plan).await?;
    let neighbour = neighbour.wait().await?;
    let beside_stats = stats_of(&beside);

    let ratio = if alone_stats.p99_us > 0 {
        beside_stats.p99_us as f64 / alone_stats.p99_us as f64
    } else {
        0.0
    };
    ctx.progress.note(format!(
        "  {}: interactive p99 {:.1} ms alone, {:.1} ms beside the neighbour ({:.0} req/s ok)",
        ctx.d.arch,
        alone_stats.p99_us as f64 / 1000.0,
        beside_stats.p99_us as f64 / 1000.0,
        neighbour.ok_rate
    ));
    // The ratio's interval from the two p99s' (the extremes of one over the other).
    let ratio_ci = match (alone_stats.p99_ci, beside_stats.p99_ci) {
        (Some(a), Some(b)) if a.lo > 0.0 => Some(crate::results::Ci {
            lo: b.lo / a.hi,
            hi: b.hi / a.lo,
            open: b.open,
        }),
        _ => None,
    };
    let (mut run_alone, mut run_beside) = (
        convert::load_run(
            &alone.raw,
            &Default::default(),
            windows(),
            alone.resources.clone(),
        ),
        convert::load_run(
            &beside.raw,
            &Default::default(),
            windows(),
            beside.resources.clone(),
        ),
    );
    alone.annotate(&mut run_alone);
    beside.annotate(&mut run_beside);
    Ok(NoisyNeighbour {
        name: n.name.clone().unwrap_or_else(|| "noisy-neighbour".into()),
        alone: alone_stats,
        beside_neighbour: beside_stats,
        neighbour_rps: neighbour.ok_rate,
        p99_ratio: ratio,
        p99_ratio_ci: ratio_ci,
        run_alone,
        run_beside,
    })
}
