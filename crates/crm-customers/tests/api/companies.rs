use crm_core::Role;
use serde_json::json;

use crate::spawn;

#[tokio::test]
async fn a_company_is_created_normalised_and_read_back() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let created = rep
        .post("/companies", &json!({"name": " Initech ", "domain": "HTTPS://www.Initech.com/about", "annual_revenue": {"amount_micros": 10, "currency": "eur"}}))
        .await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let location = created.header("location").unwrap().to_owned();
    let body = created.expect(201);
    assert_eq!(body["name"], "Initech");
    assert_eq!(body["domain"], "initech.com");
    assert_eq!(body["annual_revenue"]["currency"], "EUR");
    assert!(location.ends_with(body["id"].as_str().unwrap()));
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        rep.get(&format!("/companies/{id}")).await.expect(200)["name"],
        "Initech"
    );
}

#[tokio::test]
async fn bad_input_names_every_field_and_writes_nothing() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let r = rep
        .post(
            "/companies",
            &json!({"domain": "not a domain", "employees": -1, "address": {"country": "Germany"}}),
        )
        .await;
    assert_eq!(r.status, 422);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "domain", "employees", "address.country"]);
    let r = rep
        .post("/companies", &json!({"name": "X", "colour": "red"}))
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (422, "validation"));
    let r = rep
        .post(
            "/companies",
            &json!({"name": "X", "tenant_id": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!(r.status, 422, "tenant_id is never taken from the body");
    let list = rep.get("/companies?count=true").await.expect(200);
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn another_tenants_company_is_not_found_and_untouched() {
    let (server, _) = spawn().await;
    let a = server.new_tenant(Role::Admin);
    let b = server.new_tenant(Role::Admin);
    let id = a
        .post("/companies", &json!({"name": "Mine"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(b.get(&format!("/companies/{id}")).await.status, 404);
    assert_eq!(
        b.patch(&format!("/companies/{id}"), 1, &json!({"name": "Theirs"}))
            .await
            .status,
        404
    );
    assert_eq!(b.delete(&format!("/companies/{id}")).await.status, 404);
    assert_eq!(b.get("/companies?count=true").await.expect(200)["total"], 0);
    assert_eq!(
        a.get(&format!("/companies/{id}")).await.expect(200)["name"],
        "Mine"
    );
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_write() {
    let (server, _) = spawn().await;
    let admin = server.new_tenant(Role::Admin);
    let viewer = admin.with_role(&server, Role::Viewer);
    let r = viewer.post("/companies", &json!({"name": "Nope"})).await;
    assert_eq!((r.status.as_u16(), r.problem()), (403, "forbidden"));
    assert_eq!(viewer.get("/companies").await.status, 200);
}

#[tokio::test]
async fn duplicate_domains_conflict_until_the_first_is_deleted() {
    let (server, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let first = m
        .post("/companies", &json!({"name": "A", "domain": "dup.com"}))
        .await
        .expect(201);
    let r = m
        .post("/companies", &json!({"name": "B", "domain": "www.dup.com"}))
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "duplicate"));
    m.delete(&format!("/companies/{}", first["id"].as_str().unwrap()))
        .await
        .expect(200);
    m.post("/companies", &json!({"name": "B", "domain": "dup.com"}))
        .await
        .expect(201);
    let r = m
        .post(
            &format!("/companies/{}/restore", first["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "restoring would duplicate the domain");
}

#[tokio::test]
async fn filters_orders_and_cursors_walk_every_row_once() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    for i in 0..23 {
        rep.post(
            "/companies",
            &json!({"name": format!("Co {i:02}"), "employees": i}),
        )
        .await
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!(
                "/companies?filter=employees[gte]:5&order_by=name[desc]&limit=7&starting_after={c}"
            ),
            None => "/companies?filter=employees[gte]:5&order_by=name[desc]&limit=7".to_owned(),
        };
        let page = rep.get(&q).await.expect(200);
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned()),
        );
        match page["page"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (5..23).rev().map(|i| format!("Co {i:02}")).collect();
    assert_eq!(seen, expected);
    let r = rep.get("/companies?filter=employees[gte]:5&order_by=name[asc]&starting_after=eyJvIjoibmFtZTpkLGlkOmQiLCJ2IjpbXX0").await;
    assert_eq!((r.status.as_u16(), r.problem()), (400, "malformed-request"));
}

#[tokio::test]
async fn patch_needs_the_current_version() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let c = rep
        .post("/companies", &json!({"name": "V"}))
        .await
        .expect(201);
    let path = format!("/companies/{}", c["id"].as_str().unwrap());
    let r = rep
        .send(
            crm_testkit::server::Method::PATCH,
            &path,
            Some(&json!({"industry": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 428);
    assert_eq!(
        rep.patch(&path, 1, &json!({"industry": "x", "employees": null}))
            .await
            .expect(200)["version"],
        2
    );
    let r = rep.patch(&path, 1, &json!({"industry": "y"})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["current_version"].as_i64()),
        (412, Some(2))
    );
    assert_eq!(rep.get(&path).await.expect(200)["industry"], "x");
}
