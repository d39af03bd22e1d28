//! Re-sealing an edited document with the least change, and merging three
//! versions of a sealed document value by value.
//!
//! A sealed token is random: sealing the same text twice gives two different
//! tokens. So a decrypt-edit-encrypt cycle would rewrite every sealed line, and two
//! branches touching neighbouring values would conflict in git's line merge. Here a
//! value whose text did not change keeps its old token, byte for byte, and a merge
//! decides per value, on opened text, which side's token to take.
//!
//! The conflict marker that a merge writes when both sides changed one value to
//! different texts is specified in `spec/git.md`.

use std::collections::{HashMap, HashSet};

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::Error;
use super::open::open_failure;
use super::rewrite::{Pass, Rewriter, Splice, replace_values, scan_whole, splice};
use super::seal::check_key;
use super::selection::Selection;
use crate::format::{Format, Node};
use crate::path::ValuePath;
use crate::seal::{Conflict, Identities, KeyId, OpenError, Opener, Place, Sealer, Token};

/// The text `cachet edit` shows in place of a conflict: a string of the file's
/// format naming both sides' texts, which the person editing replaces by one value.
/// Deterministic, so a conflict left as shown is recognised when the file comes back.
pub fn conflict_shown(
    format: Format,
    ours: &str,
    theirs: &str,
) -> Result<Zeroizing<String>, &'static str> {
    let text = Zeroizing::new(format!(
        "CONFLICT <<<<<<< ours: {ours} ======= theirs: {theirs} >>>>>>> keep one value"
    ));
    format.representable(&text)?;
    Ok(format.string_literal(&text))
}

/// Opens one token at `place`: its exact original text, as UTF-8.
fn open_raw(
    opener: &mut Opener<'_>,
    token: &Token,
    place: &Place<'_>,
) -> Result<Zeroizing<String>, Error> {
    let fail = |reason| open_failure(place.path, reason);
    let raw = opener.open(token, place).map_err(fail)?;
    std::str::from_utf8(&raw)
        .map(|s| Zeroizing::new(s.to_string()))
        .map_err(|_| fail(OpenError::Refused("the opened text is not UTF-8")))
}

/// A document opened for editing: every sealed value's text put back, and each
/// conflict marker shown as [`conflict_shown`] text.
#[derive(Debug)]
pub struct EditView {
    /// The opened text.
    pub text: Zeroizing<String>,
    /// The conflicts shown: document index and path.
    pub conflicts: Vec<(u32, ValuePath)>,
}

/// Opens a document for editing. Unlike [`crate::open_document`], a conflict
/// marker opens too: both sides are shown in one string for the person to choose.
pub fn open_for_edit(
    format: Format,
    text: &str,
    identities: &Identities,
) -> Result<EditView, Error> {
    let nodes = format.scan(text)?;
    let mut opener = Opener::new(identities);
    let mut opened: Vec<(std::ops::Range<usize>, Zeroizing<String>)> = Vec::new();
    let mut conflicts = Vec::new();
    for node in nodes.iter().filter(|n| n.is_scalar()) {
        let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) else {
            continue;
        };
        let place = Place {
            format,
            document: node.document,
            path: &node.path,
        };
        let raw = match Conflict::parse(s) {
            Some(c) => {
                let c = c.map_err(|reason| open_failure(&node.path, reason))?;
                let ours = open_raw(&mut opener, &c.ours, &place)?;
                let theirs = open_raw(&mut opener, &c.theirs, &place)?;
                conflicts.push((node.document, node.path.clone()));
                conflict_shown(format, &ours, &theirs).map_err(|reason| Error::InvalidValue {
                    path: node.path.clone(),
                    reason,
                })?
            }
            None => {
                let token = Token::parse(s).map_err(|r| open_failure(&node.path, r))?;
                open_raw(&mut opener, &token, &place)?
            }
        };
        if !format.is_single_scalar(&raw) {
            return Err(open_failure(
                &node.path,
                OpenError::Refused(
                    "the opened text is not exactly one value; it would inject other keys or lines",
                ),
            ));
        }
        opened.push((node.span.clone(), raw));
    }
    // TOML's nodes come grouped by table, not in text order.
    opened.sort_by_key(|(span, _)| span.start);
    let splices: Vec<Splice<'_>> = opened
        .iter()
        .map(|(span, raw)| Splice {
            span: span.clone(),
            text: raw.as_str(),
        })
        .collect();
    let Some(text) = replace_values(format, text, &splices)?.0 else {
        return Err(open_failure(
            &ValuePath::root(),
            OpenError::Refused("the opened text would change the file's structure when put back"),
        ));
    };
    Ok(EditView { text, conflicts })
}

