//! Writes the load generator saw acknowledged, kept for reconciliation: every created record
//! must be stored exactly once (found by id, and by the unique marker the workload put in its
//! name, so a duplicate written by a retry shows up), and every acknowledged update must be
//! there (the stored version at least the acknowledged one).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kinds of record the workload writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Company,
    Contact,
    Lead,
    Opportunity,
    Activity,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Company => "company",
            Kind::Contact => "contact",
            Kind::Lead => "lead",
            Kind::Opportunity => "opportunity",
            Kind::Activity => "activity",
        }
    }

    /// The context that stores it.
    pub fn context(self) -> &'static str {
        match self {
            Kind::Company | Kind::Contact => "customers",
            Kind::Lead => "leads",
            Kind::Opportunity => "sales",
            Kind::Activity => "activities",
        }
    }

    /// Its table, and the column holding the workload's marker.
    pub fn table_and_marker_column(self) -> (&'static str, &'static str) {
        match self {
            Kind::Company => ("crm_customers.companies", "name"),
            Kind::Contact => ("crm_customers.contacts", "last_name"),
            Kind::Lead => ("crm_leads.leads", "name"),
            Kind::Opportunity => ("crm_sales.opportunities", "name"),
            Kind::Activity => ("crm_activities.activities", "subject"),
        }
    }

    pub const ALL: [Kind; 5] = [
        Kind::Company,
        Kind::Contact,
        Kind::Lead,
        Kind::Opportunity,
        Kind::Activity,
    ];
}

/// A record the API answered 201 (or 200 for a conversion) for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub kind: Kind,
    pub id: Uuid,
    /// The unique text the workload put in the record (None when the server chose the
    /// text, e.g. the company a conversion made from the lead).
    pub marker: Option<String>,
}

/// An acknowledged change of an existing record, with the version it answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updated {
    pub kind: Kind,
    pub id: Uuid,
    pub version: i64,
}

/// Every acknowledged write of a run (or several).
#[derive(Default)]
pub struct Acks {
    created: Mutex<Vec<Created>>,
    updated: Mutex<Vec<Updated>>,
}

impl Acks {
    pub fn created(&self, kind: Kind, id: Uuid, marker: Option<String>) {
        self.created
            .lock()
            .expect("acks")
            .push(Created { kind, id, marker });
    }

    pub fn updated(&self, kind: Kind, id: Uuid, version: i64) {
        self.updated
            .lock()
            .expect("acks")
            .push(Updated { kind, id, version });
    }

    pub fn all_created(&self) -> Vec<Created> {
        self.created.lock().expect("acks").clone()
    }

    /// The highest acknowledged version of each updated record.
    pub fn latest_updates(&self) -> BTreeMap<(Kind, Uuid), i64> {
        let mut out = BTreeMap::new();
        for u in self.updated.lock().expect("acks").iter() {
            let v = out.entry((u.kind, u.id)).or_insert(u.version);
            *v = (*v).max(u.version);
        }
        out
    }

    /// Acknowledged writes by kind (creates and updates), for the report.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for c in self.created.lock().expect("acks").iter() {
            *out.entry(format!("{}.created", c.kind.as_str()))
                .or_insert(0) += 1;
        }
        for u in self.updated.lock().expect("acks").iter() {
            *out.entry(format!("{}.updated", u.kind.as_str()))
                .or_insert(0) += 1;
        }
        out
    }
}
