//! `local`: files and directories on this machine, relative to the project directory.
//! Read compares what is on disk with what was written, so an edit or a deletion made
//! outside baton shows up as drift.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{AttrSchema, AttrType, Attrs, KindSchema, Provider, ProviderError, str_attr};
use crate::value::Value;

/// The `local` provider.
#[derive(Clone)]
pub struct LocalProvider {
    root: PathBuf,
}

impl LocalProvider {
    /// Paths are relative to `root` (the project directory).
    pub fn new(root: &Path) -> LocalProvider {
        LocalProvider {
            root: root.to_path_buf(),
        }
    }

    fn resolve(&self, attrs: &Attrs) -> Result<PathBuf, ProviderError> {
        let p = str_attr(attrs, "path")
            .ok_or_else(|| ProviderError::Invalid("`path` is required".into()))?;
        if p.is_empty() {
            return Err(ProviderError::Invalid("`path` is empty".into()));
        }
        Ok(self.root.join(p))
    }
}

fn file_mode() -> Value {
    Value::string("0644")
}
fn dir_mode() -> Value {
    Value::string("0755")
}

fn file_schema() -> KindSchema {
    KindSchema {
        kind: "local_file",
        provider: "local",
        description: "A file with the given content.",
        attributes: vec![
            AttrSchema::required(
                "path",
                AttrType::String,
                "Path of the file, relative to the project directory.",
            )
            .force_new(),
            AttrSchema::required("content", AttrType::String, "Content of the file."),
            AttrSchema::optional(
                "file_permission",
                AttrType::String,
                "Octal mode of the file.",
            )
            .default(file_mode),
            AttrSchema::computed(
                "content_sha256",
                AttrType::String,
                "SHA-256 of the content, hex.",
            )
            .volatile(),
        ],
        create_before_destroy: false,
    }
}

fn dir_schema() -> KindSchema {
    KindSchema {
        kind: "local_directory",
        provider: "local",
        description: "A directory (created with its parents).",
        attributes: vec![
            AttrSchema::required(
                "path",
                AttrType::String,
                "Path of the directory, relative to the project directory.",
            )
            .force_new(),
            AttrSchema::optional(
                "permission",
                AttrType::String,
                "Octal mode of the directory.",
            )
            .default(dir_mode),
            AttrSchema::computed("absolute_path", AttrType::String, "The absolute path."),
        ],
        create_before_destroy: false,
    }
}

fn parse_mode(attrs: &Attrs, name: &str, default: u32) -> Result<u32, ProviderError> {
    match str_attr(attrs, name) {
        None => Ok(default),
        Some(s) => u32::from_str_radix(s, 8).map_err(|_| {
            ProviderError::Invalid(format!(
                "`{name}` must be an octal mode like \"0644\", not {s:?}"
            ))
        }),
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> ProviderError {
    ProviderError::Failed(format!("{what} {}: {e}", path.display()))
}

/// Runs file I/O on tokio's blocking pool, keeping the runtime's few worker threads
/// free, at most [`FILE_TASKS`] at once.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProviderError> + Send + 'static,
) -> Result<T, ProviderError> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(FILE_TASKS);
    let _slot = SLOTS.acquire().await;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ProviderError::Failed(format!("internal error: file task: {e}")))?
}

/// File writes at once. A write is a few calls into the page cache (no fsync, see
/// [`write_file`]), and writes into one directory take turns on its lock anyway; the
/// blocking pool would start a thread for each concurrent one. When 100 workloads
/// finished together, starting those threads (each a fresh stack and allocator heap)
/// stalled the whole process for 5–6 ms and the writes took 15–90 ms each; with four,
/// the scheduler bench.s manifests are written in a median of 1.2–2.6 ms.
const FILE_TASKS: usize = 4;

