//! Changing who holds an environment's key: a new environment with its first
//! members, members added and removed, and the keyring and policy brought back
//! into agreement (`spec/policy.md` sections 2.3, 4.3 and 7). Every change writes
//! the keyring first and the policy second, each atomically, under the policy's
//! lock.

use super::TeamError;
use super::identity_file::IdentitySet;
use super::keyring::Keyring;
use super::member::Member;
use super::pins::Pin;
use super::policy::{Environment, POLICY_FILE, Policy, RotationOwed};
use super::repo::Repo;
use super::session::Session;
use super::trust::{differences, require_agreement};
use crate::document::attestation::AttestPublicKey;
use crate::glob::{FileGlob, PathGlob};
use crate::seal::{SealedAt, SecretKey};
use crate::worktree::FileLock;

/// Refuses a member list that no keyring can have: empty, or with a name or a
/// key twice.
pub fn check_members(members: &[Member]) -> Result<(), TeamError> {
    if members.is_empty() {
        return Err(TeamError::NoMembers { env: None });
    }
    for (i, m) in members.iter().enumerate() {
        if members[..i].iter().any(|o| o.name == m.name) {
            return Err(TeamError::MemberNamedTwice(m.name.clone()));
        }
        if members[..i].iter().any(|o| o.recipient == m.recipient) {
            return Err(TeamError::MemberKeyTwice(m.name.clone()));
        }
    }
    Ok(())
}

/// An environment to add to the policy.
#[derive(Clone, Debug)]
pub struct NewEnvironment {
    /// Its name.
    pub name: String,
    /// The files it covers.
    pub files: Vec<FileGlob>,
    /// Values it seals besides the default rule.
    pub seal: Vec<PathGlob>,
    /// How often its key is to be rotated, in days.
    pub rotate_every_days: Option<u32>,
    /// Its first members.
    pub members: Vec<Member>,
}

/// Adds an environment: a new key, its keyring encrypted to the members, then the
/// policy; the key is pinned on this machine, where it was made.
pub fn add_environment<C: age::Callbacks>(
    repo: &mut Repo,
    new: NewEnvironment,
    session: &Session<'_, C>,
) -> Result<(Environment, Keyring), TeamError> {
    check_members(&new.members)?;
    let path = repo.policy_path.clone();
    let _lock = repo.lock(|| session.observer.waiting(&path))?;
    let key = SecretKey::generate();
    let created = SealedAt::now();
    let env = Environment {
        name: new.name.clone(),
        public_key: key.public_key(),
        created,
        rotate_every_days: new.rotate_every_days,
        files: new.files,
        seal: new.seal,
        members: new.members.clone(),
        attest_key: Some(AttestPublicKey::of(&key)),
        require_attestation: false,
        rotation_owed: None,
        rotated: None,
    };
    let mut policy = repo.policy.clone();
    policy
        .add_environment(&env)
        .map_err(|source| TeamError::Policy {
            file: POLICY_FILE.to_string(),
            source,
        })?;
    if repo.keyring_path(&new.name).exists() {
        return Err(TeamError::KeyringExists(new.name));
    }
    let ring = Keyring::new(&new.name, key, created, new.members);
    repo.write_keyring(&ring, session.callbacks.clone())?;
    repo.write_policy(policy)?;
    session.pin(repo.pin_name(), &env.name, &env.public_key.key_id())?;
    Ok((env, ring))
}

/// One environment opened by a member to change it: under the policy's lock,
/// with the policy read once the lock is held.
pub struct Unlocked {
    /// The repository.
    pub repo: Repo,
    /// The environment, as the policy has it.
    pub env: Environment,
    /// Its keyring, opened.
    pub ring: Keyring,
    _lock: FileLock,
}

impl Unlocked {
    /// Takes the policy's lock and opens `env_name`'s keyring with `ids`.
    pub fn open(
        mut repo: Repo,
        env_name: &str,
        ids: &IdentitySet,
        observer: &dyn super::Observer,
    ) -> Result<Unlocked, TeamError> {
        let path = repo.policy_path.clone();
        let lock = repo.lock(|| observer.waiting(&path))?;
        let env = repo.env(env_name)?.clone();
        let ring = repo.unlock(env_name, ids)?;
        Ok(Unlocked {
            repo,
            env,
            ring,
            _lock: lock,
        })
    }
}

