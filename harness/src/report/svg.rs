//! A minimal SVG writer: the few elements the charts draw, with escaping, and nothing that a
//! browser or resvg would fetch from elsewhere.

use std::fmt::Write;

use super::style;

/// How a line is stroked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pen<'a> {
    pub(crate) colour: &'a str,
    pub(crate) width: f64,
    pub(crate) dash: Option<&'a str>,
}

impl<'a> Pen<'a> {
    pub(crate) fn solid(colour: &'a str, width: f64) -> Self {
        Pen {
            colour,
            width,
            dash: None,
        }
    }

    pub(crate) fn dashed(colour: &'a str, width: f64, dash: &'a str) -> Self {
        Pen {
            colour,
            width,
            dash: Some(dash),
        }
    }
}

/// Horizontal alignment of a text at its anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// How a text is set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Font<'a> {
    pub(crate) size: f64,
    pub(crate) anchor: Anchor,
    pub(crate) bold: bool,
    pub(crate) colour: &'a str,
    /// Rotated a quarter turn anticlockwise about its anchor (a y-axis title).
    pub(crate) vertical: bool,
}

impl Font<'static> {
    pub(crate) fn new(size: f64, anchor: Anchor) -> Self {
        Font {
            size,
            anchor,
            bold: false,
            colour: style::TEXT,
            vertical: false,
        }
    }

    pub(crate) fn bold(self) -> Self {
        Font { bold: true, ..self }
    }

    pub(crate) fn vertical(self) -> Self {
        Font {
            vertical: true,
            ..self
        }
    }
}

impl<'a> Font<'a> {
    pub(crate) fn coloured(self, colour: &'a str) -> Font<'a> {
        Font { colour, ..self }
    }
}

/// An SVG document being drawn.
#[derive(Debug)]
pub(crate) struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// A blank white canvas.
    pub(crate) fn new(width: f64, height: f64) -> Self {
        let mut svg = Svg {
            width,
            height,
            body: String::new(),
        };
        svg.rect(0.0, 0.0, width, height, style::BACKGROUND, 1.0);
        svg
    }

    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, opacity: f64) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}""#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        );
        if opacity < 1.0 {
            let _ = write!(self.body, r#" fill-opacity="{}""#, n(opacity));
        }
        self.body.push_str("/>\n");
    }

    /// An unfilled rectangle (a frame, a legend box).
    pub(crate) fn outline(&mut self, x: f64, y: f64, w: f64, h: f64, pen: Pen<'_>, fill: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"{}/>"#,
            n(x),
            n(y),
            n(w),
            n(h),
            stroke(pen)
        );
        self.body.push('\n');
    }

    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, pen: Pen<'_>) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}"{}/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            stroke(pen)
        );
    }

    /// A polyline through `points`; nothing for fewer than two.
    pub(crate) fn polyline(&mut self, points: &[(f64, f64)], pen: Pen<'_>) {
        if points.len() < 2 {
            return;
        }
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke-linejoin="round"{}/>"#,
            pts.join(" "),
            stroke(pen)
        );
    }

    /// A marker: filled, or hollow (white inside) when `hollow`.
    pub(crate) fn marker(&mut self, x: f64, y: f64, r: f64, colour: &str, hollow: bool) {
        let fill = if hollow { style::BACKGROUND } else { colour };
        let _ = writeln!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}" stroke="{colour}" stroke-width="1.5"/>"#,
            n(x),
            n(y),
            n(r)
        );
    }

    pub(crate) fn text(&mut self, x: f64, y: f64, text: &str, font: Font<'_>) {
        let anchor = match font.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = write!(
            self.body,
            r#"<text x="{x}" y="{y}" font-family="{}" font-size="{}" fill="{}" text-anchor="{anchor}""#,
            style::FONT_FAMILY,
            n(font.size),
            font.colour,
            x = n(x),
            y = n(y),
        );
        if font.bold {
            self.body.push_str(r#" font-weight="bold""#);
        }
        if font.vertical {
            let _ = write!(self.body, r#" transform="rotate(-90 {} {})""#, n(x), n(y));
        }
        let _ = writeln!(self.body, ">{}</text>", escape(text));
    }

    /// The finished document.
    pub(crate) fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = n(self.width),
            h = n(self.height)
        )
    }
}

fn stroke(pen: Pen<'_>) -> String {
    let mut s = format!(
        r#" stroke="{}" stroke-width="{}""#,
        pen.colour,
        n(pen.width)
    );
    if let Some(d) = pen.dash {
        let _ = write!(s, r#" stroke-dasharray="{d}""#);
    }
    s
}

/// A coordinate with at most two decimals (keeps the SVG small and byte-for-byte stable).
fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// Escapes text for XML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_coordinates_are_short() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.text(
            1.0 / 3.0,
            2.0,
            "a<b & \"c\"",
            Font::new(12.0, Anchor::Start),
        );
        let out = svg.finish();
        assert!(out.contains("a&lt;b &amp; &quot;c&quot;"), "{out}");
        assert!(out.contains(r#"x="0.33""#), "{out}");
    }
}
