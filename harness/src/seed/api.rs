//! The API path: the same data set through the public API, as a client would load it —
//! batches of up to 100 records (`POST /{resource}/batch`, all or none), lead status
//! changes as patches, conversions through `POST /leads/{id}/convert`, and every
//! stage an opportunity went through as a `move` — with a few requests in flight.
//!
//! Records end as the bulk path stores them (the checksum test holds both to it); what
//! differs is what the system adds on its own: ids, times, events, timeline entries.

use crate::seed::generator::StageStatus;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::client::{Client, id_of};
use super::generator::{Money, Plan, RecordRef, STAGES};
use super::setup::Tenant;

/// Requests in flight at once.
const CONCURRENCY: usize = 4;
const BATCH: usize = 100;

fn money(m: Option<Money>) -> Value {
    m.map_or(
        Value::Null,
        |m| json!({"amount_micros": m.micros, "currency": m.currency}),
    )
}

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// An object of the given fields, leaving out the null ones (fields a kind does not have).
fn object(fields: Vec<(&str, Value)>) -> Value {
    let m: Map<String, Value> = fields
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Value::Object(m)
}

/// Creates `items` in batches, a few in flight; the new ids in item order.
async fn create_all(
    client: &Client,
    resource: &str,
    items: Vec<Value>,
) -> anyhow::Result<Vec<Uuid>> {
    let batches: Vec<Vec<Value>> = items.chunks(BATCH).map(<[Value]>::to_vec).collect();
    let created: Vec<Vec<Value>> = futures::stream::iter(batches)
        .map(|b| client.batch(resource, "create", b))
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    created.iter().flatten().map(id_of).collect()
}

