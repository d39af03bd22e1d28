//! What `cachet check` says of each environment (`spec/audit.md` section 4.1):
//! members, its keyring and whether it agrees with the policy, the age of its
//! key, keyrings of no environment, and keys that changed from this machine's pins.

use std::fs;

use super::findings::{self, Severity};
use crate::seal::SealedAt;
use crate::team::identity_file::IdentitySet;
use crate::team::pins::{Pin, Pins};
use crate::team::trust::differences;
use crate::team::{Keyring, POLICY_FILE, Repo, TeamError};

/// What an environment's keyring told.
#[derive(Debug)]
pub enum RingState {
    /// Opened with the caller's identity.
    Read(Keyring),
    /// Present, not opened: why.
    NotChecked(&'static str),
    /// No keyring file.
    Missing,
    /// It does not open or belongs to another environment: the message.
    Unreadable(String),
}

/// Opens each environment's keyring that `ids` can open (`None`: no identity was
/// found, and the keyrings are not checked).
pub fn open_keyrings(repo: &Repo, ids: Option<&IdentitySet>) -> Vec<(String, RingState)> {
    repo.policy
        .environments
        .iter()
        .map(|env| {
            let name = &env.name;
            let ring = if !repo.keyring_path(name).exists() {
                RingState::Missing
            } else if let Some(ids) = ids {
                match repo.unlock(name, ids) {
                    Ok(ring) => RingState::Read(ring),
                    Err(TeamError::NotAMember(_)) => RingState::NotChecked("you are not a member"),
                    Err(e) => RingState::Unreadable(e.to_string()),
                }
            } else {
                RingState::NotChecked("no identity")
            };
            (name.clone(), ring)
        })
        .collect()
}

/// The key ids the policy and the opened keyrings know.
pub fn key_index(repo: &Repo, rings: &[(String, RingState)]) -> super::KeyIndex {
    let mut keys = super::KeyIndex::new(&repo.policy);
    for (_, ring) in rings {
        if let RingState::Read(r) = ring {
            keys.add_keyring(r);
        }
    }
    keys
}

/// One line `check` prints about an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentLine {
    /// The line, without its line break.
    pub text: String,
    /// A problem, a warning, or neither (`ok`, not checked).
    pub severity: Option<Severity>,
}

