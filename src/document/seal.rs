//! Sealing a document's values, and setting one value (`spec/format.md`
//! sections 10.1 to 10.4).

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::Error;
use super::open::open_failure;
use super::rewrite::{Pass, Rewriter, Splice, same_structure, scan_whole, splice};
use super::selection::Selection;
use crate::format::{Format, FormatError, Node, ScalarType};
use crate::path::ValuePath;
use crate::seal::{KeyId, Place, Sealer, Token};

/// What [`seal_document`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealReport {
    /// The paths sealed by this call, in document order.
    pub sealed: Vec<ValuePath>,
    /// How many values were sealed already and were left byte for byte as they were.
    pub already_sealed: usize,
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

impl<R: RngCore + CryptoRng> Pass for Sealing<'_, '_, R> {
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
        let raw = &self.text[node.span.clone()];
        // What an opener would refuse to put back is not sealed at all.
        if !self.format.is_single_scalar(raw) {
            return Err(Error::InvalidValue {
                path: node.path,
                reason: "its text as written reads differently to common loaders of the format (spec/format.md section 8), so it would not open; write it quoted, with escapes",
            });
        }
        let place = Place {
            format: self.format,
            document: node.document,
            path: &node.path,
        };
        let token = self
            .sealer
            .seal(raw.as_bytes(), &place)
            .ok_or_else(|| Error::TooLarge(node.path.clone()))?;
        let literal = self.format.sealed_literal(&token.to_string());
        self.rewriter.node(&node, Some(&literal))?;
        self.report.sealed.push(node.path);
        Ok(())
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

/// Whether [`set_value_in`] at `path` of `document` would add a key the file does
/// not have, rather than replace a value (or fill a YAML `key:` left empty): a
/// mistyped path would otherwise add a table and look like success, so the CLI
/// asks for `--create` first.
pub fn set_adds_key(
    format: Format,
    text: &str,
    document: u32,
    path: &ValuePath,
) -> Result<bool, Error> {
    let at_path = |d: u32, p: &ValuePath| d == document && p == path;
    if format
        .scan(text)?
        .iter()
        .any(|n| at_path(n.document, &n.path))
    {
        return Ok(false);
    }
    if format == Format::Yaml {
        let (_, holes) = crate::format::yaml::scan_with_holes(text)?;
        if holes.iter().any(|h| at_path(h.document, &h.path)) {
            return Ok(false);
        }
    }
    Ok(true)
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
            return Err(FormatError::CannotInsert {
                path: path.clone(),
                reason: "new keys can be added to the first document only",
            }
            .into());
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
        return Err(FormatError::CannotInsert {
            path: path.clone(),
            reason: "the file's layout does not allow adding it here; add the key by hand, then run `cachet set`",
        }
        .into());
    }
    Ok(out)
}