/// Loads the plan through the API; rows written per kind, as the bulk path counts them.
pub(crate) async fn load(
    client: &Client,
    plan: &Plan,
    tenant: &Tenant,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let rep = |i: u32| Value::String(tenant.rep(i).to_string());
    let mut rows = BTreeMap::new();

    let companies: Vec<Value> = (0..plan.sizes.companies)
        .map(|c| {
            let co = plan.company(c);
            let a = &co.address;
            object(vec![
                ("name", co.name.into()),
                ("domain", co.domain.into()),
                ("industry", co.industry.into()),
                ("employees", co.employees.into()),
                ("annual_revenue", money(co.annual_revenue)),
                (
                    "address",
                    json!({"street": a.street, "city": a.city, "region": a.region,
                           "postal_code": a.postal_code, "country": a.country}),
                ),
                ("phone", co.phone.into()),
                ("description", co.description.into()),
                ("owner_id", rep(co.owner)),
            ])
        })
        .collect();
    let company_ids = create_all(client, "companies", companies).await?;
    rows.insert("companies".to_owned(), company_ids.len() as u64);

    let contacts: Vec<Value> = (0..plan.sizes.contacts)
        .map(|i| {
            let ct = plan.contact(i);
            object(vec![
                ("first_name", ct.first_name.into()),
                ("last_name", ct.last_name.into()),
                ("emails", ct.emails.into()),
                ("phones", ct.phones.into()),
                ("job_title", ct.job_title.into()),
                (
                    "company_id",
                    company_ids[ct.company as usize].to_string().into(),
                ),
                ("owner_id", rep(ct.owner)),
                ("lead_source", ct.lead_source.into()),
                ("do_not_contact", ct.do_not_contact.into()),
            ])
        })
        .collect();
    let contact_ids = create_all(client, "contacts", contacts).await?;
    rows.insert("contacts".to_owned(), contact_ids.len() as u64);

    let lead_ids = leads(client, plan, tenant).await?;
    rows.insert("leads".to_owned(), lead_ids.len() as u64);

    // Company opportunities, created in their first stage; conversions add theirs.
    let opportunities: Vec<Value> = (0..plan.sizes.company_opportunities)
        .map(|o| {
            let opp = plan.opportunity(o);
            object(vec![
                ("name", opp.name.into()),
                ("amount", money(opp.amount)),
                ("close_date", opp.close_date.to_string().into()),
                ("stage_key", STAGES[opp.path[0].stage].key.into()),
                (
                    "company_id",
                    company_ids[opp.company as usize].to_string().into(),
                ),
                (
                    "primary_contact_id",
                    opp.contact
                        .map_or(Value::Null, |c| contact_ids[c as usize].to_string().into()),
                ),
                ("owner_id", rep(opp.owner)),
            ])
        })
        .collect();
    let mut opp_ids = create_all(client, "opportunities", opportunities).await?;
    opp_ids.resize(plan.opportunities() as usize, Uuid::nil());
    for (o, id) in convert(client, plan, tenant, &lead_ids, &company_ids, &contact_ids).await? {
        opp_ids[o as usize] = id;
    }
    rows.insert("opportunities".to_owned(), u64::from(plan.opportunities()));
    rows.insert(
        "stage_history".to_owned(),
        move_through_stages(client, plan, &opp_ids).await?,
    );

    let mut links = 0u64;
    let activities: Vec<Value> = (0..plan.sizes.activities)
        .map(|a| {
            let act = plan.activity(a);
            links += act.links.len() as u64;
            let link_list: Vec<Value> = act
                .links
                .iter()
                .map(|l| {
                    let id = match *l {
                        RecordRef::Company(c) => company_ids[c as usize],
                        RecordRef::Contact(i) => contact_ids[i as usize],
                        RecordRef::Lead(l) => lead_ids[l as usize],
                        RecordRef::Opportunity(o) => opp_ids[o as usize],
                    };
                    json!({"type": l.type_name(), "id": id})
                })
                .collect();
            object(vec![
                ("kind", act.kind.into()),
                ("subject", act.subject.into()),
                ("body", act.body.into()),
                ("due_at", time(act.due_at)),
                ("status", act.status.into()),
                ("priority", act.priority.into()),
                ("assignee_id", act.assignee.map_or(Value::Null, rep)),
                ("direction", act.direction.into()),
                ("duration_seconds", act.duration_seconds.into()),
                ("outcome", act.outcome.into()),
                ("starts_at", time(act.starts_at)),
                ("ends_at", time(act.ends_at)),
                ("location", act.location.into()),
                ("links", link_list.into()),
            ])
        })
        .collect();
    let activity_ids = create_all(client, "activities", activities).await?;
    rows.insert("activities".to_owned(), activity_ids.len() as u64);
    rows.insert("activity_links".to_owned(), links);
    Ok(rows)
}

