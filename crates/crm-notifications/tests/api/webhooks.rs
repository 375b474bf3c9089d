use crm_core::Role;
use serde_json::json;

use crate::{create_webhook, id, spawn};

#[tokio::test]
async fn a_webhook_shows_its_secret_once_then_only_its_prefix() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let created = admin
        .post(
            "/webhooks",
            &json!({"url": "https://hooks.example.com/crm", "events": ["company.*", "lead.converted"], "description": "sync"}),
        )
        .await;
    let location = created.header("location").unwrap().to_owned();
    let body = created.expect(201);
    let secret = body["secret"].as_str().expect("the secret, this once");
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["secret_prefix"], secret[..6]);
    assert_eq!(body["active"], true);
    assert_eq!(body["events"], json!(["company.*", "lead.converted"]));
    assert!(location.ends_with(&id(&body)));

    let wid = id(&body);
    let read = admin.get(&format!("/webhooks/{wid}")).await.expect(200);
    assert!(read.get("secret").is_none(), "{read}");
    assert_eq!(read["secret_prefix"], secret[..6]);
    let list = admin.get("/webhooks").await.expect(200);
    assert!(list["data"][0].get("secret").is_none());
    assert_eq!(list["data"][0]["secret_prefix"], secret[..6]);
    let patched = admin
        .patch(&format!("/webhooks/{wid}"), 1, &json!({"active": false}))
        .await
        .expect(200);
    assert!(patched.get("secret").is_none());
    assert_eq!(patched["active"], false);

    // A chosen secret is kept as given; the secret itself is never patchable.
    let chosen = create_webhook(
        &admin,
        "http://127.0.0.1:9/in",
        &["*"],
        json!({"secret": "my-own-secret-1234"}),
    )
    .await;
    assert_eq!(chosen["secret"], "my-own-secret-1234");
    assert_eq!(chosen["secret_prefix"], "my-own");
    let r = admin
        .patch(
            &format!("/webhooks/{}", id(&chosen)),
            1,
            &json!({"secret": "another-secret-456"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (422, "validation"));

    // Batch creation shows each generated secret in its item, and only there.
    let batch = admin
        .post(
            "/webhooks/batch",
            &json!({"mode": "create", "items": [{"url": "https://example.com/b", "events": ["lead.*"]}]}),
        )
        .await
        .expect(200);
    let item = &batch["results"][0]["data"];
    assert_eq!(item["secret"].as_str().map(str::len), Some(64));
    let read = admin
        .get(&format!("/webhooks/{}", id(item)))
        .await
        .expect(200);
    assert!(read.get("secret").is_none());
}

#[tokio::test]
async fn rotating_the_secret_shows_the_new_one_once() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let w = create_webhook(&admin, "https://example.com/h", &["*"], json!({})).await;
    let wid = id(&w);
    let rotated = admin
        .post(&format!("/webhooks/{wid}/rotate-secret"), &json!({}))
        .await
        .expect(200);
    let new = rotated["secret"].as_str().unwrap();
    assert_ne!(new, w["secret"].as_str().unwrap());
    assert_eq!(rotated["version"], 2);
    let read = admin.get(&format!("/webhooks/{wid}")).await.expect(200);
    assert!(read.get("secret").is_none());
    assert_eq!(read["secret_prefix"], new[..6]);
}

