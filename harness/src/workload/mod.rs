//! The CRM workload: the operation catalogue, and a weighted, seeded mix over it that walks
//! records through their lives — leads from `new` to converted, opportunities stage by stage
//! to won or lost, companies edited with `If-Match` — learning ids from every response and
//! noting every acknowledged write for reconciliation.
//!
//! # Layout
//! - [`catalog`]: the operations, and which contexts each needs.
//! - [`pools`]: what the workload knows about the data.
//! - `ops`: the request of each operation; `learn`: what each response teaches.
//! - [`acks`]: acknowledged writes.

pub mod acks;
pub mod catalog;
mod learn;
mod ops;
pub mod pools;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use http::HeaderValue;
use rand::distributions::WeightedIndex;
use rand::prelude::Distribution;
use serde_json::Value;

use crm_load::{Op, Outcome, Workload, WorkloadRng};

use acks::Acks;
use pools::{OpenDeal, Pools, STAGES, Versioned};

/// A mix over the CRM's operations against one deployment.
pub struct CrmWorkload {
    names: Vec<&'static str>,
    weights: WeightedIndex<f64>,
    auth: HeaderValue,
    /// Makes every marker unique across the runs of one deployment.
    tag: String,
    pools: Pools,
    acks: Arc<Acks>,
}

impl CrmWorkload {
    /// A workload with `mix` (operation → weight, checked against the catalogue), calling
    /// with `token`, its markers prefixed with `tag`, its acknowledged writes into `acks`.
    pub fn new(
        mix: &BTreeMap<String, f64>,
        token: &str,
        tag: &str,
        acks: Arc<Acks>,
    ) -> anyhow::Result<CrmWorkload> {
        let mut names = Vec::new();
        let mut weights = Vec::new();
        for (name, w) in mix {
            let info = catalog::find(name).with_context(|| format!("unknown operation {name}"))?;
            if *w > 0.0 {
                names.push(info.name);
                weights.push(*w);
            }
        }
        if names.is_empty() {
            bail!("the mix has no operation with a positive weight");
        }
        Ok(CrmWorkload {
            names,
            weights: WeightedIndex::new(&weights).context("mix weights")?,
            auth: HeaderValue::from_str(&format!("Bearer {token}")).context("token")?,
            tag: tag.to_owned(),
            pools: Pools::default(),
            acks,
        })
    }

    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Fills the pools from the API: a sample of companies, contacts, leads by status and
    /// open opportunities, as a user's first screens would show them.
    pub async fn prepare(&self, public_url: &str) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let get = |path: String| {
            let http = http.clone();
            let auth = self.auth.clone();
            let url = format!("{public_url}/api/v1{path}");
            async move {
                let r = http
                    .get(&url)
                    .header(http::header::AUTHORIZATION, auth)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .with_context(|| format!("GET {url}"))?;
                if !r.status().is_success() {
                    bail!("GET {url} answered {}", r.status());
                }
                let v: Value = r.json().await?;
                anyhow::Ok(v["data"].as_array().cloned().unwrap_or_default())
            }
        };
        let uuid = |v: &Value| v.as_str().and_then(|s| s.parse().ok());
        for c in get("/companies?order_by=updated_at[desc]&limit=200".into()).await? {
            if let Some(id) = uuid(&c["id"]) {
                self.pools.companies.extend([id]);
                if let Some(v) = c["version"].as_i64() {
                    self.pools
                        .editable_companies
                        .extend([Versioned { id, version: v }]);
                }
            }
            if let Some(w) = c["name"].as_str().and_then(|n| n.split_whitespace().next()) {
                self.pools.search_terms.extend([w.to_owned()]);
            }
        }
        for c in get("/contacts?limit=200".into()).await? {
            if let Some(id) = uuid(&c["id"]) {
                self.pools.contacts.extend([(id, uuid(&c["company_id"]))]);
            }
        }
        for (status, pool) in [
            ("new", &self.pools.leads_new),
            ("assigned", &self.pools.leads_assigned),
            ("working", &self.pools.leads_working),
        ] {
            let leads = get(format!("/leads?filter=status[eq]:%22{status}%22&limit=200")).await?;
            pool.extend(leads.iter().filter_map(|l| uuid(&l["id"])));
            let mut anonymous = self.pools.leads_without_company.lock().expect("leads");
            anonymous.extend(
                leads
                    .iter()
                    .filter(|l| l["company_name"].is_null())
                    .filter_map(|l| uuid(&l["id"])),
            );
        }
        let open = get("/opportunities?filter=status[eq]:%22open%22&limit=200".into()).await?;
        self.pools.deals.extend(open.iter().filter_map(|o| {
            Some(OpenDeal {
                id: uuid(&o["id"])?,
                version: o["version"].as_i64()?,
                stage: STAGES
                    .iter()
                    .position(|s| Some(*s) == o["stage_key"].as_str())?,
            })
        }));
        Ok(())
    }
}

impl Workload for CrmWorkload {
    fn next(&self, seq: u64, rng: &mut WorkloadRng) -> Op {
        let name = self.names[self.weights.sample(rng)];
        self.build(name, seq, rng)
    }

    fn on_response(&self, op: &Op, outcome: &Outcome) {
        self.learn(op, outcome);
    }
}
