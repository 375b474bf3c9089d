//! Event patterns of a webhook subscription: an exact event (`company.created`), every event
//! of an object (`company.*`), or everything (`*`).
//!
//! Matching runs in SQL as an array overlap (`events && candidates(event)`), so one indexed
//! statement finds every subscribed webhook of a tenant. [`matches()`] is the same rule in Rust;
//! the property tests below keep the two in agreement.

use crm_core::FieldError;

/// The most patterns one webhook may hold.
pub const MAX_PATTERNS: usize = 50;

/// Checks one pattern: its shape (`[a-z_]+\.[a-z_]+`, `[a-z_]+\.\*` or `*`, nothing
/// rewritten, so what is stored is what is matched), then that
/// it can ever match: an event the system emits, or a wildcard over an object that emits
/// events (`crm_core::event`'s catalogue, served in the OpenAPI document as an enum).
pub fn pattern(field: &str, value: &str) -> Result<String, FieldError> {
    let v = shape(field, value)?;
    let known = v == "*"
        || match v.strip_suffix(".*") {
            Some(object) => crm_core::event::OBJECTS.contains(&object),
            None => crm_core::event::is_emitted(&v),
        };
    if known {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            format!(
                "'{v}' names no event the system emits; see the list of events in the API document"
            ),
        ))
    }
}

/// Every pattern a webhook may subscribe with: `*`, `{object}.*` and every emitted event.
pub fn patterns() -> Vec<String> {
    let mut all = vec!["*".to_owned()];
    all.extend(crm_core::event::OBJECTS.iter().map(|o| format!("{o}.*")));
    all.extend(crm_core::event::emitted());
    all
}

/// One pattern in the API document: an enum of [`patterns`], exactly what [`pattern`] accepts.
pub struct EventPattern;

impl schemars::JsonSchema for EventPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EventPattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An event the system emits, `{object}.*` for every event of an object, or `*` for all.",
            "enum": patterns(),
        })
    }
}

/// The grammar of a pattern, without asking whether anything emits it. Taken as given (no
/// trimming), so what is stored is what was sent and what the document's enum lists.
fn shape(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value;
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let ok = v == "*"
        || v.split_once('.')
            .is_some_and(|(object, action)| word(object) && (action == "*" || word(action)));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!("'{v}' is not an event pattern: use e.g. company.created, company.* or *"),
        ))
    }
}

/// Whether a (valid) pattern matches an event name such as `opportunity.stage_changed`.
pub fn matches(pattern: &str, event: &str) -> bool {
    if pattern == "*" || pattern == event {
        return true;
    }
    match (pattern.strip_suffix(".*"), event.split_once('.')) {
        (Some(object), Some((event_object, _))) => object == event_object,
        _ => false,
    }
}

/// Every pattern that matches `event`: the event itself, `{object}.*` and `*`. A webhook is
/// subscribed when its patterns overlap this list.
pub fn candidates(event: &str) -> Vec<String> {
    let object = event.split_once('.').map_or(event, |(o, _)| o);
    vec![event.to_owned(), format!("{object}.*"), "*".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_three_shapes_are_accepted() {
        for ok in [
            "company.created",
            "opportunity.stage_changed",
            "lead.*",
            "*",
        ] {
            assert!(pattern("events[0]", ok).is_ok(), "{ok}");
        }
        assert!(pattern("e", " lead.* ").is_err(), "taken as given");
    }

    #[test]
    fn well_formed_names_nothing_emits_are_refused() {
        for bad in ["deal.created", "company.exploded", "deal.*", "lead.won"] {
            let e = pattern("events[1]", bad).unwrap_err();
            assert_eq!(e.field, "events[1]", "{bad}");
        }
        for p in patterns() {
            assert!(pattern("events", &p).is_ok(), "{p}");
        }
    }

    #[test]
    fn other_shapes_are_refused_naming_the_field() {
        for bad in [
            "",
            "company",
            "Company.created",
            "company.",
            ".created",
            "company.created.x",
            "*.created",
            "company.**",
            "**",
            "company.cre ated",
            "company-x.created",
            "company.created1",
        ] {
            let e = shape("events[3]", bad).unwrap_err();
            assert_eq!(e.field, "events[3]", "{bad}");
        }
    }

    #[test]
    fn wildcards_match_by_object() {
        assert!(matches("*", "lead.converted"));
        assert!(matches("company.*", "company.deleted"));
        assert!(!matches("company.*", "contact.created"));
        assert!(matches("opportunity.won", "opportunity.won"));
        assert!(!matches("opportunity.won", "opportunity.lost"));
        assert!(!matches("comp.*", "company.created"));
    }

    /// A small alphabet, so generated patterns and events often share objects and actions.
    fn word() -> impl Strategy<Value = String> {
        "[a-c_]{1,3}"
    }

    fn valid_pattern() -> impl Strategy<Value = String> {
        prop_oneof![
            (word(), word()).prop_map(|(o, a)| format!("{o}.{a}")),
            word().prop_map(|o| format!("{o}.*")),
            Just("*".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn every_pattern_of_the_grammar_is_accepted_unchanged(p in valid_pattern()) {
            prop_assert_eq!(shape("events", &p).unwrap(), p);
        }

        #[test]
        fn sql_candidates_agree_with_matches(p in valid_pattern(), o in word(), a in word()) {
            let event = format!("{o}.{a}");
            prop_assert_eq!(matches(&p, &event), candidates(&event).contains(&p));
        }

        #[test]
        fn an_event_matches_its_own_name_object_wildcard_and_star(o in word(), a in word()) {
            let event = format!("{o}.{a}");
            for p in candidates(&event) {
                prop_assert!(matches(&p, &event));
            }
        }

        #[test]
        fn accepted_patterns_hold_only_the_grammars_characters(s in "\\PC{0,20}") {
            if let Ok(p) = shape("events", &s) {
                prop_assert!(p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.' || b == b'*'));
                prop_assert!(p == "*" || p.matches('.').count() == 1);
            }
        }
    }
}
