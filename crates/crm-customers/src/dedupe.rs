//! Duplicate candidates and merging, for companies and contacts.
//!
//! A merge keeps the primary record, fills its empty fields from the duplicates, moves the
//! duplicates' contacts to it (companies), soft-deletes the duplicates with `merged_into`
//! set, and announces `{object}.merged` so other contexts re-point their references
//! (opportunities, activities) by event.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;

use crm_core::query::SqlValue;
use crm_core::record::{self, Resource};
use crm_core::{Actor, Error, EventEnvelope, Result, outbox, validate};

use crate::company::{Company, CompanyPatch, NewCompany};
use crate::contact::{Contact, ContactPatch, NewContact};

pub const MAX_MERGE: usize = 10;

/// A possible duplicate, with why it matched.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Candidate<R> {
    pub record: R,
    /// `same_domain`, `similar_name`, `same_email`, `same_name`.
    pub reasons: Vec<String>,
    /// 0..1, higher is more likely the same.
    pub score: f32,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Candidates<R> {
    pub data: Vec<Candidate<R>>,
}

/// `POST /{companies|contacts}/merge`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The record that stays.
    pub primary_id: Uuid,
    /// 1 to 10 records merged into it and then deleted, each once, none the primary.
    #[schemars(length(min = 1, max = 10), extend("uniqueItems" = true))]
    pub duplicate_ids: Vec<Uuid>,
}

impl MergeRequest {
    fn check(&self) -> Result<()> {
        if self.duplicate_ids.is_empty() || self.duplicate_ids.len() > MAX_MERGE {
            return Err(Error::invalid(
                "duplicate_ids",
                format!("must hold 1 to {MAX_MERGE} ids"),
            ));
        }
        for (i, id) in self.duplicate_ids.iter().enumerate() {
            if *id == self.primary_id || self.duplicate_ids[..i].contains(id) {
                return Err(Error::inconsistent(
                    format!("duplicate_ids[{i}]"),
                    "must differ from primary_id and from the other duplicates",
                ));
            }
        }
        Ok(())
    }
}

