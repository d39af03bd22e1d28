//! Key rotation of one document: every value sealed to one of a set of old keys is
//! opened and sealed again to a new key, in place. Everything else in the file,
//! plain values and values sealed to other keys included, stays byte for byte.
//!
//! A re-sealed value keeps its sealed-at time: rotation changes the key, not the
//! value, so "when was this value last set" (audit) still has its answer. The
//! procedure that rotates a whole environment (keyring, policy, files, and how an
//! interrupted rotation is finished) is `spec/policy.md`, "Rotation".

use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::document::{Splice, open_failure, splice_unchanged_structure};
use crate::error::{Error, OpenError};
use crate::format::Format;
use crate::key::{Identities, PublicKey};
use crate::path::ValuePath;
use crate::sealed_value::{Opener, Place, Sealer};
use crate::token::{SealedAt, Token};

/// What [`rekey_document`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RekeyReport {
    /// The paths re-sealed to the new key, in document order.
    pub resealed: Vec<ValuePath>,
}

/// Re-seals to `to` every value of `text` sealed to a key of `from`; returns the
/// new text (equal to `text` when nothing was sealed to those keys).
///
/// A merge conflict left in a value is an error (resolve it first): its two sides
/// are one value, and re-sealing one side would hide the conflict.
pub fn rekey_document(
    format: Format,
    text: &str,
    from: &Identities,
    to: &PublicKey,
) -> Result<(Zeroizing<String>, RekeyReport), Error> {
    let nodes = format.scan(text)?;
    let mut opener = Opener::new(from);
    // One sealer per sealed-at time kept, so a file costs one ephemeral key per
    // distinct time rather than one per value.
    let mut sealers: Vec<(SealedAt, Sealer)> = Vec::new();
    let mut replaced: Vec<(std::ops::Range<usize>, &ValuePath, String)> = Vec::new();
    for node in nodes.iter().filter(|n| n.is_scalar()) {
        let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) else {
            continue;
        };
        let fail = |reason| open_failure(&node.path, reason);
        if crate::reseal::Conflict::parse(s).is_some() {
            return Err(fail(OpenError::Refused(
                "it holds a merge conflict; resolve it (cachet edit) before rotating",
            )));
        }
        let token = Token::parse(s).map_err(fail)?;
        if from.get(&token.key_id).is_none() {
            continue;
        }
        let place = Place {
            format,
            document: node.document,
            path: &node.path,
        };
        let raw = opener.open(&token, &place).map_err(fail)?;
        let i = match sealers.iter().position(|(at, _)| *at == token.sealed_at) {
            Some(i) => i,
            None => {
                let sealer = Sealer::with_rng(to, OsRng, token.sealed_at).map_err(|_| {
                    fail(OpenError::Refused(
                        "the new key is a low-order point, which nothing may be sealed to",
                    ))
                })?;
                sealers.push((token.sealed_at, sealer));
                sealers.len() - 1
            }
        };
        let new = sealers[i]
            .1
            .seal(&raw, &place)
            .ok_or_else(|| Error::TooLarge(node.path.clone()))?;
        replaced.push((
            node.span.clone(),
            &node.path,
            format.sealed_literal(&new.to_string()),
        ));
    }
    replaced.sort_by_key(|r| r.0.start);
    let report = RekeyReport {
        resealed: replaced.iter().map(|r| r.1.clone()).collect(),
    };
    if replaced.is_empty() {
        return Ok((Zeroizing::new(text.to_string()), report));
    }
    let splices: Vec<Splice<'_>> = replaced
        .iter()
        .map(|(span, _, literal)| Splice {
            span: span.clone(),
            text: literal,
        })
        .collect();
    let out = splice_unchanged_structure(
        format,
        text,
        &splices,
        "re-sealing would change the file's structure (please report this as a bug)",
    )?;
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretKey, Selection, open_document, seal_document};

    #[test]
    fn only_values_of_the_old_key_change_and_everything_opens_with_the_new() {
        let (old, new, other) = (
            SecretKey::from_bytes([1; 32]),
            SecretKey::from_bytes([2; 32]),
            SecretKey::from_bytes([3; 32]),
        );
        let plain = "# c\n[db]\nhost = \"db\"\npassword = \"hunter2\"\ntoken = 'x y'\n";
        let mut sealer = Sealer::new(&old.public_key()).unwrap();
        let (sealed, _) =
            seal_document(Format::Toml, plain, &Selection::Default, &mut sealer).unwrap();
        let mut from = Identities::new();
        from.push(old.clone());
        let (rekeyed, report) =
            rekey_document(Format::Toml, &sealed, &from, &new.public_key()).unwrap();
        assert_eq!(report.resealed.len(), 2);
        let values = crate::list_values(Format::Toml, &rekeyed).unwrap();
        for v in values.iter().filter_map(|v| v.sealed) {
            assert_eq!(v.0, new.public_key().key_id());
            assert_eq!(v.1, sealer.sealed_at());
        }
        assert!(rekeyed.contains("host = \"db\""));
        let mut ids = Identities::new();
        ids.push(new.clone());
        assert_eq!(
            open_document(Format::Toml, &rekeyed, &ids)
                .unwrap()
                .as_str(),
            plain
        );
        // The old key alone no longer opens it.
        assert!(open_document(Format::Toml, &rekeyed, &from).is_err());
        // Nothing sealed to the keys given: the text is returned unchanged.
        let mut none = Identities::new();
        none.push(other);
        let (same, report) =
            rekey_document(Format::Toml, &rekeyed, &none, &old.public_key()).unwrap();
        assert_eq!(same.as_str(), rekeyed.as_str());
        assert!(report.resealed.is_empty());
    }
}
