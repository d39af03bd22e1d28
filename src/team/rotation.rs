//! Rotating an environment's key and pruning retired ones: the procedure of
//! `spec/policy.md` section 7.1. A new key goes into the keyring first (pinned on
//! this machine before that), then the policy, then every value of the
//! environment is re-sealed; the retired key stays in the keyring until no value
//! uses it, so an interrupted rotation never strands a value and the next run
//! finishes it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::TeamError;
use super::keyring::{Keyring, KeyringKey};
use super::members::Unlocked;
use super::pins::Pin;
use super::policy::POLICY_FILE;
use super::repo::Repo;
use super::session::Session;
use super::trust::{require_agreement, require_agreement_or_rotation};
use crate::document::attestation::{self, AttestKey, AttestPublicKey};
use crate::document::rekey::rekey_document;
use crate::format::Format;
use crate::seal::{Identities, KeyId, SealedAt, SecretKey};
use crate::worktree::atomic::{self, Mode};
use crate::worktree::{Skip, git, walk};

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

/// The files of `env` under the policy's root (tracked or not; [`walk`] with
/// `skip`), then the files named, each once.
fn files_of(
    repo: &Repo,
    env: &str,
    named: &[PathBuf],
    skip: Skip,
) -> Result<Vec<(PathBuf, String)>, TeamError> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    let tracked = match skip {
        Skip::GitIgnored => git::tracked_files(&repo.root).map_err(TeamError::Git)?,
        Skip::Nothing => Vec::new(),
    };
    let walked = walk(&repo.root, skip, &tracked).map_err(TeamError::Walk)?;
    // A symlink is not followed: the file it points to is handled, if at all,
    // under its own path (`check` reports a covered link).
    for file in walked.into_iter().filter(|f| !f.symlink) {
        match repo.policy.environment_for(&file.rel) {
            Ok(Some(e)) if e.name == env => out.push((file.path, file.rel)),
            Ok(_) => {}
            Err(source) => {
                return Err(TeamError::Policy {
                    file: POLICY_FILE.to_string(),
                    source,
                });
            }
        }
    }
    out.sort();
    for f in named {
        let canonical =
            fs::canonicalize(f).map_err(|e| TeamError::io(f.display().to_string(), "", e))?;
        if !out.iter().any(|(p, _)| *p == canonical) {
            out.push((canonical, f.display().to_string()));
        }
    }
    Ok(out)
}