#[tokio::test]
async fn bad_urls_and_patterns_are_refused_naming_the_field_and_nothing_is_written() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let long = format!("https://example.com/{}", "a".repeat(2000));
    let cases = [
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
        (json!({"url": "http://", "events": ["*"]}), vec!["url"]),
        (json!({"url": long, "events": ["*"]}), vec!["url"]),
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
    ];
    for (body, fields) in cases {
        let r = admin.post("/webhooks", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        let named: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{body}");
    }
    let too_many: Vec<String> = (0..51)
        .map(|i| format!("o{}.created", "x".repeat(i)))
        .collect();
    let r = admin
        .post(
            "/webhooks",
            &json!({"url": "https://example.com/", "events": too_many}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "events");
    let r = admin
        .post("/webhooks", &json!({"url": 5, "events": ["*"]}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["errors"][0]["field"].as_str()),
        (422, Some("url"))
    );
    assert_eq!(
        admin.get("/webhooks?count=true").await.expect(200)["total"],
        0
    );

    let w = create_webhook(&admin, "https://example.com/", &["*"], json!({})).await;
    let r = admin
        .patch(
            &format!("/webhooks/{}", id(&w)),
            1,
            &json!({"events": null, "url": "nope"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "url");
    assert_eq!(r.body["errors"][1]["field"], "events");
    let read = admin
        .get(&format!("/webhooks/{}", id(&w)))
        .await
        .expect(200);
    assert_eq!(read["version"], 1);
}

#[tokio::test]
async fn reps_and_managers_cannot_create_webhooks_but_managers_can_read_them() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let w = create_webhook(&admin, "https://example.com/", &["*"], json!({})).await;
    let wid = id(&w);
    let body = json!({"url": "https://example.com/", "events": ["*"]});
    for role in [Role::Manager, Role::Rep, Role::Viewer] {
        let user = admin.with_role(&app.server, role);
        let r = user.post("/webhooks", &body).await;
        assert_eq!(
            (r.status.as_u16(), r.problem()),
            (403, "forbidden"),
            "{role}"
        );
        assert_eq!(
            user.post(&format!("/webhooks/{wid}/rotate-secret"), &json!({}))
                .await
                .status,
            403
        );
        assert_eq!(
            user.post(&format!("/webhooks/{wid}/ping"), &json!({}))
                .await
                .status,
            403
        );
        assert_eq!(user.delete(&format!("/webhooks/{wid}")).await.status, 403);
    }
    let manager = admin.with_role(&app.server, Role::Manager);
    let list = manager.get("/webhooks").await.expect(200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["data"][0].get("secret").is_none());
    manager
        .get(&format!("/webhooks/{wid}/deliveries"))
        .await
        .expect(200);
    for role in [Role::Rep, Role::Viewer] {
        let user = admin.with_role(&app.server, role);
        assert_eq!(user.get("/webhooks").await.status, 403, "{role}");
        assert_eq!(
            user.get(&format!("/webhooks/{wid}/deliveries"))
                .await
                .status,
            403
        );
    }
    assert_eq!(
        admin.get("/webhooks?count=true").await.expect(200)["total"],
        1
    );
}

#[tokio::test]
async fn another_tenants_webhooks_and_deliveries_are_not_found() {
    let app = spawn().await;
    let a = app.server.new_tenant(Role::Admin);
    let b = app.server.new_tenant(Role::Admin);
    let w = create_webhook(&a, "https://example.com/", &["*"], json!({})).await;
    let wid = id(&w);
    let ping = a
        .post(&format!("/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202);
    let did = id(&ping);
    assert_eq!(b.get(&format!("/webhooks/{wid}")).await.status, 404);
    assert_eq!(
        b.patch(&format!("/webhooks/{wid}"), 1, &json!({"active": false}))
            .await
            .status,
        404
    );
    assert_eq!(b.delete(&format!("/webhooks/{wid}")).await.status, 404);
    for path in ["rotate-secret", "ping"] {
        let r = b.post(&format!("/webhooks/{wid}/{path}"), &json!({})).await;
        assert_eq!(r.status, 404, "{path}");
    }
    assert_eq!(
        b.get(&format!("/webhooks/{wid}/deliveries")).await.status,
        404
    );
    assert_eq!(
        b.get(&format!("/webhook-deliveries/{did}")).await.status,
        404
    );
    let r = b
        .post(&format!("/webhook-deliveries/{did}/redeliver"), &json!({}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(b.get("/webhooks?count=true").await.expect(200)["total"], 0);
    // Untouched for its owner.
    let read = a.get(&format!("/webhooks/{wid}")).await.expect(200);
    assert_eq!(
        (read["version"].as_i64(), read["active"].as_bool()),
        (Some(1), Some(true))
    );
}

#[tokio::test]
async fn the_delivery_log_pages_newest_first() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let w = create_webhook(&admin, "https://example.com/", &["*"], json!({})).await;
    let wid = id(&w);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let d = admin
            .post(&format!("/webhooks/{wid}/ping"), &json!({}))
            .await
            .expect(202);
        assert_eq!(
            (d["status"].as_str(), d["event"].as_str()),
            (Some("pending"), Some("webhook.ping"))
        );
        ids.push(id(&d));
    }
    ids.reverse();
    let page1 = admin
        .get(&format!("/webhooks/{wid}/deliveries?limit=2"))
        .await
        .expect(200);
    let got = |p: &serde_json::Value| -> Vec<String> {
        p["data"].as_array().unwrap().iter().map(id).collect()
    };
    assert_eq!(got(&page1), ids[..2]);
    assert_eq!(page1["page"]["has_more"], true);
    let next = page1["page"]["next_cursor"].as_str().unwrap();
    let page2 = admin
        .get(&format!(
            "/webhooks/{wid}/deliveries?limit=2&starting_after={next}"
        ))
        .await
        .expect(200);
    assert_eq!(got(&page2), ids[2..4]);
    let prev = page2["page"]["prev_cursor"].as_str().unwrap();
    let back = admin
        .get(&format!(
            "/webhooks/{wid}/deliveries?limit=2&ending_before={prev}"
        ))
        .await
        .expect(200);
    assert_eq!(got(&back), ids[..2]);
    let next = page2["page"]["next_cursor"].as_str().unwrap();
    let page3 = admin
        .get(&format!(
            "/webhooks/{wid}/deliveries?limit=2&starting_after={next}"
        ))
        .await
        .expect(200);
    assert_eq!(got(&page3), ids[4..]);
    assert_eq!(page3["page"]["has_more"], false);
    let pending = admin
        .get(&format!("/webhooks/{wid}/deliveries?status=pending"))
        .await
        .expect(200);
    assert_eq!(got(&pending).len(), 5);
    for (query, field) in [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("starting_after=x", "starting_after"),
        ("colour=red", "colour"),
    ] {
        let r = admin
            .get(&format!("/webhooks/{wid}/deliveries?{query}"))
            .await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.body["errors"][0]["field"], field, "{query}");
    }
}
