//! [`ActivitiesClient`]: the [`ActivitiesApi`] over HTTP, for the other microservices, on the
//! public routes `GET /{collection}/{id}/activities`, `GET /{collection}/{id}/timeline` and
//! `POST /activities/relink`.

use async_trait::async_trait;
use uuid::Uuid;

use crm_core::query::Page;
use crm_core::{Action, Actor, Object, Result};
use crm_http::client::{ServiceClient, is_not_found};

use crate::links::{RelinkRequest, Relinked};
use crate::{ActivitiesApi, Activity, LinkInput, RecordRef, RecordType, TimelineEntry};

/// The activities service, through a [`ServiceClient`].
#[derive(Clone)]
pub struct ActivitiesClient {
    http: ServiceClient,
}

impl ActivitiesClient {
    pub fn new(http: ServiceClient) -> Self {
        ActivitiesClient { http }
    }
}

fn link((record_type, id): RecordRef) -> LinkInput {
    LinkInput {
        record_type: record_type.as_str().to_owned(),
        id,
    }
}

#[async_trait]
impl ActivitiesApi for ActivitiesClient {
    async fn recent(
        &self,
        actor: &Actor,
        record_type: RecordType,
        record_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Activity>> {
        if !record_type.is_linkable() {
            // Nothing links to an activity, so in-process the list is empty; there is no
            // route to ask.
            actor.require(Action::Read, Object::Activity)?;
            return Ok(Vec::new());
        }
        let path = format!(
            "/api/v1/{}/{record_id}/activities?limit={limit}",
            record_type.collection()
        );
        let page: Page<Activity> = self.http.get(actor, &path).await?;
        Ok(page.data)
    }

    async fn timeline(
        &self,
        actor: &Actor,
        record_type: RecordType,
        record_id: Uuid,
        limit: i64,
    ) -> Result<Vec<TimelineEntry>> {
        let path = format!(
            "/api/v1/{}/{record_id}/timeline?limit={limit}",
            record_type.collection()
        );
        match self.http.get::<Page<TimelineEntry>>(actor, &path).await {
            Ok(page) => Ok(page.data),
            // The route looks an activity up first; in-process an unknown one just has an
            // empty timeline, like any record this context has not heard of.
            Err(e) if record_type == RecordType::Activity && is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Safe to repeat (a link that exists is not added twice), so retried without a key; a
    /// repeat after a lost answer counts only what it changed itself.
    async fn relink(&self, actor: &Actor, from: RecordRef, to: &[RecordRef]) -> Result<u64> {
        let body = RelinkRequest {
            from: link(from),
            to: to.iter().copied().map(link).collect(),
        };
        let r: Relinked = self
            .http
            .post_idempotent(actor, "/api/v1/activities/relink", &body)
            .await?;
        Ok(r.relinked)
    }
}