/// Creates the leads (with an owner they start `assigned`), then moves them to their
/// status with batch upserts; conversion comes later.
async fn leads(client: &Client, plan: &Plan, tenant: &Tenant) -> anyhow::Result<Vec<Uuid>> {
    let items: Vec<Value> = (0..plan.sizes.leads)
        .map(|l| {
            let lead = plan.lead(l);
            object(vec![
                ("name", lead.name.into()),
                ("company_name", lead.company_name.into()),
                ("email", lead.email.into()),
                ("phone", lead.phone.into()),
                ("title", lead.title.into()),
                ("source", lead.source.into()),
                (
                    "owner_id",
                    lead.owner
                        .map_or(Value::Null, |o| tenant.rep(o).to_string().into()),
                ),
                ("estimated_value", money(lead.estimated_value)),
                ("description", lead.description.into()),
            ])
        })
        .collect();
    let batches: Vec<Vec<Value>> = items.chunks(BATCH).map(<[Value]>::to_vec).collect();
    let created: Vec<Value> = futures::stream::iter(batches)
        .map(|b| client.batch("leads", "create", b))
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    let ids = created
        .iter()
        .map(id_of)
        .collect::<anyhow::Result<Vec<Uuid>>>()?;
    // A status is a patch field (`PATCH /leads/{id}` with the version just created), not a
    // field of a batch item, whose shape is the create's.
    futures::stream::iter(0..plan.sizes.leads)
        .filter_map(|l| {
            let status = plan.lead_status(l);
            let body = match status {
                "working" | "recycled" => Some(json!({"status": status})),
                "disqualified" => Some(json!({
                    "status": status,
                    "disqualify_reason": plan.lead(l).disqualify_reason,
                })),
                _ => None,
            };
            let version = created[l as usize]["version"].to_string();
            let path = format!("/leads/{}", ids[l as usize]);
            std::future::ready(body.map(|b| (path, b, version)))
        })
        .map(|(path, body, version)| async move {
            client.patch(&path, &body, &[("if-match", &version)]).await
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(ids)
}

/// Converts the converted leads into their contacts (attached by id), creating their
/// opportunities; the ids of those opportunities.
async fn convert(
    client: &Client,
    plan: &Plan,
    tenant: &Tenant,
    lead_ids: &[Uuid],
    company_ids: &[Uuid],
    contact_ids: &[Uuid],
) -> anyhow::Result<Vec<(u32, Uuid)>> {
    let requests: Vec<_> = plan
        .conversions()
        .iter()
        .map(|conv| {
            let company = plan.company_of_contact(conv.contact);
            let opportunity = conv.opportunity.map(|o| {
                let opp = plan.opportunity(o);
                json!({
                    "name": opp.name, "amount": money(opp.amount),
                    "close_date": opp.close_date.to_string(),
                    "stage_key": STAGES[opp.path[0].stage].key,
                    "owner_id": tenant.rep(opp.owner),
                })
            });
            let mut body = json!({
                "company": {"id": company_ids[company as usize]},
                "contact": {"id": contact_ids[conv.contact as usize]},
            });
            if let Some(o) = opportunity {
                body["opportunity"] = o;
            }
            (conv.lead, conv.opportunity, body)
        })
        .collect();
    let converted: Vec<Option<(u32, Uuid)>> = futures::stream::iter(requests)
        .map(|(lead, opp, body)| async move {
            let path = format!("/leads/{}/convert", lead_ids[lead as usize]);
            // A conversion saga may answer 503 while it finishes: the same key asks again.
            let key = format!("seed-convert-{}", lead_ids[lead as usize]);
            let r = client
                .post_retrying(
                    &path,
                    &body,
                    &[
                        ("idempotency-key", &key),
                        ("x-skip-duplicate-check", "true"),
                    ],
                )
                .await?;
            match opp {
                Some(o) => Ok(Some((o, id_of(&r["opportunity"])?))),
                None => anyhow::Ok(None),
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(converted.into_iter().flatten().collect())
}

/// Moves every opportunity through the rest of its stages, one move per stage (each with
/// `If-Match`: a move bumps the version, which starts at 1); stage-history rows in all.
async fn move_through_stages(
    client: &Client,
    plan: &Plan,
    opp_ids: &[Uuid],
) -> anyhow::Result<u64> {
    let total: u64 = futures::stream::iter(0..plan.opportunities())
        .map(|o| async move {
            let opp = plan.opportunity(o);
            let id = opp_ids[o as usize];
            for (version, step) in opp.path.iter().enumerate().skip(1) {
                let stage = &STAGES[step.stage];
                let mut body = json!({"stage_key": stage.key});
                if stage.status() == "lost" {
                    body["loss_reason"] = opp.loss_reason.into();
                }
                let v = version.to_string();
                client
                    .post_with(
                        &format!("/opportunities/{id}/move"),
                        &body,
                        &[("if-match", &v)],
                    )
                    .await?;
            }
            anyhow::Ok(opp.path.len() as u64)
        })
        .buffer_unordered(CONCURRENCY)
        .try_fold(0, |acc, n| async move { Ok(acc + n) })
        .await?;
    Ok(total)
}
