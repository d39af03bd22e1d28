//! The files of a checkout: one walk of the tree that `rotate`, `prune`, `check`
//! and `audit` share. Which files it lists is normative in `spec/audit.md`,
//! section 1.

use std::path::{Path, PathBuf};

use crate::error::{Classified, ErrorKind};

/// A directory of the tree could not be read while walking it.
#[derive(Debug)]
pub struct WalkError(ignore::Error);

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot walk the tree: {}", self.0)
    }
}

impl std::error::Error for WalkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Classified for WalkError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// A file found by [`walk`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalkedFile {
    /// Its path relative to the root, `/`-separated (how the policy's globs and
    /// every message name it).
    pub rel: String,
    /// Its path on disk.
    pub path: PathBuf,
    /// Whether it is a symbolic link (never followed).
    pub symlink: bool,
}

/// Which files a [`walk`] skips besides `.git`, `.cachet` and cachet's own lock
/// and temporary files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// What the repository's own `.gitignore` files exclude (rotate, check,
    /// audit). Rules that differ from machine to machine (global excludes,
    /// `.git/info/exclude`, `.ignore` files, ignore files above `root`) are not
    /// used, so every member sees the same files.
    GitIgnored,
    /// Nothing more (prune: a retired key stays while any file, ignored or not,
    /// still uses it).
    Nothing,
}

/// Every file under `root`, tracked by git or not, with dotfiles; sorted by
/// relative path. `.gitignore` applies also outside a git repository, but never
/// to `tracked` (the paths, relative to `root`, that git tracks: a file added
/// with `git add -f` is committed configuration like any other).
pub fn walk(root: &Path, skip: Skip, tracked: &[String]) -> Result<Vec<WalkedFile>, WalkError> {
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        // Dotfiles such as `.env.production` are configuration too.
        .hidden(false)
        .parents(false)
        .ignore(false)
        .git_global(false)
        .git_exclude(false)
        .git_ignore(skip == Skip::GitIgnored)
        // A tree that is not (yet) a git repository still means its .gitignore.
        .require_git(false)
        // `.git` anywhere is git's own (a nested repository's included); only the
        // root's `.cachet` holds keyrings, a deeper one is configuration like any.
        .filter_entry(|e| {
            e.file_name() != ".git" && !(e.depth() == 1 && e.file_name() == ".cachet")
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(WalkError)?;
        // cachet's own lock files, and temporary files a killed write left (they
        // are removed when the file's lock is next taken), are not configuration.
        let symlink = entry.path_is_symlink();
        if !(symlink || entry.file_type().is_some_and(|t| t.is_file()))
            || entry.file_name().to_str().is_some_and(|n| {
                super::atomic::is_own_file(n, entry.metadata().map_or(1, |m| m.len()))
            })
        {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        out.push(WalkedFile {
            rel: rel.join("/"),
            path: entry.into_path(),
            symlink,
        });
    }
    out.sort();
    let mut extra = Vec::new();
    for rel in tracked {
        let hidden = rel.split('/').any(|c| c == ".git") || rel.starts_with(".cachet/");
        if hidden || out.binary_search_by(|f| f.rel.as_str().cmp(rel)).is_ok() {
            continue;
        }
        let path = root.join(rel);
        if let Ok(m) = std::fs::symlink_metadata(&path) {
            let symlink = m.file_type().is_symlink();
            if symlink || m.file_type().is_file() {
                extra.push(WalkedFile {
                    rel: rel.clone(),
                    path,
                    symlink,
                });
            }
        }
    }
    out.extend(extra);
    out.sort();
    out.dedup_by(|a, b| a.rel == b.rel);
    Ok(out)
}
