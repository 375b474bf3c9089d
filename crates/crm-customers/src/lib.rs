//! The customers context: companies and contacts, duplicate detection, merge, and
//! full-text search, in schema `crm_customers`.
//!
//! # Layout
//! - [`company`], [`contact`]: records, create/patch bodies and their rules ([`Writer`]s).
//! - [`dedupe`]: duplicate candidates and merges.
//! - [`http`]: the REST routes and their OpenAPI operations, and the internal search route.
//! - [`CustomersApi`]: what other contexts may ask of this one; [`Customers`] implements it
//!   in-process over PostgreSQL, [`client::CustomersClient`] over HTTP.
//!
//! [`Writer`]: crm_core::record::Writer

pub mod client;
pub mod company;
pub mod contact;
pub mod dedupe;
pub mod http;

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crm_core::migrate::Migration;
use crm_core::query::ListQuery;
use crm_core::record::{self, Resource, Writer};
use crm_core::refs::{Lookup, Owners};
use crm_core::{Action, Actor, Error, Object, Result, SearchHit, db, validate};

pub use company::{Address, Company, CompanyPatch, NewCompany};
pub use contact::{Contact, ContactPatch, LEAD_SOURCES, NewContact};

pub const CONTEXT: &str = "customers";

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "companies and contacts",
    sql: include_str!("../migrations/0001_customers.sql"),
}];

/// What other contexts may ask of the customers context. The monolith calls [`Customers`]
/// directly; the microservices call the same trait over HTTP. As a [`Lookup`] it answers
/// which companies and contacts exist (references from opportunities and activities).
#[async_trait]
pub trait CustomersApi: Lookup {
    async fn company(&self, actor: &Actor, id: Uuid) -> Result<Company>;
    async fn contact(&self, actor: &Actor, id: Uuid) -> Result<Contact>;
    /// Live contacts of a company, newest first.
    async fn contacts_of_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Contact>>;
    /// Companies and contacts matching `q` (word prefixes), best first.
    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>>;

    // The writes lead conversion needs. Each carries an idempotency key: over HTTP it is the
    // request's Idempotency-Key, so a retried call writes once; in-process the caller's
    // transaction makes retries moot and the key is not needed.

    async fn company_duplicates(
        &self,
        actor: &Actor,
        input: &NewCompany,
    ) -> Result<Vec<dedupe::Candidate<Company>>>;
    async fn contact_duplicates(
        &self,
        actor: &Actor,
        input: &NewContact,
    ) -> Result<Vec<dedupe::Candidate<Contact>>>;
    async fn create_company(&self, actor: &Actor, input: NewCompany, key: &str) -> Result<Company>;
    /// Sets only the company's empty fields from `data`.
    async fn fill_company(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewCompany,
        key: &str,
    ) -> Result<Company>;
    /// Soft-deletes; a company already deleted is fine.
    async fn delete_company(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()>;
    async fn create_contact(&self, actor: &Actor, input: NewContact, key: &str) -> Result<Contact>;
    /// Sets only the contact's empty fields from `data` (e-mails and phones are added).
    async fn fill_contact(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewContact,
        key: &str,
    ) -> Result<Contact>;
    async fn delete_contact(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()>;
}

/// The context over its PostgreSQL schema. Owners' ids (`owner_id`: users) are checked
/// through [`Owners`]; `company_id` of a contact on the writer's own transaction.
pub struct Customers {
    pool: PgPool,
    owners: Owners,
}

impl Customers {
    pub fn new(pool: PgPool) -> Self {
        Customers {
            pool,
            owners: Owners::new(),
        }
    }

    /// Checks references to the types `owners` answers for (users, in both builds).
    pub fn with_owners(mut self, owners: Owners) -> Self {
        self.owners = self.owners.merge(owners);
        self
    }

    pub(crate) fn owners(&self) -> &Owners {
        &self.owners
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }
}

#[async_trait]
impl Lookup for Customers {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let table = match object {
            Company::OBJECT => Company::TABLE,
            Contact::OBJECT => Contact::TABLE,
            other => return Err(crm_core::refs::not_owned(CONTEXT, other)),
        };
        let mut conn = self.pool.acquire().await?;
        crm_core::refs::live_ids(&mut conn, table, actor.tenant_id, ids).await
    }
}

#[async_trait]
impl CustomersApi for Customers {
    async fn company(&self, actor: &Actor, id: Uuid) -> Result<Company> {
        actor.require(Action::Read, Object::Company)?;
        let mut conn = self.pool.acquire().await?;
        record::get::<Company>(&mut conn, actor.tenant_id, id).await
    }

    async fn contact(&self, actor: &Actor, id: Uuid) -> Result<Contact> {
        actor.require(Action::Read, Object::Contact)?;
        let mut conn = self.pool.acquire().await?;
        record::get::<Contact>(&mut conn, actor.tenant_id, id).await
    }

    async fn contacts_of_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        actor.require(Action::Read, Object::Contact)?;
        let q = ListQuery::first(
            Contact::FIELDS,
            Some(&format!("company_id[eq]:\"{company_id}\"")),
            limit,
        )?;
        let mut conn = self.pool.acquire().await?;
        Ok(record::list::<Contact>(&mut conn, actor.tenant_id, q)
            .await?
            .data)
    }

    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>> {
        let mut conn = self.pool.acquire().await?;
        search(&mut conn, actor, q, types, limit).await
    }

