//! Whole-document operations: seal, open, get one value, set one value.
//!
//! These work for every [`Format`]: the format finds nodes and spans, this module
//! decides what to seal, splices tokens in and original texts back, and checks
//! after every splice that the document still has exactly the same structure (the
//! re-parse check of `spec/format.md`).

use std::ops::Range;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Error, OpenError};
use crate::format::{Format, Node, NodeKind, ScalarType};
use crate::key::{Identities, KeyId};
use crate::path::ValuePath;
use crate::sealed_value::{Opener, Place, Sealer};
use crate::selection::Selection;
use crate::token::Token;

/// What [`seal_document`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealReport {
    /// The paths sealed by this call, in document order.
    pub sealed: Vec<ValuePath>,
    /// How many values were sealed already and were left byte for byte as they were.
    pub already_sealed: usize,
}

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
    pub sealed: Option<(KeyId, crate::token::SealedAt)>,
    /// For an unresolved merge conflict (`spec/git.md`), the second side's key id
    /// and time; `sealed` is the first side's.
    pub theirs: Option<(KeyId, crate::token::SealedAt)>,
}

/// Every scalar value of a document, in document order, with whether and to which
/// key it is sealed. Opens nothing and needs no key.
pub fn list_values(format: Format, text: &str) -> Result<Vec<ValueInfo>, Error> {
    let mut out = Vec::new();
    for node in format.scan(text)?.into_iter().filter(Node::is_scalar) {
        let (sealed, theirs) = match node.string().filter(|s| Token::looks_sealed(s)) {
            // A merge conflict counts as sealed by its first side (spec/git.md).
            Some(s) => match crate::reseal::Conflict::parse(s) {
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

/// A replacement of the bytes `span` of a document by `text`.
pub(crate) struct Splice<'a> {
    pub(crate) span: Range<usize>,
    pub(crate) text: &'a str,
}

/// Applies splices (sorted by position, not overlapping) to `text`.
pub(crate) fn splice(text: &str, splices: &[Splice<'_>]) -> Zeroizing<String> {
    // Exactly the result's length: a growing (or over-reserved) buffer would leave
    // copies of plaintext behind in freed memory, and costs memory on large files.
    let len = splices
        .iter()
        .fold(text.len(), |n, s| n - s.span.len() + s.text.len());
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut at = 0;
    for s in splices {
        out.push_str(&text[at..s.span.start]);
        out.push_str(s.text);
        at = s.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether `new` has exactly the nodes of `old`, with every scalar where the splices
/// put it: the same paths, the same kinds, and each scalar's span equal to its old
/// span moved by the splices before it (or, for a spliced one, to the new text).
/// With `added`, `new` may also hold that path and the tables that lead to it.
pub(crate) fn same_structure(
    old: &[Node],
    new: &[Node],
    splices: &[Splice<'_>],
    added: Option<&ValuePath>,
) -> bool {
    let is_added = |n: &Node| {
        added.is_some_and(|a| a.starts_with(&n.path))
            && !old
                .iter()
                .any(|o| o.document == n.document && o.path == n.path)
    };
    let mut a: Vec<&Node> = old.iter().collect();
    let mut b: Vec<&Node> = new.iter().filter(|n| !is_added(n)).collect();
    if a.len() != b.len() {
        return false;
    }
    a.sort_by(|x, y| (x.document, &x.path).cmp(&(y.document, &y.path)));
    b.sort_by(|x, y| (x.document, &x.path).cmp(&(y.document, &y.path)));
    let growth: Vec<isize> = std::iter::once(0)
        .chain(splices.iter().scan(0isize, |g, s| {
            *g += s.text.len() as isize - s.span.len() as isize;
            Some(*g)
        }))
        .collect();
    a.iter().zip(b.iter()).all(|(o, n)| {
        o.document == n.document
            && o.path == n.path
            && o.shape() == n.shape()
            && (!o.is_scalar() || moved(&o.span, splices, &growth) == n.span)
    })
}

/// Where the bytes `span` end up after the splices (sorted by position, not
/// overlapping). `growth[i]` is how much the first `i` splices lengthen the text;
/// a binary search finds the splices before `span`, so checking a large document
/// stays O(n log m).
fn moved(span: &Range<usize>, splices: &[Splice<'_>], growth: &[isize]) -> Range<usize> {
    let before = splices.partition_point(|s| s.span.end <= span.start && s.span != *span);
    let start = span.start.wrapping_add_signed(growth[before]);
    match splices.get(before) {
        Some(s) if s.span == *span => start..start + s.text.len(),
        _ => start..span.end.wrapping_add_signed(growth[before]),
    }
}

pub(crate) fn open_failure(path: &ValuePath, reason: OpenError) -> Error {
    Error::Open {
        path: path.clone(),
        reason,
    }
}

/// Seals the values `selection` picks in a document, to the sealer's recipient.
///
/// Values that are sealed already stay byte for byte as they are, so sealing twice
/// changes nothing. A value sealed to another key is an error
/// ([`Error::ForeignKey`]): a file belongs to one environment.
pub fn seal_document<R: RngCore + CryptoRng>(
    format: Format,
    text: &str,
    selection: &Selection,
    sealer: &mut Sealer<R>,
) -> Result<(String, SealReport), Error> {
    let nodes = format.scan(text)?;
    if let Selection::Paths(paths) = selection {
        for p in paths {
            if !p.is_root() && !nodes.iter().any(|n| n.path.starts_with(p)) {
                return Err(Error::PathNotFound(p.clone()));
            }
        }
    }
    let mut report = SealReport::default();
    let mut sealed = Vec::new();
    for node in nodes.iter().filter(|n| n.is_scalar()) {
        if let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) {
            check_key(&node.path, s, sealer.key_id())?;
            report.already_sealed += 1;
            continue;
        }
        if !selection.wants(&node.path, node.string()) {
            continue;
        }
        let place = Place {
            format,
            document: node.document,
            path: &node.path,
        };
        let token = sealer
            .seal(text[node.span.clone()].as_bytes(), &place)
            .ok_or_else(|| Error::TooLarge(node.path.clone()))?;
        sealed.push((node, format.sealed_literal(&token.to_string())));
    }
    sealed.sort_by_key(|(node, _)| node.span.start);
    report.sealed = sealed.iter().map(|(node, _)| node.path.clone()).collect();
    let splices: Vec<Splice<'_>> = sealed
        .iter()
        .map(|(node, literal)| Splice {
            span: node.span.clone(),
            text: literal,
        })
        .collect();
    let mut out = splice_unchanged_structure(
        format,
        text,
        &nodes,
        &splices,
        "sealing would change the file's structure (please report this as a bug)",
    )?;
    // Moved out, not copied: the sealed text holds no plaintext, and a copy would
    // double the memory a large file needs.
    Ok((std::mem::take(&mut *out), report))
}

/// Applies splices that replace values by values (tokens or opened texts) and
/// checks that the document kept its structure. If it did not, a format module
/// has a bug, and writing the result would corrupt the user's file: `bug` says so.
pub(crate) fn splice_unchanged_structure(
    format: Format,
    text: &str,
    nodes: &[Node],
    splices: &[Splice<'_>],
    bug: &'static str,
) -> Result<Zeroizing<String>, Error> {
    let out = splice(text, splices);
    let after = format.scan(&out)?;
    if !same_structure(nodes, &after, splices, None) {
        return Err(Error::CannotInsert {
            path: ValuePath::root(),
            reason: bug,
        });
    }
    Ok(out)
}

/// A value already sealed must carry the key id being sealed to.
pub(crate) fn check_key(path: &ValuePath, token: &str, expected: KeyId) -> Result<(), Error> {
    let t = Token::parse(token).map_err(|reason| open_failure(path, reason))?;
    if t.key_id != expected {
        return Err(Error::ForeignKey {
            path: path.clone(),
            found: t.key_id,
            expected,
        });
    }
    Ok(())
}

/// Opens the sealed values for which `want` is true and splices their original text
/// back; returns the new text and its nodes.
fn open_where(
    format: Format,
    text: &str,
    identities: &Identities,
    want: impl Fn(u32, &ValuePath) -> bool,
) -> Result<(Zeroizing<String>, Vec<Node>), Error> {
    let mut nodes = format.scan(text)?;
    let mut opener = Opener::new(identities);
    // (span, index of the node in `nodes`, plaintext)
    let mut opened: Vec<(Range<usize>, usize, Zeroizing<String>)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if !want(node.document, &node.path) {
            continue;
        }
        let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) else {
            continue;
        };
        let fail = |reason| open_failure(&node.path, reason);
        let token = Token::parse(s).map_err(fail)?;
        let place = Place {
            format,
            document: node.document,
            path: &node.path,
        };
        let raw = opener.open(&token, &place).map_err(fail)?;
        // Checked in place, so no copy of the plaintext escapes the wiped buffers.
        let raw = std::str::from_utf8(&raw)
            .map(|s| Zeroizing::new(s.to_string()))
            .map_err(|_| fail(OpenError::Refused("the opened text is not UTF-8")))?;
        if !format.is_single_scalar(&raw) {
            return Err(fail(OpenError::Refused(
                "the opened text is not exactly one value; it would inject other keys or lines",
            )));
        }
        opened.push((node.span.clone(), i, raw));
    }
    // The structure check needs only paths, kinds and spans: the decoded strings
    // (as large as the file) are let go before the opened document is scanned.
    for node in &mut nodes {
        if let NodeKind::Scalar { string } = &mut node.kind {
            *string = None;
        }
    }
    nodes.shrink_to_fit();
    opened.sort_by_key(|o| o.0.start);
    let splices: Vec<Splice<'_>> = opened
        .iter()
        .map(|(span, _, raw)| Splice {
            span: span.clone(),
            text: raw.as_str(),
        })
        .collect();
    let out = splice(text, &splices);
    let after = format.scan(&out).ok();
    if let Some(after) = after.filter(|a| same_structure(&nodes, a, &splices, None)) {
        return Ok((out, after));
    }
    // Blame a value whose text, spliced in with those before it, changes the
    // structure while the values before it alone do not. With no splice the
    // structure is intact and with all of them it is not, so a binary search finds
    // such a value in O(log m) scans (a linear search would let a file of forged
    // tokens cost one scan per token).
    let intact = |n: usize| {
        format
            .scan(&splice(text, &splices[..n]))
            .is_ok_and(|a| same_structure(&nodes, &a, &splices[..n], None))
    };
    let (mut good, mut bad) = (0, splices.len());
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if intact(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    // `bad` is at least 1: with no splice the text is the sealed document itself.
    Err(open_failure(
        &nodes[opened[bad - 1].1].path,
        OpenError::Refused("the opened text would change the file's structure when put back"),
    ))
}

/// Opens every sealed value of a document: the result is, byte for byte, the
/// document that was sealed.
pub fn open_document(
    format: Format,
    text: &str,
    identities: &Identities,
) -> Result<Zeroizing<String>, Error> {
    open_where(format, text, identities, |_, _| true).map(|(t, _)| t)
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
    let (opened, nodes) = open_where(format, text, identities, |d, p| d == document && p == path)?;
    let node = find_scalar(&nodes, document, path)?;
    Ok(match node.string() {
        Some(s) => Zeroizing::new(s.to_string()),
        None => Zeroizing::new(opened[node.span.clone()].to_string()),
    })
}

fn find_scalar<'n>(nodes: &'n [Node], document: u32, path: &ValuePath) -> Result<&'n Node, Error> {
    let node = nodes
        .iter()
        .find(|n| n.document == document && n.path == *path)
        .ok_or_else(|| Error::PathNotFound(path.clone()))?;
    if !node.is_scalar() {
        return Err(Error::NotAValue(path.clone()));
    }
    Ok(node)
}

/// Seals `value` (of type `ty`) at `path` of the first document, replacing the
/// value there or adding a new key. Needs only the recipient's public key.
///
/// A string is written as the format's quoted string; any other type must already
/// be that type's literal text (`5432`, `true`, `0.5`).
pub fn set_value<R: RngCore + CryptoRng>(
    format: Format,
    text: &str,
    path: &ValuePath,
    value: &str,
    ty: ScalarType,
    sealer: &mut Sealer<R>,
) -> Result<String, Error> {
    set_value_in(format, text, 0, path, value, ty, sealer)
}

/// [`set_value`] in document `document` (0-based) of a multi-document file. A
/// new key can be added to the first document only.
pub fn set_value_in<R: RngCore + CryptoRng>(
    format: Format,
    text: &str,
    document: u32,
    path: &ValuePath,
    value: &str,
    ty: ScalarType,
    sealer: &mut Sealer<R>,
) -> Result<String, Error> {
    let nodes = format.scan(text)?;
    for node in &nodes {
        if let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) {
            check_key(&node.path, s, sealer.key_id())?;
        }
    }
    if Token::looks_sealed(value) {
        return Err(Error::InvalidValue {
            path: path.clone(),
            reason: "it begins like a sealed value (cachet:…), which would never open as plain text",
        });
    }
    if ty == ScalarType::String {
        format
            .representable(value)
            .map_err(|reason| Error::InvalidValue {
                path: path.clone(),
                reason,
            })?;
    }
    let literal = match ty {
        ScalarType::String => format.string_literal(value),
        _ if format.typed_literal(ty, value) => Zeroizing::new(value.to_string()),
        _ => {
            return Err(Error::InvalidValue {
                path: path.clone(),
                reason: match ty {
                    ScalarType::Int => "not an integer",
                    ScalarType::Float => "not a floating-point number",
                    _ => "not true or false",
                },
            });
        }
    };
    let place = Place {
        format,
        document,
        path,
    };
    let token = sealer
        .seal(literal.as_bytes(), &place)
        .ok_or_else(|| Error::TooLarge(path.clone()))?;
    let sealed = format.sealed_literal(&token.to_string());
    let existing = nodes
        .iter()
        .find(|n| n.document == document && n.path == *path);
    let (span, inserted) = match existing {
        Some(node) if node.is_scalar() => (node.span.clone(), None),
        Some(_) => return Err(Error::NotAValue(path.clone())),
        None if document != 0 => {
            return Err(Error::CannotInsert {
                path: path.clone(),
                reason: "new keys can be added to the first document only",
            });
        }
        None => {
            let (at, text) = format.insert(text, &nodes, path, &sealed)?;
            (at..at, Some(text))
        }
    };
    let splices = [Splice {
        span,
        text: inserted.as_deref().map_or(sealed.as_str(), String::as_str),
    }];
    let out = splice(text, &splices).to_string();
    // The new text must hold every old value where it was, and the new one exactly
    // as written; anything else means the layout defeated the insertion.
    let after = format.scan(&out)?;
    let landed = after.iter().any(|n| {
        n.path == *path && n.is_scalar() && out.get(n.span.clone()) == Some(sealed.as_str())
    });
    let added = existing.is_none().then_some(path);
    if !landed || !same_structure(&nodes, &after, &splices, added) {
        return Err(Error::CannotInsert {
            path: path.clone(),
            reason: "the file's layout does not allow adding it here; add the key by hand, then run `cachet set`",
        });
    }
    Ok(out)
}

/// A document opened as trees of typed values, with what was opened to get them.
#[derive(Debug)]
pub struct OpenedTree {
    /// Each document of the file, in order (one for every format but YAML).
    pub documents: Vec<crate::tree::Value>,
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
        documents: crate::tree::build(format, &plain)?,
        opened,
        key_ids,
    })
}
