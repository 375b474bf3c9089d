//! A small client of the Docker engine: the few operations the runtime needs, over bollard,
//! with one error variant per operation so a failure says what the harness was doing.
//!
//! The engine's API version is negotiated: bollard asks for its own (newer) version first,
//! which an older engine (20.10 speaks 1.41) refuses with "client version X is too new.
//! Maximum supported API version is Y"; the client then reconnects speaking Y.

use std::collections::HashMap;
use std::path::Path;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerStatsResponse, ContainerSummary, ImageInspect, ImageSummary,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    StatsOptionsBuilder,
};
use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;

pub use super::error::EngineError;

/// Long enough for importing the base image or building an image on a slow disk.
const REQUEST_TIMEOUT_SECS: u64 = 900;

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The state of a container that exists.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerStatus {
    /// Running or paused.
    pub running: bool,
    pub paused: bool,
    pub exit_code: Option<i64>,
}

/// A connection to the engine; cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    docker: Docker,
    host: String,
}

fn not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The version an engine offers in its "client version X is too new" refusal.
fn max_version_in(message: &str) -> Option<ClientVersion> {
    let (_, rest) = message.split_once("Maximum supported API version is ")?;
    let v = rest.trim().trim_end_matches('.');
    let (major, minor) = v.split_once('.')?;
    Some(ClientVersion {
        major_version: major.trim().parse().ok()?,
        minor_version: minor.trim().parse().ok()?,
    })
}

fn connect_at(host: &str, version: &ClientVersion) -> Result<Docker, BollardError> {
    if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version)
    } else {
        Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, version)
    }
}

