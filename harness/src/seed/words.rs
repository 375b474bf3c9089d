//! The generator's built-in vocabulary: people's names, company name parts (each kind of
//! company with its industry), places, job titles, and the words of deals and activities.
//!
//! Names are plain ASCII letters, so e-mail addresses made of them are valid and
//! `first.last` is injective. Company name parts are chosen so that their concatenations
//! (the domains) are unique; a unit test checks it over every combination.

#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Aaron", "Abigail", "Adam", "Adrian", "Aisha", "Alan", "Albert", "Alex", "Alice", "Alma",
    "Amanda", "Amelia", "Amir", "Amy", "Ana", "Andrea", "Andrew", "Angela", "Anna", "Anton",
    "Arjun", "Arthur", "Ava", "Barbara", "Ben", "Bianca", "Boris", "Brian", "Bruno", "Carla",
    "Carlos", "Carmen", "Caroline", "Catherine", "Cedric", "Chen", "Chloe", "Chris", "Claire",
    "Clara", "Colin", "Daniel", "David", "Diana", "Diego", "Dmitri", "Dora", "Edward", "Elena",
    "Eliza", "Emil", "Emily", "Emma", "Eric", "Eva", "Fatima", "Felix", "Fiona", "Frank",
    "Freya", "Gabriel", "George", "Grace", "Hana", "Hannah", "Hassan", "Helen", "Henry",
    "Hugo", "Ian", "Ines", "Irene", "Isaac", "Ivan", "Jack", "Jacob", "James", "Jana", "Jane",
    "Javier", "Jonas", "Julia", "Julian", "Karen", "Karim", "Kate", "Kenji", "Laura", "Lea",
    "Leon", "Lina", "Lucas", "Lucy", "Luis", "Maja", "Marco", "Maria", "Mark", "Marta",
    "Martin", "Maya", "Mei", "Michael", "Mila", "Nadia", "Nina", "Noah", "Nora", "Olga",
    "Oliver", "Omar", "Oscar", "Paul", "Paula", "Pedro", "Peter", "Priya", "Rachel", "Rafael",
    "Ravi", "Rita", "Robert", "Rosa", "Ruth", "Sam", "Sara", "Sofia", "Stefan", "Tom",
];

#[rustfmt::skip]
pub(crate) const LAST_NAMES: &[&str] = &[
    "Abbott", "Adams", "Ahmed", "Alvarez", "Andersen", "Bailey", "Baker", "Bauer", "Becker",
    "Bennett", "Berg", "Bianchi", "Brooks", "Brown", "Campbell", "Carter", "Castro", "Chan",
    "Chavez", "Clark", "Collins", "Cooper", "Costa", "Cruz", "Davies", "Diaz", "Dubois",
    "Edwards", "Evans", "Fischer", "Fleming", "Flores", "Fontaine", "Foster", "Garcia",
    "Gardner", "Gomez", "Gonzalez", "Gray", "Green", "Gupta", "Hall", "Hansen", "Harris",
    "Hayes", "Herrera", "Hill", "Hoffmann", "Hughes", "Ito", "Jackson", "Jansen", "Jensen",
    "Johnson", "Jones", "Kaur", "Keller", "Kelly", "Kim", "King", "Klein", "Koch", "Kowalski",
    "Kumar", "Lambert", "Lang", "Larsen", "Laurent", "Lee", "Lewis", "Li", "Lopez", "Martin",
    "Martinez", "Meyer", "Miller", "Mitchell", "Moore", "Morales", "Moreau", "Morgan",
    "Muller", "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "Olsen", "Ortiz", "Owens",
    "Park", "Parker", "Patel", "Perez", "Peters", "Petrov", "Phillips", "Popescu", "Price",
    "Quinn", "Ramirez", "Reed", "Reyes", "Richter", "Rivera", "Roberts", "Robinson", "Rossi",
    "Russo", "Sanchez", "Santos", "Sato", "Schmidt", "Schneider", "Schulz", "Scott", "Shah",
    "Silva", "Singh", "Smith", "Sousa", "Stewart", "Suzuki", "Tanaka", "Taylor", "Thomas",
    "Thompson", "Torres", "Turner", "Vargas", "Walker", "Wang", "Ward", "Watson", "Weber",
    "White", "Williams", "Wilson", "Wolf", "Wood", "Wright", "Yamamoto", "Young", "Zhang",
    "Zimmermann",
];

