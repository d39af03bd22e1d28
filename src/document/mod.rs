//! Whole-document operations: seal, open, get one value, set one value.
//!
//! These work for every [`Format`]: the format finds nodes and spans, this module
//! decides what to seal, splices tokens in and original texts back, and checks
//! after every splice that the document still has exactly the same structure (the
//! re-parse check of `spec/format.md`).

use std::ops::Range;

use crate::format::{Format, Node};
use crate::path::ValuePath;
use crate::seal::{Conflict, KeyId, SealedAt, Token};

use open::open_failure;

pub mod attestation;
mod error;
mod open;
pub mod rekey;
pub mod reseal;
mod rewrite;
mod seal;
pub mod selection;
pub mod tree;

pub use error::Error;
pub use open::{OpenedTree, get_value, get_value_in, open_document, open_tree};
pub use reseal::{EditView, Merged, ResealReport, merge, open_for_edit, reseal};
pub use seal::{SealReport, seal_document, set_adds_key, set_value, set_value_in};
pub use selection::Selection;
pub use tree::{ExportError, Value};

/// One scalar value of a document, as [`list_values`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueInfo {
    /// 0-based document index (multi-document files; 0 otherwise).
    pub document: u32,
    /// Where the value is.
    pub path: ValuePath,
    /// The bytes of the value's text in the file.
    pub span: Range<usize>,
    /// For a sealed value: its key id and when it was sealed (`None` for a plain
    /// value; an unreadable token is reported as an error instead).
    pub sealed: Option<(KeyId, SealedAt)>,
    /// For an unresolved merge conflict (`spec/git.md`), the second side's key id
    /// and time; `sealed` is the first side's.
    pub theirs: Option<(KeyId, SealedAt)>,
}

/// Every scalar value of a document, in document order, with whether and to which
/// key it is sealed. Opens nothing and needs no key.
pub fn list_values(format: Format, text: &str) -> Result<Vec<ValueInfo>, Error> {
    let mut out = Vec::new();
    for node in format.scan(text)?.into_iter().filter(Node::is_scalar) {
        let (sealed, theirs) = match node.string().filter(|s| Token::looks_sealed(s)) {
            // A merge conflict counts as sealed by its first side (spec/git.md).
            Some(s) => match Conflict::parse(s) {
                Some(Ok(c)) => (
                    Some((c.ours.key_id, c.ours.sealed_at)),
                    Some((c.theirs.key_id, c.theirs.sealed_at)),
                ),
                _ => {
                    let t = Token::parse(s).map_err(|reason| open_failure(&node.path, reason))?;
                    (Some((t.key_id, t.sealed_at)), None)
                }
            },
            None => (None, None),
        };
        out.push(ValueInfo {
            document: node.document,
            path: node.path,
            span: node.span,
            sealed,
            theirs,
        });
    }
    out.sort_by_key(|v| (v.document, v.span.start));
    Ok(out)
}
