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
use crate::format::{Format, Node, NodeSink, ScalarType};
use crate::key::{Identities, KeyId};
use crate::path::ValuePath;
use crate::rewrite::{Rewriter, scan_whole, verify};
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
    let wanted: &[ValuePath] = match selection {
        Selection::Paths(paths) => paths,
        _ => &[],
    };
    let pass = Sealing {
        format,
        text,
        selection,
        sealer,
        // A sealed value is longer than its text; the buffer grows as it must.
        rewriter: Rewriter::new(text, text.len().saturating_mul(2)),
        report: SealReport::default(),
        found: wanted.iter().map(ValuePath::is_root).collect(),
        wanted,
    };
    let pass = scan_whole(format, text, pass)?;
    if let Some(i) = pass.found.iter().position(|f| !f) {
        return Err(Error::PathNotFound(wanted[i].clone()));
    }
    let mut out = pass.rewriter.finish().checked(
        format,
        "sealing would change the file's structure (please report this as a bug)",
    )?;
    // Moved out, not copied: the sealed text holds no plaintext, and a copy would
    // double the memory a large file needs.
    Ok((std::mem::take(&mut *out), pass.report))
}

/// [`seal_document`]'s pass over the nodes: seals each value as it comes.
struct Sealing<'s, 't, R: RngCore + CryptoRng> {
    format: Format,
    text: &'t str,
    selection: &'s Selection,
    sealer: &'s mut Sealer<R>,
    rewriter: Rewriter<'t>,
    report: SealReport,
    /// The paths a [`Selection::Paths`] names, and whether each has been seen.
    wanted: &'s [ValuePath],
    found: Vec<bool>,
}

impl<R: RngCore + CryptoRng> NodeSink for Sealing<'_, '_, R> {
    fn node(&mut self, node: Node) -> Result<(), Error> {
        for (found, p) in self.found.iter_mut().zip(self.wanted) {
            *found = *found || node.path.starts_with(p);
        }
        if !node.is_scalar() {
            return self.rewriter.node(&node, None);
        }
        if let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) {
            check_key(&node.path, s, self.sealer.key_id())?;
            self.report.already_sealed += 1;
            return self.rewriter.node(&node, None);
        }
        if !self.selection.wants(&node.path, node.string()) {
            return self.rewriter.node(&node, None);
        }
        let place = Place {
            format: self.format,
            document: node.document,
            path: &node.path,
        };
        let token = self
            .sealer
            .seal(self.text[node.span.clone()].as_bytes(), &place)
            .ok_or_else(|| Error::TooLarge(node.path.clone()))?;
        let literal = self.format.sealed_literal(&token.to_string());
        self.rewriter.node(&node, Some(&literal))?;
        self.report.sealed.push(node.path);
        Ok(())
    }
}

/// Replaces the scalars whose spans the splices (sorted by position) name by the
/// splices' texts, in one pass, and checks the structure of the result (the
/// re-parse check). Gives the new text if it kept the structure, and the path of
/// the last value replaced.
pub(crate) fn replace_values(
    format: Format,
    text: &str,
    splices: &[Splice<'_>],
) -> Result<(Option<Zeroizing<String>>, Option<ValuePath>), Error> {
    let pass = Replay {
        rewriter: Rewriter::new(text, text.len()),
        splices,
        next: 0,
        last: None,
    };
    let pass = scan_whole(format, text, pass)?;
    let rewritten = pass.rewriter.finish();
    // A splice that is not a scalar's span was not applied: not intact either.
    let intact = pass.next == splices.len() && verify(format, &rewritten, None).0;
    Ok((intact.then_some(rewritten.text), pass.last))
}

/// [`replace_values`]' pass over the nodes.
struct Replay<'r, 'a, 't> {
    rewriter: Rewriter<'t>,
    splices: &'r [Splice<'a>],
    next: usize,
    last: Option<ValuePath>,
}

impl NodeSink for Replay<'_, '_, '_> {
    fn node(&mut self, node: Node) -> Result<(), Error> {
        match self.splices.get(self.next) {
            Some(s) if node.is_scalar() && node.span == s.span => {
                self.next += 1;
                self.rewriter.node(&node, Some(s.text))?;
                self.last = Some(node.path);
                Ok(())
            }
            _ => self.rewriter.node(&node, None),
        }
    }
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

impl<W: Fn(u32, &ValuePath) -> bool> NodeSink for Opening<'_, '_, W> {
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
/// document that was sealed.
pub fn open_document(
    format: Format,
    text: &str,
    identities: &Identities,
) -> Result<Zeroizing<String>, Error> {
    open_where(format, text, identities, |_, _| true, None).map(|(t, _)| t)
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
