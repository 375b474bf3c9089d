//! The engine client's errors: one variant per operation, naming what it acted on, with
//! bollard's error as the source.

use std::path::PathBuf;

use bollard::errors::Error as BollardError;

/// What went wrong, by operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker engine at {host}")]
    Connect {
        host: String,
        #[source]
        source: BollardError,
    },
    #[error("negotiate the API version with the Docker engine at {host}")]
    Negotiate {
        host: String,
        #[source]
        source: BollardError,
    },
    #[error("inspect image {image}")]
    InspectImage {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("read {}", path.display())]
    ReadTarball {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("import image {image}")]
    ImportImage {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("build image {image}")]
    BuildImage {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("list images {filters}")]
    ListImages {
        filters: String,
        #[source]
        source: BollardError,
    },
    #[error("remove image {image}")]
    RemoveImage {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("create container {name}")]
    CreateContainer {
        name: String,
        #[source]
        source: BollardError,
    },
    #[error("start container {id}")]
    StartContainer {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("inspect container {id}")]
    InspectContainer {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("list containers labelled {label}")]
    ListContainers {
        label: String,
        #[source]
        source: BollardError,
    },
    #[error("remove container {id}")]
    RemoveContainer {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("kill container {id}")]
    KillContainer {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("pause container {id}")]
    PauseContainer {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("unpause container {id}")]
    UnpauseContainer {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("read the stats of container {id}")]
    Stats {
        id: String,
        #[source]
        source: BollardError,
    },
    #[error("read the logs of container {id}")]
    Logs {
        id: String,
        #[source]
        source: BollardError,
    },
}
