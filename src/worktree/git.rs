//! Asking git about a checkout: which files it tracks, what the index and a
//! revision hold. cachet only reads through git; it never changes a repository.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Classified, ErrorKind};

/// git could not be run, or failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum GitError {
    /// The `git` program could not be started.
    Run(std::io::Error),
    /// git ran and failed: the command's arguments and the first line it printed.
    Failed {
        /// The arguments, joined by spaces.
        args: String,
        /// git's first line of complaint.
        why: String,
    },
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Run(e) => write!(f, "cannot run git: {e}"),
            GitError::Failed { args, why } => write!(f, "git {args}: {why}"),
        }
    }
}

impl std::error::Error for GitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GitError::Run(e) => Some(e),
            GitError::Failed { .. } => None,
        }
    }
}

impl Classified for GitError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// Runs git in `root` and returns its standard output. A git that fails is an
/// error unless `allow_failure`, which gives `None`.
pub fn git(root: &Path, args: &[&str], allow_failure: bool) -> Result<Option<Vec<u8>>, GitError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(GitError::Run)?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    if allow_failure {
        return Ok(None);
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().next().unwrap_or("failed").trim().to_string();
    Err(GitError::Failed {
        args: args.join(" "),
        why,
    })
}

/// The files git tracks under `root`, relative to it; none outside a repository.
pub fn tracked_files(root: &Path) -> Result<Vec<String>, GitError> {
    let Some(out) = git(root, &["ls-files", "-z", "--", "."], true)? else {
        return Ok(Vec::new());
    };
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::str::from_utf8(p).ok().map(str::to_string))
        .collect())
}
