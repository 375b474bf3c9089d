//! What request bodies accept, stated in their JSON Schemas: the patterns, lengths, ranges,
//! enums and required fields of [`crate::validate`] and [`crate::columns`], so the OpenAPI
//! document says exactly what the server takes (a client generated from it sends nothing the
//! server refuses, and the server refuses what the document rules out).
//!
//! A body type lists its fields' [`Rule`]s once and applies them with [`constrain`] from a
//! `#[schemars(transform = ...)]` function; creates mark their required fields, patches not.

use schemars::Schema;
use serde_json::{Value, json};

/// What Rust's `trim` removes (Unicode White_Space): patterns use it where `\s` would say
/// more (Python's `\s` also matches U+001C to U+001F, which `trim` keeps).
pub const WS: &str = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// No control characters (Unicode Cc), which no single-line text field takes.
pub const TEXT: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// Text with at least one character that is not blank: required names.
pub const NON_BLANK_TEXT: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// Paragraphs: line breaks and tabs, but no other control characters.
pub const LONG_TEXT: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
/// A web domain, surrounding blanks ignored (labels as `validate::web_domain` takes them).
pub const DOMAIN: &str = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";
/// An e-mail address: a local part of printable ASCII, `@`, a domain.
pub const EMAIL: &str = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[\x21-\x3f\x41-\x7e]{1,64}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";
/// An ISO 3166-1 alpha-2 country (either case), or blank.
pub const COUNTRY: &str = r"^([A-Za-z]{2}|[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{0,2})$";
/// An ISO 4217 currency code (either case), surrounding blanks ignored.
pub const CURRENCY: &str = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z]{3}[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";
/// A phone number: an optional leading `+`, 6 to 20 digits, separators ` -./()`.
pub const PHONE: &str = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\+?([ ./()-]*[0-9]){6,20}[ ./()-]*[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// What one field of a body accepts.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// Single-line text of at most `max` characters; required on create when `required`
    /// (then not blank), otherwise blank counts as none.
    Text { max: usize, required: bool },
    /// Multi-line text of at most `max` characters.
    LongText { max: usize, required: bool },
    /// Text matching a pattern (domain, e-mail, phone).
    Pattern(&'static str),
    /// Text matching a pattern, or blank (which counts as none).
    OptPattern(&'static str),
    /// Items of a list: each matching the pattern, at most `max` of them.
    Items { pattern: &'static str, max: usize },
    /// One of a fixed set of values (or null, which clears it).
    OneOf(&'static [&'static str]),
    /// One of a fixed set of values, never null (absent takes a default).
    OneOfNonNull(&'static [&'static str]),
    /// Never null, but optional (absent keeps a default): flags.
    NonNull,
    /// An integer in `min..=max`.
    Range(i64, i64),
    /// Required on create (its type says the rest).
    Required,
}

/// Applies `rules` to the properties of an object schema; `creating` makes required fields
/// required (and not nullable).
pub fn constrain(schema: &mut Schema, creating: bool, rules: &[(&str, Rule)]) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let mut required: Vec<Value> = obj
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (name, rule) in rules {
        let Some(prop) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut(*name))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        // A required field is never null (a patch may leave it out, not clear it). A field
        // with a default is never null in a patch; in a create, null is "absent" (default).
        let non_null = matches!(
            rule,
            Rule::Text { required: true, .. }
                | Rule::LongText { required: true, .. }
                | Rule::Required
        ) || (!creating && matches!(rule, Rule::OneOfNonNull(_) | Rule::NonNull));
        let must = creating
            && matches!(
                rule,
                Rule::Text { required: true, .. }
                    | Rule::LongText { required: true, .. }
                    | Rule::Required
            );
        match rule {
            Rule::Text { max, required } => {
                let p = if *required { NON_BLANK_TEXT } else { TEXT };
                prop.insert("pattern".into(), json!(p));
                prop.insert("maxLength".into(), json!(max));
            }
            Rule::LongText { max, .. } => {
                prop.insert("pattern".into(), json!(LONG_TEXT));
                prop.insert("maxLength".into(), json!(max));
            }
            Rule::Pattern(p) => {
                prop.insert("pattern".into(), json!(p));
            }
            Rule::OptPattern(p) => {
                prop.insert("pattern".into(), json!(format!(r"^{WS}*$|{p}")));
            }
            Rule::Items { pattern, max } => {
                prop.insert("maxItems".into(), json!(max));
                prop.insert(
                    "items".into(),
                    json!({"type": "string", "pattern": pattern}),
                );
            }
            Rule::OneOf(values) | Rule::OneOfNonNull(values) => {
                let mut all: Vec<Value> = values.iter().map(|v| json!(v)).collect();
                if !non_null && nullable(prop) {
                    all.push(Value::Null);
                }
                prop.insert("enum".into(), Value::Array(all));
            }
            Rule::Range(min, max) => {
                prop.insert("minimum".into(), json!(min));
                prop.insert("maximum".into(), json!(max));
            }
            Rule::Required | Rule::NonNull => {}
        }
        if non_null {
            not_null(prop);
        }
        if must && !required.iter().any(|r| r == name) {
            required.push(json!(name));
        }
    }
    if !required.is_empty() {
        obj.insert("required".into(), Value::Array(required));
    }
}

fn nullable(prop: &serde_json::Map<String, Value>) -> bool {
    match prop.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => prop.get("anyOf").is_some(),
    }
}

/// Drops `null` from a property's types (an `Option` that a create requires).
fn not_null(prop: &mut serde_json::Map<String, Value>) {
    if let Some(Value::Array(types)) = prop.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            prop.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(any)) = prop.get_mut("anyOf") {
        any.retain(|s| s.get("type") != Some(&json!("null")));
        if any.len() == 1 {
            let only = any.remove(0);
            prop.remove("anyOf");
            if let Some(o) = only.as_object() {
                for (k, v) in o {
                    prop.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, s: &str) -> bool {
        // The patterns are ECMA/Python syntax; these checks use the same character classes.
        let chars: Vec<char> = s.chars().collect();
        match pattern {
            p if p == TEXT => !chars.iter().any(|c| c.is_control()),
            p if p == NON_BLANK_TEXT => {
                !chars.iter().any(|c| c.is_control()) && chars.iter().any(|c| !c.is_whitespace())
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn text_rules_match_the_validators() {
        for (s, ok) in [
            ("Acme", true),
            ("", true),
            ("a\tb", false),
            ("x\u{85}", false),
        ] {
            assert_eq!(matches(TEXT, s), ok, "{s:?}");
            assert_eq!(crate::validate::raw_text("f", s, 10).is_ok(), ok, "{s:?}");
        }
        assert!(!matches(NON_BLANK_TEXT, "   "));
    }

    #[test]
    fn required_fields_become_required_and_not_null() {
        let mut s = schemars::json_schema!({
            "type": "object",
            "properties": {
                "name": {"type": ["string", "null"]},
                "source": {"type": ["string", "null"]}
            }
        });
        constrain(
            &mut s,
            true,
            &[
                (
                    "name",
                    Rule::Text {
                        max: 5,
                        required: true,
                    },
                ),
                ("source", Rule::OneOf(&["web"])),
            ],
        );
        let v = s.to_value();
        assert_eq!(v["required"], json!(["name"]));
        assert_eq!(v["properties"]["name"]["type"], "string");
        assert_eq!(v["properties"]["name"]["maxLength"], 5);
        assert_eq!(v["properties"]["source"]["enum"], json!(["web", null]));
    }
}
