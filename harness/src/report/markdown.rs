//! `summary.md`: the report's blocks as GitHub-flavoured markdown, figures as PNG links.

use std::fmt::Write;

use super::doc::{Block, Table};
use super::figure::Figure;

/// The blocks as markdown; a figure not among `figures` is left out.
pub(crate) fn render(blocks: &[Block], figures: &[Figure]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {}\n", "#".repeat(usize::from(*level)), text);
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::Warning(text) => {
                let _ = writeln!(out, "> **Warning:** {text}\n");
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(out, "- {i}");
                }
                out.push('\n');
            }
            Block::Table(t) => table(&mut out, t),
            Block::Figure(file) => {
                if let Some(f) = figures.iter().find(|f| &f.file == file) {
                    let _ = writeln!(out, "![{}]({})\n", f.caption, f.file);
                }
            }
            Block::Code(text) => {
                let _ = writeln!(out, "```\n{}\n```\n", text.trim_end());
            }
        }
    }
    out.trim_end().to_owned() + "\n"
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut String, t: &Table) {
    let head: Vec<String> = t.head.iter().map(|h| cell(h)).collect();
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let rule: Vec<&str> = t
        .numeric
        .iter()
        .map(|n| if *n { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for r in &t.rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_align_figures_right() {
        let mut t = Table::new(&["name", "p99"]);
        t.row(vec!["a|b".into(), "3 ms".into()]);
        let md = render(&[Block::Table(t)], &[]);
        assert!(md.contains("| a\\|b | 3 ms |"), "{md}");
        assert!(md.contains("|---|---:|"), "{md}");
    }
}
