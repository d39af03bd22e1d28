//! A repository with a policy: finding it (`spec/policy.md` section 2), naming its
//! files, and reading and writing its policy and keyrings (section 4), every write
//! under the policy's lock.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use super::TeamError;
use super::identity_file::IdentitySet;
use super::keyring::{Keyring, KeyringError};
use super::pins::PinName;
use super::policy::{self, Environment, POLICY_FILE, Policy};
use super::trust::{SafeDirectories, check_team_file};
use crate::worktree::atomic::{self, FileLock, Mode};
use crate::worktree::git;

/// A repository with a policy: where it is, and what the policy says.
#[derive(Debug)]
pub struct Repo {
    /// The directory holding `.cachet.toml`, canonical.
    pub root: PathBuf,
    /// The policy file.
    pub policy_path: PathBuf,
    /// The parsed policy.
    pub policy: Policy,
    /// Where team files another user owns are accepted.
    safe: SafeDirectories,
    /// How the pin store names this repository, once asked.
    pin_name: OnceLock<PinName>,
}

/// Reads and parses a policy file.
pub fn read_policy(path: &Path) -> Result<Policy, TeamError> {
    let shown = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|e| TeamError::io(&shown, "cannot read", e))?;
    if holds_merge_conflict(text.as_bytes()) {
        return Err(TeamError::MergeConflict {
            file: shown,
            keyring: None,
        });
    }
    Policy::parse(&text).map_err(|source| TeamError::Policy {
        file: shown,
        source,
    })
}

/// Whether a file holds git's conflict markers: a line beginning `<<<<<<< `
/// and, after it, one beginning `>>>>>>> `.
pub fn holds_merge_conflict(bytes: &[u8]) -> bool {
    let mut lines = bytes.split(|b| *b == b'\n');
    lines.any(|l| l.starts_with(b"<<<<<<< ")) && lines.any(|l| l.starts_with(b">>>>>>> "))
}

impl Repo {
    /// The repository whose policy is the nearest `.cachet.toml` at or above
    /// `dir`; `None` when there is none.
    ///
    /// A policy inside the tree of another policy is refused: whoever writes that
    /// subdirectory could otherwise choose the keys for its files. So is a policy
    /// that is a symbolic link, or that another user owns unless `safe` accepts
    /// the repository ([`check_team_file`]).
    pub fn find_from(dir: &Path, safe: &SafeDirectories) -> Result<Option<Repo>, TeamError> {
        let dir =
            fs::canonicalize(dir).map_err(|e| TeamError::io(dir.display().to_string(), "", e))?;
        let Some(policy_path) = policy::find_policy(&dir) else {
            return Ok(None);
        };
        let root = policy_path
            .parent()
            .map_or_else(|| dir.clone(), Path::to_path_buf);
        if let Some(outer) = root.parent().and_then(policy::find_policy) {
            return Err(TeamError::NestedPolicy {
                inner: policy_path,
                outer,
            });
        }
        check_team_file(&policy_path, &root, safe)?;
        let policy = read_policy(&policy_path)?;
        Ok(Some(Repo {
            root,
            policy_path,
            policy,
            safe: safe.clone(),
            pin_name: OnceLock::new(),
        }))
    }

    /// The repository of `dir`; an error when there is none.
    pub fn open(dir: &Path, safe: &SafeDirectories) -> Result<Repo, TeamError> {
        Repo::find_from(dir, safe)?.ok_or(TeamError::NoPolicy)
    }

    /// The repository a file belongs to (found from the file's directory).
    pub fn of_file(file: &Path, safe: &SafeDirectories) -> Result<Option<Repo>, TeamError> {
        Repo::find_from(atomic::parent_dir(file), safe)
    }

    /// Refuses to create a policy in `dir` inside the tree of another: there is
    /// one policy per repository.
    pub fn refuse_nested_init(dir: &Path) -> Result<(), TeamError> {
        let dir =
            fs::canonicalize(dir).map_err(|e| TeamError::io(dir.display().to_string(), "", e))?;
        match dir.parent().and_then(policy::find_policy) {
            Some(outer) => Err(TeamError::InitInsideTree(outer)),
            None => Ok(()),
        }
    }

