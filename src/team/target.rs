//! Which environment a file's values are sealed to when no recipient is given
//! (`spec/policy.md` sections 2.5 and 6): the one whose files cover it, after the
//! checks that keep a sealer from sealing to a key nobody holds, to a key someone
//! swapped in, or for members a file was not sealed for before.

use std::path::Path;

use super::TeamError;
use super::error::Unopenable;
use super::keyring::Keyring;
use super::pins::Pin;
use super::policy::{Environment, Policy};
use super::repo::Repo;
use super::session::Session;
use crate::seal::PublicKey;

/// What seal and set asked of the policy.
#[derive(Clone, Copy, Debug, Default)]
pub struct TargetOptions<'a> {
    /// `--env NAME`: for a file no environment covers (never to move a covered one).
    pub env: Option<&'a str>,
    /// `--force`: seal even when nobody could open the value.
    pub force: bool,
    /// What changes the caller expects.
    pub accept: Accept,
    /// The file is about to be created (an import's output), so it need not
    /// exist yet.
    pub new_file: bool,
}

/// The changes a caller said they expect, after checking them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accept {
    /// `--accept-new-key`: an environment's key is not the one pinned here.
    pub new_key: bool,
    /// `--accept-new-env`: a file's environment is not the one it was sealed for
    /// here.
    pub new_env: bool,
}

