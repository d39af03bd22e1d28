//! Key pinning (`spec/policy.md` section 6): the key id each environment of each
//! repository had when this machine first sealed to it, kept like ssh's
//! `known_hosts`, and the environment each file was sealed for. A repository
//! writer who swaps an environment's public key for one of their own, or moves a
//! file into another environment, is then caught: the next sealer sees the change
//! and refuses it until told to accept it.
//!
//! The store is a TOML file (`$XDG_CONFIG_HOME/cachet/known_keys.toml`), version
//! 2: one table per repository, named as [`PinName::id`] says, holding `keys`
//! (environment name to key id) and `files` (a file's path relative to the root
//! to its environment). A store of version 1 (tables of key ids named by the
//! root's absolute path) is read as the pins of the repository at that path.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, value};

use super::TeamError;
use super::repo::lock_file;
use crate::seal::KeyId;
use crate::worktree::atomic::{self, Mode};

/// The store's layout version.
const PINS_VERSION: i64 = 2;

/// How a repository is named in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinName {
    /// `git:<root commits>:<directory>` for a repository with a history (every
    /// clone shares it), else `path:<absolute root>`.
    pub id: String,
    /// The root's absolute path: pins kept under it before the repository had a
    /// history (or by version 1 of the store) still count.
    pub path: String,
}

impl PinName {
    /// The tables of `doc` that hold this repository's pins, first found first:
    /// its id's; a table of another `git:` id in the same directory whose history
    /// shares a root commit with this one (a merge of an unrelated history adds a
    /// root, and must not make a repository new to this machine); then its
    /// path's.
    fn lookups(&self, doc: &DocumentMut) -> Vec<String> {
        let mut tables = vec![self.id.clone()];
        if let Some((roots, prefix)) = git_parts(&self.id) {
            for (name, _) in doc.iter() {
                if name != self.id
                    && let Some((other, other_prefix)) = git_parts(name)
                    && other_prefix == prefix
                    && other.iter().any(|r| roots.contains(r))
                {
                    tables.push(name.to_string());
                }
            }
        }
        tables.push(format!("path:{}", self.path));
        // Version 1 named a repository by its path alone.
        tables.push(self.path.clone());
        tables
    }
}

/// The root commits and the directory of a `git:<roots>:<directory>` id.
fn git_parts(id: &str) -> Option<(Vec<&str>, &str)> {
    let (roots, prefix) = id.strip_prefix("git:")?.split_once(':')?;
    Some((roots.split(',').filter(|r| !r.is_empty()).collect(), prefix))
}

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

/// The pinned key ids and file environments.
#[derive(Clone, Debug)]
pub struct Pins {
    doc: DocumentMut,
}

impl Pins {
    /// An empty store.
    pub fn new() -> Pins {
        let mut doc: DocumentMut = "# Environment keys this machine has sealed to, pinned on first use, and the\n\
                   # environment each file was sealed for. A changed key or environment is refused\n\
                   # until accepted (`--accept-new-key`, `--accept-new-env`).\n"
            .parse()
            .unwrap_or_default();
        doc["version"] = value(PINS_VERSION);
        Pins { doc }
    }

    /// Reads a store; `None` when it is not one (version 1 or 2).
    pub fn parse(text: &str) -> Option<Pins> {
        let doc: DocumentMut = text.parse().ok()?;
        let strings = |t: &Table| t.iter().all(|(_, v)| v.as_str().is_some());
        let valid = match doc.get("version").map(|v| v.as_integer()) {
            // Version 1: tables of key ids, no version.
            None => doc.iter().all(|(_, v)| v.as_table().is_some_and(strings)),
            Some(Some(PINS_VERSION)) => doc.iter().all(|(k, v)| {
                k == "version"
                    || v.as_table().is_some_and(|t| {
                        t.iter().all(|(part, inner)| {
                            (part == "keys" || part == "files")
                                && inner.as_table().is_some_and(strings)
                        }) || strings(t)
                    })
            }),
            Some(_) => false,
        };
        valid.then_some(Pins { doc })
    }

