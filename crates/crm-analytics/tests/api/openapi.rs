use crm_http::openapi::ApiDoc;

#[test]
fn the_openapi_document_lists_every_analytics_operation() {
    let mut doc = ApiDoc::new();
    crm_analytics::http::openapi(&mut doc);
    let doc = doc.finish("CRM API", "test");
    for (method, path) in [
        ("get", "pipeline"),
        ("get", "forecast"),
        ("get", "win-rate"),
        ("get", "funnel"),
        ("get", "totals"),
        ("get", "lag"),
        ("delete", "lag"),
        ("get", "stream"),
    ] {
        let op = &doc["paths"][format!("/api/v1/analytics/{path}")][method];
        assert!(op.is_object(), "{method} {path} documented");
    }
    let forecast = &doc["components"]["schemas"]["ForecastReport"];
    assert!(forecast["properties"]["periods"].is_object(), "{forecast}");
}
