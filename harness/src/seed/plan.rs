//! The shape of a data set, decided up front from the size and the seed in little memory:
//! how many contacts and opportunities each company has (skewed: a few big accounts, a long
//! tail of small ones), the final stage of every opportunity, the status of every lead and
//! which leads were converted into which contact. Every record is then a pure function of
//! the plan and its index ([`crate::seed::gen`]), so any table can be generated, or
//! regenerated, on its own, in any order, without holding the data set in memory.

use chrono::{DateTime, TimeZone, Utc};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::Size;
use super::words::{FIRST_NAMES, LAST_NAMES};

/// The day the data set describes: every date is relative to it, so the same seed gives the
/// same dates whenever it runs. Records were created before it; open deals close after it.
pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// How many records of each kind a size holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub companies: u32,
    pub contacts: u32,
    pub leads: u32,
    /// Opportunities of companies; converted leads add their own on top.
    pub company_opportunities: u32,
    pub activities: u32,
    pub managers: u32,
    pub reps: u32,
    pub viewers: u32,
}

impl Size {
    pub fn sizes(self) -> Sizes {
        match self {
            Size::Small => Sizes {
                companies: 40,
                contacts: 300,
                leads: 120,
                company_opportunities: 60,
                activities: 400,
                managers: 2,
                reps: 4,
                viewers: 1,
            },
            Size::Medium => Sizes {
                companies: 10_000,
                contacts: 100_000,
                leads: 30_000,
                company_opportunities: 20_000,
                activities: 100_000,
                managers: 3,
                reps: 12,
                viewers: 2,
            },
            Size::Large => Sizes {
                companies: 100_000,
                contacts: 1_000_000,
                leads: 300_000,
                company_opportunities: 200_000,
                activities: 1_000_000,
                managers: 5,
                reps: 40,
                viewers: 2,
            },
        }
    }
}

/// Most contacts one company can have: every contact of a company gets its own
/// `first.last` pair, so its e-mail address is unique.
pub const MAX_CONTACTS_PER_COMPANY: u32 = (FIRST_NAMES.len() * LAST_NAMES.len()) as u32;

/// The lead statuses, in the order of [`LEAD_STATUS_SHARE`].
pub const LEAD_STATUSES: [&str; 6] = [
    "new",
    "assigned",
    "working",
    "converted",
    "disqualified",
    "recycled",
];
/// Share of each lead status (per mille).
const LEAD_STATUS_SHARE: [u32; 6] = [180, 170, 200, 150, 180, 120];
/// Share of each final stage of an opportunity (per mille), in stage order.
const FINAL_STAGE_SHARE: [u32; 6] = [180, 140, 120, 80, 270, 210];

/// A converted lead: the contact (and through it the company) it became, and the
/// opportunity conversion created, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversion {
    pub lead: u32,
    pub contact: u32,
    pub opportunity: Option<u32>,
}

/// What every record is generated from.
#[derive(Clone, Debug)]
pub struct Plan {
    pub size: Size,
    pub seed: u64,
    pub sizes: Sizes,
    /// Contacts of company `c` are `contact_start[c] .. contact_start[c + 1]`.
    contact_start: Vec<u32>,
    /// Company opportunities of company `c` are `opp_start[c] .. opp_start[c + 1]`.
    opp_start: Vec<u32>,
    /// Final stage (index into the stages) of every opportunity.
    final_stage: Vec<u8>,
    lead_status: Vec<u8>,
    /// Per lead: its index in `conversions`, or `u32::MAX`.
    lead_conversion: Vec<u32>,
    conversions: Vec<Conversion>,
    /// Contacts a lead was converted into (conversion writes to them once more).
    converted_contacts: std::collections::HashSet<u32>,
}

/// SplitMix64's finaliser: a cheap, portable 64-bit mix.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Distributes `total` over `weights` in proportion, exactly (largest remainder), ties to
/// the lower index.
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let mut out: Vec<u64> = Vec::with_capacity(weights.len());
    let mut rest: Vec<(f64, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total as f64 * w / sum;
        out.push(exact.floor() as u64);
        rest.push((exact - exact.floor(), i));
    }
    let given: u64 = out.iter().sum();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rest.into_iter().take(total.saturating_sub(given) as usize) {
        out[i] += 1;
    }
    out
}