/// What [`reseal`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Values whose old token was kept, byte for byte.
    pub kept: usize,
    /// Values sealed anew (changed, new, or sealed before to another key), in
    /// document order.
    pub sealed: Vec<ValuePath>,
    /// Values that were tokens in the new text already and were left as they were.
    pub already_sealed: usize,
}

/// What the old sealed document tells about one place.
enum Before {
    /// A token of the current key: its opened text and the token's literal.
    Reusable(Zeroizing<String>, String),
    /// Sealed, but its token cannot be reused (a conflict that cannot be shown).
    Sealed,
    /// A conflict marker, and the text `cachet edit` showed for it.
    Conflict(Zeroizing<String>),
}

/// Seals `plain`, a plaintext version of the sealed document `like`, with the
/// fewest changes to `like`.
///
/// A value whose text at the same document and path is what `like`'s token there
/// opens to keeps that token. Every other value that `selection` picks, or that
/// `like` had sealed at that path, is sealed anew. A value that is already a token
/// in `plain` stays as it is. Every token of `like` and `plain` must be of the
/// sealer's key id, else [`Error::ForeignKey`]: re-sealing never moves a value to
/// another key (that is a rotation's job). A conflict still as [`open_for_edit`]
/// showed it is [`Error::Unresolved`].
pub fn reseal<R: RngCore + CryptoRng>(
    format: Format,
    like: &str,
    identities: &Identities,
    plain: &str,
    selection: &Selection,
    sealer: &mut Sealer<R>,
) -> Result<(String, ResealReport), Error> {
    let before = read_before(format, like, identities, sealer.key_id())?;
    // The texts that were sealed: one that turns up at another path (a renamed
    // key, a moved array item) is still a secret and is sealed there too.
    let secrets: HashSet<&str> = before
        .values()
        .filter_map(|b| match b {
            Before::Reusable(old, _) if !old.is_empty() => Some(old.as_str()),
            _ => None,
        })
        .collect();
    let pass = Resealing {
        format,
        plain,
        before: &before,
        secrets: &secrets,
        selection,
        sealer,
        // Sealed values are longer than their texts; the buffer grows as it must.
        rewriter: Rewriter::new(plain, plain.len().saturating_mul(2)),
        report: ResealReport::default(),
    };
    let pass = scan_whole(format, plain, pass)?;
    let mut out = pass.rewriter.finish().checked(
        format,
        "sealing would change the file's structure (please report this as a bug)",
    )?;
    // Moved out, not copied: the sealed text holds no plaintext.
    Ok((std::mem::take(&mut *out), pass.report))
}

/// [`reseal`]'s pass over the nodes of the plaintext: keeps, seals or leaves each
/// value as it comes.
struct Resealing<'a, 't, R: RngCore + CryptoRng> {
    format: Format,
    plain: &'t str,
    before: &'a HashMap<(u32, ValuePath), Before>,
    secrets: &'a HashSet<&'a str>,
    selection: &'a Selection,
    sealer: &'a mut Sealer<R>,
    rewriter: Rewriter<'t>,
    report: ResealReport,
}

