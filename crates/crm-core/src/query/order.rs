//! `order_by=updated_at[desc],name[asc]` with `id` always appended as the final key.

use super::spec::{self, FieldSpec};
use crate::error::{Error, Result};

const MAX_KEYS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderKey {
    pub field: &'static FieldSpec,
    pub desc: bool,
}

/// The sort order of a list: user keys, then `id` in the last key's direction, so every row
/// has a unique position and keyset pagination is exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub keys: Vec<OrderKey>,
}

impl Order {
    /// Parses an `order_by` value; `None` gives the default, newest first.
    pub fn parse(input: Option<&str>, fields: &'static [FieldSpec]) -> Result<Order> {
        let input = input
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("created_at[desc]");
        let mut keys: Vec<OrderKey> = Vec::new();
        for part in input.split(',') {
            let part = part.trim();
            let (name, dir) = match part.split_once('[') {
                Some((name, rest)) => {
                    let dir = rest.strip_suffix(']').ok_or_else(|| {
                        Error::bad_request(
                            "order_by",
                            format!("'{part}': expected field[asc] or field[desc]"),
                        )
                    })?;
                    (name.trim(), dir.trim())
                }
                None => (part, "asc"),
            };
            let desc = match dir.to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                other => {
                    return Err(Error::bad_request(
                        "order_by",
                        format!("unknown direction '{other}'; use asc or desc"),
                    ));
                }
            };
            let field = spec::lookup(fields, name)
                .filter(|f| f.sortable)
                .ok_or_else(|| {
                    Error::bad_request(
                        "order_by",
                        format!(
                            "cannot sort by '{name}'; sortable fields: {}",
                            spec::names(fields, |f| f.sortable)
                        ),
                    )
                })?;
            if keys.iter().any(|k| k.field.name == field.name) {
                return Err(Error::bad_request(
                    "order_by",
                    format!("'{name}' appears twice"),
                ));
            }
            keys.push(OrderKey { field, desc });
            if field.name == "id" {
                break;
            }
        }
        if keys.len() > MAX_KEYS {
            return Err(Error::bad_request(
                "order_by",
                format!("at most {MAX_KEYS} sort keys"),
            ));
        }
        if keys.last().is_none_or(|k| k.field.name != "id") {
            let desc = keys.last().is_some_and(|k| k.desc);
            let id = spec::lookup(fields, "id").expect("id is a common field");
            keys.push(OrderKey { field: id, desc });
        }
        Ok(Order { keys })
    }

    /// A stable text form, stored in cursors so a cursor is only used with its own order.
    pub fn signature(&self) -> String {
        self.keys
            .iter()
            .map(|k| format!("{}:{}", k.field.name, if k.desc { "d" } else { "a" }))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The same keys in the opposite direction (to page backwards).
    pub fn reversed(&self) -> Order {
        Order {
            keys: self
                .keys
                .iter()
                .map(|k| OrderKey {
                    field: k.field,
                    desc: !k.desc,
                })
                .collect(),
        }
    }

    /// `ORDER BY` items. Null placement is PostgreSQL's default (nulls sort as largest),
    /// which matches plain b-tree indexes and the keyset condition below.
    pub fn sql(&self) -> String {
        self.keys
            .iter()
            .map(|k| format!("{}{}", k.field.column, if k.desc { " DESC" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::spec::FieldKind;

    static FIELDS: &[FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("notes", FieldKind::Text).no_sort(),
    ];

    #[test]
    fn id_is_always_last_in_the_last_direction() {
        let o = Order::parse(Some("name[desc]"), FIELDS).unwrap();
        assert_eq!(o.signature(), "name:d,id:d");
        let o = Order::parse(None, FIELDS).unwrap();
        assert_eq!(o.signature(), "created_at:d,id:d");
        let o = Order::parse(Some("id,name"), FIELDS).unwrap();
        assert_eq!(o.signature(), "id:a");
    }

    #[test]
    fn unsortable_and_unknown_fields_are_refused() {
        assert!(Order::parse(Some("notes"), FIELDS).is_err());
        assert!(Order::parse(Some("colour[asc]"), FIELDS).is_err());
        assert!(Order::parse(Some("name[up]"), FIELDS).is_err());
        assert!(Order::parse(Some("name,name"), FIELDS).is_err());
    }
}