/// Reads a file's sealed values per key id; `None` for a file without any token
/// (a covered file that is not a configuration file is no error).
fn scan(path: &Path, name: &str) -> Result<Option<Scanned>, TeamError> {
    let bytes = fs::read(path).map_err(|e| TeamError::io(name, "cannot read", e))?;
    // A file of a known format is always parsed: a token can hide behind an escape
    // (`\u0063achet:` in JSON), which a byte search would miss, and a retired key
    // must not be pruned while such a value still needs it.
    let Some(format) = Format::from_path(path) else {
        // A strict JSON file's attestation (spec/attest.md 4.2) holds no value.
        let sidecar = name.ends_with(attestation::SIDECAR_SUFFIX);
        if !sidecar && bytes.windows(7).any(|w| w == b"cachet:") {
            return Err(TeamError::UnknownFormat(name.to_string()));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| TeamError::NotText(name.to_string()))?;
    let values = crate::document::list_values(format, text).map_err(|source| TeamError::File {
        file: name.to_string(),
        source,
    })?;
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

fn scan_all(files: &[(PathBuf, String)]) -> Result<Vec<Scanned>, TeamError> {
    let scanned: Vec<Result<Option<Scanned>, TeamError>> =
        files.par_iter().map(|(p, n)| scan(p, n)).collect();
    let mut out = Vec::new();
    for s in scanned {
        out.extend(s?);
    }
    Ok(out)
}

/// Re-seals one file under its lock, re-read once the lock is held; returns how
/// many values changed.
fn rekey_file(
    file: &Scanned,
    from: &Identities,
    (to, root): (&SecretKey, &Path),
    observer: &dyn super::Observer,
) -> Result<usize, TeamError> {
    let name = &file.name;
    let _lock = super::repo::lock_file(&file.path, || observer.waiting(&file.path))?;
    let text = fs::read_to_string(&file.path).map_err(|e| TeamError::io(name, "cannot read", e))?;
    let format =
        Format::from_path(&file.path).ok_or_else(|| TeamError::UnknownFormat(name.clone()))?;
    let failed = |source| TeamError::File {
        file: name.clone(),
        source,
    };
    let (out, report) = rekey_document(format, &text, from, &to.public_key()).map_err(failed)?;
    if report.resealed.is_empty() {
        return Ok(0);
    }
    // The rotator holds the new key, and attests what it re-sealed
    // (spec/attest.md 6) under the file's name relative to the root, if the file
    // was attested before by a key of the keyring: a rotation carries an
    // approval over to the new key, it never approves what nobody reviewed.
    let rel = file.path.strip_prefix(root).ok().map(|r| {
        r.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    });
    let sidecar = attestation::sidecar_path(&file.path);
    let old_sidecar = attestation::read_sidecar(format, &file.path);
    let rel = rel.filter(|rel| {
        attestation::verify_file(format, Path::new(rel), &text, old_sidecar.as_deref(), from)
            .is_ok()
    });
    let (out, made) = match rel {
        Some(rel) => {
            let key = AttestKey::derive(to);
            let (out, made) = attestation::attest(format, &out, (&rel, ""), &key, SealedAt::now())
                .map_err(failed)?;
            (out, Some(made))
        }
        // Not attested before: the stale line goes, and the file stays proposed.
        None => (
            Zeroizing::new(attestation::split(format, &out).body.to_string()),
            None,
        ),
    };
    let write = |path: &Path, bytes: &[u8]| {
        atomic::write_atomic(path, bytes, Mode::Keep, false)
            .map_err(|e| TeamError::io(name, "cannot write", e))
    };
    // The sidecar first: killed between the two, the file still holds the old
    // key's values and the next run re-seals it, writing both again. Its writes
    // are guarded by the file's lock, held here.
    if format == Format::Json {
        atomic::remove_stale_temps(&sidecar);
        match &made {
            Some(made) => write(&sidecar, attestation::sidecar_text(made).as_bytes())?,
            None if old_sidecar.is_some() => fs::remove_file(&sidecar)
                .map_err(|e| TeamError::io(name, "cannot remove the stale attestation of", e))?,
            None => {}
        }
    }
    write(&file.path, out.as_bytes())?;
    Ok(report.resealed.len())
}

/// The key ids of a keyring's retired keys.
fn retired_ids(ring: &Keyring) -> Vec<KeyId> {
    ring.keys
        .iter()
        .filter(|k| k.retired.is_some())
        .map(|k| k.secret.public_key().key_id())
        .collect()
}

/// How `rotate` was asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct RotateOptions {
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// Always make a new key, even when a rotation is in progress (after a member
    /// was removed, the keyring's current key is one they knew).
    pub new_key: bool,
    /// Finish with a current key that differs from the one pinned on this machine.
    pub accept_new_key: bool,
}

/// What a rotation would do, or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationPlan {
    /// A rotation was in progress: it is finished with the keyring's current key,
    /// and no new key is made.
    pub in_progress: bool,
    /// A rotation was in progress to a key nothing on this machine vouches for;
    /// a new key replaces it.
    pub replaces_unpinned: bool,
    /// The policy still names the retired key, and is set to the current one.
    pub policy_behind: bool,
    /// Members the keyring is encrypted to but the policy does not name: they
    /// hold the current key, so a new key is made and sealed without them.
    pub dropped: Vec<String>,
    /// The keyring's current key before the rotation.
    pub current: KeyId,
    /// Each file to re-seal (as named in messages) and how many of its values.
    pub files: Vec<(String, usize)>,
}

