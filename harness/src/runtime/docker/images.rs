//! The images, all built locally, never pulled:
//! - `crm-bench/base:bookworm`: a Debian root file system made by `debootstrap` from Debian's
//!   packages (deploy/base-image.sh), tarred and imported; the tarball is cached.
//! - `crm-bench/postgres:15`, `crm-bench/nats:2`: the base with an entrypoint
//!   (deploy/postgres, deploy/nats).
//! - `crm-bench/<binary>:<hash>`: one per CRM binary (deploy/crm/Dockerfile), tagged by a hash
//!   of the binary, so a rebuilt binary gives a new image and an unchanged one reuses its own.
//!
//! Every image carries `crm-bench.recipe=<hash of what made it>` (including the base image's
//! id), and is reused while the recipe matches. The Dockerfiles and scripts are compiled in from
//! deploy/, so the harness and docker-compose.yml build from the same files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::client::Engine;
use super::tar::Tar;

mod base;
pub use base::cache_dir;

pub const BASE: &str = "crm-bench/base:bookworm";
pub const POSTGRES: &str = "crm-bench/postgres:15";
pub const NATS: &str = "crm-bench/nats:2";
/// The label holding the hash of what made an image.
pub const RECIPE_LABEL: &str = "crm-bench.recipe";

/// The CRM's binaries; each gets its own image.
pub const CRM_BINARIES: [&str; 9] = [
    "crm-monolith",
    "identity-svc",
    "customers-svc",
    "sales-svc",
    "activities-svc",
    "leads-svc",
    "analytics-svc",
    "notifications-svc",
    "gateway",
];

const CRM_DOCKERFILE: &str = include_str!("../../../../deploy/crm/Dockerfile");
const PG_DOCKERFILE: &str = include_str!("../../../../deploy/postgres/Dockerfile");
const PG_ENTRYPOINT: &str = include_str!("../../../../deploy/postgres/entrypoint.sh");
const PG_INITDB: &str = include_str!("../../../../deploy/postgres/initdb.d/10-crm-databases.sh");
const NATS_DOCKERFILE: &str = include_str!("../../../../deploy/nats/Dockerfile");

/// Serialises image work within this process: two deployments coming up at once (parallel
/// tests) would otherwise run debootstrap or build the same image twice.
static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A binary's length and modification time, and the hash of its content.
type KnownHash = (u64, SystemTime, String);

/// Content hashes of binaries by path, so a restart does not re-read an unchanged 50 MB
/// binary.
static BINARY_HASHES: Mutex<Option<HashMap<PathBuf, KnownHash>>> = Mutex::new(None);

/// An image ready in the engine.
#[derive(Clone, Debug)]
pub struct Built {
    /// `repo:tag`.
    pub image: String,
    /// The engine's image id.
    pub id: String,
    /// Whether it was built (or imported) now rather than reused.
    pub built: bool,
    /// How long making it ready took (checking only, when reused).
    pub took: Duration,
    pub size_bytes: u64,
}

/// Makes images ready in an engine.
#[derive(Clone, Debug)]
pub struct Images {
    engine: Engine,
    /// Build even when an image with the same recipe exists (and re-run debootstrap).
    rebuild: bool,
    cache_dir: PathBuf,
}

