//! `index.html`: the report's blocks as one self-contained page — inline CSS, the charts as
//! inline SVG, no script, nothing fetched from anywhere, so it opens offline.

use std::fmt::Write;

use super::doc::{Block, Table};
use super::figure::Figure;
use super::svg::escape;

const CSS: &str = "\
body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#222;max-width:1100px;\
margin:2em auto;padding:0 1em;line-height:1.45}\
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}\
h3{font-size:1.1em;margin-top:1.5em}\
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}\
th,td{border:1px solid #ddd;padding:.3em .6em;vertical-align:top}th{background:#f3f3f3}\
td.n{text-align:right;white-space:nowrap}tr:nth-child(even) td{background:#fafafa}\
.warn{background:#fff3cd;border-left:4px solid #e0a800;padding:.6em 1em}\
figure{margin:1.2em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:.85em;color:#555}\
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}";

/// The page of `title` with the blocks; a figure not among `figures` is left out.
pub(crate) fn render(title: &str, blocks: &[Block], figures: &[Figure]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(title)
    );
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", escape(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", escape(text));
            }
            Block::Warning(text) => {
                let _ = writeln!(
                    out,
                    "<p class=\"warn\"><strong>Warning:</strong> {}</p>",
                    escape(text)
                );
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(out, "<li>{}</li>", escape(i));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(t) => table(&mut out, t),
            Block::Figure(file) => {
                if let Some(f) = figures.iter().find(|f| &f.file == file) {
                    figure(&mut out, f);
                }
            }
            Block::Code(text) => {
                let _ = writeln!(out, "<pre>{}</pre>", escape(text.trim_end()));
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<table>\n<tr>");
    for h in &t.head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if t.numeric.get(i).copied().unwrap_or(false) {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn figure(out: &mut String, f: &Figure) {
    // Inline SVG in HTML needs no namespace declaration; leaving it out keeps the page free
    // of any URL at all.
    let svg = f
        .svg
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let _ = write!(
        out,
        "<figure>\n{svg}<figcaption>{} (also <code>{}</code>)</figcaption>\n</figure>\n",
        escape(&f.caption),
        escape(&f.file),
    );
}
