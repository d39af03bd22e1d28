//! Crash-safe file replacement and the lock that serialises writers of one file.
//!
//! A file is never left half-written: the new content goes to a temporary file in
//! the same directory, is flushed to disk, and is renamed over the target, so a
//! reader (or a crash) sees either the old file or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary file of a write to `NAME` is `.NAME.XXXXXX.cachet-tmp`.
const TEMP_SUFFIX: &str = ".cachet-tmp";
/// How many random characters the temporary file's name holds.
const TEMP_RAND_LEN: usize = 6;
/// The lock file of `NAME` is `.NAME.cachet-lock`.
const LOCK_SUFFIX: &str = ".cachet-lock";

/// Whether a file is one of cachet's own lock or temporary files, which hold no
/// configuration (commands that walk a tree skip them): a temporary file's name
/// exactly as [`write_atomic`] makes it, or a lock file's name on an empty file
/// (a lock file never holds anything, so one with content is someone's file).
pub fn is_own_file(name: &str, len: u64) -> bool {
    let temp = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(target, random)| {
            !target.is_empty()
                && random.len() == TEMP_RAND_LEN
                && random.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    let lock = name.starts_with('.') && name.ends_with(LOCK_SUFFIX) && len == 0;
    temp || lock
}

/// Removes the temporary files that writes to `path` left behind when their
/// process was killed before the rename (a SIGKILL or a power loss leaves no
/// chance to clean up). Only a holder of the lock that guards every write of
/// `path` may call this (its [`FileLock`], which calls it, or for a keyring the
/// policy's lock), so no temporary file of a live write can be removed. A leftover holds only what the write was writing: the
/// sealed file, or an opened file written 0600.
pub fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let random = n
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX));
        if random.is_some_and(|r| {
            r.len() == TEMP_RAND_LEN && r.bytes().all(|b| b.is_ascii_alphanumeric())
        }) && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Which permissions the written file gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Those of the file being replaced (0600 if there is none).
    Keep,
    /// Owner read/write only (0600), for anything holding plaintext or keys.
    Private,
}

/// The directory `path` is in: its parent, or `.` for a bare file name.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces (or creates) `path` with `bytes`, atomically.
///
/// With `no_clobber`, an existing file is never replaced: the call fails with
/// [`io::ErrorKind::AlreadyExists`].
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode, no_clobber: bool) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    // The temporary file is created 0600 by tempfile, so plaintext is never
    // readable by others even for a moment.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .rand_bytes(TEMP_RAND_LEN)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perm = match (mode, fs::metadata(path)) {
            (Mode::Keep, Ok(meta)) => meta.permissions().mode() & 0o7777,
            _ => 0o600,
        };
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(perm))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if no_clobber {
        tmp.persist_noclobber(path).map_err(|e| e.error)?;
    } else {
        tmp.persist(path).map_err(|e| e.error)?;
    }
    // Make the rename itself durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuses a symbolic link where cachet reads a file it may write back, or a
/// team file: a link committed to a repository could make cachet read a file
/// elsewhere (and write its content into the repository) or write there.
pub fn refuse_link(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a symbolic link, which cachet does not follow here; name the file itself",
        )),
        _ => Ok(()),
    }
}

/// The user id this process runs as (`None` where there is none).
pub fn effective_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        Some(rustix::process::geteuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The user id that owns `path` (`None` where there is none).
pub fn owner(path: &Path) -> io::Result<Option<u32>> {
    let meta = fs::symlink_metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(Some(meta.uid()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

/// The lock file that guards `path`: `.NAME.cachet-lock` beside it.
pub fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    parent_dir(path).join(format!(".{name}{LOCK_SUFFIX}"))
}

/// An exclusive advisory lock on a file's lock file, released on drop.
///
/// Every read-modify-write of a file holds it, so concurrent writers take turns
/// instead of losing each other's changes. The lock file may stay behind; it holds
/// nothing. Taking it removes the temporary files of writes to the file that were
/// killed before they finished.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock for `path`, waiting while another process holds it; `on_wait`
    /// is called once, before waiting, so a caller can say why it pauses.
    ///
    /// The lock file is never opened through a symbolic link (one committed to a
    /// repository could make cachet create or truncate a file elsewhere): a link
    /// there is an error.
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> io::Result<FileLock> {
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        let lock = lock_path(path);
        let file = options.open(&lock).map_err(|e| {
            if fs::symlink_metadata(&lock).is_ok_and(|m| m.file_type().is_symlink()) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "its lock file is a symbolic link, which cachet never follows; remove the link",
                )
            } else {
                e
            }
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock()?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        remove_stale_temps(path);
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"new", Mode::Keep, false).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        write_atomic(&p, b"newer", Mode::Private, false).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = write_atomic(&p, b"x", Mode::Private, true).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&p).unwrap(), "newer");
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn the_lock_holder_removes_temporary_files_of_killed_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        fs::write(&p, "x").unwrap();
        let stale = dir.path().join(".a.toml.Ab12Cd.cachet-tmp");
        let other = dir.path().join(".b.toml.Ab12Cd.cachet-tmp");
        let odd = dir.path().join(".a.toml.not-random.cachet-tmp");
        for f in [&stale, &other, &odd] {
            fs::write(f, "sealed").unwrap();
        }
        assert!(is_own_file(".a.toml.Ab12Cd.cachet-tmp", 100));
        assert!(is_own_file(".a.toml.cachet-lock", 0));
        assert!(!is_own_file(".env.cachet-lock", 30), "a lock file is empty");
        assert!(!is_own_file(".a.toml.not-random.cachet-tmp", 100));
        assert!(!is_own_file(".cachet-tmp", 0));
        assert!(!is_own_file("a.toml", 0));
        let lock = FileLock::acquire(&p, || {}).unwrap();
        assert!(!stale.exists());
        assert!(other.exists() && odd.exists(), "only a.toml's own");
        assert!(lock_path(&p).exists());
        drop(lock);
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_or_a_file_that_is_a_link_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        let file = dir.path().join("app.toml");
        fs::write(&file, "a = 1\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, lock_path(&file)).unwrap();
        let e = FileLock::acquire(&file, || {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "its lock file is a symbolic link, which cachet never follows; remove the link"
        );
        assert!(!elsewhere.exists(), "the lock was created through the link");
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(refuse_link(&file).is_ok());
        assert!(refuse_link(&dir.path().join("missing")).is_ok());
        assert_eq!(
            refuse_link(&link).unwrap_err().to_string(),
            "is a symbolic link, which cachet does not follow here; name the file itself"
        );
        assert_eq!(owner(&file).unwrap(), effective_uid());
    }
}
