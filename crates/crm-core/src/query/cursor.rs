//! Opaque keyset cursors: the sort-key values of a row plus the order they belong to.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

use super::order::Order;
use super::value::SqlValue;
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct Wire {
    /// The order signature the values belong to.
    o: String,
    /// One value per order key, as JSON.
    v: Vec<Value>,
}

/// Encodes the sort-key values of `record` (its JSON form) as a cursor.
pub fn encode(order: &Order, record: &Value) -> String {
    let v = order
        .keys
        .iter()
        .map(|k| {
            json_path(record, k.field.name)
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    let wire = Wire {
        o: order.signature(),
        v,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("cursor serialises"))
}

/// Decodes a cursor made for `order` into one typed value per key.
pub fn decode(param: &str, order: &Order, cursor: &str) -> Result<Vec<SqlValue>> {
    let bad = |why: &str| Error::bad_request(param, format!("invalid cursor: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| bad("not base64url"))?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| bad("unreadable"))?;
    if wire.o != order.signature() {
        return Err(bad("it was made for another order_by"));
    }
    if wire.v.len() != order.keys.len() {
        return Err(bad("wrong number of values"));
    }
    order
        .keys
        .iter()
        .zip(&wire.v)
        .map(|(k, v)| {
            if v.is_null() && !k.field.nullable {
                return Err(bad("null for a non-null key"));
            }
            SqlValue::from_json(k.field.kind, v).map_err(|m| bad(&m))
        })
        .collect()
}

fn json_path<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |v, seg| v.get(seg))
}

/// Appends the keyset condition "rows strictly after `values` in `order`".
///
/// When every key is non-null and all go the same way this is a row comparison, which a
/// matching b-tree index answers with a single range scan. Otherwise it expands to
/// `k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...`, with nulls sorting as the largest values.
pub fn push_after(qb: &mut QueryBuilder<'_, Postgres>, order: &Order, values: Vec<SqlValue>) {
    let uniform = order.keys.iter().all(|k| k.desc == order.keys[0].desc)
        && order.keys.iter().all(|k| !k.field.nullable);
    if uniform {
        let cols: Vec<&str> = order.keys.iter().map(|k| k.field.column).collect();
        qb.push("((").push(cols.join(", ")).push(") ");
        qb.push(if order.keys[0].desc { "<" } else { ">" })
            .push(" (");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            v.push_bind(qb);
        }
        qb.push("))");
        return;
    }
    qb.push("(");
    let n = order.keys.len();
    for i in 0..n {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push("(");
        for (k, v) in order.keys[..i].iter().zip(&values[..i]) {
            if v.is_null() {
                qb.push(format_args!("{} IS NULL AND ", k.field.column));
            } else {
                qb.push(format_args!("{} = ", k.field.column));
                v.clone().push_bind(qb);
                qb.push(" AND ");
            }
        }
        let (k, v) = (&order.keys[i], &values[i]);
        let col = k.field.column;
        match (k.desc, v.is_null()) {
            // Ascending past a null: nothing is larger than null.
            (false, true) => {
                qb.push("FALSE");
            }
            (false, false) => {
                qb.push(format_args!("({col} > "));
                v.clone().push_bind(qb);
                qb.push(format_args!(" OR {col} IS NULL)"));
            }
            // Descending past a null: every non-null value comes after it.
            (true, true) => {
                qb.push(format_args!("{col} IS NOT NULL"));
            }
            (true, false) => {
                qb.push(format_args!("{col} < "));
                v.clone().push_bind(qb);
            }
        }
        qb.push(")");
    }
    qb.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::spec::{FieldKind, FieldSpec};
    use serde_json::json;

    static FIELDS: &[FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("score", FieldKind::Int).nullable(),
    ];

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_order() {
        let order = Order::parse(Some("name[desc]"), FIELDS).unwrap();
        let id = "0190a000-0000-7000-8000-000000000001";
        let c = encode(&order, &json!({"name": "Acme", "id": id}));
        let values = decode("starting_after", &order, &c).unwrap();
        assert_eq!(values[0], SqlValue::Text(Some("Acme".into())));
        let other = Order::parse(Some("name[asc]"), FIELDS).unwrap();
        assert!(decode("starting_after", &other, &c).is_err());
        assert!(decode("starting_after", &order, "%%%").is_err());
    }

    #[test]
    fn uniform_non_null_orders_use_a_row_comparison() {
        let order = Order::parse(Some("name[desc]"), FIELDS).unwrap();
        let mut qb = QueryBuilder::new("");
        let vals = vec![
            SqlValue::Text(Some("a".into())),
            SqlValue::Uuid(Some(uuid::Uuid::nil())),
        ];
        push_after(&mut qb, &order, vals);
        assert_eq!(qb.sql(), "((name, id) < ($1, $2))");
    }

    #[test]
    fn nullable_keys_expand_with_null_handling() {
        let order = Order::parse(Some("score[asc]"), FIELDS).unwrap();
        let mut qb = QueryBuilder::new("");
        push_after(
            &mut qb,
            &order,
            vec![SqlValue::Int(None), SqlValue::Uuid(Some(uuid::Uuid::nil()))],
        );
        assert_eq!(
            qb.sql(),
            "((FALSE) OR (score IS NULL AND (id > $1 OR id IS NULL)))"
        );
    }
}
