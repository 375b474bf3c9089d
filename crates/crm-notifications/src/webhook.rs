//! Webhook subscriptions: the record, its create/patch bodies, and their rules.
//!
//! The secret column is never part of the record's select list: reads, lists, events and
//! batch results carry only `secret_prefix`. The full secret is put into the record by hand
//! in the two places that are allowed to show it, the create and rotate-secret responses.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{FieldKind, FieldSpec, SqlValue};
use crm_core::record::{self, Columns, Meta, Resource, Writer};
use crm_core::schema::{self, Rule};
use crm_core::{Actor, FieldError, Object, Patch, Result};

use crate::Notifications;
use crate::matching::{self, MAX_PATTERNS};
use crate::signing;

/// The longest accepted URL.
pub const MAX_URL_LEN: usize = 2000;

/// A subscription: POST the events matching `events` to `url`, signed with its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct Webhook {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub meta: Meta,
    /// Absolute http(s) URL the deliveries are POSTed to.
    pub url: String,
    /// Event patterns: `company.created`, `company.*` or `*`.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Inactive webhooks receive nothing; events meanwhile are not queued for them.
    pub active: bool,
    /// The first characters of the signing secret, to tell secrets apart.
    pub secret_prefix: String,
    /// The full signing secret: only in the create and rotate-secret responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[sqlx(skip)]
    pub secret: Option<String>,
}

// `left(secret, 6)`: 6 is `signing::PREFIX_LEN` (a test keeps them equal).
const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", url, events, description, active, left(secret, 6) AS secret_prefix"
);

impl Resource for Webhook {
    const OBJECT: &'static str = "webhook";
    const COLLECTION: &'static str = "webhooks";
    const PERMISSION: Object = Object::Webhook;
    const TABLE: &'static str = "crm_notifications.webhooks";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("url", FieldKind::Text),
        FieldSpec::new("description", FieldKind::Text)
            .nullable()
            .no_sort(),
        FieldSpec::new("active", FieldKind::Bool).no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }
}

/// An absolute http(s) URL without credentials, as [`url`] takes it (a host of letters,
/// digits, dots and dashes, an optional port, then a path, query or fragment).
const URL_PATTERN: &str = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,4})?([/?#][!-~]*)?\s*$";

/// What each field of a webhook body accepts (`build` checks the same).
const WEBHOOK_RULES: &[(&str, Rule)] = &[
    ("url", Rule::Pattern(URL_PATTERN)),
    ("url", Rule::Required),
    (
        "description",
        Rule::Text {
            max: 1000,
            required: false,
        },
    ),
    ("active", Rule::NonNull),
    (
        "secret",
        Rule::Pattern(r"^[^\s\x00-\x1f\x7f-\x9f]{16,256}$"),
    ),
];

fn new_webhook_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, WEBHOOK_RULES);
    // The URL's length: at most 2000 characters.
    if let Some(url) = s.get_mut("properties").and_then(|p| p.get_mut("url")) {
        url["maxLength"] = serde_json::json!(MAX_URL_LEN);
    }
}

fn webhook_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, WEBHOOK_RULES);
    if let Some(url) = s.get_mut("properties").and_then(|p| p.get_mut("url")) {
        url["maxLength"] = serde_json::json!(MAX_URL_LEN);
    }
}

/// `POST /webhooks`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_webhook_schema)]
pub struct NewWebhook {
    /// Required: an absolute http or https URL without credentials, at most 2000 characters.
    pub url: Option<String>,
    /// Required: 1 to 50 patterns (`company.created`, `company.*`, `*`).
    #[schemars(
        required,
        with = "Vec<crate::matching::EventPattern>",
        length(min = 1, max = 50)
    )]
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Default `true`.
    pub active: Option<bool>,
    /// At least 16 characters; generated (32 random bytes, hex) when absent. Shown in full
    /// only in this call's response.
    pub secret: Option<String>,
}

/// `PATCH /webhooks/{id}`: absent fields stay. The secret changes only through
/// `POST /webhooks/{id}/rotate-secret`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = webhook_patch_schema)]
pub struct WebhookPatch {
    #[serde(default)]
    pub url: Patch<String>,
    #[serde(default)]
    #[schemars(with = "Vec<crate::matching::EventPattern>", length(min = 1, max = 50))]
    pub events: Patch<Vec<String>>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub active: Patch<bool>,
}

impl WebhookPatch {
    /// Validates every field into `b`.
    fn build(self, b: &mut ColumnsBuilder) {
        b.text_with("url", "url", self.url, true, url);
        match self.events {
            Patch::Absent if b.creating() => b.error("events", "is required"),
            Patch::Absent => {}
            Patch::Null => b.error("events", "must not be null"),
            Patch::Value(v) if v.is_empty() => {
                b.error("events", format!("must hold 1 to {MAX_PATTERNS} patterns"))
            }
            Patch::Value(v) => {
                b.text_list("events", "events", Some(v), MAX_PATTERNS, matching::pattern)
            }
        }
        b.text("description", "description", self.description, false, 1000);
        b.bool("active", "active", self.active);
    }

    /// The validated columns of a patch.
    pub fn columns(self) -> Result<Columns> {
        let mut b = ColumnsBuilder::new(false);
        self.build(&mut b);
        b.finish()
    }
}