/// Companies that look like `input`: same normalised domain, or a similar name (trigram).
pub async fn company_candidates(
    conn: &mut PgConnection,
    tenant: Uuid,
    input: &NewCompany,
    exclude: Option<Uuid>,
) -> Result<Vec<Candidate<Company>>> {
    // A bad domain is the body's error (as in a create), not "no key to look by".
    let domain = match input.domain.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(validate::web_domain("domain", d).map_err(|e| Error::Validation(vec![e]))?),
    };
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if domain.is_none() && name.is_none() {
        return Err(Error::inconsistent(
            "name",
            "give a name or a domain to look for duplicates",
        ));
    }
    let rows = sqlx::query(&format!(
        "SELECT {cols}, coalesce(domain = $2, false) AS same_domain,
                coalesce(similarity(lower(name), lower($3)), 0)::real AS sim
         FROM {table}
         WHERE tenant_id = $1 AND deleted_at IS NULL AND ($4::uuid IS NULL OR id <> $4)
           AND (domain = $2 OR (lower(name) % lower($3) AND similarity(lower(name), lower($3)) >= 0.5))
         ORDER BY same_domain DESC, sim DESC, id
         LIMIT 10",
        cols = Company::COLUMNS,
        table = Company::TABLE
    ))
    .bind(tenant)
    .bind(domain)
    .bind(name)
    .bind(exclude)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row: &PgRow| {
            let same_domain: bool = row.try_get("same_domain")?;
            let sim: f32 = row.try_get("sim")?;
            let mut reasons = Vec::new();
            if same_domain {
                reasons.push("same_domain".to_owned());
            }
            if sim >= 0.5 {
                reasons.push("similar_name".to_owned());
            }
            Ok(Candidate {
                record: Company::from_row(row)?,
                reasons,
                score: if same_domain { 1.0 } else { sim },
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Contacts that look like `input`: any shared e-mail, or the same first and last name.
pub async fn contact_candidates(
    conn: &mut PgConnection,
    tenant: Uuid,
    input: &NewContact,
    exclude: Option<Uuid>,
) -> Result<Vec<Candidate<Contact>>> {
    // A bad e-mail is the body's error (as in a create), not "no key to look by".
    let emails: Vec<String> = input
        .emails
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| {
            validate::email(&format!("emails[{i}]"), e)
                .map(|e| e.to_lowercase())
                .map_err(|fe| Error::Validation(vec![fe]))
        })
        .collect::<Result<_>>()?;
    let first = input
        .first_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if emails.is_empty() && first.is_none() {
        return Err(Error::inconsistent(
            "emails",
            "give e-mails or a name to look for duplicates",
        ));
    }
    let rows = sqlx::query(&format!(
        "SELECT {cols}, (emails && $2::text[]) AS same_email,
                (lower(first_name) = lower($3) AND lower(coalesce(last_name, '')) = lower(coalesce($4, ''))) AS same_name
         FROM {table}
         WHERE tenant_id = $1 AND deleted_at IS NULL AND ($5::uuid IS NULL OR id <> $5)
           AND (emails && $2::text[]
                OR (lower(first_name) = lower($3) AND lower(coalesce(last_name, '')) = lower(coalesce($4, ''))))
         ORDER BY same_email DESC, id
         LIMIT 10",
        cols = Contact::COLUMNS,
        table = Contact::TABLE
    ))
    .bind(tenant)
    .bind(&emails)
    .bind(first)
    .bind(input.last_name.as_deref().map(str::trim))
    .bind(exclude)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row: &PgRow| {
            let same_email: bool = row
                .try_get::<Option<bool>, _>("same_email")?
                .unwrap_or(false);
            let same_name: bool = row
                .try_get::<Option<bool>, _>("same_name")?
                .unwrap_or(false);
            let mut reasons = Vec::new();
            if same_email {
                reasons.push("same_email".to_owned());
            }
            if same_name {
                reasons.push("same_name".to_owned());
            }
            Ok(Candidate {
                record: Contact::from_row(row)?,
                reasons,
                score: if same_email { 1.0 } else { 0.6 },
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Locks the primary and the duplicates (in id order, so concurrent merges cannot deadlock).
async fn lock_all<R: Resource>(
    conn: &mut PgConnection,
    tenant: Uuid,
    req: &MergeRequest,
) -> Result<(R, Vec<R>)> {
    let mut ids: Vec<Uuid> = req.duplicate_ids.clone();
    ids.push(req.primary_id);
    ids.sort();
    let mut primary = None;
    let mut dups = Vec::new();
    for id in ids {
        let r = match record::lock::<R>(conn, tenant, id).await {
            Ok(r) if r.meta().deleted_at.is_none() => Some(r),
            Ok(_) | Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        if id == req.primary_id {
            primary = Some(r.ok_or_else(|| {
                Error::UnknownReference(vec![crm_core::FieldError::new(
                    "primary_id",
                    format!("no such {}", R::OBJECT),
                )])
            })?);
        } else {
            let i = req
                .duplicate_ids
                .iter()
                .position(|d| *d == id)
                .unwrap_or_default();
            dups.push(r.ok_or_else(|| {
                Error::UnknownReference(vec![crm_core::FieldError::new(
                    format!("duplicate_ids[{i}]"),
                    format!("no such {}", R::OBJECT),
                )])
            })?);
        }
    }
    let primary = primary.expect("primary was among the ids");
    Ok((primary, dups))
}

async fn retire<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    dup: &R,
    primary: Uuid,
) -> Result<()> {
    let after = record::write_columns::<R>(
        conn,
        actor,
        dup.meta().id,
        vec![
            ("deleted_at", SqlValue::Timestamp(Some(chrono::Utc::now()))),
            ("merged_into", SqlValue::Uuid(Some(primary))),
        ],
    )
    .await?;
    outbox::append(conn, &record::event(actor, &after, "deleted")?).await
}

async fn announce<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    primary: &R,
    merged: &[Uuid],
) -> Result<()> {
    let e: EventEnvelope = record::event(actor, primary, "merged")?
        .with_changes(serde_json::json!({"merged_ids": merged}));
    outbox::append(conn, &e).await
}

pub async fn merge_companies(
    conn: &mut PgConnection,
    actor: &Actor,
    req: &MergeRequest,
) -> Result<Company> {
    req.check()?;
    let (primary, dups) = lock_all::<Company>(conn, actor.tenant_id, req).await?;
    for d in &dups {
        retire(conn, actor, d, primary.meta.id).await?;
    }
    // Fill the primary's empty fields from the duplicates, first come first served.
    let mut current = primary.clone();
    for d in &dups {
        let fill = CompanyPatch::from(NewCompany {
            name: None,
            domain: d.domain.clone(),
            industry: d.industry.clone(),
            employees: d.employees.map(i64::from),
            annual_revenue: d.annual_revenue.clone(),
            address: d.address.clone(),
            phone: d.phone.clone(),
            description: d.description.clone(),
            owner_id: d.owner_id,
        })
        .only_filling(&current);
        let cols = fill.columns(false)?;
        if !cols.is_empty() {
            current = record::write_columns::<Company>(conn, actor, current.meta.id, cols).await?;
        }
    }
    record::append_updated(conn, actor, &primary, &current).await?;
    move_contacts(conn, actor, &req.duplicate_ids, current.meta.id).await?;
    announce(conn, actor, &current, &req.duplicate_ids).await?;
    Ok(current)
}

/// Re-points the duplicates' live contacts to the primary company, with an event each.
async fn move_contacts(
    conn: &mut PgConnection,
    actor: &Actor,
    from: &[Uuid],
    to: Uuid,
) -> Result<()> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM crm_customers.contacts
         WHERE tenant_id = $1 AND company_id = ANY($2) AND deleted_at IS NULL ORDER BY id FOR UPDATE",
    )
    .bind(actor.tenant_id)
    .bind(from)
    .fetch_all(&mut *conn)
    .await?;
    for id in ids {
        let before = record::get::<Contact>(conn, actor.tenant_id, id).await?;
        let after = record::write_columns::<Contact>(
            conn,
            actor,
            id,
            vec![("company_id", SqlValue::Uuid(Some(to)))],
        )
        .await?;
        record::append_updated(conn, actor, &before, &after).await?;
    }
    Ok(())
}

pub async fn merge_contacts(
    conn: &mut PgConnection,
    actor: &Actor,
    req: &MergeRequest,
) -> Result<Contact> {
    req.check()?;
    let (primary, dups) = lock_all::<Contact>(conn, actor.tenant_id, req).await?;
    for d in &dups {
        retire(conn, actor, d, primary.meta.id).await?;
    }
    let mut current = primary.clone();
    for d in &dups {
        let fill = ContactPatch::from(NewContact {
            first_name: None,
            last_name: d.last_name.clone(),
            emails: Some(d.emails.clone()),
            phones: Some(d.phones.clone()),
            job_title: d.job_title.clone(),
            company_id: d.company_id,
            owner_id: d.owner_id,
            lead_source: d.lead_source.clone(),
            do_not_contact: None,
        })
        .only_filling(&current);
        let cols = fill.columns(false)?;
        if !cols.is_empty() {
            current = record::write_columns::<Contact>(conn, actor, current.meta.id, cols).await?;
        }
    }
    // One that asked not to be contacted keeps that wish after a merge.
    if !current.do_not_contact && dups.iter().any(|d| d.do_not_contact) {
        current = record::write_columns::<Contact>(
            conn,
            actor,
            current.meta.id,
            vec![("do_not_contact", SqlValue::Bool(Some(true)))],
        )
        .await?;
    }
    record::append_updated(conn, actor, &primary, &current).await?;
    announce(conn, actor, &current, &req.duplicate_ids).await?;
    Ok(current)
}
