use std::collections::{BTreeSet, HashSet};

use super::*;
use crate::seed::Size;

fn everything(plan: &Plan) -> String {
    let mut s = String::new();
    for c in 0..plan.sizes.companies {
        s += &format!("{:?}\n", plan.company(c));
    }
    for i in 0..plan.sizes.contacts {
        s += &format!("{:?}\n", plan.contact(i));
    }
    for l in 0..plan.sizes.leads {
        s += &format!("{:?}\n", plan.lead(l));
    }
    for o in 0..plan.opportunities() {
        s += &format!("{:?}\n", plan.opportunity(o));
    }
    for a in 0..plan.sizes.activities {
        s += &format!("{:?}\n", plan.activity(a));
    }
    s + &format!("{:?}", plan.team())
}

#[test]
fn the_same_seed_generates_the_same_data_and_another_seed_other_data() {
    let a = everything(&Plan::new(Size::Small, 42));
    let b = everything(&Plan::new(Size::Small, 42));
    let c = everything(&Plan::new(Size::Small, 43));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn records_do_not_depend_on_the_order_they_are_generated_in() {
    let plan = Plan::new(Size::Small, 5);
    let forward: Vec<Activity> = (0..50).map(|a| plan.activity(a)).collect();
    let backward: Vec<Activity> = (0..50).rev().map(|a| plan.activity(a)).collect();
    assert!(forward.iter().eq(backward.iter().rev()));
}

#[test]
fn the_biggest_account_has_many_more_contacts_than_the_median_one() {
    for size in [Size::Small, Size::Medium] {
        let plan = Plan::new(size, 42);
        let mut counts: Vec<usize> = (0..plan.sizes.companies)
            .map(|c| plan.contacts_of(c).len())
            .collect();
        counts.sort_unstable();
        let (median, max) = (counts[counts.len() / 2], *counts.last().unwrap());
        assert!(max >= 5 * median, "{size:?}: max {max}, median {median}");
        let opps: usize = (0..plan.sizes.companies)
            .map(|c| plan.company_opportunities_of(c).len())
            .max()
            .unwrap();
        assert!(
            opps >= 5,
            "{size:?}: the biggest account has only {opps} deals"
        );
    }
}

#[test]
fn every_lead_status_and_every_stage_is_present() {
    let plan = Plan::new(Size::Small, 42);
    let statuses: BTreeSet<&str> = (0..plan.sizes.leads).map(|l| plan.lead(l).status).collect();
    assert_eq!(
        statuses,
        crate::seed::plan::LEAD_STATUSES.into_iter().collect()
    );
    let stages: BTreeSet<&str> = (0..plan.opportunities())
        .map(|o| plan.opportunity(o).stage().key)
        .collect();
    assert_eq!(stages, STAGES.iter().map(|s| s.key).collect());
    let kinds: BTreeSet<&str> = (0..plan.sizes.activities)
        .map(|a| plan.activity(a).kind)
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

#[test]
fn domains_and_primary_emails_are_unique_as_the_database_requires() {
    let plan = Plan::new(Size::Medium, 9);
    let domains: HashSet<String> = (0..plan.sizes.companies)
        .map(|c| plan.company(c).domain)
        .collect();
    assert_eq!(domains.len(), plan.sizes.companies as usize);
    let emails: HashSet<String> = (0..plan.sizes.contacts)
        .map(|i| plan.contact(i).emails[0].clone())
        .collect();
    assert_eq!(emails.len(), plan.sizes.contacts as usize);
}

#[test]
fn the_large_size_has_a_million_contacts_and_room_for_its_companies() {
    let sizes = Size::Large.sizes();
    assert!(sizes.contacts >= 1_000_000);
    let combos = crate::seed::words::COMPANY_PREFIX.len()
        * crate::seed::words::COMPANY_CORE.len()
        * crate::seed::words::COMPANY_KIND.len();
    assert!(combos >= sizes.companies as usize, "{combos} company names");
}

#[test]
fn records_keep_the_rules_the_database_checks() {
    let plan = Plan::new(Size::Small, 1);
    for o in 0..plan.opportunities() {
        let opp = plan.opportunity(o);
        assert_eq!(opp.path[0].stage, 0, "created in the first stage");
        assert!(opp.path.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(opp.loss_reason.is_some(), opp.status() == "lost");
        assert!(opp.closed_at().is_none_or(|t| t < anchor()));
        if let Some(c) = opp.contact {
            assert_eq!(plan.company_of_contact(c), opp.company);
        }
    }
    for a in 0..plan.sizes.activities {
        let act = plan.activity(a);
        assert!(!act.links.is_empty() && act.links.len() <= 20);
        assert_eq!(act.completed_at.is_some(), act.status == Some("done"));
        if let (Some(s), Some(e)) = (act.starts_at, act.ends_at) {
            assert!(e > s);
        }
        assert!(act.subject.is_some() || act.kind == "note");
    }
    for l in 0..plan.sizes.leads {
        let lead = plan.lead(l);
        assert_eq!(lead.conversion.is_some(), lead.status == "converted");
        if matches!(
            lead.status,
            "assigned" | "working" | "converted" | "recycled"
        ) {
            assert!(lead.owner.is_some(), "{lead:?}");
        }
        assert!(score(&lead).0 <= 100);
    }
}

#[test]
fn a_converted_lead_is_the_person_its_contact_is() {
    let plan = Plan::new(Size::Small, 42);
    let conv = plan.conversions()[0];
    let lead = plan.lead(conv.lead);
    let contact = plan.contact(conv.contact);
    assert_eq!(lead.email.as_deref(), Some(contact.emails[0].as_str()));
    assert_eq!(contact.version, 2);
    if let Some(o) = conv.opportunity {
        let opp = plan.opportunity(o);
        assert_eq!(opp.original_lead, Some(conv.lead));
        assert_eq!(opp.contact, Some(conv.contact));
    }
    // Conversion gives an opportunity the lead's estimated value when it names no amount,
    // so every conversion opportunity carries that value, on either path.
    for conv in plan.conversions() {
        if let Some(o) = conv.opportunity {
            let value = plan.lead(conv.lead).estimated_value;
            assert!(value.is_some());
            assert_eq!(plan.opportunity(o).amount, value);
        }
    }
}

#[test]
fn the_won_and_lost_indices_name_the_sales_contexts_closed_stages() {
    use crate::seed::generator::{LOST, STAGES, StageStatus, WON};
    assert_eq!(STAGES[WON].status(), "won");
    assert_eq!(STAGES[LOST].status(), "lost");
    assert!(STAGES[..WON].iter().all(|s| s.status() == "open"));
}
