//! Learning from responses: new ids into the pools, advanced records into their next pool,
//! acknowledged writes into [`Acks`](super::acks::Acks); records whose request failed
//! without an answer go back where they were (their change may or may not have happened:
//! a retry with the old version then gets 412 and drops them).

use http::header::IF_MATCH;
use rand::SeedableRng;
use serde_json::Value;
use uuid::Uuid;

use crm_load::{Op, Outcome};

use super::CrmWorkload;
use super::acks::Kind;
use super::pools::{OpenDeal, STAGES, Versioned};

fn uuid(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| s.parse().ok())
}

fn stage_index(key: &str) -> Option<usize> {
    STAGES.iter().position(|s| *s == key)
}

/// The record id in a path like `/api/v1/leads/{id}/assign`.
fn path_id(op: &Op, segment: usize) -> Option<Uuid> {
    op.path
        .path()
        .split('/')
        .nth(segment)
        .and_then(|s| s.parse().ok())
}

fn if_match(op: &Op) -> Option<i64> {
    op.headers
        .get(IF_MATCH)?
        .to_str()
        .ok()?
        .trim_matches('"')
        .parse()
        .ok()
}

impl CrmWorkload {
    pub(crate) fn learn(&self, op: &Op, outcome: &Outcome) {
        // Seeded per outcome so learning stays reproducible without a shared RNG.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(outcome.seq);
        let rng = &mut rng;
        let p = &self.pools;
        let answered = outcome.status().map(|s| s.as_u16());
        let ok = outcome.is_success();
        // No answer, or the server failed: the change may not have happened.
        let unknown = answered.is_none_or(|s| s >= 500);
        let body: Option<Value> = if ok {
            outcome.body().and_then(|b| serde_json::from_slice(b).ok())
        } else {
            None
        };
        // `/api/v1/<resource>/<id>/...` — segment 4 is the id.
        let id = path_id(op, 4);
        match op.name.as_ref() {
            "list_companies" => {
                if let Some(b) = &body {
                    for c in b["data"].as_array().into_iter().flatten() {
                        if let Some(cid) = uuid(&c["id"]) {
                            p.companies.put(cid, rng);
                        }
                        if let Some(word) =
                            c["name"].as_str().and_then(|n| n.split_whitespace().next())
                        {
                            p.search_terms.put(word.to_owned(), rng);
                        }
                    }
                    if let Some(cursor) = b["page"]["next_cursor"].as_str() {
                        p.cursors.put(cursor.to_owned(), rng);
                    }
                }
            }
            "list_contacts" => {
                for c in body
                    .iter()
                    .flat_map(|b| b["data"].as_array().into_iter().flatten())
                {
                    if let Some(cid) = uuid(&c["id"]) {
                        p.contacts.put((cid, uuid(&c["company_id"])), rng);
                    }
                }
            }
            "create_company" => {
                if let Some(b) = &body
                    && let Some(cid) = uuid(&b["id"])
                {
                    p.companies.put(cid, rng);
                    if let Some(v) = b["version"].as_i64() {
                        p.editable_companies.put(
                            Versioned {
                                id: cid,
                                version: v,
                            },
                            rng,
                        );
                    }
                    self.acks
                        .created(Kind::Company, cid, b["name"].as_str().map(str::to_owned));
                }
            }
            "update_company" => match (&body, id) {
                (Some(b), Some(cid)) => {
                    if let Some(v) = b["version"].as_i64() {
                        p.editable_companies.put(
                            Versioned {
                                id: cid,
                                version: v,
                            },
                            rng,
                        );
                        self.acks.updated(Kind::Company, cid, v);
                    }
                }
                (None, Some(cid)) if unknown => {
                    if let Some(v) = if_match(op) {
                        p.editable_companies.put(
                            Versioned {
                                id: cid,
                                version: v,
                            },
                            rng,
                        );
                    }
                }
                _ => {}
            },
            "create_contact" => {
                if let Some(b) = &body
                    && let Some(cid) = uuid(&b["id"])
                {
                    p.contacts.put((cid, uuid(&b["company_id"])), rng);
                    self.acks.created(
                        Kind::Contact,
                        cid,
                        b["last_name"].as_str().map(str::to_owned),
                    );
                }
            }
            "log_activity" => {
                if let Some(b) = &body
                    && let Some(aid) = uuid(&b["id"])
                {
                    self.acks.created(
                        Kind::Activity,
                        aid,
                        b["subject"].as_str().map(str::to_owned),
                    );
                }
            }
            "create_lead" => {
                if let Some(b) = &body
                    && let Some(lid) = uuid(&b["id"])
                {
                    p.leads_new.put(lid, rng);
                    self.acks
                        .created(Kind::Lead, lid, b["name"].as_str().map(str::to_owned));
                }
            }
            "assign_lead" | "qualify_lead" => {
                let (from, to) = if op.name == "assign_lead" {
                    (&p.leads_new, &p.leads_assigned)
                } else {
                    (&p.leads_assigned, &p.leads_working)
                };
                match (&body, id) {
                    (Some(b), Some(lid)) => {
                        to.put(lid, rng);
                        if let Some(v) = b["version"].as_i64() {
                            self.acks.updated(Kind::Lead, lid, v);
                        }
                    }
                    (None, Some(lid)) if unknown => from.put(lid, rng),
                    _ => {}
                }
            }
            "convert_lead" => match (&body, id) {
                (Some(b), Some(lid)) => {
                    if let Some(v) = b["lead"]["version"].as_i64() {
                        self.acks.updated(Kind::Lead, lid, v);
                    }
                    let company = uuid(&b["company"]["id"]);
                    if let Some(c) = company {
                        p.companies.put(c, rng);
                        self.acks
                            .created(Kind::Company, c, self.own_marker(&b["company"]["name"]));
                    }
                    if let Some(c) = uuid(&b["contact"]["id"]) {
                        p.contacts.put((c, company), rng);
                        self.acks.created(Kind::Contact, c, None);
                    }
                    if let Some(o) = uuid(&b["opportunity"]["id"]) {
                        self.acks.created(
                            Kind::Opportunity,
                            o,
                            self.own_marker(&b["opportunity"]["name"]),
                        );
                        self.learn_deal(&b["opportunity"], rng);
                    }
                }
                (None, Some(lid)) if unknown => p.leads_working.put(lid, rng),
                _ => {}
            },
            "create_opportunity" => {
                if let Some(b) = &body
                    && let Some(o) = uuid(&b["id"])
                {
                    self.acks
                        .created(Kind::Opportunity, o, b["name"].as_str().map(str::to_owned));
                    self.learn_deal(b, rng);
                }
            }
            "move_opportunity" => match (&body, id) {
                (Some(b), Some(o)) => {
                    if let Some(v) = b["version"].as_i64() {
                        self.acks.updated(Kind::Opportunity, o, v);
                    }
                    self.learn_deal(b, rng);
                }
                (None, Some(o)) if unknown => {
                    let target: Option<Value> = serde_json::from_slice(&op.body).ok();
                    let to = target
                        .as_ref()
                        .and_then(|t| t["stage_key"].as_str())
                        .and_then(stage_index);
                    if let (Some(v), Some(to)) = (if_match(op), to) {
                        p.deals.put(
                            OpenDeal {
                                id: o,
                                version: v,
                                stage: to.saturating_sub(1),
                            },
                            rng,
                        );
                    }
                }
                _ => {}
            },
            "batch_import" => {
                for r in body
                    .iter()
                    .flat_map(|b| b["results"].as_array().into_iter().flatten())
                {
                    if let Some(c) = uuid(&r["data"]["id"]) {
                        p.contacts.put((c, uuid(&r["data"]["company_id"])), rng);
                        self.acks.created(
                            Kind::Contact,
                            c,
                            r["data"]["last_name"].as_str().map(str::to_owned),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// A name as a reconciliation marker only when this workload made it unique (a lead it
    /// created names its company after its marker); a seeded lead's company name need not be
    /// unique, so records made from it are checked by id alone.
    fn own_marker(&self, name: &Value) -> Option<String> {
        name.as_str()
            .filter(|n| n.contains(&self.tag))
            .map(str::to_owned)
    }

    /// An opportunity still open goes (back) into the deal pool with its version and stage.
    fn learn_deal(&self, o: &Value, rng: &mut rand_chacha::ChaCha8Rng) {
        let open = o["status"].as_str() == Some("open");
        if let (true, Some(id), Some(version), Some(stage)) = (
            open,
            uuid(&o["id"]),
            o["version"].as_i64(),
            o["stage_key"].as_str().and_then(stage_index),
        ) {
            self.pools.deals.put(OpenDeal { id, version, stage }, rng);
        }
    }
}