fn recipe(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so moving bytes between parts changes the hash.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

fn binary_hash(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let key = (meta.len(), meta.modified()?);
    let known = BINARY_HASHES
        .lock()
        .expect("binary hashes lock")
        .get_or_insert_with(HashMap::new)
        .get(path)
        .filter(|(len, mtime, _)| (*len, *mtime) == key)
        .map(|(_, _, h)| h.clone());
    if let Some(h) = known {
        return Ok(h);
    }
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let h = hex::encode(Sha256::digest(&bytes));
    BINARY_HASHES
        .lock()
        .expect("binary hashes lock")
        .get_or_insert_with(HashMap::new)
        .insert(path.to_owned(), (key.0, key.1, h.clone()));
    Ok(h)
}

impl Images {
    pub fn new(engine: Engine, rebuild: bool) -> Images {
        Images {
            engine,
            rebuild,
            cache_dir: cache_dir(),
        }
    }

    /// The image if it exists with this recipe (and no rebuild is asked for).
    async fn reusable(&self, image: &str, recipe: &str) -> anyhow::Result<Option<Built>> {
        if self.rebuild {
            return Ok(None);
        }
        let Some(i) = self.engine.image(image).await? else {
            return Ok(None);
        };
        let label = i
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(RECIPE_LABEL));
        Ok((label.map(String::as_str) == Some(recipe)).then(|| Built {
            image: image.to_owned(),
            id: i.id.clone().unwrap_or_default(),
            built: false,
            took: Duration::ZERO,
            size_bytes: i.size.unwrap_or(0).max(0) as u64,
        }))
    }

    /// The id `image` points to now, if it exists.
    async fn current_id(&self, image: &str) -> anyhow::Result<Option<String>> {
        Ok(self.engine.image(image).await?.and_then(|i| i.id))
    }

    /// After `image` was made again: removes the image it pointed to before, which nothing
    /// names any more. The engine refuses while a container still uses it; then it stays.
    async fn drop_replaced(&self, replaced: Option<String>, now: &Built) {
        if let Some(old) = replaced.filter(|old| *old != now.id)
            && let Err(e) = self.engine.remove_image(&old, false).await
        {
            tracing::debug!("the image {old} that {} replaced stays: {e:#}", now.image);
        }
    }

    async fn described(&self, image: &str, built: bool, took: Duration) -> anyhow::Result<Built> {
        let i = self
            .engine
            .image(image)
            .await?
            .with_context(|| format!("{image} is missing right after it was made"))?;
        Ok(Built {
            image: image.to_owned(),
            id: i.id.unwrap_or_default(),
            built,
            took,
            size_bytes: i.size.unwrap_or(0).max(0) as u64,
        })
    }

    /// Builds `image` from `files` (Dockerfile first) unless it exists with this recipe.
    async fn build(
        &self,
        image: &str,
        recipe: String,
        base: &Built,
        files: &[(&str, u32, &[u8])],
        mut args: HashMap<String, String>,
    ) -> anyhow::Result<Built> {
        let _one_at_a_time = BUILDING.lock().await;
        let started = Instant::now();
        if let Some(b) = self.reusable(image, &recipe).await? {
            return Ok(Built {
                took: started.elapsed(),
                ..b
            });
        }
        let mut tar = Tar::default();
        for (path, mode, data) in files {
            tar.file(path, *mode, data);
        }
        args.insert("BASE_IMAGE".into(), base.image.clone());
        let labels = HashMap::from([(RECIPE_LABEL.to_owned(), recipe)]);
        let replaced = self.current_id(image).await?;
        self.engine
            .build(image, tar.finish(), "Dockerfile", &args, &labels)
            .await?;
        let built = self.described(image, true, started.elapsed()).await?;
        self.drop_replaced(replaced, &built).await;
        Ok(built)
    }

    /// `crm-bench/postgres:15` on `base`.
    pub async fn postgres(&self, base: &Built) -> anyhow::Result<Built> {
        let recipe = recipe(&[
            PG_DOCKERFILE.as_bytes(),
            PG_ENTRYPOINT.as_bytes(),
            PG_INITDB.as_bytes(),
            base.id.as_bytes(),
        ]);
        let files: [(&str, u32, &[u8]); 3] = [
            ("Dockerfile", 0o644, PG_DOCKERFILE.as_bytes()),
            ("entrypoint.sh", 0o755, PG_ENTRYPOINT.as_bytes()),
            ("initdb.d/10-crm-databases.sh", 0o644, PG_INITDB.as_bytes()),
        ];
        self.build(POSTGRES, recipe, base, &files, HashMap::new())
            .await
    }

    /// `crm-bench/nats:2` on `base`.
    pub async fn nats(&self, base: &Built) -> anyhow::Result<Built> {
        let recipe = recipe(&[NATS_DOCKERFILE.as_bytes(), base.id.as_bytes()]);
        let files: [(&str, u32, &[u8]); 1] = [("Dockerfile", 0o644, NATS_DOCKERFILE.as_bytes())];
        self.build(NATS, recipe, base, &files, HashMap::new()).await
    }

    /// `crm-bench/<binary>:<hash>` on `base`, from `bin_dir/<binary>`.
    pub async fn crm(&self, bin_dir: &Path, binary: &str, base: &Built) -> anyhow::Result<Built> {
        let path = bin_dir.join(binary);
        if !path.exists() {
            bail!(
                "{} not found; build the CRM's binaries first (cargo build --release --workspace --bins), or pass --bin-dir",
                path.display()
            );
        }
        let bin_hash = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || binary_hash(&path)).await??
        };
        let recipe = recipe(&[
            CRM_DOCKERFILE.as_bytes(),
            binary.as_bytes(),
            bin_hash.as_bytes(),
            base.id.as_bytes(),
        ]);
        let image = format!("crm-bench/{binary}:{}", &recipe[..12]);
        if let Some(b) = self.reusable(&image, &recipe).await? {
            return Ok(b);
        }
        let bytes = tokio::fs::read(&path)
            .await
            .with_context(|| format!("read {}", path.display()))?;
        let in_context = format!("bin/{binary}");
        let files: [(&str, u32, &[u8]); 2] = [
            ("Dockerfile", 0o644, CRM_DOCKERFILE.as_bytes()),
            (&in_context, 0o755, &bytes),
        ];
        let args = HashMap::from([
            ("BIN".to_owned(), binary.to_owned()),
            ("BIN_DIR".to_owned(), "bin".to_owned()),
        ]);
        self.build(&image, recipe, base, &files, args).await
    }

    /// Removes what earlier builds left: CRM images of binaries that have changed since
    /// (`crm-bench/<binary>:<hash>` other than `current`), then untagged images of ours.
    /// Images a container still uses stay. Returns what was removed.
    pub async fn prune(&self, current: &[Built]) -> anyhow::Result<Vec<String>> {
        let keep: Vec<&str> = current.iter().map(|b| b.image.as_str()).collect();
        let is_hash_tag = |tag: &str| tag.len() == 12 && tag.bytes().all(|b| b.is_ascii_hexdigit());
        let mut removed = Vec::new();
        for image in self
            .engine
            .list_images(&[("reference", "crm-bench/*")])
            .await?
        {
            for name in image.repo_tags {
                let stale = match name.rsplit_once(':') {
                    Some((repo, tag)) => {
                        CRM_BINARIES
                            .iter()
                            .any(|b| repo == format!("crm-bench/{b}"))
                            && is_hash_tag(tag)
                            && !keep.contains(&name.as_str())
                    }
                    None => false,
                };
                if stale && self.engine.remove_image(&name, false).await.is_ok() {
                    removed.push(name);
                }
            }
        }
        // Untagged ones go parents last: each pass removes those no other image builds on.
        for _ in 0..3 {
            let dangling = self
                .engine
                .list_images(&[("dangling", "true"), ("label", RECIPE_LABEL)])
                .await?;
            let mut any = false;
            for image in dangling {
                if self.engine.remove_image(&image.id, false).await.is_ok() {
                    removed.push(image.id);
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        Ok(removed)
    }

    /// Every image: the base, postgres, nats and one per CRM binary found in `bin_dir`.
    pub async fn all(&self, bin_dir: &Path) -> anyhow::Result<Vec<Built>> {
        let base = self.base().await?;
        let mut out = vec![
            base.clone(),
            self.postgres(&base).await?,
            self.nats(&base).await?,
        ];
        let present: Vec<&str> = CRM_BINARIES
            .into_iter()
            .filter(|b| bin_dir.join(b).exists())
            .collect();
        if present.is_empty() {
            bail!(
                "no CRM binaries in {}; build them first (cargo build --release --workspace --bins), or pass --bin-dir",
                bin_dir.display()
            );
        }
        for b in present {
            out.push(self.crm(bin_dir, b, &base).await?);
        }
        Ok(out)
    }
}
