//! PNGs rasterised from the same SVGs with resvg (pure Rust). Text needs a font file:
//! DejaVu Sans (Debian `fonts-dejavu-core`), looked for in the usual places, or only in the
//! directory `CRM_BENCH_FONT_DIR` when set. Without one the PNGs are skipped with a clear
//! message; the HTML and markdown do not need it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use resvg::{tiny_skia, usvg};

use super::style;

/// Where DejaVu Sans lives on Debian/Ubuntu, Fedora, Arch and Alpine.
const FONT_DIRS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/ttf-dejavu",
];
const FONT_FILES: &[&str] = &["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

/// Turns SVG into PNG with the fonts found once.
pub(crate) struct Rasteriser {
    options: usvg::Options<'static>,
}

impl Rasteriser {
    /// Loads the fonts; `Err` says what is missing and how to install it.
    pub(crate) fn new() -> anyhow::Result<Self> {
        let mut db = usvg::fontdb::Database::new();
        let dirs: Vec<PathBuf> = match std::env::var_os("CRM_BENCH_FONT_DIR") {
            Some(d) => vec![d.into()],
            None => FONT_DIRS.iter().map(PathBuf::from).collect(),
        };
        let paths: Vec<PathBuf> = dirs
            .iter()
            .flat_map(|d| FONT_FILES.iter().map(move |f| d.join(f)))
            .collect();
        for p in &paths {
            if let Ok(data) = std::fs::read(p) {
                db.load_font_data(data);
            }
        }
        if db.is_empty() {
            let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            return Err(anyhow!(
                "no DejaVu Sans font found (looked in {}): install fonts-dejavu-core \
                 (scripts/install-deps.sh does) or point CRM_BENCH_FONT_DIR at a directory \
                 holding DejaVuSans.ttf to get the PNGs",
                looked.join(", ")
            ));
        }
        db.set_sans_serif_family("DejaVu Sans");
        let options = usvg::Options {
            font_family: "DejaVu Sans".to_owned(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        };
        Ok(Rasteriser { options })
    }

    /// The PNG of `svg` at [`style::PNG_SCALE`] times its size.
    pub(crate) fn png(&self, svg: &str) -> anyhow::Result<Vec<u8>> {
        let tree = usvg::Tree::from_str(svg, &self.options).context("parse the chart's SVG")?;
        let size = tree.size();
        let scale = style::PNG_SCALE;
        let w = (size.width() * scale).round() as u32;
        let h = (size.height() * scale).round() as u32;
        let mut pixmap = tiny_skia::Pixmap::new(w, h).context("allocate the PNG")?;
        resvg::render(
            &tree,
            tiny_skia::Transform::from_scale(scale, scale),
            &mut pixmap.as_mut(),
        );
        pixmap.encode_png().context("encode the PNG")
    }
}
