//! The report as a list of blocks — headings, paragraphs, tables, figures — built once and
//! written as markdown and as HTML, so both say the same.

/// A part of the report.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Block {
    /// Level 1..=3.
    Heading(u8, String),
    Para(String),
    /// A caveat that must not be missed (a failed reconciliation, a debug build).
    Warning(String),
    List(Vec<String>),
    Table(Table),
    /// A chart by its PNG file name (the HTML inlines its SVG).
    Figure(String),
    /// Preformatted text (the scenario's configuration).
    Code(String),
}

/// A table of text cells; numeric columns are right-aligned.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Table {
    pub(crate) head: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    /// Columns to right-align (figures).
    pub(crate) numeric: Vec<bool>,
}

impl Table {
    /// A table whose first column is text and the others figures.
    pub(crate) fn new(head: &[&str]) -> Self {
        Table {
            head: head.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            numeric: (0..head.len()).map(|i| i > 0).collect(),
        }
    }

    /// Marks column `i` as text.
    pub(crate) fn text_column(mut self, i: usize) -> Self {
        if let Some(n) = self.numeric.get_mut(i) {
            *n = false;
        }
        self
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

/// Builds a list of blocks.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub(crate) blocks: Vec<Block>,
}

impl Doc {
    pub(crate) fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    pub(crate) fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }

    pub(crate) fn warn(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Warning(text.into()));
    }

    pub(crate) fn list(&mut self, items: Vec<String>) {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
    }

    pub(crate) fn table(&mut self, t: Table) {
        self.blocks.push(Block::Table(t));
    }

    pub(crate) fn figure(&mut self, file: impl Into<String>) {
        self.blocks.push(Block::Figure(file.into()));
    }

    pub(crate) fn code(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Code(text.into()));
    }
}
