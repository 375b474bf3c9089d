//! A named service's replicas: least-outstanding-requests balancing, active health checks
//! and passive failure accounting. Shared by [`super::ServiceClient`] and the gateway's raw
//! proxy, so both see the same in-flight counts and the same health.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Failed active checks (or passive reports in a row) before a replica gets no traffic.
const UNHEALTHY_AFTER: u32 = 2;
/// How long passive failures keep a replica out when no health check brings it back sooner.
const EJECTION: Duration = Duration::from_secs(5);
/// Longest wait for one `/readyz` answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

struct Replica {
    url: String,
    in_flight: AtomicUsize,
    /// Set by active checks: false after [`UNHEALTHY_AFTER`] failures, true after a success.
    checked_healthy: AtomicBool,
    check_failures: AtomicU32,
    /// Failures reported by callers, in a row.
    passive_failures: AtomicU32,
    /// Out of rotation until then, after passive failures.
    ejected_until: Mutex<Option<Instant>>,
}

impl Replica {
    fn new(url: String) -> Self {
        Replica {
            url,
            in_flight: AtomicUsize::new(0),
            checked_healthy: AtomicBool::new(true),
            check_failures: AtomicU32::new(0),
            passive_failures: AtomicU32::new(0),
            ejected_until: Mutex::new(None),
        }
    }

    fn healthy(&self) -> bool {
        self.checked_healthy.load(Ordering::Relaxed)
            && self
                .ejected_until
                .lock()
                .expect("ejection lock")
                .is_none_or(|t| Instant::now() >= t)
    }

    /// Records a readiness check; true when it brought an unhealthy or ejected replica back.
    fn checked(&self, ok: bool) -> bool {
        if ok {
            self.check_failures.store(0, Ordering::Relaxed);
            self.passive_failures.store(0, Ordering::Relaxed);
            let was_ejected = self
                .ejected_until
                .lock()
                .expect("ejection lock")
                .take()
                .is_some();
            let was_down = !self.checked_healthy.swap(true, Ordering::Relaxed);
            if was_down {
                tracing::info!(replica = %self.url, "replica healthy again");
            }
            return was_down || was_ejected;
        } else if self.check_failures.fetch_add(1, Ordering::Relaxed) + 1 >= UNHEALTHY_AFTER
            && self.checked_healthy.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(replica = %self.url, "replica unhealthy: readiness checks failing");
        }
        false
    }

    fn reported(&self, ok: bool) {
        if ok {
            self.passive_failures.store(0, Ordering::Relaxed);
        } else if self.passive_failures.fetch_add(1, Ordering::Relaxed) + 1 >= UNHEALTHY_AFTER {
            *self.ejected_until.lock().expect("ejection lock") = Some(Instant::now() + EJECTION);
        }
    }
}

/// One replica as the admin view shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReplicaStatus {
    pub url: String,
    pub healthy: bool,
    pub in_flight: usize,
}

/// A service's replicas, e.g. `customers` at `http://127.0.0.1:7001` and `:7011`.
pub struct Upstream {
    name: String,
    replicas: RwLock<Vec<Arc<Replica>>>,
    /// Where the next tie-breaking scan starts: ties go round-robin.
    next: AtomicUsize,
    /// How many times a health check saw a replica come back (breakers start afresh then).
    recoveries: AtomicU64,
    http: reqwest::Client,
}

