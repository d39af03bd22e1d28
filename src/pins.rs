//! Key pinning: the key id each environment of each repository had when this
//! machine first sealed to it, kept like ssh's `known_hosts`. A repository writer
//! who swaps an environment's public key for one of their own is then caught: the
//! next sealer sees a changed key and refuses it until told `--accept-new-key`.
//!
//! The store is a TOML file (`$XDG_CONFIG_HOME/cachet/known_keys.toml`): one table
//! per repository, named by the policy directory's absolute path, mapping each
//! environment name to its key id.

use toml_edit::{DocumentMut, Item, Table, value};

use crate::key::KeyId;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SecretKey;

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
}