impl<R: RngCore + CryptoRng> Resealing<'_, '_, R> {
    /// The text a scalar's value is written as: its old token, a new one, or
    /// `None` to leave it as it is.
    fn literal(&mut self, node: &Node) -> Result<Option<String>, Error> {
        if let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) {
            check_key(&node.path, s, self.sealer.key_id())?;
            self.report.already_sealed += 1;
            return Ok(None);
        }
        let raw = &self.plain[node.span.clone()];
        match self.before.get(&(node.document, node.path.clone())) {
            Some(Before::Reusable(old, literal)) if old.as_str() == raw => {
                self.report.kept += 1;
                return Ok(Some(literal.clone()));
            }
            Some(Before::Conflict(shown)) if shown.as_str() == raw => {
                return Err(Error::Unresolved(node.path.clone()));
            }
            Some(_) => {}
            None if self.selection.wants(&node.path, node.string())
                || self.secrets.contains(raw) => {}
            None => return Ok(None),
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
        self.report.sealed.push(node.path.clone());
        Ok(Some(self.format.sealed_literal(&token.to_string())))
    }
}

impl<R: RngCore + CryptoRng> Pass for Resealing<'_, '_, R> {
    fn node(&mut self, node: Node) -> Result<(), Error> {
        let literal = if node.is_scalar() {
            self.literal(&node)?
        } else {
            None
        };
        self.rewriter.node(&node, literal.as_deref())
    }
}

/// Reads what `like` holds at each sealed place; opens the tokens of `current`
/// only, as only those can be kept.
fn read_before(
    format: Format,
    like: &str,
    identities: &Identities,
    current: KeyId,
) -> Result<HashMap<(u32, ValuePath), Before>, Error> {
    let mut opener = Opener::new(identities);
    let mut out = HashMap::new();
    for node in format.scan(like)?.into_iter().filter(Node::is_scalar) {
        let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) else {
            continue;
        };
        let place = Place {
            format,
            document: node.document,
            path: &node.path,
        };
        // A value keeps the key it is sealed to: re-sealing it to another key here
        // would move a secret to whatever key the caller was given (a swapped
        // one, say) without anyone asking for a rotation.
        let own_key = |token: &Token| {
            if token.key_id == current {
                Ok(())
            } else {
                Err(Error::ForeignKey {
                    path: node.path.clone(),
                    found: token.key_id,
                    expected: current,
                })
            }
        };
        let before = match Conflict::parse(s) {
            Some(c) => {
                let c = c.map_err(|r| open_failure(&node.path, r))?;
                own_key(&c.ours)?;
                own_key(&c.theirs)?;
                let ours = open_raw(&mut opener, &c.ours, &place)?;
                let theirs = open_raw(&mut opener, &c.theirs, &place)?;
                // A conflict that cannot be shown was refused when opened for
                // editing, so it cannot come back unchanged either.
                conflict_shown(format, &ours, &theirs).map_or(Before::Sealed, Before::Conflict)
            }
            None => {
                let token = Token::parse(s).map_err(|r| open_failure(&node.path, r))?;
                own_key(&token)?;
                let raw = open_raw(&mut opener, &token, &place)?;
                Before::Reusable(raw, like[node.span.clone()].to_string())
            }
        };
        out.insert((node.document, node.path), before);
    }
    Ok(out)
}

/// One scalar of a version being merged.
struct Value {
    document: u32,
    path: ValuePath,
    /// Its text in the file (a token's literal for a sealed value).
    literal: String,
    /// Its opened text (the literal itself for a plain value).
    content: Zeroizing<String>,
    /// Its token, for a sealed value.
    token: Option<Token>,
}

/// A version split into its scalars and the text around them.
struct Version {
    values: Vec<Value>,
    /// The text before each value, then the text after the last one.
    frame: Vec<String>,
}

