//! Distributed load for real: a monolith (with its private PostgreSQL), two
//! `crm-bench load-worker` processes on 127.0.0.1 and the local engine share one open-loop
//! point on a common clock. The merged counts are what the server counted; a worker killed
//! mid-run is named and its share stays offered but missing; an unreachable worker is
//! refused before anything runs. (The merge property itself — merged percentiles equal one
//! histogram of all samples — is tested in crm-load's tests/load/merge.rs.)

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crm_bench::distributed::{self, Assignment, fleet::Fleet};
use crm_bench::lifecycle;
use crm_bench::runtime::Deployment;
use crm_bench::topology::{Arch, RuntimeKind};
use crm_bench::workload::{CrmWorkload, acks::Acks};
use crm_load::{OpenLoopConfig, Schedule, Target};

/// A `crm-bench load-worker` this test started; killed (by its pid) when dropped.
struct Worker {
    child: Child,
    addr: String,
}

impl Worker {
    fn start() -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crm-bench"))
            .args(["load-worker", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a load worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
        Worker { child, addr }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Requests the server answered on the routes of the test's mix (the workers' own list
/// requests, filling their pools, are on other routes).
async fn served(d: &Deployment) -> u64 {
    let text = reqwest::get(format!("{}/metrics", d.public_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |l: &&str| {
        l.starts_with("crm_http_requests_total{")
            && (l.contains(r#"method="POST",route="/api/v1/companies","#)
                || l.contains(r#"method="GET",route="/api/v1/companies/{id}","#))
    };
    let n: u64 = text
        .lines()
        .filter(counted)
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    n
}

/// One point at `rate` shared by the local engine and `workers`, as `crm-bench run` does
/// it; `during` runs while the load goes on.
async fn point(
    d: &Deployment,
    token: &str,
    workers: &[String],
    rate: f64,
    tag: &str,
    during: impl std::future::Future<Output = ()>,
) -> (distributed::fleet::Merged, Arc<Acks>) {
    let mix = BTreeMap::from([("create_company".into(), 1.0), ("get_company".into(), 2.0)]);
    let acks = Arc::new(Acks::default());
    let workload = CrmWorkload::new(&mix, token, tag, acks.clone()).unwrap();
    workload.prepare(&d.public_url).await.unwrap();
    let share = rate / (workers.len() + 1) as f64;
    let schedule = |i: u64| Schedule::poisson(share, Duration::from_secs(4), 7 + i);
    let mut c = OpenLoopConfig::new(schedule(0));
    c.connections = 4;
    c.start_at = Some(distributed::fleet::start_at());
    let local = Assignment {
        target: d.public_url.clone(),
        token: token.to_owned(),
        tag: tag.to_owned(),
        mix,
        config: c.clone(),
    };
    let fleet = Fleet::start(workers, &local, share, schedule);
    let target = Target::parse(&d.public_url).unwrap();
    let run = crm_load::start_open_loop(&target, c, Arc::new(workload))
        .await
        .unwrap();
    during.await;
    let results = run.wait().await.unwrap();
    (fleet.finish(results, &acks).await, acks)
}

async fn shared_and_lost(d: Deployment) {
    let token = lifecycle::admin_token(&d).await.unwrap();
    let mut w = [Worker::start(), Worker::start()];
    let addrs: Vec<String> = w.iter().map(|w| w.addr.clone()).collect();
    distributed::check_workers(&addrs)
        .await
        .expect("both answer");

    // Three engines, 20 req/s each, for 4 s.
    let before = served(&d).await;
    let (m, acks) = point(&d, &token, &addrs, 60.0, "dist1", async {}).await;
    let after = served(&d).await;
    assert!(m.lost.is_empty(), "{:?}", m.lost);
    let r = &m.results;
    assert_eq!(r.totals.errors.total(), 0, "{:?}", r.totals.errors);
    assert_eq!(r.totals.requests, after - before, "the server's count");
    let engines: Vec<&str> = m.sources.iter().map(|s| s.engine.as_str()).collect();
    assert_eq!(engines, ["local", addrs[0].as_str(), addrs[1].as_str()]);
    assert_eq!(
        r.totals.requests,
        m.sources.iter().map(|s| s.requests).sum::<u64>()
    );
    assert!(m.sources.iter().all(|s| s.requests > 40), "{:?}", m.sources);
    assert_eq!(r.totals.corrected_histogram.count(), r.totals.requests);
    assert!((r.offered_rate.unwrap() - 60.0).abs() < 15.0, "{r:?}");
    // The workers' acknowledged writes came back for the reconciliation.
    let creates = r.op("create_company").unwrap().ok;
    assert_eq!(acks.all_created().len() as u64, creates);

    // Worker 2 dies 1.5 s into the next point: named, and its share missing.
    let dead = addrs[1].clone();
    let kill = async {
        tokio::time::sleep(distributed::fleet::LEAD + Duration::from_millis(1500)).await;
        w[1].kill();
    };
    let (m, _) = point(&d, &token, &addrs, 60.0, "dist2", kill).await;
    assert_eq!(m.lost.len(), 1, "{:?}", m.lost);
    assert!(
        m.lost[0].contains(&dead) && m.lost[0].contains("missing"),
        "{}",
        m.lost[0]
    );
    let lost = &m.sources[2];
    assert_eq!(
        (lost.engine.as_str(), lost.achieved_rps),
        (dead.as_str(), None)
    );
    assert!(
        lost.error.as_deref().unwrap().contains("disconnected"),
        "{lost:?}"
    );
    let (offered, achieved) = (m.results.offered_rate.unwrap(), m.results.achieved_rate);
    assert!(offered > 45.0, "the lost share stays offered: {offered}");
    assert!(
        achieved < offered * 0.8,
        "and is missing: {achieved} of {offered}"
    );

    // A dead worker is refused before a run, by its address.
    let err = distributed::check_workers(std::slice::from_ref(&dead))
        .await
        .unwrap_err();
    let shown = format!("{err:#}");
    assert!(
        shown.contains(&dead) && shown.contains("unreachable"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_a_point_and_a_lost_one_is_named_with_its_missing_load() {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let topology = crm_bench::testing::topology(Arch::Monolith, RuntimeKind::Process);
    let d = lifecycle::up(&env, &topology).await.expect("up").deployment;
    let outcome = tokio::spawn(shared_and_lost(d)).await;
    lifecycle::down(&env).await.expect("down");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
