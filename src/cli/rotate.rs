//! `cachet rotate ENV` and `cachet prune ENV`: a new environment key, every value
//! of the environment re-sealed to it, and retired keys dropped once nothing uses
//! them. The order of the writes, and how an interrupted rotation is recognised and
//! finished, are normative in `spec/policy.md`, "Rotation".

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cachet::atomic::{self, Mode};
use cachet::keyring::{Keyring, KeyringKey};
use cachet::policy::{Environment, POLICY_FILE};
use cachet::survey::{self, Skip};
use cachet::{Format, Identities, KeyId, PublicKey, SealedAt, SecretKey};
use rayon::prelude::*;

use super::team::{Repo, Unlocked, pin_key, require_agreement};
use super::{Failure, lock, note};

/// Test-only: the number of files after which `rotate` stops re-sealing and sleeps,
/// so a test can kill it at a known point. Read by debug builds only: a release
/// binary never sleeps holding the policy's lock.
#[cfg(debug_assertions)]
const PAUSE_VAR: &str = "CACHET_TEST_PAUSE_AFTER_FILES";

fn pause_after() -> Option<usize> {
    #[cfg(debug_assertions)]
    {
        std::env::var(PAUSE_VAR).ok().and_then(|v| v.parse().ok())
    }
    #[cfg(not(debug_assertions))]
    {
        None
    }
}

/// A file to look at, how it is named in messages, and its sealed values per key.
struct Scanned {
    path: PathBuf,
    name: String,
    per_key: BTreeMap<KeyId, usize>,
}

impl Scanned {
    fn count(&self, keys: &[KeyId]) -> usize {
        keys.iter().filter_map(|k| self.per_key.get(k)).sum()
    }
}

/// The files of `env` under the policy's root (tracked or not; [`survey::walk`]
/// with `skip`), then the files named on the command line, each once.
fn files_of(
    repo: &Repo,
    env: &str,
    named: &[PathBuf],
    skip: Skip,
) -> Result<Vec<(PathBuf, String)>, Failure> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    let tracked = match skip {
        Skip::GitIgnored => super::check::tracked_files(&repo.root)?,
        Skip::Nothing => Vec::new(),
    };
    let walked =
        survey::walk(&repo.root, skip, &tracked).map_err(|e| Failure::usage(e.to_string()))?;
    // A symlink is not followed: the file it points to is handled, if at all,
    // under its own path (`check` reports a covered link).
    for file in walked.into_iter().filter(|f| !f.symlink) {
        match repo.policy.environment_for(&file.rel) {
            Ok(Some(e)) if e.name == env => out.push((file.path, file.rel)),
            Ok(_) => {}
            Err(e) => return Err(Failure::usage(format!("{POLICY_FILE}: {e}"))),
        }
    }
    out.sort();
    for f in named {
        let canonical =
            fs::canonicalize(f).map_err(|e| Failure::usage(format!("{}: {e}", f.display())))?;
        if !out.iter().any(|(p, _)| *p == canonical) {
            out.push((canonical, f.display().to_string()));
        }
    }
    Ok(out)
}

/// Reads a file's sealed values per key id; `None` for a file without any token
/// (a covered file that is not a configuration file is no error).
fn scan(path: &Path, name: &str) -> Result<Option<Scanned>, Failure> {
    let bytes = fs::read(path).map_err(|e| Failure::usage(format!("{name}: cannot read: {e}")))?;
    // A file of a known format is always parsed: a token can hide behind an escape
    // (`\u0063achet:` in JSON), which a byte search would miss, and a retired key
    // must not be pruned while such a value still needs it.
    let Some(format) = Format::from_path(path) else {
        if bytes.windows(7).any(|w| w == b"cachet:") {
            return Err(Failure::usage(format!(
                "{name}: holds a token but its format is not known from its name; rename it, or take it out of the environment's files"
            )));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format!("{name}: is not UTF-8 text")))?;
    let values = cachet::list_values(format, text).map_err(|e| Failure::doc(name, e))?;
    let mut per_key = BTreeMap::new();
    // Both sides of a merge conflict count: each is a value someone may still pick.
    for v in values {
        for (id, _) in v.sealed.into_iter().chain(v.theirs) {
            *per_key.entry(id).or_insert(0) += 1;
        }
    }
    if per_key.is_empty() {
        return Ok(None);
    }
    Ok(Some(Scanned {
        path: path.to_path_buf(),
        name: name.to_string(),
        per_key,
    }))
}

fn scan_all(files: &[(PathBuf, String)]) -> Result<Vec<Scanned>, Failure> {
    let scanned: Vec<Result<Option<Scanned>, Failure>> =
        files.par_iter().map(|(p, n)| scan(p, n)).collect();
    let mut out = Vec::new();
    for s in scanned {
        out.extend(s?);
    }
    Ok(out)
}