/// What a member command does to the member list.
#[derive(Clone, Debug)]
pub enum MemberChange {
    /// Add this member.
    Add(Member),
    /// Remove the member of this name.
    Remove(String),
}

/// Adds or removes a member: the keyring is re-encrypted to the new list, then
/// the policy follows. Refused while the keyring and the policy disagree.
/// Returns the new member list.
pub fn change_members<C: age::Callbacks>(
    unlocked: &mut Unlocked,
    change: &MemberChange,
    callbacks: C,
) -> Result<Vec<Member>, TeamError> {
    let Unlocked {
        repo, env, ring, ..
    } = unlocked;
    require_agreement(env, ring)?;
    let mut members = env.members.clone();
    match change {
        MemberChange::Add(m) => {
            if let Some(o) = members
                .iter()
                .find(|o| o.name == m.name || o.recipient == m.recipient)
            {
                return Err(TeamError::MemberExists {
                    env: env.name.clone(),
                    name: o.name.clone(),
                });
            }
            members.push(m.clone());
        }
        MemberChange::Remove(name) => {
            let before = members.len();
            members.retain(|m| m.name != *name);
            if members.len() == before {
                return Err(TeamError::NoSuchMember {
                    env: env.name.clone(),
                    name: name.clone(),
                });
            }
            if members.is_empty() {
                return Err(TeamError::LastMember {
                    env: env.name.clone(),
                    name: name.clone(),
                });
            }
        }
    }
    ring.members = members.clone();
    ring.members.sort();
    let mut policy = with_members(&repo.policy, &env.name, &members)?;
    // A removed member knew the key: a rotation is owed until one makes a new
    // key (spec/policy.md 7.1), and check says so meanwhile. The debt is written
    // before the keyring, so a removal killed half-way never goes unrecorded (at
    // worst a rotation is asked for a member still there).
    if let MemberChange::Remove(name) = change {
        let mut owed = env.rotation_owed.clone().unwrap_or(RotationOwed {
            since: SealedAt::now(),
            removed: Vec::new(),
        });
        owed.removed.push(name.clone());
        let record = |p: &mut Policy| {
            p.set_rotation_owed(&env.name, Some(&owed))
                .map_err(|source| TeamError::Policy {
                    file: POLICY_FILE.to_string(),
                    source,
                })
        };
        let mut first = repo.policy.clone();
        record(&mut first)?;
        record(&mut policy)?;
        repo.write_policy(first)?;
        env.rotation_owed = Some(owed);
    }
    repo.write_keyring(ring, callbacks)?;
    repo.write_policy(policy)?;
    env.members = members.clone();
    Ok(members)
}

fn with_members(policy: &Policy, env: &str, members: &[Member]) -> Result<Policy, TeamError> {
    let mut policy = policy.clone();
    policy
        .set_members(env, members)
        .map_err(|source| TeamError::Policy {
            file: POLICY_FILE.to_string(),
            source,
        })?;
    Ok(policy)
}

/// Which side `members sync` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncFrom {
    /// The policy's member list; the keyring is re-encrypted to it. `grant`
    /// allows giving the key to members the keyring does not list.
    Policy {
        /// Whether new members may be given the key.
        grant: bool,
    },
    /// The keyring's key and members; the policy is rewritten from it.
    Keyring,
}

/// What `members sync` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Synced {
    /// The keyring and the policy agreed; nothing was written.
    Agreed,
    /// The policy was rewritten from the keyring.
    PolicyFromKeyring,
    /// The keyring was re-encrypted to this many members of the policy.
    KeyringFromPolicy(usize),
}

