//! `cachet check`: the CI and pre-commit gate. It checks the environments (members,
//! keyrings, pins, key ages) and the configuration files (plain secrets, plaintext
//! credentials, stale or foreign keys, conflicts, malformed tokens, and with
//! `--base` values whose sealed-at time went back), one line per finding on
//! stdout. The findings and exit statuses are specified in `spec/audit.md`.

use std::path::PathBuf;

use cachet::SealedAt;
use cachet::survey::checkout::{files_to_check, rollbacks, survey_files};
use cachet::survey::environments::{RingState, environment_lines, key_index};
use cachet::survey::findings::{self, Finding, Severity};
use cachet::team::Repo;

use super::identity;
use super::team::{current, pin_store};
use super::{Failure, note, plural};

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
    /// Write a SARIF log instead of lines.
    pub sarif: bool,
}

/// Opens each environment's keyring the caller can open. Identities named with
/// `-i` must load; without `-i`, finding none means a partial check.
pub(super) fn open_keyrings(
    repo: &Repo,
    identities: &[PathBuf],
) -> Result<Vec<(String, RingState)>, Failure> {
    let ids = if identities.is_empty() {
        identity::load(identities).ok()
    } else {
        Some(identity::load(identities)?)
    };
    Ok(cachet::survey::environments::open_keyrings(
        repo,
        ids.as_ref(),
    ))
}

/// `cachet check [PATH]… [--base GIT_REF] [--staged] [--strict]`.
pub fn check(args: &CheckArgs<'_>, identities: &[PathBuf]) -> Result<(), Failure> {
    let repo = current()?;
    let rings = open_keyrings(&repo, identities)?;
    let keys = key_index(&repo, &rings);
    let pins = pin_store().read().ok();
    let (mut problems, mut warnings) = (0, 0);
    let mut out = String::new();
    let env_lines = environment_lines(&repo, &rings, pins.as_ref(), args.strict, SealedAt::now());
    for line in &env_lines {
        match line.severity {
            Some(Severity::Problem) => problems += 1,
            Some(Severity::Warning) => warnings += 1,
            None => {}
        }
        out.push_str(&line.text);
        out.push('\n');
    }

    // A member's check opens every value it holds the key for, in memory: a
    // token changed by hand fails here rather than at the deploy.
    let mut ring_keys = cachet::Identities::new();
    for (_, ring) in &rings {
        if let cachet::survey::environments::RingState::Read(ring) = ring {
            ring_keys.extend(ring.identities().iter().cloned());
        }
    }
    let files = files_to_check(&repo, args.paths, args.staged)?;
    let surveys = survey_files(&repo, &files, &ring_keys)?;
    let mut found: Vec<Finding> = surveys
        .iter()
        .flat_map(|s| findings::file_findings(s, &keys))
        .collect();
    for s in &surveys {
        let env = s
            .environment
            .as_deref()
            .and_then(|e| repo.policy.environment(e).ok());
        found.extend(findings::attestation_findings(s, env, args.strict));
        found.extend(findings::known_to_removed(s, env, args.strict));
    }
    // Only the whole tree tells a glob that matches nothing from one whose
    // files are elsewhere.
    if args.paths.is_empty() && !args.staged {
        let rels: Vec<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
        found.extend(findings::unmatched_globs(
            &repo.policy.environments,
            &rels,
            args.strict,
        ));
    }
    if let Some(base) = args.base {
        found.extend(rollbacks(&repo, &surveys, base)?);
    }
    // One line per value: a value already reported (a token moved in from
    // another environment, say) is not reported again for not opening.
    let already = |f: &Finding| {
        found.iter().any(|g| {
            g.subject == f.subject
                && g.value.as_ref().map(|v| &v.1) == f.value.as_ref().map(|v| &v.1)
        })
    };
    let unopenable: Vec<Finding> = surveys
        .iter()
        .filter_map(findings::unopenable)
        .filter(|f| !already(f))
        .collect();
    found.extend(unopenable);
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
    if args.sarif {
        out = cachet::survey::sarif::log(&env_lines, &found, env!("CARGO_PKG_VERSION")).to_string();
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
