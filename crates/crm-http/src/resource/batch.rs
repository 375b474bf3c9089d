//! `POST /{collection}/batch`: up to [`MAX_BATCH`] creates, upserts or deletes in one
//! transaction, each item in its own savepoint; all or none on request. Items without their
//! mode's shape refuse the whole batch before anything is written.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Acquire;
use uuid::Uuid;

use crm_core::record::{self, Resource, Writer};
use crm_core::{Action, Actor, Error, FieldError, Problem, db};

use super::MAX_BATCH;
use crate::extract::{Caller, RawJson, from_value};
use crate::openapi::ApiDoc;
use crate::{ApiResult, Json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    Create,
    Upsert,
    Delete,
}

/// `POST /{collection}/batch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub mode: BatchMode,
    /// 1 to 100 items: create bodies; for upsert optionally with `id` (and `version`), else
    /// matched by natural key; for delete `{id, version?}`.
    pub items: Vec<Value>,
    /// `true`: any failing item rolls back the whole batch (answer 422).
    #[serde(default)]
    pub all_or_none: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchItemResult<R> {
    pub index: usize,
    /// The status this item would have had as a single request.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchResponse<R> {
    pub committed: bool,
    pub results: Vec<BatchItemResult<R>>,
}

/// `POST /{collection}/batch`: the items in order, each in a savepoint. The items share one
/// memory of reference look-ups, so an owner named by every item is asked about once.
pub(super) async fn batch<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    body: RawJson,
) -> ApiResult<Response> {
    crm_core::refs::scope(run_batch::<R, W>(w, actor, body)).await
}

async fn run_batch<R: Resource, W: Writer<R>>(
    w: Arc<W>,
    actor: Actor,
    body: RawJson,
) -> ApiResult<Response> {
    actor.require(Action::Read, R::PERMISSION)?;
    let req: BatchRequest = body.parse()?;
    match req.mode {
        BatchMode::Create => actor.require(Action::Create, R::PERMISSION)?,
        BatchMode::Upsert => {
            actor.require(Action::Create, R::PERMISSION)?;
            actor.require(Action::Update, R::PERMISSION)?;
        }
        BatchMode::Delete => actor.require(Action::Delete, R::PERMISSION)?,
    }
    if req.items.is_empty() || req.items.len() > MAX_BATCH {
        return Err(Error::invalid("items", format!("must hold 1 to {MAX_BATCH} items")).into());
    }
    check_shapes::<R, W>(req.mode, &req.items)?;
    let mut tx = w.pool().begin().await?;
    let mut results = Vec::with_capacity(req.items.len());
    let mut failed = Vec::new();
    for (index, item) in req.items.into_iter().enumerate() {
        let mut sp = tx.begin().await?;
        let outcome = batch_item::<R, W>(&w, &mut sp, &actor, req.mode, index, item).await;
        match outcome {
            Ok((action, r)) => {
                sp.commit().await?;
                let status = if action == "created" { 201 } else { 200 };
                results.push(BatchItemResult {
                    index,
                    status,
                    action: Some(action.to_owned()),
                    data: Some(r),
                    error: None,
                });
            }
            // A dependency that cannot answer fails the batch: nothing is written.
            Err(e @ (Error::Internal(_) | Error::Unavailable(_) | Error::Timeout(_))) => {
                return Err(e.into());
            }
            Err(e) => {
                sp.rollback().await?;
                let problem = e.problem();
                for fe in &problem.errors {
                    failed.push(FieldError::new(fe.field.clone(), fe.message.clone()));
                }
                if problem.errors.is_empty() {
                    failed.push(FieldError::new(
                        format!("items[{index}]"),
                        problem.detail.clone().unwrap_or_default(),
                    ));
                }
                results.push(BatchItemResult {
                    index,
                    status: problem.status,
                    action: None,
                    data: None,
                    error: Some(problem),
                });
            }
        }
    }
    if req.all_or_none && !failed.is_empty() {
        tx.rollback().await?;
        let mut problem = Problem::new(
            "batch-rejected",
            422,
            format!("{} item(s) failed; nothing was written", failed.len()),
        );
        problem.errors = failed;
        let rolled_back: Vec<BatchItemResult<R>> = results
            .into_iter()
            .map(|mut r| {
                r.data = None;
                r.action = None;
                if r.error.is_none() {
                    r.status = 424;
                }
                r
            })
            .collect();
        problem
            .extra
            .insert("results".into(), serde_json::to_value(rolled_back)?);
        let mut res = crate::respond::json(http::StatusCode::UNPROCESSABLE_ENTITY, &problem);
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(Problem::CONTENT_TYPE),
        );
        return Ok(res);
    }
    db::commit(tx).await?;
    Ok(Json(BatchResponse {
        committed: true,
        results,
    })
    .into_response())
}

