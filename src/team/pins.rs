//! Key pinning: the key id each environment of each repository had when this
//! machine first sealed to it, kept like ssh's `known_hosts`. A repository writer
//! who swaps an environment's public key for one of their own is then caught: the
//! next sealer sees a changed key and refuses it until told `--accept-new-key`.
//!
//! The store is a TOML file (`$XDG_CONFIG_HOME/cachet/known_keys.toml`): one table
//! per repository, named by the policy directory's absolute path, mapping each
//! environment name to its key id.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, value};

use super::TeamError;
use super::repo::lock_file;
use crate::seal::KeyId;
use crate::worktree::atomic::{self, Mode};

/// What the store says about an environment's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pin {
    /// Never sealed to from this machine.
    Unknown,
    /// The same key as before.
    Same,
    /// Another key than the pinned one, whose key id is given.
    Changed(String),
}

/// The pinned key ids.
#[derive(Clone, Debug)]
pub struct Pins {
    doc: DocumentMut,
}

impl Pins {
    /// An empty store.
    pub fn new() -> Pins {
        let doc = "# Environment keys this machine has sealed to, pinned on first use.\n\
                   # A changed key is refused until accepted with `cachet seal --accept-new-key`.\n"
            .parse()
            .unwrap_or_default();
        Pins { doc }
    }

    /// Reads a store; `None` when it is not valid TOML of tables of strings.
    pub fn parse(text: &str) -> Option<Pins> {
        let doc: DocumentMut = text.parse().ok()?;
        let valid = doc.iter().all(|(_, v)| {
            v.as_table()
                .is_some_and(|t| t.iter().all(|(_, id)| id.as_str().is_some()))
        });
        valid.then_some(Pins { doc })
    }

    /// Compares `key` with the pin of `environment` in `repository`.
    pub fn check(&self, repository: &str, environment: &str, key: &KeyId) -> Pin {
        match self
            .doc
            .get(repository)
            .and_then(|t| t.get(environment))
            .and_then(Item::as_str)
        {
            None => Pin::Unknown,
            Some(id) if id == key.to_string() => Pin::Same,
            Some(id) => Pin::Changed(id.to_string()),
        }
    }

    /// Whether any environment of `repository` is pinned: a repository this
    /// machine has sealed for before.
    pub fn knows(&self, repository: &str) -> bool {
        self.doc
            .get(repository)
            .and_then(Item::as_table)
            .is_some_and(|t| !t.is_empty())
    }

    /// Pins `key` for `environment` in `repository`, replacing any earlier pin.
    pub fn pin(&mut self, repository: &str, environment: &str, key: &KeyId) {
        let table = self
            .doc
            .entry(repository)
            .or_insert_with(|| Item::Table(Table::new()));
        if !table.is_table() {
            *table = Item::Table(Table::new());
        }
        table[environment] = value(key.to_string());
    }
}

impl Default for Pins {
    fn default() -> Self {
        Pins::new()
    }
}

impl std::fmt::Display for Pins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.doc)
    }
}

/// What [`PinStore::check_and_pin`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinOutcome {
    /// The key was pinned already.
    AlreadyPinned,
    /// The key was pinned now (first use, or a change that was accepted).
    Pinned,
}

/// The pin file of this machine's user.
#[derive(Clone, Debug)]
pub struct PinStore {
    path: Option<PathBuf>,
}

impl PinStore {
    /// The store kept in `path` (`known_keys.toml` in cachet's configuration
    /// directory); `None` when the user has no configuration directory, and
    /// nothing can be pinned.
    pub fn new(path: Option<PathBuf>) -> Self {
        PinStore { path }
    }

    /// Where the store is.
    pub fn path(&self) -> Result<&Path, TeamError> {
        self.path.as_deref().ok_or(TeamError::NoPinStore)
    }