fn normalise(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

impl Upstream {
    /// A service named `name` (used in errors and logs) with these replica base URLs.
    pub fn new(name: impl Into<String>, replicas: Vec<String>) -> Arc<Upstream> {
        let up = Upstream {
            name: name.into(),
            replicas: RwLock::default(),
            next: AtomicUsize::new(0),
            recoveries: AtomicU64::new(0),
            http: reqwest::Client::builder()
                .timeout(CHECK_TIMEOUT)
                .build()
                .expect("an HTTP client without TLS always builds"),
        };
        up.set_replicas(replicas);
        Arc::new(up)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the replica set. Replicas that remain keep their health and in-flight count;
    /// new ones start healthy (the next check will say otherwise if they are not).
    pub fn set_replicas(&self, urls: Vec<String>) {
        let mut current = self.replicas.write().expect("replicas lock");
        let mut next: Vec<Arc<Replica>> = Vec::with_capacity(urls.len());
        for url in urls.iter().map(|u| normalise(u)) {
            if url.is_empty() || next.iter().any(|r| r.url == url) {
                continue;
            }
            let kept = current.iter().find(|r| r.url == url).cloned();
            next.push(kept.unwrap_or_else(|| Arc::new(Replica::new(url))));
        }
        *current = next;
    }

    /// The replicas, their health and their outstanding requests.
    pub fn replicas(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .read()
            .expect("replicas lock")
            .iter()
            .map(|r| ReplicaStatus {
                url: r.url.clone(),
                healthy: r.healthy(),
                in_flight: r.in_flight.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The healthy replica with the fewest outstanding requests (ties round-robin), counted
    /// as busy until the guard drops. When no replica is healthy, all are candidates:
    /// refusing every request would turn a flapping health check into a full outage, and a
    /// replica that is really down fails fast (and trips the caller's breaker).
    /// `None` only when the service has no replicas at all.
    pub fn pick(&self) -> Option<ReplicaGuard> {
        self.pick_among(None)
    }

    /// [`Upstream::pick`] for a retry: any replica but `failed` (the one the first attempt
    /// went to), whatever its in-flight count or health. `None` when there is no other: a
    /// retry never goes back to the replica that just failed.
    pub fn pick_except(&self, failed: &str) -> Option<ReplicaGuard> {
        self.pick_among(Some(failed))
    }

    fn pick_among(&self, except: Option<&str>) -> Option<ReplicaGuard> {
        let replicas = self.replicas.read().expect("replicas lock");
        let n = replicas.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let all: Vec<&Arc<Replica>> = (0..n)
            .map(|i| &replicas[(start + i) % n])
            .filter(|r| except.is_none_or(|x| r.url != x))
            .collect();
        let healthy: Vec<&Arc<Replica>> = all.iter().copied().filter(|r| r.healthy()).collect();
        let candidates = if healthy.is_empty() { all } else { healthy };
        // `min_by_key` keeps the first of equal minima: the scan's start breaks ties.
        let chosen = candidates
            .into_iter()
            .min_by_key(|r| r.in_flight.load(Ordering::Relaxed))?;
        chosen.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(ReplicaGuard {
            replica: chosen.clone(),
        })
    }

    /// Checks every replica's `GET /readyz` every `every` until the upstream is dropped.
    pub fn spawn_health_checks(self: Arc<Self>, every: Duration) {
        let weak: Weak<Upstream> = Arc::downgrade(&self);
        drop(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(up) = weak.upgrade() else { return };
                up.check_once(every.min(CHECK_TIMEOUT)).await;
            }
        });
    }

    /// One round of readiness checks, all replicas at once.
    pub async fn check_once(&self, timeout: Duration) {
        let replicas = self.replicas.read().expect("replicas lock").clone();
        let checks = replicas.iter().map(|r| async move {
            let ok = matches!(
                self.http
                    .get(format!("{}/readyz", r.url))
                    .timeout(timeout)
                    .send()
                    .await,
                Ok(res) if res.status().is_success()
            );
            r.checked(ok)
        });
        let back = futures::future::join_all(checks).await;
        if back.into_iter().any(|b| b) {
            self.recoveries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many times a readiness check has seen a replica come back.
    pub fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Relaxed)
    }
}

/// A replica chosen for one request; it counts as in flight until dropped.
pub struct ReplicaGuard {
    replica: Arc<Replica>,
}

impl ReplicaGuard {
    /// The replica's base URL, e.g. `http://127.0.0.1:7001` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.replica.url
    }

    /// Passive accounting: `false` for a failure that says something about the replica
    /// (unreachable, timed out, 502/503/504); failures in a row take it out for a while.
    pub fn report(&self, ok: bool) {
        self.replica.reported(ok);
    }
}

impl Drop for ReplicaGuard {
    fn drop(&mut self) {
        self.replica.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(up: &Upstream, picks: usize) -> Vec<String> {
        (0..picks)
            .map(|_| up.pick().expect("a replica").url().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn least_outstanding_wins_and_ties_rotate() {
        let up = Upstream::new("s", vec!["http://a/".into(), "http://b".into()]);
        let mut seen = urls(&up, 4);
        seen.sort();
        assert_eq!(seen, ["http://a", "http://a", "http://b", "http://b"]);

        let busy = up.pick().unwrap();
        let other = if busy.url() == "http://a" {
            "http://b"
        } else {
            "http://a"
        };
        assert_eq!(
            urls(&up, 3),
            [other, other, other],
            "the idle one, every time"
        );
        drop(busy);
        assert!(up.replicas().iter().all(|r| r.in_flight == 0));
    }

    #[tokio::test]
    async fn passive_failures_eject_and_changes_keep_state() {
        let up = Upstream::new("s", vec!["http://a".into(), "http://b".into()]);
        let mut failures = 0;
        while failures < UNHEALTHY_AFTER {
            let g = up.pick().unwrap();
            if g.url() == "http://a" {
                g.report(false);
                failures += 1;
            }
        }
        assert_eq!(urls(&up, 3), ["http://b"; 3]);
        let held = up.pick().unwrap();
        up.set_replicas(vec!["http://a".into(), "http://c".into()]);
        let view = up.replicas();
        assert_eq!(view.len(), 2);
        assert!(!view[0].healthy, "a keeps its state");
        assert!(view[1].healthy && view[1].url == "http://c");
        drop(held);
        assert_eq!(urls(&up, 2), ["http://c"; 2]);

        up.set_replicas(vec!["http://a".into()]);
        assert_eq!(urls(&up, 1), ["http://a"], "nobody healthy: try anyway");
        up.set_replicas(Vec::new());
        assert!(up.pick().is_none());
    }

    #[tokio::test]
    async fn a_retry_never_goes_back_to_the_replica_that_failed() {
        let up = Upstream::new("s", vec!["http://a".into(), "http://b".into()]);
        for _ in 0..6 {
            let first = up.pick().unwrap();
            let failed = first.url().to_owned();
            // Released before the retry, as the proxy does: by in-flight counts alone the
            // failed replica would be as good a choice as the other.
            drop(first);
            let retry = up.pick_except(&failed).expect("another replica");
            assert_ne!(retry.url(), failed);
        }
        // Even when the only other replica is unhealthy, the retry goes there, not back.
        let mut failures = 0;
        while failures < UNHEALTHY_AFTER {
            let g = up.pick().unwrap();
            if g.url() == "http://b" {
                g.report(false);
                failures += 1;
            }
        }
        assert_eq!(up.pick_except("http://a").unwrap().url(), "http://b");
        up.set_replicas(vec!["http://a".into()]);
        assert!(up.pick_except("http://a").is_none(), "no other: no retry");
    }
}
