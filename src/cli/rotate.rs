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
use cachet::{Format, Identities, KeyId, PublicKey, SealedAt, SecretKey};
use rayon::prelude::*;

use super::identity;
use super::team::{Repo, pin_key, read_policy, require_agreement};
use super::{Failure, lock, note};

/// Test-only: the number of files after which `rotate` stops re-sealing and sleeps,
/// so a test can kill it at a known point. Not for any other use.
const PAUSE_VAR: &str = "CACHET_TEST_PAUSE_AFTER_FILES";

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

/// The files of `env` under the policy's root (tracked or not, honouring
/// `.gitignore`: [`cachet::survey::walk`]), then the files named on the command
/// line, each once.
fn files_of(repo: &Repo, env: &str, named: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, Failure> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    let walked = cachet::survey::walk(&repo.root).map_err(|e| Failure::usage(e.to_string()))?;
    for file in walked {
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
    if !bytes.windows(10).any(|w| w == b"cachet:v1:") {
        return Ok(None);
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format!("{name}: holds a token but is not UTF-8 text")))?;
    let format = Format::from_path(path).ok_or_else(|| {
        Failure::usage(format!(
            "{name}: holds a token but its format is not known from its name; rename it, or take it out of the environment's files"
        ))
    })?;
    let values = cachet::list_values(format, text).map_err(|e| Failure::doc(name, e))?;
    let mut per_key = BTreeMap::new();
    for (id, _) in values.into_iter().filter_map(|v| v.sealed) {
        *per_key.entry(id).or_insert(0) += 1;
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

/// `cachet rotate ENV [--dry-run] [FILE…]`.
pub fn rotate(
    env_name: &str,
    named: &[PathBuf],
    dry_run: bool,
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let mut repo = Repo::current()?;
    let _lock = repo.lock()?;
    // Re-read under the lock: another process may have changed it meanwhile.
    repo.policy = read_policy(&repo.policy_path)?;
    let env = repo.env(env_name)?.clone();
    let ids = identity::load(identities)?;
    let mut ring = repo.unlock(env_name, &ids)?;
    let policy_behind = check_agreement(&env, &ring)?;
    let files = scan_all(&files_of(&repo, env_name, named)?)?;
    let retired: Vec<KeyId> = key_ids(
        &ring
            .keys
            .iter()
            .filter(|k| k.retired.is_some())
            .collect::<Vec<_>>(),
    );
    // A rotation in progress: the policy still names a retired key, or a value is
    // still sealed to one. It is finished with the keyring's current key.
    let in_progress = policy_behind || files.iter().any(|f| f.count(&retired) > 0);
    let from: Vec<KeyId> = if in_progress {
        retired.clone()
    } else {
        key_ids(&ring.keys.iter().collect::<Vec<_>>())
    };
    let todo: Vec<&Scanned> = files.iter().filter(|f| f.count(&from) > 0).collect();
    let values: usize = todo.iter().map(|f| f.count(&from)).sum();

    if dry_run {
        let current = ring.current().secret.public_key().key_id();
        let mut out = if in_progress {
            format!(
                "environment {env_name}: a rotation is in progress; it would be finished with the current key (key id {current}), no new key\n"
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

    if !in_progress {
        // The keyring first, holding both keys: whatever happens next, every value
        // (old or re-sealed) opens through it.
        let now = SealedAt::now();
        for k in ring.keys.iter_mut().filter(|k| k.retired.is_none()) {
            k.retired = Some(now);
        }
        ring.keys.push(KeyringKey {
            secret: SecretKey::generate(),
            created: now,
            retired: None,
        });
        repo.write_keyring(&ring)?;
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
    // The rotating member chose this key (or found it in the keyring they opened).
    pin_key(&repo, env_name, &to.key_id(), true)?;

    let mut old = Identities::new();
    for k in ring
        .keys
        .iter()
        .filter(|k| from.contains(&k.secret.public_key().key_id()))
    {
        old.push(k.secret.clone());
    }
    let pause_after: Option<usize> = std::env::var(PAUSE_VAR).ok().and_then(|v| v.parse().ok());
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
                    note(&format!("{PAUSE_VAR}: paused after {n} files"));
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
            "finished the rotation to"
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
    let mut repo = Repo::current()?;
    let _lock = repo.lock()?;
    repo.policy = read_policy(&repo.policy_path)?;
    let env = repo.env(env_name)?.clone();
    let ids = identity::load(identities)?;
    let mut ring = repo.unlock(env_name, &ids)?;
    require_agreement(&env, &ring)?;
    let retired: Vec<KeyId> = key_ids(
        &ring
            .keys
            .iter()
            .filter(|k| k.retired.is_some())
            .collect::<Vec<_>>(),
    );
    if retired.is_empty() {
        note(&format!(
            "environment {env_name}: no retired key; nothing to prune"
        ));
        return Ok(());
    }
    let files = scan_all(&files_of(&repo, env_name, &[])?)?;
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
