//! Seeding real deployments (process runtime, real PostgreSQL): the same seed gives the same
//! data on either path, and what was seeded the API serves correctly, analytics included.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde_json::Value;

use crm_bench::lifecycle;
use crm_bench::runtime::Deployment;
use crm_bench::seed::plan::Plan;
use crm_bench::seed::{self, Sample, SeedOptions, SeedPath, Size};
use crm_bench::topology::{Arch, RuntimeKind};

/// Brings `arch` up, runs `f` on it and tears it down whatever `f` does (a failed
/// assertion included), then lets the failure through.
async fn with_deployment<F, Fut, T>(arch: Arch, f: F) -> T
where
    F: FnOnce(Deployment) -> Fut,
    Fut: Future<Output = T>,
{
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let up = lifecycle::up(
        &env,
        &crm_bench::testing::topology(arch, RuntimeKind::Process),
    )
    .await
    .expect("up");
    let outcome = AssertUnwindSafe(f(up.deployment)).catch_unwind().await;
    lifecycle::down(&env).await.expect("down");
    match outcome {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn options(seed: u64, path: SeedPath) -> SeedOptions {
    SeedOptions {
        size: Size::Small,
        seed,
        path,
    }
}

async fn get(d: &Deployment, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1{path}", d.public_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.unwrap()
}

/// What a small seed must look like through the public API.
async fn serves_correctly(d: &Deployment, seed: u64) {
    let plan = Plan::new(Size::Small, seed);
    let truth = seed::truth(Size::Small, seed);
    assert_eq!(
        seed::check_counts(d, &truth).await.unwrap(),
        Vec::<String>::new(),
        "counts"
    );
    assert_eq!(
        seed::check_analytics(d, &truth).await.unwrap(),
        Vec::<String>::new(),
        "analytics"
    );
    let token = lifecycle::admin_token(d).await.unwrap();

    // The biggest account, its contacts, and one of them with its company.
    let biggest = (0..plan.sizes.companies)
        .max_by_key(|c| (plan.contacts_of(*c).len(), std::cmp::Reverse(*c)))
        .unwrap();
    let company = plan.company(biggest);
    let big = seed::sample_ids(d, &Sample::BigCompanies, 1).await.unwrap();
    let c = get(d, &token, &format!("/companies/{}", big[0])).await;
    assert_eq!(c["domain"], company.domain.as_str(), "the biggest account");
    assert_eq!(c["name"], company.name.as_str());
    let filter = format!("company_id[eq]:\"{}\"", big[0]);
    let contacts = get(
        d,
        &token,
        &format!("/contacts?count=true&limit=5&filter={}", urlencode(&filter)),
    )
    .await;
    assert_eq!(
        contacts["total"],
        plan.contacts_of(biggest).len() as u64,
        "its contacts"
    );
    let contact_id = contacts["data"][0]["id"].as_str().unwrap();
    let contact = get(d, &token, &format!("/contacts/{contact_id}")).await;
    assert_eq!(contact["company_id"], big[0].to_string().as_str());
    let email = contact["emails"][0].as_str().unwrap();
    assert!(email.ends_with(&format!("@{}", company.domain)), "{email}");

    // The customer 360 view of it.
    let overview = get(d, &token, &format!("/companies/{}/overview", big[0])).await;
    assert_eq!(overview["company"]["domain"], company.domain.as_str());
    assert!(!overview["contacts"].as_array().unwrap().is_empty());
    let open = (0..plan.opportunities())
        .map(|o| plan.opportunity(o))
        .filter(|o| o.company == biggest && o.status() == "open")
        .count();
    let shown = overview["open_opportunities"].as_array().unwrap().len();
    assert!(
        shown == open || (shown > 0 && open > shown),
        "{shown} of {open} open deals"
    );

    // Search finds it by its domain, and the contact by its last name and e-mail.
    let word = company.domain.split('.').next().unwrap();
    let hits = get(d, &token, &format!("/search?q={word}&types=company")).await;
    assert!(
        hits["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == big[0].to_string().as_str()),
        "search for {word}: {hits}"
    );
    let local = email.replace(['@', '.'], " ");
    let hits = get(
        d,
        &token,
        &format!("/search?q={}&types=contact", urlencode(&local)),
    )
    .await;
    assert!(
        hits["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == contact_id),
        "search for {local}: {hits}"
    );

    // Samples are of the kind asked for.
    let working = seed::sample_ids(d, &Sample::Leads(Some("working".into())), 3)
        .await
        .unwrap();
    assert_eq!(working.len(), 3);
    for id in working {
        let lead = get(d, &token, &format!("/leads/{id}")).await;
        assert_eq!(lead["status"], "working");
    }
    let won = seed::sample_ids(d, &Sample::Opportunities(Some("closed_won".into())), 2)
        .await
        .unwrap();
    let opp = get(
        d,
        &token,
        &format!("/opportunities/{}/stage-history", won[0]),
    )
    .await;
    let history = opp["data"].as_array().unwrap();
    assert!(history.len() >= 2, "{opp}");
    assert_eq!(history.last().unwrap()["to_key"], "closed_won");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn seeding_twice_with_the_same_seed_gives_the_same_checksum() {
    let seed_42 = |d: Deployment| async move {
        let report = seed::seed(&d, &options(42, SeedPath::Bulk))
            .await
            .expect("seed");
        // A second seeding of the same tenant is refused and changes nothing.
        let again = seed::seed(&d, &options(42, SeedPath::Bulk)).await;
        let err = again.expect_err("a second seeding").to_string();
        assert!(err.contains("already holds data"), "{err}");
        assert_eq!(seed::checksum(&d).await.unwrap(), report.checksum);
        report
    };
    let (a, b, c) = tokio::join!(
        with_deployment(Arch::Monolith, seed_42),
        with_deployment(Arch::Monolith, seed_42),
        with_deployment(Arch::Monolith, |d: Deployment| async move {
            seed::seed(&d, &options(43, SeedPath::Bulk))
                .await
                .expect("seed")
        }),
    );
    assert_eq!(a.checksum, b.checksum, "same seed, same data");
    assert_eq!(a.rows, b.rows);
    assert_ne!(a.checksum, c.checksum, "another seed, other data");
}

#[tokio::test]
async fn the_bulk_and_the_api_path_give_the_same_data_and_the_api_serves_it() {
    // This seed once caught the API defaulting a conversion's amount differently.
    const SEED: u64 = 42;
    let (bulk, api) = tokio::join!(
        with_deployment(Arch::Monolith, |d: Deployment| async move {
            let r = seed::seed(&d, &options(SEED, SeedPath::Bulk))
                .await
                .expect("bulk");
            serves_correctly(&d, SEED).await;
            r
        }),
        with_deployment(Arch::Monolith, |d: Deployment| async move {
            let r = seed::seed(&d, &options(SEED, SeedPath::Api))
                .await
                .expect("api");
            serves_correctly(&d, SEED).await;
            r
        }),
    );
    assert_eq!(
        bulk.checksum, api.checksum,
        "both paths store the same data"
    );
    for kind in [
        "companies",
        "contacts",
        "leads",
        "opportunities",
        "stage_history",
        "activities",
        "activity_links",
    ] {
        assert_eq!(bulk.rows[kind], api.rows[kind], "{kind}");
    }
}

#[tokio::test]
async fn the_bulk_path_into_the_microservices_serves_through_the_gateway() {
    let (micro, monolith) = tokio::join!(
        with_deployment(Arch::Micro, |d: Deployment| async move {
            let report = seed::seed(&d, &options(11, SeedPath::Bulk))
                .await
                .expect("seed");
            serves_correctly(&d, 11).await;
            report
        }),
        with_deployment(Arch::Monolith, |d: Deployment| async move {
            seed::seed(&d, &options(11, SeedPath::Bulk))
                .await
                .expect("seed")
        }),
    );
    assert_eq!(
        micro.checksum, monolith.checksum,
        "the services' databases hold what the monolith's does"
    );
}
