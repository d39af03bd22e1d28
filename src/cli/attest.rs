//! `cachet attest` and the attestation that writes of a member add
//! (`spec/attest.md` sections 6 and 7.2): the rules are the library's; this
//! module finds the identities, shows what changed, asks, and writes.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use cachet::document::attestation::{self, Attestation};
use cachet::team::attester::{Attester, attester_for};
use cachet::team::identity_file::IdentitySet;
use cachet::worktree::atomic::Mode;
use cachet::worktree::git;
use cachet::{Format, SealedAt};
use zeroize::Zeroizing;

use super::args::AttestArgs;
use super::team::{Notes, safe_directories};
use super::{Failure, Input, identity, is_stdin, lock_in_place, note, read_input, write_file};

/// `cachet attest FILE…`: lists what changed in each file since its last
/// attested version, asks (unless `--yes`), and attests it with its
/// environment's key. Every file is locked, read and approved before any is
/// written: one that cannot be attested leaves all of them as they were.
pub fn attest(args: &AttestArgs) -> Result<(), Failure> {
    if args.files.iter().any(|f| is_stdin(f)) {
        return Err(Failure::usage(
            "attest changes files in place; name the files (not `-`)",
        ));
    }
    let mut ids = identity::load(&args.identity.identities)?;
    let files = super::distinct_sorted(&args.files);
    let _locks = files
        .iter()
        .map(|f| lock_in_place(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut approved = Vec::new();
    for file in files {
        let input = read_input(file, args.input.input_type)?;
        let attester = attester_for(
            file,
            (input.format, &input.text),
            &mut ids,
            (&safe_directories(), &Notes),
        )?;
        let terminal = io::stderr().is_terminal();
        for line in changes(
            file,
            &input,
            (&attester, ids.keys()),
            terminal.then(|| ids.keys()),
        ) {
            let _ = writeln!(io::stderr(), "{line}");
        }
        if !args.yes && !confirm(&input.name)? {
            note(&format!("{}: not attested", input.name));
            continue;
        }
        let (out, made) = attested(input.format, &input.text, &attester)
            .map_err(|e| Failure::about(&input.name, &e))?;
        approved.push((file, input, attester, out, made));
    }
    for (file, input, attester, out, made) in approved {
        write_made(file, input.format, (&out, Some(&input.text)), &made)?;
        let _ = writeln!(
            io::stderr(),
            "{}: {}",
            input.name,
            attested_as(&attester, &made)
        );
    }
    Ok(())
}

/// Asks whether to attest `name`; refuses without a terminal to ask on.
fn confirm(name: &str) -> Result<bool, Failure> {
    if !io::stdin().is_terminal() || !io::stderr().is_terminal() {
        return Err(Failure::usage(format!(
            "{name}: attest asks before approving a file; pass --yes to approve without asking (no terminal here)"
        )));
    }
    let _ = write!(io::stderr(), "attest {name}? [y/N] ");
    let mut answer = String::new();
    io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// How a write names an attestation it made.
fn attested_as(attester: &Attester, made: &Attestation) -> String {
    let env = attester
        .environment
        .as_ref()
        .map_or(String::new(), |e| format!(" for environment {e}"));
    format!(
        "attested as {}{env} (key id {}) at {}",
        made.file,
        made.key_id,
        made.attested_at.rfc3339()
    )
}

/// `text` attested by `attester` now.
fn attested(
    format: Format,
    text: &str,
    attester: &Attester,
) -> Result<(Zeroizing<String>, Attestation), cachet::Error> {
    attestation::attest(
        format,
        text,
        (&attester.file, &attester.approver),
        &attester.key,
        SealedAt::now(),
    )
}

/// Writes an attested text `out` (unless it is what the file holds already,
/// `unchanged`), and for strict JSON the sidecar with `made`.
fn write_made(
    file: &Path,
    format: Format,
    (out, unchanged): (&str, Option<&str>),
    made: &Attestation,
) -> Result<(), Failure> {
    // The sidecar first, as `rotate` does; its writes are guarded by the file's
    // lock, which every caller holds.
    if format == Format::Json {
        let sidecar = attestation::sidecar_path(file);
        cachet::worktree::atomic::remove_stale_temps(&sidecar);
        write_file(
            &sidecar,
            attestation::sidecar_text(made).as_bytes(),
            Mode::Keep,
        )?;
    }
    if unchanged != Some(out) {
        write_file(file, out.as_bytes(), Mode::Keep)?;
    }
    Ok(())
}

/// What a write of a file is on top of, for whether it may attest the result:
/// a member's write extends an approval, it never grants one. Only a file whose
/// content before the write was attested by its environment's key, or one that
/// is new (not in git's `HEAD`, or outside git), is attested after it; anything
/// else may hold changes nobody reviewed, and is left proposed for `cachet
/// attest`, which shows them (`spec/attest.md` 6).
pub enum Prior<'a> {
    /// The file's content before the write (empty for a new file).
    Text(&'a str),
    /// Decided by the caller (the merge driver: every side attested).
    Approved(bool),
}

/// A write of `file` by a command that changes it (`seal`, `set`, `edit`,
/// `reseal`): the new `text` is attested when `attest` is asked, an identity at
/// hand holds the key of the file's environment (or opens its keyring), and the
/// write extends an approval (`prior`); else the file is left proposed,
/// without the attestation it had. Gives what to tell the caller about it: the
/// attestation made, or that the file is proposed when it had an attestation or
/// an environment covers it (`covered`).
pub fn write_changed(
    file: &Path,
    (name, format, old): (&str, Format, &str),
    text: &str,
    (attest, covered): (bool, bool),
) -> Result<Option<String>, Failure> {
    write_changed_as(
        file,
        file,
        (name, format, Prior::Text(old)),
        text,
        (attest, covered),
    )
}

/// [`write_changed`] of a file a command re-sealed for `target`, as `policy`
/// (`--no-attest`) asks.
pub(super) fn write_resealed(
    file: &Path,
    input: &Input,
    out: &str,
    (target, policy): (&super::Target, &super::args::PolicyArgs),
) -> Result<Option<String>, Failure> {
    write_changed(
        file,
        (&input.name, input.format, &input.text),
        out,
        (!policy.no_attest, target.policy.is_some()),
    )
}

/// [`write_changed`] of the file at `at` in the repository, written to `file`
/// (the merge driver writes git's temporary copy).
pub fn write_changed_as(
    at: &Path,
    file: &Path,
    (name, format, prior): (&str, Format, Prior<'_>),
    text: &str,
    (attest, covered): (bool, bool),
) -> Result<Option<String>, Failure> {
    let body = attestation::split(format, text).body;
    let mut why_not = match attest {
        true => ": no identity here holds its key".to_string(),
        false => String::new(),
    };
    if attest && let Some(attester) = quiet_attester(at, format, body) {
        let approved = match prior {
            Prior::Approved(yes) => yes,
            Prior::Text(old) => {
                old.is_empty() || approved(at, format, old, &attester) || new_to_git(at)
            }
        };
        if !approved {
            why_not = ": it was not attested before this write, which does not approve what others changed; review it".to_string();
        } else {
            match attested(format, body, &attester) {
                Ok((out, made)) => {
                    write_made(file, format, (&out, None), &made)?;
                    return Ok(Some(format!("{name}: {}", attested_as(&attester, &made))));
                }
                // Written all the same, proposed, saying why.
                Err(e) => why_not = format!(": {e}"),
            }
        }
    }
    let had = match prior {
        Prior::Text(old) => attestation::split(format, old).attestation.is_some(),
        Prior::Approved(_) => false,
    } || (format == Format::Json && attestation::sidecar_path(file).exists());
    write_file(file, body.as_bytes(), Mode::Keep)?;
    if format == Format::Json {
        remove_sidecar(file)?;
    }
    Ok((had || covered).then(|| {
        format!(
            "{name}: proposed (not attested){why_not}: a member of its environment approves it with `cachet attest {name}`"
        )
    }))
}

/// Whether `text`, the content of the file at `at`, carries an attestation that
/// `attester`'s key made for this file and that holds (for strict JSON, its
/// sidecar's), and that is no older than any attestation of the file in git: an
/// older approved version put back (a replay) is no approval to build on.
pub fn approved(at: &Path, format: Format, text: &str, attester: &Attester) -> bool {
    attested_at(at, format, text, attester)
        .is_some_and(|when| newest_in_git(at, format, attester).is_none_or(|newest| when >= newest))
}

/// When `text`, the content of the file at `at`, was attested for this file by
/// `attester`'s key, if it carries such an attestation and it holds (for strict
/// JSON, its sidecar's).
pub fn attested_at(at: &Path, format: Format, text: &str, attester: &Attester) -> Option<SealedAt> {
    let sidecar = attestation::read_sidecar(format, at);
    let (body, found) = attestation::find(format, text, sidecar.as_deref());
    found
        .ok()
        .flatten()
        .filter(|a| a.file == attester.file && a.verify(body, &attester.key.public()).is_ok())
        .map(|a| a.attested_at)
}

/// The newest time of an attestation for this file and key in the file's git
/// history (its last lines, or its sidecar's, for strict JSON), looking back
/// 100 commits. The lines are read, not verified: a forged line can only make
/// writes leave the file proposed.
fn newest_in_git(at: &Path, format: Format, attester: &Attester) -> Option<SealedAt> {
    let dir = cachet::worktree::atomic::parent_dir(at);
    let mut name = at.file_name()?.to_str()?.to_string();
    if format == Format::Json {
        name.push_str(attestation::SIDECAR_SUFFIX);
    }
    let log = git::git(
        dir,
        &[
            "log",
            "-n",
            HISTORY_DEPTH,
            "-p",
            "--no-textconv",
            "--format=",
            "--",
            &name,
        ],
        true,
    )
    .ok()
    .flatten()?;
    let mark = attestation::comment_mark(format);
    String::from_utf8_lossy(&log)
        .lines()
        .filter_map(|l| l.strip_prefix('+').or_else(|| l.strip_prefix('-')))
        .filter_map(|l| match mark {
            Some(mark) => l.strip_prefix(mark)?.strip_prefix(' '),
            None => Some(l),
        })
        .filter_map(|t| t.trim_end().parse::<Attestation>().ok())
        .filter(|a| a.file == attester.file && a.key_id == attester.key_id)
        .map(|a| a.attested_at)
        .max()
}

/// Whether the file at `at` is new, so whoever writes it first is its author:
/// outside any git work tree, or in one with no merge, rebase, cherry-pick,
/// revert or patch under way (which bring in others' files) and neither in
/// `HEAD` nor staged. Any failure of git counts as not new.
fn new_to_git(at: &Path) -> bool {
    let dir = cachet::worktree::atomic::parent_dir(at);
    let Some(name) = at.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Ok(real) = std::fs::canonicalize(dir) else {
        return false;
    };
    if !real.ancestors().any(|d| d.join(".git").exists()) {
        return true;
    }
    let ask = |args: &[&str]| git::git(dir, args, true);
    // One question for both: inside a work tree, and where its git directory is.
    let Ok(Some(out)) = ask(&["rev-parse", "--is-inside-work-tree", "--git-dir"]) else {
        return false;
    };
    let out = String::from_utf8_lossy(&out);
    let mut lines = out.lines();
    if lines.next() != Some("true") {
        return false;
    }
    let Some(git_dir) = lines.next().map(|d| dir.join(d)) else {
        return false;
    };
    // These live in the work tree's own git directory.
    if [
        "MERGE_HEAD",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
        "REBASE_HEAD",
        "rebase-merge",
        "rebase-apply",
    ]
    .iter()
    .any(|under_way| git_dir.join(under_way).exists())
    {
        return false;
    }
    matches!(
        ask(&["cat-file", "-e", &format!("HEAD:./{name}")]),
        Ok(None)
    ) && matches!(ask(&["ls-files", "--error-unmatch", "--", name]), Ok(None))
}

/// The attester of a file when the identities this user has at hand (without
/// `-i`) give one; `None` when none does, as for a sealer with the public key
/// only.
pub(super) fn quiet_attester(file: &Path, format: Format, text: &str) -> Option<Attester> {
    // Loaded once per run: a command that writes several files asks for a
    // passphrase (or runs CACHET_IDENTITY_COMMAND) once, and keeps the keys a
    // keyring gave for the next file.
    thread_local! {
        static IDS: std::cell::RefCell<Option<Option<IdentitySet>>> =
            const { std::cell::RefCell::new(None) };
    }
    IDS.with_borrow_mut(|cached| {
        let ids = cached
            .get_or_insert_with(|| identity::load(&[]).ok())
            .as_mut()?;
        attester_for(file, (format, text), ids, (&safe_directories(), &Notes)).ok()
    })
}

/// Removes the sidecar of a strict JSON file written without attestation.
fn remove_sidecar(file: &Path) -> Result<(), Failure> {
    match std::fs::remove_file(attestation::sidecar_path(file)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Failure::usage(format!(
            "{}: cannot remove its old attestation: {e}",
            attestation::sidecar_path(file).display()
        ))),
        _ => Ok(()),
    }
}

/// The most lines of a file whose added and removed lines `attest` lists.
const MAX_LISTED_LINES: usize = 5_000;

/// How far back `attest` looks in git for the last attested version of a file.
const HISTORY_DEPTH: &str = "100";

/// What changed in `input` since the last version of `file` in git that
/// `attester`'s key attested (else since `HEAD`), one line per value (plain
/// values shown, sealed ones named only), after a line naming that version.
fn changes(
    file: &Path,
    input: &Input,
    (attester, keys): (&Attester, &cachet::Identities),
    opened_with: Option<&cachet::Identities>,
) -> Vec<String> {
    let whole = || {
        vec![format!(
            "{}: no attested version of it in git to compare with; review the whole file",
            input.name
        )]
    };
    let dir = cachet::worktree::atomic::parent_dir(file);
    let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
        return whole();
    };
    let at = |rev: &str| {
        git::git(dir, &["show", &format!("{rev}:./{name}")], true)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Zeroizing::new)
    };
    // Attested for this name by any key at hand: the environment's current key
    // or one a rotation retired (a version attested before it).
    let attested = |text: &str| {
        let s = attestation::split(input.format, text);
        match s.parse() {
            Ok(Some(a)) if a.file == attester.file && a.verify_with(s.body, keys).is_ok() => {
                Some(a.attested_at)
            }
            _ => None,
        }
    };
    let revisions = git::git(
        dir,
        &["log", "--format=%H", "-n", HISTORY_DEPTH, "--", name],
        true,
    )
    .ok()
    .flatten()
    .map(|b| String::from_utf8_lossy(&b).into_owned())
    .unwrap_or_default();
    // The version approved last (the newest attestation, not the newest commit:
    // an older approved version put back must be compared with what it undoes).
    let last_attested = revisions
        .lines()
        .filter_map(|rev| {
            let text = at(rev)?;
            let when = attested(&text)?;
            Some((when, rev[..rev.len().min(12)].to_string(), text))
        })
        .max_by_key(|(when, _, _)| *when)
        .map(|(_, rev, text)| (rev, text));
    // No attested version to compare with: nothing short of the whole file is
    // a review of it.
    let Some((rev, before)) = last_attested else {
        return whole();
    };
    let since = format!("the last attested version ({rev})");
    let body = |t: &str| attestation::split(input.format, t).body.to_string();
    let (old, new) = (body(&before), body(&input.text));
    let values = |t: &str| cachet::list_values(input.format, t).unwrap_or_default();
    let (old_values, new_values) = (values(&old), values(&new));
    // A sealed value is shown opened only to a member at a terminal, as `open`
    // would show it; anywhere else (a log) it stays "(sealed)". Control
    // characters are escaped: a value must not redraw the reviewer's screen.
    let show = |t: &str, v: &cachet::ValueInfo| match (v.sealed, opened_with) {
        (Some(_), Some(keys)) => {
            match cachet::get_value_in(input.format, t, v.document, &v.path, keys) {
                Ok(value) => format!("{:?} (sealed)", value.as_str()),
                Err(_) => "(sealed, does not open)".to_string(),
            }
        }
        (Some(_), None) => "(sealed)".to_string(),
        (None, _) => shown(&t[v.span.clone()]),
    };
    let mut out = Vec::new();
    for v in &new_values {
        let was = old_values
            .iter()
            .find(|o| o.document == v.document && o.path == v.path);
        match was {
            None => out.push(format!("  + {} = {}", v.path, show(&new, v))),
            Some(o) if old[o.span.clone()] != new[v.span.clone()] => out.push(format!(
                "  ~ {}: {} -> {}",
                v.path,
                show(&old, o),
                show(&new, v)
            )),
            Some(_) => {}
        }
    }
    for o in &old_values {
        if !new_values
            .iter()
            .any(|v| v.document == o.document && v.path == o.path)
        {
            out.push(format!("  - {}", o.path));
        }
    }
    // Every line added or removed, values or not: a YAML tag, a merge key or
    // an anchor changes what the application reads without changing a value's
    // text.
    let lines = |a: &str, b: &str| -> Vec<String> {
        let mut rest: Vec<&str> = b.lines().collect();
        a.lines()
            .filter(|l| match rest.iter().position(|r| r == l) {
                Some(i) => {
                    rest.remove(i);
                    false
                }
                None => true,
            })
            .map(shown)
            .collect()
    };
    // (Compared line by line; a file of many lines is left to `git diff`.)
    if old.lines().count().max(new.lines().count()) > MAX_LISTED_LINES {
        out.push("  lines: too many to compare here; review them with `git diff`".to_string());
        out.insert(0, format!("{}: changed since {since}:", input.name));
        return out;
    }
    let added = lines(&new, &old);
    let removed = lines(&old, &new);
    if !added.is_empty() || !removed.is_empty() {
        out.push("  lines:".to_string());
        out.extend(removed.iter().map(|l| format!("    - {l}")));
        out.extend(added.iter().map(|l| format!("    + {l}")));
    }
    let header = if out.is_empty() {
        format!("{}: unchanged since {since}", input.name)
    } else {
        format!("{}: changed since {since}:", input.name)
    };
    out.insert(0, header);
    out
}

/// A text as a review shows it: control characters escaped.
fn shown(text: &str) -> String {
    cachet::survey::findings::shown(text)
}
