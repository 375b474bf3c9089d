//! Webhooks: secrets shown once, signed deliveries to a real receiver, the delivery log,
//! retries and redelivery, validation and roles.

use std::time::Duration;

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crm_core::Role;

use crate::server::Client;

use super::receiver::Receiver;
use super::{Check, SETTLE, Suite, check, count, eventually, fields, id, problem, status};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(a_webhook_shows_its_secret_once_and_signs_each_delivery),
    check!(a_failed_delivery_is_logged_retried_and_can_be_redelivered),
    check!(bad_webhooks_are_refused_by_field_and_reps_cannot_create_them),
];

/// The first retry comes after the retry base delay (30 s ±20% in the monolith's defaults).
const RETRY: Duration = Duration::from_secs(60);

async fn webhook(c: &Client, url: &str, events: &[&str]) -> anyhow::Result<Value> {
    status(
        c.post("/webhooks", &json!({"url": url, "events": events}))
            .await,
        201,
    )
    .context("create webhook")
}

/// Waits until the webhook's newest delivery satisfies `ok`; returns it with its attempts.
async fn delivery_when(
    c: &Client,
    webhook_id: &str,
    timeout: Duration,
    ok: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let list = super::eventually_get(
        c,
        &format!("/webhooks/{webhook_id}/deliveries"),
        timeout,
        |l| ok(&l["data"][0]),
    )
    .await?;
    status(
        c.get(&format!("/webhook-deliveries/{}", id(&list["data"][0])))
            .await,
        200,
    )
}

fn time(v: &Value) -> anyhow::Result<DateTime<Utc>> {
    v.as_str()
        .context("a timestamp")?
        .parse()
        .with_context(|| format!("timestamp {v}"))
}

async fn a_webhook_shows_its_secret_once_and_signs_each_delivery(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let rx = Receiver::start(&[]).await?;
    let created = webhook(&c, &rx.url, &["company.*"]).await?;
    let secret = created["secret"]
        .as_str()
        .context("the secret, once")?
        .to_owned();
    ensure!(
        secret.len() == 64
            && created["secret_prefix"] == secret[..6]
            && created["active"] == true
            && created["events"] == json!(["company.*"]),
        "created: {created}"
    );
    let wid = id(&created);
    let read = status(c.get(&format!("/webhooks/{wid}")).await, 200)?;
    let listed = status(c.get("/webhooks").await, 200)?;
    for w in [&read, &listed["data"][0]] {
        ensure!(
            w.get("secret").is_none() && w["secret_prefix"] == secret[..6],
            "later reads show only the prefix: {w}"
        );
    }

    status(
        c.post("/contacts", &json!({"first_name": "Not subscribed"}))
            .await,
        201,
    )?;
    let co = status(c.post("/companies", &json!({"name": "Hooked"})).await, 201)?;
    let d = delivery_when(&c, &wid, SETTLE, |d| d["status"] == "succeeded").await?;
    let hits = rx.hits();
    let log = status(c.get(&format!("/webhooks/{wid}/deliveries")).await, 200)?;
    ensure!(
        hits.len() == 1 && log["data"].as_array().map(Vec::len) == Some(1),
        "exactly one delivery: {} hits, log {log}",
        hits.len()
    );
    let hit = &hits[0];
    ensure!(hit.signed_with(&secret), "the signature verifies");
    ensure!(
        hit.header("x-crm-event") == "company.created"
            && hit.header("x-crm-delivery") == id(&d)
            && hit.header("content-type").starts_with("application/json"),
        "headers: {:?}",
        hit.headers
    );
    let p = hit.json();
    ensure!(
        p["event_id"].is_string()
            && p["event"] == "company.created"
            && p["object"] == "company"
            && p["record_id"] == co["id"]
            && p["tenant_id"] == json!(c.actor.tenant_id)
            && time(&p["occurred_at"]).is_ok()
            && p["data"]["id"] == co["id"]
            && p["data"]["name"] == "Hooked",
        "payload: {p}"
    );
    ensure!(d["payload"] == p, "the log holds what was sent");
    ensure!(
        d["event"] == "company.created"
            && d["attempts"] == 1
            && d["last_status_code"] == 204
            && d["next_attempt_at"].is_null()
            && d["delivered_at"].is_string()
            && d["attempt_log"].as_array().map(Vec::len) == Some(1)
            && d["attempt_log"][0]["status_code"] == 204,
        "logged as succeeded: {d}"
    );

    let rotated = status(
        c.post(&format!("/webhooks/{wid}/rotate-secret"), &json!({}))
            .await,
        200,
    )?;
    let new = rotated["secret"]
        .as_str()
        .context("the new secret")?
        .to_owned();
    ensure!(new != secret && new.len() == 64, "a new secret");
    let read = status(c.get(&format!("/webhooks/{wid}")).await, 200)?;
    ensure!(
        read.get("secret").is_none() && read["secret_prefix"] == new[..6],
        "read after rotation: {read}"
    );
    let ping = status(
        c.post(&format!("/webhooks/{wid}/ping"), &json!({})).await,
        202,
    )?;
    ensure!(ping["event"] == "webhook.ping", "ping: {ping}");
    let hits = eventually("the ping", SETTLE, || async {
        let hits = rx.hits();
        Ok((hits.len() >= 2).then_some(hits))
    })
    .await?;
    ensure!(
        hits[1].header("x-crm-event") == "webhook.ping"
            && hits[1].signed_with(&new)
            && !hits[1].signed_with(&secret),
        "the ping is signed with the new secret"
    );
    Ok(())
}

