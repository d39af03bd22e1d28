//! Opening a file as a member (`spec/policy.md` section 5): a key the identities
//! given do not hold is taken from the keyring of the environment it belongs to.
//! Keys are chosen by key id only, so a deploy target holding the environment key
//! needs no keyring and no policy at all.

use std::path::Path;

use super::TeamError;
use super::identity_file::IdentitySet;
use super::member::Member;
use super::policy::Environment;
use super::repo::Repo;
use super::session::Observer;
use super::trust::{SafeDirectories, differences};
use crate::document;
use crate::seal::{Identities, KeyId, OpenError};

/// An environment keyring opened for a file: the environment, and the member whose
/// identity opened it where the identities tell (for the access log).
#[derive(Clone, Debug)]
pub struct KeyringOpened {
    /// The environment.
    pub environment: String,
    /// The member whose identity opened its keyring.
    pub member: Option<Member>,
}

/// Adds to `ids` the keys of the environments `file` needs, from their keyrings,
/// when the identities given cannot open the file directly (a member rather than a
/// deploy target). Key ids already held need no keyring and no policy at all.
pub fn unlock_for(
    file: &Path,
    needed: &[KeyId],
    ids: &mut IdentitySet,
    (safe, observer): (&SafeDirectories, &dyn Observer),
) -> Result<Vec<KeyringOpened>, TeamError> {
    let missing: Vec<&KeyId> = needed
        .iter()
        .filter(|id| ids.keys().get(id).is_none())
        .collect();
    let mut unlocked = Vec::new();
    if missing.is_empty() {
        return Ok(unlocked);
    }
    let Some(repo) = Repo::of_file(file, safe)? else {
        return Ok(unlocked);
    };
    // The environments whose current key is needed; failing those (a retired
    // key), the environment that covers the file, whose keyring keeps them.
    let mut envs: Vec<&Environment> = Vec::new();
    let mut unknown = false;
    for id in missing {
        match repo.policy.environment_of_key(id) {
            Some(e) if !envs.iter().any(|o| o.name == e.name) => envs.push(e),
            Some(_) => {}
            None => unknown = true,
        }
    }
    if unknown
        && let Some(rel) = repo.relative(file)
        && let Ok(Some(e)) = repo.policy.environment_for(&rel)
        && !envs.iter().any(|o| o.name == e.name)
    {
        envs.push(e);
    }
    for env in envs {
        let ring = match repo.unlock(&env.name, ids) {
            // A deploy target given another environment's key is no member that
            // was left out: say which key it holds.
            Err(TeamError::NotAMember(_)) => {
                let held = ids
                    .keys()
                    .iter()
                    .find_map(|k| repo.policy.environment_of_key(&k.public_key().key_id()));
                return Err(match held {
                    Some(other) => TeamError::OtherEnvironmentKey {
                        at: None,
                        env: env.name.clone(),
                        held: other.name.clone(),
                    },
                    None => TeamError::NotAMember(env.name.clone()),
                });
            }
            other => other?,
        };
        let found = differences(env, &ring);
        if !found.is_empty() {
            observer.disagreement(&env.name, &found);
        }
        ids.add_keys(&ring.identities());
        unlocked.push(KeyringOpened {
            environment: env.name.clone(),
            member: ring
                .members
                .iter()
                .find(|m| ids.recipients().contains(&m.recipient))
                .cloned(),
        });
    }
    Ok(unlocked)
}

/// Runs `open` with the keys at hand; when a value needs a key not held, takes it
/// from the environment's keyring ([`unlock_for`]) or from a passphrase-protected
/// identity, and runs it again. Returns what `open` gave and the keyrings that were
/// opened. `name` is how messages name `file`.
pub fn with_keys<T>(
    (file, name): (&Path, &str),
    ids: &mut IdentitySet,
    (safe, observer): (&SafeDirectories, &dyn Observer),
    open: impl Fn(&Identities) -> Result<T, document::Error>,
) -> Result<(T, Vec<KeyringOpened>), TeamError> {
    let mut tried: Vec<KeyId> = Vec::new();
    let mut unlocked = Vec::new();
    let failed = |source| TeamError::File {
        file: name.to_string(),
        source,
    };
    loop {
        match open(ids.keys()) {
            Err(document::Error::Open {
                reason: OpenError::NoIdentity(id),
                path,
            }) if !tried.contains(&id) => {
                tried.push(id);
                let before = ids.keys().len();
                let opened =
                    unlock_for(file, &[id], ids, (safe, observer)).map_err(|e| match e {
                        TeamError::OtherEnvironmentKey { env, held, .. } => {
                            TeamError::OtherEnvironmentKey {
                                at: Some(format!("{name}: {path}")),
                                env,
                                held,
                            }
                        }
                        e => e,
                    })?;
                unlocked.extend(opened);
                // No keyring gave the key: a passphrase-protected identity may
                // hold it itself (an environment key kept under a passphrase).
                if ids.keys().len() == before {
                    ids.open_locked()
                        .map_err(|(source, why)| TeamError::Identity { source, why })?;
                }
                if ids.keys().len() == before {
                    return Err(failed(document::Error::Open {
                        reason: OpenError::NoIdentity(id),
                        path,
                    }));
                }
            }
            other => return other.map(|t| (t, unlocked)).map_err(failed),
        }
    }
}

/// The environment whose current key is one of `key_ids`, by the policy above
/// `file`, for the access log (`None` without a readable policy).
pub fn environment_of_keys(
    file: &Path,
    key_ids: &[KeyId],
    safe: &SafeDirectories,
) -> Option<String> {
    let repo = Repo::of_file(file, safe).ok().flatten()?;
    key_ids
        .iter()
        .find_map(|id| repo.policy.environment_of_key(id))
        .map(|e| e.name.clone())
}
