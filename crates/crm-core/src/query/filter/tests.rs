//! Tests of the filter language: parsing, typing and SQL.

use super::*;
use proptest::prelude::*;

const STAGES: &[&str] = &["prospecting", "proposal"];
static FIELDS: &[FieldSpec] = &[
    FieldSpec::new("name", FieldKind::Text),
    FieldSpec::new("amount", FieldKind::Int).nullable(),
    FieldSpec::new("stage", FieldKind::Enum(STAGES)),
    FieldSpec::new("won", FieldKind::Bool),
];

fn sql(filter: &str) -> Result<String> {
    let typed = Filter::parse(filter)?.check(FIELDS)?;
    let mut qb = QueryBuilder::new("");
    typed.push_sql(&mut qb);
    Ok(qb.sql().to_owned())
}

fn detail(e: Error) -> String {
    match e {
        Error::BadRequest { detail, .. } => detail,
        other => panic!("expected 400, got {other:?}"),
    }
}

#[test]
fn the_api_example_compiles() {
    assert_eq!(
        sql(r#"and(stage[eq]:"proposal",amount[gte]:1000)"#).unwrap(),
        "((stage = $1) AND (amount >= $2))"
    );
}

#[test]
fn groups_nest_and_top_level_lists_are_and() {
    assert_eq!(
        sql(r#"or(name[ilike]:"%acme%",not(won[eq]:true)),amount[is]:not_null"#).unwrap(),
        "(((name ILIKE $1) OR NOT (won = $2)) AND (amount IS NOT NULL))"
    );
    assert_eq!(
        sql(r#"stage[in]:["proposal","prospecting"]"#).unwrap(),
        "(stage = ANY($1))"
    );
}

#[test]
fn unknown_fields_and_operators_are_named() {
    assert!(detail(sql("colour[eq]:1").unwrap_err()).contains("unknown field 'colour'"));
    assert!(detail(sql("name[like]:1").unwrap_err()).contains("unknown operator 'like'"));
    assert!(detail(sql("won[gt]:true").unwrap_err()).contains("does not apply"));
    assert!(detail(sql("amount[eq]:abc").unwrap_err()).contains("not a valid integer"));
    assert!(detail(sql("stage[eq]:closed").unwrap_err()).contains("not one of"));
    assert!(detail(sql("amount[eq]:null").unwrap_err()).contains("[is]:null"));
}

#[test]
fn syntax_errors_give_positions() {
    for bad in [
        "and(",
        "name[eq]",
        "name[eq]:\"x",
        "x(name[eq]:1)",
        "name[eq]:1)",
    ] {
        assert!(detail(sql(bad).unwrap_err()).contains("position"), "{bad}");
    }
}

#[test]
fn starts_with_escapes_wildcards() {
    let typed = Filter::parse(r#"name[starts_with]:"50%_off""#)
        .unwrap()
        .check(FIELDS)
        .unwrap();
    let TypedFilter::Cond { value, .. } = typed else {
        panic!()
    };
    assert_eq!(value, SqlValue::Text(Some("50\\%\\_off%".into())));
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("{}name[eq]:1{}", "not(".repeat(20), ")".repeat(20));
    assert!(sql(&deep).is_err());
}

proptest! {
    #[test]
    fn the_parser_never_panics(s in "\\PC{0,200}") {
        let _ = Filter::parse(&s).and_then(|f| f.check(FIELDS));
    }

    #[test]
    fn quoted_strings_round_trip(s in "[^\\\\\"]{0,40}") {
        let f = Filter::parse(&format!("name[eq]:\"{s}\"")).unwrap();
        prop_assert_eq!(f, Filter::Cond { field: "name".into(), op: Op::Eq, value: Literal::Str(s) });
    }
}
