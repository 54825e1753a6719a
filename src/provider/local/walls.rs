//! The walls of the `local` provider: which paths it may touch (beneath the project
//! directory or a root the platform engineer listed, never baton's own files), and the
//! file-system calls that reach them from the root's descriptor without following a
//! symbolic link, so that nothing planted in the project can redirect a write or a
//! delete to a file elsewhere.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Where the `local` provider may write.
#[derive(Debug, Clone)]
pub struct Walls {
    /// The project directory.
    project: PathBuf,
    /// Further roots from `provider "local" { roots = [...] }`, absolute.
    roots: Vec<PathBuf>,
    /// The SQLite state database, relative to the project or absolute.
    state: PathBuf,
}

/// A path inside the walls: the root it lies beneath and the way down from it.
#[derive(Debug, Clone)]
pub struct Place {
    /// The root directory (the project or a configured root).
    pub base: PathBuf,
    /// Normal components only, at least one.
    pub rel: PathBuf,
}

impl Place {
    /// The full path, for messages and `absolute_path`.
    pub fn full(&self) -> PathBuf {
        self.base.join(&self.rel)
    }

    /// The last component.
    pub fn name(&self) -> &OsStr {
        self.rel
            .file_name()
            .expect("a place has at least one component")
    }

    /// The directory holding it, relative to the base (empty for the base itself).
    pub fn parent(&self) -> &Path {
        self.rel.parent().unwrap_or(Path::new(""))
    }
}

/// Sidecar files SQLite keeps next to a database.
const SQLITE_SIDECARS: [&str; 3] = ["-wal", "-shm", "-journal"];

impl Walls {
    /// Walls around `project` and `roots`, keeping `state` (the SQLite database) out.
    pub fn new(project: &Path, roots: Vec<PathBuf>, state: PathBuf) -> Walls {
        Walls {
            project: project.to_path_buf(),
            roots,
            state,
        }
    }

    /// The configured roots, for messages.
    fn roots_text(&self) -> String {
        if self.roots.is_empty() {
            "none are configured".into()
        } else {
            self.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// Where `path` (as a module wrote it) lies, or why baton may not touch it. Decided
    /// from the text alone, so the plan can refuse it before anything is done.
    pub fn place(&self, path: &str) -> Result<Place, String> {
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        let p = Path::new(path);
        let (base, rest) = if p.is_absolute() {
            match self
                .roots
                .iter()
                .find_map(|r| Some((r, p.strip_prefix(r).ok()?)))
            {
                Some((r, rest)) => (r.clone(), rest),
                None => {
                    return Err(format!(
                        "{path:?} is absolute and lies beneath none of the roots of `provider \"local\"` ({}); a relative path lies in the project directory",
                        self.roots_text()
                    ));
                }
            }
        } else {
            (self.project.clone(), p)
        };
        let mut rel = PathBuf::new();
        for c in rest.components() {
            match c {
                Component::Normal(n) => rel.push(n),
                Component::CurDir => {}
                _ => return Err(format!("{path:?} leaves its root (`..`)")),
            }
        }
        if rel.as_os_str().is_empty() {
            return Err(format!("{path:?} is the root directory itself"));
        }
        let place = Place { base, rel };
        self.forbidden(&place)
            .map_or(Ok(place), |why| Err(format!("{path:?} is {why}")))
    }

    /// Why baton may never touch `place`, if it may not.
    fn forbidden(&self, place: &Place) -> Option<&'static str> {
        let full = place.full();
        let name = place.name().to_string_lossy();
        if name == "score.yaml" || name.ends_with(".score.yaml") {
            return Some("a Score file");
        }
        let state = self.project.join(&self.state);
        if state.starts_with(&full) {
            return Some("the state database or a directory holding it");
        }
        let state_name = state.as_os_str().to_string_lossy();
        let full_name = full.as_os_str().to_string_lossy();
        if SQLITE_SIDECARS
            .iter()
            .any(|s| full_name == format!("{state_name}{s}"))
        {
            return Some("a file of the state database");
        }
        if let Ok(rel) = full.strip_prefix(&self.project) {
            let parts: Vec<&OsStr> = rel.iter().collect();
            match parts.first().and_then(|p| p.to_str()) {
                // Subfolders of `.baton/` hold what the built-in modules make (volumes,
                // routes); the folder and its files are the state's.
                Some(".baton") if parts.len() <= 2 => {
                    return Some("baton's state folder `.baton` or a file directly in it");
                }
                Some("modules") => return Some("in the project's module folder `modules/`"),
                Some("baton.hcl") if parts.len() == 1 => {
                    return Some("the environment configuration `baton.hcl`");
                }
                _ => {}
            }
        }
        None
    }
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `fd` was just returned by a successful open and is owned by no one else.
    cvt(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `name` in the directory `dir`, never following a symbolic link at `name`.
pub fn open_at(dir: &OwnedFd, name: &OsStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let c = c_name(name)?;
    // SAFETY: `c` is a valid C string and `dir` an open descriptor.
    owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })
}

fn open_path_dir(dir: &Path) -> io::Result<OwnedFd> {
    let c = c_name(dir.as_os_str())?;
    // SAFETY: `c` is a valid C string.
    owned(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })
}

