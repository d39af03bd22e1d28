//! Which files `check` and `audit` read, and from where (`spec/audit.md` sections
//! 1, 4.3 and 4.4): the working tree, or the git index with `--staged`; and each
//! file as it was at another revision, for `--base`.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::findings::{self, Finding};
use super::{
    AttestationState, FileSurvey, attestation_state, survey_document, survey_file, survey_link,
};
use crate::document::Selection;
use crate::document::attestation;
use crate::error::{Classified, ErrorKind};
use crate::format::Format;
use crate::seal::{Identities, OpenError};
use crate::team::{POLICY_FILE, Repo};
use crate::worktree::git::{GitError, git, tracked_files};
use crate::worktree::{Skip, WalkError, walk};

/// Files no environment covers larger than this are not read (a data file, not
/// configuration); a covered file is always read.
const MAX_UNCOVERED_BYTES: u64 = 16 << 20;

/// The files to check could not be found or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum SurveyError {
    /// git could not be asked.
    Git(GitError),
    /// The tree could not be walked.
    Walk(WalkError),
    /// A path named is outside the policy's directory.
    Outside(String),
    /// A path named does not exist.
    NoSuchPath(String),
    /// A file could not be read.
    Read(String, std::io::Error),
    /// `--base` is not a revision.
    NotARevision(String),
    /// `--base` is not a commit of the repository.
    NotACommit(String),
    /// `--base` is not a commit of this clone, which is shallow: the base's
    /// history was not fetched.
    NotFetched(String),
}

impl std::fmt::Display for SurveyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SurveyError::Git(e) => e.fmt(f),
            SurveyError::Walk(e) => e.fmt(f),
            SurveyError::Outside(p) => write!(f, "{p}: outside the directory of {POLICY_FILE}"),
            SurveyError::NoSuchPath(p) => write!(f, "{p}: no such file or directory"),
            SurveyError::Read(name, e) => write!(f, "{name}: cannot read: {e}"),
            SurveyError::NotARevision(base) => write!(f, "--base {base}: not a git revision"),
            SurveyError::NotACommit(base) => {
                write!(f, "--base {base}: not a commit of this git repository")
            }
            SurveyError::NotFetched(base) => write!(
                f,
                "--base {base}: not a commit of this clone, which is shallow: fetch the base first (`git fetch --deepen=50 origin`, or `git fetch --unshallow`; in CI, check out with full history)"
            ),
        }
    }
}

impl std::error::Error for SurveyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SurveyError::Git(e) => Some(e),
            SurveyError::Walk(e) => Some(e),
            SurveyError::Read(_, e) => Some(e),
            _ => None,
        }
    }
}

impl Classified for SurveyError {
    fn kind(&self) -> ErrorKind {
        match self {
            SurveyError::Outside(_)
            | SurveyError::NoSuchPath(_)
            | SurveyError::NotARevision(_)
            | SurveyError::NotACommit(_)
            | SurveyError::NotFetched(_) => ErrorKind::Usage,
            _ => ErrorKind::Input,
        }
    }
}

impl From<GitError> for SurveyError {
    fn from(e: GitError) -> Self {
        SurveyError::Git(e)
    }
}

/// Where a file's content is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// In the working tree.
    Disk(PathBuf),
    /// Staged in the git index.
    Index,
    /// A symbolic link in the working tree (never followed).
    Link,
}

/// The paths named on the command line, relative to the root (`""` for the root).
fn named_scopes(repo: &Repo, paths: &[PathBuf]) -> Result<Vec<(String, bool)>, SurveyError> {
    paths
        .iter()
        .map(|p| {
            let rel = repo.relative(p).ok_or_else(|| {
                if p.exists() {
                    SurveyError::Outside(p.display().to_string())
                } else {
                    SurveyError::NoSuchPath(p.display().to_string())
                }
            })?;
            Ok((rel, p.is_file()))
        })
        .collect()
}

