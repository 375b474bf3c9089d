use crm_http::openapi::ApiDoc;

#[test]
fn the_openapi_document_describes_every_route() {
    let mut doc = ApiDoc::new();
    crm_sales::http::openapi(&mut doc);
    let doc = doc.finish("test", "0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/pipelines", "post"),
        ("/api/v1/pipelines/{id}", "patch"),
        ("/api/v1/pipelines/{id}/stages", "get"),
        ("/api/v1/stages", "get"),
        ("/api/v1/stages/{id}/restore", "post"),
        ("/api/v1/opportunities", "get"),
        ("/api/v1/opportunities/batch", "post"),
        ("/api/v1/opportunities/{id}", "delete"),
        ("/api/v1/opportunities/{id}/move", "post"),
        ("/api/v1/opportunities/{id}/reopen", "post"),
        ("/api/v1/opportunities/{id}/stage-history", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Opportunity",
        "Pipeline",
        "Stage",
        "MoveRequest",
        "StageHistory",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
}
