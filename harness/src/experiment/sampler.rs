//! Resource sampling during a load run: every instance's CPU seconds and memory, sampled
//! from the runtime (/proc or `docker stats`) every half second, reduced to CPU used and
//! peak memory over the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::results::InstanceUsage;
use crate::runtime::{Deployment, ResourceSample, Runtime};

/// A sampler running in the background until [`Sampler::finish`].
pub struct Sampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<Vec<ResourceSample>>>,
}

impl Sampler {
    pub fn start(rt: Arc<dyn Runtime>, d: Deployment, every: Duration) -> Sampler {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut all = Vec::new();
            loop {
                if let Ok(s) = rt.sample(&d).await {
                    all.push(s);
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => {
                        if let Ok(s) = rt.sample(&d).await {
                            all.push(s);
                        }
                        return all;
                    }
                }
            }
        });
        Sampler { stop, task }
    }

    /// Stops sampling and reduces: CPU seconds used between the first and last sample of
    /// each instance (a restarted process starts from zero again: its increments are added
    /// up), and the highest memory seen.
    pub async fn finish(self) -> Vec<InstanceUsage> {
        let _ = self.stop.send(true);
        let samples = self.task.await.unwrap_or_default();
        reduce(&samples)
    }
}

pub fn reduce(samples: &[Vec<ResourceSample>]) -> Vec<InstanceUsage> {
    // The highest counter seen so far of each instance, and whose it was.
    let mut last: BTreeMap<&str, (f64, Option<u32>)> = BTreeMap::new();
    let mut usage: BTreeMap<&str, InstanceUsage> = BTreeMap::new();
    for round in samples {
        for s in round {
            let u = usage.entry(&s.instance).or_insert_with(|| InstanceUsage {
                instance: s.instance.clone(),
                ..Default::default()
            });
            let mut high = s.cpu_seconds;
            if let Some(&(prev, process)) = last.get(s.instance.as_str()) {
                if s.cpu_seconds >= prev {
                    u.cpu_s += s.cpu_seconds - prev;
                } else if s.process.is_some() && s.process == process {
                    // The same process: a dip in the reading, not in the counter.
                    high = prev;
                } else {
                    // A counter that went down belongs to a new process: count it from zero.
                    u.cpu_s += s.cpu_seconds;
                }
            }
            last.insert(&s.instance, (high, s.process));
            u.peak_rss_bytes = u.peak_rss_bytes.max(s.rss_bytes);
        }
    }
    usage.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(i: &str, cpu: f64, rss: u64) -> ResourceSample {
        ResourceSample {
            instance: i.into(),
            at: chrono::Utc::now(),
            cpu_seconds: cpu,
            rss_bytes: rss,
            process: None,
        }
    }

    fn of(process: u32, cpu: f64) -> ResourceSample {
        ResourceSample {
            process: Some(process),
            ..s("postgres", cpu, 1)
        }
    }

    #[test]
    fn cpu_is_the_increase_and_a_restart_counts_from_zero() {
        let rounds = vec![
            vec![s("a", 10.0, 100), s("b", 1.0, 5)],
            vec![s("a", 12.0, 300), s("b", 1.5, 5)],
            vec![s("a", 0.5, 50), s("b", 2.0, 7)],
        ];
        let u = reduce(&rounds);
        assert_eq!(u.len(), 2);
        assert!((u[0].cpu_s - 2.5).abs() < 1e-9, "{:?}", u[0]);
        assert_eq!(u[0].peak_rss_bytes, 300);
        assert!((u[1].cpu_s - 1.0).abs() < 1e-9);
        assert_eq!(u[1].peak_rss_bytes, 7);
    }

    #[test]
    fn a_dip_under_the_same_process_adds_nothing_and_a_new_pid_counts_from_zero() {
        // 100 s of CPU so far; a backend with 40 s is reaped between two reads (the
        // reading dips to 60), then shows in the postmaster's cutime; then a restart.
        let rounds = vec![
            vec![of(7, 100.0)],
            vec![of(7, 60.0)],
            vec![of(7, 101.0)],
            vec![of(8, 0.5)],
            vec![of(8, 2.0)],
        ];
        let u = reduce(&rounds);
        assert!((u[0].cpu_s - 3.0).abs() < 1e-9, "{:?}", u[0]);
    }
}
