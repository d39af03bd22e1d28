//! What vouches for the files a repository writer can write (`spec/policy.md`
//! sections 6 and 7, `spec/security.md` section 1): keys anchored from outside
//! the repository, agreement of the policy with the keyring a member can open,
//! and who owns the team files.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::TeamError;
use super::keyring::Keyring;
use super::member::Member;
use super::policy::{Environment, POLICY_FILE, check_environment_name};
use crate::document::attestation::AttestPublicKey;
use crate::seal::{KeyId, PublicKey};
use crate::worktree::atomic;

/// Environment keys vouched for from outside the repository (`CACHET_TRUST`), and
/// whether a key nothing vouches for may be pinned on first use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anchors {
    keys: Vec<(String, KeyId)>,
    /// First use of an environment's key without a pin or an anchor is refused
    /// (`--require-pin`, `CACHET_REQUIRE_PIN`).
    pub require_pin: bool,
}

impl Anchors {
    /// Reads anchors written `ENV=KEY` (a key id as tokens carry it, or the
    /// environment's `age1…` public key), separated by commas or blanks.
    pub fn parse(text: &str, require_pin: bool) -> Result<Anchors, TeamError> {
        let mut keys: Vec<(String, KeyId)> = Vec::new();
        for item in text.split([',', ' ', '\t', '\n']).filter(|i| !i.is_empty()) {
            let bad = || TeamError::BadAnchor(item.to_string());
            let (env, key) = item.split_once('=').ok_or_else(bad)?;
            check_environment_name(env).map_err(|_| bad())?;
            let key = KeyId::parse(key)
                .or_else(|| key.parse::<PublicKey>().ok().map(|k| k.key_id()))
                .ok_or_else(bad)?;
            if keys.iter().any(|(e, k)| e == env && *k != key) {
                return Err(bad());
            }
            keys.push((env.to_string(), key));
        }
        Ok(Anchors { keys, require_pin })
    }

    /// The key id anchored for `env`, if any.
    pub fn key(&self, env: &str) -> Option<KeyId> {
        self.keys.iter().find(|(e, _)| e == env).map(|(_, k)| *k)
    }
}

/// Where team files owned by another user are accepted (`CACHET_SAFE_DIRECTORIES`,
/// as git's `safe.directory`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SafeDirectories {
    /// Nowhere: only this user's own files, and root's.
    #[default]
    None,
    /// Everywhere (`*`).
    All,
    /// In these repositories (their root directories).
    Only(Vec<PathBuf>),
}

impl SafeDirectories {
    /// Reads a list of directories separated by `:` (or `;` on Windows), or `*`.
    pub fn parse(text: &OsStr) -> SafeDirectories {
        if text == "*" {
            return SafeDirectories::All;
        }
        let dirs: Vec<PathBuf> = std::env::split_paths(text)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
            .collect();
        if dirs.is_empty() {
            SafeDirectories::None
        } else {
            SafeDirectories::Only(dirs)
        }
    }

    fn allows(&self, root: &Path) -> bool {
        match self {
            SafeDirectories::None => false,
            SafeDirectories::All => true,
            SafeDirectories::Only(dirs) => dirs.iter().any(|d| d == root),
        }
    }
}

/// Refuses a team file (the policy, `.cachet/`, a keyring) of the repository at
/// `root` that is a symbolic link, or that another user than this one or root
/// owns, unless `safe` accepts that repository: whoever can write it chooses the
/// keys secrets are sealed to. A missing file passes.
pub fn check_team_file(path: &Path, root: &Path, safe: &SafeDirectories) -> Result<(), TeamError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err(TeamError::TeamFileLink(path.to_path_buf()));
    }
    let (Ok(Some(owner)), Some(me)) = (atomic::owner(path), atomic::effective_uid()) else {
        return Ok(());
    };
    if owner == me || owner == 0 || safe.allows(root) {
        return Ok(());
    }
    Err(TeamError::ForeignOwner {
        path: path.to_path_buf(),
        owner,
        root: root.to_path_buf(),
    })
}

