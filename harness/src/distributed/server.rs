//! `crm-bench load-worker --listen ADDR`: waits for assignments, runs each with the local
//! open-loop engine (the CRM workload, its pools filled from the API first) and answers
//! with the results and the acknowledged writes.

use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crm_load::Target;

use super::{Assignment, Hello, SERVICE, WorkerReply};
use crate::workload::CrmWorkload;
use crate::workload::acks::{Acks, Updated};

/// Serves on `listen` until the process ends; prints the address it listens on first.
pub async fn serve(listen: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("listen on {listen}"))?;
    println!("{SERVICE} listening on {}", listener.local_addr()?);
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let app = Router::new()
        .route("/health", get(health))
        .route("/run", post(run))
        .with_state(Arc::new(Mutex::new(())));
    axum::serve(listener, app).await.context("serve")
}

async fn health(State(busy): State<Arc<Mutex<()>>>) -> Json<Hello> {
    Json(Hello {
        service: SERVICE.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        busy: busy.try_lock().is_err(),
    })
}

async fn run(
    State(busy): State<Arc<Mutex<()>>>,
    Json(a): Json<Assignment>,
) -> Result<Json<WorkerReply>, (StatusCode, String)> {
    let Ok(_running) = busy.try_lock() else {
        return Err((StatusCode::CONFLICT, "busy with another run".into()));
    };
    execute(a)
        .await
        .map(Json)
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))
}

/// Runs one assignment.
async fn execute(a: Assignment) -> anyhow::Result<WorkerReply> {
    let target = Target::parse(&a.target)?;
    let acks = Arc::new(Acks::default());
    let workload = CrmWorkload::new(&a.mix, &a.token, &a.tag, acks.clone())?;
    workload
        .prepare(&a.target)
        .await
        .context("prepare the workload")?;
    let mut config = a.config;
    // Neither the coordinator's CPUs nor its log and tracer mean anything here.
    config.cpus.clear();
    config.request_log = 0;
    config.trace_ratio = None;
    let results = crm_load::run_open_loop(&target, config, Arc::new(workload)).await?;
    let updated = acks
        .latest_updates()
        .into_iter()
        .map(|((kind, id), version)| Updated { kind, id, version })
        .collect();
    Ok(WorkerReply {
        results,
        created: acks.all_created(),
        updated,
    })
}
