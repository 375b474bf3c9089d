//! The operations of the CRM workload: their names (the keys of a scenario's `[mix]` and of
//! every histogram), what each does, and which parts of the system each one needs — the
//! latter decides, in a fault experiment, which operations are "unaffected" by a broken part.

/// One operation of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpInfo {
    pub name: &'static str,
    pub what: &'static str,
    /// Contexts (services in the microservice build, modules in the monolith) the operation
    /// needs to succeed. The gateway and PostgreSQL are needed by everything.
    pub needs: &'static [&'static str],
    /// Whether it writes (its acknowledgements are reconciled afterwards).
    pub writes: bool,
}

const fn op(
    name: &'static str,
    what: &'static str,
    needs: &'static [&'static str],
    writes: bool,
) -> OpInfo {
    OpInfo {
        name,
        what,
        needs,
        writes,
    }
}

/// Every operation the workload knows.
pub const OPS: &[OpInfo] = &[
    op(
        "list_companies",
        "GET /companies with a filter, a sort and a keyset cursor",
        &["customers"],
        false,
    ),
    op("get_company", "GET /companies/{id}", &["customers"], false),
    op(
        "list_contacts",
        "GET /contacts of one company, sorted by name",
        &["customers"],
        false,
    ),
    op("get_contact", "GET /contacts/{id}", &["customers"], false),
    op(
        "search",
        "GET /search?q= across companies, contacts, leads, opportunities",
        &["customers", "leads", "sales"],
        false,
    ),
    op(
        "customer_360",
        "GET /companies/{id}/overview (company, contacts, deals, activities, timeline)",
        &["customers", "sales", "activities"],
        false,
    ),
    op(
        "list_opportunities",
        "GET /opportunities filtered by stage, newest first",
        &["sales"],
        false,
    ),
    op("create_company", "POST /companies", &["customers"], true),
    op(
        "update_company",
        "PATCH /companies/{id} with If-Match",
        &["customers"],
        true,
    ),
    op(
        "create_contact",
        "POST /contacts at a company",
        &["customers"],
        true,
    ),
    op(
        "log_activity",
        "POST /activities (a call or a note linked to a contact and its company)",
        &["activities"],
        true,
    ),
    op("create_lead", "POST /leads", &["leads"], true),
    op(
        "assign_lead",
        "POST /leads/{id}/assign (round-robin among reps)",
        &["leads"],
        true,
    ),
    op("qualify_lead", "POST /leads/{id}/qualify", &["leads"], true),
    op(
        "convert_lead",
        "POST /leads/{id}/convert (company + contact + opportunity)",
        &["leads", "customers", "sales"],
        true,
    ),
    op(
        "create_opportunity",
        "POST /opportunities at a company",
        // Sales checks the company through the customers context.
        &["sales", "customers"],
        true,
    ),
    op(
        "move_opportunity",
        "POST /opportunities/{id}/move to the next stage, to won or lost",
        &["sales"],
        true,
    ),
    op(
        "analytics_pipeline",
        "GET /analytics/pipeline",
        &["analytics"],
        false,
    ),
    op(
        "analytics_forecast",
        "GET /analytics/forecast?period=quarter",
        &["analytics"],
        false,
    ),
    op(
        "analytics_win_rate",
        "GET /analytics/win-rate",
        &["analytics"],
        false,
    ),
    op(
        "analytics_funnel",
        "GET /analytics/funnel",
        &["analytics"],
        false,
    ),
    op(
        "batch_import",
        "POST /contacts/batch (25 contacts, all_or_none)",
        &["customers"],
        true,
    ),
];

/// The operation called `name`.
pub fn find(name: &str) -> Option<&'static OpInfo> {
    OPS.iter().find(|o| o.name == name)
}

/// Names of every operation, for error messages.
pub fn names() -> Vec<&'static str> {
    OPS.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_needs_are_known_contexts() {
        let mut seen = std::collections::BTreeSet::new();
        for o in OPS {
            assert!(seen.insert(o.name), "{} twice", o.name);
            for n in o.needs {
                assert!(
                    crate::topology::MICRO_SERVICES.contains(n),
                    "{}: {n}",
                    o.name
                );
            }
        }
    }
}
