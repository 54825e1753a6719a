//! Reads the file a Score `files.*.source` names, behind the walls a Score file from any
//! developer must not cross: only a regular file beneath the project directory, reached
//! without following a symbolic link, of at most [`MAX_FILE_SOURCE`] bytes. The content
//! lands in a ConfigMap that every plan shows, so `/proc/self/environ` (baton's own
//! environment, the state key included), `/dev/zero` (endless) or a FIFO (blocks forever)
//! must be refused before a byte is read.
//!
//! The path is resolved by hand, one component at a time from an open descriptor of the
//! project directory (`openat` with `O_NOFOLLOW`), so a symbolic link anywhere on the way
//! is refused rather than followed, and nothing is opened blocking before `fstat` has
//! shown a regular file.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The largest file `files.*.source` may name: Kubernetes refuses objects (a ConfigMap
/// holding the file) above 1 MiB.
pub const MAX_FILE_SOURCE: u64 = 1024 * 1024;

/// Why a `files.*.source` file was not read.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The path leaves the project directory.
    #[error("{} is outside the project directory {}", .path.display(), .root.display())]
    Outside {
        /// The path as resolved.
        path: PathBuf,
        /// The project directory.
        root: PathBuf,
    },
    /// A component of the path is a symbolic link.
    #[error("{}: `{}` is a symbolic link", .path.display(), .link.display())]
    Symlink {
        /// The path as resolved.
        path: PathBuf,
        /// The component that is a link.
        link: PathBuf,
    },
    /// The file is a directory, FIFO, socket or device.
    #[error("{} is {what}, not a regular file", .path.display())]
    NotRegular {
        /// The path as resolved.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file is larger than [`MAX_FILE_SOURCE`].
    #[error("{} is larger than {} bytes (1 MiB)", .path.display(), MAX_FILE_SOURCE)]
    TooLarge {
        /// The path as resolved.
        path: PathBuf,
    },
    /// Any other failure to open or read it.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The path as resolved.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Reads `source` (relative to `base`, the Score file's folder, itself relative to
/// `root` unless absolute) when it is a regular file beneath `root`.
pub fn read(root: &Path, base: &Path, source: &str) -> Result<Vec<u8>, Refusal> {
    let joined = root.join(base).join(source);
    let path = normalize(&joined);
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    // The project directory as given and as the system resolves it both count as
    // inside: the walk below starts from the directory itself either way.
    let relative = path
        .strip_prefix(root)
        .or_else(|_| path.strip_prefix(&real_root))
        .map_err(|_| Refusal::Outside {
            path: path.clone(),
            root: root.to_path_buf(),
        })?;
    let parts: Vec<&std::ffi::OsStr> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect();
    let Some((last, dirs)) = parts.split_last() else {
        return Err(Refusal::NotRegular {
            path,
            what: "the project directory",
        });
    };
    let io = |source| Refusal::Io {
        path: path.clone(),
        source,
    };
    let mut dir = open_at(None, real_root.as_os_str(), libc::O_DIRECTORY).map_err(io)?;
    let mut walked = PathBuf::new();
    for d in dirs {
        walked.push(d);
        dir = open_at(Some(&dir), d, libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .map_err(|e| refusal(e, &path, &real_root, &walked))?;
    }
    walked.push(last);
    // Non-blocking, so a FIFO or a device answers at once and `fstat` can refuse it.
    let fd = open_at(Some(&dir), last, libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .map_err(|e| refusal(e, &path, &real_root, &walked))?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(io)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "not a plain file"
        };
        return Err(Refusal::NotRegular { path, what });
    }
    if meta.len() > MAX_FILE_SOURCE {
        return Err(Refusal::TooLarge { path });
    }
    // The size can change between `fstat` and the read: read one byte past the limit
    // at most, and refuse if it is there.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_SOURCE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_SOURCE {
        return Err(Refusal::TooLarge { path });
    }
    Ok(bytes)
}

/// A symbolic link met on the way (`ELOOP` from `O_NOFOLLOW`, or `ENOTDIR` where a
/// directory was expected and a link is found) is refused as one; other errors as they
/// are.
fn refusal(e: std::io::Error, path: &Path, real_root: &Path, walked: &Path) -> Refusal {
    let link = e.raw_os_error() == Some(libc::ELOOP)
        || (e.raw_os_error() == Some(libc::ENOTDIR)
            && std::fs::symlink_metadata(real_root.join(walked))
                .is_ok_and(|m| m.file_type().is_symlink()));
    if link {
        return Refusal::Symlink {
            path: path.to_path_buf(),
            link: walked.to_path_buf(),
        };
    }
    Refusal::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// `openat(dir, name, flags | O_RDONLY | O_CLOEXEC)`, or `open` without a directory.
fn open_at(dir: Option<&OwnedFd>, name: &std::ffi::OsStr, flags: i32) -> std::io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let name = CString::new(name.as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let flags = flags | libc::O_RDONLY | libc::O_CLOEXEC;
    // SAFETY: `name` is a valid C string for the duration of the call, and `dir`, when
    // given, is an open descriptor owned by the caller.
    let fd = unsafe {
        match dir {
            Some(d) => libc::openat(d.as_raw_fd(), name.as_ptr(), flags),
            None => libc::open(name.as_ptr(), flags),
        }
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the system and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `path` with `.` dropped and `..` taking off the component before it, without asking
/// the file system (symbolic links are refused on the walk, so no link can make the
/// lexical result differ from the file that is read).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
