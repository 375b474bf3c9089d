//! Checks of a deployment against the seeded [`Truth`]: the analytics routes and the
//! record counts, through the public API.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::Client;
use super::truth::Truth;
use crate::runtime::Deployment;

/// Compares one route's answer with the truth; a difference as a sentence.
async fn compare<T>(client: &Client, path: &str, expected: &T) -> anyhow::Result<Option<String>>
where
    T: PartialEq + Serialize + serde::de::DeserializeOwned,
{
    let body = client.get(path).await?;
    let actual: T = serde_json::from_value(body.clone())
        .map_err(|e| anyhow::anyhow!("{path} answered an unexpected shape ({e}): {body}"))?;
    Ok((actual != *expected).then(|| {
        let show = |v: &T| {
            let s = serde_json::to_string(v).unwrap_or_default();
            s.chars().take(3000).collect::<String>()
        };
        format!("{path}: expected {}, got {}", show(expected), show(&actual))
    }))
}

/// The analytics routes whose answers differ from the truth (empty: they all agree).
pub async fn check_analytics(d: &Deployment, truth: &Truth) -> anyhow::Result<Vec<String>> {
    let client = Client::login(d).await?;
    check_with(&client, truth).await
}

pub(crate) async fn check_with(client: &Client, truth: &Truth) -> anyhow::Result<Vec<String>> {
    let mut diffs = Vec::new();
    diffs.extend(compare(client, "/analytics/totals", &truth.totals).await?);
    diffs.extend(compare(client, "/analytics/pipeline", &truth.pipeline).await?);
    diffs.extend(compare(client, "/analytics/forecast?period=month", &truth.forecast).await?);
    diffs.extend(compare(client, "/analytics/win-rate", &truth.win_rate).await?);
    diffs.extend(compare(client, "/analytics/funnel", &truth.funnel).await?);
    Ok(diffs)
}

/// Waits until the analytics routes agree with the truth (their projections are fed by
/// events, so after an API seeding they catch up); the differences left at `timeout`.
pub async fn wait_for_analytics(
    d: &Deployment,
    truth: &Truth,
    timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    let client = Client::login(d).await?;
    wait_with(&client, truth, timeout).await
}

pub(crate) async fn wait_with(
    client: &Client,
    truth: &Truth,
    timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    loop {
        let diffs = check_with(client, truth).await?;
        if diffs.is_empty() || started.elapsed() > timeout {
            return Ok(diffs);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The record kinds whose `GET /{resource}?count=true` differs from the truth.
pub async fn check_counts(d: &Deployment, truth: &Truth) -> anyhow::Result<Vec<String>> {
    let client = Client::login(d).await?;
    let mut diffs = Vec::new();
    for kind in [
        "users",
        "companies",
        "contacts",
        "leads",
        "opportunities",
        "activities",
    ] {
        let n = client.count(kind).await?;
        if n != truth.counts[kind] {
            diffs.push(format!(
                "{kind}: expected {}, the API counts {n}",
                truth.counts[kind]
            ));
        }
    }
    Ok(diffs)
}
