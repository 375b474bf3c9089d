//! [`LeadsClient`]: the [`LeadsApi`] over HTTP, for the other microservices: a lead from the
//! public route, search from the internal one.

use async_trait::async_trait;
use uuid::Uuid;

use crm_core::{Actor, Result, SearchHit};
use crm_http::client::{DataList, SearchParams, ServiceClient};

use crate::{Lead, LeadsApi};

/// The leads service, through a [`ServiceClient`].
#[derive(Clone)]
pub struct LeadsClient {
    http: ServiceClient,
}

impl LeadsClient {
    pub fn new(http: ServiceClient) -> Self {
        LeadsClient { http }
    }
}

#[async_trait]
impl crm_core::refs::Lookup for LeadsClient {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        crm_http::refs::live(&self.http, crate::CONTEXT, actor, object, ids).await
    }
}

#[async_trait]
impl LeadsApi for LeadsClient {
    async fn lead(&self, actor: &Actor, id: Uuid) -> Result<Lead> {
        self.http.get(actor, &format!("/api/v1/leads/{id}")).await
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
}
