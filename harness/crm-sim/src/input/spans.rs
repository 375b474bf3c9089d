//! Where a key is in a TOML text, both ways: a key's path (`micro.ops.get_company.
//! shapes[0].nodes[2].process`) to its line, for the problems validation finds; and a byte
//! offset to the path of the key there, for the errors the TOML deserializer reports (it
//! knows the span but not the path). Both walk toml's spanned document (`DeTable`).
//!
//! The harness's scenario files report a line only for what the deserializer refuses;
//! here every problem, found by the types or by validation, carries both path and line.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

/// The 1-based line of byte `offset`.
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line of the key at `path`, or of its deepest ancestor present in the text (a missing
/// key is reported where its table is).
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut offset: Option<usize> = None;
    let mut value: Option<&DeValue<'_>> = None;
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    for seg in segments(path) {
        match (seg, table, value) {
            (Seg::Key(k), Some(t), _) => {
                let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref() == k) else {
                    break;
                };
                offset = Some(key.span().start);
                value = Some(v.get_ref());
            }
            (Seg::Index(i), _, Some(DeValue::Array(a))) => {
                let Some(v) = a.get(i) else { break };
                offset = Some(v.span().start);
                value = Some(v.get_ref());
            }
            _ => break,
        }
        table = match value {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        };
    }
    offset.map(|o| line_at(text, o))
}

/// The path of the innermost key or array element whose span holds `offset`.
pub fn path_at(text: &str, offset: usize) -> String {
    let Ok(doc) = DeTable::parse(text) else {
        return String::new();
    };
    let mut path = String::new();
    walk_table(doc.get_ref(), offset, &mut path);
    path
}

fn holds(span: std::ops::Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

fn walk_table(t: &DeTable<'_>, offset: usize, path: &mut String) {
    for (key, value) in t.iter() {
        if holds(key.span(), offset) || holds(value.span(), offset) || contains(value, offset) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key.get_ref());
            walk_value(value, offset, path);
            return;
        }
    }
}

fn walk_value(v: &Spanned<DeValue<'_>>, offset: usize, path: &mut String) {
    match v.get_ref() {
        DeValue::Table(t) => walk_table(t, offset, path),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                if holds(item.span(), offset) || contains(item, offset) {
                    path.push_str(&format!("[{i}]"));
                    walk_value(item, offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Whether any key or value inside `v` spans `offset` (tables built from `[headers]` have
/// spans that need not cover their keys).
fn contains(v: &Spanned<DeValue<'_>>, offset: usize) -> bool {
    match v.get_ref() {
        DeValue::Table(t) => t.iter().any(|(k, v)| {
            holds(k.span(), offset) || holds(v.span(), offset) || contains(v, offset)
        }),
        DeValue::Array(a) => a
            .iter()
            .any(|v| holds(v.span(), offset) || contains(v, offset)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "schema = \"x\"\n\n[micro.ops.a]\nidempotent = true\n\n[[micro.ops.a.shapes]]\nprobability = 1.0\n[[micro.ops.a.shapes.nodes]]\nprocess = \"gateway\"\n[[micro.ops.a.shapes.nodes]]\nprocess = \"custmers\"\nparent = 0\n";

    #[test]
    fn a_path_finds_the_line_of_its_key() {
        assert_eq!(line_of(DOC, "schema"), Some(1));
        assert_eq!(line_of(DOC, "micro.ops.a.idempotent"), Some(4));
        assert_eq!(line_of(DOC, "micro.ops.a.shapes[0].probability"), Some(7));
        assert_eq!(
            line_of(DOC, "micro.ops.a.shapes[0].nodes[1].process"),
            Some(11)
        );
        assert_eq!(
            line_of(DOC, "micro.ops.a.shapes[0].nodes[1].parent"),
            Some(12)
        );
    }

    #[test]
    fn an_offset_finds_the_path_of_its_key() {
        let at = DOC.find("custmers").unwrap();
        assert_eq!(path_at(DOC, at), "micro.ops.a.shapes[0].nodes[1].process");
        assert_eq!(path_at(DOC, DOC.find("schema").unwrap()), "schema");
    }
}
