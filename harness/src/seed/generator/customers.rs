//! The team, companies and contacts.

use rand::Rng;

use super::super::plan::permute;
use super::super::words::*;
use super::*;

/// Company name parts of company `c` (and of the prospects leads name, beyond the
/// companies): a bijection, so every company has its own domain.
fn name_parts(plan: &Plan, c: u64) -> (&'static str, &'static str, &'static str, &'static str) {
    let (np, nc, nk) = (
        COMPANY_PREFIX.len() as u64,
        COMPANY_CORE.len() as u64,
        COMPANY_KIND.len() as u64,
    );
    let p = permute(c % (np * nc * nk), np * nc * nk, plan.seed ^ 0xC0_4A17);
    let (kind, industry) = COMPANY_KIND[(p % nk) as usize];
    let core = COMPANY_CORE[((p / nk) % nc) as usize];
    let prefix = COMPANY_PREFIX[(p / nk / nc) as usize];
    (prefix, core, kind, industry)
}

impl Plan {
    /// The team: managers, then reps, then viewers.
    pub fn team(&self) -> Vec<TeamMember> {
        let (nf, nl) = (FIRST_NAMES.len() as u64, LAST_NAMES.len() as u64);
        (0..self.team_size())
            .map(|i| {
                let pair = permute(u64::from(i), nf * nl, self.seed ^ K_TEAM);
                let (first, last) = (
                    FIRST_NAMES[(pair / nl) as usize],
                    LAST_NAMES[(pair % nl) as usize],
                );
                let role = if i < self.sizes.managers {
                    "manager"
                } else if i < self.sizes.managers + self.sizes.reps {
                    "rep"
                } else {
                    "viewer"
                };
                TeamMember {
                    name: format!("{first} {last}"),
                    email: format!("{first}.{last}@bench.crm").to_ascii_lowercase(),
                    role,
                }
            })
            .collect()
    }

    /// The short name (no legal suffix) and domain of company `c`; `c` beyond the
    /// companies names a prospect (leads' company names).
    pub fn company_name(&self, c: u64) -> (String, String, &'static str) {
        let (prefix, core, kind, industry) = name_parts(self, c);
        let city = &CITIES[(self.h(K_COMPANY, c, 1) % CITIES.len() as u64) as usize];
        let domain = format!("{prefix}{core}{kind}.{}", city.tld).to_ascii_lowercase();
        (format!("{prefix} {core} {kind}"), domain, industry)
    }

    pub fn company(&self, c: u32) -> Company {
        let mut rng = self.rng(K_COMPANY, c);
        let (short, domain, industry) = self.company_name(c.into());
        let city = &CITIES[(self.h(K_COMPANY, c.into(), 1) % CITIES.len() as u64) as usize];
        let name = if chance(&mut rng, 60) {
            format!("{short} {}", legal_suffix(city.country, rng.r#gen()))
        } else {
            short
        };
        let contacts = self.contacts_of(c).len() as f64;
        let employees = (contacts * rng.gen_range(8.0..120.0)).clamp(3.0, 400_000.0) as i32;
        let currency = currency_of(city.country);
        let annual_revenue = chance(&mut rng, 85).then(|| Money {
            micros: i64::from(employees) * rng.gen_range(60_000..240_000) / 1000 * 1000 * 1_000_000,
            currency,
        });
        let address = Address {
            street: format!("{} {}", rng.gen_range(1..400), pick(&mut rng, STREETS)),
            city: city.name,
            region: city.region,
            postal_code: format!("{}{:03}", city.postal, rng.gen_range(0..1000)),
            country: city.country,
        };
        let phone = chance(&mut rng, 80).then(|| phone(&mut rng, city.dial));
        let description =
            chance(&mut rng, 30).then(|| format!("{industry} company based in {}.", city.name));
        Company {
            index: c,
            name,
            domain,
            industry,
            employees,
            annual_revenue,
            address,
            phone,
            description,
            owner: (self.h(K_COMPANY, c.into(), 2) % u64::from(self.sizes.reps)) as u32,
            currency,
            created_at: self.company_created(c),
        }
    }

    /// The owner of company `c`, without generating it.
    pub fn company_owner(&self, c: u32) -> u32 {
        (self.h(K_COMPANY, c.into(), 2) % u64::from(self.sizes.reps)) as u32
    }

    /// The currency of company `c`'s deals, without generating it.
    pub fn company_currency(&self, c: u32) -> &'static str {
        let city = &CITIES[(self.h(K_COMPANY, c.into(), 1) % CITIES.len() as u64) as usize];
        currency_of(city.country)
    }

    /// The name of contact `i`: a `first.last` pair of its own within its company.
    pub fn contact_name(&self, i: u32) -> (&'static str, &'static str) {
        let company = self.company_of_contact(i);
        let j = i - self.contacts_of(company).start;
        let (nf, nl) = (FIRST_NAMES.len() as u64, LAST_NAMES.len() as u64);
        let pair = permute(u64::from(j), nf * nl, self.h(K_COMPANY, company.into(), 3));
        (
            FIRST_NAMES[(pair / nl) as usize],
            LAST_NAMES[(pair % nl) as usize],
        )
    }

    pub fn contact(&self, i: u32) -> Contact {
        let mut rng = self.rng(K_CONTACT, i);
        let company = self.company_of_contact(i);
        let (_, domain, _) = self.company_name(company.into());
        let (first, last) = self.contact_name(i);
        let mut emails = vec![format!("{first}.{last}@{domain}").to_ascii_lowercase()];
        if chance(&mut rng, 10) {
            emails.push(format!("{first}.{last}@mailbox.example").to_ascii_lowercase());
        }
        let city = &CITIES[(self.h(K_COMPANY, company.into(), 1) % CITIES.len() as u64) as usize];
        let mut phones = Vec::new();
        if chance(&mut rng, 60) {
            phones.push(phone(&mut rng, city.dial));
            if chance(&mut rng, 15) {
                phones.push(phone(&mut rng, city.dial));
            }
        }
        let job_title = chance(&mut rng, 85).then(|| *pick(&mut rng, JOB_TITLES));
        let owner = if chance(&mut rng, 85) {
            self.company_owner(company)
        } else {
            rep(&mut rng, self)
        };
        let lead_source = chance(&mut rng, 70).then(|| source(&mut rng));
        Contact {
            index: i,
            company,
            first_name: first,
            last_name: last,
            emails,
            phones,
            job_title,
            owner,
            lead_source,
            do_not_contact: chance(&mut rng, 3),
            created_at: self.contact_created(i),
            version: if self.is_converted_contact(i) { 2 } else { 1 },
        }
    }
}

/// Where people and leads come from, by weight.
pub(super) fn source(rng: &mut rand_chacha::ChaCha8Rng) -> &'static str {
    weighted(
        rng,
        &[
            ("web", 30),
            ("email", 12),
            ("call", 8),
            ("referral", 12),
            ("partner", 8),
            ("campaign", 12),
            ("event", 10),
            ("other", 8),
        ],
    )
}
