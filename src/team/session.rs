//! What a team command needs from the program that runs it, besides its
//! arguments: this user's key pins, someone to tell about waits, pins and
//! progress, and answers for what an age plugin asks.

use std::path::Path;

use super::pins::PinStore;
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
    /// Who is told what happens.
    pub observer: &'a dyn Observer,
    /// Answers for age plugins (a keyring encrypted to a plugin recipient).
    pub callbacks: C,
}

impl<C: age::Callbacks> Session<'_, C> {
    /// Compares `env`'s key with this machine's pin, pinning it on first use or
    /// when `accept`; tells the observer when it pinned.
    pub fn pin(
        &self,
        repository: &str,
        env: &str,
        key: &KeyId,
        accept: bool,
    ) -> Result<(), super::TeamError> {
        let outcome = self.pins.check_and_pin(repository, env, key, accept, || {
            if let Ok(path) = self.pins.path() {
                self.observer.waiting(path);
            }
        })?;
        if outcome == super::pins::PinOutcome::Pinned {
            self.observer.pinned(env, key);
        }
        Ok(())
    }
}