/// `n` values, `shares[k]` per mille of them `k`, in a seeded random order; every value
/// with a share appears at least once when `n` is at least the number of values.
fn quotas(n: u32, shares: &[u32], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let weights: Vec<f64> = shares.iter().map(|s| f64::from(*s)).collect();
    let mut counts = apportion(u64::from(n), &weights);
    if n as usize >= shares.len() {
        for k in 0..counts.len() {
            if counts[k] == 0 {
                let donor = (0..counts.len())
                    .max_by_key(|j| counts[*j])
                    .expect("values");
                counts[donor] -= 1;
                counts[k] = 1;
            }
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(n as usize);
    for (k, c) in counts.iter().enumerate() {
        out.extend(std::iter::repeat_n(k as u8, *c as usize));
    }
    out.shuffle(rng);
    out
}

/// Prefix sums of `counts`, starting at 0.
fn starts(counts: &[u64]) -> Vec<u32> {
    let mut s = Vec::with_capacity(counts.len() + 1);
    let mut acc = 0u32;
    s.push(0);
    for c in counts {
        acc += *c as u32;
        s.push(acc);
    }
    s
}

/// A bijection of `0..n`: `i ↦ (i·a + b) mod n` with `a` coprime to `n`.
pub(crate) fn permute(i: u64, n: u64, salt: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let mut a = (mix(salt) % n) | 1;
    while gcd(a, n) != 1 {
        a += 2;
    }
    let b = mix(salt ^ 0x5EED) % n;
    ((i as u128 * a as u128 + b as u128) % n as u128) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Plan {
    pub fn new(size: Size, seed: u64) -> Plan {
        let sizes = size.sizes();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed ^ 0x504C_414E));
        let n = sizes.companies as usize;
        // Zipf-like weights by rank (Pareto quantiles), dealt to companies in a seeded
        // order: the skew is the same for every seed, the big accounts are not.
        let mut ranks: Vec<usize> = (0..n).collect();
        ranks.shuffle(&mut rng);
        let weight: Vec<f64> = ranks.iter().map(|r| (*r as f64 + 1.0).powf(-0.8)).collect();
        let extra = u64::from(sizes.contacts - sizes.companies);
        let mut contacts: Vec<u64> = apportion(extra, &weight)
            .into_iter()
            .map(|c| c + 1)
            .collect();
        cap(&mut contacts, u64::from(MAX_CONTACTS_PER_COMPANY), &weight);
        // Deals follow size less than proportionally; many small accounts have none.
        let deal_weight: Vec<f64> = weight.iter().map(|w| w.powf(0.7)).collect();
        let opps = apportion(u64::from(sizes.company_opportunities), &deal_weight);

        let lead_status = quotas(sizes.leads, &LEAD_STATUS_SHARE, &mut rng);
        let mut lead_conversion = vec![u32::MAX; sizes.leads as usize];
        let mut conversions = Vec::new();
        let mut next_opp = sizes.company_opportunities;
        for (lead, status) in lead_status.iter().enumerate() {
            if LEAD_STATUSES[*status as usize] != "converted" {
                continue;
            }
            let m = conversions.len() as u64;
            let contact = permute(m, u64::from(sizes.contacts), seed ^ 0xC0DE) as u32;
            // Three conversions in five create an opportunity.
            let opportunity = (m % 5 < 3).then(|| {
                next_opp += 1;
                next_opp - 1
            });
            lead_conversion[lead] = conversions.len() as u32;
            conversions.push(Conversion {
                lead: lead as u32,
                contact,
                opportunity,
            });
        }
        let final_stage = quotas(next_opp, &FINAL_STAGE_SHARE, &mut rng);
        let converted_contacts = conversions.iter().map(|c| c.contact).collect();
        Plan {
            size,
            seed,
            sizes,
            contact_start: starts(&contacts),
            opp_start: starts(&opps),
            final_stage,
            lead_status,
            lead_conversion,
            conversions,
            converted_contacts,
        }
    }

    /// A 64-bit value for one field of one record: `kind` and `salt` name them.
    pub(crate) fn h(&self, kind: u64, index: u64, salt: u64) -> u64 {
        mix(mix(mix(self.seed ^ kind.rotate_left(17)) ^ index) ^ salt)
    }

    pub fn contacts_of(&self, company: u32) -> std::ops::Range<u32> {
        self.contact_start[company as usize]..self.contact_start[company as usize + 1]
    }

    pub fn company_of_contact(&self, contact: u32) -> u32 {
        (self.contact_start.partition_point(|s| *s <= contact) - 1) as u32
    }

    pub fn company_opportunities_of(&self, company: u32) -> std::ops::Range<u32> {
        self.opp_start[company as usize]..self.opp_start[company as usize + 1]
    }

    /// Company opportunities first, then those created by conversions.
    pub fn opportunities(&self) -> u32 {
        self.final_stage.len() as u32
    }

    pub fn company_of_company_opportunity(&self, opp: u32) -> u32 {
        (self.opp_start.partition_point(|s| *s <= opp) - 1) as u32
    }

    pub fn final_stage(&self, opp: u32) -> usize {
        usize::from(self.final_stage[opp as usize])
    }

    pub fn lead_status(&self, lead: u32) -> &'static str {
        LEAD_STATUSES[usize::from(self.lead_status[lead as usize])]
    }

    pub fn conversion_of_lead(&self, lead: u32) -> Option<&Conversion> {
        let i = self.lead_conversion[lead as usize];
        (i != u32::MAX).then(|| &self.conversions[i as usize])
    }

    pub fn conversions(&self) -> &[Conversion] {
        &self.conversions
    }

    /// The conversion that created opportunity `opp`, if any.
    pub fn conversion_of_opportunity(&self, opp: u32) -> Option<&Conversion> {
        if opp < self.sizes.company_opportunities {
            return None;
        }
        // Conversions with an opportunity are three of every five, in order.
        let k = u64::from(opp - self.sizes.company_opportunities);
        let m = (k / 3) * 5 + k % 3;
        self.conversions.get(m as usize)
    }

    pub fn is_converted_contact(&self, contact: u32) -> bool {
        self.converted_contacts.contains(&contact)
    }

    pub fn team_size(&self) -> u32 {
        self.sizes.managers + self.sizes.reps + self.sizes.viewers
    }
}

/// Lowers counts above `max` to it and hands the excess to the heaviest companies below it.
fn cap(counts: &mut [u64], max: u64, weight: &[f64]) {
    let mut excess: u64 = 0;
    for c in counts.iter_mut() {
        if *c > max {
            excess += *c - max;
            *c = max;
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|a, b| weight[*b].total_cmp(&weight[*a]).then(a.cmp(b)));
    while excess > 0 {
        let mut gave = false;
        for i in &order {
            if excess == 0 {
                break;
            }
            if counts[*i] < max {
                counts[*i] += 1;
                excess -= 1;
                gave = true;
            }
        }
        assert!(gave, "more contacts than the companies can hold");
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
