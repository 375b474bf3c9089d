//! A run's spans in the report directory: one JSON object per line, gzip-compressed
//! (`spans/<arch>-<run>.jsonl.gz`), readable with `zcat | jq`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::Context;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::span::SpanRecord;

/// Writes `spans` to `path` (its directory is created).
pub fn write(path: &Path, spans: &[SpanRecord]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let file = std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::default());
    for s in spans {
        serde_json::to_writer(&mut gz, s)?;
        gz.write_all(b"\n")?;
    }
    gz.finish()?.flush()?;
    Ok(())
}

/// Reads a spans file back.
pub fn read(path: &Path) -> anyhow::Result<Vec<SpanRecord>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut spans = Vec::new();
    for (n, line) in BufReader::new(GzDecoder::new(file)).lines().enumerate() {
        let line = line.with_context(|| format!("read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        spans.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{} line {}", path.display(), n + 1))?,
        );
    }
    Ok(spans)
}
