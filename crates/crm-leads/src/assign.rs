//! Lead actions: assignment (explicit or round-robin among active reps), qualify,
//! disqualify, recycle.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::record;
use crm_core::{Actor, Error, Patch, Result, Role};
use crm_identity::IdentityApi;

use crate::domain::Status;
use crate::lead::{Lead, LeadPatch, apply_patch};

/// `POST /leads/{id}/assign`: to `owner_id`, or to the next rep in round-robin order.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub owner_id: Option<Uuid>,
}

fn disqualify_schema(s: &mut schemars::Schema) {
    use crm_core::schema::{Rule, constrain};
    let reason = Rule::Text {
        max: 500,
        required: true,
    };
    constrain(s, true, &[("reason", reason)]);
}

/// `POST /leads/{id}/disqualify`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = disqualify_schema)]
pub struct DisqualifyRequest {
    pub reason: String,
}

/// The next active rep after the tenant's last assignee, wrapping around; the cursor is
/// locked so concurrent assignments take turns.
pub async fn next_rep(
    conn: &mut PgConnection,
    identity: &dyn IdentityApi,
    actor: &Actor,
) -> Result<Uuid> {
    // Reading the reps needs only read access to users, which every role has.
    let reps = identity.users_with_role(actor, Role::Rep).await?;
    if reps.is_empty() {
        return Err(Error::conflict(
            "no-reps",
            "there is no active rep to assign the lead to",
        ));
    }
    let last: Option<Uuid> = sqlx::query_scalar(
        "SELECT last_user_id FROM crm_leads.assignment_cursor WHERE tenant_id = $1 FOR UPDATE",
    )
    .bind(actor.tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    let next = match last.and_then(|l| reps.iter().position(|r| r.id == l)) {
        Some(i) => &reps[(i + 1) % reps.len()],
        None => &reps[0],
    };
    sqlx::query(
        "INSERT INTO crm_leads.assignment_cursor (tenant_id, last_user_id) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET last_user_id = EXCLUDED.last_user_id",
    )
    .bind(actor.tenant_id)
    .bind(next.id)
    .execute(&mut *conn)
    .await?;
    Ok(next.id)
}

pub async fn assign(
    conn: &mut PgConnection,
    identity: &dyn IdentityApi,
    actor: &Actor,
    id: Uuid,
    expected: Option<i64>,
    req: AssignRequest,
) -> Result<Lead> {
    let before = record::lock::<Lead>(conn, actor.tenant_id, id).await?;
    let owner = match req.owner_id {
        Some(o) => o,
        None => next_rep(conn, identity, actor).await?,
    };
    let status = match before.status {
        Status::New | Status::Recycled => Patch::Value(Status::Assigned),
        _ => Patch::Absent,
    };
    let patch = LeadPatch {
        owner_id: Patch::Value(owner),
        status,
        ..LeadPatch::default()
    };
    apply_patch(conn, actor, &before, expected, patch).await
}

/// Moves a lead to `to` (qualify → working, recycle → recycled, disqualify with a reason).
pub async fn move_to(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i64>,
    to: Status,
    reason: Option<String>,
) -> Result<Lead> {
    let before = record::lock::<Lead>(conn, actor.tenant_id, id).await?;
    let patch = LeadPatch {
        status: Patch::Value(to),
        disqualify_reason: reason.map_or(Patch::Absent, Patch::Value),
        ..LeadPatch::default()
    };
    apply_patch(conn, actor, &before, expected, patch).await
}