    /// `file`'s path relative to the root, `/`-separated (`None` when outside it).
    pub fn relative(&self, file: &Path) -> Option<String> {
        // A file about to be written (an import's output) resolves by its
        // directory; its own name is not a link yet.
        let abs = fs::canonicalize(file).ok().or_else(|| {
            let name = file.file_name()?;
            Some(fs::canonicalize(atomic::parent_dir(file)).ok()?.join(name))
        })?;
        let rel = abs.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// The name this repository's environments are pinned under on this machine
    /// ([`super::pins`]): its history's root commits when git has them, so every
    /// clone on a machine shares its pins, else its root's path.
    pub fn pin_name(&self) -> &PinName {
        self.pin_name.get_or_init(|| {
            let path = self.root.to_string_lossy().into_owned();
            let id = git::history_id(&self.root)
                .ok()
                .flatten()
                .unwrap_or_else(|| format!("path:{path}"));
            PinName { id, path }
        })
    }

    /// Refuses a keyring of `env` (or the directories above it) that is a link or
    /// another user's.
    fn check_keyring_files(&self, env: &str) -> Result<(), TeamError> {
        let dir = self.root.join(".cachet");
        for path in [dir.clone(), dir.join("keys"), self.keyring_path(env)] {
            check_team_file(&path, &self.root, &self.safe)?;
        }
        Ok(())
    }

    /// Where an environment's keyring is.
    pub fn keyring_path(&self, env: &str) -> PathBuf {
        policy::keyring_path(&self.root, env)
    }

    /// How a keyring is named in messages: relative to the root.
    pub fn keyring_name(env: &str) -> String {
        format!(".cachet/keys/{env}.age")
    }

    /// An environment of the policy.
    pub fn env(&self, name: &str) -> Result<&Environment, TeamError> {
        self.policy
            .environment(name)
            .map_err(|source| TeamError::Policy {
                file: POLICY_FILE.to_string(),
                source,
            })
    }

    /// Decrypts an environment's keyring with the caller's identities, and checks
    /// that it is that environment's.
    pub fn unlock(&self, env: &str, ids: &IdentitySet) -> Result<Keyring, TeamError> {
        self.check_keyring_files(env)?;
        let bytes = match fs::read(self.keyring_path(env)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(TeamError::KeyringMissing(env.to_string()));
            }
            Err(e) => return Err(TeamError::io(Repo::keyring_name(env), "cannot read", e)),
        };
        if holds_merge_conflict(&bytes) {
            return Err(TeamError::MergeConflict {
                file: Repo::keyring_name(env),
                keyring: Some(env.to_string()),
            });
        }
        let ring = Keyring::open(&bytes, ids.age_identities()).map_err(|e| match e {
            // An identity that could not be opened is bad input, not a refusal.
            KeyringError::NotAMember => match ids.unlock_failure() {
                Some((source, why)) => TeamError::IdentityUnusable {
                    env: env.to_string(),
                    source,
                    why,
                },
                None => TeamError::NotAMember(env.to_string()),
            },
            source => TeamError::Keyring {
                env: env.to_string(),
                writing: false,
                source,
            },
        })?;
        if ring.environment != env {
            return Err(TeamError::WrongEnvironment {
                env: env.to_string(),
                found: ring.environment,
            });
        }
        Ok(ring)
    }

