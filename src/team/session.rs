//! What a team command needs from the program that runs it, besides its
//! arguments: this user's key pins, someone to tell about waits, pins and
//! progress, and answers for what an age plugin asks.

use std::path::Path;

use super::identity_file::IdentitySet;
use super::pins::{PinName, PinStore};
use super::trust::{Anchors, SafeDirectories};
use crate::seal::KeyId;

/// Told what a team command is doing, as it happens. Every method does nothing
/// unless overridden; the library never prints.
pub trait Observer: Sync {
    /// Another process holds the lock of `path`; this one waits for it.
    fn waiting(&self, path: &Path) {
        let _ = path;
    }

    /// The key of environment `env` was pinned on this machine.
    fn pinned(&self, env: &str, key: &KeyId) {
        let _ = (env, key);
    }

    /// An environment's keyring, opened to read a file, disagrees with the policy
    /// (each difference one phrase); the file is read all the same.
    fn disagreement(&self, env: &str, differences: &[String]) {
        let _ = (env, differences);
    }

    /// A rotation is about to re-seal this many files.
    fn resealing(&self, files: usize) {
        let _ = files;
    }

    /// A rotation starts re-sealing its `n`-th file (0-based).
    fn file_starting(&self, n: usize) {
        let _ = n;
    }

    /// A rotation re-sealed one more file.
    fn file_done(&self) {}
}

/// An [`Observer`] that is told nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// The caller's side of a team command.
pub struct Session<'a, C: age::Callbacks> {
    /// This user's key pins.
    pub pins: &'a PinStore,
    /// Keys vouched for from outside the repository.
    pub anchors: &'a Anchors,
    /// Where team files another user owns are accepted.
    pub safe: &'a SafeDirectories,
    /// The caller's identities, if any, asked for only when a keyring is to be
    /// opened to check a key (a sealer who is not a member has none).
    pub identities: &'a dyn Fn() -> Option<IdentitySet>,
    /// Who is told what happens.
    pub observer: &'a dyn Observer,
    /// Answers for age plugins (a keyring encrypted to a plugin recipient).
    pub callbacks: C,
}

impl<C: age::Callbacks> Session<'_, C> {
    /// Pins `key` for `env`, a key made on this machine (or one whose change was
    /// checked); tells the observer.
    pub fn pin(&self, repo: &PinName, env: &str, key: &KeyId) -> Result<(), super::TeamError> {
        self.update_pins(|pins| pins.pin(repo, env, key))?;
        self.observer.pinned(env, key);
        Ok(())
    }

    /// Changes the pin store under its lock.
    pub(crate) fn update_pins(
        &self,
        change: impl FnOnce(&mut super::pins::Pins),
    ) -> Result<(), super::TeamError> {
        self.pins.update(
            || {
                if let Ok(path) = self.pins.path() {
                    self.observer.waiting(path);
                }
            },
            change,
        )
    }
}
