//! The crate's error type: what can stop a run from starting or finishing (failed requests
//! are not errors here; they are counted by class in the results).

/// Why a run could not be started or completed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The target is not an `http://` address on the loopback interface.
    #[error("refusing target {0:?}: load goes only to http:// on 127.0.0.1 (or localhost)")]
    Target(String),
    /// A configuration value is out of range.
    #[error("invalid load configuration: {0}")]
    Config(String),
    /// An operation could not be turned into a request (bad path or header).
    #[error("invalid operation: {0}")]
    Op(String),
    /// A worker thread or its runtime could not be started, or it panicked.
    #[error("load worker: {0}")]
    Worker(String),
    /// Goose refused the journey configuration or failed during the run.
    #[error("goose: {0}")]
    Goose(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;
