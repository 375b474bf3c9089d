//! Short human sentences for timeline entries, from an event alone (no lookups): the
//! handler must work on any event without reaching into other contexts.

use serde_json::{Map, Value};
use uuid::Uuid;

use crm_core::EventEnvelope;

use crate::domain::Kind;

const MAX_VALUE: usize = 40;
const MAX_SUMMARY: usize = 300;

/// The sentence for the entry `event` makes on a record; `own` is true on the event's own
/// record, false on a linked one (a company's entry for its activity, a contact's entry for
/// the lead it was converted from).
pub fn summary(event: &EventEnvelope, own: bool) -> String {
    let s = if event.object == "activity" {
        activity(event, own)
    } else {
        record(event, own)
    };
    truncate(&s, MAX_SUMMARY)
}

/// An `activity.updated` that only marks a task done says nothing `activity.completed` (its
/// companion event) does not, so the timeline records just the latter.
pub(crate) fn is_redundant(event: &EventEnvelope) -> bool {
    let Some(changes) = event.changes.as_ref().and_then(Value::as_object) else {
        return false;
    };
    event.event == "activity.updated"
        && changes.contains_key("status")
        && changes.keys().all(|k| k == "status" || k == "completed_at")
        && changes["status"]["to"] == "done"
}

fn activity(event: &EventEnvelope, own: bool) -> String {
    let kind = event.str("kind").and_then(Kind::parse);
    let label = kind.map_or("Activity", Kind::label);
    let verb = match (event.action(), kind) {
        ("created", Some(Kind::Note)) => "added",
        ("created", Some(Kind::Call)) => "logged",
        ("created", Some(Kind::Meeting)) => "scheduled",
        ("updated", _) => {
            let what = changes(event);
            return match (what, own) {
                (Some(w), true) => w,
                (Some(w), false) => format!("{}: {}", describe(event, label), lower_first(&w)),
                (None, true) => format!("{label} updated"),
                (None, false) => format!("{} updated", describe(event, label)),
            };
        }
        (action, _) => return format!("{} {}", subject(event, label, own), words(action)),
    };
    format!("{} {verb}", subject(event, label, own))
}

/// `Task` on its own timeline, `Task "Call Bob"` elsewhere.
fn subject(event: &EventEnvelope, label: &str, own: bool) -> String {
    if own {
        label.to_owned()
    } else {
        describe(event, label)
    }
}

fn describe(event: &EventEnvelope, label: &str) -> String {
    let title = event
        .str("subject")
        .or_else(|| event.str("body").and_then(|b| b.lines().next()))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match title {
        Some(t) => format!("{label} \"{}\"", truncate(t, MAX_VALUE)),
        None => label.to_owned(),
    }
}

fn record(event: &EventEnvelope, own: bool) -> String {
    let object = capitalise(&words(&event.object));
    match event.action() {
        "updated" => changes(event).unwrap_or_else(|| format!("{object} updated")),
        "stage_changed" => stage(event),
        "merged" => {
            let n = event
                .changes
                .as_ref()
                .and_then(|c| c["merged_ids"].as_array())
                .map_or(0, Vec::len);
            let what = if n == 1 {
                words(&event.object)
            } else {
                plural(&words(&event.object))
            };
            format!("Merged {n} {what} into this one")
        }
        "lost" => match event.str("loss_reason") {
            Some(r) => format!("{object} lost: {}", truncate(r, MAX_VALUE)),
            None => format!("{object} lost"),
        },
        "converted" if !own => match event.str("name") {
            Some(n) => format!(
                "Converted from {} \"{}\"",
                words(&event.object),
                truncate(n, MAX_VALUE)
            ),
            None => format!("Converted from a {}", words(&event.object)),
        },
        action => format!("{object} {}", words(action)),
    }
}

/// "Stage changed from proposal to negotiation", from the most readable stage field.
fn stage(event: &EventEnvelope) -> String {
    let changes = event.changes.as_ref().and_then(Value::as_object);
    for key in ["stage", "stage_key", "stage_label", "stage_name"] {
        if let Some(c) = changes.and_then(|c| c.get(key))
            && let (Some(from), Some(to)) = (scalar(&c["from"]), scalar(&c["to"]))
        {
            return format!("Stage changed from {from} to {to}");
        }
    }
    "Stage changed".to_owned()
}

/// One changed field as a sentence, several as a list; `None` without changes.
fn changes(event: &EventEnvelope) -> Option<String> {
    let map: &Map<String, Value> = event.changes.as_ref()?.as_object()?;
    let keys: Vec<&String> = map.keys().collect();
    match keys.as_slice() {
        [] => None,
        [key] => Some(change(key, &map[*key]["from"], &map[*key]["to"])),
        many => {
            let mut names: Vec<String> = many.iter().map(|k| words(&field(k))).collect();
            let extra = names.len().saturating_sub(4);
            names.truncate(4);
            if extra > 0 {
                names.push(format!("{extra} more fields"));
            }
            let last = names.pop().expect("at least two");
            Some(format!("Updated {} and {last}", names.join(", ")))
        }
    }
}