/// Opens the directory `rel` beneath `base` (`rel` may be empty: `base` itself),
/// following no symbolic link below `base`; with `create`, makes missing directories
/// (mode 0755) on the way.
pub fn open_dir(base: &Path, rel: &Path, create: bool) -> io::Result<OwnedFd> {
    let root = open_path_dir(base)?;
    if rel.as_os_str().is_empty() {
        return Ok(root);
    }
    // One call when the directory exists: openat2 checks every step in the kernel.
    match openat2_beneath(&root, rel) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !create => return Err(e),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(symlink_in_the_way()),
        Err(_) => {}
    }
    let mut fd = root;
    for c in rel.iter() {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        fd = match open_at(&fd, c, flags, 0) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                let cn = c_name(c)?;
                // SAFETY: valid C string and descriptor.
                let made = unsafe { libc::mkdirat(fd.as_raw_fd(), cn.as_ptr(), 0o755) };
                if made < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                    return Err(io::Error::last_os_error());
                }
                open_at(&fd, c, flags, 0)
            }
            other => other,
        }
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => symlink_in_the_way(),
            _ => e,
        })?;
    }
    Ok(fd)
}

fn symlink_in_the_way() -> io::Error {
    io::Error::other(
        "a symbolic link or a file is in the way (baton follows no symbolic link below a root)",
    )
}

fn openat2_beneath(root: &OwnedFd, rel: &Path) -> io::Result<OwnedFd> {
    let c = c_name(rel.as_os_str())?;
    // SAFETY: open_how is plain old data; zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    // SAFETY: `how` lives across the call and its size is passed; `c` is a valid C string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    owned(r as libc::c_int)
}

/// The identity of a file: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Whether it is a regular file.
    pub regular: bool,
    /// Permission bits.
    pub mode: u32,
}

/// The identity of an open file.
pub fn identity(fd: RawFd) -> io::Result<Identity> {
    // SAFETY: `st` is plain old data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(Identity {
        dev: st.st_dev,
        ino: st.st_ino,
        regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
        mode: st.st_mode & 0o7777,
    })
}

/// Sets the mode of an open file (by descriptor: no path to swap).
pub fn set_mode(fd: RawFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on an open descriptor.
    cvt(unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(drop)
}

/// A temporary file next to where a file goes: created exclusively under a random name
/// (no planted file or link is ever opened), holding `content` with exactly `mode`.
pub struct Temp {
    /// The open file.
    pub file: File,
    name: CString,
}

/// Writes `content` to a new temporary file in `dir`, for `final_name`.
pub fn write_temp(
    dir: &OwnedFd,
    final_name: &OsStr,
    content: &[u8],
    mode: u32,
) -> io::Result<Temp> {
    use io::Write;
    let mut tmp = Vec::with_capacity(final_name.len() + 28);
    tmp.push(b'.');
    tmp.extend_from_slice(final_name.as_bytes());
    tmp.extend_from_slice(b".baton-tmp");
    let name = CString::new(tmp)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))?;
    let create = || {
        open_at(
            dir,
            OsStr::from_bytes(name.as_bytes()),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            0o600,
        )
    };
    // The name is fixed per target, so what a killed run left there is removed, not
    // piled up; whatever is at the name (a stale file, a planted link) is unlinked,
    // never opened, and the create is exclusive.
    let fd = match create() {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            unlink_at(dir, OsStr::from_bytes(name.as_bytes()), false)?;
            create()?
        }
        other => other?,
    };
    let temp = Temp {
        file: File::from(fd),
        name,
    };
    let written = (&temp.file)
        .write_all(content)
        .and_then(|()| set_mode(temp.file.as_raw_fd(), mode));
    if let Err(e) = written {
        temp.discard(dir);
        return Err(e);
    }
    Ok(temp)
}

impl Temp {
    /// Removes the temporary file (after a failure).
    pub fn discard(&self, dir: &OwnedFd) {
        // SAFETY: valid C string and descriptor; a failure leaves a stray temp file only.
        unsafe { libc::unlinkat(dir.as_raw_fd(), self.name.as_ptr(), 0) };
    }

    /// Moves the file to `name` in `dir`. With `replace` false an existing `name` is
    /// left alone and the call fails with `AlreadyExists`.
    pub fn place(self, dir: &OwnedFd, name: &OsStr, replace: bool) -> io::Result<()> {
        let to = c_name(name)?;
        let d = dir.as_raw_fd();
        // SAFETY: valid C strings and descriptor.
        let r = unsafe {
            if replace {
                libc::renameat(d, self.name.as_ptr(), d, to.as_ptr())
            } else {
                libc::renameat2(
                    d,
                    self.name.as_ptr(),
                    d,
                    to.as_ptr(),
                    libc::RENAME_NOREPLACE,
                )
            }
        };
        if r == 0 {
            return Ok(());
        }
        let mut e = io::Error::last_os_error();
        if !replace && e.raw_os_error() == Some(libc::EINVAL) {
            // A file system without RENAME_NOREPLACE: a hard link is just as exclusive.
            // SAFETY: valid C strings and descriptor.
            let r = unsafe { libc::linkat(d, self.name.as_ptr(), d, to.as_ptr(), 0) };
            if r == 0 {
                self.discard(dir);
                return Ok(());
            }
            e = io::Error::last_os_error();
        }
        self.discard(dir);
        Err(e)
    }
}

