//! Records: create/read/update/delete/restore, optimistic locking, tenant isolation, lists.

use anyhow::{Context, ensure};
use serde_json::json;

use crate::server::Method;

use super::{Check, Suite, check, count, id, problem, status};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(a_record_is_created_read_updated_deleted_and_restored),
    check!(updates_need_the_current_version_and_stale_ones_change_nothing),
    check!(another_tenants_records_answer_404_and_stay_untouched),
    check!(lists_filter_sort_and_page_by_cursor_in_both_directions),
    check!(bad_list_parameters_are_named),
    check!(duplicates_are_found_and_merged),
];

async fn a_record_is_created_read_updated_deleted_and_restored(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let r = c.post("/companies", &json!({"name": "Contract Corp", "domain": "https://www.Contract-Corp.com/", "employees": 42})).await;
    let location = r.header("location").context("Location")?.to_owned();
    ensure!(r.header("etag") == Some("\"1\""), "ETag of a new record");
    let created = status(r, 201)?;
    ensure!(
        created["domain"] == "contract-corp.com" && created["version"] == 1,
        "created: {created}"
    );
    ensure!(
        location == format!("/api/v1/companies/{}", id(&created)),
        "Location {location}"
    );
    let path = format!("/companies/{}", id(&created));
    let got = status(c.get(&path).await, 200)?;
    ensure!(got == created, "read back equals created");
    let patched = status(
        c.patch(&path, 1, &json!({"industry": "Testing", "employees": null}))
            .await,
        200,
    )?;
    ensure!(
        patched["industry"] == "Testing"
            && patched["employees"].is_null()
            && patched["version"] == 2,
        "patched: {patched}"
    );
    ensure!(patched["name"] == "Contract Corp", "absent fields stay");
    let deleted = status(c.delete(&path).await, 200)?;
    ensure!(
        !deleted["deleted_at"].is_null(),
        "soft delete sets deleted_at"
    );
    problem(&c.get(&path).await, 404, "not-found")?;
    let trash = status(
        c.get("/companies?include_deleted=true&filter=deleted_at[is]:not_null")
            .await,
        200,
    )?;
    ensure!(
        trash["data"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x["id"] == created["id"])),
        "deleted records listable on request"
    );
    let restored = status(c.post(&format!("{path}/restore"), &json!({})).await, 200)?;
    ensure!(restored["deleted_at"].is_null(), "restored: {restored}");
    status(c.get(&path).await, 200)?;
    Ok(())
}

async fn updates_need_the_current_version_and_stale_ones_change_nothing(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let created = status(
        c.post(
            "/contacts",
            &json!({"first_name": "Vera", "emails": ["vera@contract.test"]}),
        )
        .await,
        201,
    )?;
    let path = format!("/contacts/{}", id(&created));
    problem(
        &c.send(
            Method::PATCH,
            &path,
            Some(&json!({"job_title": "CEO"})),
            &[],
        )
        .await,
        428,
        "precondition-required",
    )?;
    status(c.patch(&path, 1, &json!({"job_title": "CEO"})).await, 200)?;
    let r = c.patch(&path, 1, &json!({"job_title": "CFO"})).await;
    problem(&r, 412, "precondition-failed")?;
    ensure!(r.body["current_version"] == 2, "current version reported");
    let r = c
        .send(
            Method::PATCH,
            &path,
            Some(&json!({"job_title": "CFO"})),
            &[("if-match", "banana")],
        )
        .await;
    problem(&r, 400, "malformed-request")?;
    let now = status(c.get(&path).await, 200)?;
    ensure!(
        now["job_title"] == "CEO" && now["version"] == 2,
        "unchanged: {now}"
    );
    Ok(())
}

async fn another_tenants_records_answer_404_and_stay_untouched(s: &Suite) -> anyhow::Result<()> {
    let a = s.signup().await?.admin;
    let b = s.signup().await?.admin;
    let mine = status(a.post("/companies", &json!({"name": "Private"})).await, 201)?;
    let path = format!("/companies/{}", id(&mine));
    problem(&b.get(&path).await, 404, "not-found")?;
    problem(
        &b.patch(&path, 1, &json!({"name": "Stolen"})).await,
        404,
        "not-found",
    )?;
    problem(&b.delete(&path).await, 404, "not-found")?;
    problem(
        &b.post(&format!("{path}/restore"), &json!({})).await,
        404,
        "not-found",
    )?;
    let r = b
        .post(
            "/contacts",
            &json!({"first_name": "Spy", "company_id": mine["id"]}),
        )
        .await;
    problem(&r, 422, "unknown-reference")?;
    ensure!(
        count(&b, "companies").await? == 0,
        "b sees none of a's companies"
    );
    let after = status(a.get(&path).await, 200)?;
    ensure!(after == mine, "untouched");
    Ok(())
}