impl RotationPlan {
    /// How many values are re-sealed in all.
    pub fn values(&self) -> usize {
        self.files.iter().map(|(_, n)| n).sum()
    }
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotated {
    /// It finished an interrupted rotation (no new key).
    pub finished_interrupted: bool,
    /// A rotation was in progress to a key this machine did not make and nothing
    /// vouched for; a new key replaced it.
    pub replaced_unpinned: bool,
    /// Members of the keyring the policy does not name, left out of the new one.
    pub dropped: Vec<String>,
    /// The key every value of the environment is now sealed to.
    pub key: KeyId,
    /// How many values were re-sealed.
    pub values: usize,
    /// In how many files.
    pub files: usize,
}

/// What [`rotate`] gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The plan of a dry run; nothing was written.
    Planned(RotationPlan),
    /// The rotation, done.
    Done(Rotated),
}

/// Rotates `unlocked`'s environment: every file it covers (and the files
/// `named`), by the procedure of `spec/policy.md` section 7.1.
///
/// A rotation in progress (the policy still names a retired key, or a value is
/// still sealed to one) is finished with the keyring's current key, unless
/// `new_key`, and only when that key is vouched for: pinned on this machine (a
/// rotation started here pinned its new key before writing the keyring),
/// anchored, or `accept_new_key`. The keyring is not signed: whoever knew an old
/// key could have planted one whose current key is their own. An unvouched one is
/// not finished: a new key made here replaces it.
///
/// Members the keyring is encrypted to but the policy does not name (a former
/// member's planted keyring lists them) are left out: they could open the
/// current key, so a new key is made and its keyring is sealed to the policy's
/// members only. The reverse, a member only the policy names, is refused: a
/// repository writer could have added themselves.
pub fn rotate<C: age::Callbacks>(
    unlocked: &mut Unlocked,
    named: &[PathBuf],
    options: RotateOptions,
    session: &Session<'_, C>,
) -> Result<Rotation, TeamError> {
    let Unlocked {
        repo, env, ring, ..
    } = unlocked;
    let env_name = env.name.clone();
    let dropped: Vec<String> = ring
        .members
        .iter()
        .filter(|m| !env.members.contains(m))
        .map(|m| m.name.clone())
        .collect();
    ring.members.retain(|m| env.members.contains(m));
    let policy_behind = require_agreement_or_rotation(env, ring)?;
    let files = scan_all(&files_of(repo, &env_name, named, Skip::GitIgnored)?)?;
    let all_keys: Vec<KeyId> = ring
        .keys
        .iter()
        .map(|k| k.secret.public_key().key_id())
        .collect();
    // A value sealed to a key the keyring does not hold can be neither re-sealed
    // nor kept openable: say so before anything is written.
    if let Some((f, id)) = files.iter().find_map(|f| {
        f.per_key
            .keys()
            .find(|id| !all_keys.contains(id))
            .map(|id| (f, id))
    }) {
        return Err(TeamError::UnknownKeyInFile {
            file: f.name.clone(),
            key: *id,
            env: env_name,
        });
    }
    let retired = retired_ids(ring);
    // A rotation owed after a removal needs a key the removed member never held.
    let mut in_progress = !options.new_key
        && dropped.is_empty()
        && env.rotation_owed.is_none()
        && (policy_behind || files.iter().any(|f| f.count(&retired) > 0));
    // A rotation is finished only with a key made on this machine (pinned before
    // its keyring was written), one anchored from outside, or one accepted after a
    // look at who wrote the keyring. Any other "new key" may be one a former
    // member planted; a fresh key made here is safe whatever the keyring holds.
    let pin_name = repo.pin_name().clone();
    let target = ring.current().secret.public_key().key_id();
    let replaces_unpinned = in_progress && {
        let vouched = match session.anchors.key(&env_name) {
            Some(anchor) => anchor == target,
            None => {
                options.accept_new_key
                    || session
                        .pins
                        .read()
                        .is_ok_and(|p| p.check(&pin_name, &env_name, &target) == Pin::Same)
            }
        };
        !vouched
    };
    if replaces_unpinned {
        in_progress = false;
    }
    let from: Vec<KeyId> = if in_progress { retired } else { all_keys };
    let todo: Vec<&Scanned> = files.iter().filter(|f| f.count(&from) > 0).collect();
    if options.dry_run {
        return Ok(Rotation::Planned(RotationPlan {
            in_progress,
            replaces_unpinned,
            policy_behind,
            dropped,
            current: target,
            files: todo
                .iter()
                .map(|f| (f.name.clone(), f.count(&from)))
                .collect(),
        }));
    }

    if in_progress {
        if options.accept_new_key && session.anchors.key(&env_name).is_none() {
            session.pin(&pin_name, &env_name, &target)?;
        }
    } else {
        let now = SealedAt::now();
        let secret = SecretKey::generate();
        // Pinned first: if the process dies before the keyring is written, the next
        // run makes another key; if after, it finishes with this one.
        session.pin(&pin_name, &env_name, &secret.public_key().key_id())?;
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
        if let Err(e) = repo.write_keyring(ring, session.callbacks.clone()) {
            // Nothing changed but the pin: put the previous key back in it.
            let _ = session.pin(&pin_name, &env_name, &env.public_key.key_id());
            return Err(e);
        }
    }
    let current = ring.current().clone();
    let to = current.secret.public_key();
    if !in_progress || policy_behind {
        let mut policy = repo.policy.clone();
        policy
            .set_key(
                &env_name,
                &to,
                &AttestPublicKey::of(&current.secret),
                current.created,
            )
            .and_then(|()| policy.set_rotation_owed(&env_name, None))
            .and_then(|()| policy.set_rotated(&env_name, current.created))
            .map_err(|source| TeamError::Policy {
                file: POLICY_FILE.to_string(),
                source,
            })?;
        repo.write_policy(policy)?;
        env.public_key = to;
        env.created = current.created;
    }

    let mut old = Identities::new();
    for k in ring
        .keys
        .iter()
        .filter(|k| from.contains(&k.secret.public_key().key_id()))
    {
        old.push(k.secret.clone());
    }
    let observer = session.observer;
    observer.resealing(todo.len());
    let started = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(&str, Result<usize, TeamError>)> = todo
        .par_iter()
        .map(|f| {
            observer.file_starting(started.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
            let r = rekey_file(f, &old, (&current.secret, &repo.root), observer);
            observer.file_done();
            (f.name.as_str(), r)
        })
        .collect();
    let mut failed: Vec<String> = Vec::new();
    let mut done = 0;
    for (name, r) in results {
        match r {
            Ok(n) => done += n,
            Err(e) => {
                let message = e.to_string();
                failed.push(if message.starts_with(name) {
                    message
                } else {
                    format!("{name}: {message}")
                });
            }
        }
    }
    if let Some(first) = failed.first() {
        return Err(TeamError::RotationIncomplete {
            env: env_name,
            first: first.clone(),
            more: failed.len() - 1,
        });
    }
    Ok(Rotation::Done(Rotated {
        finished_interrupted: in_progress,
        replaced_unpinned: replaces_unpinned,
        dropped,
        key: to.key_id(),
        values: done,
        files: todo.len(),
    }))
}

/// Removes `unlocked`'s retired keys from its keyring, once no file of the
/// environment (ignored by git or not) holds a value sealed to one. Returns how
/// many keys were removed.
pub fn prune<C: age::Callbacks>(unlocked: &mut Unlocked, callbacks: C) -> Result<usize, TeamError> {
    let Unlocked {
        repo, env, ring, ..
    } = unlocked;
    require_agreement(env, ring)?;
    let retired = retired_ids(ring);
    if retired.is_empty() {
        return Ok(0);
    }
    let files = scan_all(&files_of(repo, &env.name, &[], Skip::Nothing)?)?;
    let using: Vec<String> = files
        .iter()
        .filter(|f| f.count(&retired) > 0)
        .map(|f| f.name.clone())
        .collect();
    if !using.is_empty() {
        return Err(TeamError::RetiredKeyInUse {
            env: env.name.clone(),
            files: using,
        });
    }
    ring.keys.retain(|k| k.retired.is_none());
    repo.write_keyring(ring, callbacks)?;
    Ok(retired.len())
}