impl NewWebhook {
    /// The validated columns and the secret to store (given or generated).
    pub fn columns(self) -> Result<(Columns, String)> {
        let mut b = ColumnsBuilder::new(true);
        let NewWebhook {
            url,
            events,
            description,
            active,
            secret,
        } = self;
        WebhookPatch {
            url: url.into(),
            events: events.into(),
            description: description.into(),
            active: active.into(),
        }
        .build(&mut b);
        let secret = match secret {
            None => signing::generate_secret(),
            Some(s) => match signing::check_secret("secret", &s) {
                Ok(s) => s,
                Err(e) => {
                    b.error(e.field, e.message);
                    String::new()
                }
            },
        };
        b.set("secret", SqlValue::Text(Some(secret.clone())));
        Ok((b.finish()?, secret))
    }
}

/// An absolute http(s) URL with a host and no userinfo; stored in normalised form.
pub fn url(field: &str, value: &str) -> std::result::Result<String, FieldError> {
    let v = value.trim();
    let too_long = || FieldError::new(field, format!("must be at most {MAX_URL_LEN} characters"));
    if v.chars().count() > MAX_URL_LEN {
        return Err(too_long());
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(field, "must not contain spaces"));
    }
    let parsed = reqwest::Url::parse(v)
        .map_err(|e| FieldError::new(field, format!("'{v}' is not an absolute URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FieldError::new(field, "must use http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(FieldError::new(field, "must name a host"));
    }
    // Credentials in a URL end up in logs and in every read of the webhook.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FieldError::new(
            field,
            "must not contain credentials (user:password@)",
        ));
    }
    let normalised = String::from(parsed);
    if normalised.chars().count() > MAX_URL_LEN {
        return Err(too_long());
    }
    Ok(normalised)
}

#[async_trait]
impl Writer<Webhook> for Notifications {
    type Create = NewWebhook;
    type Patch = WebhookPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewWebhook,
    ) -> Result<Webhook> {
        let (cols, secret) = input.columns()?;
        // The `webhook.created` event is written from the stored record, without the secret.
        let mut webhook = record::create::<Webhook>(conn, actor, cols).await?;
        webhook.secret = Some(secret);
        Ok(webhook)
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: WebhookPatch,
    ) -> Result<Webhook> {
        let cols = patch.columns()?;
        record::modify::<Webhook>(conn, actor, id, expected, cols).await
    }
}

/// Replaces a live webhook's secret with a generated one and returns the webhook with it.
/// Deliveries sent from now on are signed with the new secret.
pub async fn rotate_secret(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Webhook> {
    let secret = signing::generate_secret();
    let cols = vec![("secret", SqlValue::Text(Some(secret.clone())))];
    let mut webhook = record::modify::<Webhook>(conn, actor, id, None, cols).await?;
    webhook.secret = Some(secret);
    Ok(webhook)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_core::Error;

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn urls_need_http_a_host_and_no_credentials() {
        assert_eq!(
            url("url", " https://hooks.example.com/in?x=1 ").unwrap(),
            "https://hooks.example.com/in?x=1"
        );
        assert_eq!(
            url("url", "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/"
        );
        for bad in [
            "hooks.example.com/in",
            "/relative",
            "ftp://example.com/",
            "mailto:a@example.com",
            "http://",
            "http://user:pw@example.com/",
            "http://user@example.com/",
            "http://exa mple.com/",
            "file:///etc/passwd",
        ] {
            assert_eq!(url("url", bad).unwrap_err().field, "url", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(url("url", &long).is_err());
    }

    #[test]
    fn create_names_every_bad_field_and_generates_a_secret() {
        let bad = NewWebhook {
            url: Some("ftp://x".into()),
            events: Some(vec!["company.created".into(), "Nope".into()]),
            secret: Some("short".into()),
            ..Default::default()
        };
        assert_eq!(
            fields(bad.columns().unwrap_err()),
            ["url", "events[1]", "secret"]
        );
        assert_eq!(
            fields(NewWebhook::default().columns().unwrap_err()),
            ["url", "events"]
        );
        let empty = NewWebhook {
            url: Some("https://example.com/".into()),
            events: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(fields(empty.columns().unwrap_err()), ["events"]);
        let ok = NewWebhook {
            url: Some("https://example.com/".into()),
            events: Some(vec!["*".into(), "*".into()]),
            ..Default::default()
        };
        let (cols, secret) = ok.columns().unwrap();
        assert_eq!(secret.len(), 64);
        assert!(cols.contains(&("events", SqlValue::TextArray(vec!["*".into()]))));
    }

    #[test]
    fn reads_select_only_the_secret_prefix() {
        let prefix = format!("left(secret, {}) AS secret_prefix", signing::PREFIX_LEN);
        assert!(COLUMNS.ends_with(&prefix));
        assert!(!COLUMNS.replace(&prefix, "").contains("secret"));
    }

    #[test]
    fn too_many_patterns_are_refused() {
        let patch = WebhookPatch {
            events: Patch::Value(vec!["*".into(); MAX_PATTERNS + 1]),
            ..Default::default()
        };
        assert_eq!(fields(patch.columns().unwrap_err()), ["events"]);
        let patch = WebhookPatch {
            events: Patch::Null,
            ..Default::default()
        };
        assert_eq!(fields(patch.columns().unwrap_err()), ["events"]);
    }
}
