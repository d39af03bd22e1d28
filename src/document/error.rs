//! Why a document operation (seal, open, get, set, re-seal, merge) failed.

use std::fmt;

use crate::error::{Classified, ErrorKind};
use crate::format::FormatError;
use crate::path::ValuePath;
use crate::seal::{KeyId, OpenError};

use super::attestation::AttestError;
use super::tree::ExportError;

/// An error of a document operation (seal, open, get, set).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The document is not valid in its format, or a new value cannot be placed
    /// in it.
    Format(FormatError),
    /// A sealed value could not be opened.
    Open {
        /// Where the value is.
        path: ValuePath,
        /// Why it could not be opened.
        reason: OpenError,
    },
    /// No value exists at the path.
    PathNotFound(ValuePath),
    /// The path names a table or an array where a single value is needed.
    NotAValue(ValuePath),
    /// A value is sealed to another key than the one being sealed to.
    ForeignKey {
        /// Where the value is.
        path: ValuePath,
        /// The key id the value carries.
        found: KeyId,
        /// The key id of the recipient being sealed to.
        expected: KeyId,
    },
    /// A value given to `set` is not valid for its type.
    InvalidValue {
        /// The path asked for.
        path: ValuePath,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value is too large to seal.
    TooLarge(ValuePath),
    /// An edited file still holds a merge conflict as `cachet edit` showed it.
    Unresolved(ValuePath),
    /// Three versions of a file cannot be merged value by value (their layout
    /// differs, or a conflict involves a value that is not sealed).
    CannotMerge(&'static str),
    /// An opened document cannot be turned into environment variables or another
    /// format as asked.
    Export(ExportError),
    /// A file's attestation is missing, does not hold, or cannot be made.
    Attestation(AttestError),
}

impl From<ExportError> for Error {
    fn from(e: ExportError) -> Self {
        Error::Export(e)
    }
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        Error::Format(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(e) => e.fmt(f),
            Error::Open { path, reason } => write!(f, "{path}: {reason}"),
            Error::PathNotFound(p) => write!(f, "{p}: no such value in the file"),
            Error::NotAValue(p) => write!(f, "{p}: is a table or an array; name one value"),
            Error::ForeignKey {
                path,
                found,
                expected,
            } => write!(
                f,
                "{path}: is sealed to key id {found}, not to this recipient's key id {expected}: the value belongs to another environment, or the key being sealed to is not this file's usual key (check for a swapped key; rotate to change a key)"
            ),
            Error::InvalidValue { path, reason } => write!(f, "{path}: invalid value: {reason}"),
            Error::TooLarge(p) => write!(f, "{p}: value is too large to seal (limit 16 MiB)"),
            Error::Unresolved(p) => write!(
                f,
                "{p}: the merge conflict is not resolved; replace the CONFLICT text with the one value to keep"
            ),
            Error::CannotMerge(why) => write!(f, "cannot merge value by value: {why}"),
            Error::Export(e) => e.fmt(f),
            Error::Attestation(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Format(e) => Some(e),
            Error::Open { reason, .. } => Some(reason),
            Error::Export(e) => Some(e),
            Error::Attestation(e) => Some(e),
            _ => None,
        }
    }
}

impl Classified for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Open { .. } => ErrorKind::Open,
            Error::ForeignKey { .. } => ErrorKind::Refused,
            Error::Export(e) => e.kind(),
            Error::Attestation(e) => e.kind(),
            _ => ErrorKind::Input,
        }
    }
}