/// How the policy and a keyring disagree, one phrase each (empty when they agree).
pub fn differences(env: &Environment, ring: &Keyring) -> Vec<String> {
    let mut out = Vec::new();
    if ring.current().secret.public_key() != env.public_key {
        out.push(format!(
            "the public key in {POLICY_FILE} (key id {}) is not the keyring's key (key id {})",
            env.public_key.key_id(),
            ring.current().secret.public_key().key_id()
        ));
    }
    // A policy written before attestations has no attestation key; a wrong one
    // would make a public-key verifier trust attestations a writer made.
    // Compared with the key the policy names (a rotation in progress names a
    // retired one, which the line above reports).
    let named = ring
        .keys
        .iter()
        .find(|k| k.secret.public_key() == env.public_key);
    if let (Some(recorded), Some(named)) = (&env.attest_key, named)
        && *recorded != AttestPublicKey::of(&named.secret)
    {
        out.push(format!(
            "the attest_key in {POLICY_FILE} is not the one its key gives ({})",
            AttestPublicKey::of(&named.secret)
        ));
    }
    let policy: BTreeSet<&Member> = env.members.iter().collect();
    let keyring: BTreeSet<&Member> = ring.members.iter().collect();
    let names = |set: Vec<&&Member>| {
        set.iter()
            .map(|m| format!("{:?}", m.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let only_policy: Vec<_> = policy.difference(&keyring).collect();
    if !only_policy.is_empty() {
        out.push(format!(
            "members in {POLICY_FILE} but not in the keyring: {}",
            names(only_policy)
        ));
    }
    let only_ring: Vec<_> = keyring.difference(&policy).collect();
    if !only_ring.is_empty() {
        out.push(format!(
            "members in the keyring but not in {POLICY_FILE}: {}",
            names(only_ring)
        ));
    }
    out
}

/// Refuses to change an environment whose keyring and policy disagree.
pub fn require_agreement(env: &Environment, ring: &Keyring) -> Result<(), TeamError> {
    let differences = differences(env, ring);
    if differences.is_empty() {
        return Ok(());
    }
    Err(TeamError::Disagree {
        env: env.name.clone(),
        differences,
    })
}

/// [`require_agreement`], allowing the one difference an interrupted rotation
/// leaves: the policy still naming the key the keyring just retired. Returns
/// whether the policy is in that state.
pub fn require_agreement_or_rotation(env: &Environment, ring: &Keyring) -> Result<bool, TeamError> {
    if !ring.has_retired(&env.public_key.key_id()) {
        require_agreement(env, ring)?;
        return Ok(false);
    }
    // The policy still names the retired key and its attestation key; the rest
    // must agree as if it named the current one.
    let mut as_if = env.clone();
    as_if.public_key = ring.current().secret.public_key();
    as_if.attest_key = None;
    require_agreement(&as_if, ring)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{SealedAt, SecretKey};
    use crate::team::keyring::KeyringKey;

    fn at(secs: u64) -> SealedAt {
        SealedAt::from_unix(secs).unwrap()
    }

    fn member(name: &str, key: &SecretKey) -> Member {
        Member {
            name: name.into(),
            recipient: format!("{}", key.public_key()).parse().unwrap(),
        }
    }

    fn environment(key: &SecretKey, members: Vec<Member>) -> Environment {
        Environment {
            name: "production".into(),
            public_key: key.public_key(),
            created: at(1_700_000_000),
            rotate_every_days: None,
            files: Vec::new(),
            seal: Vec::new(),
            members,
            attest_key: None,
            require_attestation: false,
            rotation_owed: None,
            rotated: None,
        }
    }

    #[test]
    fn a_policy_and_keyring_that_agree_have_no_difference() {
        let key = SecretKey::generate();
        let alice = member("alice", &SecretKey::generate());
        let env = environment(&key, vec![alice.clone()]);
        let ring = Keyring::new("production", key, env.created, vec![alice]);
        assert!(differences(&env, &ring).is_empty());
        assert!(require_agreement(&env, &ring).is_ok());
    }

    #[test]
    fn a_swapped_key_and_hand_edited_members_are_each_named() {
        let key = SecretKey::generate();
        let alice = member("alice", &SecretKey::generate());
        let mallory = member("mallory", &SecretKey::generate());
        let ring = Keyring::new("production", key.clone(), at(1), vec![alice]);
        let swapped = SecretKey::generate();
        let env = environment(&swapped, vec![mallory]);
        let found = differences(&env, &ring);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[0],
            format!(
                "the public key in .cachet.toml (key id {}) is not the keyring's key (key id {})",
                swapped.public_key().key_id(),
                key.public_key().key_id()
            )
        );
        assert_eq!(
            found[1],
            "members in .cachet.toml but not in the keyring: \"mallory\""
        );
        assert_eq!(
            found[2],
            "members in the keyring but not in .cachet.toml: \"alice\""
        );
        let e = require_agreement(&env, &ring).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment production: the keyring and .cachet.toml disagree ("),
            "{e}"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Refused
        );
    }

    #[test]
    fn only_the_retired_key_of_an_interrupted_rotation_is_allowed() {
        let old = SecretKey::generate();
        let new = SecretKey::generate();
        let alice = member("alice", &SecretKey::generate());
        let mut ring = Keyring::new("production", old.clone(), at(1), vec![alice.clone()]);
        ring.keys[0].retired = Some(at(2));
        ring.keys.push(KeyringKey {
            secret: new.clone(),
            created: at(2),
            retired: None,
        });
        // The policy still names the retired key: a rotation in progress.
        assert!(
            require_agreement_or_rotation(&environment(&old, vec![alice.clone()]), &ring).unwrap()
        );
        // The policy names the current key: no rotation in progress.
        assert!(
            !require_agreement_or_rotation(&environment(&new, vec![alice.clone()]), &ring).unwrap()
        );
        // A key the keyring does not hold at all is refused.
        let other = SecretKey::generate();
        assert!(require_agreement_or_rotation(&environment(&other, vec![alice]), &ring).is_err());
    }
}