/// First words of company names.
#[rustfmt::skip]
pub(crate) const COMPANY_PREFIX: &[&str] = &[
    "Acme", "Alpine", "Amber", "Apex", "Arctic", "Atlas", "Aurora", "Azure", "Beacon",
    "Birch", "Blue", "Bright", "Cedar", "Cobalt", "Copper", "Coral", "Crimson", "Crystal",
    "Delta", "Eagle", "Echo", "Ember", "Emerald", "Falcon", "Fern", "Golden", "Granite",
    "Harbor", "Hazel", "Horizon", "Indigo", "Iron", "Ivory", "Jade", "Juniper", "Keystone",
    "Lunar", "Maple", "Meridian", "Nimbus", "Noble", "North", "Oak", "Onyx", "Orion",
    "Pacific", "Pine", "Polar", "Prime", "Quartz", "Raven", "Red", "Ruby", "Sage", "Silver",
    "Solar", "Spruce", "Stone", "Summit", "Swift", "Terra", "Titan", "Union", "Velvet",
    "Vertex", "Willow", "Zenith",
];

/// Middle words of company names.
#[rustfmt::skip]
pub(crate) const COMPANY_CORE: &[&str] = &[
    "Bay", "Bridge", "Brook", "Canyon", "Cliff", "Cloud", "Coast", "Creek", "Crest", "Dale",
    "Dune", "Field", "Fjord", "Forest", "Forge", "Gate", "Glen", "Grove", "Haven", "Heath",
    "Hill", "Isle", "Lake", "Leaf", "Light", "Marsh", "Meadow", "Mesa", "Mill", "Moor",
    "Oasis", "Park", "Peak", "Point", "Pond", "Port", "Ridge", "River", "Rock", "Shore",
    "Sky", "Spring", "Star", "Stream", "Tide", "Tower", "Vale", "View", "Wave", "Wind",
    "Wood", "Yard",
];

/// Last words of company names, each with the industry it implies.
#[rustfmt::skip]
pub(crate) const COMPANY_KIND: &[(&str, &str)] = &[
    ("Analytics", "Software"),
    ("Apparel", "Retail"),
    ("Bank", "Financial Services"),
    ("Bio", "Biotechnology"),
    ("Brewing", "Food & Beverage"),
    ("Capital", "Financial Services"),
    ("Clinic", "Healthcare"),
    ("Cloud", "Software"),
    ("Construction", "Construction"),
    ("Consulting", "Professional Services"),
    ("Dynamics", "Manufacturing"),
    ("Energy", "Energy"),
    ("Engineering", "Manufacturing"),
    ("Foods", "Food & Beverage"),
    ("Freight", "Logistics"),
    ("Health", "Healthcare"),
    ("Insurance", "Insurance"),
    ("Labs", "Biotechnology"),
    ("Legal", "Professional Services"),
    ("Logistics", "Logistics"),
    ("Media", "Media"),
    ("Motors", "Automotive"),
    ("Networks", "Telecommunications"),
    ("Pharma", "Pharmaceuticals"),
    ("Power", "Energy"),
    ("Realty", "Real Estate"),
    ("Robotics", "Manufacturing"),
    ("Security", "Software"),
    ("Software", "Software"),
    ("Solar", "Energy"),
    ("Studios", "Media"),
    ("Systems", "Software"),
    ("Telecom", "Telecommunications"),
    ("Textiles", "Manufacturing"),
    ("Travel", "Hospitality"),
    ("Ventures", "Financial Services"),
];

/// Legal suffixes by country.
pub(crate) fn legal_suffix(country: &str, pick: u64) -> &'static str {
    let options: &[&'static str] = match country {
        "DE" | "AT" => &["GmbH", "AG", "GmbH"],
        "GB" => &["Ltd", "Ltd", "plc"],
        "FR" => &["SAS", "SA"],
        "NL" => &["B.V."],
        "ES" => &["S.L.", "S.A."],
        _ => &["Inc.", "LLC", "Corp.", "Inc."],
    };
    options[(pick % options.len() as u64) as usize]
}

