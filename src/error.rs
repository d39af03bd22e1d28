//! The error types of the library.
//!
//! Every message is one line, says what went wrong and what to do next, and never
//! contains a secret value: at most a value's path, a key id, a public key or a
//! position in the file.

use std::fmt;

use crate::format::Format;
use crate::key::KeyId;
use crate::path::ValuePath;

/// A key or identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not an `age1…` X25519 recipient.
    InvalidRecipient,
    /// The text is not an `AGE-SECRET-KEY-1…` X25519 identity.
    InvalidIdentity,
    /// A line of an identity file is not an identity.
    IdentityLine {
        /// 1-based line number.
        line: usize,
    },
    /// An identity file holds no identity at all.
    NoIdentity,
    /// The recipient is a low-order point: sealing to it would give an all-zero
    /// shared secret that anyone can compute.
    WeakRecipient,
    /// A member's recipient is not usable; the text says why.
    Recipient(&'static str),
    /// A plugin recipient or identity needs `age-plugin-<name>`, which is not on
    /// `PATH`.
    PluginMissing(String),
    /// An identity file of a kind cachet cannot use; the text says which.
    UnsupportedIdentity(&'static str),
    /// The identity file is protected by a passphrase and there is no terminal to
    /// ask it on.
    NeedsPassphrase,
    /// The passphrase does not open the identity file (or the file was altered).
    WrongPassphrase,
    /// A cachet passphrase-protected identity could not be opened; the text says why.
    Protected(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::InvalidRecipient => {
                f.write_str("not an age X25519 recipient (expected age1…, as printed by `cachet keygen`)")
            }
            KeyError::InvalidIdentity => {
                f.write_str("not an age X25519 identity (expected AGE-SECRET-KEY-1…)")
            }
            KeyError::IdentityLine { line } => {
                write!(f, "line {line} is not an age identity (AGE-SECRET-KEY-1…)")
            }
            KeyError::NoIdentity => f.write_str("holds no identity (no AGE-SECRET-KEY-1… line)"),
            KeyError::WeakRecipient => f.write_str(
                "the recipient is not a usable X25519 public key (low-order point); generate a new one with `cachet keygen`",
            ),
            KeyError::Recipient(why) => write!(f, "not a usable member key: {why}"),
            KeyError::PluginMissing(name) => write!(
                f,
                "the age plugin program age-plugin-{name} is not on PATH; install it to use this key"
            ),
            KeyError::UnsupportedIdentity(why) => write!(f, "not a usable identity: {why}"),
            KeyError::NeedsPassphrase => f.write_str(
                "protected by a passphrase, and there is no terminal to ask it on; give an unprotected key (CACHET_IDENTITY) to non-interactive runs",
            ),
            KeyError::WrongPassphrase => {
                f.write_str("the passphrase does not open it (or the file was altered)")
            }
            KeyError::Protected(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for KeyError {}

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

/// An error of a document operation (seal, open, get, set).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
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
    /// A new value cannot be added at this path without restructuring the file.
    CannotInsert {
        /// The path asked for.
        path: ValuePath,
        /// Why not.
        reason: &'static str,
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
}

impl From<ExportError> for Error {
    fn from(e: ExportError) -> Self {
        Error::Export(e)
    }
}

/// Why an opened document cannot be exported (as environment variables, or
/// converted to another format). Names are key names, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The document holds something the export does not carry over faithfully.
    Unsupported {
        /// Where it is.
        path: ValuePath,
        /// What it is and what to do instead.
        reason: &'static str,
    },
    /// A value has no equivalent in the target format.
    NotRepresentable {
        /// Where it is.
        path: ValuePath,
        /// The target: "JSON", "TOML", "environment variables"…
        target: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// Two paths of one file give the same variable name.
    Collision {
        /// The variable name.
        name: String,
        /// The first path.
        first: ValuePath,
        /// The second path.
        second: ValuePath,
    },
    /// A variable name that changes how programs run, not allowed explicitly.
    RefusedName {
        /// The variable name.
        name: String,
        /// The path it comes from.
        path: ValuePath,
    },
    /// A path gives a name no environment can hold (empty, `=`, NUL).
    BadName {
        /// The path.
        path: ValuePath,
        /// Why.
        reason: &'static str,
    },
    /// A `--only` pattern matches no value of the file.
    NoMatch(String),
    /// A target that holds one document, and a file that does not hold exactly one.
    Documents {
        /// How many documents the file holds.
        count: usize,
        /// The target: "JSON", "TOML", "environment variables".
        target: &'static str,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Unsupported { path, reason } => write!(f, "{path}: {reason}"),
            ExportError::NotRepresentable {
                path,
                target,
                reason,
            } => write!(f, "{path}: cannot be written as {target}: {reason}"),
            ExportError::Collision {
                name,
                first,
                second,
            } => write!(
                f,
                "{first} and {second} both give the variable {name}; rename one key, or choose another --separator"
            ),
            ExportError::RefusedName { name, path } => write!(
                f,
                "{path}: the variable {name} changes how programs run and is refused; pass --allow-var {name} if the file is meant to set it"
            ),
            ExportError::BadName { path, reason } => {
                write!(f, "{path}: cannot be a variable name: {reason}")
            }
            ExportError::NoMatch(glob) => {
                write!(f, "--only {glob}: matches no value of the file")
            }
            ExportError::Documents { count, target } => write!(
                f,
                "the file holds {count} YAML documents, and {target} holds exactly one: split the file, or convert it to YAML"
            ),
        }
    }
}

impl std::error::Error for ExportError {}

impl Error {
    /// Whether this error means a sealed value failed to open (exit status 1 in the
    /// CLI), as opposed to bad usage or bad input (exit status 2).
    pub fn is_open_failure(&self) -> bool {
        matches!(self, Error::Open { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse {
                format,
                line,
                column,
                message,
            } => write!(
                f,
                "line {line}, column {column}: invalid {}: {message}",
                format.display_name()
            ),
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
            Error::CannotInsert { path, reason } => {
                write!(f, "{path}: cannot add this value: {reason}")
            }
            Error::InvalidValue { path, reason } => write!(f, "{path}: invalid value: {reason}"),
            Error::TooLarge(p) => write!(f, "{p}: value is too large to seal (limit 16 MiB)"),
            Error::Unresolved(p) => write!(
                f,
                "{p}: the merge conflict is not resolved; replace the CONFLICT text with the one value to keep"
            ),
            Error::CannotMerge(why) => write!(f, "cannot merge value by value: {why}"),
            Error::Export(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// A value path typed on the command line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSyntaxError {
    /// 0-based byte offset of the problem.
    pub offset: usize,
    /// What was expected.
    pub message: &'static str,
}

impl fmt::Display for PathSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value path at character {}: {} (write paths like database.password, servers[0].token or \"odd.key\".x)",
            self.offset + 1,
            self.message
        )
    }
}

impl std::error::Error for PathSyntaxError {}

/// A keyring (`.cachet/keys/<env>.age`) could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyringError {
    /// None of the identities given opens the keyring.
    NotAMember,
    /// The file is not a readable age file; the text is age's reason.
    Damaged(String),
    /// The decrypted content does not follow `spec/policy.md`, "Keyrings".
    Malformed(&'static str),
    /// The content is of a layout version this build does not read.
    UnsupportedVersion,
    /// A keyring needs at least one member.
    NoMembers,
    /// A member's key cannot be used (member name, reason).
    Member(String, KeyError),
    /// Encryption failed; the text is age's reason.
    Encrypt(String),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::NotAMember => f.write_str(
                "none of your identities opens it: you are not a member (a member can add you with `cachet members add`)",
            ),
            KeyringError::Damaged(why) => write!(f, "not a readable age file ({why})"),
            KeyringError::Malformed(why) => write!(f, "damaged content: {why}"),
            KeyringError::UnsupportedVersion => {
                f.write_str("written by a newer cachet (unknown keyring version); upgrade cachet")
            }
            KeyringError::NoMembers => {
                f.write_str("an environment needs at least one member to hold its key")
            }
            KeyringError::Member(name, e) => write!(f, "member {name:?}: {e}"),
            KeyringError::Encrypt(why) => write!(f, "cannot encrypt: {why}"),
        }
    }
}

impl std::error::Error for KeyringError {}

/// The policy file (`.cachet.toml`) is invalid, or does not answer a question.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is not valid TOML.
    Parse {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A field is missing, unknown or wrong.
    Invalid {
        /// The field's place, e.g. `environments.production.files[1]`.
        at: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// No environment of that name.
    UnknownEnvironment(String),
    /// An environment of that name exists already.
    EnvironmentExists(String),
    /// Two environments cover the same file.
    Overlap {
        /// The file, relative to the policy's directory.
        file: String,
        /// One environment covering it.
        first: String,
        /// Another environment covering it.
        second: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {}", message.trim()),
            PolicyError::Invalid { at, reason } => write!(f, "{at}: {reason}"),
            PolicyError::UnknownEnvironment(name) => write!(
                f,
                "no environment {name:?} (see `cachet env list`; add one with `cachet env add`)"
            ),
            PolicyError::EnvironmentExists(name) => {
                write!(f, "environment {name:?} exists already")
            }
            PolicyError::Overlap {
                file,
                first,
                second,
            } => write!(
                f,
                "{file} is covered by both environment {first} and environment {second}; a file belongs to exactly one environment: narrow the files globs in .cachet.toml"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The tree of a repository could not be surveyed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SurveyError {
    /// A directory could not be read while walking the tree; the text says which
    /// and why.
    Walk(String),
}

impl fmt::Display for SurveyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SurveyError::Walk(why) => write!(f, "cannot walk the tree: {why}"),
        }
    }
}

impl std::error::Error for SurveyError {}