/// Re-seals one file under its lock, re-read once the lock is held; returns how
/// many values changed.
fn rekey_file(file: &Scanned, from: &Identities, to: &PublicKey) -> Result<usize, Failure> {
    let name = &file.name;
    let _lock = lock(&file.path)?;
    let text = fs::read_to_string(&file.path)
        .map_err(|e| Failure::usage(format!("{name}: cannot read: {e}")))?;
    let format = Format::from_path(&file.path)
        .ok_or_else(|| Failure::usage(format!("{name}: format not known from its name")))?;
    let (out, report) = cachet::rotate::rekey_document(format, &text, from, to)
        .map_err(|e| Failure::doc(name, e))?;
    if !report.resealed.is_empty() {
        atomic::write_atomic(&file.path, out.as_bytes(), Mode::Keep, false)
            .map_err(|e| Failure::usage(format!("{name}: cannot write: {e}")))?;
    }
    Ok(report.resealed.len())
}

/// The key ids of the keyring's retired keys.
fn retired_ids(ring: &Keyring) -> Vec<KeyId> {
    key_ids(
        &ring
            .keys
            .iter()
            .filter(|k| k.retired.is_some())
            .collect::<Vec<_>>(),
    )
}

fn key_ids(keys: &[&KeyringKey]) -> Vec<KeyId> {
    keys.iter()
        .map(|k| k.secret.public_key().key_id())
        .collect()
}

/// Checks the keyring against the policy, allowing the one difference an
/// interrupted rotation leaves (the policy still naming the key just retired).
/// Returns whether the policy is in that state.
fn check_agreement(env: &Environment, ring: &Keyring) -> Result<bool, Failure> {
    let policy_names_retired = ring
        .keys
        .iter()
        .any(|k| k.retired.is_some() && k.secret.public_key() == env.public_key);
    if !policy_names_retired {
        require_agreement(env, ring)?;
        return Ok(false);
    }
    let mut as_if = env.clone();
    as_if.public_key = ring.current().secret.public_key();
    require_agreement(&as_if, ring)?;
    Ok(true)
}

/// How `rotate` was asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct RotateMode {
    /// List what would change; write nothing.
    pub dry_run: bool,
    /// Always make a new key, even when a rotation is in progress (after a member
    /// was removed, the keyring's current key is one they knew).
    pub new_key: bool,
    /// Finish with a current key that differs from the one pinned on this machine.
    pub accept_new_key: bool,
}

