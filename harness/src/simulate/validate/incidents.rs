//! The replays beyond the sweeps: each scale step (replicas and quotas, saturated), each
//! fault window (the unaffected operations' p99 during it) and the consistency lag.

use super::{Ctx, TARGET_P99, TARGET_RATE, busiest, q};
use crate::results::Experiment;
use crate::simulate::replay;

impl Ctx<'_> {
    pub(super) fn scale(&mut self, sc: &crate::results::Scale) {
        let users = replay::scale_connections(self.results, &sc.name, &sc.service)
            .unwrap_or(self.load.connections);
        for p in &sc.points {
            let s = {
                let known = self.known();
                replay::scale_point(
                    self.run.arch,
                    replay::ScaleStep {
                        service: &sc.service,
                        replicas: p.replicas,
                        cpus: sc.cpus_per_replica,
                        users,
                    },
                    &p.run,
                    self.cores,
                    &known,
                )
            };
            let what = format!("{} x{}", sc.name, p.replicas);
            let Some(out) = self.sim(&what, s) else {
                continue;
            };
            let at = format!("{} replicas", p.replicas);
            let util = busiest(&out);
            self.row(
                &sc.name,
                at.clone(),
                0.0,
                "achieved rate",
                "req/s",
                Some(p.throughput_rps),
                Some(out.total.achieved_rps),
                false,
                util,
                Some(TARGET_RATE),
            );
            self.row(
                &sc.name,
                at,
                0.0,
                "p99",
                "µs",
                Some(p.p99_us as f64),
                q(&out.total, 0.99),
                false,
                util,
                Some(TARGET_P99),
            );
        }
    }

    pub(super) fn fault(&mut self, f: &crate::results::Fault) {
        let delay = replay::fault_delay_ms(self.results, &f.name).unwrap_or(0.0);
        let has = |p: &str| {
            self.calibration()
                .architecture(&self.run.arch.to_string())
                .is_some_and(|a| a.processes.contains_key(p))
        };
        let s = {
            let known = self.known();
            replay::fault(self.run.arch, f, self.load, self.cores, delay, &known, &has)
        };
        let s = match s {
            Ok(s) => s,
            Err(why) => {
                self.notes
                    .push(format!("{} {}: not replayed: {why}", self.run.arch, f.name));
                return;
            }
        };
        let Some(out) = self.sim(&f.name, Some(s)) else {
            return;
        };
        let mut merged = out.total.latency_us.clone();
        merged.reset();
        for op in &f.unaffected_during.ops {
            if let Some(o) = out.ops.get(op) {
                let _ = merged.add(&o.latency_us);
            }
        }
        let predicted = (!merged.is_empty()).then(|| merged.value_at_quantile(0.99) as f64);
        let measured =
            (f.unaffected_during.requests > 0).then_some(f.unaffected_during.p99_us as f64);
        self.row(
            &f.name,
            format!("{} {}", f.action, f.target),
            f.run.offered_rps,
            "unaffected p99 during the fault",
            "µs",
            measured,
            predicted,
            false,
            busiest(&out),
            Some(TARGET_P99),
        );
    }

    pub(super) fn consistency(&mut self) {
        let Some((rate, out)) = &self.lowest else {
            return;
        };
        let rate = *rate;
        let predicted = (!out.lag_us.is_empty()).then(|| out.lag_us.value_at_quantile(0.5) as f64);
        let run = self.run;
        for e in &run.experiments {
            let Experiment::Consistency(c) = e else {
                continue;
            };
            let measured = match &c.projection_lag {
                Some(l) if l.events > 0 => Some(l.p50_ms * 1000.0),
                _ => (c.lag_samples > 0).then_some(c.lag.p50_us as f64),
            };
            let name = c.name.clone();
            self.row(
                &name,
                format!("model at {rate} req/s"),
                rate,
                "consistency lag p50",
                "µs",
                measured,
                predicted,
                false,
                None,
                None,
            );
        }
    }
}
