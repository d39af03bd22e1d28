//! Why a sealed value did not open.

use std::fmt;

use crate::error::{Classified, ErrorKind};

use super::KeyId;

/// Why one sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The token does not follow the grammar of `spec/format.md`.
    Malformed(&'static str),
    /// The token is of a format version this build does not read.
    UnsupportedVersion,
    /// No identity with the token's key id was given.
    NoIdentity(KeyId),
    /// Authentication failed: the token was altered, moved to another path, file
    /// format or document, or was sealed to another key.
    Authentication,
    /// The ephemeral key in the token is a low-order point (all-zero shared secret).
    WeakKey,
    /// The decrypted plaintext does not follow the padding rule.
    BadPlaintext,
    /// The value is a merge conflict marker (`spec/git.md`): two sealed sides
    /// that a merge could not choose between.
    Conflict,
    /// The opened text is not exactly one scalar of the file's format at that place.
    Refused(&'static str),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Malformed(why) => write!(f, "malformed sealed value: {why}"),
            OpenError::UnsupportedVersion => f.write_str(
                "sealed with a cachet format version this build does not read; upgrade cachet",
            ),
            OpenError::NoIdentity(id) => write!(
                f,
                "no identity for key id {id}; give the identity of the environment it was sealed for (-i FILE or CACHET_IDENTITY)"
            ),
            OpenError::Authentication => f.write_str(
                "cannot open: the sealed value was altered, moved from another place, or sealed to another key",
            ),
            OpenError::WeakKey => {
                f.write_str("cannot open: the sealed value carries an invalid ephemeral key")
            }
            OpenError::BadPlaintext => {
                f.write_str("cannot open: the sealed plaintext is not correctly padded")
            }
            OpenError::Conflict => f.write_str(
                "holds an unresolved merge conflict; resolve it with `cachet edit`",
            ),
            OpenError::Refused(why) => write!(f, "refused to open: {why}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl Classified for OpenError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Open
    }
}
