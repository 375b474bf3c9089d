//! [`SalesClient`]: the [`SalesApi`] over HTTP, for the other microservices.
//!
//! Reads use the public routes; search and the default pipeline (created on first use, which
//! no public route does) the internal ones. Writes carry the caller's key as
//! `Idempotency-Key`, so a retried call writes once.

use async_trait::async_trait;
use uuid::Uuid;

use crm_core::query::{MAX_LIMIT, Page};
use crm_core::{Actor, Result, SearchHit};
use crm_http::client::{DataList, SearchParams, ServiceClient, is_not_found, with_query};

use crate::http::{DEFAULT_PIPELINE, DefaultPipeline};
use crate::{NewOpportunity, Opportunity, Pipeline, SalesApi, Stage};

const OPPORTUNITIES: &str = "/api/v1/opportunities";

/// The sales service, through a [`ServiceClient`].
#[derive(Clone)]
pub struct SalesClient {
    http: ServiceClient,
}

impl SalesClient {
    pub fn new(http: ServiceClient) -> Self {
        SalesClient { http }
    }
}

#[async_trait]
impl crm_core::refs::Lookup for SalesClient {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        crm_http::refs::live(&self.http, crate::CONTEXT, actor, object, ids).await
    }
}

#[async_trait]
impl SalesApi for SalesClient {
    async fn opportunity(&self, actor: &Actor, id: Uuid) -> Result<Opportunity> {
        self.http.get(actor, &format!("{OPPORTUNITIES}/{id}")).await
    }

    async fn open_opportunities_of_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Opportunity>> {
        let path = with_query(
            OPPORTUNITIES,
            &[
                (
                    "filter",
                    Some(format!(
                        "and(company_id[eq]:\"{company_id}\",status[eq]:\"open\")"
                    )),
                ),
                ("order_by", Some("close_date[asc]".into())),
                // As in-process: a page is never refused for its size.
                ("limit", Some(limit.clamp(1, MAX_LIMIT).to_string())),
            ],
        );
        let page: Page<Opportunity> = self.http.get(actor, &path).await?;
        Ok(page.data)
    }

    async fn default_pipeline(&self, actor: &Actor) -> Result<(Pipeline, Vec<Stage>)> {
        let d: DefaultPipeline = self.http.get(actor, DEFAULT_PIPELINE).await?;
        Ok((d.pipeline, d.stages))
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

    async fn create_opportunity(
        &self,
        actor: &Actor,
        input: NewOpportunity,
        key: &str,
    ) -> Result<Opportunity> {
        self.http
            .post(actor, OPPORTUNITIES, &input, Some(key))
            .await
    }

    async fn delete_opportunity(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()> {
        let path = format!("{OPPORTUNITIES}/{id}");
        match self.http.delete(actor, &path, Some(key)).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other,
        }
    }
}
