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

use super::Error;
use super::open::open_failure;
use super::rewrite::{Pass, Rewriter, scan_whole};
use crate::format::{Format, Node};
use crate::path::ValuePath;
use crate::seal::{Identities, OpenError, Opener, Place, PublicKey, SealedAt, Sealer, Token};

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
    rekey_stamped(format, text, (from, to), None)
}

/// [`rekey_document`], every re-sealed value stamped `at` instead of keeping its
/// sealed-at time: a value set anew, as `cachet reseal` does for a file copied
/// from another environment or a value deliberately put back.
pub fn reseal_values_at(
    format: Format,
    text: &str,
    (from, to): (&Identities, &PublicKey),
    at: SealedAt,
) -> Result<(Zeroizing<String>, RekeyReport), Error> {
    rekey_stamped(format, text, (from, to), Some(at))
}

fn rekey_stamped(
    format: Format,
    text: &str,
    (from, to): (&Identities, &PublicKey),
    stamp: Option<SealedAt>,
) -> Result<(Zeroizing<String>, RekeyReport), Error> {
    let pass = Rekeying {
        format,
        from,
        to,
        stamp,
        opener: Opener::new(from),
        sealers: Vec::new(),
        // A re-sealed token is as long as the one it replaces.
        rewriter: Rewriter::new(text, text.len()),
        report: RekeyReport::default(),
    };
    let pass = scan_whole(format, text, pass)?;
    if pass.report.resealed.is_empty() {
        return Ok((Zeroizing::new(text.to_string()), pass.report));
    }
    let out = pass.rewriter.finish().checked(
        format,
        "re-sealing would change the file's structure (please report this as a bug)",
    )?;
    Ok((out, pass.report))
}

/// [`rekey_document`]'s pass over the nodes: re-seals each value sealed to an old
/// key as it comes.
struct Rekeying<'k, 't> {
    format: Format,
    from: &'k Identities,
    to: &'k PublicKey,
    /// The sealed-at time of every re-sealed value; `None` keeps each one's.
    stamp: Option<SealedAt>,
    opener: Opener<'k>,
    /// One sealer per sealed-at time kept, so a file costs one ephemeral key per
    /// distinct time rather than one per value.
    sealers: Vec<(SealedAt, Sealer)>,
    rewriter: Rewriter<'t>,
    report: RekeyReport,
}

impl Rekeying<'_, '_> {
    /// The new literal for a node's value, or `None` to keep it as it is.
    fn resealed(&mut self, node: &Node) -> Result<Option<String>, Error> {
        let Some(s) = node.string().filter(|s| Token::looks_sealed(s)) else {
            return Ok(None);
        };
        let fail = |reason| open_failure(&node.path, reason);
        if crate::seal::Conflict::parse(s).is_some() {
            return Err(fail(OpenError::Refused(
                "it holds a merge conflict; resolve it (cachet edit) before rotating",
            )));
        }
        let token = Token::parse(s).map_err(fail)?;
        if self.from.get(&token.key_id).is_none() {
            return Ok(None);
        }
        let place = Place {
            format: self.format,
            document: node.document,
            path: &node.path,
        };
        let raw = self.opener.open(&token, &place).map_err(fail)?;
        let at = self.stamp.unwrap_or(token.sealed_at);
        let i = match self.sealers.iter().position(|(t, _)| *t == at) {
            Some(i) => i,
            None => {
                let sealer = Sealer::with_rng(self.to, OsRng, at).map_err(|_| {
                    fail(OpenError::Refused(
                        "the new key is a low-order point, which nothing may be sealed to",
                    ))
                })?;
                self.sealers.push((at, sealer));
                self.sealers.len() - 1
            }
        };
        let new = self.sealers[i]
            .1
            .seal(&raw, &place)
            .ok_or_else(|| Error::TooLarge(node.path.clone()))?;
        Ok(Some(self.format.sealed_literal(&new.to_string())))
    }
}

impl Pass for Rekeying<'_, '_> {
    fn node(&mut self, node: Node) -> Result<(), Error> {
        let literal = self.resealed(&node)?;
        self.rewriter.node(&node, literal.as_deref())?;
        if literal.is_some() {
            self.report.resealed.push(node.path);
        }
        Ok(())
    }
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