    /// The string at `table.part.key` (or, for a version 1 table, `table.key`).
    fn get(&self, table: &str, part: &str, key: &str) -> Option<&str> {
        let t = self.doc.get(table)?.as_table()?;
        match t.get(part).and_then(Item::as_table) {
            Some(inner) => inner.get(key)?.as_str(),
            None if part == "keys" => t.get(key)?.as_str(),
            None => None,
        }
    }

    /// Compares `key` with the pin of `environment` in `repo`.
    pub fn check(&self, repo: &PinName, environment: &str, key: &KeyId) -> Pin {
        let found = repo
            .lookups(&self.doc)
            .iter()
            .find_map(|t| self.get(t, "keys", environment));
        match found {
            None => Pin::Unknown,
            Some(id) if id == key.to_string() => Pin::Same,
            Some(id) => Pin::Changed(id.to_string()),
        }
    }

    /// Whether any environment of `repo` is pinned: a repository this machine has
    /// sealed for before.
    pub fn knows(&self, repo: &PinName) -> bool {
        repo.lookups(&self.doc).iter().any(|t| {
            self.doc.get(t).and_then(Item::as_table).is_some_and(|t| {
                match t.get("keys").and_then(Item::as_table) {
                    Some(keys) => !keys.is_empty(),
                    None => t.iter().any(|(_, v)| v.as_str().is_some()),
                }
            })
        })
    }

    /// The environment `file` (relative to the root) was last sealed for here.
    pub fn file_environment(&self, repo: &PinName, file: &str) -> Option<&str> {
        repo.lookups(&self.doc)
            .iter()
            .find_map(|t| self.get(t, "files", file))
    }

    /// The table of `repo`'s `part`, made if missing: in the table of its id, or of
    /// the id its history had when first pinned (one sharing a root commit).
    fn part(&mut self, repo: &PinName, part: &str) -> &mut Table {
        let lookups = repo.lookups(&self.doc);
        let name = lookups
            .iter()
            .take_while(|t| t.starts_with("git:"))
            .find(|t| self.doc.get(t).is_some_and(Item::is_table))
            .unwrap_or(&repo.id)
            .clone();
        let table = self
            .doc
            .entry(&name)
            .or_insert_with(|| Item::Table(Table::new()));
        if !table.is_table() {
            *table = Item::Table(Table::new());
        }
        let inner = &mut table[part];
        if !inner.is_table() {
            *inner = Item::Table(Table::new());
        }
        inner.as_table_mut().expect("made a table just above")
    }

    /// Pins `key` for `environment` in `repo`, replacing any earlier pin.
    pub fn pin(&mut self, repo: &PinName, environment: &str, key: &KeyId) {
        self.part(repo, "keys")[environment] = value(key.to_string());
    }