fn split(format: Format, text: &str, identities: &Identities) -> Result<Version, Error> {
    let mut nodes: Vec<Node> = format
        .scan(text)?
        .into_iter()
        .filter(Node::is_scalar)
        .collect();
    nodes.sort_by_key(|n| n.span.start);
    let mut opener = Opener::new(identities);
    let mut values = Vec::new();
    let mut frame = Vec::new();
    let mut at = 0;
    for node in nodes {
        // Aliases and the like may share a span; such a file is merged by lines.
        if node.span.start < at {
            return Err(Error::CannotMerge("two values share their text"));
        }
        frame.push(text[at..node.span.start].to_string());
        at = node.span.end;
        let literal = text[node.span.clone()].to_string();
        let (content, token) = match node.string().filter(|s| Token::looks_sealed(s)) {
            Some(s) => {
                if Conflict::parse(s).is_some() {
                    return Err(Error::CannotMerge("a version holds a conflict already"));
                }
                let token = Token::parse(s).map_err(|r| open_failure(&node.path, r))?;
                let place = Place {
                    format,
                    document: node.document,
                    path: &node.path,
                };
                (open_raw(&mut opener, &token, &place)?, Some(token))
            }
            None => (Zeroizing::new(literal.clone()), None),
        };
        values.push(Value {
            document: node.document,
            path: node.path,
            literal,
            content,
            token,
        });
    }
    frame.push(text[at..].to_string());
    Ok(Version { values, frame })
}

/// The result of [`merge`].
#[derive(Debug)]
pub struct Merged {
    /// The merged document; conflicts are sealed conflict markers.
    pub text: String,
    /// The values changed on both sides to different texts.
    pub conflicts: Vec<(u32, ValuePath)>,
}

/// Merges two versions of a sealed document, `ours` and `theirs`, from their
/// common ancestor `base`, value by value on opened text.
///
/// The three must have the same values at the same places with the same text
/// around them; only the values' texts may differ. A value changed on one side
/// takes that side's text (its token, unchanged); changed on both sides to the
/// same text, ours; to different texts, a [`Conflict`] marker of both tokens.
/// [`Error::CannotMerge`] when the layouts differ or a conflicting value is not
/// sealed on both sides: the caller then merges by lines.
pub fn merge(
    format: Format,
    base: &str,
    ours: &str,
    theirs: &str,
    identities: &Identities,
) -> Result<Merged, Error> {
    let o = split(format, base, identities)?;
    let a = split(format, ours, identities)?;
    let b = split(format, theirs, identities)?;
    if o.frame != a.frame || o.frame != b.frame {
        return Err(Error::CannotMerge("the text around the values differs"));
    }
    let mut out = String::with_capacity(ours.len());
    let mut conflicts = Vec::new();
    for (i, ((vo, va), vb)) in o.values.iter().zip(&a.values).zip(&b.values).enumerate() {
        if (vo.document, &vo.path) != (va.document, &va.path)
            || (vo.document, &vo.path) != (vb.document, &vb.path)
        {
            return Err(Error::CannotMerge("the values are not at the same places"));
        }
        out.push_str(&o.frame[i]);
        // A side whose text did not change takes the other side's text, whatever
        // that change was: sealing a plain value or re-sealing it to a new key is
        // a change even though the opened value stays the same.
        let chosen = if va.literal == vo.literal {
            Some(vb)
        } else if vb.literal == vo.literal {
            Some(va)
        } else if va.content == vb.content {
            // Both changed to the same value: ours, unless only theirs sealed it.
            Some(if va.token.is_none() && vb.token.is_some() {
                vb
            } else {
                va
            })
        } else if va.content == vo.content {
            Some(vb)
        } else if vb.content == vo.content {
            Some(va)
        } else {
            None
        };
        if let Some(v) = chosen {
            // A token of another key than ours' (a branch made before a rotation)
            // must not come back silently: let the line merge show it.
            if let (Some(t), Some(mine)) = (&v.token, &va.token)
                && t.key_id != mine.key_id
            {
                return Err(Error::CannotMerge(
                    "a value is sealed to different keys on the two sides",
                ));
            }
            out.push_str(&v.literal);
        } else {
            let (Some(ours), Some(theirs)) = (&va.token, &vb.token) else {
                return Err(Error::CannotMerge(
                    "a value changed on both sides is not sealed on both",
                ));
            };
            let marker = Conflict {
                ours: ours.clone(),
                theirs: theirs.clone(),
            };
            out.push_str(&format.sealed_literal(&marker.to_string()));
            conflicts.push((vo.document, vo.path.clone()));
        }
    }
    out.push_str(o.frame.last().map_or("", String::as_str));
    // The frames are equal, so the merged text has ours' layout; a value's text
    // from the other side must still be one value there.
    let after = format.scan(&out)?;
    let same = after.iter().filter(|n| n.is_scalar()).count() == a.values.len();
    if !same {
        return Err(Error::CannotMerge(
            "the merged text does not have the same values",
        ));
    }
    Ok(Merged {
        text: out,
        conflicts,
    })
}