/// Removes the entry `name` of `dir` (`dir_entry`: a directory, which must be empty).
pub fn unlink_at(dir: &OwnedFd, name: &OsStr, dir_entry: bool) -> io::Result<()> {
    let c = c_name(name)?;
    let flags = if dir_entry { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid C string and descriptor.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) }).map(drop)
}

/// Makes the directory `name` in `dir`.
pub fn mkdir_at(dir: &OwnedFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = c_name(name)?;
    // SAFETY: valid C string and descriptor.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// Renames `from` to `to` in `dir`, failing with `AlreadyExists` when `to` exists.
pub fn rename_new(dir: &OwnedFd, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (c_name(from)?, c_name(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: valid C strings and descriptor.
    cvt(unsafe { libc::renameat2(d, f.as_ptr(), d, t.as_ptr(), libc::RENAME_NOREPLACE) }).map(drop)
}

/// The names in an open directory, without `.` and `..`.
pub fn entries(dir: &OwnedFd) -> io::Result<Vec<std::ffi::OsString>> {
    // fdopendir takes the descriptor over: give it a copy.
    // SAFETY: plain syscalls; the DIR stream is closed before returning.
    unsafe {
        let copy = cvt(libc::dup(dir.as_raw_fd()))?;
        let stream = libc::fdopendir(copy);
        if stream.is_null() {
            let e = io::Error::last_os_error();
            libc::close(copy);
            return Err(e);
        }
        libc::rewinddir(stream);
        let mut names = Vec::new();
        loop {
            let entry = libc::readdir(stream);
            if entry.is_null() {
                break;
            }
            let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()).to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        libc::closedir(stream);
        Ok(names)
    }
}

/// Removes everything inside the open directory `dir`, descending into directories by
/// descriptor and never following a symbolic link (a link is removed, not its target).
pub fn clear(dir: &OwnedFd) -> io::Result<()> {
    for name in entries(dir)? {
        match unlink_at(dir, &name, false) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)) => {
                let sub = open_at(dir, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                clear(&sub)?;
                unlink_at(dir, &name, true)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The extended attribute holding the owner's marker on a file baton wrote.
const MARKER_XATTR: &[u8] = b"user.baton.owner\0";

/// Writes `marker` on an open file. A file system without user extended attributes
/// keeps none: the recorded inode is the proof there.
pub fn set_marker(fd: RawFd, marker: &str) -> io::Result<()> {
    // SAFETY: the name is NUL-terminated and the value's length is passed.
    let r = unsafe {
        libc::fsetxattr(
            fd,
            MARKER_XATTR.as_ptr().cast(),
            marker.as_ptr().cast(),
            marker.len(),
            0,
        )
    };
    match cvt(r) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Ok(()),
        other => other.map(drop),
    }
}

/// The marker on an open file, if any.
pub fn marker(fd: RawFd) -> io::Result<Option<String>> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer's length is passed.
    let n = unsafe {
        libc::fgetxattr(
            fd,
            MARKER_XATTR.as_ptr().cast(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) | Some(libc::ERANGE) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(
        String::from_utf8_lossy(&buf[..n as usize]).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walls() -> Walls {
        Walls::new(
            Path::new("/p"),
            vec![PathBuf::from("/srv/volumes")],
            PathBuf::from("state/baton.db"),
        )
    }

    #[test]
    fn paths_stay_inside_the_walls() {
        let w = walls();
        for ok in [
            "a.txt",
            "./out/b.txt",
            ".baton/volumes/x",
            ".baton/routes/r.json",
            "/srv/volumes/data",
            "deploy/local/x.yaml",
            "state/other.db",
        ] {
            assert!(w.place(ok).is_ok(), "{ok}: {:?}", w.place(ok));
        }
        for (bad, why) in [
            ("", "empty"),
            ("../x", "leaves"),
            ("a/../../x", "leaves"),
            ("/etc/passwd", "beneath none"),
            ("/srv/volumes", "root directory itself"),
            (".", "root directory itself"),
            (".baton", "state folder"),
            (".baton/state.db", "state folder"),
            ("baton.hcl", "configuration"),
            ("score.yaml", "Score file"),
            ("apps/web.score.yaml", "Score file"),
            ("modules/db.hcl", "module folder"),
            ("modules", "module folder"),
            ("state", "state database"),
            ("state/baton.db", "state database"),
            ("state/baton.db-wal", "state database"),
        ] {
            let e = w.place(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
