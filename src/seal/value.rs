//! Sealing and opening one value: X25519 + HKDF-SHA256 + XChaCha20-Poly1305.
//!
//! The normative description is `spec/format.md`, sections "Payload",
//! "Key derivation", "Associated data" and "Plaintext". A [`Sealer`] uses one
//! ephemeral key for a whole run, so opening costs one X25519 per run, not per value;
//! an [`Opener`] caches the derived key per (key id, ephemeral key).

use std::collections::HashMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::{CryptoRng, OsRng, RngCore};
use sha2::Sha256;
use x25519_dalek::{PublicKey as DalekPublic, StaticSecret};
use zeroize::Zeroizing;

use super::OpenError;
use super::key::{Identities, KeyError, KeyId, PublicKey};
use super::token::{EPHEMERAL_LEN, NONCE_LEN, PAD_BLOCK, SealedAt, TAG_LEN, Token, VERSION};
use crate::format::Format;
use crate::path::{Segment, ValuePath};

/// HKDF info label: cachet's own, never age's.
const HKDF_INFO: &[u8] = b"cachet/v1/value";
/// First field of the associated data.
const AAD_LABEL: &[u8] = b"cachet";
/// Largest value text that can be sealed.
pub const MAX_VALUE_LEN: usize = 16 << 20;

/// Where a value sits: everything besides the key that the associated data binds.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    /// The document's format.
    pub format: Format,
    /// 0-based index of the document in a multi-document file (0 otherwise).
    pub document: u32,
    /// The value's path in that document.
    pub path: &'a ValuePath,
}

fn push_lp(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths above u32::MAX cannot occur: values are capped at MAX_VALUE_LEN and
    // keys come from documents far smaller than 4 GiB.
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The associated data of `spec/format.md`, "Associated data".
pub fn associated_data(key_id: &KeyId, sealed_at: SealedAt, place: &Place<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(96);
    push_lp(&mut aad, AAD_LABEL);
    push_lp(&mut aad, VERSION.as_bytes());
    push_lp(&mut aad, key_id.as_bytes());
    push_lp(&mut aad, sealed_at.to_string().as_bytes());
    push_lp(&mut aad, place.format.name().as_bytes());
    aad.extend_from_slice(&place.document.to_be_bytes());
    aad.extend_from_slice(&(place.path.segments().len() as u32).to_be_bytes());
    for seg in place.path.segments() {
        match seg {
            Segment::Key(k) => {
                aad.push(b'k');
                push_lp(&mut aad, k.as_bytes());
            }
            Segment::Index(i) => {
                aad.push(b'i');
                aad.extend_from_slice(&(*i as u64).to_be_bytes());
            }
        }
    }
    aad
}

/// HKDF-SHA256(ikm = shared secret, salt = ephemeral ‖ recipient, info = label).
fn derive_key(
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = hk.expand(HKDF_INFO, okm.as_mut());
    okm
}

/// Pads `raw` as `spec/format.md`, "Plaintext" says: a 4-byte big-endian length,
/// the text, zeros up to a multiple of 32 bytes.
fn pad(raw: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = 4 + raw.len();
    let padded = len.div_ceil(PAD_BLOCK) * PAD_BLOCK;
    let mut out = Zeroizing::new(Vec::with_capacity(padded));
    out.extend_from_slice(&(raw.len() as u32).to_be_bytes());
    out.extend_from_slice(raw);
    out.resize(padded, 0);
    out
}

/// Undoes [`pad`], insisting on the one canonical padding.
fn unpad(mut plain: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    if plain.len() < 4 || !plain.len().is_multiple_of(PAD_BLOCK) {
        return Err(OpenError::BadPlaintext);
    }
    let len = u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]) as usize;
    let end = 4usize.checked_add(len).ok_or(OpenError::BadPlaintext)?;
    // A sealer never writes more (format.md 5.4), whatever the payload could hold.
    if len > MAX_VALUE_LEN {
        return Err(OpenError::BadPlaintext);
    }
    if end > plain.len()
        || plain.len() != end.div_ceil(PAD_BLOCK) * PAD_BLOCK
        || plain[end..].iter().any(|&b| b != 0)
    {
        return Err(OpenError::BadPlaintext);
    }
    plain.truncate(end);
    plain.drain(..4);
    Ok(plain)
}