/// Items that do not have their mode's shape (wrong types, unknown fields: what the document's
/// item schema rules out) make the whole batch a 422 naming them, before anything is written;
/// what depends on the data or on a field's rules is reported item by item.
fn check_shapes<R: Resource, W: Writer<R>>(
    mode: BatchMode,
    items: &[Value],
) -> crm_core::Result<()> {
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let prefix = format!("items[{index}]");
        let mut item = item.clone();
        let shaped = match mode {
            BatchMode::Create => from_value::<W::Create>(&prefix, item).map(|_| ()),
            BatchMode::Upsert => take_id(index, &mut item)
                .and_then(|_| from_value::<W::Create>(&prefix, item).map(|_| ())),
            BatchMode::Delete => take_id(index, &mut item).and_then(|(id, _)| {
                match item.as_object().and_then(|o| o.keys().next()) {
                    Some(extra) => Err(Error::invalid(
                        format!("{prefix}.{extra}"),
                        "unknown field: a delete item holds only id and version",
                    )),
                    None if id.is_none() => {
                        Err(Error::invalid(format!("{prefix}.id"), "is required"))
                    }
                    None => Ok(()),
                }
            }),
        };
        match shaped {
            Ok(()) => {}
            Err(Error::Validation(es)) => errors.extend(es),
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// Splits `id` and `version` off an upsert/delete item.
fn take_id(index: usize, item: &mut Value) -> crm_core::Result<(Option<Uuid>, Option<i64>)> {
    let Some(obj) = item.as_object_mut() else {
        return Err(Error::invalid(
            format!("items[{index}]"),
            "must be an object",
        ));
    };
    let id = match obj.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Uuid::parse_str(&s).map_err(|_| {
            Error::invalid(
                format!("items[{index}].id"),
                format!("'{s}' is not a valid id"),
            )
        })?),
        Some(_) => {
            return Err(Error::invalid(
                format!("items[{index}].id"),
                "must be a string id",
            ));
        }
    };
    let version = match obj.remove("version") {
        None | Some(Value::Null) => None,
        // Any integer JSON Schema calls one (1e20 too); one beyond i64 matches no version.
        Some(v) => Some(
            v.as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| {
                    Error::invalid(format!("items[{index}].version"), "must be an integer")
                })?,
        ),
    };
    Ok((id, version))
}

async fn batch_item<R: Resource, W: Writer<R>>(
    w: &W,
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    mode: BatchMode,
    index: usize,
    mut item: Value,
) -> crm_core::Result<(&'static str, R)> {
    let prefix = format!("items[{index}]");
    match mode {
        BatchMode::Create => {
            let input: W::Create = from_value(&prefix, item)?;
            Ok(("created", w.create(conn, actor, input).await?))
        }
        BatchMode::Delete => {
            let (id, version) = take_id(index, &mut item)?;
            if let Some(extra) = item.as_object().and_then(|o| o.keys().next()) {
                return Err(Error::invalid(
                    format!("{prefix}.{extra}"),
                    "unknown field: a delete item holds only id and version",
                ));
            }
            let id = id.ok_or_else(|| Error::invalid(format!("{prefix}.id"), "is required"))?;
            Ok((
                "deleted",
                record::delete::<R>(conn, actor, id, version).await?,
            ))
        }
        BatchMode::Upsert => {
            let (id, version) = take_id(index, &mut item)?;
            let existing = match id {
                Some(id) => Some(record::get::<R>(conn, actor.tenant_id, id).await?),
                None => w.find_natural(conn, actor, &item).await?,
            };
            match existing {
                Some(r) => {
                    let patch: W::Patch = from_value(&prefix, item)?;
                    let id = r.meta().id;
                    Ok(("updated", w.update(conn, actor, id, version, patch).await?))
                }
                None => {
                    let input: W::Create = from_value(&prefix, item)?;
                    Ok(("created", w.create(conn, actor, input).await?))
                }
            }
        }
    }
}

/// The body of `POST /{collection}/batch` as the server reads it: one shape per mode, its
/// items those of a create (`create`), a create with an optional `id` and `version`
/// (`upsert`), or `{id, version?}` (`delete`); 1 to 100 of them.
pub(super) fn batch_request_schema(doc: &mut ApiDoc, create: &Value) -> Value {
    let uuid = serde_json::json!({"type": "string", "format": "uuid"});
    let version = serde_json::json!({"type": ["integer", "null"]});
    let mut upsert = doc.resolve(create);
    if let Some(props) = upsert["properties"].as_object_mut() {
        props.insert(
            "id".into(),
            serde_json::json!({"type": ["string", "null"], "format": "uuid"}),
        );
        props.insert("version".into(), version.clone());
    }
    let delete = serde_json::json!({
        "type": "object", "additionalProperties": false, "required": ["id"],
        "properties": {"id": uuid, "version": version}
    });
    let mode = |name: &str, item: Value| {
        serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["mode", "items"],
            "properties": {
                "mode": {"const": name},
                "items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": item},
                "all_or_none": {"type": "boolean", "description": "true: any failing item rolls back the whole batch (422)"}
            }
        })
    };
    // Items inline rather than by reference: schemathesis' coverage phase mixes a referenced
    // item's properties into the batch object otherwise.
    let create = doc.resolve(create);
    serde_json::json!({"oneOf": [
        mode("create", create),
        mode("upsert", upsert),
        mode("delete", delete),
    ]})
}