/// Brings an environment's keyring and policy back into agreement, from the side
/// `from` names. Returns the differences found, and what was done.
///
/// The keyring cannot follow a policy whose public key it has no private key
/// for; giving the key to members only the policy lists needs `grant` (a
/// repository writer can add themselves to the policy); and the policy takes the
/// keyring's key only when this machine vouches for it (pinned, anchored) or
/// `accept_new_key`.
pub fn sync_members<C: age::Callbacks>(
    unlocked: &mut Unlocked,
    from: SyncFrom,
    accept_new_key: bool,
    session: &Session<'_, C>,
) -> Result<(Vec<String>, Synced), TeamError> {
    let Unlocked {
        repo, env, ring, ..
    } = unlocked;
    let found = differences(env, ring);
    if found.is_empty() {
        return Ok((found, Synced::Agreed));
    }
    let grant = match from {
        SyncFrom::Keyring => {
            // The keyring is as easy to write as the policy for whoever knew an
            // old key: its key is adopted only if this machine vouches for it.
            let key = ring.current().secret.public_key().key_id();
            if key != env.public_key.key_id() {
                let vouched = match session.anchors.key(&env.name) {
                    Some(anchor) => anchor == key,
                    None => session
                        .pins
                        .read()
                        .is_ok_and(|p| p.check(repo.pin_name(), &env.name, &key) == Pin::Same),
                };
                if !vouched && !accept_new_key {
                    return Err(TeamError::UnvouchedKey {
                        env: env.name.clone(),
                        key,
                    });
                }
                if !vouched {
                    session.pin(repo.pin_name(), &env.name, &key)?;
                }
            }
            let mut policy = repo.policy.clone();
            let current = ring.current();
            policy
                .set_key(
                    &env.name,
                    &current.secret.public_key(),
                    &AttestPublicKey::of(&current.secret),
                    current.created,
                )
                .and_then(|()| policy.set_members(&env.name, &ring.members))
                .map_err(|source| TeamError::Policy {
                    file: POLICY_FILE.to_string(),
                    source,
                })?;
            repo.write_policy(policy)?;
            return Ok((found, Synced::PolicyFromKeyring));
        }
        SyncFrom::Policy { grant } => grant,
    };
    if ring.current().secret.public_key() != env.public_key {
        return Err(TeamError::KeyringCannotFollow(env.name.clone()));
    }
    if env.members.is_empty() {
        return Err(TeamError::NoMembers {
            env: Some(env.name.clone()),
        });
    }
    let new: Vec<String> = env
        .members
        .iter()
        .filter(|m| !ring.members.contains(m))
        .map(|m| m.name.clone())
        .collect();
    if !new.is_empty() && !grant {
        return Err(TeamError::GrantNeeded {
            env: env.name.clone(),
            names: new,
        });
    }
    ring.members = env.members.clone();
    ring.members.sort();
    repo.write_keyring(ring, session.callbacks.clone())?;
    // The policy's attestation key follows the keyring's key (a policy written
    // before attestations has none).
    let attest_key = AttestPublicKey::of(&ring.current().secret);
    if env.attest_key != Some(attest_key) {
        let mut policy = repo.policy.clone();
        policy
            .set_attest_key(&env.name, &attest_key)
            .map_err(|source| TeamError::Policy {
                file: POLICY_FILE.to_string(),
                source,
            })?;
        repo.write_policy(policy)?;
    }
    Ok((found, Synced::KeyringFromPolicy(ring.members.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, seed: u8) -> Member {
        Member {
            name: name.into(),
            recipient: SecretKey::from_bytes([seed; 32])
                .public_key()
                .to_string()
                .parse()
                .unwrap(),
        }
    }

    #[test]
    fn a_member_list_needs_someone_and_no_name_or_key_twice() {
        assert!(check_members(&[member("a", 1), member("b", 2)]).is_ok());
        let e = check_members(&[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "an environment needs at least one member to hold its key: pass --member NAME=RECIPIENT (or drop --no-self)"
        );
        let e = check_members(&[member("a", 1), member("a", 2)]).unwrap_err();
        assert!(
            matches!(e, TeamError::MemberNamedTwice(ref n) if n == "a"),
            "{e}"
        );
        let e = check_members(&[member("a", 1), member("b", 1)]).unwrap_err();
        assert!(
            matches!(e, TeamError::MemberKeyTwice(ref n) if n == "b"),
            "{e}"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Usage
        );
    }
}
