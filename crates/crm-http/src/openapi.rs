//! The OpenAPI 3.1 document, assembled from the code: every context registers its
//! operations with the JSON Schemas of the very types its handlers (de)serialise, so the
//! document cannot drift from the implementation. Both builds assemble it from the same
//! context functions, so they serve the same document.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crm_core::Problem;
use crm_core::query::ListParams;

/// Collects operations and component schemas.
pub struct ApiDoc {
    generator: SchemaGenerator,
    paths: BTreeMap<String, Map<String, Value>>,
}

impl Default for ApiDoc {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiDoc {
    pub fn new() -> Self {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
        });
        ApiDoc {
            generator: settings.into_generator(),
            paths: BTreeMap::new(),
        }
    }

    /// A `$ref` to `T`'s schema (added to the components).
    pub fn schema<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// Adds an operation; `path` is relative to `/api/v1` unless it starts with `/.well-known`
    /// or is an ops endpoint.
    pub fn add(&mut self, method: &str, path: &str, op: Op) {
        let full = if path.starts_with("/api/") || path.starts_with("/.well-known") {
            path.to_owned()
        } else {
            format!("{}{path}", crate::API)
        };
        let problem = self.schema::<Problem>();
        let mut op = op.0;
        let responses = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        responses.insert(
            "default".into(),
            json!({
                "description": "An error, as RFC 9457 problem details",
                "content": {"application/problem+json": {"schema": problem}}
            }),
        );
        self.paths
            .entry(full)
            .or_default()
            .insert(method.to_ascii_lowercase(), Value::Object(op));
    }

    /// The finished document.
    pub fn finish(mut self, title: &str, version: &str) -> Value {
        let mut tags: Vec<String> = self
            .paths
            .values()
            .flat_map(|ops| ops.values())
            .filter_map(|op| op["tags"][0].as_str().map(str::to_owned))
            .collect();
        tags.sort();
        tags.dedup();
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": title,
                "version": version,
                "description": "The CRM's public API; the monolith and the microservice gateway serve the same document."
            },
            "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
            "paths": self.paths,
            "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
            "components": {
                "schemas": self.generator.take_definitions(true),
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An access token from POST /auth/login, or an API key (crm_...)"
                    }
                }
            },
            "security": [{"bearer": []}]
        })
    }
}

/// One operation, built fluently.
pub struct Op(Map<String, Value>);

impl Op {
    pub fn new(tag: &str, summary: &str) -> Self {
        let mut m = Map::new();
        m.insert("tags".into(), json!([tag]));
        m.insert("summary".into(), json!(summary));
        m.insert("responses".into(), json!({}));
        Op(m)
    }

    /// Callable without credentials.
    pub fn public(mut self) -> Self {
        self.0.insert("security".into(), json!([]));
        self
    }

    pub fn describe(mut self, text: &str) -> Self {
        self.0.insert("description".into(), json!(text));
        self
    }

    fn param(mut self, p: Value) -> Self {
        self.0
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("parameters is an array")
            .push(p);
        self
    }

    /// A `{name}` path parameter holding a UUID.
    pub fn path_id(self, name: &str) -> Self {
        self.param(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}))
    }

    pub fn query(self, name: &str, description: &str, schema: Value, required: bool) -> Self {
        self.param(json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema}))
    }

    pub fn header(self, name: &str, description: &str, required: bool) -> Self {
        self.param(json!({"name": name, "in": "header", "required": required, "description": description, "schema": {"type": "string"}}))
    }

    /// The list parameters (filter, order_by, limit, cursors, count, include_deleted).
    pub fn list_params(mut self) -> Self {
        let schema = schemars::schema_for!(ListParams).to_value();
        if let Some(props) = schema["properties"].as_object() {
            for (name, s) in props {
                let description = s["description"].as_str().unwrap_or("").to_owned();
                self = self.query(name, &description, json!({"type": "string"}), false);
            }
        }
        self
    }

    /// `Idempotency-Key` accepted.
    pub fn idempotent(self) -> Self {
        self.header(
            "Idempotency-Key",
            "Replays the stored response for a repeated request (24 h per tenant)",
            false,
        )
    }

    /// `If-Match` required with the record's version.
    pub fn if_match(self, required: bool) -> Self {
        self.header(
            "If-Match",
            "The record's current version (its ETag)",
            required,
        )
    }

    pub fn body(mut self, schema: Value) -> Self {
        self.0.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
        self
    }

    pub fn response(mut self, status: u16, description: &str, schema: Option<Value>) -> Self {
        let mut r = json!({"description": description});
        if let Some(s) = schema {
            r["content"] = json!({"application/json": {"schema": s}});
        }
        self.0["responses"][status.to_string()] = r;
        self
    }
}
