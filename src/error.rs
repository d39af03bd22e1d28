//! What kind of failure an error is.
//!
//! Each error type lives beside the code that raises it (`seal::OpenError`,
//! `team::TeamError`, …). They share one convention, stated here once:
//!
//! - the message ([`std::fmt::Display`]) is one line that says what went wrong and
//!   what to do next; it is complete on its own, including the text of the cause
//!   where that helps the reader, and never contains a secret value (at most a
//!   value's path, a key id, a public key, a file name or a position in a file);
//! - [`std::error::Error::source`] gives the cause as a typed value (an I/O error,
//!   an age error, a format error) for programs that need more than the message;
//! - [`Classified::kind`] says which [`ErrorKind`] it is. The command-line tool
//!   derives its exit status from the kind, in one place.

/// The kinds of failure, by what the person or program that asked should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request was not well formed: an unknown name, a bad option value, a
    /// combination that does not go together. Ask again, differently.
    Usage,
    /// Input could not be read or is not valid: a missing or unreadable file, a
    /// file that does not parse, a write that failed. Fix the input or the system.
    Input,
    /// Refused for safety: doing it would let someone read or change what they
    /// must not (a swapped key, a file of another environment, no member to hold
    /// a key). The message names what to check, and the explicit way through where
    /// there is one.
    Refused,
    /// A sealed value did not open: no key for it, altered, moved, or its opened
    /// text would change the file's structure.
    Open,
}

/// An error that knows its [`ErrorKind`].
pub trait Classified: std::error::Error {
    /// The kind of failure this is.
    fn kind(&self) -> ErrorKind;
}