/// A city: name, region, country, postal-code prefix, phone country code, top-level domain.
pub(crate) struct City {
    pub name: &'static str,
    pub region: &'static str,
    pub country: &'static str,
    pub postal: &'static str,
    pub dial: &'static str,
    pub tld: &'static str,
}

const fn city(
    name: &'static str,
    region: &'static str,
    country: &'static str,
    postal: &'static str,
    dial: &'static str,
    tld: &'static str,
) -> City {
    City {
        name,
        region,
        country,
        postal,
        dial,
        tld,
    }
}

/// Weighted towards the United States, as a US-based CRM's customer base would be.
#[rustfmt::skip]
pub(crate) const CITIES: &[City] = &[
    city("New York", "NY", "US", "100", "1212", "com"),
    city("San Francisco", "CA", "US", "941", "1415", "com"),
    city("Austin", "TX", "US", "787", "1512", "com"),
    city("Chicago", "IL", "US", "606", "1312", "com"),
    city("Seattle", "WA", "US", "981", "1206", "io"),
    city("Boston", "MA", "US", "021", "1617", "com"),
    city("Denver", "CO", "US", "802", "1303", "com"),
    city("Atlanta", "GA", "US", "303", "1404", "com"),
    city("Miami", "FL", "US", "331", "1305", "com"),
    city("Portland", "OR", "US", "972", "1503", "io"),
    city("Toronto", "ON", "CA", "M5", "1416", "ca"),
    city("London", "England", "GB", "EC", "4420", "co.uk"),
    city("Manchester", "England", "GB", "M", "44161", "co.uk"),
    city("Edinburgh", "Scotland", "GB", "EH", "44131", "co.uk"),
    city("Berlin", "Berlin", "DE", "10", "4930", "de"),
    city("Munich", "Bavaria", "DE", "80", "4989", "de"),
    city("Hamburg", "Hamburg", "DE", "20", "4940", "de"),
    city("Vienna", "Vienna", "AT", "10", "431", "at"),
    city("Paris", "Ile-de-France", "FR", "75", "331", "fr"),
    city("Lyon", "Auvergne-Rhone-Alpes", "FR", "69", "334", "fr"),
    city("Amsterdam", "North Holland", "NL", "10", "3120", "nl"),
    city("Madrid", "Madrid", "ES", "28", "3491", "es"),
    city("Barcelona", "Catalonia", "ES", "08", "3493", "es"),
];

/// The currency of a country's companies (and their deals).
pub(crate) fn currency_of(country: &str) -> &'static str {
    match country {
        "GB" => "GBP",
        "DE" | "AT" | "FR" | "NL" | "ES" => "EUR",
        "CA" => "CAD",
        _ => "USD",
    }
}

#[rustfmt::skip]
pub(crate) const STREETS: &[&str] = &[
    "Main Street", "Market Street", "Harbour Road", "Station Road", "Park Avenue",
    "Mill Lane", "Church Street", "High Street", "King Street", "Queen Street", "Bridge Road",
    "Lake Drive", "Hill Road", "River Street", "Oak Avenue", "Elm Street", "Cedar Lane",
    "Union Square", "Commerce Way", "Industrial Parkway",
];

#[rustfmt::skip]
pub(crate) const JOB_TITLES: &[&str] = &[
    "CEO", "CTO", "CFO", "COO", "Founder", "VP Sales", "VP Engineering", "VP Marketing",
    "Head of IT", "Head of Procurement", "Head of Operations", "Director of Finance",
    "Director of Operations", "IT Director", "Sales Director", "Account Manager",
    "Procurement Manager", "Operations Manager", "Project Manager", "Product Manager",
    "Marketing Manager", "Office Manager", "Software Engineer", "Data Analyst",
    "Financial Analyst", "Buyer", "Consultant", "Executive Assistant", "Team Lead",
    "Customer Success Manager", "Systems Administrator", "Controller",
];

