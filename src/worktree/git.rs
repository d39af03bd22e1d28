//! Asking git about a checkout: which files it tracks, what the index and a
//! revision hold, and which repository it is. cachet only reads through git; it
//! never changes a repository.
//!
//! A checkout may have been copied rather than cloned, and then its `.git/config`
//! is whatever its author wrote: a `core.fsmonitor` hook, a clean filter or an
//! external diff runs a program of theirs when git merely lists or compares files.
//! So every git command cachet runs turns those off (`spec/security.md` section 3):
//! `core.fsmonitor`, `core.hooksPath`, the untracked cache, every configured
//! filter driver's `clean`, `smudge` and `process` commands, external diffs and
//! textconv.

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

/// The settings that keep git from running a program the repository's own
/// configuration names, before any filter driver's.
const SAFE_SETTINGS: &[&str] = &[
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.untrackedCache=false",
    "diff.external=",
];

/// The `-c` settings for one git command in `root`: [`SAFE_SETTINGS`], and the
/// commands of every filter driver the configuration names set empty (which git
/// reads as no filter).
fn settings(root: &Path) -> Result<Vec<String>, GitError> {
    let mut out: Vec<String> = SAFE_SETTINGS.iter().map(|s| (*s).to_string()).collect();
    // Reading the configuration runs nothing; only the drivers named matter.
    let names = command(
        root,
        &out,
        &["config", "-z", "--name-only", "--get-regexp", r"^filter\."],
    )
    .ok()
    .and_then(|o| o.status.success().then_some(o.stdout))
    .unwrap_or_default();
    let mut drivers: Vec<&str> = names
        .split(|b| *b == 0)
        .filter_map(|n| std::str::from_utf8(n).ok())
        .filter_map(|n| n.strip_prefix("filter.")?.rsplit_once('.').map(|(d, _)| d))
        .collect();
    drivers.sort_unstable();
    drivers.dedup();
    for d in drivers {
        for key in ["clean", "smudge", "process"] {
            out.push(format!("filter.{d}.{key}="));
        }
        out.push(format!("filter.{d}.required=false"));
    }
    Ok(out)
}

fn command(
    root: &Path,
    settings: &[String],
    args: &[&str],
) -> Result<std::process::Output, GitError> {
    let mut cmd = Command::new("git");
    for s in settings {
        cmd.arg("-c").arg(s);
    }
    cmd.args(args)
        .current_dir(root)
        // A terminal prompt (credentials, a pager) would hang a CI job.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(GitError::Run)
}

/// Runs git in `root` and returns its standard output. A git that fails is an
/// error unless `allow_failure`, which gives `None`.
pub fn git(root: &Path, args: &[&str], allow_failure: bool) -> Result<Option<Vec<u8>>, GitError> {
    let out = command(root, &settings(root)?, args)?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    if allow_failure {
        return Ok(None);
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("warning:"))
        .unwrap_or("failed")
        .trim()
        .to_string();
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

/// What names one repository in every clone of it (`spec/policy.md` section 6):
/// the root commits of its history, sorted, and the directory `root` within
/// the work tree. `None` outside a git repository, in one with no commit yet, and
/// in a shallow clone (whose oldest commits are not the history's roots).
pub fn history_id(root: &Path) -> Result<Option<String>, GitError> {
    let text = |o: Option<Vec<u8>>| {
        o.and_then(|b| String::from_utf8(b).ok())
            .map(|s| s.trim().to_string())
    };
    let Some(shallow) = text(git(root, &["rev-parse", "--is-shallow-repository"], true)?) else {
        return Ok(None);
    };
    if shallow != "false" {
        return Ok(None);
    }
    let Some(prefix) = text(git(root, &["rev-parse", "--show-prefix"], true)?) else {
        return Ok(None);
    };
    let Some(roots) = text(git(
        root,
        &["rev-list", "--max-parents=0", "HEAD", "--"],
        true,
    )?) else {
        return Ok(None);
    };
    let mut roots: Vec<&str> = roots.lines().filter(|l| !l.is_empty()).collect();
    if roots.is_empty() {
        return Ok(None);
    }
    roots.sort_unstable();
    Ok(Some(format!(
        "git:{}:{}",
        roots.join(","),
        prefix.trim_end_matches('/')
    )))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "git {args:?}");
    }

    fn git_present() -> bool {
        Command::new("git").arg("--version").output().is_ok()
    }

    /// A checkout whose configuration runs a program from `core.fsmonitor` and a
    /// clean filter: listing and comparing its files runs neither.
    #[test]
    fn a_repositorys_own_programs_never_run() {
        if !git_present() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run(root, &["init", "-q"]);
        run(root, &["config", "user.email", "a@example.com"]);
        run(root, &["config", "user.name", "a"]);
        fs::write(root.join("a.txt"), "x\n").unwrap();
        run(root, &["add", "a.txt"]);
        run(root, &["commit", "-qm", "one"]);
        let marker = root.join("ran");
        let hook = format!("sh -c 'touch {}; cat'", marker.display());
        run(root, &["config", "core.fsmonitor", &hook]);
        run(root, &["config", "filter.evil.clean", &hook]);
        run(root, &["config", "filter.evil.process", &hook]);
        fs::write(root.join(".gitattributes"), "*.txt filter=evil\n").unwrap();
        fs::write(root.join("a.txt"), "y\n").unwrap();
        assert_eq!(tracked_files(root).unwrap(), ["a.txt"]);
        let diff = git(root, &["diff", "--name-status", "HEAD", "--", "."], false)
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(diff).unwrap(), "M\ta.txt\n");
        assert!(!marker.exists(), "a repository's program ran");
    }

    #[test]
    fn a_repository_is_named_by_its_root_commits_and_the_directory() {
        if !git_present() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        run(root, &["init", "-q"]);
        fs::create_dir(root.join("svc")).unwrap();
        // No commit yet: no history to name it by.
        assert_eq!(history_id(root).unwrap(), None);
        run(root, &["config", "user.email", "a@example.com"]);
        run(root, &["config", "user.name", "a"]);
        fs::write(root.join("svc/a"), "").unwrap();
        run(root, &["add", "."]);
        run(root, &["commit", "-qm", "one"]);
        let top = history_id(root).unwrap().unwrap();
        let svc = history_id(&root.join("svc")).unwrap().unwrap();
        assert!(top.starts_with("git:") && top.ends_with(':'), "{top}");
        assert_eq!(svc, format!("{top}svc"));
        // A clone elsewhere is the same repository.
        let other = tempfile::tempdir().unwrap();
        let clone = other.path().join("c");
        run(
            other.path(),
            &[
                "clone",
                "-q",
                root.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
        assert_eq!(history_id(&clone).unwrap().unwrap(), top);
        // Outside any repository there is none.
        let plain = tempfile::tempdir().unwrap();
        if git(plain.path(), &["rev-parse", "--git-dir"], true)
            .unwrap()
            .is_none()
        {
            assert_eq!(history_id(plain.path()).unwrap(), None);
        }
    }
}
