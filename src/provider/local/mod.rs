//! `local`: files and directories on this machine, beneath the project directory or a
//! root listed in `provider "local" { roots = [...] }`, never baton's own files (see
//! [`walls`]). Read compares what is on disk with what was written, so an edit or a
//! deletion made outside baton shows up as drift.
//!
//! Ownership: a file is baton's when it is the inode baton wrote (`file_id`, recorded
//! at create) — a file put at the path by anyone else is another inode. Until that
//! record exists (a create interrupted after the write) the owner's marker in the
//! file's `user.baton.owner` extended attribute, written before the file appears at its
//! name, proves it. A directory is baton's when it holds the marker file
//! [`MARKER_FILE`], written inside it before it appears at its name.

pub mod walls;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{
    AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, Proof, Provider, ProviderError,
    bool_attr, str_attr,
};
use crate::value::Value;
use walls::{Place, Walls};

/// The file inside a directory baton made, holding its owner's marker.
pub const MARKER_FILE: &str = ".baton-owner";

/// The `local` provider.
#[derive(Clone)]
pub struct LocalProvider {
    walls: Arc<Walls>,
}

impl LocalProvider {
    /// Paths are relative to `root` (the project directory) or absolute beneath one of
    /// `config`'s `roots`; `config`'s `state_path` (set from the environment's SQLite
    /// state) is never a target.
    pub fn new(root: &std::path::Path, config: &Attrs) -> LocalProvider {
        let roots = config
            .get("roots")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(PathBuf::from))
            .collect();
        let state = str_attr(config, "state_path").unwrap_or(".baton/state.db");
        LocalProvider {
            walls: Arc::new(Walls::new(root, roots, PathBuf::from(state))),
        }
    }

    fn place(&self, attrs: &Attrs) -> Result<Place, ProviderError> {
        let p = str_attr(attrs, "path")
            .ok_or_else(|| ProviderError::Invalid("`path` is required".into()))?;
        self.walls.place(p).map_err(ProviderError::Invalid)
    }
}

fn file_mode() -> Value {
    Value::string("0644")
}
fn dir_mode() -> Value {
    Value::string("0755")
}
fn no() -> Value {
    Value::Bool(false)
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
                "Path of the file, relative to the project directory (or absolute beneath a root of `provider \"local\"`).",
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
            AttrSchema::computed(
                "file_id",
                AttrType::String,
                "`DEVICE:INODE` of the file baton wrote: its proof of ownership.",
            ),
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
                "Path of the directory, relative to the project directory (or absolute beneath a root of `provider \"local\"`).",
            )
            .force_new(),
            AttrSchema::optional(
                "permission",
                AttrType::String,
                "Octal mode of the directory.",
            )
            .default(dir_mode),
            AttrSchema::optional(
                "force_destroy",
                AttrType::Bool,
                "Delete the directory with its content; without it a directory holding files is not deleted.",
            )
            .default(no),
            AttrSchema::computed("absolute_path", AttrType::String, "The absolute path."),
            AttrSchema::computed(
                "dir_id",
                AttrType::String,
                "The directory's device and inode (DEVICE:INODE), recorded at create: the directory baton made, even when a delete killed midway took its marker.",
            ),
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

fn io(what: &str, place: &Place, e: std::io::Error) -> ProviderError {
    ProviderError::Failed(format!("{what} {}: {e}", place.full().display()))
}

fn is(e: &std::io::Error, errno: i32) -> bool {
    e.raw_os_error() == Some(errno)
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

/// Writes `content` to the file `path` the person at the terminal named (a plan file),
/// the way [`write_place`] writes, creating its directory.
pub fn write_file(path: &std::path::Path, content: &[u8], mode: u32) -> Result<(), ProviderError> {
    let (base, name) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => (
            if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            },
            name,
        ),
        _ => {
            return Err(ProviderError::Invalid(format!(
                "{} is not a file path",
                path.display()
            )));
        }
    };
    std::fs::create_dir_all(base).map_err(|e| {
        ProviderError::Failed(format!("cannot create directory {}: {e}", base.display()))
    })?;
    let place = Place {
        base: base.to_path_buf(),
        rel: PathBuf::from(name),
    };
    write_place(&place, content, mode)
}