/// Writes `content` to `path` with `mode`, atomically (temporary file, then rename).
pub fn write_file(path: &Path, content: &[u8], mode: u32) -> Result<(), ProviderError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create directory", dir, e))?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.baton-tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(mode);
        let mut f = opts.open(&tmp).map_err(|e| io("cannot write", &tmp, e))?;
        // No fsync: the rename below makes the write atomic against a crash of baton
        // (readers see the old content or the new, never a torn file), and the state
        // database (WAL, synchronous=NORMAL) is no more durable against power loss than
        // the page cache: after one, the next refresh compares files with the state and
        // plans what differs. Terraform's local_file does the same; an fsync per file
        // made writing 100 manifests take 10–25 ms instead of 1–2.
        f.write_all(content)
            .map_err(|e| io("cannot write", &tmp, e))?;
    }
    set_mode(&tmp, mode)?;
    std::fs::rename(&tmp, path).map_err(|e| io("cannot write", path, e))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ProviderError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io("cannot set the mode of", path, e))?;
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl LocalProvider {
    fn write(&self, config: &Attrs) -> Result<Attrs, ProviderError> {
        let path = self.resolve(config)?;
        let content = str_attr(config, "content").unwrap_or("");
        let mode = parse_mode(config, "file_permission", 0o644)?;
        write_file(&path, content.as_bytes(), mode)?;
        let mut out = config.clone();
        out.entry("file_permission".into())
            .or_insert_with(file_mode);
        out.insert(
            "content_sha256".into(),
            Value::string(sha256_hex(content.as_bytes())),
        );
        Ok(out)
    }

    /// Writes a file or makes a directory as configured (create and update alike).
    async fn make(&self, kind: &str, config: &Attrs) -> Result<Attrs, ProviderError> {
        match kind {
            "local_file" => {
                let (this, config) = (self.clone(), config.clone());
                blocking(move || this.write(&config)).await
            }
            "local_directory" => self.mkdir(config),
            other => Err(ProviderError::Invalid(format!("unknown kind {other}"))),
        }
    }


    fn mkdir(&self, config: &Attrs) -> Result<Attrs, ProviderError> {
        let path = self.resolve(config)?;
        std::fs::create_dir_all(&path).map_err(|e| io("cannot create directory", &path, e))?;
        let mode = parse_mode(config, "permission", 0o755)?;
        set_mode(&path, mode)?;
        let abs = std::fs::canonicalize(&path).map_err(|e| io("cannot resolve", &path, e))?;
        let mut out = config.clone();
        out.entry("permission".into()).or_insert_with(dir_mode);
        out.insert(
            "absolute_path".into(),
            Value::string(abs.display().to_string()),
        );
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![file_schema(), dir_schema()]
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        let path = self.resolve(prior)?;
        match kind {
            "local_file" => match std::fs::read(&path) {
                Ok(bytes) => {
                    let mut out = prior.clone();
                    let sha = sha256_hex(&bytes);
                    if out.get("content_sha256").and_then(Value::as_str) != Some(sha.as_str()) {
                        out.insert(
                            "content".into(),
                            Value::string(String::from_utf8_lossy(&bytes).into_owned()),
                        );
                        out.insert("content_sha256".into(), Value::string(sha));
                    }
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        if let Ok(meta) = std::fs::metadata(&path) {
                            out.insert(
                                "file_permission".into(),
                                Value::string(format!(
                                    "{:04o}",
                                    meta.permissions().mode() & 0o7777
                                )),
                            );
                        }
                    }
                    Ok(Some(out))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io("cannot read", &path, e)),
            },
            "local_directory" => {
                if !path.is_dir() {
                    return Ok(None);
                }
                let mut out = prior.clone();
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(meta) = std::fs::metadata(&path) {
                        out.insert(
                            "permission".into(),
                            Value::string(format!("{:04o}", meta.permissions().mode() & 0o7777)),
                        );
                    }
                }
                Ok(Some(out))
            }
            other => Err(ProviderError::Invalid(format!("unknown kind {other}"))),
        }
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        self.make(kind, config).await
    }

    async fn update(
        &self,
        kind: &str,
        _prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        self.make(kind, config).await
    }


    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let path = self.resolve(prior)?;
        let result = match kind {
            "local_file" => std::fs::remove_file(&path),
            "local_directory" => {
                // A directory baton made inside the project is removed with its content;
                // one outside the project only when empty, to never wipe foreign data.
                let inside = std::fs::canonicalize(&path)
                    .ok()
                    .zip(std::fs::canonicalize(&self.root).ok())
                    .is_some_and(|(p, r)| p.starts_with(&r) && p != r);
                if inside {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_dir(&path)
                }
            }
            other => return Err(ProviderError::Invalid(format!("unknown kind {other}"))),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("cannot delete", &path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::string(*v)))
            .collect()
    }

    #[tokio::test]
    async fn files_are_written_read_back_and_drift_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let made = p
            .create(
                "local_file",
                &attrs(&[("path", "a/b.txt"), ("content", "hello")]), &crate::provider::Owner::for_tests()
            )
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/b.txt")).unwrap(),
            "hello"
        );
        assert_eq!(p.read("local_file", &made).await.unwrap().unwrap(), made);
        std::fs::write(dir.path().join("a/b.txt"), "edited").unwrap();
        let read = p.read("local_file", &made).await.unwrap().unwrap();
        assert_eq!(read["content"], Value::string("edited"));
        p.delete("local_file", &made).await.unwrap();
        assert_eq!(p.read("local_file", &made).await.unwrap(), None);
    }

    #[tokio::test]
    async fn directories_report_their_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let made = p
            .create("local_directory", &attrs(&[("path", "vol/data")]), &crate::provider::Owner::for_tests())
            .await
            .unwrap();
        let abs = made["absolute_path"].as_str().unwrap().to_string();
        assert!(Path::new(&abs).is_absolute() && Path::new(&abs).is_dir());
        std::fs::write(Path::new(&abs).join("x"), "1").unwrap();
        p.delete("local_directory", &made).await.unwrap();
        assert!(!Path::new(&abs).exists());
    }
}
