//! `cachet check`: the CI and pre-commit gate. It checks the environments (members,
//! keyrings, pins, key ages) and the configuration files (plain secrets, plaintext
//! credentials, stale or foreign keys, conflicts, malformed tokens, and with
//! `--base` values whose sealed-at time went back), one line per finding on
//! stdout. The findings and exit statuses are specified in `spec/audit.md`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cachet::findings::{self, Finding, Severity};
use cachet::keyring::Keyring;
use cachet::pins::Pin;
use cachet::policy::POLICY_FILE;
use cachet::survey::{self, FileSurvey, KeyIndex};
use cachet::{SealedAt, Selection};
use rayon::prelude::*;

use super::identity;
use super::team::{Repo, differences, read_pins};
use super::{Failure, note};

/// Files no environment covers larger than this are not read (a data file, not
/// configuration); a covered file is always read.
const MAX_UNCOVERED_BYTES: u64 = 16 << 20;

/// The options of `cachet check`.
pub struct CheckArgs<'a> {
    /// Files or directories to check (all of the tree when empty).
    pub paths: &'a [PathBuf],
    /// A git revision to compare sealed-at times with.
    pub base: Option<&'a str>,
    /// Check the git index instead of the working tree.
    pub staged: bool,
    /// Warnings count as problems.
    pub strict: bool,
}

/// What an environment's keyring told.
pub(super) enum Ring {
    /// Opened with the caller's identity.
    Read(Keyring),
    /// Present, not opened: why.
    NotChecked(&'static str),
    /// No keyring file.
    Missing,
    /// It does not open or belongs to another environment: the message.
    Unreadable(String),
}

/// Opens each environment's keyring the caller can open. Identities named with
/// `-i` must load; without `-i`, finding none means a partial check.
pub(super) fn open_keyrings(
    repo: &Repo,
    identities: &[PathBuf],
) -> Result<Vec<(String, Ring)>, Failure> {
    let ids = if identities.is_empty() {
        identity::load(identities).ok()
    } else {
        Some(identity::load(identities)?)
    };
    Ok(repo
        .policy
        .environments
        .iter()
        .map(|env| {
            let name = &env.name;
            let ring = if !repo.keyring_path(name).exists() {
                Ring::Missing
            } else if let Some(ids) = &ids {
                match repo.unlock(name, ids) {
                    Ok(ring) => Ring::Read(ring),
                    Err(f) if f.message.contains("you are not a member") => {
                        Ring::NotChecked("you are not a member")
                    }
                    Err(f) => Ring::Unreadable(f.message),
                }
            } else {
                Ring::NotChecked("no identity")
            };
            (name.clone(), ring)
        })
        .collect())
}

/// The key ids the policy and the opened keyrings know.
pub(super) fn key_index(repo: &Repo, rings: &[(String, Ring)]) -> KeyIndex {
    let mut keys = KeyIndex::new(&repo.policy);
    for (_, ring) in rings {
        if let Ring::Read(r) = ring {
            keys.add_keyring(r);
        }
    }
    keys
}

/// A file to check: its path relative to the root, and where its content is.
enum Source {
    /// In the working tree.
    Disk(PathBuf),
    /// Staged in the git index.
    Index,
    /// A symbolic link in the working tree (never followed).
    Link,
}

/// Runs git in `root` and returns its standard output; a git that cannot run or
/// fails is an error (exit status 2) unless `allow_failure`, which gives `None`.
fn git(root: &Path, args: &[&str], allow_failure: bool) -> Result<Option<Vec<u8>>, Failure> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Failure::usage(format!("cannot run git: {e}")))?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    if allow_failure {
        return Ok(None);
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().next().unwrap_or("failed").trim();
    Err(Failure::usage(format!("git {}: {why}", args.join(" "))))
}

/// The files git tracks under `root`, relative to it; none outside a repository.
pub(super) fn tracked_files(root: &Path) -> Result<Vec<String>, Failure> {
    let Some(out) = git(root, &["ls-files", "-z", "--", "."], true)? else {
        return Ok(Vec::new());
    };
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::str::from_utf8(p).ok().map(str::to_string))
        .collect())
}