/// Decides whether to seal to `env`'s key, and for `file` (relative to the
/// root) whether it may be sealed for `env` (`spec/policy.md` section 6):
///
/// - a key anchored from outside the repository decides alone: the policy's key
///   must be it, and the pin store is not used;
/// - else the pin decides: the same key passes; another key is refused unless
///   `accept.new_key` (a member who can open the keyring is told when its key is
///   the new one, so a rotation made elsewhere is told from a swap);
/// - a key with no pin: refused in a repository whose other environments are
///   pinned, or when first use is refused (`require_pin`), unless
///   `accept.new_key`; otherwise pinned on first use, after a member's check;
/// - a member (identities that open the keyring) refuses a policy key that is not
///   the keyring's current key, whenever the key is not pinned already;
/// - a file this machine sealed for another environment is refused unless
///   `accept.new_env`; the file's environment is recorded.
pub fn vouch<C: age::Callbacks>(
    repo: &Repo,
    env: &Environment,
    file: Option<&str>,
    accept: Accept,
    session: &Session<'_, C>,
) -> Result<(), TeamError> {
    let key = env.public_key.key_id();
    if let Some(anchor) = session.anchors.key(&env.name) {
        if anchor != key {
            return Err(TeamError::AnchorMismatch {
                env: env.name.clone(),
                key,
                anchor,
            });
        }
        return Ok(());
    }
    let name = repo.pin_name();
    let pins = session.pins.read()?;
    let member_ring = || -> Result<Option<Keyring>, TeamError> {
        let Some(ids) = (session.identities)() else {
            return Ok(None);
        };
        match repo.unlock(&env.name, &ids) {
            Ok(ring) => Ok(Some(ring)),
            Err(
                TeamError::NotAMember(_)
                | TeamError::IdentityUnusable { .. }
                | TeamError::KeyringMissing(_),
            ) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let pin_key = match pins.check(name, &env.name, &key) {
        Pin::Same => false,
        Pin::Changed(pinned) => {
            let ring = member_ring()?;
            if let Some(ring) = &ring {
                let current = ring.current().secret.public_key().key_id();
                if current != key {
                    return Err(TeamError::KeyringMismatch {
                        env: env.name.clone(),
                        policy: key,
                        keyring: current,
                    });
                }
            }
            if !accept.new_key {
                return Err(match ring {
                    Some(_) => TeamError::NewKeyInKeyring {
                        env: env.name.clone(),
                        key,
                        pinned: Some(pinned),
                    },
                    None => TeamError::KeyChanged {
                        env: env.name.clone(),
                        key,
                        pinned,
                    },
                });
            }
            true
        }
        Pin::Unknown => {
            if !accept.new_key && pins.knows(name) {
                return Err(TeamError::NewEnvironment {
                    env: env.name.clone(),
                    key,
                });
            }
            if !accept.new_key && session.anchors.require_pin {
                return Err(TeamError::FirstUseRefused {
                    env: env.name.clone(),
                    key,
                });
            }
            if let Some(ring) = member_ring()? {
                let current = ring.current().secret.public_key().key_id();
                if current != key {
                    // The policy's key retired in the keyring looks like a rotation
                    // in progress; finishing it is `rotate`'s job, with a key of its
                    // own (the keyring's new key is nobody's word here).
                    return Err(if ring.has_retired(&key) {
                        TeamError::NewKeyInKeyring {
                            env: env.name.clone(),
                            key: current,
                            pinned: None,
                        }
                    } else {
                        TeamError::KeyringMismatch {
                            env: env.name.clone(),
                            policy: key,
                            keyring: current,
                        }
                    });
                }
            }
            true
        }
    };
    let record = match file.map(|f| (f, pins.file_environment(name, f))) {
        Some((f, Some(before))) if before != env.name => {
            if !accept.new_env {
                return Err(TeamError::EnvironmentChanged {
                    file: f.to_string(),
                    from: before.to_string(),
                    to: env.name.clone(),
                });
            }
            Some(f)
        }
        Some((f, None)) => Some(f),
        _ => None,
    };
    if pin_key || record.is_some() {
        session.update_pins(|pins| {
            if pin_key {
                pins.pin(name, &env.name, &key);
            }
            if let Some(f) = record {
                pins.record_file(name, f, &env.name);
            }
        })?;
        if pin_key {
            session.observer.pinned(&env.name, &key);
        }
    }
    Ok(())
}

/// Where seal and set send values when no recipient is given.
#[derive(Clone, Debug)]
pub struct SealTarget {
    /// The environment's public key.
    pub recipient: PublicKey,
    /// The environment.
    pub env: Environment,
    /// The repository's policy, to name other environments in errors.
    pub policy: Policy,
}

impl Repo {
    /// The environment `file` belongs to: the one whose files cover it, or, for a
    /// file no environment covers (or standard input, `stdin`), the one named.
    /// Naming another environment than the covering one is refused: it would seal
    /// the file for another environment's members.
    pub fn environment_of_file(
        &self,
        file: &Path,
        stdin: bool,
        asked: Option<&str>,
    ) -> Result<&Environment, TeamError> {
        let shown = file.display().to_string();
        let covering = |rel: &str| {
            self.policy
                .environment_for(rel)
                .map_err(|source| TeamError::Policy {
                    file: super::POLICY_FILE.to_string(),
                    source,
                })
        };
        match asked {
            Some(name) => {
                if !stdin
                    && let Some(rel) = self.relative(file)
                    && let Ok(Some(env)) = covering(&rel)
                    && env.name != name
                {
                    return Err(TeamError::EnvMovesFile {
                        file: shown,
                        covering: env.name.clone(),
                        asked: name.to_string(),
                    });
                }
                self.env(name)
            }
            None if stdin => Err(TeamError::StdinNeedsEnv),
            None => {
                let rel = self.relative(file).ok_or_else(|| TeamError::OutsideRoot {
                    file: shown.clone(),
                    policy: self.policy_path.clone(),
                })?;
                covering(&rel)?.ok_or(TeamError::NotCovered { file: shown, rel })
            }
        }
    }

    /// Refuses an environment nobody could open a value of: no keyring, or no
    /// member.
    pub fn require_openable(&self, env: &Environment) -> Result<(), TeamError> {
        let why = if !self.keyring_path(&env.name).exists() {
            Unopenable::NoKeyring
        } else if env.members.is_empty() {
            Unopenable::NoMembers
        } else {
            return Ok(());
        };
        Err(TeamError::Unopenable {
            env: env.name.clone(),
            why,
        })
    }
}

/// Resolves `file`'s environment from the policy above it (above the current
/// directory for standard input), for seal and set: the environment that covers
/// it, openable by someone (unless `force`), its key and the file's environment
/// vouched for ([`vouch`]).
pub fn seal_target<C: age::Callbacks>(
    file: &Path,
    stdin: bool,
    options: TargetOptions<'_>,
    session: &Session<'_, C>,
) -> Result<SealTarget, TeamError> {
    let repo = if stdin {
        Repo::find_from(Path::new("."), session.safe)?
    } else {
        Repo::of_file(file, session.safe)?
    }
    .ok_or(TeamError::NoRecipient)?;
    if !stdin && !options.new_file && !file.exists() {
        return Err(TeamError::NoSuchFile(file.display().to_string()));
    }
    let env = repo.environment_of_file(file, stdin, options.env)?.clone();
    if !options.force {
        repo.require_openable(&env)?;
    }
    let rel = if stdin { None } else { repo.relative(file) };
    vouch(&repo, &env, rel.as_deref(), options.accept, session)?;
    Ok(SealTarget {
        recipient: env.public_key,
        env,
        policy: repo.policy,
    })
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::seal::SecretKey;

    /// A repository whose policy has `production` (covering `config/prod/**`,
    /// with a member) and `staging` (no files, no member).
    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let key = |seed| SecretKey::from_bytes([seed; 32]).public_key();
        let policy = format!(
            "version = 1\n\n[environments.production]\npublic_key = \"{}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = [\"config/prod/**\"]\n\n[environments.production.members]\nalice = \"{}\"\n\n[environments.staging]\npublic_key = \"{}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = []\n",
            key(1),
            key(2),
            key(3)
        );
        fs::write(dir.path().join(".cachet.toml"), policy).unwrap();
        for f in ["config/prod/app.toml", "config/other.toml"] {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "").unwrap();
        }
        let repo = Repo::open(dir.path(), &super::super::trust::SafeDirectories::None).unwrap();
        (dir, repo)
    }

    #[test]
    fn a_covered_file_belongs_to_its_environment_and_env_cannot_move_it() {
        let (dir, repo) = repo();
        let app = dir.path().join("config/prod/app.toml");
        assert_eq!(
            repo.environment_of_file(&app, false, None).unwrap().name,
            "production"
        );
        assert_eq!(
            repo.environment_of_file(&app, false, Some("production"))
                .unwrap()
                .name,
            "production"
        );
        let e = repo
            .environment_of_file(&app, false, Some("staging"))
            .unwrap_err();
        assert!(
            matches!(e, TeamError::EnvMovesFile { ref covering, ref asked, .. } if covering == "production" && asked == "staging"),
            "{e}"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Refused
        );
    }

    #[test]
    fn an_uncovered_file_needs_env_and_stdin_always_does() {
        let (dir, repo) = repo();
        let other = dir.path().join("config/other.toml");
        let e = repo.environment_of_file(&other, false, None).unwrap_err();
        assert!(
            matches!(e, TeamError::NotCovered { ref rel, .. } if rel == "config/other.toml"),
            "{e}"
        );
        assert_eq!(
            repo.environment_of_file(&other, false, Some("staging"))
                .unwrap()
                .name,
            "staging"
        );
        let e = repo
            .environment_of_file(Path::new("-"), true, None)
            .unwrap_err();
        assert!(matches!(e, TeamError::StdinNeedsEnv), "{e}");
        let e = repo
            .environment_of_file(&other, false, Some("nope"))
            .unwrap_err();
        assert!(e.to_string().contains("no environment \"nope\""), "{e}");
    }

    #[test]
    fn an_environment_nobody_can_open_is_refused() {
        let (_dir, repo) = repo();
        let e = repo
            .require_openable(repo.env("production").unwrap())
            .unwrap_err();
        assert!(
            matches!(
                e,
                TeamError::Unopenable {
                    why: Unopenable::NoKeyring,
                    ..
                }
            ),
            "{e}"
        );
        fs::create_dir_all(repo.root.join(".cachet/keys")).unwrap();
        fs::write(repo.keyring_path("production"), "").unwrap();
        assert!(
            repo.require_openable(repo.env("production").unwrap())
                .is_ok()
        );
        fs::write(repo.keyring_path("staging"), "").unwrap();
        let e = repo
            .require_openable(repo.env("staging").unwrap())
            .unwrap_err();
        assert!(
            matches!(
                e,
                TeamError::Unopenable {
                    why: Unopenable::NoMembers,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Refused
        );
    }
}
