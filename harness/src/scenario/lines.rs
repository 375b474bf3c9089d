//! Where a key of a scenario file is: its line, from the key's path (`experiment[2].target`)
//! as [`super::Scenario::validate`] names it, so a problem found after parsing points into
//! the file as parse errors do. A key that is absent (a default that does not fit) gets the
//! line of the nearest table that holds it (for an experiment, its `[[experiment]]` header).

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(i) = index.parse() {
                out.push(Step::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `path` in `text`, or of its nearest ancestor present; `None` when the text
/// does not parse or not even the first step is there.
pub(crate) fn line_of(text: &str, path: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    let mut found: Option<usize> = None;
    for step in steps(path) {
        match step {
            Step::Key(k) => {
                let Some(t) = table else { break };
                let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref() == k) else {
                    break;
                };
                found = Some(key.span().start);
                value = Some(v);
            }
            Step::Index(i) => {
                let Some(DeValue::Array(items)) = value.map(|v| v.get_ref()) else {
                    break;
                };
                let Some(item) = items.get(i) else { break };
                found = Some(item.span().start);
                value = Some(item);
            }
        }
        table = match value.map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        };
    }
    found.map(|offset| line_at(text, offset))
}

/// `path: message` problems, one a line, each prefixed with the line of its key.
pub(crate) fn locate(text: &str, problems: &str) -> String {
    problems
        .lines()
        .map(
            |p| match p.split_once(": ").and_then(|(path, _)| line_of(text, path)) {
                Some(line) => format!("line {line}: {p}"),
                None => p.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"t\"\n\n[[experiment]]\nkind = \"sweep\"\n\n[[experiment]]\nkind = \"fault\"\nreplicas = 0\nmix = { a = 1 }\n";

    #[test]
    fn keys_are_found_by_path_and_absent_ones_by_their_table() {
        assert_eq!(line_of(TEXT, "name"), Some(1));
        assert_eq!(line_of(TEXT, "experiment[1].replicas"), Some(8));
        assert_eq!(line_of(TEXT, "experiment[1].mix.a"), Some(9));
        // Absent: the line of its table's `[[experiment]]` header.
        assert_eq!(line_of(TEXT, "experiment[0].replicas"), Some(3));
        assert_eq!(line_of(TEXT, "nothing"), None);
        assert_eq!(
            locate(TEXT, "experiment[1].replicas: must be 1 to 16\nx: y"),
            "line 8: experiment[1].replicas: must be 1 to 16\nx: y"
        );
    }
}