fn change(key: &str, from: &Value, to: &Value) -> String {
    let label = capitalise(&words(&field(key)));
    match (from, to, scalar(from), scalar(to)) {
        (Value::Null, _, _, Some(to)) => format!("{label} set to {to}"),
        (_, Value::Null, _, _) => format!("{label} cleared"),
        (_, _, Some(from), Some(to)) => format!("{label} changed from {from} to {to}"),
        _ => format!("{label} changed"),
    }
}

/// A value short and readable enough to quote: not an id, not an object or list.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if Uuid::parse_str(s).is_ok() => None,
        Value::String(s) => Some(truncate(s, MAX_VALUE)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `stage_id` reads as "stage": the id itself is never shown.
fn field(key: &str) -> String {
    key.strip_suffix("_id").unwrap_or(key).to_owned()
}

fn words(s: &str) -> String {
    s.replace(['_', '.'], " ")
}

fn plural(s: &str) -> String {
    match s.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{s}s"),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_core::{Actor, Role};
    use serde_json::json;

    fn ev(object: &str, action: &str, data: Value, changes: Option<Value>) -> EventEnvelope {
        let actor = Actor::new(Uuid::nil(), Uuid::nil(), Role::Rep);
        let mut e = EventEnvelope::new(&actor, object, action, Uuid::nil(), data);
        e.changes = changes;
        e
    }

    #[test]
    fn records_read_as_sentences() {
        assert_eq!(
            summary(&ev("company", "created", json!({}), None), true),
            "Company created"
        );
        let stage = ev(
            "opportunity",
            "stage_changed",
            json!({}),
            Some(
                json!({"stage": {"from": "proposal", "to": "negotiation"}, "stage_id": {"from": Uuid::nil(), "to": Uuid::max()}}),
            ),
        );
        assert_eq!(
            summary(&stage, true),
            "Stage changed from proposal to negotiation"
        );
        let ids_only = ev(
            "opportunity",
            "stage_changed",
            json!({}),
            Some(json!({"stage_id": {"from": Uuid::nil(), "to": Uuid::max()}})),
        );
        assert_eq!(summary(&ids_only, true), "Stage changed");
        let status = ev(
            "lead",
            "updated",
            json!({}),
            Some(json!({"status": {"from": "new", "to": "assigned"}})),
        );
        assert_eq!(
            summary(&status, true),
            "Status changed from new to assigned"
        );
        let owner = ev(
            "lead",
            "updated",
            json!({}),
            Some(json!({"owner_id": {"from": null, "to": Uuid::max()}})),
        );
        assert_eq!(summary(&owner, true), "Owner changed");
        let many = ev(
            "company",
            "updated",
            json!({}),
            Some(json!({"a": {}, "b": {}, "c_id": {}})),
        );
        assert_eq!(summary(&many, true), "Updated a, b and c");
        let merged = ev(
            "company",
            "merged",
            json!({}),
            Some(json!({"merged_ids": [Uuid::nil(), Uuid::max()]})),
        );
        assert_eq!(summary(&merged, true), "Merged 2 companies into this one");
        let lost = ev("opportunity", "lost", json!({"loss_reason": "price"}), None);
        assert_eq!(summary(&lost, true), "Opportunity lost: price");
    }

    #[test]
    fn conversions_read_differently_on_the_new_records() {
        let e = ev("lead", "converted", json!({"name": "Jane Doe"}), None);
        assert_eq!(summary(&e, true), "Lead converted");
        assert_eq!(summary(&e, false), "Converted from lead \"Jane Doe\"");
    }

    #[test]
    fn activities_name_themselves_on_linked_records() {
        let task = json!({"kind": "task", "subject": "Call Bob"});
        assert_eq!(
            summary(&ev("activity", "created", task.clone(), None), true),
            "Task created"
        );
        assert_eq!(
            summary(&ev("activity", "completed", task.clone(), None), false),
            "Task \"Call Bob\" completed"
        );
        let note = json!({"kind": "note", "body": "Met at the fair\nmore"});
        assert_eq!(
            summary(&ev("activity", "created", note, None), false),
            "Note \"Met at the fair\" added"
        );
        let upd = ev(
            "activity",
            "updated",
            task,
            Some(json!({"priority": {"from": "normal", "to": "high"}})),
        );
        assert_eq!(
            summary(&upd, false),
            "Task \"Call Bob\": priority changed from normal to high"
        );
        assert_eq!(summary(&upd, true), "Priority changed from normal to high");
    }

    #[test]
    fn a_bare_completion_update_is_redundant() {
        let done = json!({"status": {"from": "todo", "to": "done"}, "completed_at": {"from": null, "to": "x"}});
        assert!(is_redundant(&ev(
            "activity",
            "updated",
            json!({}),
            Some(done)
        )));
        let more =
            json!({"status": {"from": "todo", "to": "done"}, "subject": {"from": "a", "to": "b"}});
        assert!(!is_redundant(&ev(
            "activity",
            "updated",
            json!({}),
            Some(more)
        )));
        let reopen = json!({"status": {"from": "done", "to": "todo"}});
        assert!(!is_redundant(&ev(
            "activity",
            "updated",
            json!({}),
            Some(reopen)
        )));
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(100);
        let e = ev(
            "company",
            "updated",
            json!({}),
            Some(json!({"name": {"from": "a", "to": long}})),
        );
        let s = summary(&e, true);
        assert!(s.ends_with('…') && s.chars().count() < 80, "{s}");
    }
}
