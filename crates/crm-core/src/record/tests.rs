//! Record helpers: diffs, versions, events.

use super::*;
use serde_json::json;

#[test]
fn diff_names_changed_fields_only() {
    let a = json!({"name": "A", "version": 1, "industry": null, "employees": 5});
    let b = json!({"name": "B", "version": 2, "industry": "x", "employees": 5});
    let d = diff(&a, &b);
    assert_eq!(d.len(), 2);
    assert_eq!(d["name"], json!({"from": "A", "to": "B"}));
    assert_eq!(d["industry"], json!({"from": null, "to": "x"}));
}
