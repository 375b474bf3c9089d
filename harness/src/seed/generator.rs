//! The deterministic synthetic data set: records as pure functions of a [`Plan`] and an
//! index, each drawn from its own seeded ChaCha8 stream, so the same seed gives the same
//! data whichever order, or thread, generates it.
//!
//! References between records are indices (company 17, contact 4 021); the loading paths
//! turn them into ids. Stamps that other records depend on (creation times) come from cheap
//! hashes rather than the record's stream, so a record's id can be computed without
//! generating the record.
//!
//! # Layout
//! - `customers`: the team, companies and contacts.
//! - `sales`: leads (with their score) and opportunities (with their stage path).
//! - `activities`: tasks, notes, calls and meetings, linked to the records they are about.

mod activities;
mod customers;
mod sales;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use super::plan::{Conversion, Plan, Sizes, anchor};
pub use sales::score;

/// The default stages every tenant's default pipeline starts with (as `crm-sales` creates
/// them), in position order. Setup checks the deployment's stages against these.
pub const STAGES: &[StageDef] = crm_sales::domain::DEFAULT_STAGES;
/// Index of the won and lost stages in [`STAGES`].
pub const WON: usize = 4;
pub const LOST: usize = 5;

/// One stage of the default pipeline, as the sales context creates it.
pub use crm_sales::domain::DefaultStage as StageDef;

/// The status an opportunity has in a stage.
pub trait StageStatus {
    fn status(&self) -> &'static str;
}

impl StageStatus for StageDef {
    fn status(&self) -> &'static str {
        crm_sales::domain::Status::of(self.is_closed, self.is_won).as_str()
    }
}

/// An amount in micros of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    pub micros: i64,
    pub currency: &'static str,
}

/// A team member the seeding creates through the API (reps own the records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamMember {
    pub name: String,
    pub email: String,
    /// `manager`, `rep` or `viewer`.
    pub role: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub street: String,
    pub city: &'static str,
    pub region: &'static str,
    pub postal_code: String,
    pub country: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub index: u32,
    pub name: String,
    /// Normalised (lower case, no `www.`): unique across the data set.
    pub domain: String,
    pub industry: &'static str,
    pub employees: i32,
    pub annual_revenue: Option<Money>,
    pub address: Address,
    pub phone: Option<String>,
    pub description: Option<String>,
    /// Index of the owning rep.
    pub owner: u32,
    /// The currency of its deals.
    pub currency: &'static str,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub index: u32,
    pub company: u32,
    pub first_name: &'static str,
    pub last_name: &'static str,
    /// Lower case; the first (`first.last@domain`) is unique across the data set.
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub job_title: Option<&'static str>,
    pub owner: u32,
    pub lead_source: Option<&'static str>,
    pub do_not_contact: bool,
    pub created_at: DateTime<Utc>,
    /// Writes the API would have made: 1, or 2 for a contact a lead was converted into.
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lead {
    pub index: u32,
    pub name: String,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<&'static str>,
    pub source: &'static str,
    pub status: &'static str,
    pub disqualify_reason: Option<&'static str>,
    pub owner: Option<u32>,
    pub estimated_value: Option<Money>,
    pub description: Option<&'static str>,
    pub created_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub conversion: Option<Conversion>,
    /// 1, plus one for the status change (or the conversion) after creation.
    pub version: i64,
}

/// One entry of an opportunity's stage history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageStep {
    /// Index into [`STAGES`].
    pub stage: usize,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opportunity {
    pub index: u32,
    pub name: String,
    pub amount: Option<Money>,
    pub close_date: NaiveDate,
    /// Every stage it entered, the first on creation; the last is where it is.
    pub path: Vec<StageStep>,
    pub company: u32,
    pub contact: Option<u32>,
    pub owner: u32,
    pub original_lead: Option<u32>,
    pub loss_reason: Option<&'static str>,
    pub created_at: DateTime<Utc>,
}

impl Opportunity {
    pub fn stage(&self) -> &'static StageDef {
        &STAGES[self.path.last().expect("a path is never empty").stage]
    }

    pub fn status(&self) -> &'static str {
        self.stage().status()
    }

    pub fn probability(&self) -> i64 {
        self.stage().probability
    }

    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.stage()
            .is_closed
            .then(|| self.path.last().expect("a path").at)
    }

    /// Each stage change bumps the version once.
    pub fn version(&self) -> i64 {
        self.path.len() as i64
    }

    pub fn updated_at(&self) -> DateTime<Utc> {
        self.path.last().expect("a path").at
    }
}

/// A record an activity belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordRef {
    Company(u32),
    Contact(u32),
    Lead(u32),
    Opportunity(u32),
}

