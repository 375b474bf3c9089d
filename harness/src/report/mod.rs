//! Reports: from a [`Results`] to a report directory — `results.json`, `summary.md`, a
//! self-contained `index.html` with the charts as inline SVG, and the same charts as PNGs —
//! and back again: [`render`] rewrites everything else from `results.json`.
//!
//! # Layout
//! - [`verdicts`](verdicts()): the verdict rows and their rules.
//! - `content/`: what the report says, as [`doc`] blocks; `markdown` and `html` write them.
//! - `figure/`: one file per chart, drawn with `chart`, `scale` and `svg` in the sizes and
//!   colours of `style`; `png` rasterises them with resvg.

mod chart;
mod content;
mod doc;
mod figure;
pub(crate) mod format;
mod html;
mod markdown;
mod pick;
mod png;
mod scale;
mod simulated;
mod style;
mod svg;
mod verdicts;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::results::{READABLE, Results, SCHEMA};

pub use simulated::{SIMULATION_JSON, write_simulated};
pub use verdicts::{NOISE_BAND, RULES, verdicts};

/// The file names of a report directory.
pub const RESULTS_JSON: &str = "results.json";
pub const SUMMARY_MD: &str = "summary.md";
pub const INDEX_HTML: &str = "index.html";

/// What [`write`] or [`render`] produced.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// Every file written, results.json first.
    pub files: Vec<PathBuf>,
    /// What could not be produced and why (no font for the PNGs, say).
    pub warnings: Vec<String>,
}

/// Why a results.json could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    #[error("read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Malformed {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{0} is not a crm-bench results file (no \"schema\" field)")]
    NotResults(PathBuf),
    #[error("{path} has schema \"{found}\"; this crm-bench reads \"{}\" or \"{SCHEMA}\"", READABLE[0])]
    Schema { path: PathBuf, found: String },
    #[error("{path} does not match schema {SCHEMA}: {source}")]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The results.json of a report directory, or the file itself.
pub fn results_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(RESULTS_JSON)
    } else {
        path.to_owned()
    }
}

/// Reads a results.json (or a report directory's), checking its schema first so another
/// version gets a clear message rather than a missing-field error.
pub fn load(path: &Path) -> Result<Results, LoadError> {
    let path = results_path(path);
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound(path.clone()),
        _ => LoadError::Io {
            path: path.clone(),
            source: e,
        },
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| LoadError::Malformed {
            path: path.clone(),
            source,
        })?;
    match value.get("schema").and_then(|s| s.as_str()) {
        None => return Err(LoadError::NotResults(path)),
        Some(s) if !READABLE.contains(&s) => {
            return Err(LoadError::Schema {
                path,
                found: s.to_owned(),
            });
        }
        Some(_) => {}
    }
    serde_json::from_str(&text).map_err(|source| LoadError::Invalid { path, source })
}

/// Writes a whole report into `dir` (created if needed): `results.json` — with the verdicts
/// derived by [`verdicts()`] when `results` has none — then everything [`render`] writes.
pub fn write(dir: &Path, results: &Results) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let mut results = results.clone();
    // What is written is this build's layout, whatever version it was read from.
    results.schema = SCHEMA.to_owned();
    if results.verdicts.is_empty() {
        results.verdicts = verdicts(&results.runs);
    }
    let json = dir.join(RESULTS_JSON);
    let text = serde_json::to_string_pretty(&results).context("serialise the results")?;
    std::fs::write(&json, text + "\n").with_context(|| format!("write {}", json.display()))?;
    let mut written = render_files(dir, &results)?;
    written.files.insert(0, json);
    Ok(written)
}

/// Re-renders `summary.md`, `index.html` and the PNGs of a report directory from its
/// `results.json` (left as it is). The same results.json always gives the same files.
pub fn render(dir: &Path) -> anyhow::Result<Written> {
    let mut results = load(dir)?;
    if results.verdicts.is_empty() {
        results.verdicts = verdicts(&results.runs);
    }
    render_files(dir, &results)
}

fn render_files(dir: &Path, results: &Results) -> anyhow::Result<Written> {
    let mut written = Written::default();
    let figures = figure::all(results);
    let doc = content::document(results, &figures);

    let md = dir.join(SUMMARY_MD);
    std::fs::write(&md, markdown::render(&doc.blocks, &figures))
        .with_context(|| format!("write {}", md.display()))?;
    written.files.push(md);
    let index = dir.join(INDEX_HTML);
    let page = html::render(&content::title(results), &doc.blocks, &figures);
    std::fs::write(&index, page).with_context(|| format!("write {}", index.display()))?;
    written.files.push(index);

    remove_old_charts(dir)?;
    match png::Rasteriser::new() {
        Ok(r) => {
            for f in &figures {
                let path = dir.join(&f.file);
                let bytes = r
                    .png(&f.svg)
                    .with_context(|| format!("render {}", f.file))?;
                std::fs::write(&path, bytes)
                    .with_context(|| format!("write {}", path.display()))?;
                written.files.push(path);
            }
        }
        Err(e) => written.warnings.push(format!("PNGs not written: {e:#}")),
    }
    Ok(written)
}

/// Removes the PNGs an earlier rendering wrote, so charts of experiments no longer in
/// results.json do not linger.
fn remove_old_charts(dir: &Path) -> anyhow::Result<()> {
    const OURS: [&str; 7] = [
        "spectrum",
        "verdicts",
        "resources",
        "latency-throughput",
        "latency-over-time-",
        "scaling",
        "model-vs-measurement",
    ];
    let entries = std::fs::read_dir(dir).with_context(|| format!("list {}", dir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".png") && OURS.iter().any(|p| name.starts_with(p)) {
            std::fs::remove_file(e.path())
                .with_context(|| format!("remove {}", e.path().display()))?;
        }
    }
    Ok(())
}
