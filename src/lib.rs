//! cachet seals individual values inside configuration files so the files can be
//! committed, and opens them at deploy time with a per-environment key.
//!
//! Each sealed value is one token, `cachet:v1:<key-id>:<sealed-at>:<payload>`,
//! written where the value was; everything else in the file (comments, order,
//! quoting, blank lines) stays byte for byte. Sealing needs only the environment's
//! public key (`age1…`); opening needs its secret key (`AGE-SECRET-KEY-1…`). The
//! format is specified in `spec/format.md`.
//!
//! # Opening a sealed config at start-up
//!
//! ```
//! use cachet::{Format, Identities, SecretKey, Sealer, Selection};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SecretKey::generate();
//! let plain = "# app settings\n[database]\nhost = \"db\"\npassword = \"hunter2\"\n";
//!
//! // Sealing needs only the public key: the password is sealed, the host is not.
//! let mut sealer = Sealer::new(&key.public_key())?;
//! let (sealed, report) =
//!     cachet::seal_document(Format::Toml, plain, &Selection::Default, &mut sealer)?;
//! assert_eq!(report.sealed.len(), 1);
//! assert!(!sealed.contains("hunter2"));
//!
//! // A service holding the secret key opens the file, or reads one value.
//! let mut ids = Identities::new();
//! ids.push(key);
//! let opened = cachet::open_document(Format::Toml, &sealed, &ids)?;
//! assert_eq!(opened.as_str(), plain);
//! let password = cachet::get_value(Format::Toml, &sealed, &"database.password".parse()?, &ids)?;
//! assert_eq!(password.as_str(), "hunter2");
//! # Ok(())
//! # }
//! ```
//!
//! The library never prints and never reads the environment; the `cachet` binary
//! is a thin command-line layer over it (cargo feature `cli`).
//!
//! # Layout
//!
//! The modules follow the specification in `spec/`, and each imports only from
//! those listed before it:
//!
//! | module | what it holds | spec |
//! |---|---|---|
//! | [`error`], [`path`], [`glob`] | error kinds, value paths, file and value-path globs | format.md 8.1–8.2, policy.md 3 |
//! | [`worktree`] | atomic writes and locks, the walk of a tree, git | security.md 3, audit.md 1 |
//! | [`format`] | one module per file format, typed scalars | format.md 8 |
//! | [`seal`] | keys, the token, sealing and opening one value | format.md 1–7, 9.1–9.2, git.md 3 |
//! | [`document`] | seal, open, get, set, re-seal, merge, re-key, typed trees, attestations | format.md 9.3–10, git.md 1–2, deploy.md 1, attest.md |
//! | [`team`] | policy, members, keyrings, pins, identity files, repository rules | policy.md, identity.md |
//! | [`survey`] | the state of every file and value, findings, inventory | audit.md |
//! | [`deploy`] | variables, conversions, the access log | deploy.md |
//! | [`sops`] | the SOPS importer (feature `sops`) | import-sops.md |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod glob;
pub mod path;
pub mod shell_words;
pub mod worktree;

pub mod format;
pub mod seal;

pub mod document;

pub mod team;

pub mod survey;

pub mod deploy;

#[cfg(feature = "sops")]
pub mod sops;

pub use document::{
    EditView, Error, ExportError, Merged, OpenedTree, ResealReport, SealReport, Selection,
    ValueInfo, get_value, get_value_in, list_values, merge, open_document, open_for_edit,
    open_tree, reseal, seal_document, set_value, set_value_in,
};
pub use error::{Classified, ErrorKind};
pub use format::{Format, FormatError, ScalarType};
pub use glob::{FileGlob, GlobError, PathGlob};
pub use path::{PathSyntaxError, Segment, ValuePath};
pub use seal::{
    Conflict, Identities, KeyError, KeyId, OpenError, Opener, Place, PublicKey, SealedAt, Sealer,
    SecretKey, Token,
};
pub use team::{KeyringError, PolicyError};