/// Replaces, in `side`, the token of every value whose opened text equals the
/// one in `base` at the same place by `base`'s token, so a line merge sees only
/// the values that really changed. Plain values and everything else stay.
pub fn normalize_to(
    format: Format,
    base: &str,
    side: &str,
    identities: &Identities,
) -> Result<String, Error> {
    let o = split(format, base, identities)?;
    let nodes = format.scan(side)?;
    let mut opener = Opener::new(identities);
    let old: HashMap<(u32, &ValuePath), &Value> = o
        .values
        .iter()
        .filter(|v| v.token.is_some())
        .map(|v| ((v.document, &v.path), v))
        .collect();
    let mut seen = HashSet::new();
    let mut literals: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    for node in nodes.iter().filter(|n| n.is_scalar()) {
        let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) else {
            continue;
        };
        let Some(v) = old.get(&(node.document, &node.path)) else {
            continue;
        };
        if !seen.insert(node.span.start) || Conflict::parse(s).is_some() {
            continue;
        }
        let token = Token::parse(s).map_err(|r| open_failure(&node.path, r))?;
        let place = Place {
            format,
            document: node.document,
            path: &node.path,
        };
        // Only a token of the same key: swapping in an older key's token would
        // undo a rotation.
        let same_key = v.token.as_ref().is_some_and(|b| b.key_id == token.key_id);
        if same_key && open_raw(&mut opener, &token, &place)? == v.content {
            literals.push((node.span.clone(), v.literal.as_str()));
        }
    }
    literals.sort_by_key(|(span, _)| span.start);
    let splices: Vec<Splice<'_>> = literals
        .into_iter()
        .map(|(span, text)| Splice { span, text })
        .collect();
    Ok(splice(side, &splices).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::seal_document;
    use crate::seal::SecretKey;

    /// A file sealed to one key, re-sealed with a sealer of another (a swapped
    /// key): every old value would move to the new key. Refused, naming both.
    #[test]
    fn re_sealing_never_moves_a_value_to_another_key() {
        let real = SecretKey::from_bytes([1; 32]);
        let swapped = SecretKey::from_bytes([2; 32]);
        let plain = "host = \"db\"\npassword = \"hunter2\"\n";
        let (sealed, _) = seal_document(
            Format::Toml,
            plain,
            &Selection::Default,
            &mut Sealer::new(&real.public_key()).unwrap(),
        )
        .unwrap();
        let mut ids = Identities::new();
        ids.push(real.clone());
        let edited = "host = \"db2\"\npassword = \"hunter2\"\n";
        let e = reseal(
            Format::Toml,
            &sealed,
            &ids,
            edited,
            &Selection::Default,
            &mut Sealer::new(&swapped.public_key()).unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            Error::ForeignKey {
                path: "password".parse().unwrap(),
                found: real.public_key().key_id(),
                expected: swapped.public_key().key_id(),
            }
        );
        // With the file's own key, the unchanged value keeps its token.
        let (out, report) = reseal(
            Format::Toml,
            &sealed,
            &ids,
            edited,
            &Selection::Default,
            &mut Sealer::new(&real.public_key()).unwrap(),
        )
        .unwrap();
        assert_eq!(report.kept, 1);
        assert_eq!(out.lines().nth(1), sealed.lines().nth(1));
    }
}
