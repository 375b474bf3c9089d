//! The rows of the records' own tables, as the application writes them.

use crate::seed::generator::StageStatus;
use serde_json::json;
use uuid::Uuid;

use super::copy::Rows;
use super::generator::{RecordRef, STAGES, score};
use super::tables::{Gen, Sink};

/// The meta columns of a record created by the seeding admin.
fn meta(
    r: &mut Rows,
    g: &Gen,
    id: Uuid,
    created: chrono::DateTime<chrono::Utc>,
    updated: chrono::DateTime<chrono::Utc>,
    version: i64,
) {
    let admin = Some(g.tenant.admin_id);
    r.uuid(Some(id))
        .uuid(Some(g.tenant.tenant_id))
        .ts(Some(created))
        .ts(Some(updated))
        .uuid(admin)
        .uuid(admin)
        .int(Some(version));
}

pub(crate) fn companies(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for c in 0..p.sizes.companies {
        if s.closed {
            return;
        }
        let co = p.company(c);
        let address = json!({
            "street": co.address.street, "city": co.address.city,
            "region": co.address.region, "postal_code": co.address.postal_code,
            "country": co.address.country,
        });
        let r = &mut s.rows;
        meta(r, g, g.ids.company(p, c), co.created_at, co.created_at, 1);
        r.str(&co.name)
            .str(&co.domain)
            .str(co.industry)
            .int(Some(co.employees.into()))
            .int(co.annual_revenue.map(|m| m.micros))
            .text(co.annual_revenue.map(|m| m.currency))
            .str(&address.to_string())
            .text(co.phone.as_deref())
            .text(co.description.as_deref())
            .uuid(Some(g.tenant.rep(co.owner)));
        s.end();
    }
}

pub(crate) fn contacts(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for i in 0..p.sizes.contacts {
        if s.closed {
            return;
        }
        let ct = p.contact(i);
        let r = &mut s.rows;
        meta(
            r,
            g,
            g.ids.contact(p, i),
            ct.created_at,
            ct.created_at,
            ct.version,
        );
        r.str(ct.first_name)
            .str(ct.last_name)
            .array(&ct.emails)
            .array(&ct.phones)
            .text(ct.job_title)
            .uuid(Some(g.ids.company(p, ct.company)))
            .uuid(Some(g.tenant.rep(ct.owner)))
            .text(ct.lead_source)
            .bool(ct.do_not_contact);
        s.end();
    }
}

pub(crate) fn leads(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for l in 0..p.sizes.leads {
        if s.closed {
            return;
        }
        let lead = p.lead(l);
        let (points, reasons) = score(&lead);
        let reasons: Vec<_> = reasons
            .into_iter()
            .map(|(reason, points)| json!({"reason": reason, "points": points}))
            .collect();
        let conv = lead.conversion;
        let changed = lead.status_changed_at;
        let r = &mut s.rows;
        meta(
            r,
            g,
            g.ids.lead(p, l),
            lead.created_at,
            changed,
            lead.version,
        );
        r.str(&lead.name)
            .text(lead.company_name.as_deref())
            .text(lead.email.as_deref())
            .text(lead.phone.as_deref())
            .text(lead.title)
            .str(lead.source)
            .str(lead.status)
            .ts(Some(changed))
            .text(lead.disqualify_reason)
            .int(Some(points.into()))
            .str(&serde_json::Value::from(reasons).to_string())
            .uuid(lead.owner.map(|o| g.tenant.rep(o)))
            .int(lead.estimated_value.map(|m| m.micros))
            .text(lead.estimated_value.map(|m| m.currency))
            .text(lead.description)
            .ts(conv.map(|_| changed))
            .uuid(conv.map(|c| g.ids.company(p, p.company_of_contact(c.contact))))
            .uuid(conv.map(|c| g.ids.contact(p, c.contact)))
            .uuid(
                conv.and_then(|c| c.opportunity)
                    .map(|o| g.ids.opportunity(p, o)),
            );
        s.end();
    }
}

