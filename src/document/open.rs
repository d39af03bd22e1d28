//! Opening a document, one value of it, or its tree of typed values
//! (`spec/format.md` sections 9.2 and 9.3).

use zeroize::Zeroizing;

use super::Error;
use super::rewrite::{Pass, Rewriter, Splice, replace_values, scan_whole, verify};
use super::{list_values, tree};
use crate::format::{Format, Node};
use crate::path::ValuePath;
use crate::seal::{Identities, KeyId, OpenError, Opener, Place, Token};

pub(crate) fn open_failure(path: &ValuePath, reason: OpenError) -> Error {
    Error::Open {
        path: path.clone(),
        reason,
    }
}

/// Opens the sealed values for which `want` is true and puts their original text
/// back, in one pass; returns the new text and, with `keep`, the node at that
/// (document, path) in it.
fn open_where(
    format: Format,
    text: &str,
    identities: &Identities,
    want: impl Fn(u32, &ValuePath) -> bool,
    keep: Option<(u32, &ValuePath)>,
) -> Result<(Zeroizing<String>, Option<Node>), Error> {
    let pass = Opening {
        format,
        opener: Opener::new(identities),
        want,
        rewriter: Rewriter::new(text, text.len()).recording(),
    };
    let rewritten = scan_whole(format, text, pass)?.rewriter.finish();
    if let (true, kept) = verify(format, &rewritten, keep) {
        return Ok((rewritten.text, kept));
    }
    // Blame a value whose text, put back with those before it, changes the
    // structure while the values before it alone do not. With none put back the
    // structure is intact and with all of them it is not, so a binary search finds
    // such a value in O(log m) passes (a linear search would let a file of forged
    // tokens cost one pass per token).
    let splices: Vec<Splice<'_>> = rewritten
        .replaced
        .iter()
        .map(|(old, new)| Splice {
            span: old.clone(),
            text: &rewritten.text[new.clone()],
        })
        .collect();
    let intact = |n: usize| -> Result<_, Error> {
        let (out, last) = replace_values(format, text, &splices[..n])?;
        Ok((out.is_some(), last))
    };
    let (mut good, mut bad) = (0, splices.len());
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if intact(mid)?.0 {
            good = mid;
        } else {
            bad = mid;
        }
    }
    // `bad` is at least 1: with nothing put back the text is the sealed document.
    let path = intact(bad)?.1.unwrap_or_default();
    Err(open_failure(
        &path,
        OpenError::Refused("the opened text would change the file's structure when put back"),
    ))
}

/// [`open_where`]'s pass over the nodes: opens each wanted value as it comes.
struct Opening<'i, 't, W> {
    format: Format,
    opener: Opener<'i>,
    want: W,
    rewriter: Rewriter<'t>,
}

impl<W: Fn(u32, &ValuePath) -> bool> Pass for Opening<'_, '_, W> {
    fn node(&mut self, node: Node) -> Result<(), Error> {
        let sealed = node
            .string()
            .filter(|s| Token::looks_sealed(s) && (self.want)(node.document, &node.path));
        let Some(s) = sealed else {
            return self.rewriter.node(&node, None);
        };
        let fail = |reason| open_failure(&node.path, reason);
        let token = Token::parse(s).map_err(fail)?;
        let place = Place {
            format: self.format,
            document: node.document,
            path: &node.path,
        };
        let raw = self.opener.open(&token, &place).map_err(fail)?;
        // Checked in place, so no copy of the plaintext escapes the wiped buffers.
        let raw = std::str::from_utf8(&raw)
            .map_err(|_| fail(OpenError::Refused("the opened text is not UTF-8")))?;
        if !self.format.is_single_scalar(raw) {
            return Err(fail(OpenError::Refused(
                "the opened text is not exactly one value; it would inject other keys or lines",
            )));
        }
        self.rewriter.node(&node, Some(raw))
    }
}

/// Opens every sealed value of a document: the result is, byte for byte, the
/// document that was sealed. An attestation line at its end (`spec/attest.md`)
/// is left out: it approves the sealed file, not the opened one.
pub fn open_document(
    format: Format,
    text: &str,
    identities: &Identities,
) -> Result<Zeroizing<String>, Error> {
    let body = super::attestation::split(format, text).body;
    open_where(format, body, identities, |_, _| true, None).map(|(t, _)| t)
}

/// The content of one value of the first document: a string without its quotes
/// and escapes, any other scalar as written. Only that value is opened.
pub fn get_value(
    format: Format,
    text: &str,
    path: &ValuePath,
    identities: &Identities,
) -> Result<Zeroizing<String>, Error> {
    get_value_in(format, text, 0, path, identities)
}

/// [`get_value`] for the value at `path` in document `document` (0-based) of a
/// multi-document file.
pub fn get_value_in(
    format: Format,
    text: &str,
    document: u32,
    path: &ValuePath,
    identities: &Identities,
) -> Result<Zeroizing<String>, Error> {
    let (opened, node) = open_where(
        format,
        text,
        identities,
        |d, p| d == document && p == path,
        Some((document, path)),
    )?;
    let node = node.ok_or_else(|| Error::PathNotFound(path.clone()))?;
    if !node.is_scalar() {
        return Err(Error::NotAValue(path.clone()));
    }
    Ok(match node.string() {
        Some(s) => Zeroizing::new(s.to_string()),
        None => Zeroizing::new(opened[node.span.clone()].to_string()),
    })
}

/// A document opened as trees of typed values, with what was opened to get them.
#[derive(Debug)]
pub struct OpenedTree {
    /// Each document of the file, in order (one for every format but YAML).
    pub documents: Vec<crate::document::tree::Value>,
    /// The sealed values that were opened: document index and path.
    pub opened: Vec<(u32, ValuePath)>,
    /// The key ids they were sealed to, each once.
    pub key_ids: Vec<KeyId>,
}

/// Opens every sealed value of a document and gives it as trees of typed values,
/// for exporting as environment variables or converting to another format.
pub fn open_tree(format: Format, text: &str, identities: &Identities) -> Result<OpenedTree, Error> {
    let mut opened = Vec::new();
    let mut key_ids = Vec::new();
    for value in list_values(format, text)? {
        if let Some((id, _)) = value.sealed {
            if !key_ids.contains(&id) {
                key_ids.push(id);
            }
            opened.push((value.document, value.path));
        }
    }
    let plain = open_document(format, text, identities)?;
    Ok(OpenedTree {
        documents: tree::build(format, &plain)?,
        opened,
        key_ids,
    })
}
