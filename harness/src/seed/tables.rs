//! What the bulk path writes, table by table: every column the application would have
//! written for the record (meta columns, denormalised stage fields, the lead's score,
//! stage history), and the analytics projections the events would have produced. The
//! generated columns (search vectors, primary e-mail) are PostgreSQL's to compute.
//!
//! Not written, on purpose: outbox rows and processed-event ids (no event happened, so
//! there is nothing to relay or replay), and timeline entries (a timeline is the history of
//! changes made through the system; bulk-loaded records arrive without one, and it starts
//! with the first change the workload makes).

use std::sync::Arc;

use tokio::sync::mpsc;

use super::copy::Rows;
use super::generator::Plan;
use super::ids::Ids;
use super::setup::Tenant;

/// Bytes per COPY message.
const CHUNK: usize = 1 << 20;

/// Everything a table's rows are made from.
pub(crate) struct Gen {
    pub(crate) plan: Arc<Plan>,
    pub(crate) tenant: Tenant,
    pub(crate) ids: Ids,
}

/// Where a table's rows go: chunks to the task that feeds COPY.
pub(crate) struct Sink {
    pub(crate) rows: Rows,
    tx: mpsc::Sender<Vec<u8>>,
    pub(crate) closed: bool,
}

impl Sink {
    pub(crate) fn new(tx: mpsc::Sender<Vec<u8>>) -> Sink {
        Sink {
            rows: Rows::new(),
            tx,
            closed: false,
        }
    }

    pub(crate) fn end(&mut self) {
        self.rows.end();
        if self.rows.buf.len() >= CHUNK {
            self.flush();
        }
    }

    pub(crate) fn flush(&mut self) {
        let buf = std::mem::replace(&mut self.rows.buf, Vec::with_capacity(CHUNK + 4096));
        // The receiver is gone only when COPY failed; its error is the one to report.
        if !buf.is_empty() && self.tx.blocking_send(buf).is_err() {
            self.closed = true;
        }
    }
}

/// One table of a context: its columns in COPY order and how to fill it.
pub(crate) struct Table {
    pub(crate) context: &'static str,
    pub(crate) name: &'static str,
    /// The key of the table's row count in the report.
    pub(crate) kind: &'static str,
    pub(crate) columns: &'static str,
    pub(crate) fill: fn(&Gen, &mut Sink),
}

const META: &str = "id, tenant_id, created_at, updated_at, created_by, updated_by, version";

/// In dependency order (foreign keys) within each context.
pub(crate) const TABLES: &[Table] = &[
    Table {
        context: "customers",
        name: "crm_customers.companies",
        kind: "companies",
        columns: "name, domain, industry, employees, annual_revenue_micros, \
                  annual_revenue_currency, address, phone, description, owner_id",
        fill: super::rows::companies,
    },
    Table {
        context: "customers",
        name: "crm_customers.contacts",
        kind: "contacts",
        columns: "first_name, last_name, emails, phones, job_title, company_id, owner_id, \
                  lead_source, do_not_contact",
        fill: super::rows::contacts,
    },
    Table {
        context: "leads",
        name: "crm_leads.leads",
        kind: "leads",
        columns: "name, company_name, email, phone, title, source, status, status_changed_at, \
                  disqualify_reason, score, score_reasons, owner_id, estimated_value_micros, \
                  estimated_value_currency, description, converted_at, converted_company_id, \
                  converted_contact_id, converted_opportunity_id",
        fill: super::rows::leads,
    },
    Table {
        context: "sales",
        name: "crm_sales.opportunities",
        kind: "opportunities",
        columns: "name, amount_micros, amount_currency, close_date, pipeline_id, stage_id, \
                  stage_key, forecast_category, status, probability, company_id, \
                  primary_contact_id, owner_id, original_lead_id, loss_reason, closed_at",
        fill: super::rows::opportunities,
    },
    Table {
        context: "sales",
        name: "crm_sales.stage_history",
        kind: "stage_history",
        columns: "",
        fill: super::rows::stage_history,
    },
    Table {
        context: "activities",
        name: "crm_activities.activities",
        kind: "activities",
        columns: "kind, subject, body, due_at, status, priority, assignee_id, direction, \
                  duration_seconds, outcome, starts_at, ends_at, location, completed_at",
        fill: super::rows::activities,
    },
    Table {
        context: "activities",
        name: "crm_activities.activity_links",
        kind: "activity_links",
        columns: "",
        fill: super::rows::activity_links,
    },
    Table {
        context: "analytics",
        name: "crm_analytics.opportunities",
        kind: "analytics.opportunities",
        columns: "",
        fill: super::projections::analytics_opportunities,
    },
    Table {
        context: "analytics",
        name: "crm_analytics.leads",
        kind: "analytics.leads",
        columns: "",
        fill: super::projections::analytics_leads,
    },
];

impl Table {
    /// The `COPY ... FROM STDIN` statement.
    pub(crate) fn copy_statement(&self) -> String {
        let cols = match self.kind {
            "stage_history" => "tenant_id, opportunity_id, from_stage_id, to_stage_id, from_key, \
                 to_key, amount_micros, currency, probability, changed_at, changed_by"
                .to_owned(),
            "activity_links" => "tenant_id, activity_id, record_type, record_id".to_owned(),
            "analytics.opportunities" => "tenant_id, id, version, name, amount_micros, currency, \
                 close_date, pipeline_id, stage_id, stage_key, forecast_category, status, \
                 probability, owner_id, company_id, closed_at, created_at, last_event_id, \
                 last_occurred_at"
                .to_owned(),
            "analytics.leads" => "tenant_id, id, version, status, source, owner_id, score, \
                 estimated_value_micros, currency, converted_at, created_at, last_event_id, \
                 last_occurred_at"
                .to_owned(),
            _ => format!("{META}, {}", self.columns),
        };
        format!("COPY {} ({cols}) FROM STDIN", self.name)
    }
}