    /// Encrypts and writes an environment's keyring. Only under the policy's lock
    /// ([`Repo::lock`]), which guards every keyring write: so the temporary files
    /// of a killed keyring write are removed here. `callbacks` answer what a
    /// plugin recipient asks.
    pub fn write_keyring(
        &self,
        ring: &Keyring,
        callbacks: impl age::Callbacks,
    ) -> Result<(), TeamError> {
        let env = &ring.environment;
        self.check_keyring_files(env)?;
        let armored = ring.seal(callbacks).map_err(|source| TeamError::Keyring {
            env: env.clone(),
            writing: true,
            source,
        })?;
        let path = self.keyring_path(env);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| TeamError::io(dir.display().to_string(), "", e))?;
        }
        atomic::remove_stale_temps(&path);
        atomic::write_atomic(&path, armored.as_bytes(), Mode::Keep, false)
            .map_err(|e| TeamError::io(Repo::keyring_name(env), "cannot write", e))
    }

    /// Writes the policy, and keeps it as this repository's.
    pub fn write_policy(&mut self, policy: Policy) -> Result<(), TeamError> {
        atomic::write_atomic(
            &self.policy_path,
            policy.to_string().as_bytes(),
            Mode::Keep,
            false,
        )
        .map_err(|e| TeamError::io(POLICY_FILE, "cannot write", e))?;
        self.policy = policy;
        Ok(())
    }

    /// Takes the policy's lock, which guards the policy and every keyring, removes
    /// what keyring writes killed before their rename left, and reads the policy
    /// again (another process may have changed it while this one waited).
    /// `waiting` is called once if another process holds the lock.
    pub fn lock(&mut self, waiting: impl FnOnce()) -> Result<FileLock, TeamError> {
        let held = lock_file(&self.policy_path, waiting)?;
        for env in &self.policy.environments {
            atomic::remove_stale_temps(&self.keyring_path(&env.name));
        }
        self.policy = read_policy(&self.policy_path)?;
        Ok(held)
    }
}

/// Takes the lock of `path`; `waiting` is called once if another process holds it.
pub(crate) fn lock_file(path: &Path, waiting: impl FnOnce()) -> Result<FileLock, TeamError> {
    FileLock::acquire(path, waiting)
        .map_err(|e| TeamError::io(path.display().to_string(), "cannot take the lock", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_nearest_policy_above_a_directory_is_the_repository() {
        let dir = tree(&[(".cachet.toml", "version = 1\n"), ("config/prod/x", "")]);
        let repo = Repo::find_from(&dir.path().join("config/prod"), &SafeDirectories::None)
            .unwrap()
            .unwrap();
        assert_eq!(repo.root, fs::canonicalize(dir.path()).unwrap());
        assert_eq!(
            repo.relative(&dir.path().join("config/prod/x")).as_deref(),
            Some("config/prod/x")
        );
        assert!(repo.relative(Path::new("/")).is_none());
    }

    #[test]
    fn no_policy_is_none_or_an_error_that_says_to_run_init() {
        let dir = tree(&[("a", "")]);
        // A policy above the temporary directory would make this test meaningless.
        if policy::find_policy(dir.path()).is_some() {
            return;
        }
        assert!(
            Repo::find_from(dir.path(), &SafeDirectories::None)
                .unwrap()
                .is_none()
        );
        let e = Repo::open(dir.path(), &SafeDirectories::None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no .cachet.toml in this directory or above; run `cachet init` at the repository's root"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Usage
        );
    }

    #[test]
    fn a_policy_inside_another_policys_tree_is_refused() {
        let dir = tree(&[
            (".cachet.toml", "version = 1\n"),
            ("sub/.cachet.toml", "version = 1\n"),
        ]);
        let e = Repo::find_from(&dir.path().join("sub"), &SafeDirectories::None).unwrap_err();
        assert!(matches!(e, TeamError::NestedPolicy { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("cachet uses one policy per repository"),
            "{e}"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Refused
        );
    }

    #[test]
    fn a_missing_keyring_is_refused_naming_the_environment() {
        let dir = tree(&[(".cachet.toml", "version = 1\n")]);
        let repo = Repo::open(dir.path(), &SafeDirectories::None).unwrap();
        let e = repo.unlock("production", &IdentitySet::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment production: its keyring .cachet/keys/production.age is missing; a member's copy of the repository has it, or recreate the environment"
        );
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Refused
        );
    }
}
