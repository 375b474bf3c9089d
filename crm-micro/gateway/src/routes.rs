//! Which service answers which public route. The table is the whole public API: every path
//! the monolith serves is routed here to the service that owns it, composed here (customer
//! 360, search), or served by the gateway itself (the OpenAPI document).

use crm_http::openapi::ApiDoc;

/// The services behind the gateway; in balancer mode, the one monolith.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// The whole monolith, behind the gateway in balancer mode (not in [`Service::ALL`]).
    Monolith,
    Identity,
    Customers,
    Sales,
    Activities,
    Leads,
    Analytics,
    Notifications,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::Identity,
        Service::Customers,
        Service::Sales,
        Service::Activities,
        Service::Leads,
        Service::Analytics,
        Service::Notifications,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Identity => "identity",
            Service::Customers => "customers",
            Service::Sales => "sales",
            Service::Activities => "activities",
            Service::Leads => "leads",
            Service::Analytics => "analytics",
            Service::Notifications => "notifications",
            Service::Monolith => "monolith",
        }
    }

    /// A service by name, the monolith included.
    pub fn parse(s: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .chain([Service::Monolith])
            .find(|x| x.name() == s)
    }
}

/// The route table: every path each context documents, mapped to the service that owns it.
/// Generated from the contexts' own OpenAPI operations (the code that declares the routes),
/// so the gateway routes exactly what the services serve and an unknown path is a 404 here,
/// as in the monolith.
pub fn table() -> Vec<(String, Service)> {
    type Document = fn(&mut ApiDoc);
    let contexts: [(Service, Document); 7] = [
        (Service::Identity, crm_identity::http::openapi),
        (Service::Customers, crm_customers::http::openapi),
        (Service::Sales, crm_sales::http::openapi),
        (Service::Activities, crm_activities::http::openapi),
        (Service::Leads, crm_leads::http::openapi),
        (Service::Analytics, crm_analytics::http::openapi),
        (Service::Notifications, crm_notifications::http::openapi),
    ];
    let mut table = Vec::new();
    for (service, document) in contexts {
        let mut doc = ApiDoc::new();
        document(&mut doc);
        let finished = doc.finish("", "");
        if let Some(paths) = finished["paths"].as_object() {
            table.extend(paths.keys().map(|p| (p.clone(), service)));
        }
    }
    table
}

/// Routes whose responses stream (server-sent events): no response timeout, no buffering.
pub fn is_stream(path: &str) -> bool {
    path == "/api/v1/analytics/stream"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_context_contributes_routes_and_none_is_claimed_twice() {
        let t = table();
        for s in Service::ALL {
            assert!(t.iter().any(|(_, x)| *x == s), "{} has routes", s.name());
        }
        let mut paths: Vec<&str> = t.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort();
        let n = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), n, "a path belongs to one service");
        assert!(t.contains(&(
            "/api/v1/companies/{id}/timeline".into(),
            Service::Activities
        )));
        assert!(t.contains(&("/.well-known/jwks.json".into(), Service::Identity)));
    }

    #[test]
    fn the_routes_build_into_one_router() {
        let mut r: axum::Router = axum::Router::new();
        for (p, _) in table() {
            r = r.route(&p, axum::routing::any(|| async {}));
        }
        let _ = r;
    }
}