/// The lines about each environment (the policy, its keyring, its key's age), the
/// orphan keyrings and the pins (`pins`, when this machine has a pin store).
pub fn environment_lines(
    repo: &Repo,
    rings: &[(String, RingState)],
    pins: Option<&Pins>,
    strict: bool,
    now: SealedAt,
) -> Vec<EnvironmentLine> {
    let mut out = Vec::new();
    let info = |text: String| EnvironmentLine {
        text,
        severity: None,
    };
    let problem = |text: String| EnvironmentLine {
        text,
        severity: Some(Severity::Problem),
    };
    for env in &repo.policy.environments {
        let name = &env.name;
        let ring = rings.iter().find(|(n, _)| n == name).map(|(_, r)| r);
        let mut found: Vec<EnvironmentLine> = Vec::new();
        if env.members.is_empty() {
            found.push(problem(format!(
                "{name}: problem: no members in {POLICY_FILE}: nobody can open its key"
            )));
        }
        let mut keyring_created = None;
        match ring {
            Some(RingState::Missing) => found.push(problem(format!(
                "{name}: problem: its keyring {} is missing",
                Repo::keyring_name(name)
            ))),
            Some(RingState::Read(ring)) => {
                keyring_created = ring
                    .keys
                    .iter()
                    .find(|k| k.secret.public_key() == env.public_key)
                    .map(|k| k.created);
                let key_differs = ring.current().secret.public_key() != env.public_key;
                found.extend(differences(env, ring).into_iter().enumerate().map(|(i, d)| {
                    problem(if key_differs && i == 0 {
                        // A key in one that is not in the other is how someone would
                        // redirect secrets: no repair takes either side unasked.
                        format!("{name}: problem: {d}; find out who wrote each (git log -- {POLICY_FILE} {}); `cachet members sync {name} --from-keyring` adopts the keyring's key only if this machine pinned it or you pass --accept-new-key", Repo::keyring_name(name))
                    } else {
                        format!("{name}: problem: {d}; find out why (a hand-added member may be someone granting themselves access), then repair with `cachet members sync {name}` or `--from-keyring`")
                    })
                }));
            }
            Some(RingState::Unreadable(message)) => {
                found.push(problem(format!("{name}: problem: {message}")));
            }
            Some(RingState::NotChecked(why)) => {
                out.push(info(format!("{name}: keyring not checked ({why})")));
            }
            None => {}
        }
        if let Some(owed) = &env.rotation_owed {
            let names: Vec<String> = owed.removed.iter().map(|n| format!("{n:?}")).collect();
            found.push(problem(format!(
                "{name}: problem: a rotation is owed: {} removed since {} without one, and knew its key (every value sealed before then is theirs to open); run `cachet rotate {name}`, then change the secrets `cachet check` lists as sealed before the removal",
                names.join(", "),
                owed.since.rfc3339()
            )));
        }
        let age = findings::key_age(env, keyring_created, now);
        if let Some(f) = findings::rotation_finding(env, &age, strict) {
            found.push(EnvironmentLine {
                text: f.to_string(),
                severity: Some(f.severity),
            });
        }
        if found.is_empty() && matches!(ring, Some(RingState::Read(_))) {
            out.push(info(format!("{name}: ok")));
        }
        out.extend(found);
    }
    if let Ok(entries) = fs::read_dir(repo.root.join(".cachet").join("keys")) {
        let mut orphans: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| {
                n.strip_suffix(".age")
                    .is_some_and(|env| repo.policy.environment(env).is_err())
            })
            .collect();
        orphans.sort();
        for n in orphans {
            out.push(problem(format!(
                ".cachet/keys/{}: problem: a keyring of no environment in {POLICY_FILE} (left by an interrupted `env add`?); remove it if nothing uses it",
                findings::shown(&n)
            )));
        }
    }
    if let Some(pins) = pins {
        let repository = repo.pin_name();
        for env in &repo.policy.environments {
            if let Pin::Changed(old) = pins.check(repository, &env.name, &env.public_key.key_id()) {
                out.push(problem(format!(
                    "{}: problem: its public key (key id {}) is not the one this machine pinned (key id {old})",
                    env.name,
                    env.public_key.key_id()
                )));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::SecretKey;

    fn repo(with_member: bool) -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::from_bytes([1; 32]).public_key();
        let members = if with_member {
            format!(
                "[environments.production.members]\na = \"{}\"\n",
                SecretKey::from_bytes([3; 32]).public_key()
            )
        } else {
            String::new()
        };
        let policy = format!(
            "version = 1\n\n[environments.production]\npublic_key = \"{key}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = []\n{members}"
        );
        fs::write(dir.path().join(".cachet.toml"), policy).unwrap();
        fs::create_dir_all(dir.path().join(".cachet/keys")).unwrap();
        fs::write(dir.path().join(".cachet/keys/old.age"), "").unwrap();
        let repo = Repo::open(dir.path(), &crate::team::trust::SafeDirectories::None).unwrap();
        (dir, repo)
    }

    #[test]
    fn no_members_a_missing_keyring_an_orphan_keyring_and_a_changed_pin_are_problems() {
        let (_dir, repo) = repo(false);
        let rings = open_keyrings(&repo, None);
        assert!(matches!(rings[0].1, RingState::Missing));
        let mut pins = Pins::new();
        pins.pin(
            repo.pin_name(),
            "production",
            &SecretKey::from_bytes([2; 32]).public_key().key_id(),
        );
        let now = SealedAt::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
        let lines = environment_lines(&repo, &rings, Some(&pins), false, now);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "production: problem: no members in .cachet.toml: nobody can open its key",
                "production: problem: its keyring .cachet/keys/production.age is missing",
                ".cachet/keys/old.age: problem: a keyring of no environment in .cachet.toml (left by an interrupted `env add`?); remove it if nothing uses it",
                &format!(
                    "production: problem: its public key (key id {}) is not the one this machine pinned (key id {})",
                    SecretKey::from_bytes([1; 32]).public_key().key_id(),
                    SecretKey::from_bytes([2; 32]).public_key().key_id()
                ),
            ]
        );
        assert!(lines.iter().all(|l| l.severity == Some(Severity::Problem)));
    }

    #[test]
    fn a_keyring_without_an_identity_is_not_checked() {
        let (_dir, repo) = repo(true);
        fs::write(repo.keyring_path("production"), "x").unwrap();
        let rings = open_keyrings(&repo, None);
        let now = SealedAt::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
        let lines = environment_lines(&repo, &rings, None, false, now);
        assert_eq!(
            lines[0].text,
            "production: keyring not checked (no identity)"
        );
        assert_eq!(lines[0].severity, None);
    }
}
