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
//! is a thin command-line layer over it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod atomic;
pub mod audit;
pub mod credential;
pub mod document;
pub mod error;
pub mod export;
pub mod findings;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod glob;
pub mod identity_file;
pub mod inventory;
pub mod key;
pub mod keyring;
pub mod member;
pub mod path;
pub mod pins;
pub mod policy;
pub mod protected_identity;
pub mod reseal;
mod rewrite;
pub mod rotate;
pub mod sealed_value;
pub mod selection;
pub mod sops;
pub mod survey;
pub mod token;
pub mod tree;
pub mod variables;

pub use document::{
    OpenedTree, SealReport, ValueInfo, get_value, get_value_in, list_values, open_document,
    open_tree, seal_document, set_value, set_value_in,
};
pub use error::{
    Error, ExportError, KeyError, KeyringError, OpenError, PathSyntaxError, PolicyError,
    SurveyError,
};
pub use format::{Format, ScalarType};
pub use glob::{FileGlob, GlobError, PathGlob};
pub use key::{Identities, KeyId, PublicKey, SecretKey};
pub use path::{Segment, ValuePath};
pub use reseal::{Conflict, EditView, Merged, ResealReport, merge, open_for_edit, reseal};
pub use sealed_value::{Opener, Place, Sealer};
pub use selection::Selection;
pub use token::{SealedAt, Token};
