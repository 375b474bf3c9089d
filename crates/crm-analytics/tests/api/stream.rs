use std::time::Duration;

use crm_core::Role;
use crm_http::metrics::Metrics;
use crm_testkit::server::Client;
use serde_json::{Value, json};

use crate::{id, opportunity, spawn};

/// Opens `GET /analytics/stream` as `client`; the response's headers have arrived, so the
/// subscription is in place.
async fn open(client: &Client) -> reqwest::Response {
    let res = reqwest::Client::new()
        .get(format!("{}/analytics/stream", client.base))
        .bearer_auth(client.token.as_deref().unwrap())
        .send()
        .await
        .expect("stream opened");
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    res
}

/// The first event (not a comment) of the stream: its name and data, within 10 s.
async fn first_event(res: &mut reqwest::Response) -> (String, Value) {
    let read = async {
        let mut buf = String::new();
        loop {
            let chunk = res
                .chunk()
                .await
                .expect("stream read")
                .expect("stream still open");
            buf.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    return (event, serde_json::from_str(&data).expect("data is JSON"));
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an event within 10 s")
}

#[tokio::test]
async fn the_stream_delivers_an_applied_event_to_its_tenant_only() {
    let app = spawn().await;
    let viewer = app.server.new_tenant(Role::Viewer);
    let other = app.server.new_tenant(Role::Viewer);
    let (mut mine, mut theirs) = (open(&viewer).await, open(&other).await);

    let event = opportunity(&viewer.actor, "stage_changed", id(), 2, json!({}));
    app.apply(&event).await;
    let (name, data) = first_event(&mut mine).await;
    assert_eq!(name, "opportunity.stage_changed");
    assert_eq!(data["event_id"], json!(event.event_id));
    assert_eq!(data["event"], "opportunity.stage_changed");
    assert_eq!(data["record_id"], json!(event.record_id));
    let at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(data["occurred_at"].clone()).unwrap();
    assert_eq!(at, event.occurred_at);
    assert!(data.get("tenant_id").is_none());

    // The other tenant's first event is its own, not the one above.
    let own = opportunity(&other.actor, "created", id(), 1, json!({}));
    app.apply(&own).await;
    let (_, data) = first_event(&mut theirs).await;
    assert_eq!(data["event_id"], json!(own.event_id));
}

#[tokio::test]
async fn lag_is_measured_from_occurrence_to_projection() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    for _ in 0..3 {
        let mut e = opportunity(&rep.actor, "created", id(), 1, json!({}));
        e.occurred_at -= chrono::Duration::seconds(2);
        app.apply(&e).await;
    }
    let lag = rep.get("/analytics/lag").await.expect(200);
    assert_eq!(lag["count"], 3);
    let p50 = lag["p50_ms"].as_f64().unwrap();
    assert!((2000.0..2000.0 * 1.04 + 1000.0).contains(&p50), "{lag}");
    assert!(lag["max_ms"].as_f64().unwrap() >= lag["p99_ms"].as_f64().unwrap());
    let (count, p50_ms, _) = app.svc.lag_snapshot();
    assert_eq!((count, p50_ms), (3, p50));

    let metrics = Metrics::new();
    app.svc.track_metrics(&metrics);
    let text = metrics.render().await;
    assert!(text.contains("crm_analytics_events_projected 3"), "{text}");
    assert!(
        text.contains("crm_analytics_projection_lag_p99_microseconds"),
        "{text}"
    );
}