/// The paths named on the command line, relative to the root (`""` for the root).
fn named_scopes(repo: &Repo, paths: &[PathBuf]) -> Result<Vec<(String, bool)>, Failure> {
    paths
        .iter()
        .map(|p| {
            let rel = repo.relative(p).ok_or_else(|| {
                if p.exists() {
                    Failure::usage(format!(
                        "{}: outside the directory of {POLICY_FILE}",
                        p.display()
                    ))
                } else {
                    Failure::usage(format!("{}: no such file or directory", p.display()))
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

/// The files to check: the staged ones, or the tree's, within the paths named.
fn files_to_check(repo: &Repo, args: &CheckArgs<'_>) -> Result<Vec<(String, Source)>, Failure> {
    let scopes = named_scopes(repo, args.paths)?;
    let mut out: Vec<(String, Source)> = Vec::new();
    if args.staged {
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
        let walked = survey::walk(&repo.root, survey::Skip::GitIgnored, &tracked)
            .map_err(|e| Failure::usage(e.to_string()))?;
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

fn read_source(repo: &Repo, rel: &str, source: &Source) -> Result<Option<Vec<u8>>, Failure> {
    match source {
        Source::Disk(path) => {
            let covered = matches!(repo.policy.environment_for(rel), Ok(Some(_)));
            let len = fs::metadata(path)
                .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", findings::shown(rel))))?
                .len();
            if !covered && len > MAX_UNCOVERED_BYTES {
                return Ok(None);
            }
            fs::read(path)
                .map(Some)
                .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", findings::shown(rel))))
        }
        Source::Index => git(&repo.root, &["show", &format!(":./{rel}")], false),
        Source::Link => Ok(None),
    }
}

/// Surveys the files (in parallel); `None` for those that are not surveyed.
fn survey_files(repo: &Repo, files: &[(String, Source)]) -> Result<Vec<FileSurvey>, Failure> {
    let results: Vec<Result<Option<FileSurvey>, Failure>> = files
        .par_iter()
        .map(|(rel, source)| {
            if matches!(source, Source::Link) {
                return Ok(survey::survey_link(rel, &repo.policy));
            }
            Ok(read_source(repo, rel, source)?
                .and_then(|bytes| survey::survey_file(rel, &bytes, &repo.policy)))
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Surveys every file of the tree (for `audit`).
pub(super) fn survey_tree(repo: &Repo) -> Result<Vec<FileSurvey>, Failure> {
    let files = files_to_check(
        repo,
        &CheckArgs {
            paths: &[],
            base: None,
            staged: false,
            strict: false,
        },
    )?;
    survey_files(repo, &files)
}

/// The files renamed or copied since `base` (staged or in the working tree):
/// each new path, relative to `root`, with the path it had at `base`.
fn base_names(
    root: &Path,
    base: &str,
) -> Result<std::collections::HashMap<String, String>, Failure> {
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

/// The findings of comparing each file's sealed-at times with revision `base`.
fn rollbacks(repo: &Repo, surveys: &[FileSurvey], base: &str) -> Result<Vec<Finding>, Failure> {
    if base.starts_with('-') {
        return Err(Failure::usage(format!("--base {base}: not a git revision")));
    }
    let commit = format!("{base}^{{commit}}");
    if git(
        &repo.root,
        &["rev-parse", "--verify", "--quiet", &commit],
        true,
    )?
    .is_none()
    {
        return Err(Failure::usage(format!(
            "--base {base}: not a commit of this git repository"
        )));
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
    let found: Vec<Vec<Finding>> = surveys
        .par_iter()
        .filter(|s| s.holds_tokens())
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
            let Ok(then) = survey::survey_document(format, text, &Selection::Default) else {
                return Ok(Vec::new());
            };
            Ok(findings::rollback_findings(&s.rel, now, &then, base))
        })
        .collect::<Result<_, Failure>>()?;
    Ok(found.into_iter().flatten().collect())
}

/// The lines about each environment (the policy, its keyring, its key's age),
/// the orphan keyrings and the pins; and how many problems and warnings they hold.
fn environment_lines(
    repo: &Repo,
    rings: &[(String, Ring)],
    strict: bool,
    now: SealedAt,
) -> (String, usize, usize) {
    let (mut problems, mut warnings) = (0, 0);
    let mut out = String::new();
    for env in &repo.policy.environments {
        let name = &env.name;
        let ring = rings.iter().find(|(n, _)| n == name).map(|(_, r)| r);
        let mut found: Vec<String> = Vec::new();
        if env.members.is_empty() {
            found.push(format!(
                "{name}: problem: no members in {POLICY_FILE}: nobody can open its key"
            ));
        }
        let mut keyring_created = None;
        match ring {
            Some(Ring::Missing) => found.push(format!(
                "{name}: problem: its keyring {} is missing",
                Repo::keyring_name(name)
            )),
            Some(Ring::Read(ring)) => {
                keyring_created = ring
                    .keys
                    .iter()
                    .find(|k| k.secret.public_key() == env.public_key)
                    .map(|k| k.created);
                found.extend(differences(env, ring).into_iter().map(|d| {
                    format!("{name}: problem: {d}; find out why (a hand-added member may be someone granting themselves access), then repair with `cachet members sync {name}` or `--from-keyring`")
                }));
            }
            Some(Ring::Unreadable(message)) => {
                found.push(format!("{name}: problem: {message}"));
            }
            Some(Ring::NotChecked(why)) => {
                out.push_str(&format!("{name}: keyring not checked ({why})\n"));
            }
            None => {}
        }
        let age = findings::key_age(env, keyring_created, now);
        if let Some(f) = findings::rotation_finding(env, &age, strict) {
            found.push(f.to_string());
        }
        if found.is_empty() && matches!(ring, Some(Ring::Read(_))) {
            out.push_str(&format!("{name}: ok\n"));
        }
        for line in found {
            if line.starts_with(&format!("{name}: warning: ")) {
                warnings += 1;
            } else {
                problems += 1;
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Ok(entries) = fs::read_dir(repo.root.join(".cachet").join("keys")) {
        let mut orphans: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| {
                n.strip_suffix(".age")
                    .is_some_and(|env| repo.policy.environment(env).is_err())
            })
            .collect();
        orphans.sort();
        for n in orphans {
            problems += 1;
            out.push_str(&format!(
                ".cachet/keys/{}: problem: a keyring of no environment in {POLICY_FILE} (left by an interrupted `env add`?); remove it if nothing uses it\n",
                findings::shown(&n)
            ));
        }
    }
    let repository = repo.root.to_string_lossy().into_owned();
    if let Ok((_, pins)) = read_pins() {
        for env in &repo.policy.environments {
            if let Pin::Changed(old) = pins.check(&repository, &env.name, &env.public_key.key_id())
            {
                problems += 1;
                out.push_str(&format!(
                    "{}: problem: its public key (key id {}) is not the one this machine pinned (key id {old})\n",
                    env.name,
                    env.public_key.key_id()
                ));
            }
        }
    }
    (out, problems, warnings)
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `cachet check [PATH]… [--base GIT_REF] [--staged] [--strict]`.
pub fn check(args: &CheckArgs<'_>, identities: &[PathBuf]) -> Result<(), Failure> {
    let repo = Repo::current()?;
    let rings = open_keyrings(&repo, identities)?;
    let keys = key_index(&repo, &rings);
    let (mut out, mut problems, mut warnings) =
        environment_lines(&repo, &rings, args.strict, SealedAt::now());

    let files = files_to_check(&repo, args)?;
    let surveys = survey_files(&repo, &files)?;
    let mut found: Vec<Finding> = surveys
        .iter()
        .flat_map(|s| findings::file_findings(s, &keys))
        .collect();
    if let Some(base) = args.base {
        found.extend(rollbacks(&repo, &surveys, base)?);
    }
    // Grouped by file, in document order within a file.
    found.sort_by(|a, b| {
        (&a.subject, &a.value.as_ref().map(|(d, _)| *d))
            .cmp(&(&b.subject, &b.value.as_ref().map(|(d, _)| *d)))
    });
    for f in &found {
        match f.severity {
            Severity::Problem => problems += 1,
            Severity::Warning => warnings += 1,
        }
        out.push_str(&f.to_string());
        out.push('\n');
    }
    super::write_stdout(out.as_bytes())?;
    let summary = match (problems, warnings) {
        (0, 0) => return Ok(()),
        (p, 0) => plural(p, "problem"),
        (0, w) => plural(w, "warning"),
        (p, w) => format!("{} and {}", plural(p, "problem"), plural(w, "warning")),
    };
    if problems > 0 {
        return Err(Failure::refused(format!("check found {summary}")));
    }
    note(&format!("check found {summary}"));
    Ok(())
}
