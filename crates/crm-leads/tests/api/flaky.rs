//! `Flaky<T>`: a context's trait implemented by delegating to the real implementation, which
//! can be switched to answer `Error::Unavailable` (a stopped service), never to answer (a
//! service that hangs, to cut a conversion off mid-step as a crash would), or to refuse. The end-to-end
//! test with real killed services lives in crm-micro; this is its stand-in in this crate.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use crm_activities::{ActivitiesApi, Activity, RecordRef, RecordType, TimelineEntry};
use crm_core::refs::Lookup;
use crm_core::{Actor, Error, Result, SearchHit};
use crm_customers::dedupe::Candidate;
use crm_customers::{Company, Contact, CustomersApi, NewCompany, NewContact};
use crm_sales::{NewOpportunity, Opportunity, Pipeline, SalesApi, Stage};

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Unavailable,
    Hang,
    /// A refusal for good (403).
    Refused,
}

#[derive(Default)]
struct Faults {
    all: Option<Fault>,
    methods: HashMap<&'static str, Fault>,
}

pub struct Flaky<T> {
    inner: T,
    faults: Mutex<Faults>,
}

impl<T> Flaky<T> {
    pub fn new(inner: T) -> Self {
        Flaky {
            inner,
            faults: Mutex::default(),
        }
    }

    /// Every call answers 503.
    pub fn down(&self) {
        self.faults.lock().unwrap().all = Some(Fault::Unavailable);
    }

    /// Healthy again.
    pub fn up(&self) {
        *self.faults.lock().unwrap() = Faults::default();
    }

    /// Calls of one method fail so.
    pub fn fail(&self, method: &'static str, fault: Fault) {
        self.faults.lock().unwrap().methods.insert(method, fault);
    }

    async fn gate(&self, method: &'static str) -> Result<()> {
        let fault = {
            let f = self.faults.lock().unwrap();
            f.all.or_else(|| f.methods.get(method).copied())
        };
        match fault {
            None => Ok(()),
            Some(Fault::Unavailable) => Err(Error::Unavailable(format!(
                "{method}: the service is stopped (test)"
            ))),
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Refused) => Err(Error::Forbidden(format!("{method}: refused (test)"))),
        }
    }
}

#[async_trait]
impl<T: Lookup> Lookup for Flaky<T> {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        self.gate("live").await?;
        self.inner.live(actor, object, ids).await
    }
}

#[async_trait]
impl<T: CustomersApi> CustomersApi for Flaky<T> {
    async fn company(&self, actor: &Actor, id: Uuid) -> Result<Company> {
        self.gate("company").await?;
        self.inner.company(actor, id).await
    }
    async fn contact(&self, actor: &Actor, id: Uuid) -> Result<Contact> {
        self.gate("contact").await?;
        self.inner.contact(actor, id).await
    }
    async fn contacts_of_company(
        &self,
        actor: &Actor,
        id: Uuid,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        self.gate("contacts_of_company").await?;
        self.inner.contacts_of_company(actor, id, limit).await
    }
    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>> {
        self.gate("search").await?;
        self.inner.search(actor, q, types, limit).await
    }
    async fn company_duplicates(
        &self,
        actor: &Actor,
        input: &NewCompany,
    ) -> Result<Vec<Candidate<Company>>> {
        self.gate("company_duplicates").await?;
        self.inner.company_duplicates(actor, input).await
    }
    async fn contact_duplicates(
        &self,
        actor: &Actor,
        input: &NewContact,
    ) -> Result<Vec<Candidate<Contact>>> {
        self.gate("contact_duplicates").await?;
        self.inner.contact_duplicates(actor, input).await
    }
    async fn create_company(&self, actor: &Actor, input: NewCompany, key: &str) -> Result<Company> {
        self.gate("create_company").await?;
        self.inner.create_company(actor, input, key).await
    }
    async fn fill_company(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewCompany,
        key: &str,
    ) -> Result<Company> {
        self.gate("fill_company").await?;
        self.inner.fill_company(actor, id, data, key).await
    }
    async fn delete_company(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()> {
        self.gate("delete_company").await?;
        self.inner.delete_company(actor, id, key).await
    }
    async fn create_contact(&self, actor: &Actor, input: NewContact, key: &str) -> Result<Contact> {
        self.gate("create_contact").await?;
        self.inner.create_contact(actor, input, key).await
    }
    async fn fill_contact(
        &self,
        actor: &Actor,
        id: Uuid,
        data: NewContact,
        key: &str,
    ) -> Result<Contact> {
        self.gate("fill_contact").await?;
        self.inner.fill_contact(actor, id, data, key).await
    }
    async fn delete_contact(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()> {
        self.gate("delete_contact").await?;
        self.inner.delete_contact(actor, id, key).await
    }
}

#[async_trait]
impl<T: SalesApi> SalesApi for Flaky<T> {
    async fn opportunity(&self, actor: &Actor, id: Uuid) -> Result<Opportunity> {
        self.gate("opportunity").await?;
        self.inner.opportunity(actor, id).await
    }
    async fn open_opportunities_of_company(
        &self,
        actor: &Actor,
        id: Uuid,
        limit: i64,
    ) -> Result<Vec<Opportunity>> {
        self.gate("open_opportunities_of_company").await?;
        self.inner
            .open_opportunities_of_company(actor, id, limit)
            .await
    }
    async fn default_pipeline(&self, actor: &Actor) -> Result<(Pipeline, Vec<Stage>)> {
        self.gate("default_pipeline").await?;
        self.inner.default_pipeline(actor).await
    }
    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>> {
        self.gate("search").await?;
        self.inner.search(actor, q, types, limit).await
    }
    async fn create_opportunity(
        &self,
        actor: &Actor,
        input: NewOpportunity,
        key: &str,
    ) -> Result<Opportunity> {
        self.gate("create_opportunity").await?;
        self.inner.create_opportunity(actor, input, key).await
    }
    async fn delete_opportunity(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()> {
        self.gate("delete_opportunity").await?;
        self.inner.delete_opportunity(actor, id, key).await
    }
}

#[async_trait]
impl<T: ActivitiesApi> ActivitiesApi for Flaky<T> {
    async fn recent(
        &self,
        actor: &Actor,
        t: RecordType,
        id: Uuid,
        limit: i64,
    ) -> Result<Vec<Activity>> {
        self.gate("recent").await?;
        self.inner.recent(actor, t, id, limit).await
    }
    async fn timeline(
        &self,
        actor: &Actor,
        t: RecordType,
        id: Uuid,
        limit: i64,
    ) -> Result<Vec<TimelineEntry>> {
        self.gate("timeline").await?;
        self.inner.timeline(actor, t, id, limit).await
    }
    async fn relink(&self, actor: &Actor, from: RecordRef, to: &[RecordRef]) -> Result<u64> {
        self.gate("relink").await?;
        self.inner.relink(actor, from, to).await
    }
}
