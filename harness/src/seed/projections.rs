//! The analytics projections the bulk path writes in place of the events that would have
//! fed them: one row per opportunity and lead, as the projection handler would have
//! upserted it from the record's last event (version and all), with the nil event id (no
//! event produced it) and the record's last change as the time it occurred.

use crate::seed::generator::StageStatus;
use uuid::Uuid;

use super::generator::score;
use super::tables::{Gen, Sink};

pub(crate) fn analytics_opportunities(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for o in 0..p.opportunities() {
        if s.closed {
            return;
        }
        let opp = p.opportunity(o);
        let stage = opp.stage();
        let last = opp.path.last().expect("a path").stage;
        s.rows
            .uuid(Some(g.tenant.tenant_id))
            .uuid(Some(g.ids.opportunity(p, o)))
            .int(Some(opp.version()))
            .str(&opp.name)
            .int(opp.amount.map(|m| m.micros))
            .text(opp.amount.map(|m| m.currency))
            .date(Some(opp.close_date))
            .uuid(Some(g.tenant.pipeline_id))
            .uuid(Some(g.tenant.stage_ids[last]))
            .str(stage.key)
            .str(stage.forecast_category)
            .str(stage.status())
            .int(Some(stage.probability))
            .uuid(Some(g.tenant.rep(opp.owner)))
            .uuid(Some(g.ids.company(p, opp.company)))
            .ts(opp.closed_at())
            .ts(Some(opp.created_at))
            // No event produced the row: the nil id says so.
            .uuid(Some(Uuid::nil()))
            .ts(Some(opp.updated_at()));
        s.end();
    }
}

pub(crate) fn analytics_leads(g: &Gen, s: &mut Sink) {
    let p = &*g.plan;
    for l in 0..p.sizes.leads {
        if s.closed {
            return;
        }
        let lead = p.lead(l);
        let (points, _) = score(&lead);
        s.rows
            .uuid(Some(g.tenant.tenant_id))
            .uuid(Some(g.ids.lead(p, l)))
            .int(Some(lead.version))
            .str(lead.status)
            .str(lead.source)
            .uuid(lead.owner.map(|o| g.tenant.rep(o)))
            .int(Some(points.into()))
            .int(lead.estimated_value.map(|m| m.micros))
            .text(lead.estimated_value.map(|m| m.currency))
            .ts(lead.conversion.map(|_| lead.status_changed_at))
            .ts(Some(lead.created_at))
            .uuid(Some(Uuid::nil()))
            .ts(Some(lead.status_changed_at));
        s.end();
    }
}
