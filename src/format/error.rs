//! Why a document could not be read, or a value not added to it.

use crate::error::{Classified, ErrorKind};
use crate::path::ValuePath;

use super::Format;

/// A document is not valid in its format, or a new value cannot be placed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The document is not valid in its format.
    Parse {
        /// The document's format.
        format: Format,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the parser expected; never a copy of the input.
        message: String,
    },
    /// A new value cannot be added at this path without restructuring the file.
    CannotInsert {
        /// The path asked for.
        path: ValuePath,
        /// Why not.
        reason: &'static str,
    },
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Parse {
                format,
                line,
                column,
                message,
            } => write!(
                f,
                "line {line}, column {column}: invalid {}: {message}",
                format.display_name()
            ),
            FormatError::CannotInsert { path, reason } => {
                write!(f, "{path}: cannot add this value: {reason}")
            }
        }
    }
}

impl std::error::Error for FormatError {}

impl Classified for FormatError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}
