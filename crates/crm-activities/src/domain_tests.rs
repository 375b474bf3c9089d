//! The domain's rules: kinds and their fields, task transitions, meeting times, links, names.

use super::*;
use TaskStatus::*;
use proptest::prelude::*;

#[test]
fn each_kind_has_its_own_fields() {
    assert!(Kind::Task.allows("due_at") && !Kind::Task.allows("duration_seconds"));
    assert!(Kind::Call.allows("outcome") && Kind::Meeting.allows("outcome"));
    assert!(!Kind::Note.allows("outcome") && Kind::Note.allows("body"));
    assert!(!Kind::Call.allows("starts_at") && Kind::Meeting.allows("location"));
    assert!(Kind::Meeting.requires("ends_at") && !Kind::Note.requires("subject"));
    assert!(Kind::Note.requires("body") && !Kind::Task.requires("body"));
}

#[test]
fn only_done_to_in_progress_is_refused() {
    for &from in TaskStatus::ALL {
        for &to in TaskStatus::ALL {
            let refused = from.transition(to).is_err();
            assert_eq!(refused, (from, to) == (Done, InProgress), "{from} → {to}");
        }
    }
    let e = Done.transition(InProgress).unwrap_err();
    assert!(e.to_string().contains("reopen"));
}

#[test]
fn meetings_end_after_they_start() {
    let t = Utc::now();
    assert!(check_meeting_times(t, t + chrono::Duration::minutes(30)).is_ok());
    assert_eq!(check_meeting_times(t, t).unwrap_err().field, "ends_at");
}

#[test]
fn activities_cannot_be_linked_to_activities() {
    assert_eq!(
        RecordType::parse_linkable("links[0].type", "lead").unwrap(),
        RecordType::Lead
    );
    for bad in ["activity", "Company", "deal"] {
        assert_eq!(
            RecordType::parse_linkable("links[0].type", bad)
                .unwrap_err()
                .field,
            "links[0].type"
        );
    }
}

fn status() -> impl Strategy<Value = TaskStatus> {
    prop::sample::select(TaskStatus::ALL)
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL)
}

proptest! {
    #[test]
    fn completed_at_is_set_exactly_while_done(
        start in status(),
        steps in prop::collection::vec(status(), 0..20),
    ) {
        let mut now = Utc::now();
        let mut current = start;
        let mut completed = completed_at(None, start, None, now);
        for to in steps {
            now += chrono::Duration::seconds(1);
            let Ok(next) = current.transition(to) else {
                prop_assert_eq!((current, to), (Done, InProgress));
                continue;
            };
            let before = completed;
            completed = completed_at(Some(current), next, completed, now);
            prop_assert_eq!(completed.is_some(), next == Done);
            // Staying done keeps the original completion time.
            if current == Done && next == Done {
                prop_assert_eq!(completed, before);
            }
            current = next;
        }
    }

    #[test]
    fn a_field_is_allowed_for_a_kind_iff_it_is_common_or_its_own(
        k in kind(),
        field in prop::sample::select(KIND_FIELDS),
    ) {
        let own = match k {
            Kind::Task => TASK,
            Kind::Note => &[][..],
            Kind::Call => CALL,
            Kind::Meeting => MEETING,
        };
        prop_assert_eq!(k.allows(field), COMMON.contains(&field) || own.contains(&field));
        // A required field is always an allowed one.
        if k.requires(field) {
            prop_assert!(k.allows(field));
        }
    }

    #[test]
    fn names_round_trip(k in kind(), s in status()) {
        prop_assert_eq!(Kind::parse(k.as_str()), Some(k));
        prop_assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        prop_assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
    }

    #[test]
    fn parsing_never_panics(s in "\\PC{0,20}") {
        let _ = Kind::parse(&s);
        let _ = RecordType::parse_linkable("f", &s);
    }
}
