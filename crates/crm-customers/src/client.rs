//! [`CustomersClient`]: the [`CustomersApi`] over HTTP, for the other microservices.
//!
//! Reads use the public routes, search the internal one. Writes carry the caller's key as
//! `Idempotency-Key`, so a retried call writes once. A fill is read, compute, PATCH with
//! `If-Match`: repeated when the record changed in between (412), each PATCH keyed by the
//! version it applies to, so repeating the whole fill replays rather than conflicts.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crm_core::query::Page;
use crm_core::{Actor, Error, Patch, Result, SearchHit};
use crm_http::client::{
    DataList, SearchParams, ServiceClient, derive_key, is_not_found, with_query,
};

use crate::dedupe::{Candidate, Candidates};
use crate::{Company, CompanyPatch, Contact, ContactPatch, CustomersApi, NewCompany, NewContact};

const COMPANIES: &str = "/api/v1/companies";
const CONTACTS: &str = "/api/v1/contacts";
/// Reads and PATCHes of one fill before giving up on a record that keeps changing.
const FILL_TRIES: usize = 5;

/// The customers service, through a [`ServiceClient`].
#[derive(Clone)]
pub struct CustomersClient {
    http: ServiceClient,
}

impl CustomersClient {
    pub fn new(http: ServiceClient) -> Self {
        CustomersClient { http }
    }
}

/// Puts a set or cleared field into a PATCH body; absent fields stay out.
fn put<T: Serialize>(body: &mut Map<String, Value>, field: &str, p: Patch<T>) -> Result<()> {
    match p {
        Patch::Absent => {}
        Patch::Null => {
            body.insert(field.into(), Value::Null);
        }
        Patch::Value(v) => {
            body.insert(field.into(), serde_json::to_value(v)?);
        }
    }
    Ok(())
}

fn company_body(p: CompanyPatch) -> Result<Value> {
    let mut b = Map::new();
    put(&mut b, "name", p.name)?;
    put(&mut b, "domain", p.domain)?;
    put(&mut b, "industry", p.industry)?;
    put(&mut b, "employees", p.employees)?;
    put(&mut b, "annual_revenue", p.annual_revenue)?;
    put(&mut b, "address", p.address)?;
    put(&mut b, "phone", p.phone)?;
    put(&mut b, "description", p.description)?;
    put(&mut b, "owner_id", p.owner_id)?;
    Ok(Value::Object(b))
}

fn contact_body(p: ContactPatch) -> Result<Value> {
    let mut b = Map::new();
    put(&mut b, "first_name", p.first_name)?;
    put(&mut b, "last_name", p.last_name)?;
    put(&mut b, "emails", p.emails)?;
    put(&mut b, "phones", p.phones)?;
    put(&mut b, "job_title", p.job_title)?;
    put(&mut b, "company_id", p.company_id)?;
    put(&mut b, "owner_id", p.owner_id)?;
    put(&mut b, "lead_source", p.lead_source)?;
    put(&mut b, "do_not_contact", p.do_not_contact)?;
    Ok(Value::Object(b))
}

/// A DELETE for which "already gone" is as good as done.
fn gone_is_done(r: Result<()>) -> Result<()> {
    match r {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

impl CustomersClient {
    /// Read `path`, PATCH it with `body_of(current)` at the version read; again on 412.
    async fn fill<R, F>(
        &self,
        actor: &Actor,
        path: &str,
        key: &str,
        version_of: impl Fn(&R) -> i64,
        body_of: F,
    ) -> Result<R>
    where
        R: serde::de::DeserializeOwned,
        F: Fn(&R) -> Result<Value>,
    {
        let mut last = None;
        for _ in 0..FILL_TRIES {
            let current: R = self.http.get(actor, path).await?;
            let version = version_of(&current);
            let body = body_of(&current)?;
            let step_key = derive_key(key, &format!("v{version}"));
            match self
                .http
                .patch(actor, path, &body, version, Some(&step_key))
                .await
            {
                Err(e) if e.status().as_u16() == 412 => last = Some(e),
                done => return done,
            }
        }
        Err(last.unwrap_or_else(|| Error::internal("fill gave up")))
    }
}

#[async_trait]
impl crm_core::refs::Lookup for CustomersClient {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        crm_http::refs::live(&self.http, crate::CONTEXT, actor, object, ids).await
    }
}

#[async_trait]
impl CustomersApi for CustomersClient {
    async fn company(&self, actor: &Actor, id: Uuid) -> Result<Company> {
        self.http.get(actor, &format!("{COMPANIES}/{id}")).await
    }

    async fn contact(&self, actor: &Actor, id: Uuid) -> Result<Contact> {
        self.http.get(actor, &format!("{CONTACTS}/{id}")).await
    }

    async fn contacts_of_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        let path = with_query(
            CONTACTS,
            &[
                ("filter", Some(format!("company_id[eq]:\"{company_id}\""))),
                ("limit", Some(limit.to_string())),
            ],
        );
        let page: Page<Contact> = self.http.get(actor, &path).await?;
        Ok(page.data)
    }

    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>> {
        let path = SearchParams::path(crate::CONTEXT, q, types, limit);
        let hits: DataList<SearchHit> = self.http.get(actor, &path).await?;
        Ok(hits.data)
    }

    async fn company_duplicates(
        &self,
        actor: &Actor,
        input: &NewCompany,
    ) -> Result<Vec<Candidate<Company>>> {
        let path = format!("{COMPANIES}/duplicates");
        let c: Candidates<Company> = self.http.post_idempotent(actor, &path, input).await?;
        Ok(c.data)
    }

    async fn contact_duplicates(
        &self,
        actor: &Actor,
        input: &NewContact,
    ) -> Result<Vec<Candidate<Contact>>> {
        let path = format!("{CONTACTS}/duplicates");
        let c: Candidates<Contact> = self.http.post_idempotent(actor, &path, input).await?;
        Ok(c.data)
    }

    async fn create_company(&self, actor: &Actor, input: NewCompany, key: &str) -> Result<Company> {
        self.http.post(actor, COMPANIES, &input, Some(key)).await
    }

    async fn fill_company(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewCompany,
        key: &str,
    ) -> Result<Company> {
        let path = format!("{COMPANIES}/{id}");
        self.fill(
            actor,
            &path,
            key,
            |c: &Company| c.meta.version,
            |c| company_body(CompanyPatch::from(data.clone()).only_filling(c)),
        )
        .await
    }

    async fn delete_company(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()> {
        let path = format!("{COMPANIES}/{id}");
        gone_is_done(self.http.delete(actor, &path, Some(key)).await)
    }

    async fn create_contact(&self, actor: &Actor, input: NewContact, key: &str) -> Result<Contact> {
        self.http.post(actor, CONTACTS, &input, Some(key)).await
    }

    async fn fill_contact(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewContact,
        key: &str,
    ) -> Result<Contact> {
        let path = format!("{CONTACTS}/{id}");
        self.fill(
            actor,
            &path,
            key,
            |c: &Contact| c.meta.version,
            |c| contact_body(ContactPatch::from(data.clone()).only_filling(c)),
        )
        .await
    }

    async fn delete_contact(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()> {
        let path = format!("{CONTACTS}/{id}");
        gone_is_done(self.http.delete(actor, &path, Some(key)).await)
    }
}
