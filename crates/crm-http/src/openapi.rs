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

/// What `If-Match` accepts: a version, bare or as a (weak) ETag, e.g. `"3"`, `W/"3"`, `3`.
pub const IF_MATCH_PATTERN: &str = r#"^\s*(W/)?"?[0-9]{1,18}"?\s*$"#;

/// The schema of one list parameter.
fn list_param_schema(name: &str) -> Value {
    match name {
        "limit" => json!({"type": "integer", "minimum": 1, "maximum": crm_core::query::MAX_LIMIT}),
        "count" | "include_deleted" => json!({"type": "boolean"}),
        "filter" => json!({"type": "string", "maxLength": 4096}),
        "starting_after" | "ending_before" => {
            json!({"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$"})
        }
        _ => json!({"type": "string"}),
    }
}

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

    /// The schema a `$ref` points at (the schema itself when it is no reference).
    pub fn resolve(&mut self, schema: &Value) -> Value {
        match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some(name) => self
                .generator
                .definitions()
                .get(name)
                .cloned()
                .unwrap_or_else(|| schema.clone()),
            None => schema.clone(),
        }
    }

    /// Adds `schema` to the components as `name` and returns a `$ref` to it.
    pub fn component(&mut self, name: &str, schema: Value) -> Value {
        self.generator
            .definitions_mut()
            .insert(name.to_owned(), schema);
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    /// A `$ref` to `T`'s schema (added to the components).
    pub fn schema<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// Adds an operation; `path` is relative to `/api/v1` unless it starts with `/.well-known`
    /// or is an ops endpoint. The error responses the shared machinery can give are added
    /// from what the operation takes (see [`errors_of`]); the operation's own come with it.
    pub fn add(&mut self, method: &str, path: &str, op: Op) {
        let full = if path.starts_with("/api/") || path.starts_with("/.well-known") {
            path.to_owned()
        } else {
            format!("{}{path}", crate::API)
        };
        let problem = self.schema::<Problem>();
        let mut op = op.0;
        let mut errors = errors_of(method, &op);
        if let Some(own) = op.remove("x-problems").and_then(|v| v.as_object().cloned()) {
            for (status, codes) in own {
                let status: u16 = status.parse().expect("a status code");
                for c in codes.as_array().into_iter().flatten() {
                    errors.push((status, c.as_str().unwrap_or_default().to_owned()));
                }
            }
        }
        let responses = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        let mut by_status: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        for (status, code) in errors {
            let codes = by_status.entry(status).or_default();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        for (status, codes) in by_status {
            let types: Vec<String> = codes.iter().map(|c| format!("`/problems/{c}`")).collect();
            responses.insert(
                status.to_string(),
                json!({
                    "description": format!("RFC 9457 problem details of type {}", types.join(", ")),
                    "content": {"application/problem+json": {"schema": problem}}
                }),
            );
        }
        self.paths
            .entry(full)
            .or_default()
            .insert(method.to_ascii_lowercase(), Value::Object(op));
    }

    /// The finished document.
    pub fn finish(mut self, title: &str, version: &str) -> Value {
        let mut doc = self.assemble(title, version);
        no_nul(&mut doc);
        doc
    }

    fn assemble(&mut self, title: &str, version: &str) -> Value {
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

/// The error responses an operation can give through the shared machinery, as
/// `(status, problem code)`: the edge (limits, authentication, rate limits, timeouts),
/// the extractors (body, path id, `If-Match`), idempotency keys, and the database's
/// answers (`crm_core::sqlstate`: a serialization failure is a 409 on any write).
pub fn errors_of(method: &str, op: &Map<String, Value>) -> Vec<(u16, String)> {
    let mut e: Vec<(u16, &str)> = vec![
        (400, "malformed-request"),
        (414, "uri-too-long"),
        (431, "headers-too-large"),
        (503, "unavailable"),
        (504, "timeout"),
    ];
    let public = op.get("security").is_some_and(|s| s == &json!([]));
    if !public {
        e.extend([
            (401, "unauthorized"),
            (403, "forbidden"),
            (429, "rate-limited"),
        ]);
    }
    let params: Vec<&Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let has = |name: &str| params.iter().find(|p| p["name"] == name);
    if params.iter().any(|p| p["in"] == "path") {
        e.push((404, "not-found"));
    }
    if op.contains_key("requestBody") {
        e.extend([
            (413, "payload-too-large"),
            (415, "unsupported-media-type"),
            (422, "validation"),
        ]);
    }
    if let Some(p) = has("If-Match") {
        e.push((412, "precondition-failed"));
        if p["required"] == true {
            e.push((428, "precondition-required"));
        }
    }
    if has("Idempotency-Key").is_some() {
        e.extend([
            (409, "idempotency-key-in-flight"),
            (422, "idempotency-key-reused"),
        ]);
    }
    if method != "get" {
        e.extend([(409, "serialization-failure"), (409, "deadlock")]);
    }
    e.into_iter().map(|(s, c)| (s, c.to_owned())).collect()
}

/// Text PostgreSQL cannot store (NUL) is refused everywhere (`crate::storable`): every
/// string the document leaves otherwise unconstrained says so.
fn no_nul(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let is_string = match o.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained = ["pattern", "enum", "const", "format"]
                .iter()
                .any(|k| o.contains_key(*k));
            if is_string && !constrained {
                o.insert("pattern".into(), json!(NO_NUL));
            }
            for (_, child) in o.iter_mut() {
                no_nul(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(no_nul),
        _ => {}
    }
}

/// Any text without the NUL character.
pub const NO_NUL: &str = r"^[^\x00]*$";

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

    /// The list parameters (filter, order_by, limit, cursors, count, include_deleted), each
    /// with the schema of what the server accepts.
    pub fn list_params(mut self) -> Self {
        let schema = schemars::schema_for!(ListParams).to_value();
        if let Some(props) = schema["properties"].as_object() {
            for (name, s) in props {
                let description = s["description"].as_str().unwrap_or("").to_owned();
                self = self.query(name, &description, list_param_schema(name), false);
            }
        }
        self
    }

    /// `Idempotency-Key` accepted: 1 to 255 visible ASCII characters.
    pub fn idempotent(self) -> Self {
        self.param(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Replays the stored response for a repeated request (24 h per tenant)",
            "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}
        }))
    }

    /// `If-Match` with the record's version (its ETag, `"3"`; `W/"3"` and a bare `3` too).
    pub fn if_match(self, required: bool) -> Self {
        self.param(json!({
            "name": "If-Match", "in": "header", "required": required,
            "description": "The record's current version (its ETag)",
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN}
        }))
    }

    pub fn body(mut self, schema: Value) -> Self {
        self.0.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
        self
    }

    /// Problems of this operation's own (beyond [`errors_of`]), by status.
    pub fn problems(mut self, status: u16, codes: &[&str]) -> Self {
        let own = self
            .0
            .entry("x-problems")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("x-problems is an object");
        let list = own
            .entry(status.to_string())
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("a list");
        list.extend(codes.iter().map(|c| json!(c)));
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