impl RecordRef {
    /// The link's `type` in the API and the database.
    pub fn type_name(self) -> &'static str {
        match self {
            RecordRef::Company(_) => "company",
            RecordRef::Contact(_) => "contact",
            RecordRef::Lead(_) => "lead",
            RecordRef::Opportunity(_) => "opportunity",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub index: u32,
    /// `task`, `note`, `call` or `meeting`.
    pub kind: &'static str,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub status: Option<&'static str>,
    pub priority: Option<&'static str>,
    pub assignee: Option<u32>,
    pub direction: Option<&'static str>,
    pub duration_seconds: Option<i32>,
    pub outcome: Option<&'static str>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<&'static str>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Distinct, in order.
    pub links: Vec<RecordRef>,
    pub created_at: DateTime<Utc>,
}

/// Hash domains of the record kinds.
pub(crate) const K_COMPANY: u64 = 1;
pub(crate) const K_CONTACT: u64 = 2;
pub(crate) const K_LEAD: u64 = 3;
pub(crate) const K_OPPORTUNITY: u64 = 4;
pub(crate) const K_ACTIVITY: u64 = 5;
pub(crate) const K_TEAM: u64 = 6;
/// Salts of the stamps derived by hash rather than drawn from a record's stream.
const S_CREATED: u64 = 11;
const S_CHANGED: u64 = 12;
const S_TARGET: u64 = 13;

impl Plan {
    /// The random stream of one record.
    fn rng(&self, kind: u64, index: u32) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.h(kind, u64::from(index), 0))
    }

    pub fn company_created(&self, c: u32) -> DateTime<Utc> {
        let a = anchor();
        between(
            a - Duration::days(1095),
            a - Duration::days(90),
            self.h(K_COMPANY, c.into(), S_CREATED),
        )
    }

    pub fn contact_created(&self, i: u32) -> DateTime<Utc> {
        let from = self.company_created(self.company_of_contact(i));
        between(
            from,
            anchor() - Duration::days(30),
            self.h(K_CONTACT, i.into(), S_CREATED),
        )
    }

    pub fn lead_created(&self, l: u32) -> DateTime<Utc> {
        let a = anchor();
        between(
            a - Duration::days(540),
            a - Duration::days(2),
            self.h(K_LEAD, l.into(), S_CREATED),
        )
    }

    /// When the lead got its current status (conversion time for converted leads).
    pub fn lead_status_changed(&self, l: u32) -> DateTime<Utc> {
        let created = self.lead_created(l);
        if matches!(self.lead_status(l), "new" | "assigned") {
            return created;
        }
        let until = (created + Duration::days(30)).min(anchor() - Duration::hours(1));
        between(created, until, self.h(K_LEAD, l.into(), S_CHANGED))
    }

    pub fn opportunity_created(&self, o: u32) -> DateTime<Utc> {
        if let Some(conv) = self.conversion_of_opportunity(o) {
            return self.lead_status_changed(conv.lead);
        }
        let a = anchor();
        let company = self.company_of_company_opportunity(o);
        between(
            self.company_created(company).max(a - Duration::days(730)),
            a - Duration::days(7),
            self.h(K_OPPORTUNITY, o.into(), S_CREATED),
        )
    }

    /// The record an activity is mainly about (its other links follow from it).
    pub(crate) fn activity_target(&self, a: u32) -> RecordRef {
        let x = self.h(K_ACTIVITY, a.into(), S_TARGET);
        let pick = x >> 32;
        match x % 100 {
            0..55 => RecordRef::Contact((pick % u64::from(self.sizes.contacts)) as u32),
            55..80 => RecordRef::Opportunity((pick % u64::from(self.opportunities())) as u32),
            _ => RecordRef::Lead((pick % u64::from(self.sizes.leads)) as u32),
        }
    }

    pub fn activity_created(&self, a: u32) -> DateTime<Utc> {
        let from = match self.activity_target(a) {
            RecordRef::Contact(i) => self.contact_created(i),
            RecordRef::Opportunity(o) => self.opportunity_created(o),
            RecordRef::Lead(l) => self.lead_created(l),
            RecordRef::Company(c) => self.company_created(c),
        };
        between(
            from,
            anchor() - Duration::hours(1),
            self.h(K_ACTIVITY, a.into(), S_CREATED),
        )
    }
}

/// A time in `[from, until)` chosen by `x`, to the second.
fn between(from: DateTime<Utc>, until: DateTime<Utc>, x: u64) -> DateTime<Utc> {
    let span = (until - from).num_seconds().max(1) as u64;
    from + Duration::seconds((x % span) as i64)
}

/// `true` with probability `percent` / 100.
fn chance(rng: &mut ChaCha8Rng, percent: u32) -> bool {
    rng.gen_range(0..100) < percent
}

/// One of `items`, uniformly.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// One of `items` by weight.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total);
    for (v, w) in items {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    items.last().expect("items").0
}

/// A phone number as the API normalises it: `+` and digits.
fn phone(rng: &mut ChaCha8Rng, dial: &str) -> String {
    format!("+{dial}{:07}", rng.gen_range(2_000_000..9_999_999))
}

/// A random rep (index into the reps of the team).
fn rep(rng: &mut ChaCha8Rng, plan: &Plan) -> u32 {
    rng.gen_range(0..plan.sizes.reps)
}

#[cfg(test)]
mod tests;
