//! Leads and opportunities.

use rand::Rng;

use super::super::words::*;
use super::customers::source;
use super::*;

/// Leads name people at prospects: companies beyond the data set's own.
const PROSPECT_BASE: u64 = 1 << 32;
/// Currencies of leads' estimated values, by weight.
const LEAD_CURRENCIES: [&str; 5] = ["USD", "USD", "USD", "EUR", "GBP"];

impl Plan {
    pub fn lead(&self, l: u32) -> Lead {
        let mut rng = self.rng(K_LEAD, l);
        let status = self.lead_status(l);
        let conversion = self.conversion_of_lead(l).copied();
        let source = source(&mut rng);
        let (name, company_name, email, title) = match conversion {
            Some(conv) => {
                // A converted lead was the person its contact is now.
                let contact = self.contact(conv.contact);
                let company = self.company(contact.company);
                (
                    format!("{} {}", contact.first_name, contact.last_name),
                    Some(company.name),
                    Some(contact.emails[0].clone()),
                    contact
                        .job_title
                        .or_else(|| Some(*pick(&mut rng, JOB_TITLES))),
                )
            }
            None => {
                let (first, last) = (*pick(&mut rng, FIRST_NAMES), *pick(&mut rng, LAST_NAMES));
                let (company, domain, _) =
                    self.company_name(PROSPECT_BASE + u64::from(rng.gen_range(0..u32::MAX)));
                (
                    format!("{first} {last}"),
                    chance(&mut rng, 90).then_some(company),
                    chance(&mut rng, 85)
                        .then(|| format!("{first}.{last}@{domain}").to_ascii_lowercase()),
                    chance(&mut rng, 70).then(|| *pick(&mut rng, JOB_TITLES)),
                )
            }
        };
        let phone = chance(&mut rng, 55).then(|| phone(&mut rng, "1415"));
        let owner = match status {
            "new" => None,
            "disqualified" if chance(&mut rng, 20) => None,
            _ => Some(rep(&mut rng, self)),
        };
        let estimated_value = (conversion.is_some_and(|c| c.opportunity.is_some())
            || chance(&mut rng, 50))
        .then(|| Money {
            micros: rng.gen_range(5..2_000) * 1_000 * 1_000_000,
            currency: LEAD_CURRENCIES[rng.gen_range(0..LEAD_CURRENCIES.len())],
        });
        Lead {
            index: l,
            name,
            company_name,
            email,
            phone,
            title,
            source,
            status,
            disqualify_reason: (status == "disqualified")
                .then(|| *pick(&mut rng, DISQUALIFY_REASONS)),
            owner,
            estimated_value,
            description: chance(&mut rng, 20).then(|| *pick(&mut rng, LEAD_DESCRIPTIONS)),
            created_at: self.lead_created(l),
            status_changed_at: self.lead_status_changed(l),
            conversion,
            version: if matches!(status, "new" | "assigned") {
                1
            } else {
                2
            },
        }
    }

    pub fn opportunity(&self, o: u32) -> Opportunity {
        let mut rng = self.rng(K_OPPORTUNITY, o);
        let conversion = self.conversion_of_opportunity(o).copied();
        let (company, contact) = match conversion {
            Some(conv) => (self.company_of_contact(conv.contact), Some(conv.contact)),
            None => {
                let c = self.company_of_company_opportunity(o);
                let contacts = self.contacts_of(c);
                (
                    c,
                    chance(&mut rng, 90).then(|| rng.gen_range(contacts.start..contacts.end)),
                )
            }
        };
        let (short, _, _) = self.company_name(company.into());
        let kind = *pick(&mut rng, DEAL_KINDS);
        let name = format!("{short} – {kind}");
        let created_at = self.opportunity_created(o);
        // The stages it went through: the open ones in order up to where it stands, or up
        // to where it was when it closed.
        let last = self.final_stage(o);
        let mut stages: Vec<usize> = match last {
            WON => (0..WON).collect(),
            LOST => (0..=rng.gen_range(0..WON)).collect(),
            open => (0..=open).collect(),
        };
        if last >= WON {
            stages.push(last);
        }
        // Entered at increasing times between creation and the anchor.
        let span = (anchor() - Duration::hours(1) - created_at)
            .num_seconds()
            .max(1);
        let mut offsets: Vec<i64> = (1..stages.len()).map(|_| rng.gen_range(0..span)).collect();
        offsets.sort_unstable();
        let path: Vec<StageStep> = std::iter::once(0)
            .chain(offsets)
            .zip(stages)
            .map(|(off, stage)| StageStep {
                stage,
                at: created_at + Duration::seconds(off),
            })
            .collect();
        let closed_on = STAGES[last]
            .is_closed
            .then(|| path.last().expect("a path").at.date_naive());
        let close_date = closed_on.unwrap_or_else(|| {
            let planned = anchor().date_naive() + Duration::days(rng.gen_range(-20..240));
            planned.max(created_at.date_naive() + Duration::days(14))
        });
        let employees = (self.contacts_of(company).len() as f64 * 40.0).max(10.0);
        let units =
            (rng.gen_range(0.5..2.0) * 3_000.0 * employees.powf(0.45) / 100.0).round() as i64 * 100;
        let amount = match conversion {
            // Conversion takes the lead's estimated value (the API's default, too).
            Some(conv) => self.lead(conv.lead).estimated_value,
            None => chance(&mut rng, 95).then(|| Money {
                micros: units.max(500) * 1_000_000,
                currency: self.company_currency(company),
            }),
        };
        let owner = match conversion {
            Some(conv) => self
                .lead(conv.lead)
                .owner
                .expect("a converted lead has an owner"),
            None if chance(&mut rng, 80) => self.company_owner(company),
            None => rep(&mut rng, self),
        };
        Opportunity {
            index: o,
            name,
            amount,
            close_date,
            path,
            company,
            contact,
            owner,
            original_lead: conversion.map(|c| c.lead),
            loss_reason: (last == LOST).then(|| *pick(&mut rng, LOSS_REASONS)),
            created_at,
        }
    }
}

/// A lead's score and its reasons: `crm-leads`' own rules (`domain::score`), which the API
/// applies on every write, so the bulk path stores exactly what the API would.
pub fn score(lead: &Lead) -> (i32, Vec<(String, i32)>) {
    let value = lead.estimated_value.as_ref().map(|m| crm_core::Money {
        amount_micros: m.micros,
        currency: m.currency.to_owned(),
    });
    let (total, reasons) = crm_leads::domain::score(&crm_leads::domain::ScoreInput {
        email: lead.email.as_deref(),
        phone: lead.phone.as_deref(),
        company_name: lead.company_name.as_deref(),
        title: lead.title,
        source: lead.source,
        estimated_value: value.as_ref(),
    });
    (
        total,
        reasons.into_iter().map(|r| (r.reason, r.points)).collect(),
    )
}
