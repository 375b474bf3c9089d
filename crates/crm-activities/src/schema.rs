//! The JSON Schemas of the activity bodies: one shape per kind (the fields it has, those it
//! requires, `null` for the others, which the server ignores), with the lengths, patterns,
//! enums and ranges `write` checks.

use schemars::Schema;
use serde_json::{Map, Value, json};

use crm_core::schema::{LONG_TEXT, NON_BLANK_TEXT, TEXT};

use crate::domain::{
    Direction, KIND_FIELDS, Kind, MAX_CALL_SECONDS, Priority, RecordType, TaskStatus,
};
use crate::links::MAX_LINKS;
use crate::write::{BODY_MAX, LOCATION_MAX, OUTCOME_MAX, SUBJECT_MAX};

/// Paragraph text with at least one character that is not blank (a note's body).
const NON_BLANK_LONG_TEXT: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
/// An RFC 3339 timestamp of years 0001 to 9999.
const TIMESTAMP_YEAR: &str = "^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-";

fn nullable(mut s: Value, null: bool) -> Value {
    if null {
        s = json!({"anyOf": [s, {"type": "null"}]});
    }
    s
}

/// The schema of one kind-dependent field of `kind`; `required` when the kind needs it.
fn field(kind: Kind, name: &str) -> Value {
    if !kind.allows(name) {
        // Fields of other kinds may be sent as null (clients sending every field do).
        return json!({"type": "null"});
    }
    let required = kind.requires(name);
    let text = |max: usize, long: bool| {
        let pattern = match (long, required) {
            (false, false) => TEXT,
            (false, true) => NON_BLANK_TEXT,
            (true, false) => LONG_TEXT,
            (true, true) => NON_BLANK_LONG_TEXT,
        };
        json!({"type": "string", "maxLength": max, "pattern": pattern})
    };
    let time = json!({"type": "string", "format": "date-time", "pattern": TIMESTAMP_YEAR});
    let one_of = |names: &[&str]| json!({"type": "string", "enum": names});
    let s = match name {
        "subject" => text(SUBJECT_MAX, false),
        "body" => text(BODY_MAX, true),
        "outcome" => text(OUTCOME_MAX, true),
        "location" => text(LOCATION_MAX, false),
        "due_at" | "starts_at" | "ends_at" => time,
        "status" => one_of(TaskStatus::NAMES),
        "priority" => one_of(Priority::NAMES),
        "direction" => one_of(Direction::NAMES),
        "assignee_id" => json!({"type": "string", "format": "uuid"}),
        "duration_seconds" => json!({"type": "integer", "minimum": 0, "maximum": MAX_CALL_SECONDS}),
        _ => json!({}),
    };
    nullable(s, !required)
}

fn links() -> Value {
    let types: Vec<&str> = RecordType::LINKABLE.iter().map(|t| t.as_str()).collect();
    json!({
        "type": "array", "minItems": 1, "maxItems": MAX_LINKS,
        "items": {
            "type": "object", "additionalProperties": false, "required": ["type", "id"],
            "properties": {
                "type": {"type": "string", "enum": types},
                "id": {"type": "string", "format": "uuid"}
            }
        }
    })
}

/// A link: `type` one of the linkable record types.
pub(crate) fn link_input(s: &mut Schema) {
    let types: Vec<&str> = RecordType::LINKABLE.iter().map(|t| t.as_str()).collect();
    if let Some(t) = s.get_mut("properties").and_then(|p| p.get_mut("type")) {
        *t = json!({"type": "string", "enum": types});
    }
}

/// `POST /activities`: one shape per kind.
pub(crate) fn new_activity(s: &mut Schema) {
    let variants: Vec<Value> = Kind::ALL
        .iter()
        .map(|&kind| {
            let mut props = Map::new();
            props.insert("kind".into(), json!({"const": kind.as_str()}));
            let mut required = vec![json!("kind"), json!("links")];
            for name in KIND_FIELDS {
                props.insert((*name).into(), field(kind, name));
                // Status and priority have defaults: required means "never null" for them.
                if kind.requires(name) && !matches!(*name, "status" | "priority") {
                    required.push(json!(name));
                }
            }
            props.insert("links".into(), links());
            json!({
                "type": "object", "title": kind.label(), "additionalProperties": false,
                "required": required, "properties": props
            })
        })
        .collect();
    let description = s.get("description").cloned();
    *s = schemars::json_schema!({"oneOf": variants});
    if let Some(d) = description {
        s.insert("description".into(), d);
    }
}

/// `PATCH /activities/{id}`: every field as its kinds take it (which kind the record is the
/// server knows); `links`, when given, 1 to 20 of them.
pub(crate) fn activity_patch(s: &mut Schema) {
    let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for name in KIND_FIELDS {
        let kind = Kind::ALL
            .iter()
            .copied()
            .find(|k| k.allows(name))
            .unwrap_or(Kind::Note);
        let mut f = field(kind, name);
        // A patch may clear any field it may set, except a task's status and priority.
        if !matches!(*name, "status" | "priority") && f.get("anyOf").is_none() {
            f = nullable(f, true);
        }
        props.insert((*name).into(), f);
    }
    props.insert(
        "kind".into(),
        json!({"type": "string", "enum": Kind::NAMES}),
    );
    props.insert("links".into(), links());
}
