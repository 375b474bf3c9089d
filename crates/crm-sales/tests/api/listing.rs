use crm_core::Role;
use crm_sales::SalesApi;
use serde_json::json;

use crate::{id, spawn};

#[tokio::test]
async fn opportunities_are_listed_and_filtered() {
    let (server, _, sales) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let company = rep
        .post("/companies", &json!({"name": "Globex"}))
        .await
        .expect(201);
    for (name, micros, stage, with_company) in [
        ("Small", 1_000_000_000i64, "prospecting", true),
        ("Medium", 5_000_000_000, "proposal", true),
        ("Large", 9_000_000_000, "negotiation", false),
    ] {
        let mut body = json!({"name": name, "stage_key": stage, "amount": {"amount_micros": micros, "currency": "USD"}, "close_date": "2030-01-15"});
        if with_company {
            body["company_id"] = company["id"].clone();
        }
        rep.post("/opportunities", &body).await.expect(201);
    }
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = rep
        .get("/opportunities?filter=amount.amount_micros[gte]:5000000000&order_by=amount.amount_micros[asc]")
        .await
        .expect(200);
    assert_eq!(names(&r), ["Medium", "Large"]);
    let r = rep
        .get(&format!("/opportunities?filter=and(company_id[eq]:\"{}\",status[eq]:\"open\")&order_by=name[asc]", id(&company)))
        .await
        .expect(200);
    assert_eq!(names(&r), ["Medium", "Small"]);
    let r = rep
        .get("/opportunities?filter=or(stage_key[eq]:\"negotiation\",forecast_category[eq]:\"best_case\")&order_by=name[desc]&limit=1")
        .await
        .expect(200);
    assert_eq!(names(&r), ["Medium"]);
    assert_eq!(r["page"]["has_more"], true);
    let next = r["page"]["next_cursor"].as_str().unwrap();
    let r = rep
        .get(&format!("/opportunities?filter=or(stage_key[eq]:\"negotiation\",forecast_category[eq]:\"best_case\")&order_by=name[desc]&limit=1&starting_after={next}"))
        .await
        .expect(200);
    assert_eq!(names(&r), ["Large"]);
    let r = rep
        .get("/opportunities?filter=close_date[lt]:\"2030-02-01\",probability[gte]:20")
        .await
        .expect(200);
    assert_eq!(names(&r), ["Large", "Medium"], "newest first by default");
    let r = rep.get("/opportunities?filter=colour[eq]:\"red\"").await;
    assert_eq!(r.status, 400);

    // The same through the API other contexts use.
    let open = sales
        .open_opportunities_of_company(
            &rep.actor,
            company["id"].as_str().unwrap().parse().unwrap(),
            10,
        )
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    let hits = sales.search(&rep.actor, "medi", &[], 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].kind.as_str(), hits[0].title.as_str()),
        ("opportunity", "Medium")
    );
    let hits = sales
        .search(&rep.actor, "medi", &["company".into()], 10)
        .await
        .unwrap();
    assert!(hits.is_empty());
    let (pipeline, stages) = sales.default_pipeline(&rep.actor).await.unwrap();
    assert!(pipeline.is_default);
    assert_eq!(stages.len(), 6);
}
