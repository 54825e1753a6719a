//! `target`: writes a workload's generated manifests (Kubernetes YAML, a compose file,
//! mounted files) into the environment's target directory, and reads them back so that
//! a hand edit shows up as drift. Secret manifests live in their own attribute
//! (`secret_files`, sensitive) so that reviewers still see diffs of the others.
//! Files are reached the way the `local` provider reaches them (see `local::walls`):
//! beneath the project, through no symbolic link, never onto baton's own files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::local::walls::{self, Place, Walls};
use super::local::{open_file, write_place};
use super::{AttrSchema, AttrType, Attrs, KindSchema, Provider, ProviderError, str_attr};
use crate::value::Value;

/// The `target` provider.
#[derive(Clone)]
pub struct TargetProvider {
    walls: Arc<Walls>,
}

impl TargetProvider {
    /// Directories are relative to `root` (the project directory).
    pub fn new(root: &Path) -> TargetProvider {
        TargetProvider {
            walls: Arc::new(Walls::new(
                root,
                Vec::new(),
                PathBuf::from(".baton/state.db"),
            )),
        }
    }
}

fn schema() -> KindSchema {
    KindSchema {
        kind: "workload_manifests",
        provider: "target",
        description: "The deployment manifests of one workload, written as files.",
        attributes: vec![
            AttrSchema::required(
                "dir",
                AttrType::String,
                "Directory the files are written to, relative to the project.",
            )
            .force_new(),
            AttrSchema::optional("files", AttrType::Map, "Relative path → content."),
            AttrSchema::optional(
                "secret_files",
                AttrType::Map,
                "Relative path → content, written mode 0600.",
            )
            .sensitive(),
            AttrSchema::optional(
                "base64_paths",
                AttrType::List,
                "Paths whose content is base64 of the file's bytes (binary files).",
            ),
        ],
        create_before_destroy: false,
    }
}

fn files_of(attrs: &Attrs, name: &str) -> BTreeMap<String, String> {
    attrs
        .get(name)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn base64_paths(attrs: &Attrs) -> Vec<String> {
    attrs
        .get("base64_paths")
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn decode(content: &str, base64: bool) -> Result<Vec<u8>, ProviderError> {
    use base64::Engine;
    if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|e| ProviderError::Invalid(format!("binary manifest is not base64: {e}")))
    } else {
        Ok(content.as_bytes().to_vec())
    }
}

fn encode(bytes: Vec<u8>, base64: bool) -> String {
    use base64::Engine;
    if base64 {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn safe_relative(p: &str) -> Result<&Path, ProviderError> {
    let path = Path::new(p);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ProviderError::Invalid(format!(
            "manifest path {p:?} must stay inside the target directory"
        )));
    }
    Ok(path)
}

impl TargetProvider {
    fn dir<'a>(&self, attrs: &'a Attrs) -> Result<&'a str, ProviderError> {
        str_attr(attrs, "dir").ok_or_else(|| ProviderError::Invalid("`dir` is required".into()))
    }

    /// Where the manifest `p` of the target directory `dir` lies.
    fn place(&self, dir: &str, p: &str) -> Result<Place, ProviderError> {
        let path = Path::new(dir).join(safe_relative(p)?);
        self.walls
            .place(&path.to_string_lossy())
            .map_err(ProviderError::Invalid)
    }

    fn write_all(&self, config: &Attrs, prior: Option<&Attrs>) -> Result<Attrs, ProviderError> {
        let dir = self.dir(config)?;
        let mut keep = Vec::new();
        let b64 = base64_paths(config);
        for (name, mode) in [("files", 0o644), ("secret_files", 0o600)] {
            for (p, content) in files_of(config, name) {
                let place = self.place(dir, &p)?;
                write_place(&place, &decode(&content, b64.contains(&p))?, mode)?;
                keep.push(p);
            }
        }
        if let Some(prior) = prior {
            for name in ["files", "secret_files"] {
                for p in files_of(prior, name).keys() {
                    if !keep.contains(p) {
                        self.remove(dir, p)?;
                    }
                }
            }
        }
        Ok(config.clone())
    }
}

impl TargetProvider {
    /// Removes the manifest `p`, then the directories that became empty, up to the
    /// target directory.
    fn remove(&self, dir: &str, p: &str) -> Result<(), ProviderError> {
        let place = self.place(dir, p)?;
        let failed = |e: std::io::Error| {
            ProviderError::Failed(format!("cannot delete {}: {e}", place.full().display()))
        };
        let parent = match walls::open_dir(&place.base, place.parent(), false) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(failed(e)),
        };
        match walls::unlink_at(&parent, place.name(), false) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(e)),
        }
        // As deep as the manifest lies below the target directory, no further.
        let depth = safe_relative(p)?
            .parent()
            .map_or(0, |d| d.iter().filter(|c| *c != ".").count());
        let mut emptied = place.parent().to_path_buf();
        for _ in 0..depth {
            let (Some(up), Some(name)) = (emptied.parent(), emptied.file_name()) else {
                break;
            };
            let removed = walls::open_dir(&place.base, up, false)
                .and_then(|d| walls::unlink_at(&d, name, true));
            if removed.is_err() {
                break;
            }
            emptied = up.to_path_buf();
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Provider for TargetProvider {
    fn name(&self) -> &'static str {
        "target"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![schema()]
    }

    fn proof(&self, _kind: &str) -> crate::provider::Proof {
        crate::provider::Proof::Intrinsic
    }

    async fn read(&self, _kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        let dir = self.dir(prior)?;
        let mut out = prior.clone();
        let mut any = false;
        let b64 = base64_paths(prior);
        for name in ["files", "secret_files"] {
            let mut now = crate::value::Map::new();
            for p in files_of(prior, name).keys() {
                let place = self.place(dir, p)?;
                let Some(mut file) = open_file(&place)? else {
                    continue;
                };
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| {
                    ProviderError::Failed(format!("cannot read {}: {e}", place.full().display()))
                })?;
                any = true;
                now.insert(p.clone(), Value::string(encode(bytes, b64.contains(p))));
            }
            if prior.contains_key(name) {
                out.insert(name.into(), Value::Map(now));
            }
        }
        Ok(
            if any
                || files_of(prior, "files").is_empty() && files_of(prior, "secret_files").is_empty()
            {
                Some(out)
            } else {
                None
            },
        )
    }

    async fn create(
        &self,
        _kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        let (this, config) = (self.clone(), config.clone());
        super::local::blocking(move || this.write_all(&config, None)).await
    }

    async fn update(
        &self,
        _kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let (this, prior, config) = (self.clone(), prior.clone(), config.clone());
        super::local::blocking(move || this.write_all(&config, Some(&prior))).await
    }

    async fn delete(&self, _kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let dir = self.dir(prior)?;
        for name in ["files", "secret_files"] {
            for p in files_of(prior, name).keys() {
                self.remove(dir, p)?;
            }
        }
        Ok(())
    }
}
