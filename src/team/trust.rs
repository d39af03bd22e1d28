//! What a member checks before trusting the policy: that it agrees with the
//! keyring they can open (`spec/policy.md` section 7).

use std::collections::BTreeSet;

use super::TeamError;
use super::keyring::Keyring;
use super::member::Member;
use super::policy::{Environment, POLICY_FILE};

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
        assert_eq!(crate::error::Classified::kind(&e), crate::error::ErrorKind::Refused);
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
