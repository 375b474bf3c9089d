//! A checksum of the benchmark tenant's business data as stored, read from each context's
//! own database (so it works for either architecture).
//!
//! It covers, for the tenant's users, pipelines, stages, companies, contacts, leads,
//! opportunities (with their stage history) and activities (with their links), every
//! business field: names, addresses, e-mails, phones, amounts, stages and statuses,
//! probabilities, scores and their reasons, close and due dates, meeting times, deletion.
//! References are resolved to natural keys — a company by its domain, a contact by its
//! primary e-mail, a user by e-mail, a stage by its key, a lead or an opportunity by a
//! digest of its own fields — so that records loaded through the API and in bulk compare
//! equal although their ids differ.
//!
//! Left out, as they legitimately differ between runs and paths: ids, record versions (the
//! API's conversion writes once more to an attached contact), and every time the system
//! stamps (created/updated, status changed, converted, closed, completed, stage entered),
//! the timeline, events and analytics projections (derived; [`super::truth`] checks those).
//!
//! Rows combine order-independently (a wrapping sum of their SHA-256 digests per kind), so
//! no sorting is needed; each kind's count and sum then go into one SHA-256.

use std::collections::HashMap;

use anyhow::Context;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::runtime::Deployment;

/// Count and wrapping sum of row digests of one kind.
#[derive(Default)]
struct Acc {
    count: u64,
    sum: u128,
}

impl Acc {
    fn add(&mut self, parts: &[&str]) {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0x1f]);
        }
        let d = h.finalize();
        self.count += 1;
        self.sum = self
            .sum
            .wrapping_add(u128::from_be_bytes(d[..16].try_into().expect("16 bytes")));
    }
}

fn digest(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..12])
}

async fn connect(d: &Deployment, context: &str) -> anyhow::Result<PgConnection> {
    let url = d
        .databases
        .get(context)
        .with_context(|| format!("no {context} database"))?;
    let mut c = PgConnection::connect(url).await?;
    // Timestamps render in JSON by the session's zone; fix it.
    c.execute("SET TimeZone = 'UTC'").await?;
    Ok(c)
}

/// The benchmark tenant's id, found by its admin's e-mail.
pub(crate) async fn bench_tenant(d: &Deployment) -> anyhow::Result<Uuid> {
    let mut c = connect(d, "identity").await?;
    let email = d
        .admin
        .as_ref()
        .map_or(crate::lifecycle::ADMIN_EMAIL, |a| a.email.as_str())
        .to_lowercase();
    sqlx::query_scalar(
        "SELECT tenant_id FROM crm_identity.users WHERE lower(email) = $1 AND deleted_at IS NULL",
    )
    .bind(email)
    .fetch_optional(&mut c)
    .await?
    .context("the benchmark tenant's admin is not in the identity database")
}

fn key(map: &HashMap<Uuid, String>, id: Option<Uuid>) -> &str {
    id.and_then(|i| map.get(&i)).map_or("-", String::as_str)
}

