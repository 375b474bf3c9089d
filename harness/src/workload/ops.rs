//! Building each operation's request. An operation whose record pool is empty (no `new`
//! lead to assign yet, say) becomes the operation that fills that pool, so the mix never
//! stalls; the histograms are keyed by what was actually sent.

use http::header::{AUTHORIZATION, HeaderName, IF_MATCH};
use http::{HeaderValue, Method};
use rand::Rng;
use serde_json::{Value, json};

use crm_load::{Op, WorkloadRng};

use super::CrmWorkload;
use super::pools::STAGES;

const API: &str = "/api/v1";
const INDUSTRIES: [&str; 8] = [
    "Software",
    "Manufacturing",
    "Retail",
    "Finance",
    "Healthcare",
    "Logistics",
    "Energy",
    "Media",
];
const FIRST_NAMES: [&str; 10] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Linus",
];

fn header(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).expect("ASCII header value")
}

impl CrmWorkload {
    fn op(&self, name: &'static str, method: Method, path: &str, body: Option<Value>) -> Op {
        let mut op = Op::new(name, method, path).expect("workload paths are origin-form");
        op = op.with_header(AUTHORIZATION, self.auth.clone());
        if let Some(b) = body {
            op = op
                .with_header(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .with_body(serde_json::to_vec(&b).expect("JSON"));
        }
        op
    }

    fn get(&self, name: &'static str, path: &str) -> Op {
        self.op(name, Method::GET, path, None)
    }

    fn post(&self, name: &'static str, path: &str, body: Value) -> Op {
        self.op(name, Method::POST, path, Some(body))
    }

    /// The request for operation `name` (or its stand-in when its pool is empty).
    pub(crate) fn build(&self, name: &'static str, seq: u64, rng: &mut WorkloadRng) -> Op {
        let p = &self.pools;
        let marker = format!("{}-{seq:08}", self.tag);
        match name {
            "list_companies" => {
                let path = match p.cursors.pick(rng) {
                    Some(c) if rng.gen_bool(0.5) => format!(
                        "{API}/companies?order_by=updated_at[desc]&limit=20&starting_after={c}"
                    ),
                    _ => {
                        let min = [10, 50, 100, 500, 1000][rng.gen_range(0..5)];
                        format!(
                            "{API}/companies?filter=employees[gte]:{min}&order_by=updated_at[desc]&limit=20"
                        )
                    }
                };
                self.get("list_companies", &path)
            }
            "get_company" => match p.companies.pick(rng) {
                Some(id) => self.get("get_company", &format!("{API}/companies/{id}")),
                None => self.build("create_company", seq, rng),
            },
            "list_contacts" => match p.companies.pick(rng) {
                Some(id) => self.get(
                    "list_contacts",
                    &format!(
                        "{API}/contacts?filter=company_id[eq]:%22{id}%22&order_by=last_name[asc]&limit=25"
                    ),
                ),
                None => self.build("create_company", seq, rng),
            },
            "get_contact" => match p.contacts.pick(rng) {
                Some((id, _)) => self.get("get_contact", &format!("{API}/contacts/{id}")),
                None => self.build("create_contact", seq, rng),
            },
            "search" => match p.search_terms.pick(rng) {
                Some(term) => self.get(
                    "search",
                    &format!("{API}/search?q={term}&types=company,contact,lead,opportunity"),
                ),
                None => self.build("list_companies", seq, rng),
            },
            "customer_360" => match p.companies.pick(rng) {
                Some(id) => self.get("customer_360", &format!("{API}/companies/{id}/overview")),
                None => self.build("create_company", seq, rng),
            },
            "list_opportunities" => {
                let stage = STAGES[rng.gen_range(0..STAGES.len())];
                self.get(
                    "list_opportunities",
                    &format!(
                        "{API}/opportunities?filter=stage_key[eq]:%22{stage}%22&order_by=updated_at[desc]&limit=20"
                    ),
                )
            }
            "create_company" => self.post(
                "create_company",
                &format!("{API}/companies"),
                json!({
                    "name": format!("Bench Co {marker}"),
                    "domain": format!("{marker}.bench.example"),
                    "industry": INDUSTRIES[rng.gen_range(0..INDUSTRIES.len())],
                    "employees": rng.gen_range(1..5000),
                }),
            ),
            "update_company" => match p.editable_companies.take(rng) {
                Some(c) => self
                    .op(
                        "update_company",
                        Method::PATCH,
                        &format!("{API}/companies/{}", c.id),
                        Some(json!({"employees": rng.gen_range(1..5000)})),
                    )
                    .with_header(IF_MATCH, header(&format!("\"{}\"", c.version))),
                None => self.build("get_company", seq, rng),
            },
            "create_contact" => {
                let company = p.companies.pick(rng);
                let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
                self.post(
                    "create_contact",
                    &format!("{API}/contacts"),
                    json!({
                        "first_name": first,
                        "last_name": format!("Contact {marker}"),
                        "emails": [format!("{marker}@contacts.bench.example")],
                        "job_title": "Buyer",
                        "company_id": company,
                    }),
                )
            }
            "log_activity" => match p.contacts.pick(rng) {
                Some((contact, company)) => {
                    let mut links = vec![json!({"type": "contact", "id": contact})];
                    if let Some(c) = company {
                        links.push(json!({"type": "company", "id": c}));
                    }
                    self.post(
                        "log_activity",
                        &format!("{API}/activities"),
                        json!({
                            "kind": "call",
                            "subject": format!("Call {marker}"),
                            "direction": "outbound",
                            "duration_seconds": rng.gen_range(60..1800),
                            "outcome": "connected",
                            "links": links,
                        }),
                    )
                }
                None => self.build("create_contact", seq, rng),
            },
            "create_lead" => {
                let source = ["web", "referral", "event", "campaign"][rng.gen_range(0..4)];
                self.post(
                "create_lead",
                &format!("{API}/leads"),
                json!({
                    "name": format!("Lead {marker}"),
                    "company_name": format!("Prospect {marker}"),
                    "email": format!("lead@{marker}.leads.bench.example"),
                    "source": source,
                    "estimated_value": {"amount_micros": rng.gen_range(1_000..200_000i64) * 1_000_000, "currency": "EUR"},
                }),
            )
            }
            "assign_lead" => match p.leads_new.take(rng) {
                Some(id) => self.post("assign_lead", &format!("{API}/leads/{id}/assign"), json!({})),
                None => self.build("create_lead", seq, rng),
            },
            "qualify_lead" => match p.leads_assigned.take(rng) {
                Some(id) => self.post("qualify_lead", &format!("{API}/leads/{id}/qualify"), json!({})),
                None => self.build("assign_lead", seq, rng),
            },
            "convert_lead" => match p.leads_working.take(rng) {
                Some(id) => {
                    // A lead that names no company needs the company's data to convert.
                    let anonymous = p.leads_without_company.lock().expect("leads").contains(&id);
                    let mut body = json!({"opportunity": {"close_date": "2027-06-30"}});
                    if anonymous {
                        body["company"] = json!({"data": {"name": format!("Customer {marker}")}});
                    }
                    self.post("convert_lead", &format!("{API}/leads/{id}/convert"), body)
                    .with_header(
                        HeaderName::from_static("x-skip-duplicate-check"),
                        HeaderValue::from_static("true"),
                    )
                    .with_header(
                        HeaderName::from_static("idempotency-key"),
                        header(&format!("convert-{id}")),
                    )
                }
                None => self.build("qualify_lead", seq, rng),
            },
            "create_opportunity" => match p.companies.pick(rng) {
                Some(company) => self.post(
                    "create_opportunity",
                    &format!("{API}/opportunities"),
                    json!({
                        "name": format!("Deal {marker}"),
                        "company_id": company,
                        "amount": {"amount_micros": rng.gen_range(1_000..500_000i64) * 1_000_000, "currency": "EUR"},
                        "close_date": "2027-03-31",
                    }),
                ),
                None => self.build("create_company", seq, rng),
            },
            "move_opportunity" => match p.deals.take(rng) {
                Some(d) => {
                    let body = if d.stage + 1 < STAGES.len() {
                        json!({"stage_key": STAGES[d.stage + 1]})
                    } else if rng.gen_bool(0.6) {
                        json!({"stage_key": "closed_won"})
                    } else {
                        json!({"stage_key": "closed_lost", "loss_reason": "price"})
                    };
                    self.post(
                        "move_opportunity",
                        &format!("{API}/opportunities/{}/move", d.id),
                        body,
                    )
                    .with_header(IF_MATCH, header(&format!("\"{}\"", d.version)))
                }
                None => self.build("create_opportunity", seq, rng),
            },
            "analytics_pipeline" => self.get(name, &format!("{API}/analytics/pipeline")),
            "analytics_forecast" => {
                self.get(name, &format!("{API}/analytics/forecast?period=quarter"))
            }
            "analytics_win_rate" => self.get(name, &format!("{API}/analytics/win-rate")),
            "analytics_funnel" => self.get(name, &format!("{API}/analytics/funnel")),
            "batch_import" => {
                let company = p.companies.pick(rng);
                let items: Vec<Value> = (0..25)
                    .map(|i| {
                        json!({
                            "first_name": FIRST_NAMES[i % FIRST_NAMES.len()],
                            "last_name": format!("Imported {marker}-{i:02}"),
                            "emails": [format!("{marker}-{i:02}@import.bench.example")],
                            "company_id": company,
                        })
                    })
                    .collect();
                self.post(
                    "batch_import",
                    &format!("{API}/contacts/batch"),
                    json!({"mode": "create", "all_or_none": true, "items": items}),
                )
            }
            other => unreachable!("operation {other} is validated against the catalogue"),
        }
    }
}