    async fn company_duplicates(
        &self,
        actor: &Actor,
        input: &NewCompany,
    ) -> Result<Vec<dedupe::Candidate<Company>>> {
        actor.require(Action::Read, Object::Company)?;
        let mut conn = self.pool.acquire().await?;
        dedupe::company_candidates(&mut conn, actor.tenant_id, input, None).await
    }

    async fn contact_duplicates(
        &self,
        actor: &Actor,
        input: &NewContact,
    ) -> Result<Vec<dedupe::Candidate<Contact>>> {
        actor.require(Action::Read, Object::Contact)?;
        let mut conn = self.pool.acquire().await?;
        dedupe::contact_candidates(&mut conn, actor.tenant_id, input, None).await
    }

    async fn create_company(
        &self,
        actor: &Actor,
        input: NewCompany,
        _key: &str,
    ) -> Result<Company> {
        actor.require(Action::Create, Object::Company)?;
        let mut tx = self.pool.begin().await?;
        let c = Writer::<Company>::create(self, &mut tx, actor, input).await?;
        db::commit(tx).await?;
        Ok(c)
    }

    async fn fill_company(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewCompany,
        _key: &str,
    ) -> Result<Company> {
        actor.require(Action::Update, Object::Company)?;
        let mut tx = self.pool.begin().await?;
        let current = record::get::<Company>(&mut tx, actor.tenant_id, id).await?;
        let fill = CompanyPatch::from(data).only_filling(&current);
        let c = Writer::<Company>::update(self, &mut tx, actor, id, None, fill).await?;
        db::commit(tx).await?;
        Ok(c)
    }

    async fn delete_company(&self, actor: &Actor, id: Uuid, _key: &str) -> Result<()> {
        actor.require(Action::Delete, Object::Company)?;
        let mut tx = self.pool.begin().await?;
        match record::delete::<Company>(&mut tx, actor, id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        db::commit(tx).await
    }

    async fn create_contact(
        &self,
        actor: &Actor,
        input: NewContact,
        _key: &str,
    ) -> Result<Contact> {
        actor.require(Action::Create, Object::Contact)?;
        let mut tx = self.pool.begin().await?;
        let c = Writer::<Contact>::create(self, &mut tx, actor, input).await?;
        db::commit(tx).await?;
        Ok(c)
    }

    async fn fill_contact(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewContact,
        _key: &str,
    ) -> Result<Contact> {
        actor.require(Action::Update, Object::Contact)?;
        let mut tx = self.pool.begin().await?;
        let current = record::get::<Contact>(&mut tx, actor.tenant_id, id).await?;
        let fill = ContactPatch::from(data).only_filling(&current);
        let c = Writer::<Contact>::update(self, &mut tx, actor, id, None, fill).await?;
        db::commit(tx).await?;
        Ok(c)
    }

    async fn delete_contact(&self, actor: &Actor, id: Uuid, _key: &str) -> Result<()> {
        actor.require(Action::Delete, Object::Contact)?;
        let mut tx = self.pool.begin().await?;
        match record::delete::<Contact>(&mut tx, actor, id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        db::commit(tx).await
    }
}

/// Full-text search over companies and contacts the caller may read.
pub async fn search(
    conn: &mut PgConnection,
    actor: &Actor,
    q: &str,
    types: &[String],
    limit: i64,
) -> Result<Vec<SearchHit>> {
    let query = validate::prefix_tsquery(q)
        .ok_or_else(|| Error::bad_request("q", "must contain a word"))?;
    let wants = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let mut hits = Vec::new();
    if wants("company") && actor.role.allows(Action::Read, Object::Company) {
        let rows: Vec<(Uuid, String, Option<String>, f32)> = sqlx::query_as(
            "SELECT id, name, domain, ts_rank(search, q) FROM crm_customers.companies, to_tsquery('simple', $2) q
             WHERE tenant_id = $1 AND deleted_at IS NULL AND search @@ q ORDER BY 4 DESC, id LIMIT $3",
        )
        .bind(actor.tenant_id)
        .bind(&query)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        hits.extend(
            rows.into_iter()
                .map(|(id, title, subtitle, rank)| SearchHit {
                    kind: "company".into(),
                    id,
                    title,
                    subtitle,
                    rank,
                }),
        );
    }
    if wants("contact") && actor.role.allows(Action::Read, Object::Contact) {
        let rows: Vec<(Uuid, String, Option<String>, f32)> = sqlx::query_as(
            "SELECT id, first_name || coalesce(' ' || last_name, ''), primary_email, ts_rank(search, q)
             FROM crm_customers.contacts, to_tsquery('simple', $2) q
             WHERE tenant_id = $1 AND deleted_at IS NULL AND search @@ q ORDER BY 4 DESC, id LIMIT $3",
        )
        .bind(actor.tenant_id)
        .bind(&query)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        hits.extend(
            rows.into_iter()
                .map(|(id, title, subtitle, rank)| SearchHit {
                    kind: "contact".into(),
                    id,
                    title,
                    subtitle,
                    rank,
                }),
        );
    }
    Ok(hits)
}
