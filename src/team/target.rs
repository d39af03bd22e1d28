//! Which environment a file's values are sealed to when no recipient is given
//! (`spec/policy.md` sections 2.5 and 6): the one whose files cover it, after the
//! checks that keep a sealer from sealing to a key nobody holds or to a key
//! someone swapped in.

use std::path::Path;

use super::TeamError;
use super::error::Unopenable;
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
    /// `--accept-new-key`: the environment's key changed, and that is expected.
    pub accept_new_key: bool,
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
/// it, openable by someone (unless `force`), its key the one pinned on this
/// machine (pinned now on first use).
pub fn seal_target<C: age::Callbacks>(
    file: &Path,
    stdin: bool,
    options: TargetOptions<'_>,
    session: &Session<'_, C>,
) -> Result<SealTarget, TeamError> {
    let repo = if stdin {
        Repo::find_from(Path::new("."))?
    } else {
        Repo::of_file(file)?
    }
    .ok_or(TeamError::NoRecipient)?;
    if !stdin && !file.exists() {
        return Err(TeamError::NoSuchFile(file.display().to_string()));
    }
    let env = repo.environment_of_file(file, stdin, options.env)?.clone();
    if !options.force {
        repo.require_openable(&env)?;
    }
    session.pin(
        &repo.pin_name(),
        &env.name,
        &env.public_key.key_id(),
        options.accept_new_key,
    )?;
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
        let repo = Repo::open(dir.path()).unwrap();
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
        assert_eq!(crate::error::Classified::kind(&e), crate::error::ErrorKind::Refused);
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
        assert_eq!(crate::error::Classified::kind(&e), crate::error::ErrorKind::Refused);
    }
}
