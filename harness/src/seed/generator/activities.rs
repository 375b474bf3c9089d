//! Tasks, notes, calls and meetings over time, linked to the records they are about: a
//! contact (and its company), an opportunity (its company and contact), or a lead (and,
//! once converted, what it became — as conversion re-links a lead's activities).

use chrono::Timelike;
use rand::Rng;

use super::super::words::*;
use super::*;

impl Plan {
    /// The records activity `a` is linked to, distinct and in order, the target first.
    fn activity_links(&self, a: u32, rng: &mut ChaCha8Rng) -> Vec<RecordRef> {
        let target = self.activity_target(a);
        let mut links = vec![target];
        match target {
            RecordRef::Contact(i) => {
                let c = self.company_of_contact(i);
                links.push(RecordRef::Company(c));
                // Meetings and calls sometimes include a colleague.
                if chance(rng, 10) {
                    let r = self.contacts_of(c);
                    links.push(RecordRef::Contact(rng.gen_range(r.start..r.end)));
                }
            }
            RecordRef::Opportunity(o) => {
                let opp = self.opportunity(o);
                links.push(RecordRef::Company(opp.company));
                if let Some(c) = opp.contact {
                    links.push(RecordRef::Contact(c));
                }
            }
            RecordRef::Lead(l) => {
                if let Some(conv) = self.conversion_of_lead(l) {
                    links.push(RecordRef::Contact(conv.contact));
                    links.push(RecordRef::Company(self.company_of_contact(conv.contact)));
                    if let Some(o) = conv.opportunity {
                        links.push(RecordRef::Opportunity(o));
                    }
                }
            }
            RecordRef::Company(_) => {}
        }
        let mut seen = std::collections::HashSet::new();
        links.retain(|l| seen.insert(*l));
        links
    }

    pub fn activity(&self, a: u32) -> Activity {
        let mut rng = self.rng(K_ACTIVITY, a);
        let links = self.activity_links(a, &mut rng);
        let created_at = self.activity_created(a);
        let now = anchor();
        let kind = weighted(
            &mut rng,
            &[("task", 30), ("note", 25), ("call", 30), ("meeting", 15)],
        );
        let mut act = Activity {
            index: a,
            kind,
            subject: None,
            body: None,
            due_at: None,
            status: None,
            priority: None,
            assignee: None,
            direction: None,
            duration_seconds: None,
            outcome: None,
            starts_at: None,
            ends_at: None,
            location: None,
            completed_at: None,
            links,
            created_at,
        };
        match kind {
            "task" => {
                let due = later(&mut rng, created_at, 1..21);
                act.subject = Some((*pick(&mut rng, TASK_SUBJECTS)).to_owned());
                act.due_at = Some(due);
                let status = if due < now - Duration::days(7) && chance(&mut rng, 85) {
                    "done"
                } else if chance(&mut rng, 40) {
                    "in_progress"
                } else {
                    "todo"
                };
                act.status = Some(status);
                act.priority = Some(weighted(
                    &mut rng,
                    &[("low", 20), ("normal", 60), ("high", 20)],
                ));
                act.assignee = Some(rep(&mut rng, self));
                act.completed_at = (status == "done").then(|| due.min(now - Duration::hours(1)));
            }
            "note" => {
                act.body = Some((*pick(&mut rng, NOTE_BODIES)).to_owned());
                if chance(&mut rng, 30) {
                    act.subject = Some("Account notes".to_owned());
                }
            }
            "call" => {
                act.subject = Some((*pick(&mut rng, CALL_SUBJECTS)).to_owned());
                act.direction = Some(*pick(&mut rng, &["inbound", "outbound", "outbound"]));
                act.duration_seconds = Some(rng.gen_range(30..3_600));
                act.outcome = chance(&mut rng, 80).then(|| *pick(&mut rng, CALL_OUTCOMES));
            }
            _ => {
                let starts = later(&mut rng, created_at, 1..14);
                act.subject = Some((*pick(&mut rng, MEETING_SUBJECTS)).to_owned());
                act.starts_at = Some(starts);
                act.ends_at = Some(starts + Duration::minutes(*pick(&mut rng, &[30, 45, 60, 90])));
                act.location = Some(*pick(&mut rng, MEETING_LOCATIONS));
                act.outcome =
                    (starts < now && chance(&mut rng, 50)).then(|| *pick(&mut rng, CALL_OUTCOMES));
            }
        }
        act
    }
}

/// Business hours a few days after `from` (and not before it).
fn later(rng: &mut ChaCha8Rng, from: DateTime<Utc>, days: std::ops::Range<i64>) -> DateTime<Utc> {
    let day = from + Duration::days(rng.gen_range(days));
    let at = day
        .with_hour(rng.gen_range(8..17))
        .and_then(|t| t.with_minute(*pick(rng, &[0, 15, 30, 45])))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .expect("a valid time");
    at.max(from)
}
