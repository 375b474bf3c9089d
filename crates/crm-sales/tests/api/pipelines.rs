use crm_core::Role;
use serde_json::json;

use crate::{fields, id, spawn, version};

#[tokio::test]
async fn the_default_pipeline_is_created_lazily_once_with_the_default_stages() {
    let (server, pool, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    assert_eq!(
        rep.get("/pipelines?count=true").await.expect(200)["total"],
        0
    );

    let opp = rep
        .post("/opportunities", &json!({"name": "First deal"}))
        .await
        .expect(201);
    assert_eq!(opp["stage_key"], "prospecting");
    assert_eq!(opp["probability"], 10);
    assert_eq!(opp["status"], "open");
    assert_eq!(opp["forecast_category"], "pipeline");
    assert_eq!(opp["owner_id"], rep.actor.user_id.to_string());

    let pipelines = rep.get("/pipelines").await.expect(200);
    let data = pipelines["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["is_default"], true);
    assert_eq!(data[0]["id"], opp["pipeline_id"]);
    let stages = rep
        .get(&format!("/pipelines/{}/stages", id(&data[0])))
        .await
        .expect(200);
    let keys: Vec<&str> = stages["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "prospecting",
            "qualification",
            "proposal",
            "negotiation",
            "closed_won",
            "closed_lost"
        ]
    );
    let won = &stages["data"][4];
    assert_eq!(
        (won["is_closed"].clone(), won["is_won"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(won["forecast_category"], "closed");

    // Concurrent first writes of another tenant still make exactly one default pipeline.
    let other = server.new_tenant(Role::Rep);
    let creates = (0..6).map(|i| {
        let c = other.clone();
        tokio::spawn(async move {
            c.post("/opportunities", &json!({"name": format!("Deal {i}")}))
                .await
                .status
        })
    });
    for h in creates {
        assert_eq!(h.await.unwrap(), 201);
    }
    let defaults: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_sales.pipelines WHERE tenant_id = $1 AND is_default",
    )
    .bind(other.actor.tenant_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(defaults, 1);
}

#[tokio::test]
async fn a_pipeline_is_created_with_its_own_stages() {
    let (server, _, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let p = m
        .post(
            "/pipelines",
            &json!({"name": "Renewals", "stages": [
                {"key": "due", "label": "Due", "probability": 40},
                {"key": "renewed", "label": "Renewed", "is_closed": true, "is_won": true},
                {"key": "churned", "label": "Churned", "is_closed": true}
            ]}),
        )
        .await
        .expect(201);
    assert_eq!(p["is_default"], false);
    let stages = m
        .get(&format!("/pipelines/{}/stages", id(&p)))
        .await
        .expect(200);
    let s = stages["data"].as_array().unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(
        (s[0]["position"].clone(), s[0]["forecast_category"].clone()),
        (json!(1), json!("pipeline"))
    );
    assert_eq!(
        (
            s[1]["probability"].clone(),
            s[1]["forecast_category"].clone()
        ),
        (json!(100), json!("closed"))
    );
    assert_eq!(
        (
            s[2]["probability"].clone(),
            s[2]["forecast_category"].clone()
        ),
        (json!(0), json!("omitted"))
    );

    // Stages are also a collection of their own, filterable by pipeline.
    let listed = m
        .get(&format!(
            "/stages?filter=pipeline_id[eq]:\"{}\"&order_by=position[asc]",
            id(&p)
        ))
        .await
        .expect(200);
    assert_eq!(listed["data"][2]["key"], "churned");
}

#[tokio::test]
async fn bad_pipelines_name_every_field_and_write_nothing() {
    let (server, _, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let r = m
        .post(
            "/pipelines",
            &json!({"stages": [
                {"key": "Bad Key", "label": "x", "probability": 5},
                {"key": "ok", "label": "y", "is_won": true},
                {"key": "ok", "label": "z", "probability": 101}
            ]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        fields(&r),
        // Fields bad on their own first, then those that break a rule between fields.
        [
            "name",
            "stages[0].key",
            "stages[2].probability",
            "stages[1].is_won",
            "stages[2].key"
        ]
    );
    let r = m
        .post(
            "/pipelines",
            &json!({"name": "Closed only", "stages": [{"key": "won", "label": "Won", "is_closed": true, "is_won": true}]}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["stages".to_owned()])
    );
    let r = m
        .post("/pipelines", &json!({"name": "Empty", "stages": []}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(m.get("/pipelines?count=true").await.expect(200)["total"], 0);
    assert_eq!(m.get("/stages?count=true").await.expect(200)["total"], 0);
}

#[tokio::test]
async fn making_a_pipeline_the_default_takes_the_flag_from_the_previous_one() {
    let (server, _, _) = spawn().await;
    let m = server.new_tenant(Role::Admin);
    let a = m
        .post("/pipelines", &json!({"name": "A", "is_default": true}))
        .await
        .expect(201);
    let b = m
        .post("/pipelines", &json!({"name": "B", "is_default": true}))
        .await
        .expect(201);
    let a = m.get(&format!("/pipelines/{}", id(&a))).await.expect(200);
    assert_eq!(a["is_default"], false);
    let r = m
        .patch(
            &format!("/pipelines/{}", id(&b)),
            version(&b),
            &json!({"is_default": false}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["is_default".to_owned()])
    );
    let a = m
        .patch(
            &format!("/pipelines/{}", id(&a)),
            version(&a),
            &json!({"is_default": true}),
        )
        .await
        .expect(200);
    assert_eq!(a["is_default"], true);
    let b = m.get(&format!("/pipelines/{}", id(&b))).await.expect(200);
    assert_eq!(b["is_default"], false);

    // An opportunity without a pipeline lands in the default one.
    let opp = m
        .post("/opportunities", &json!({"name": "X"}))
        .await
        .expect(201);
    assert_eq!(opp["pipeline_id"], a["id"]);
}

#[tokio::test]
async fn reps_and_viewers_read_pipelines_but_cannot_change_them() {
    let (server, _, _) = spawn().await;
    let admin = server.new_tenant(Role::Admin);
    let p = admin
        .post("/pipelines", &json!({"name": "P"}))
        .await
        .expect(201);
    for role in [Role::Rep, Role::Viewer] {
        let c = admin.with_role(&server, role);
        assert_eq!(
            c.get(&format!("/pipelines/{}/stages", id(&p))).await.status,
            200
        );
        let r = c.post("/pipelines", &json!({"name": "Nope"})).await;
        assert_eq!((r.status.as_u16(), r.problem()), (403, "forbidden"));
        let r = c
            .post(
                "/stages",
                &json!({"pipeline_id": id(&p), "key": "x", "label": "X", "probability": 5}),
            )
            .await;
        assert_eq!(r.status, 403);
    }
}

#[tokio::test]
async fn stage_keys_are_unique_per_pipeline_and_a_stage_in_use_keeps_its_identity() {
    let (server, _, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let p = m
        .post("/pipelines", &json!({"name": "P"}))
        .await
        .expect(201);
    let added = m
        .post(
            "/stages",
            &json!({"pipeline_id": id(&p), "key": "demo", "label": "Demo", "probability": 30}),
        )
        .await
        .expect(201);
    assert_eq!(
        added["position"], 7,
        "appended after the six default stages"
    );
    let r = m
        .post(
            "/stages",
            &json!({"pipeline_id": id(&p), "key": "demo", "label": "Again", "probability": 30}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "duplicate"));
    let r = m
        .post(
            "/stages",
            &json!({"pipeline_id": crm_core::new_id(), "key": "x", "label": "X"}),
        )
        .await;
    // An unknown pipeline first (a 422 of its own type); the rule that an open stage needs
    // a probability is judged once the stage has a pipeline.
    assert_eq!(
        (r.status.as_u16(), r.problem(), fields(&r)),
        (422, "unknown-reference", vec!["pipeline_id".to_owned()])
    );

    let opp = m
        .post(
            "/opportunities",
            &json!({"name": "D", "pipeline_id": id(&p), "stage_key": "demo"}),
        )
        .await
        .expect(201);
    assert_eq!(
        (opp["stage_id"].clone(), opp["probability"].clone()),
        (added["id"].clone(), json!(30))
    );
    let path = format!("/stages/{}", id(&added));
    let r = m
        .patch(&path, version(&added), &json!({"key": "demo2"}))
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "stage-in-use"));
    let r = m.delete(&path).await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "stage-in-use"));
    let r = m.delete(&format!("/pipelines/{}", id(&p))).await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "pipeline-in-use"));
    let relabelled = m
        .patch(
            &path,
            version(&added),
            &json!({"label": "Live demo", "probability": 35}),
        )
        .await
        .expect(200);
    assert_eq!(relabelled["label"], "Live demo");
    let r = m
        .patch(&path, version(&relabelled), &json!({"is_won": true}))
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["is_won".to_owned()])
    );

    // Once the opportunity is gone the stage can go too.
    m.delete(&format!("/opportunities/{}", id(&opp)))
        .await
        .expect(200);
    m.delete(&path).await.expect(200);
}
