//! What both loading paths do first, through the public API: find the benchmark tenant,
//! refuse if it already holds records, create the team (managers, reps, a viewer) and the
//! default pipeline with its stages, and wait until analytics has projected the stages.
//!
//! Users and the pipeline go through the API on either path: they are few, the API hashes
//! passwords and announces the pipeline and stages as events, so the analytics projections
//! of pipelines and stages are fed exactly as in normal operation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::{Client, id_of};
use super::generator::{Plan, STAGES, TeamMember};

/// The record collections that must be empty before seeding.
const RECORDS: [&str; 5] = [
    "companies",
    "contacts",
    "leads",
    "opportunities",
    "activities",
];

/// The benchmark tenant as the loading paths need it.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub tenant_id: Uuid,
    /// The admin the seeding acts as (`created_by` of every record).
    pub admin_id: Uuid,
    /// The team in [`Plan::team`] order, with their ids.
    pub team: Vec<(TeamMember, Uuid)>,
    /// Ids of the reps, in team order: the owners of records (`owner` indices).
    pub reps: Vec<Uuid>,
    pub pipeline_id: Uuid,
    /// Ids of [`STAGES`], in that order.
    pub stage_ids: Vec<Uuid>,
}

impl Tenant {
    pub fn rep(&self, i: u32) -> Uuid {
        self.reps[i as usize]
    }
}

/// Fails, having written nothing, when the tenant holds any record already.
pub(crate) async fn refuse_if_seeded(client: &Client) -> anyhow::Result<()> {
    let mut held = Vec::new();
    for r in RECORDS {
        let n = client.count(r).await?;
        if n > 0 {
            held.push(format!("{n} {r}"));
        }
    }
    if !held.is_empty() {
        bail!(
            "the benchmark tenant already holds data ({}); seed a fresh deployment \
             (crm-bench down, then crm-bench up)",
            held.join(", ")
        );
    }
    Ok(())
}

/// Prepares the tenant for `plan`: team, pipeline, stages. `password` is given to every
/// team member (the admin's, so the load generator can log in as any of them).
pub(crate) async fn prepare(
    client: &Client,
    plan: &Plan,
    password: &str,
) -> anyhow::Result<Tenant> {
    let me = client.get("/auth/me").await?;
    let admin_id = id_of(&me)?;
    let tenant_id: Uuid = me["tenant_id"]
        .as_str()
        .context("tenant_id of /auth/me")?
        .parse()?;
    refuse_if_seeded(client).await?;
    let team = ensure_team(client, plan, password).await?;
    let reps = team
        .iter()
        .filter(|(m, _)| m.role == "rep")
        .map(|(_, id)| *id)
        .collect();
    let (pipeline_id, stage_ids) = ensure_pipeline(client).await?;
    wait_for_stage_projection(client, pipeline_id).await?;
    Ok(Tenant {
        tenant_id,
        admin_id,
        team,
        reps,
        pipeline_id,
        stage_ids,
    })
}

/// Creates the team members that do not exist yet (a seeding that failed part-way may have
/// made some).
async fn ensure_team(
    client: &Client,
    plan: &Plan,
    password: &str,
) -> anyhow::Result<Vec<(TeamMember, Uuid)>> {
    let users = client.get("/users?limit=200").await?;
    let mut existing: HashMap<String, Uuid> = HashMap::new();
    for u in users["data"].as_array().context("users")? {
        if let Some(e) = u["email"].as_str() {
            existing.insert(e.to_ascii_lowercase(), id_of(u)?);
        }
    }
    let team = plan.team();
    let missing: Vec<Value> = team
        .iter()
        .filter(|m| !existing.contains_key(&m.email))
        .map(|m| json!({"email": m.email, "name": m.name, "role": m.role, "password": password}))
        .collect();
    for chunk in missing.chunks(100) {
        for u in client.batch("users", "create", chunk.to_vec()).await? {
            existing.insert(
                u["email"].as_str().context("email")?.to_ascii_lowercase(),
                id_of(&u)?,
            );
        }
    }
    team.into_iter()
        .map(|m| {
            let id = *existing.get(&m.email).context("a team member")?;
            Ok((m, id))
        })
        .collect()
}

/// The tenant's default pipeline (created with the default stages if there is none), and
/// its stage ids in [`STAGES`] order; fails if its stages are not the default ones.
async fn ensure_pipeline(client: &Client) -> anyhow::Result<(Uuid, Vec<Uuid>)> {
    let found = client
        .get("/pipelines?filter=is_default[eq]:true&limit=1")
        .await?;
    let pipeline = match found["data"].as_array().and_then(|d| d.first()) {
        Some(p) => p.clone(),
        None => {
            client
                .post(
                    "/pipelines",
                    &json!({"name": "Sales pipeline", "is_default": true}),
                )
                .await?
        }
    };
    let pipeline_id = id_of(&pipeline)?;
    let stages = client
        .get(&format!("/pipelines/{pipeline_id}/stages"))
        .await?;
    let stages = stages["data"].as_array().context("stages")?;
    let mut ids = Vec::new();
    for def in STAGES {
        let s = stages
            .iter()
            .find(|s| s["key"] == def.key)
            .with_context(|| format!("the default pipeline has no stage '{}'", def.key))?;
        if s["probability"] != def.probability
            || s["is_closed"] != def.is_closed
            || s["is_won"] != def.is_won
            || s["forecast_category"] != def.forecast_category
        {
            bail!("stage '{}' is not the default one: {s}", def.key);
        }
        ids.push(id_of(s)?);
    }
    Ok((pipeline_id, ids))
}

/// Analytics learns of stages from their events; the analytics truth (stage labels) and
/// the bulk path's projections need them there first.
async fn wait_for_stage_projection(client: &Client, pipeline_id: Uuid) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let r = client
            .get(&format!("/analytics/pipeline?pipeline_id={pipeline_id}"))
            .await?;
        let labelled = r["stages"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|s| s["label"].is_string()).count());
        if labelled >= STAGES.len() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("analytics has not projected the pipeline's stages after 60 s: {r}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