/// Seals values to one recipient, with one ephemeral key for its whole life.
///
/// The ephemeral secret exists only inside the sealer and is wiped when it drops.
pub struct Sealer<R: RngCore + CryptoRng = OsRng> {
    key_id: KeyId,
    ephemeral: [u8; EPHEMERAL_LEN],
    key: Zeroizing<[u8; 32]>,
    sealed_at: SealedAt,
    rng: R,
}

impl Sealer<OsRng> {
    /// A sealer for `recipient` using the operating system's random source and the
    /// current time.
    pub fn new(recipient: &PublicKey) -> Result<Self, KeyError> {
        Sealer::with_rng(recipient, OsRng, SealedAt::now())
    }
}

impl<R: RngCore + CryptoRng> Sealer<R> {
    /// A sealer drawing its ephemeral key and then every nonce from `rng`, stamping
    /// values with `sealed_at`. Known-answer tests use this with fixed bytes.
    pub fn with_rng(
        recipient: &PublicKey,
        mut rng: R,
        sealed_at: SealedAt,
    ) -> Result<Self, KeyError> {
        let secret = StaticSecret::random_from_rng(&mut rng);
        let ephemeral = DalekPublic::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&DalekPublic::from(*recipient.as_bytes()));
        if !shared.was_contributory() {
            return Err(KeyError::WeakRecipient);
        }
        let key = derive_key(shared.as_bytes(), &ephemeral, recipient.as_bytes());
        Ok(Sealer {
            key_id: recipient.key_id(),
            ephemeral,
            key,
            sealed_at,
            rng,
        })
    }

    /// The key id of the recipient.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The time stamped into every token of this run.
    pub fn sealed_at(&self) -> SealedAt {
        self.sealed_at
    }

    /// Seals the exact text of a value found at `place`.
    ///
    /// Fails only when the text is longer than [`MAX_VALUE_LEN`].
    pub fn seal(&mut self, raw: &[u8], place: &Place<'_>) -> Option<Token> {
        if raw.len() > MAX_VALUE_LEN {
            return None;
        }
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill_bytes(&mut nonce);
        let aad = associated_data(&self.key_id, self.sealed_at, place);
        let plain = pad(raw);
        let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.key[..]));
        // Encryption of an in-memory buffer below the AEAD's size limit cannot fail.
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .ok()?;
        debug_assert_eq!(ciphertext.len(), plain.len() + TAG_LEN);
        Some(Token {
            key_id: self.key_id,
            sealed_at: self.sealed_at,
            ephemeral: self.ephemeral,
            nonce,
            ciphertext,
        })
    }
}

/// Opens tokens with a set of identities, chosen by key id only.
///
/// It remembers the key derived for each (key id, ephemeral key) pair, so a file
/// sealed in one run costs one X25519 to open.
pub struct Opener<'a> {
    identities: &'a Identities,
    cache: HashMap<(KeyId, [u8; EPHEMERAL_LEN]), Zeroizing<[u8; 32]>>,
}

impl<'a> Opener<'a> {
    /// An opener over `identities`.
    pub fn new(identities: &'a Identities) -> Self {
        Opener {
            identities,
            cache: HashMap::new(),
        }
    }

    /// How many X25519 key agreements this opener has done: one per distinct
    /// (key id, ephemeral key), so one for a whole file sealed in one run.
    pub fn key_agreements(&self) -> usize {
        self.cache.len()
    }