fn in_scope(rel: &str, scopes: &[(String, bool)]) -> bool {
    scopes.is_empty()
        || scopes.iter().any(|(s, _)| {
            s.is_empty()
                || rel == s
                || rel
                    .strip_prefix(s.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
}

/// The files to check (`spec/audit.md` sections 1 and 4.4): the staged ones, or
/// the tree's, within the paths named (all of the tree when none is).
pub fn files_to_check(
    repo: &Repo,
    paths: &[PathBuf],
    staged: bool,
) -> Result<Vec<(String, Source)>, SurveyError> {
    let scopes = named_scopes(repo, paths)?;
    let mut out: Vec<(String, Source)> = Vec::new();
    if staged {
        let names = git(
            &repo.root,
            &[
                "diff",
                "--cached",
                "--name-only",
                "--relative",
                "--diff-filter=ACMRT",
                "-z",
            ],
            false,
        )?
        .unwrap_or_default();
        for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let rel = String::from_utf8_lossy(name).into_owned();
            if in_scope(&rel, &scopes) {
                out.push((rel, Source::Index));
            }
        }
    } else {
        let tracked = tracked_files(&repo.root)?;
        let walked = walk(&repo.root, Skip::GitIgnored, &tracked).map_err(SurveyError::Walk)?;
        for f in walked {
            if in_scope(&f.rel, &scopes) {
                let source = if f.symlink {
                    Source::Link
                } else {
                    Source::Disk(f.path)
                };
                out.push((f.rel, source));
            }
        }
        // A file named on the command line is checked even when .gitignore
        // leaves it out.
        for (rel, is_file) in scopes {
            if is_file && !out.iter().any(|(r, _)| *r == rel) {
                out.push((rel.clone(), Source::Disk(repo.root.join(&rel))));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn read_source(repo: &Repo, rel: &str, source: &Source) -> Result<Option<Vec<u8>>, SurveyError> {
    match source {
        Source::Disk(path) => {
            let covered = matches!(repo.policy.environment_for(rel), Ok(Some(_)));
            let len = fs::metadata(path)
                .map_err(|e| SurveyError::Read(findings::shown(rel), e))?
                .len();
            if !covered && len > MAX_UNCOVERED_BYTES {
                return Ok(None);
            }
            fs::read(path)
                .map(Some)
                .map_err(|e| SurveyError::Read(findings::shown(rel), e))
        }
        Source::Index => Ok(git(&repo.root, &["show", &format!(":./{rel}")], false)?),
        Source::Link => Ok(None),
    }
}

/// Surveys the files (in parallel), opening in memory the values `keys` can
/// open; `None` for those that are not surveyed.
pub fn survey_files(
    repo: &Repo,
    files: &[(String, Source)],
    keys: &Identities,
) -> Result<Vec<FileSurvey>, SurveyError> {
    let results: Vec<Result<Option<FileSurvey>, SurveyError>> = files
        .par_iter()
        .map(|(rel, source)| {
            if matches!(source, Source::Link) {
                return Ok(survey_link(rel, &repo.policy));
            }
            let Some(bytes) = read_source(repo, rel, source)? else {
                return Ok(None);
            };
            let Some(mut survey) = survey_file(rel, &bytes, &repo.policy) else {
                return Ok(None);
            };
            if let (Some(format), Ok(text), Ok(_)) =
                (survey.format, std::str::from_utf8(&bytes), &survey.values)
            {
                // A strict JSON file's attestation is its sidecar, read as the
                // file was (from the index for --staged).
                let sidecar = match format {
                    Format::Json => {
                        let name = format!("{rel}{}", attestation::SIDECAR_SUFFIX);
                        let at = match source {
                            Source::Disk(path) => Source::Disk(attestation::sidecar_path(path)),
                            other => other.clone(),
                        };
                        read_source(repo, &name, &at)
                            .ok()
                            .flatten()
                            .and_then(|b| String::from_utf8(b).ok())
                    }
                    _ => None,
                };
                let attest_key = survey
                    .environment
                    .as_deref()
                    .and_then(|e| repo.policy.environment(e).ok())
                    .and_then(|e| e.attest_key.as_ref());
                survey.attestation = Some(attestation_state(
                    (format, rel),
                    text,
                    sidecar.as_deref(),
                    attest_key,
                ));
                // Every value a key given opens is opened, in memory, while the
                // text is at hand; one sealed to a key not given is not tried.
                if !keys.is_empty() && survey.holds_tokens() {
                    survey.unopenable = match crate::document::open_document(format, text, keys) {
                        Err(crate::document::Error::Open { path, reason })
                            if !matches!(
                                reason,
                                OpenError::NoIdentity(_)
                                    | OpenError::Conflict
                                    | OpenError::Malformed(_)
                            ) =>
                        {
                            Some((path, reason))
                        }
                        _ => None,
                    };
                }
            }
            Ok(Some(survey))
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Surveys every file of the tree (for `audit`).
pub fn survey_tree(repo: &Repo) -> Result<Vec<FileSurvey>, SurveyError> {
    let files = files_to_check(repo, &[], false)?;
    survey_files(repo, &files, &Identities::new())
}

/// The files renamed or copied since `base` (staged or in the working tree):
/// each new path, relative to `root`, with the path it had at `base`.
fn base_names(
    root: &Path,
    base: &str,
) -> Result<std::collections::HashMap<String, String>, SurveyError> {
    let mut map = std::collections::HashMap::new();
    // The index first (a `git mv` is a rename there even when the content changed
    // too much for git to pair the working files), then the working tree.
    for cached in [true, false] {
        let mut args = vec!["diff", "--name-status", "-M", "-C", "-z", "--relative"];
        if cached {
            args.push("--cached");
        }
        args.extend([base, "--", "."]);
        let out = git(root, &args, false)?.unwrap_or_default();
        let mut fields = out
            .split(|b| *b == 0)
            .map(|f| String::from_utf8_lossy(f).into_owned());
        while let Some(status) = fields.next() {
            if status.is_empty() {
                break;
            }
            let Some(first) = fields.next() else { break };
            if status.starts_with('R') || status.starts_with('C') {
                let Some(second) = fields.next() else { break };
                map.entry(second).or_insert(first);
            }
        }
    }
    Ok(map)
}

/// The findings of comparing each file's sealed-at times with revision `base`
/// (`spec/audit.md` section 4.3).
pub fn rollbacks(
    repo: &Repo,
    surveys: &[FileSurvey],
    base: &str,
) -> Result<Vec<Finding>, SurveyError> {
    if base.starts_with('-') {
        return Err(SurveyError::NotARevision(base.to_string()));
    }
    let commit = format!("{base}^{{commit}}");
    if git(
        &repo.root,
        &["rev-parse", "--verify", "--quiet", &commit],
        true,
    )?
    .is_none()
    {
        let shallow = git(&repo.root, &["rev-parse", "--is-shallow-repository"], true)?
            .is_some_and(|out| out.starts_with(b"true"));
        return Err(if shallow {
            SurveyError::NotFetched(base.to_string())
        } else {
            SurveyError::NotACommit(base.to_string())
        });
    }
    // A file renamed or copied since the base is compared with its old self, so
    // moving a rolled-back file does not hide it.
    let renamed = base_names(&repo.root, base)?;
    let listed = git(
        &repo.root,
        &["ls-tree", "-r", "-z", "--name-only", base, "--", "."],
        false,
    )?
    .unwrap_or_default();
    let at_base: std::collections::HashSet<&[u8]> = listed
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .collect();
    let attested =
        |s: &FileSurvey| matches!(s.attestation, Some(AttestationState::Attested { .. }));
    let found: Vec<Vec<Finding>> = surveys
        .par_iter()
        .filter(|s| s.holds_tokens() || attested(s))
        .map(|s| {
            let (Ok(now), Some(format)) = (&s.values, s.format) else {
                return Ok(Vec::new());
            };
            let then_rel = renamed.get(&s.rel).unwrap_or(&s.rel);
            // A file new since the base has nothing to compare with; any other
            // failure to read it there is an error, not a pass.
            if !at_base.contains(then_rel.as_bytes()) {
                return Ok(Vec::new());
            }
            let Some(bytes) = git(
                &repo.root,
                &["show", &format!("{base}:./{then_rel}")],
                false,
            )?
            else {
                return Ok(Vec::new());
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Ok(Vec::new());
            };
            let mut found = Vec::new();
            // The attestation at the base: the last line, or the sidecar there.
            let attested_then = match format {
                Format::Json => git(
                    &repo.root,
                    &[
                        "show",
                        &format!("{base}:./{then_rel}{}", attestation::SIDECAR_SUFFIX),
                    ],
                    true,
                )?
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| attestation::parse_sidecar(&t).ok()),
                _ => attestation::split(format, text).parse().ok().flatten(),
            };
            if let Some(then) = attested_then {
                found.extend(findings::attested_earlier(s, &then, base));
            }
            if let Ok(then) = survey_document(format, text, &Selection::Default) {
                found.extend(findings::rollback_findings(&s.rel, now, &then, base));
            }
            Ok(found)
        })
        .collect::<Result<_, SurveyError>>()?;
    Ok(found.into_iter().flatten().collect())
}
