//! The input files: a calibration (what the measured system costs) and a scenario (what to
//! simulate). Both are TOML, carry a `schema`, refuse unknown keys, and report every
//! problem with the key's path and line.

pub mod calibration;
mod calibration_check;
mod events;
pub mod scenario;
mod scenario_check;
pub mod spans;

use std::fmt;

/// Why an input was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The text is not a valid input: every problem found, each with its key and line.
    #[error("{origin}: {}", render(.problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
}

fn render(problems: &[Problem]) -> String {
    let list: Vec<String> = problems.iter().map(Problem::to_string).collect();
    if list.len() == 1 {
        list[0].clone()
    } else {
        format!("{} problems:\n  {}", list.len(), list.join("\n  "))
    }
}

impl Error {
    /// The problems of an [`Error::Invalid`] (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid { problems, .. } => problems,
            Error::Read { .. } => &[],
        }
    }
}

/// One thing wrong with an input, at a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// e.g. `micro.ops.get_company.shapes[0].nodes[2].process`.
    pub path: String,
    /// 1-based, where the key (or its nearest present ancestor) is written.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// Problems found so far, as `(path, message)`; lines are looked up once at the end.
#[derive(Default)]
pub(crate) struct Problems(Vec<(String, String)>);

impl Problems {
    pub(crate) fn add(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.0.push((path.into(), msg.into()));
    }

    pub(crate) fn check(&mut self, ok: bool, path: &str, msg: impl FnOnce() -> String) {
        if !ok {
            self.add(path, msg());
        }
    }

    /// `v` must be a finite number above zero.
    pub(crate) fn positive(&mut self, v: f64, path: &str) {
        self.check(v.is_finite() && v > 0.0, path, || {
            format!("must be a positive number, got {v}")
        });
    }

    /// `v` must be a finite number, zero or more.
    pub(crate) fn non_negative(&mut self, v: f64, path: &str) {
        self.check(v.is_finite() && v >= 0.0, path, || {
            format!("must be zero or more, got {v}")
        });
    }

    pub(crate) fn dist(&mut self, d: &crate::dist::DistSpec, path: &str) {
        if let Some(msg) = d.problem() {
            self.add(path, msg);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was found, else every problem with its line in `text`.
    pub(crate) fn finish(self, text: &str, origin: &str) -> Result<(), Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let problems = self
            .0
            .into_iter()
            .map(|(path, message)| Problem {
                line: spans::line_of(text, &path),
                path,
                message,
            })
            .collect();
        Err(Error::Invalid {
            origin: origin.to_owned(),
            problems,
        })
    }
}

/// Deserializes `text` as `T`, after checking its `schema` is `schema`: a file of another
/// version is refused as such, not as a list of keys it happens not to know.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
    schema: &str,
) -> Result<T, Error> {
    let invalid = |path: String, line: Option<usize>, message: String| Error::Invalid {
        origin: origin.to_owned(),
        problems: vec![Problem {
            path,
            line,
            message,
        }],
    };
    let found = match toml::de::DeTable::parse(text) {
        Ok(doc) => doc
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == "schema")
            .map(|(_, v)| match v.get_ref() {
                toml::de::DeValue::String(s) => s.to_string(),
                _ => String::new(),
            }),
        Err(e) => {
            let line = e.span().map(|s| spans::line_at(text, s.start));
            return Err(invalid(String::new(), line, e.message().to_owned()));
        }
    };
    match found {
        None => {
            return Err(invalid(
                "schema".into(),
                Some(1),
                format!("missing; this file must start with schema = \"{schema}\""),
            ));
        }
        Some(s) if s != schema => {
            return Err(invalid(
                "schema".into(),
                spans::line_of(text, "schema"),
                format!("\"{s}\" is not supported: this version of crm-sim reads \"{schema}\""),
            ));
        }
        Some(_) => {}
    }
    toml::from_str(text).map_err(|e| {
        let (path, line) = match e.span() {
            Some(s) => (
                spans::path_at(text, s.start),
                Some(spans::line_at(text, s.start)),
            ),
            None => (String::new(), None),
        };
        invalid(path, line, e.message().to_owned())
    })
}