/// The checksum of the benchmark tenant's business data (see the module docs).
pub async fn checksum(d: &Deployment) -> anyhow::Result<String> {
    let tenant = bench_tenant(d).await?;
    let mut accs: Vec<(&str, Acc)> = Vec::new();

    let mut c = connect(d, "identity").await?;
    let mut users = HashMap::new();
    let mut acc = Acc::default();
    let mut rows = sqlx::query_as::<_, (Uuid, String, String)>(
        "SELECT id, lower(email), jsonb_build_array(lower(email), name, role, active)::text
         FROM crm_identity.users WHERE tenant_id = $1 AND deleted_at IS NULL",
    )
    .bind(tenant)
    .fetch(&mut c);
    while let Some((id, email, j)) = rows.try_next().await? {
        acc.add(&["user", &j]);
        users.insert(id, email);
    }
    drop(rows);
    accs.push(("users", acc));

    let mut c = connect(d, "sales").await?;
    let mut acc = Acc::default();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT jsonb_build_array(p.name, p.is_default, p.description, s.key,
                s.label, s.position, s.probability, s.is_closed, s.is_won, s.forecast_category,
                s.deleted_at IS NOT NULL, p.deleted_at IS NOT NULL)::text
         FROM crm_sales.stages s JOIN crm_sales.pipelines p ON p.id = s.pipeline_id
         WHERE s.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await?;
    for (j,) in rows {
        acc.add(&["stage", &j]);
    }
    accs.push(("stages", acc));

    let mut c = connect(d, "customers").await?;
    let mut companies = HashMap::new();
    let mut acc = Acc::default();
    let mut rows = sqlx::query_as::<_, (Uuid, String, String, Option<Uuid>)>(
        "SELECT id, coalesce(domain, name), jsonb_build_array(name, domain, industry, employees,
                annual_revenue_micros, annual_revenue_currency, address, phone, description,
                merged_into IS NOT NULL, deleted_at IS NOT NULL)::text, owner_id
         FROM crm_customers.companies WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch(&mut c);
    while let Some((id, k, j, owner)) = rows.try_next().await? {
        acc.add(&["company", &j, key(&users, owner)]);
        companies.insert(id, k);
    }
    drop(rows);
    accs.push(("companies", acc));

    let mut contacts = HashMap::new();
    let mut acc = Acc::default();
    let mut rows = sqlx::query_as::<_, (Uuid, String, String, Option<Uuid>, Option<Uuid>)>(
        "SELECT id, coalesce(primary_email, first_name || ' ' || coalesce(last_name, '')),
                jsonb_build_array(first_name, last_name, emails, phones, job_title, lead_source,
                do_not_contact, merged_into IS NOT NULL, deleted_at IS NOT NULL)::text,
                company_id, owner_id
         FROM crm_customers.contacts WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch(&mut c);
    while let Some((id, k, j, company, owner)) = rows.try_next().await? {
        acc.add(&["contact", &j, key(&companies, company), key(&users, owner)]);
        contacts.insert(id, k);
    }
    drop(rows);
    accs.push(("contacts", acc));

    let (opp_acc, lead_acc, activity_acc) =
        sales_leads_activities(d, tenant, &users, &companies, &contacts).await?;
    accs.push(("opportunities", opp_acc));
    accs.push(("leads", lead_acc));
    accs.push(("activities", activity_acc));

    let mut h = Sha256::new();
    for (kind, a) in &accs {
        h.update(format!("{kind} {} {:032x}\n", a.count, a.sum));
    }
    Ok(hex::encode(h.finalize()))
}

type OppRow = (
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
);
type LeadRow = (
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
);

/// Opportunities and leads refer to each other; each gets a key from its own fields first.
async fn sales_leads_activities(
    d: &Deployment,
    tenant: Uuid,
    users: &HashMap<Uuid, String>,
    companies: &HashMap<Uuid, String>,
    contacts: &HashMap<Uuid, String>,
) -> anyhow::Result<(Acc, Acc, Acc)> {
    let mut c = connect(d, "sales").await?;
    let history: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT opportunity_id, string_agg(jsonb_build_array(from_key, to_key, amount_micros,
                currency, probability)::text, ',' ORDER BY seq)
         FROM crm_sales.stage_history WHERE tenant_id = $1 GROUP BY opportunity_id",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await?
    .into_iter()
    .collect();
    let opps: Vec<OppRow> = sqlx::query_as(
        "SELECT id, jsonb_build_array(name, amount_micros, amount_currency, close_date)::text,
                jsonb_build_array(stage_key, forecast_category, status, probability, loss_reason,
                deleted_at IS NOT NULL)::text,
                company_id, primary_contact_id, owner_id, original_lead_id
         FROM crm_sales.opportunities WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await?;
    let opp_keys: HashMap<Uuid, String> = opps
        .iter()
        .map(|o| (o.0, digest(&format!("{}|{}", o.1, key(companies, o.3)))))
        .collect();

    let mut c = connect(d, "leads").await?;
    let leads: Vec<LeadRow> = sqlx::query_as(
        "SELECT id, jsonb_build_array(name, company_name, email, phone, title, source)::text,
                jsonb_build_array(status, disqualify_reason, score, score_reasons,
                estimated_value_micros, estimated_value_currency, description,
                deleted_at IS NOT NULL)::text,
                owner_id, converted_company_id, converted_contact_id, converted_opportunity_id
         FROM crm_leads.leads WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await?;
    let lead_keys: HashMap<Uuid, String> = leads.iter().map(|l| (l.0, digest(&l.1))).collect();

    let mut opp_acc = Acc::default();
    for (id, own, rest, company, contact, owner, lead) in &opps {
        opp_acc.add(&[
            "opportunity",
            own,
            rest,
            key(companies, *company),
            key(contacts, *contact),
            key(users, *owner),
            key(&lead_keys, *lead),
            history.get(id).map_or("", String::as_str),
        ]);
    }
    let mut lead_acc = Acc::default();
    for (_, own, rest, owner, company, contact, opp) in &leads {
        lead_acc.add(&[
            "lead",
            own,
            rest,
            key(users, *owner),
            key(companies, *company),
            key(contacts, *contact),
            key(&opp_keys, *opp),
        ]);
    }

    let mut c = connect(d, "activities").await?;
    let mut acc = Acc::default();
    let mut rows = sqlx::query_as::<_, (String, Option<Uuid>, Vec<String>, Vec<Uuid>)>(
        "SELECT jsonb_build_array(kind, subject, body, due_at, status, priority, direction,
                duration_seconds, outcome, starts_at, ends_at, location,
                deleted_at IS NOT NULL)::text, assignee_id,
                ARRAY(SELECT record_type FROM crm_activities.activity_links l
                      WHERE l.activity_id = a.id ORDER BY record_type, record_id),
                ARRAY(SELECT record_id FROM crm_activities.activity_links l
                      WHERE l.activity_id = a.id ORDER BY record_type, record_id)
         FROM crm_activities.activities a WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch(&mut c);
    while let Some((j, assignee, types, ids)) = rows.try_next().await? {
        let mut links: Vec<String> = types
            .iter()
            .zip(&ids)
            .map(|(t, id)| {
                let map = match t.as_str() {
                    "company" => companies,
                    "contact" => contacts,
                    "lead" => &lead_keys,
                    _ => &opp_keys,
                };
                format!("{t}:{}", key(map, Some(*id)))
            })
            .collect();
        links.sort();
        acc.add(&["activity", &j, key(users, assignee), &links.join(",")]);
    }
    Ok((opp_acc, lead_acc, acc))
}