/// What deals are about.
#[rustfmt::skip]
pub(crate) const DEAL_KINDS: &[&str] = &[
    "Platform licence", "Annual renewal", "Expansion", "Pilot project", "Enterprise plan",
    "Support contract", "Onboarding package", "Multi-year agreement", "Add-on seats",
    "Professional services", "Data migration", "Training programme", "Upgrade",
    "Regional rollout", "Integration project", "Managed service",
];

#[rustfmt::skip]
pub(crate) const LOSS_REASONS: &[&str] = &[
    "Lost to a competitor", "No budget", "Price too high", "No decision",
    "Timing: postponed to next year", "Missing features", "Went with an in-house solution",
    "Champion left the company",
];

#[rustfmt::skip]
pub(crate) const DISQUALIFY_REASONS: &[&str] = &[
    "Not a fit: too small", "No budget", "Student or job seeker", "Competitor research",
    "Duplicate of an existing customer", "Unreachable after five attempts",
];

#[rustfmt::skip]
pub(crate) const TASK_SUBJECTS: &[&str] = &[
    "Send proposal", "Follow up on quote", "Prepare demo", "Send contract for signature",
    "Schedule onboarding", "Check in after trial", "Update pricing sheet", "Book QBR",
    "Collect requirements", "Send case studies", "Confirm budget", "Introduce solutions engineer",
];

#[rustfmt::skip]
pub(crate) const CALL_SUBJECTS: &[&str] = &[
    "Discovery call", "Pricing discussion", "Follow-up call", "Renewal call",
    "Technical questions", "Reference call", "Budget check", "Intro call",
];

#[rustfmt::skip]
pub(crate) const CALL_OUTCOMES: &[&str] = &[
    "Interested, wants a proposal", "Left a voicemail", "Asked to call back next week",
    "Needs approval from finance", "Agreed next steps", "Not interested right now",
];

#[rustfmt::skip]
pub(crate) const MEETING_SUBJECTS: &[&str] = &[
    "Product demo", "Quarterly business review", "Kick-off meeting", "Contract negotiation",
    "Workshop", "Executive briefing", "Site visit",
];

#[rustfmt::skip]
pub(crate) const MEETING_LOCATIONS: &[&str] = &[
    "Video call", "Customer office", "Our office", "Video call", "Conference venue",
];

#[rustfmt::skip]
pub(crate) const NOTE_BODIES: &[&str] = &[
    "Customer is evaluating two other vendors; decision expected this quarter.",
    "Main pain point: manual reporting takes two days every month.",
    "Budget approved for the first phase.\nSecond phase depends on the pilot results.",
    "Prefers e-mail over phone calls.",
    "Legal review of the contract is in progress.",
    "Wants a discount for a three-year commitment.",
    "Security questionnaire sent back, all items answered.",
    "New stakeholder from procurement joined the discussion.",
    "Asked about data residency in the EU.",
    "Happy with support response times; considering more seats.",
];

#[rustfmt::skip]
pub(crate) const LEAD_DESCRIPTIONS: &[&str] = &[
    "Downloaded the pricing guide.",
    "Met at the booth, asked for a demo.",
    "Requested a call back via the website.",
    "Referred by an existing customer.",
    "Attended the webinar on automation.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_company_name_combination_gives_its_own_domain() {
        let mut seen = HashSet::new();
        for p in COMPANY_PREFIX {
            for c in COMPANY_CORE {
                for (k, _) in COMPANY_KIND {
                    let base = format!("{p}{c}{k}").to_ascii_lowercase();
                    assert!(seen.insert(base.clone()), "{base} appears twice");
                }
            }
        }
    }

    #[test]
    fn names_are_plain_letters_and_distinct() {
        for list in [FIRST_NAMES, LAST_NAMES] {
            let set: HashSet<_> = list.iter().collect();
            assert_eq!(set.len(), list.len(), "a name appears twice");
            assert!(
                list.iter()
                    .all(|n| n.bytes().all(|b| b.is_ascii_alphabetic()))
            );
        }
    }
}