    /// What the store holds (empty when it does not exist).
    pub fn read(&self) -> Result<Pins, TeamError> {
        let path = self.path()?;
        match fs::read_to_string(path) {
            Ok(t) => Pins::parse(&t).ok_or_else(|| TeamError::PinsInvalid(path.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Pins::new()),
            Err(e) => Err(TeamError::io(path.display().to_string(), "cannot read", e)),
        }
    }

    /// Compares an environment's key with the one pinned, and pins it on first
    /// use, or when `accept` says a change is expected (`spec/policy.md` section
    /// 6). A changed key is refused; so is an environment new to a repository
    /// whose other environments are pinned, since it may have been added to
    /// capture files of a known one. `waiting` is called once if another process
    /// holds the store's lock.
    pub fn check_and_pin(
        &self,
        repository: &str,
        env: &str,
        key: &KeyId,
        accept: bool,
        waiting: impl FnOnce(),
    ) -> Result<PinOutcome, TeamError> {
        let pins = self.read()?;
        match pins.check(repository, env, key) {
            Pin::Same => return Ok(PinOutcome::AlreadyPinned),
            Pin::Changed(pinned) if !accept => {
                return Err(TeamError::KeyChanged {
                    env: env.to_string(),
                    key: *key,
                    pinned,
                });
            }
            Pin::Unknown if !accept && pins.knows(repository) => {
                return Err(TeamError::NewEnvironment {
                    env: env.to_string(),
                    key: *key,
                });
            }
            Pin::Changed(_) | Pin::Unknown => {}
        }
        let path = self.path()?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        fs::create_dir_all(&dir).map_err(|e| TeamError::io(dir.display().to_string(), "", e))?;
        let _lock = lock_file(path, waiting)?;
        let mut pins = self.read()?;
        pins.pin(repository, env, key);
        atomic::write_atomic(path, pins.to_string().as_bytes(), Mode::Private, false)
            .map_err(|e| TeamError::io(path.display().to_string(), "cannot write", e))?;
        Ok(PinOutcome::Pinned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key::SecretKey;

    #[test]
    fn a_pin_is_unknown_then_same_then_changed() {
        let a = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let b = SecretKey::from_bytes([2; 32]).public_key().key_id();
        let mut pins = Pins::new();
        let repo = "/srv/app repo \"x\"";
        assert_eq!(pins.check(repo, "production", &a), Pin::Unknown);
        pins.pin(repo, "production", &a);
        let pins = Pins::parse(&pins.to_string()).unwrap();
        assert_eq!(pins.check(repo, "production", &a), Pin::Same);
        assert_eq!(
            pins.check(repo, "production", &b),
            Pin::Changed(a.to_string())
        );
        assert_eq!(pins.check("/other", "production", &b), Pin::Unknown);
        assert!(Pins::parse("x = 1\n").is_none());
        assert!(Pins::parse("[r]\nx = 1\n").is_none());
    }

    #[test]
    fn the_store_pins_on_first_use_and_refuses_a_changed_or_unexpected_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::new(Some(dir.path().join("cachet/known_keys.toml")));
        let a = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let b = SecretKey::from_bytes([2; 32]).public_key().key_id();
        let no_wait = || panic!("nobody holds the lock");
        assert_eq!(
            store
                .check_and_pin("r", "production", &a, false, no_wait)
                .unwrap(),
            PinOutcome::Pinned
        );
        assert_eq!(
            store
                .check_and_pin("r", "production", &a, false, no_wait)
                .unwrap(),
            PinOutcome::AlreadyPinned
        );
        let changed = store
            .check_and_pin("r", "production", &b, false, no_wait)
            .unwrap_err();
        assert!(matches!(changed, TeamError::KeyChanged { .. }), "{changed}");
        assert_eq!(crate::error::Classified::kind(&changed), crate::error::ErrorKind::Refused);
        // A new environment of a known repository is a change too.
        let new = store
            .check_and_pin("r", "staging", &b, false, no_wait)
            .unwrap_err();
        assert!(matches!(new, TeamError::NewEnvironment { .. }), "{new}");
        // Accepted, the change is pinned; an unknown repository pins on first use.
        assert_eq!(
            store
                .check_and_pin("r", "production", &b, true, no_wait)
                .unwrap(),
            PinOutcome::Pinned
        );
        assert_eq!(
            store.read().unwrap().check("r", "production", &b),
            Pin::Same
        );
        assert_eq!(
            store
                .check_and_pin("other", "staging", &b, false, no_wait)
                .unwrap(),
            PinOutcome::Pinned
        );
        fs::write(store.path().unwrap(), "x = 1\n").unwrap();
        assert!(matches!(store.read(), Err(TeamError::PinsInvalid(_))));
    }
}
