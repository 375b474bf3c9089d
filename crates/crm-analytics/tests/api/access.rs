use crm_core::Role;
use crm_testkit::server::Method;
use serde_json::json;

use crate::{id, lead, money, opportunity, spawn};

const ENDPOINTS: [&str; 6] = [
    "/analytics/pipeline",
    "/analytics/forecast",
    "/analytics/win-rate",
    "/analytics/funnel",
    "/analytics/totals",
    "/analytics/lag",
];

#[tokio::test]
async fn bad_params_answer_400_naming_the_param() {
    let app = spawn().await;
    let viewer = app.server.new_tenant(Role::Viewer);
    let cases = [
        ("/analytics/forecast?period=week", vec!["period"]),
        ("/analytics/forecast?from=2025-02-01&to=", vec!["to"]),
        (
            "/analytics/win-rate?owner_id=42&from=tomorrow",
            vec!["from", "owner_id"],
        ),
        ("/analytics/funnel?from=2025-13-01", vec!["from"]),
        ("/analytics/pipeline?pipeline_id=main", vec!["pipeline_id"]),
        ("/analytics/pipeline?colour=red", vec!["colour"]),
        ("/analytics/totals?tenant_id=x", vec!["tenant_id"]),
        (
            "/analytics/forecast?period=month&period=quarter",
            vec!["period"],
        ),
    ];
    for (path, fields) in cases {
        let r = viewer.get(path).await;
        assert_eq!(
            (r.status.as_u16(), r.problem()),
            (400, "malformed-request"),
            "{path}: {}",
            r.body
        );
        let named: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{path}");
    }
}

#[tokio::test]
async fn a_viewer_may_read_every_figure_but_a_stranger_none() {
    let app = spawn().await;
    let viewer = app.server.new_tenant(Role::Viewer);
    for path in ENDPOINTS
        .into_iter()
        .chain(["/analytics/forecast?period=quarter&from=2025-01-01&to=2025-12-31"])
    {
        viewer.get(path).await.expect(200);
    }
    let mut stranger = viewer.clone();
    stranger.token = None;
    for path in ENDPOINTS {
        assert_eq!(stranger.get(path).await.status, 401, "{path}");
    }
}

#[tokio::test]
async fn only_an_admin_may_reset_the_lag_figures() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    app.apply(&opportunity(&admin.actor, "created", id(), 1, json!({})))
        .await;
    assert_eq!(admin.get("/analytics/lag").await.expect(200)["count"], 1);
    let manager = admin.with_role(&app.server, Role::Manager);
    assert_eq!(
        manager
            .send(Method::DELETE, "/analytics/lag", None, &[])
            .await
            .status,
        403
    );
    assert_eq!(
        admin
            .send(Method::DELETE, "/analytics/lag", None, &[])
            .await
            .status,
        204
    );
    assert_eq!(admin.get("/analytics/lag").await.expect(200)["count"], 0);
}

#[tokio::test]
async fn another_tenant_sees_nothing_of_this_tenants_figures() {
    let app = spawn().await;
    let mine = app.server.new_tenant(Role::Admin);
    let theirs = app.server.new_tenant(Role::Admin);
    let a = &mine.actor;
    app.apply_all(&[
        opportunity(a, "created", id(), 1, json!({"amount": money(10, "EUR"), "close_date": "2025-01-01"})),
        opportunity(a, "won", id(), 2, json!({"status": "won", "closed_at": "2025-01-01T00:00:00Z", "amount": money(1, "EUR")})),
        lead(a, "created", id(), 1, json!({})),
    ])
    .await;
    assert_eq!(
        mine.get("/analytics/totals").await.expect(200)["opportunities"]["live"],
        2
    );

    let totals = theirs.get("/analytics/totals").await.expect(200);
    assert_eq!(
        (
            totals["opportunities"]["live"].clone(),
            totals["leads"]["live"].clone()
        ),
        (json!(0), json!(0))
    );
    assert_eq!(totals["opportunities"]["amounts"], json!([]));
    let board = theirs.get("/analytics/pipeline").await.expect(200);
    assert_eq!(
        (board["stages"].clone(), board["total"]["count"].clone()),
        (json!([]), json!(0))
    );
    assert_eq!(
        theirs.get("/analytics/forecast").await.expect(200)["periods"],
        json!([])
    );
    assert_eq!(
        theirs.get("/analytics/win-rate").await.expect(200)["won"],
        0
    );
    assert_eq!(
        theirs.get("/analytics/funnel").await.expect(200)["total"],
        0
    );
}