async fn lists_filter_sort_and_page_by_cursor_in_both_directions(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    for i in 0..12 {
        status(c.post("/companies", &json!({"name": format!("List {i:02}"), "employees": i * 10, "industry": if i % 2 == 0 { "even" } else { "odd" }})).await, 201)?;
    }
    let base = "/companies?filter=and(industry[eq]:\"even\",employees[gte]:20)&order_by=employees[desc]&limit=2";
    let p1 = status(c.get(base).await, 200)?;
    let names = |p: &serde_json::Value| -> Vec<String> {
        p["data"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|x| x["name"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    ensure!(
        names(&p1) == ["List 10", "List 08"] && p1["page"]["has_more"] == true,
        "page 1: {p1}"
    );
    let next = p1["page"]["next_cursor"].as_str().context("next_cursor")?;
    let p2 = status(c.get(&format!("{base}&starting_after={next}")).await, 200)?;
    ensure!(
        names(&p2) == ["List 06", "List 04"],
        "page 2: {:?}",
        names(&p2)
    );
    let next = p2["page"]["next_cursor"].as_str().context("next_cursor")?;
    let p3 = status(
        c.get(&format!("{base}&starting_after={next}&count=true"))
            .await,
        200,
    )?;
    ensure!(
        names(&p3) == ["List 02"] && p3["page"]["has_more"] == false && p3["total"] == 5,
        "page 3: {p3}"
    );
    let prev = p3["page"]["prev_cursor"].as_str().context("prev_cursor")?;
    let back = status(c.get(&format!("{base}&ending_before={prev}")).await, 200)?;
    ensure!(
        names(&back) == ["List 06", "List 04"],
        "back: {:?}",
        names(&back)
    );
    let any = status(
        c.get(
            "/companies?filter=or(name[eq]:\"List 01\",name[starts_with]:\"List 1\")&order_by=name",
        )
        .await,
        200,
    )?;
    ensure!(
        names(&any) == ["List 01", "List 10", "List 11"],
        "or/starts_with: {:?}",
        names(&any)
    );
    let none = status(
        c.get("/companies?filter=not(industry[in]:[\"even\",\"odd\"])")
            .await,
        200,
    )?;
    ensure!(names(&none).is_empty(), "not(in)");
    Ok(())
}

async fn bad_list_parameters_are_named(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    for (q, field) in [
        ("filter=colour[eq]:\"red\"", "filter"),
        ("filter=name[like]:\"x\"", "filter"),
        ("filter=employees[gt]:many", "filter"),
        ("filter=and(name[eq]:1", "filter"),
        ("order_by=secret[asc]", "order_by"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("starting_after=garbage", "starting_after"),
        ("colour=red", "colour"),
    ] {
        let r = c.get(&format!("/companies?{q}")).await;
        problem(&r, 400, "malformed-request").with_context(|| q.to_owned())?;
        ensure!(
            super::fields(&r) == [field],
            "{q}: fields {:?}",
            super::fields(&r)
        );
    }
    let r = c.get("/companies?filter=colour[eq]:1").await;
    ensure!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("colour")),
        "the unknown field is named"
    );
    Ok(())
}

async fn duplicates_are_found_and_merged(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let keep = status(
        c.post("/companies", &json!({"name": "Merge Target"})).await,
        201,
    )?;
    let dup = status(
        c.post(
            "/companies",
            &json!({"name": "Merge Target Inc", "domain": "merge-target.io"}),
        )
        .await,
        201,
    )?;
    let person = status(
        c.post(
            "/contacts",
            &json!({"first_name": "Moe", "company_id": dup["id"]}),
        )
        .await,
        201,
    )?;
    let found = status(
        c.post(
            "/companies/duplicates",
            &json!({"domain": "www.merge-target.io"}),
        )
        .await,
        200,
    )?;
    ensure!(
        found["data"][0]["record"]["id"] == dup["id"]
            && found["data"][0]["reasons"][0] == "same_domain",
        "found: {found}"
    );
    let merged = status(
        c.post(
            "/companies/merge",
            &json!({"primary_id": keep["id"], "duplicate_ids": [dup["id"]]}),
        )
        .await,
        200,
    )?;
    ensure!(merged["domain"] == "merge-target.io", "filled: {merged}");
    let moved = status(c.get(&format!("/contacts/{}", id(&person))).await, 200)?;
    ensure!(moved["company_id"] == keep["id"], "contact moved");
    problem(
        &c.get(&format!("/companies/{}", id(&dup))).await,
        404,
        "not-found",
    )?;
    Ok(())
}
