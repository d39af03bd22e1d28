//! Who attests a file, and with which key (`spec/attest.md` sections 3.1 and
//! 6): the environment that covers the file, its key from the identities given or
//! through a member's keyring, and the name the file is attested under.

use std::path::Path;

use super::TeamError;
use super::identity_file::IdentitySet;
use super::repo::Repo;
use super::session::Observer;
use super::trust::SafeDirectories;
use super::unlock::unlock_for;
use crate::document::attestation::AttestKey;
use crate::format::Format;
use crate::seal::KeyId;

/// The key and names a file is attested with.
#[derive(Debug)]
pub struct Attester {
    /// The attestation key of the file's environment.
    pub key: AttestKey,
    /// The key id of the environment key it is derived from.
    pub key_id: KeyId,
    /// The environment, when a policy covers the file.
    pub environment: Option<String>,
    /// The file's name in the attestation: relative to the policy's directory,
    /// else the file's own name.
    pub file: String,
    /// The member whose identity opened the keyring, if one did (else empty).
    pub approver: String,
}

/// The attester of `file` (content `text` in `format`), if the identities hold
/// its environment's key or open its keyring. The key is the key of the
/// environment that covers the file; for a file no policy covers, the one key
/// its sealed values carry, or else the one key the identities hold.
pub fn attester_for(
    file: &Path,
    (format, text): (Format, &str),
    ids: &mut IdentitySet,
    (safe, observer): (&SafeDirectories, &dyn Observer),
) -> Result<Attester, TeamError> {
    let shown = file.display().to_string();
    let repo = Repo::of_file(file, safe)?;
    // Inside a repository a file is named by its path from the policy's
    // directory, covered or not: a bare name would let the approval of one file
    // pass for any file of that name.
    let rel = repo.as_ref().and_then(|r| r.relative(file));
    let covering = match (&repo, &rel) {
        (Some(repo), Some(rel)) => repo
            .policy
            .environment_for(rel)
            .map_err(|source| TeamError::Policy {
                file: super::POLICY_FILE.to_string(),
                source,
            })?
            .map(|e| (e.name.clone(), e.public_key.key_id())),
        _ => None,
    };
    let name = match rel {
        Some(rel) => rel,
        None => file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| TeamError::NoSuchFile(shown.clone()))?,
    };
    let (environment, key_id) = match covering {
        Some((env, id)) => (Some(env), id),
        None => (None, lone_key(file, (format, text), ids)?),
    };
    let opened = if ids.keys().get(&key_id).is_none() {
        unlock_for(file, &[key_id], ids, (safe, observer))?
    } else {
        Vec::new()
    };
    let Some(secret) = ids.keys().get(&key_id) else {
        return Err(TeamError::CannotAttest {
            file: shown,
            env: environment,
            key: key_id,
        });
    };
    Ok(Attester {
        key: AttestKey::derive(secret),
        key_id,
        environment,
        file: name,
        approver: opened
            .into_iter()
            .find_map(|o| o.member)
            .map(|m| m.name)
            .unwrap_or_default(),
    })
}

/// The key a file no policy covers is attested with: the one its sealed values
/// carry, else the one the identities hold.
fn lone_key(
    file: &Path,
    (format, text): (Format, &str),
    ids: &IdentitySet,
) -> Result<KeyId, TeamError> {
    let values = crate::document::list_values(format, text).map_err(|source| TeamError::File {
        file: file.display().to_string(),
        source,
    })?;
    let mut sealed: Vec<KeyId> = values
        .iter()
        .filter_map(|v| v.sealed.map(|(id, _)| id))
        .collect();
    sealed.sort_by_key(|id| *id.as_bytes());
    sealed.dedup();
    let held: Vec<KeyId> = ids.keys().iter().map(|k| k.public_key().key_id()).collect();
    match (sealed.as_slice(), held.as_slice()) {
        ([one], _) | ([], [one]) => Ok(*one),
        _ => Err(TeamError::AttesterUnknown(file.display().to_string())),
    }
}