    /// Opens a token found at `place`, returning the exact original text of the value.
    pub fn open(
        &mut self,
        token: &Token,
        place: &Place<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let cache_key = (token.key_id, token.ephemeral);
        if !self.cache.contains_key(&cache_key) {
            let secret = self
                .identities
                .get(&token.key_id)
                .ok_or(OpenError::NoIdentity(token.key_id))?;
            let shared = secret
                .static_secret()
                .diffie_hellman(&DalekPublic::from(token.ephemeral));
            if !shared.was_contributory() {
                return Err(OpenError::WeakKey);
            }
            let key = derive_key(
                shared.as_bytes(),
                &token.ephemeral,
                secret.public_key().as_bytes(),
            );
            self.cache.insert(cache_key, key);
        }
        let key = &self.cache[&cache_key];
        let aad = associated_data(&token.key_id, token.sealed_at, place);
        let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key[..]));
        let plain = cipher
            .decrypt(
                XNonce::from_slice(&token.nonce),
                Payload {
                    msg: &token.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Authentication)?;
        unpad(Zeroizing::new(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::SecretKey;

    #[test]
    fn padding_is_canonical() {
        for n in [0usize, 1, 27, 28, 29, 60, 61, 100] {
            let raw = vec![7u8; n];
            let p = pad(&raw);
            assert_eq!(p.len() % PAD_BLOCK, 0);
            assert_eq!(&*unpad(p.clone()).unwrap(), &raw);
            // One more block of zeros is not the canonical padding.
            let mut longer = p.clone();
            longer.extend_from_slice(&[0; PAD_BLOCK]);
            assert_eq!(unpad(longer).unwrap_err(), OpenError::BadPlaintext);
            let mut dirty = p;
            let last = dirty.len() - 1;
            if last >= 4 + n {
                dirty[last] = 1;
                assert_eq!(unpad(dirty).unwrap_err(), OpenError::BadPlaintext);
            }
        }
    }

    #[test]
    fn one_key_agreement_per_sealing_run() {
        let k = SecretKey::generate();
        let mut ids = Identities::new();
        ids.push(k.clone());
        let paths: Vec<ValuePath> = (0..100).map(|i| format!("v{i}").parse().unwrap()).collect();
        let place = |p| Place {
            format: Format::Toml,
            document: 0,
            path: p,
        };
        let mut run1 = Sealer::new(&k.public_key()).unwrap();
        let mut run2 = Sealer::new(&k.public_key()).unwrap();
        let mut tokens: Vec<Token> = paths
            .iter()
            .map(|p| run1.seal(b"\"s\"", &place(p)).unwrap())
            .collect();
        let mut opener = Opener::new(&ids);
        for (t, p) in tokens.iter().zip(&paths) {
            opener.open(t, &place(p)).unwrap();
        }
        assert_eq!(opener.key_agreements(), 1);
        // A value re-sealed in a second run adds exactly one more.
        tokens[7] = run2.seal(b"\"t\"", &place(&paths[7])).unwrap();
        let mut opener = Opener::new(&ids);
        for (t, p) in tokens.iter().zip(&paths) {
            opener.open(t, &place(p)).unwrap();
        }
        assert_eq!(opener.key_agreements(), 2);
    }

    #[test]
    fn low_order_recipient_is_refused() {
        let zero = PublicKey::from_bytes([0; 32]);
        assert!(matches!(Sealer::new(&zero), Err(KeyError::WeakRecipient)));
    }

    #[test]
    fn low_order_ephemeral_is_refused() {
        let k = SecretKey::generate();
        let mut ids = Identities::new();
        ids.push(k.clone());
        let path: ValuePath = "a".parse().unwrap();
        let place = Place {
            format: Format::Toml,
            document: 0,
            path: &path,
        };
        let mut s = Sealer::new(&k.public_key()).unwrap();
        let mut t = s.seal(b"1", &place).unwrap();
        t.ephemeral = [0; 32];
        assert_eq!(
            Opener::new(&ids).open(&t, &place).unwrap_err(),
            OpenError::WeakKey
        );
    }
}
