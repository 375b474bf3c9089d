//! The verdict table as a figure (for the PNG set): metric, measure, both figures, the
//! winner in its colour, and by how much. Its height grows with the number of rows.

use crate::results::Results;
use crate::topology::Arch;

use super::super::style::{self, arch_colour, text_width};
use super::super::svg::{Anchor, Font, Pen, Svg};
use super::super::verdicts::{shown, winner_text};
use super::Figure;

/// Column left edges and widths.
const COLUMNS: [(&str, f64); 6] = [
    ("metric", 110.0),
    ("measure", 248.0),
    ("monolith", 92.0),
    ("micro", 92.0),
    ("winner", 112.0),
    ("by", 128.0),
];
const ROW: f64 = 34.0;
const HEAD: f64 = 70.0;

pub(super) fn figure(results: &Results) -> Option<Figure> {
    if results.verdicts.is_empty() {
        return None;
    }
    let height = HEAD + 30.0 + ROW * results.verdicts.len() as f64 + 34.0;
    let mut svg = Svg::new(style::WIDTH, height);
    let title = "Verdicts per paper metric".to_owned();
    svg.text(
        style::WIDTH / 2.0,
        26.0,
        &title,
        Font::new(style::TITLE_SIZE, Anchor::Middle).bold(),
    );
    let x0 = (style::WIDTH - COLUMNS.iter().map(|c| c.1).sum::<f64>()) / 2.0;
    let lefts: Vec<f64> = COLUMNS
        .iter()
        .scan(x0, |x, c| {
            let l = *x;
            *x += c.1;
            Some(l)
        })
        .collect();
    let head_y = HEAD;
    for (i, (name, _)) in COLUMNS.iter().enumerate() {
        svg.text(
            lefts[i] + 5.0,
            head_y,
            name,
            Font::new(style::LABEL_SIZE, Anchor::Start).bold(),
        );
    }
    let right = x0 + COLUMNS.iter().map(|c| c.1).sum::<f64>();
    svg.line(
        x0,
        head_y + 9.0,
        right,
        head_y + 9.0,
        Pen::solid(style::AXIS, 1.2),
    );
    let mut last_metric = "";
    for (r, v) in results.verdicts.iter().enumerate() {
        let top = head_y + 9.0 + ROW * r as f64;
        if r % 2 == 1 {
            svg.rect(x0, top, right - x0, ROW, "#f4f4f4", 1.0);
        }
        let winner_colour = v.winner.map_or(style::AXIS, arch_colour);
        let cells = [
            if v.metric == last_metric {
                String::new()
            } else {
                v.metric.clone()
            },
            v.measure.clone(),
            shown(v, Arch::Monolith),
            shown(v, Arch::Micro),
            winner_text(v),
            v.by.clone(),
        ];
        last_metric = &v.metric;
        for (i, text) in cells.iter().enumerate() {
            let mut font = Font::new(style::TICK_SIZE, Anchor::Start);
            if i == 0 {
                font = font.bold();
            }
            if i == 4 && v.winner.is_some() {
                font = font.bold().coloured(winner_colour);
            }
            let lines = wrap(text, COLUMNS[i].1 - 10.0, style::TICK_SIZE, 2);
            let first =
                top + ROW / 2.0 + style::TICK_SIZE * 0.35 - (lines.len() as f64 - 1.0) * 7.0;
            for (k, line) in lines.iter().enumerate() {
                svg.text(lefts[i] + 5.0, first + 14.0 * k as f64, line, font);
            }
        }
    }
    let end = head_y + 9.0 + ROW * results.verdicts.len() as f64;
    svg.line(x0, end, right, end, Pen::solid(style::AXIS, 1.2));
    svg.text(
        x0,
        end + 22.0,
        "tie: within the noise band (see the rules in the report); undecided: the intervals would separate but one is open above (too few samples); —: ran but failed outright, or not compared",
        Font::new(style::TICK_SIZE, Anchor::Start).coloured(style::AXIS),
    );
    Some(Figure {
        file: "verdicts.png".to_owned(),
        caption: title,
        svg: svg.finish(),
    })
}

/// Breaks `text` into at most `max_lines` lines that fit `width`, ending in `…` if cut.
fn wrap(text: &str, width: f64, size: f64, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_owned()
        } else {
            format!("{cur} {word}")
        };
        if text_width(&candidate, size) <= width || cur.is_empty() {
            cur = candidate;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_owned();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = &mut lines[max_lines - 1];
        while text_width(&format!("{last}…"), size) > width && last.pop().is_some() {}
        last.push('…');
    }
    lines
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_cells_wrap_to_two_lines_and_end_in_an_ellipsis() {
        let lines = super::wrap(
            "success of unaffected operations during kill analytics and then some more words",
            150.0,
            10.0,
            2,
        );
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'), "{lines:?}");
    }
}