async fn a_failed_delivery_is_logged_retried_and_can_be_redelivered(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let rx = Receiver::start(&[500]).await?;
    let created = webhook(&c, &rx.url, &["company.created"]).await?;
    let (wid, secret) = (id(&created), created["secret"].clone());
    let secret = secret.as_str().unwrap_or_default();
    status(c.post("/companies", &json!({"name": "Flaky"})).await, 201)?;

    let d = delivery_when(&c, &wid, SETTLE, |d| d["attempts"].as_i64() >= Some(1)).await?;
    let path = format!("/webhook-deliveries/{}", id(&d));
    // With a short retry delay the retry may already be done; with the default one it
    // is pending for a while, and that state is checked here.
    if d["status"] == "pending" && d["attempts"] == 1 {
        ensure!(
            d["last_status_code"] == 500
                && d["attempt_log"][0]["attempt"] == 1
                && d["attempt_log"][0]["status_code"] == 500,
            "the failed attempt is logged: {d}"
        );
        let next = time(&d["next_attempt_at"])?;
        ensure!(
            next > time(&d["attempt_log"][0]["at"])? + chrono::Duration::seconds(1)
                && next > Utc::now(),
            "a retry is due later: {d}"
        );
        let r = c.post(&format!("{path}/redeliver"), &json!({})).await;
        problem(&r, 409, "invalid-transition").context("redeliver a pending delivery")?;
        let same = status(c.get(&path).await, 200)?;
        ensure!(
            same["attempts"] == 1 && same["next_attempt_at"] == d["next_attempt_at"],
            "the refused redelivery changed nothing: {same}"
        );
    }

    // The retry (after the backoff) succeeds.
    let d = delivery_when(&c, &wid, RETRY, |d| d["status"] == "succeeded").await?;
    ensure!(
        d["attempts"] == 2
            && d["attempt_log"][0]["status_code"] == 500
            && d["attempt_log"][1]["status_code"] == 204,
        "retried once: {d}"
    );
    let again = status(c.post(&format!("{path}/redeliver"), &json!({})).await, 202)?;
    ensure!(again["status"] == "pending", "redelivering: {again}");
    let d = delivery_when(&c, &wid, SETTLE, |d| {
        d["status"] == "succeeded" && d["attempts"] == 3
    })
    .await?;
    ensure!(d["attempt_log"].as_array().map(Vec::len) == Some(3), "{d}");

    let hits = rx.hits();
    let answered: Vec<u16> = hits.iter().map(|h| h.answered).collect();
    ensure!(answered == [500, 204, 204], "receiver saw {answered:?}");
    ensure!(
        hits.iter().all(|h| h.signed_with(secret)
            && h.body == hits[0].body
            && h.header("x-crm-delivery") == id(&d)),
        "every attempt sends the same signed delivery"
    );
    ensure!(
        c.get(&format!("/webhooks/{wid}/deliveries")).await.body["data"]
            .as_array()
            .map(Vec::len)
            == Some(1),
        "still one delivery"
    );
    Ok(())
}

async fn bad_webhooks_are_refused_by_field_and_reps_cannot_create_them(
    s: &Suite,
) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let c = &session.admin;
    for (body, named) in [
        (
            json!({"url": "ftp://example.com/x", "events": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "example.com/x", "events": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://user:pw@example.com/", "events": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            vec!["events"],
        ),
        (
            json!({"url": "https://example.com/", "events": ["company.created", "Company.Created", "*.created"]}),
            vec!["events[1]", "events[2]"],
        ),
        (
            json!({"url": "https://example.com/", "events": ["*"], "secret": "too-short"}),
            vec!["secret"],
        ),
        (json!({}), vec!["url", "events"]),
    ] {
        let r = c.post("/webhooks", &body).await;
        problem(&r, 422, "validation").with_context(|| body.to_string())?;
        ensure!(fields(&r) == named, "{body}: fields {:?}", fields(&r));
    }
    ensure!(count(c, "webhooks").await? == 0, "nothing written");

    let rep = session.user(Role::Rep).await?;
    let r = rep
        .post(
            "/webhooks",
            &json!({"url": "https://example.com/", "events": ["*"]}),
        )
        .await;
    problem(&r, 403, "forbidden")?;
    ensure!(count(c, "webhooks").await? == 0, "the rep wrote nothing");

    let w = webhook(c, "https://example.com/hook", &["*"]).await?;
    let path = format!("/webhooks/{}", id(&w));
    problem(
        &rep.post(&format!("{path}/rotate-secret"), &json!({})).await,
        403,
        "forbidden",
    )?;
    let r = c
        .patch(&path, 1, &json!({"url": "nope", "events": ["Bad"]}))
        .await;
    problem(&r, 422, "validation")?;
    ensure!(
        fields(&r) == ["url", "events[0]"],
        "fields {:?}",
        fields(&r)
    );
    let now = status(c.get(&path).await, 200)?;
    ensure!(
        now["version"] == 1 && now["url"] == "https://example.com/hook",
        "unchanged: {now}"
    );
    Ok(())
}