pub(crate) fn opportunities(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for o in 0..p.opportunities() {
        if s.closed {
            return;
        }
        let opp = p.opportunity(o);
        let stage = opp.stage();
        let last = opp.path.last().expect("a path").stage;
        let r = &mut s.rows;
        meta(
            r,
            g,
            g.ids.opportunity(p, o),
            opp.created_at,
            opp.updated_at(),
            opp.version(),
        );
        r.str(&opp.name)
            .int(opp.amount.map(|m| m.micros))
            .text(opp.amount.map(|m| m.currency))
            .date(Some(opp.close_date))
            .uuid(Some(g.tenant.pipeline_id))
            .uuid(Some(g.tenant.stage_ids[last]))
            .str(stage.key)
            .str(stage.forecast_category)
            .str(stage.status())
            .int(Some(stage.probability))
            .uuid(Some(g.ids.company(p, opp.company)))
            .uuid(opp.contact.map(|c| g.ids.contact(p, c)))
            .uuid(Some(g.tenant.rep(opp.owner)))
            .uuid(opp.original_lead.map(|l| g.ids.lead(p, l)))
            .text(opp.loss_reason)
            .ts(opp.closed_at());
        s.end();
    }
}

pub(crate) fn stage_history(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for o in 0..p.opportunities() {
        if s.closed {
            return;
        }
        let opp = p.opportunity(o);
        let id = g.ids.opportunity(p, o);
        let mut from: Option<usize> = None;
        for step in &opp.path {
            let r = &mut s.rows;
            r.uuid(Some(g.tenant.tenant_id))
                .uuid(Some(id))
                .uuid(from.map(|f| g.tenant.stage_ids[f]))
                .uuid(Some(g.tenant.stage_ids[step.stage]))
                .text(from.map(|f| STAGES[f].key))
                .str(STAGES[step.stage].key)
                .int(opp.amount.map(|m| m.micros))
                .text(opp.amount.map(|m| m.currency))
                .int(Some(STAGES[step.stage].probability))
                .ts(Some(step.at))
                .uuid(Some(g.tenant.admin_id));
            s.end();
            from = Some(step.stage);
        }
    }
}

pub(crate) fn activities(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for a in 0..p.sizes.activities {
        if s.closed {
            return;
        }
        let act = p.activity(a);
        let r = &mut s.rows;
        meta(
            r,
            g,
            g.ids.activity(p, a),
            act.created_at,
            act.created_at,
            1,
        );
        r.str(act.kind)
            .text(act.subject.as_deref())
            .text(act.body.as_deref())
            .ts(act.due_at)
            .text(act.status)
            .text(act.priority)
            .uuid(act.assignee.map(|x| g.tenant.rep(x)))
            .text(act.direction)
            .int(act.duration_seconds.map(i64::from))
            .text(act.outcome)
            .ts(act.starts_at)
            .ts(act.ends_at)
            .text(act.location)
            .ts(act.completed_at);
        s.end();
    }
}

/// The id of a record an activity links to.
fn record_id(g: &Gen, r: RecordRef) -> Uuid {
    let p = &*g.plan;
    match r {
        RecordRef::Company(c) => g.ids.company(p, c),
        RecordRef::Contact(i) => g.ids.contact(p, i),
        RecordRef::Lead(l) => g.ids.lead(p, l),
        RecordRef::Opportunity(o) => g.ids.opportunity(p, o),
    }
}

pub(crate) fn activity_links(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for a in 0..p.sizes.activities {
        if s.closed {
            return;
        }
        let act = p.activity(a);
        let id = g.ids.activity(p, a);
        for link in &act.links {
            s.rows
                .uuid(Some(g.tenant.tenant_id))
                .uuid(Some(id))
                .str(link.type_name())
                .uuid(Some(record_id(g, *link)));
            s.end();
        }
    }
}