    /// Records that `file` was sealed for `environment` in `repo`.
    pub fn record_file(&mut self, repo: &PinName, file: &str, environment: &str) {
        self.part(repo, "files")[file] = value(environment);
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

    /// Changes the store with `change`, under its lock, from what it holds once
    /// the lock is taken; written 0600. `waiting` is called once if another
    /// process holds the lock.
    pub fn update(
        &self,
        waiting: impl FnOnce(),
        change: impl FnOnce(&mut Pins),
    ) -> Result<(), TeamError> {
        let path = self.path()?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        fs::create_dir_all(&dir).map_err(|e| TeamError::io(dir.display().to_string(), "", e))?;
        let _lock = lock_file(path, waiting)?;
        let mut pins = self.read()?;
        change(&mut pins);
        // A store read as version 1 is written as version 2 (its tables still read).
        pins.doc["version"] = value(PINS_VERSION);
        atomic::write_atomic(path, pins.to_string().as_bytes(), Mode::Private, false)
            .map_err(|e| TeamError::io(path.display().to_string(), "cannot write", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key::SecretKey;

    fn name(id: &str) -> PinName {
        PinName {
            id: id.to_string(),
            path: "/srv/app repo \"x\"".to_string(),
        }
    }

    #[test]
    fn a_pin_is_unknown_then_same_then_changed() {
        let a = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let b = SecretKey::from_bytes([2; 32]).public_key().key_id();
        let mut pins = Pins::new();
        let repo = name("git:abc:");
        assert_eq!(pins.check(&repo, "production", &a), Pin::Unknown);
        assert!(!pins.knows(&repo));
        pins.pin(&repo, "production", &a);
        let pins = Pins::parse(&pins.to_string()).unwrap();
        assert_eq!(pins.check(&repo, "production", &a), Pin::Same);
        assert!(pins.knows(&repo));
        assert_eq!(
            pins.check(&repo, "production", &b),
            Pin::Changed(a.to_string())
        );
        assert_eq!(
            pins.check(&name("git:other:"), "production", &b),
            Pin::Unknown
        );
        assert!(Pins::parse("x = 1\n").is_none());
        assert!(Pins::parse("[r]\nx = 1\n").is_none());
        assert!(Pins::parse("version = 3\n").is_none());
    }

    #[test]
    fn files_are_recorded_with_their_environment() {
        let mut pins = Pins::new();
        let repo = name("git:abc:");
        assert_eq!(pins.file_environment(&repo, "config/a.toml"), None);
        pins.record_file(&repo, "config/a.toml", "production");
        pins.record_file(&repo, "config/b.toml", "staging");
        let pins = Pins::parse(&pins.to_string()).unwrap();
        assert_eq!(
            pins.file_environment(&repo, "config/a.toml"),
            Some("production")
        );
        assert_eq!(
            pins.file_environment(&repo, "config/b.toml"),
            Some("staging")
        );
        // A file's environment does not make the repository known: only keys do.
        let mut only_files = Pins::new();
        only_files.record_file(&repo, "x", "production");
        assert!(!only_files.knows(&repo));
    }

    /// A merge of an unrelated history adds a root commit: the repository's pins
    /// still apply, and later pins go to the same table. A history with none of
    /// the pinned roots, or another directory of it, is another repository.
    #[test]
    fn a_history_that_gains_a_root_keeps_its_pins() {
        let a = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let mut pins = Pins::new();
        pins.pin(&name("git:abc:app"), "production", &a);
        let merged = name("git:abc,zzz:app");
        assert_eq!(pins.check(&merged, "production", &a), Pin::Same);
        assert!(pins.knows(&merged));
        pins.record_file(&merged, "config/a.toml", "production");
        let text = pins.to_string();
        assert!(!text.contains("abc,zzz"), "{text}");
        assert_eq!(
            pins.file_environment(&name("git:abc:app"), "config/a.toml"),
            Some("production")
        );
        assert_eq!(
            pins.check(&name("git:zzz:app"), "production", &a),
            Pin::Unknown
        );
        assert_eq!(
            pins.check(&name("git:abc:web"), "production", &a),
            Pin::Unknown
        );
    }

    /// Pins of version 1 (by absolute path) and of a repository before its first
    /// commit (`path:`) still count once it has a history.
    #[test]
    fn pins_by_path_count_for_the_repository_at_that_path() {
        let a = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let v1 = format!("[\"/srv/app repo \\\"x\\\"\"]\nproduction = \"{a}\"\n");
        let pins = Pins::parse(&v1).unwrap();
        let repo = name("git:abc:");
        assert_eq!(pins.check(&repo, "production", &a), Pin::Same);
        assert!(pins.knows(&repo));
        let mut pins = Pins::new();
        pins.pin(&name("path:/srv/app repo \"x\""), "production", &a);
        let pins = Pins::parse(&pins.to_string()).unwrap();
        assert_eq!(pins.check(&repo, "production", &a), Pin::Same);
    }

    #[test]
    fn the_store_is_written_under_its_lock_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::new(Some(dir.path().join("cachet/known_keys.toml")));
        let a = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let repo = name("git:abc:");
        assert_eq!(
            store.read().unwrap().check(&repo, "production", &a),
            Pin::Unknown
        );
        store
            .update(
                || panic!("nobody holds the lock"),
                |p| p.pin(&repo, "production", &a),
            )
            .unwrap();
        assert_eq!(
            store.read().unwrap().check(&repo, "production", &a),
            Pin::Same
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(store.path().unwrap(), "x = 1\n").unwrap();
        assert!(matches!(store.read(), Err(TeamError::PinsInvalid(_))));
        assert!(matches!(
            PinStore::new(None).read(),
            Err(TeamError::NoPinStore)
        ));
    }
}