/// `cachet rotate ENV [--dry-run] [FILE…]`.
pub fn rotate(
    env_name: &str,
    named: &[PathBuf],
    mode: RotateMode,
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let dry_run = mode.dry_run;
    let Unlocked {
        mut repo,
        env,
        mut ring,
        _lock,
    } = Unlocked::open(env_name, identities)?;
    let policy_behind = check_agreement(&env, &ring)?;
    let files = scan_all(&files_of(&repo, env_name, named, Skip::GitIgnored)?)?;
    let all_keys = key_ids(&ring.keys.iter().collect::<Vec<_>>());
    // A value sealed to a key the keyring does not hold can be neither re-sealed
    // nor kept openable: say so before anything is written.
    if let Some((f, id)) = files.iter().find_map(|f| {
        f.per_key
            .keys()
            .find(|id| !all_keys.contains(id))
            .map(|id| (f, id))
    }) {
        return Err(Failure::refused(format!(
            "{}: holds values sealed to key id {id}, which is not a key of environment {env_name}'s keyring; re-seal them (`cachet set`, or `cachet seal` after `cachet open` with that key), then rotate",
            f.name
        )));
    }
    let retired = retired_ids(&ring);
    // A rotation in progress: the policy still names a retired key, or a value is
    // still sealed to one. It is finished with the keyring's current key, unless a
    // new key is asked for.
    let in_progress =
        !mode.new_key && (policy_behind || files.iter().any(|f| f.count(&retired) > 0));
    let from: Vec<KeyId> = if in_progress {
        retired.clone()
    } else {
        all_keys.clone()
    };
    let todo: Vec<&Scanned> = files.iter().filter(|f| f.count(&from) > 0).collect();
    let values: usize = todo.iter().map(|f| f.count(&from)).sum();

    if dry_run {
        let current = ring.current().secret.public_key().key_id();
        let mut out = if in_progress {
            format!(
                "environment {env_name}: a rotation is in progress; it would be finished with the current key (key id {current}), no new key (--new-key makes one)\n"
            )
        } else {
            format!(
                "environment {env_name}: a new key would replace key id {current}, which would be kept as retired\n"
            )
        };
        if policy_behind {
            out.push_str(&format!(
                "{POLICY_FILE}: its public key would be set to key id {current}\n"
            ));
        }
        for f in &todo {
            out.push_str(&format!(
                "{}\t{} values to re-seal\n",
                f.name,
                f.count(&from)
            ));
        }
        out.push_str(&format!(
            "{} files, {values} values would be re-sealed; nothing was written\n",
            todo.len()
        ));
        return super::write_stdout(out.as_bytes());
    }

    if in_progress {
        // The keyring's current key is the target. The keyring is not signed: a
        // repository writer who knew the old key could have planted one whose
        // current key is their own. The key pinned on this machine decides; a
        // rotation started here pinned its new key before writing the keyring.
        pin_key(
            &repo,
            env_name,
            &ring.current().secret.public_key().key_id(),
            mode.accept_new_key,
        )
        .map_err(|f| {
            Failure::refused(format!(
                "{} (finishing a rotation with the keyring's current key)",
                f.message
            ))
        })?;
    } else {
        let now = SealedAt::now();
        let secret = SecretKey::generate();
        // Pinned first: if the process dies before the keyring is written, the next
        // run makes another key; if after, it finishes with this one.
        pin_key(&repo, env_name, &secret.public_key().key_id(), true)?;
        // Then the keyring, holding every key: whatever happens next, every value
        // (old or re-sealed) opens through it.
        for k in ring.keys.iter_mut().filter(|k| k.retired.is_none()) {
            k.retired = Some(now);
        }
        ring.keys.push(KeyringKey {
            secret,
            created: now,
            retired: None,
        });
        if let Err(e) = repo.write_keyring(&ring) {
            // Nothing changed but the pin: put the previous key back in it.
            let _ = pin_key(&repo, env_name, &env.public_key.key_id(), true);
            return Err(e);
        }
    }
    let current = ring.current().clone();
    let to = current.secret.public_key();
    if !in_progress || policy_behind {
        let mut policy = repo.policy.clone();
        policy
            .set_key(env_name, &to, current.created)
            .map_err(|e| Failure::usage(format!("{POLICY_FILE}: {e}")))?;
        repo.write_policy(policy)?;
    }

    let mut old = Identities::new();
    for k in ring
        .keys
        .iter()
        .filter(|k| from.contains(&k.secret.public_key().key_id()))
    {
        old.push(k.secret.clone());
    }
    let pause_after = pause_after();
    let started = AtomicUsize::new(0);
    let paused = AtomicBool::new(false);
    let bar = if io::stderr().is_terminal() {
        indicatif::ProgressBar::new(todo.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let results: Vec<(&str, Result<usize, Failure>)> = todo
        .par_iter()
        .map(|f| {
            let n = started.fetch_add(1, Ordering::SeqCst);
            if pause_after.is_some_and(|limit| n >= limit) {
                if !paused.swap(true, Ordering::SeqCst) {
                    note(&format!("test pause: paused after {n} files"));
                }
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
            let r = rekey_file(f, &old, &to);
            bar.inc(1);
            (f.name.as_str(), r)
        })
        .collect();
    bar.finish_and_clear();
    let mut failed: Vec<String> = Vec::new();
    let mut done = 0;
    for (name, r) in results {
        match r {
            Ok(n) => done += n,
            Err(f) => failed.push(if f.message.starts_with(name) {
                f.message
            } else {
                format!("{name}: {}", f.message)
            }),
        }
    }
    if let Some(first) = failed.first() {
        return Err(Failure::refused(format!(
            "environment {env_name}: {first}{}; every value still opens (the keyring keeps the retired key): fix this, then run `cachet rotate {env_name}` again to finish",
            if failed.len() > 1 {
                format!(" (and {} more files)", failed.len() - 1)
            } else {
                String::new()
            }
        )));
    }
    note(&format!(
        "environment {env_name}: {} key id {}; {done} values in {} files re-sealed; deploy targets need the new key (`cachet env key {env_name}`); remove the retired key with `cachet prune {env_name}` once no copy needs it",
        if in_progress {
            "finished the interrupted rotation (no new key) to"
        } else {
            "rotated to"
        },
        to.key_id(),
        todo.len()
    ));
    Ok(())
}

/// `cachet prune ENV`.
pub fn prune(env_name: &str, identities: &[PathBuf]) -> Result<(), Failure> {
    let Unlocked {
        repo,
        env,
        mut ring,
        _lock,
    } = Unlocked::open(env_name, identities)?;
    require_agreement(&env, &ring)?;
    let retired = retired_ids(&ring);
    if retired.is_empty() {
        note(&format!(
            "environment {env_name}: no retired key; nothing to prune"
        ));
        return Ok(());
    }
    let files = scan_all(&files_of(&repo, env_name, &[], Skip::Nothing)?)?;
    let using: Vec<&str> = files
        .iter()
        .filter(|f| f.count(&retired) > 0)
        .map(|f| f.name.as_str())
        .collect();
    if !using.is_empty() {
        let shown: Vec<&str> = using.iter().take(5).copied().collect();
        return Err(Failure::refused(format!(
            "environment {env_name}: {} file{} still hold values sealed to a retired key ({}{}); run `cachet rotate {env_name}` to finish re-sealing them, then prune again",
            using.len(),
            if using.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if using.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    ring.keys.retain(|k| k.retired.is_none());
    repo.write_keyring(&ring)?;
    note(&format!(
        "environment {env_name}: removed {} retired key{} from the keyring",
        retired.len(),
        if retired.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}