/// Writes `content` to `place` with `mode`, atomically: a temporary file made
/// exclusively under a random name, its mode set on the descriptor, renamed over the
/// old file. Manifests are written this way.
pub fn write_place(place: &Place, content: &[u8], mode: u32) -> Result<(), ProviderError> {
    let dir = walls::open_dir(&place.base, place.parent(), true)
        .map_err(|e| io("cannot create directory for", place, e))?;
    // No fsync: the rename below makes the write atomic against a crash of baton
    // (readers see the old content or the new, never a torn file), and the state
    // database (WAL, synchronous=NORMAL) is no more durable against power loss than
    // the page cache: after one, the next refresh compares files with the state and
    // plans what differs. Terraform's local_file does the same; an fsync per file
    // made writing 100 manifests take 10–25 ms instead of 1–2.
    let temp = walls::write_temp(&dir, place.name(), content, mode)
        .map_err(|e| io("cannot write", place, e))?;
    temp.place(&dir, place.name(), true)
        .map_err(|e| io("cannot write", place, e))
}

/// Opens the file at `place` for reading without following a symbolic link; `None`
/// when it (or its directory) does not exist.
pub fn open_file(place: &Place) -> Result<Option<std::fs::File>, ProviderError> {
    let dir = match walls::open_dir(&place.base, place.parent(), false) {
        Ok(d) => d,
        Err(e) if is(&e, libc::ENOENT) => return Ok(None),
        Err(e) => return Err(io("cannot read", place, e)),
    };
    match walls::open_at(&dir, place.name(), libc::O_RDONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => Ok(Some(fd.into())),
        Err(e) if is(&e, libc::ENOENT) => Ok(None),
        Err(e) if is(&e, libc::ELOOP) => Err(ProviderError::Failed(format!(
            "{} is a symbolic link; baton reads and writes no file through one",
            place.full().display()
        ))),
        Err(e) => Err(io("cannot read", place, e)),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_id(id: &walls::Identity) -> String {
    format!("{}:{}", id.dev, id.ino)
}

fn not_ours(what: &str, place: &Place, claim: &Claim) -> ProviderError {
    ProviderError::NotOurs(format!(
        "{what} {} already exists and baton cannot prove it made it ({})",
        place.full().display(),
        claim.describe()
    ))
}

/// The claim of the file at `place` for `owner`, given the recorded attributes.
fn file_claim(place: &Place, recorded: &Attrs, owner: &Owner) -> Result<Claim, ProviderError> {
    let file = match open_file(place) {
        Ok(Some(f)) => f,
        Ok(None) | Err(ProviderError::Failed(_)) => return Ok(Claim::Unproven),
        Err(e) => return Err(e),
    };
    let id = walls::identity(file.as_raw_fd()).map_err(|e| io("cannot inspect", place, e))?;
    if !id.regular {
        return Ok(Claim::Unproven);
    }
    if str_attr(recorded, "file_id").is_some_and(|r| r == file_id(&id)) {
        return Ok(Claim::Ours);
    }
    // Another inode than recorded, or none recorded: the file baton wrote for this
    // owner since (a replace or a create whose run was killed before recording it)
    // carries the owner's marker in its extended attribute.
    let found = walls::marker(file.as_raw_fd()).map_err(|e| io("cannot inspect", place, e))?;
    Ok(owner.judge(found.as_deref()))
}

/// The claim of the directory at `place` for `owner`: the marker file it holds, or
/// else, for a directory left empty, the inode recorded when baton made it (a delete
/// killed between removing the marker and the directory leaves it so).
fn dir_claim(place: &Place, recorded: &Attrs, owner: &Owner) -> Result<Claim, ProviderError> {
    let dir = match walls::open_dir(&place.base, &place.rel, false) {
        Ok(d) => d,
        Err(_) => return Ok(Claim::Unproven),
    };
    if let Some(recorded) = str_attr(recorded, "dir_id") {
        let id = walls::identity(dir.as_raw_fd()).map_err(|e| io("cannot inspect", place, e))?;
        let empty = walls::entries(&dir)
            .map_err(|e| io("cannot list", place, e))?
            .is_empty();
        if empty && recorded == file_id(&id) {
            return Ok(Claim::Ours);
        }
    }
    let found = match walls::open_at(
        &dir,
        OsStr::new(MARKER_FILE),
        libc::O_RDONLY | libc::O_NONBLOCK,
        0,
    ) {
        Ok(fd) => {
            let mut s = String::new();
            std::fs::File::from(fd)
                .take(256)
                .read_to_string(&mut s)
                .map_err(|e| io("cannot read the ownership marker of", place, e))?;
            Some(s)
        }
        Err(_) => None,
    };
    Ok(owner.judge(found.as_deref()))
}

impl LocalProvider {
    fn file_out(config: &Attrs, content: &[u8], id: &walls::Identity) -> Attrs {
        let mut out = config.clone();
        out.entry("file_permission".into())
            .or_insert_with(file_mode);
        out.insert("content_sha256".into(), Value::string(sha256_hex(content)));
        out.insert("file_id".into(), Value::string(file_id(id)));
        out
    }

    /// Writes a new file: it appears at its name complete, carrying the owner's marker,
    /// and never replaces a file that is there.
    fn create_file(&self, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
        let place = self.place(config)?;
        let content = str_attr(config, "content").unwrap_or("").as_bytes();
        let mode = parse_mode(config, "file_permission", 0o644)?;
        let dir = walls::open_dir(&place.base, place.parent(), true)
            .map_err(|e| io("cannot create directory for", &place, e))?;
        let temp = walls::write_temp(&dir, place.name(), content, mode)
            .map_err(|e| io("cannot write", &place, e))?;
        let fd = temp.file.as_raw_fd();
        let id = match walls::set_marker(fd, &owner.marker()).and_then(|()| walls::identity(fd)) {
            Ok(id) => id,
            Err(e) => {
                temp.discard(&dir);
                return Err(io("cannot write", &place, e));
            }
        };
        match temp.place(&dir, place.name(), false) {
            Ok(()) => Ok(Self::file_out(config, content, &id)),
            Err(e) if is(&e, libc::EEXIST) => {
                // Baton's own only when an earlier attempt of this create wrote it.
                match file_claim(&place, &Attrs::new(), owner)? {
                    Claim::Ours => {
                        let file = open_file(&place)?.ok_or_else(|| {
                            ProviderError::Failed(format!("{} vanished", place.full().display()))
                        })?;
                        let found = walls::identity(file.as_raw_fd())
                            .map_err(|e| io("cannot inspect", &place, e))?;
                        Ok(Self::file_out(config, content, &found))
                    }
                    claim => Err(not_ours("file", &place, &claim)),
                }
            }
            Err(e) => Err(io("cannot write", &place, e)),
        }
    }

    /// Rewrites baton's file in place, so that it stays the inode baton recorded (a
    /// crash mid-write leaves content the next refresh sees as drift and rewrites).
    fn update_file(&self, prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
        let place = self.place(config)?;
        let content = str_attr(config, "content").unwrap_or("").as_bytes();
        let mode = parse_mode(config, "file_permission", 0o644)?;
        let dir = walls::open_dir(&place.base, place.parent(), true)
            .map_err(|e| io("cannot create directory for", &place, e))?;
        let flags = libc::O_WRONLY | libc::O_NONBLOCK;
        let fd = match walls::open_at(&dir, place.name(), flags, 0) {
            Ok(fd) => fd,
            Err(e) if is(&e, libc::EACCES) => {
                // A read-only file baton wrote: made writable by descriptor first.
                let ro = walls::open_at(&dir, place.name(), libc::O_RDONLY | libc::O_NONBLOCK, 0)
                    .map_err(|e| io("cannot write", &place, e))?;
                self.check_identity(&place, prior, &ro)?;
                walls::set_mode(ro.as_raw_fd(), 0o600)
                    .map_err(|e| io("cannot write", &place, e))?;
                walls::open_at(&dir, place.name(), flags, 0)
                    .map_err(|e| io("cannot write", &place, e))?
            }
            Err(e) if is(&e, libc::ELOOP) => {
                return Err(not_ours("file", &place, &Claim::Unproven));
            }
            Err(e) => return Err(io("cannot write", &place, e)),
        };
        let id = self.check_identity(&place, prior, &fd)?;
        let mut file = std::fs::File::from(fd);
        file.set_len(0)
            .and_then(|()| file.write_all(content))
            .and_then(|()| walls::set_mode(file.as_raw_fd(), mode))
            .map_err(|e| io("cannot write", &place, e))?;
        Ok(Self::file_out(config, content, &id))
    }

    /// The identity of the open file, refused unless it is the regular file recorded.
    fn check_identity(
        &self,
        place: &Place,
        prior: &Attrs,
        fd: &OwnedFd,
    ) -> Result<walls::Identity, ProviderError> {
        let id = walls::identity(fd.as_raw_fd()).map_err(|e| io("cannot inspect", place, e))?;
        let recorded = str_attr(prior, "file_id");
        if !id.regular || recorded.is_some_and(|r| r != file_id(&id)) {
            return Err(ProviderError::NotOurs(format!(
                "file {} is not the one baton wrote ({})",
                place.full().display(),
                if id.regular {
                    "another inode"
                } else {
                    "not a regular file"
                }
            )));
        }
        Ok(id)
    }

    /// Makes a directory: under a temporary name, with the marker file inside, then
    /// renamed to its name unless something is there.
    fn create_dir(&self, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
        let place = self.place(config)?;
        let mode = parse_mode(config, "permission", 0o755)?;
        let parent = walls::open_dir(&place.base, place.parent(), true)
            .map_err(|e| io("cannot create directory for", &place, e))?;
        let mut tmp = std::ffi::OsString::from(".");
        tmp.push(place.name());
        tmp.push(".baton-tmp");
        // A fixed name per target: what a killed run left there (holding only the
        // marker it wrote) is removed, not piled up.
        let made_tmp = match walls::mkdir_at(&parent, &tmp, 0o700) {
            Err(e) if is(&e, libc::EEXIST) => {
                if let Ok(d) = walls::open_at(&parent, &tmp, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                {
                    let _ = walls::clear(&d);
                }
                walls::unlink_at(&parent, &tmp, true)
                    .and_then(|()| walls::mkdir_at(&parent, &tmp, 0o700))
            }
            other => other,
        };
        made_tmp.map_err(|e| io("cannot create directory", &place, e))?;
        let made = (|| {
            let d = walls::open_at(&parent, &tmp, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
            let marker = walls::open_at(
                &d,
                OsStr::new(MARKER_FILE),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                0o444,
            )?;
            std::fs::File::from(marker).write_all(owner.marker().as_bytes())?;
            walls::set_mode(d.as_raw_fd(), mode)?;
            let id = walls::identity(d.as_raw_fd())?;
            walls::rename_new(&parent, &tmp, place.name())?;
            Ok(id)
        })();
        let out = |id: &walls::Identity| {
            let mut out = config.clone();
            out.entry("permission".into()).or_insert_with(dir_mode);
            out.entry("force_destroy".into()).or_insert_with(no);
            out.insert(
                "absolute_path".into(),
                Value::string(place.full().display().to_string()),
            );
            out.insert("dir_id".into(), Value::string(file_id(id)));
            out
        };
        match made {
            Ok(id) => Ok(out(&id)),
            Err(e) => {
                if let Ok(d) = walls::open_at(&parent, &tmp, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                {
                    let _ = walls::clear(&d);
                    let _ = walls::unlink_at(&parent, &tmp, true);
                }
                if !is(&e, libc::EEXIST) && !is(&e, libc::ENOTEMPTY) {
                    return Err(io("cannot create directory", &place, e));
                }
                match dir_claim(&place, config, owner)? {
                    Claim::Ours => {
                        let d = walls::open_dir(&place.base, &place.rel, false)
                            .map_err(|e| io("cannot inspect", &place, e))?;
                        let id = walls::identity(d.as_raw_fd())
                            .map_err(|e| io("cannot inspect", &place, e))?;
                        Ok(out(&id))
                    }
                    claim => Err(not_ours("directory", &place, &claim)),
                }
            }
        }
    }

    /// Deletes a directory baton made: empty apart from its marker, or with everything
    /// in it when `force_destroy` is set.
    fn delete_dir(&self, prior: &Attrs) -> Result<(), ProviderError> {
        let place = self.place(prior)?;
        let parent = match walls::open_dir(&place.base, place.parent(), false) {
            Ok(d) => d,
            Err(e) if is(&e, libc::ENOENT) => return Ok(()),
            Err(e) => return Err(io("cannot delete", &place, e)),
        };
        let dir = match walls::open_at(&parent, place.name(), libc::O_RDONLY | libc::O_DIRECTORY, 0)
        {
            Ok(d) => d,
            Err(e) if is(&e, libc::ENOENT) => return Ok(()),
            Err(e) if is(&e, libc::ELOOP) || is(&e, libc::ENOTDIR) => {
                return Err(ProviderError::NotOurs(format!(
                    "{} is not a directory baton made (a symbolic link or a file)",
                    place.full().display()
                )));
            }
            Err(e) => return Err(io("cannot delete", &place, e)),
        };
        let names = walls::entries(&dir).map_err(|e| io("cannot list", &place, e))?;
        let marked = names.iter().any(|n| n == MARKER_FILE);
        let others = names.iter().filter(|n| *n != MARKER_FILE).count();
        if others > 0 {
            if !marked {
                return Err(ProviderError::NotOurs(format!(
                    "directory {} holds {others} entries and no ownership marker; baton deletes only directories it made",
                    place.full().display()
                )));
            }
            if !bool_attr(prior, "force_destroy").unwrap_or(false) {
                return Err(ProviderError::Failed(format!(
                    "directory {} is not empty ({others} entries); baton deletes a directory with its content only with `force_destroy = true` on the resource",
                    place.full().display()
                )));
            }
            walls::clear(&dir).map_err(|e| io("cannot delete", &place, e))?;
        } else if marked {
            walls::unlink_at(&dir, OsStr::new(MARKER_FILE), false)
                .map_err(|e| io("cannot delete", &place, e))?;
        }
        match walls::unlink_at(&parent, place.name(), true) {
            Ok(()) => Ok(()),
            Err(e) if is(&e, libc::ENOENT) => Ok(()),
            Err(e) => Err(io("cannot delete", &place, e)),
        }
    }

    fn delete_file(&self, prior: &Attrs) -> Result<(), ProviderError> {
        let place = self.place(prior)?;
        let parent = match walls::open_dir(&place.base, place.parent(), false) {
            Ok(d) => d,
            Err(e) if is(&e, libc::ENOENT) => return Ok(()),
            Err(e) => return Err(io("cannot delete", &place, e)),
        };
        let fd = match walls::open_at(&parent, place.name(), libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(e) if is(&e, libc::ENOENT) => return Ok(()),
            Err(e) if is(&e, libc::ELOOP) => {
                return Err(not_ours("file", &place, &Claim::Unproven));
            }
            Err(e) => return Err(io("cannot delete", &place, e)),
        };
        self.check_identity(&place, prior, &fd)?;
        match walls::unlink_at(&parent, place.name(), false) {
            Ok(()) => Ok(()),
            Err(e) if is(&e, libc::ENOENT) => Ok(()),
            Err(e) => Err(io("cannot delete", &place, e)),
        }
    }

    fn read_file(&self, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        let place = self.place(prior)?;
        let Some(mut file) = open_file(&place)? else {
            return Ok(None);
        };
        let id = walls::identity(file.as_raw_fd()).map_err(|e| io("cannot read", &place, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io("cannot read", &place, e))?;
        let mut out = prior.clone();
        let sha = sha256_hex(&bytes);
        if out.get("content_sha256").and_then(Value::as_str) != Some(sha.as_str()) {
            out.insert(
                "content".into(),
                Value::string(String::from_utf8_lossy(&bytes).into_owned()),
            );
            out.insert("content_sha256".into(), Value::string(sha));
        }
        out.insert(
            "file_permission".into(),
            Value::string(format!("{:04o}", id.mode)),
        );
        // The recorded identity is the proof and stays as recorded (`claim` compares
        // it); a file recorded without one (by an older baton, or imported) gets it.
        out.entry("file_id".into())
            .or_insert_with(|| Value::string(file_id(&id)));
        Ok(Some(out))
    }

    fn read_dir(&self, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        let place = self.place(prior)?;
        let dir = match walls::open_dir(&place.base, &place.rel, false) {
            Ok(d) => d,
            Err(e) if is(&e, libc::ENOENT) => return Ok(None),
            Err(e) => return Err(io("cannot read", &place, e)),
        };
        let id = walls::identity(dir.as_raw_fd()).map_err(|e| io("cannot read", &place, e))?;
        let mut out = prior.clone();
        out.insert(
            "permission".into(),
            Value::string(format!("{:04o}", id.mode)),
        );
        out.entry("dir_id".into())
            .or_insert_with(|| Value::string(file_id(&id)));
        Ok(Some(out))
    }

    fn mark_now(&self, kind: &str, found: &Attrs, owner: &Owner) -> Result<(), ProviderError> {
        let place = self.place(found)?;
        match kind {
            "local_file" => {
                let file = open_file(&place)?.ok_or_else(|| {
                    ProviderError::Failed(format!("{} does not exist", place.full().display()))
                })?;
                let fd = OwnedFd::from(file);
                self.check_identity(&place, found, &fd)?;
                walls::set_marker(fd.as_raw_fd(), &owner.marker())
                    .map_err(|e| io("cannot mark", &place, e))
            }
            _ => {
                let dir = walls::open_dir(&place.base, &place.rel, false)
                    .map_err(|e| io("cannot mark", &place, e))?;
                let temp = walls::write_temp(
                    &dir,
                    OsStr::new(MARKER_FILE),
                    owner.marker().as_bytes(),
                    0o444,
                )
                .map_err(|e| io("cannot mark", &place, e))?;
                temp.place(&dir, OsStr::new(MARKER_FILE), true)
                    .map_err(|e| io("cannot mark", &place, e))
            }
        }
    }
}

fn known_kind(kind: &str) -> Result<(), ProviderError> {
    match kind {
        "local_file" | "local_directory" => Ok(()),
        other => Err(ProviderError::Invalid(format!("unknown kind {other}"))),
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

    fn check(&self, _kind: &str, config: &Attrs) -> Result<(), String> {
        match str_attr(config, "path") {
            Some(p) => self.walls.place(p).map(drop),
            None => Ok(()),
        }
    }

    fn proof(&self, _kind: &str) -> Proof {
        Proof::Marker
    }

    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &Owner,
    ) -> Result<Claim, ProviderError> {
        known_kind(kind)?;
        let (this, kind, found, owner) =
            (self.clone(), kind.to_string(), found.clone(), owner.clone());
        blocking(move || {
            let place = this.place(&found)?;
            if kind == "local_file" {
                file_claim(&place, &found, &owner)
            } else {
                dir_claim(&place, &found, &owner)
            }
        })
        .await
    }

    async fn mark(&self, kind: &str, found: &Attrs, owner: &Owner) -> Result<(), ProviderError> {
        known_kind(kind)?;
        let (this, kind, found, owner) =
            (self.clone(), kind.to_string(), found.clone(), owner.clone());
        blocking(move || this.mark_now(&kind, &found, &owner)).await
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        known_kind(kind)?;
        let (this, file, prior) = (self.clone(), kind == "local_file", prior.clone());
        blocking(move || {
            if file {
                this.read_file(&prior)
            } else {
                this.read_dir(&prior)
            }
        })
        .await
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        owner: &Owner,
    ) -> Result<Attrs, ProviderError> {
        known_kind(kind)?;
        let (this, file, config, owner) = (
            self.clone(),
            kind == "local_file",
            config.clone(),
            owner.clone(),
        );
        blocking(move || {
            if file {
                this.create_file(&config, &owner)
            } else {
                this.create_dir(&config, &owner)
            }
        })
        .await
    }

    async fn update(
        &self,
        kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        known_kind(kind)?;
        let (this, prior, config) = (self.clone(), prior.clone(), config.clone());
        if kind == "local_file" {
            return blocking(move || this.update_file(&prior, &config)).await;
        }
        // A directory changes only its mode (and whether it may be deleted full).
        blocking(move || {
            let place = this.place(&config)?;
            let mode = parse_mode(&config, "permission", 0o755)?;
            let dir = walls::open_dir(&place.base, &place.rel, false)
                .map_err(|e| io("cannot update", &place, e))?;
            walls::set_mode(dir.as_raw_fd(), mode).map_err(|e| io("cannot update", &place, e))?;
            let mut out = prior.clone();
            out.extend(config);
            out.entry("permission".into()).or_insert_with(dir_mode);
            out.entry("force_destroy".into()).or_insert_with(no);
            Ok(out)
        })
        .await
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        known_kind(kind)?;
        let (this, file, prior) = (self.clone(), kind == "local_file", prior.clone());
        blocking(move || {
            if file {
                this.delete_file(&prior)
            } else {
                this.delete_dir(&prior)
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::string(*v)))
            .collect()
    }

    #[tokio::test]
    async fn files_are_written_read_back_and_drift_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path(), &Attrs::new());
        let made = p
            .create(
                "local_file",
                &attrs(&[("path", "a/b.txt"), ("content", "hello")]),
                &crate::provider::Owner::for_tests(),
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
    async fn directories_are_deleted_full_only_with_force_destroy() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path(), &Attrs::new());
        let owner = Owner::for_tests();
        let made = p
            .create("local_directory", &attrs(&[("path", "vol/data")]), &owner)
            .await
            .unwrap();
        let abs = made["absolute_path"].as_str().unwrap().to_string();
        assert!(Path::new(&abs).is_absolute() && Path::new(&abs).is_dir());
        assert_eq!(
            p.claim("local_directory", &made, &owner).await.unwrap(),
            Claim::Ours
        );
        std::fs::write(Path::new(&abs).join("x"), "1").unwrap();
        let e = p.delete("local_directory", &made).await.unwrap_err();
        assert!(e.to_string().contains("force_destroy"), "{e}");
        assert!(Path::new(&abs).join("x").exists());
        let mut forced = made.clone();
        forced.insert("force_destroy".into(), Value::Bool(true));
        p.delete("local_directory", &forced).await.unwrap();
        assert!(!Path::new(&abs).exists());
    }

    /// A delete killed after it removed the directory's marker and before the directory
    /// leaves it empty and unmarked: still the directory baton made (its recorded inode),
    /// so the next run finishes the delete. An empty directory made by someone else in
    /// its place is not baton's.
    #[tokio::test]
    async fn a_directory_whose_delete_was_killed_midway_is_still_batons() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path(), &Attrs::new());
        let owner = Owner::for_tests();
        let made = p
            .create("local_directory", &attrs(&[("path", "vol/data")]), &owner)
            .await
            .unwrap();
        assert!(made["dir_id"].as_str().is_some_and(|id| id.contains(':')));
        let abs = dir.path().join("vol/data");
        std::fs::remove_file(abs.join(MARKER_FILE)).unwrap();
        assert_eq!(
            p.claim("local_directory", &made, &owner).await.unwrap(),
            Claim::Ours
        );
        // Not when it holds something: that needs the marker.
        std::fs::write(abs.join("x"), "1").unwrap();
        assert_eq!(
            p.claim("local_directory", &made, &owner).await.unwrap(),
            Claim::Unproven
        );
        std::fs::remove_file(abs.join("x")).unwrap();
        // Someone else's empty directory under the name (baton's moved aside, so the
        // inode cannot be reused): another inode, not baton's.
        let aside = dir.path().join("vol/aside");
        std::fs::rename(&abs, &aside).unwrap();
        std::fs::create_dir(&abs).unwrap();
        assert_eq!(
            p.claim("local_directory", &made, &owner).await.unwrap(),
            Claim::Unproven
        );
        std::fs::remove_dir(&abs).unwrap();
        std::fs::rename(&aside, &abs).unwrap();
        p.delete("local_directory", &made).await.unwrap();
        assert!(!abs.exists());
    }

    #[tokio::test]
    async fn objects_already_there_are_refused_unless_baton_made_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path(), &Attrs::new());
        let owner = Owner::for_tests();
        std::fs::create_dir(dir.path().join("theirs")).unwrap();
        std::fs::write(dir.path().join("theirs/canary"), "c").unwrap();
        std::fs::write(dir.path().join("their.txt"), "canary").unwrap();
        let e = p
            .create("local_directory", &attrs(&[("path", "theirs")]), &owner)
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
        let e = p
            .create(
                "local_file",
                &attrs(&[("path", "their.txt"), ("content", "x")]),
                &owner,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("their.txt")).unwrap(),
            "canary"
        );
        // A retried create of baton's own is taken as it is.
        let cfg = attrs(&[("path", "mine.txt"), ("content", "x")]);
        let first = p.create("local_file", &cfg, &owner).await.unwrap();
        let again = p.create("local_file", &cfg, &owner).await.unwrap();
        assert_eq!(first["file_id"], again["file_id"]);
        let other = Owner::new(owner.lineage.clone(), "elsewhere");
        assert!(p.create("local_file", &cfg, &other).await.is_err());
        // The same file replaced by another inode is no longer baton's.
        std::fs::write(dir.path().join("new.txt"), "x").unwrap();
        std::fs::rename(dir.path().join("new.txt"), dir.path().join("mine.txt")).unwrap();
        assert_eq!(
            p.claim("local_file", &first, &owner).await.unwrap(),
            Claim::Unproven
        );
        assert!(p.delete("local_file", &first).await.is_err());
        assert!(dir.path().join("mine.txt").exists());
    }

    #[tokio::test]
    async fn no_symbolic_link_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path(), &Attrs::new());
        std::fs::write(outside.path().join("victim"), "keep").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let e = p
            .create(
                "local_file",
                &attrs(&[("path", "link/victim"), ("content", "x")]),
                &Owner::for_tests(),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(
            std::fs::read_to_string(outside.path().join("victim")).unwrap(),
            "keep"
        );
    }
}