impl Engine {
    /// Connects to `DOCKER_HOST` (a unix socket or tcp://), else /var/run/docker.sock, and
    /// settles on an API version the engine speaks.
    pub async fn connect() -> Result<Engine> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        let connect_err = |source| EngineError::Connect {
            host: host.clone(),
            source,
        };
        let negotiate_err = |source| EngineError::Negotiate {
            host: host.clone(),
            source,
        };
        let first = connect_at(&host, API_DEFAULT_VERSION).map_err(connect_err)?;
        let docker = match first.negotiate_version().await {
            Ok(d) => d,
            Err(BollardError::DockerResponseServerError {
                status_code: 400,
                message,
            }) if max_version_in(&message).is_some() => {
                let version = max_version_in(&message).expect("checked");
                connect_at(&host, &version)
                    .map_err(connect_err)?
                    .negotiate_version()
                    .await
                    .map_err(negotiate_err)?
            }
            Err(e @ BollardError::DockerResponseServerError { .. }) => {
                return Err(negotiate_err(e));
            }
            Err(e) => return Err(connect_err(e)),
        };
        Ok(Engine { docker, host })
    }

    /// The API version in use, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    /// Where the engine is (`unix:///var/run/docker.sock`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The image, if the engine has it.
    pub async fn image(&self, image: &str) -> Result<Option<ImageInspect>> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(Some(i)),
            Err(e) if not_found(&e) => Ok(None),
            Err(source) => Err(EngineError::InspectImage {
                image: image.to_owned(),
                source,
            }),
        }
    }

    /// `docker import`: a root file system tarball becomes image `repo:tag`, with Dockerfile
    /// instructions (`LABEL ...`, `ENV ...`, `CMD ...`) applied. Streams the file.
    pub async fn import(&self, tarball: &Path, image: &str, changes: &[String]) -> Result<()> {
        let file =
            tokio::fs::File::open(tarball)
                .await
                .map_err(|source| EngineError::ReadTarball {
                    path: tarball.to_owned(),
                    source,
                })?;
        let chunks = futures::stream::try_unfold(file, |mut f| async move {
            let mut buf = vec![0u8; 1 << 20];
            let n = f.read(&mut buf).await?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((n > 0).then(|| (Bytes::from(buf), f)))
        });
        let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .changes(changes.to_vec())
            .build();
        self.docker
            .create_image(Some(options), Some(bollard::body_try_stream(chunks)), None)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|source| EngineError::ImportImage {
                image: image.to_owned(),
                source,
            })?;
        Ok(())
    }

    /// Builds `image` from a tar build context with the classic builder (so `FROM` a local
    /// image needs no registry). Returns the builder's output.
    pub async fn build(
        &self,
        image: &str,
        context: Vec<u8>,
        dockerfile: &str,
        args: &HashMap<String, String>,
        labels: &HashMap<String, String>,
    ) -> Result<String> {
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile)
            .t(image)
            .rm(true)
            .forcerm(true)
            .buildargs(args)
            .labels(labels)
            .build();
        let out = self
            .docker
            .build_image(options, None, Some(bollard::body_full(context.into())))
            .try_collect::<Vec<_>>()
            .await
            .map_err(|source| EngineError::BuildImage {
                image: image.to_owned(),
                source,
            })?;
        Ok(out.into_iter().filter_map(|i| i.stream).collect())
    }

    /// Images matching `filters` (engine filters such as `reference`, `label`, `dangling`).
    pub async fn list_images(&self, filters: &[(&str, &str)]) -> Result<Vec<ImageSummary>> {
        let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in filters {
            by_key
                .entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        let options = ListImagesOptionsBuilder::default().filters(&by_key).build();
        self.docker
            .list_images(Some(options))
            .await
            .map_err(|source| EngineError::ListImages {
                filters: format!("{filters:?}"),
                source,
            })
    }

    /// Removes an image (by name or id); fine if it is not there. Unless `force`, the engine
    /// refuses while a container uses it.
    pub async fn remove_image(&self, image: &str, force: bool) -> Result<()> {
        let options = RemoveImageOptionsBuilder::default().force(force).build();
        match self.docker.remove_image(image, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(source) => Err(EngineError::RemoveImage {
                image: image.to_owned(),
                source,
            }),
        }
    }

    /// Creates a container named `name`; returns its id.
    pub async fn create(&self, name: &str, body: ContainerCreateBody) -> Result<String> {
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|r| r.id)
            .map_err(|source| EngineError::CreateContainer {
                name: name.to_owned(),
                source,
            })
    }

    pub async fn start(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|source| EngineError::StartContainer {
                id: id.to_owned(),
                source,
            })
    }

    /// The container's state, or none if it does not exist.
    pub async fn status(&self, id: &str) -> Result<Option<ContainerStatus>> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => {
                let s = c.state.unwrap_or_default();
                Ok(Some(ContainerStatus {
                    running: s.running.unwrap_or(false),
                    paused: s.paused.unwrap_or(false),
                    exit_code: s.exit_code,
                }))
            }
            Err(e) if not_found(&e) => Ok(None),
            Err(source) => Err(EngineError::InspectContainer {
                id: id.to_owned(),
                source,
            }),
        }
    }

    /// Every container (running or not) carrying `label` (`key=value`).
    pub async fn list_labelled(&self, label: &str) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("label".to_owned(), vec![label.to_owned()])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|source| EngineError::ListContainers {
                label: label.to_owned(),
                source,
            })
    }

    /// Removes a container whatever its state, with its anonymous volumes; fine if it is gone.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            // 409: a removal of it is already in progress.
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(source) => Err(EngineError::RemoveContainer {
                id: id.to_owned(),
                source,
            }),
        }
    }

    /// SIGKILL; fine if the container is not running any more.
    pub async fn kill(&self, id: &str) -> Result<()> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        match self.docker.kill_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(source) => Err(EngineError::KillContainer {
                id: id.to_owned(),
                source,
            }),
        }
    }

    pub async fn pause(&self, id: &str) -> Result<()> {
        self.docker
            .pause_container(id)
            .await
            .map_err(|source| EngineError::PauseContainer {
                id: id.to_owned(),
                source,
            })
    }

    pub async fn unpause(&self, id: &str) -> Result<()> {
        self.docker
            .unpause_container(id)
            .await
            .map_err(|source| EngineError::UnpauseContainer {
                id: id.to_owned(),
                source,
            })
    }

    /// One sample of `docker stats` (one-shot: no waiting for a second sample).
    pub async fn stats(&self, id: &str) -> Result<ContainerStatsResponse> {
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let err = |source| EngineError::Stats {
            id: id.to_owned(),
            source,
        };
        self.docker
            .stats(id, Some(options))
            .next()
            .await
            .unwrap_or(Err(BollardError::DockerStreamError {
                error: "no stats".to_owned(),
            }))
            .map_err(err)
    }

    /// The last `lines` lines of the container's stdout and stderr, interleaved.
    pub async fn logs(&self, id: &str, lines: usize) -> Result<String> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let chunks: Vec<_> = self
            .docker
            .logs(id, Some(options))
            .try_collect()
            .await
            .map_err(|source| EngineError::Logs {
                id: id.to_owned(),
                source,
            })?;
        Ok(chunks.iter().map(ToString::to_string).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_maximum_version_is_read_from_its_refusal() {
        let v =
            max_version_in("client version 1.53 is too new. Maximum supported API version is 1.41")
                .unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(max_version_in("page not found").is_none());
    }
}
