//! Environment keys: X25519 key pairs in age's text encoding.
//!
//! A [`PublicKey`] is written `age1…` (an age X25519 recipient) and a
//! [`SecretKey`] `AGE-SECRET-KEY-1…` (an age X25519 identity), so keys made by
//! `age-keygen` work unchanged. A [`KeyId`] names a public key inside sealed
//! tokens (see `spec/format.md`, "Key id").

use std::fmt;
use std::str::FromStr;

use bech32::{Bech32, Hrp};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey as DalekPublic, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{Classified, ErrorKind};

const RECIPIENT_HRP: &str = "age";
const IDENTITY_HRP: &str = "age-secret-key-";
/// Domain-separation label hashed in front of the recipient's bytes.
const KEY_ID_LABEL: &[u8] = b"cachet/v1/key-id";
/// Length of a key id in bytes (96 bits).
pub const KEY_ID_LEN: usize = 12;

/// A public environment key: the 32 bytes of an X25519 public key.
///
/// Anyone holding it can seal values; only the matching [`SecretKey`] opens them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The raw 32 bytes of the X25519 public key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Builds a public key from its raw 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PublicKey(bytes)
    }

    /// The key id that tokens sealed to this key carry.
    pub fn key_id(&self) -> KeyId {
        let mut h = Sha256::new();
        h.update(KEY_ID_LABEL);
        h.update(self.0);
        let digest = h.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        KeyId(id)
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Parses an `age1…` recipient.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = decode_bech32(s.trim(), RECIPIENT_HRP).ok_or(KeyError::InvalidRecipient)?;
        if !is_canonical_point(&bytes) {
            return Err(KeyError::InvalidRecipient);
        }
        Ok(PublicKey(*bytes))
    }
}

impl fmt::Display for PublicKey {
    /// Writes the `age1…` recipient.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(RECIPIENT_HRP);
        bech32::encode_lower_to_fmt::<Bech32, _>(f, hrp, &self.0).map_err(|_| fmt::Error)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// A secret environment key (an X25519 static secret), wiped from memory on drop.
#[derive(Clone)]
pub struct SecretKey {
    secret: StaticSecret,
    public: PublicKey,
}

impl SecretKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate() -> Self {
        Self::generate_with(&mut rand_core::OsRng)
    }

    /// Generates a new key from `rng`.
    pub fn generate_with<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    /// Builds a secret key from its raw 32 bytes (clamping happens inside X25519).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::from_secret(StaticSecret::from(bytes))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = PublicKey(DalekPublic::from(&secret).to_bytes());
        SecretKey { secret, public }
    }

    /// The public key that seals values for this secret key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The `AGE-SECRET-KEY-1…` text of this key, in a buffer wiped on drop.
    pub fn to_age_string(&self) -> Zeroizing<String> {
        let hrp = Hrp::parse_unchecked(IDENTITY_HRP);
        let mut out = Zeroizing::new(String::with_capacity(80));
        let bytes = Zeroizing::new(self.secret.to_bytes());
        // Writing to a String cannot fail; a failure here would be a bech32 length bug.
        let _ = bech32::encode_upper_to_fmt::<Bech32, _>(&mut *out, hrp, bytes.as_ref());
        out
    }

    pub(crate) fn static_secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl FromStr for SecretKey {
    type Err = KeyError;

    /// Parses an `AGE-SECRET-KEY-1…` identity.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = decode_bech32(s.trim(), IDENTITY_HRP).ok_or(KeyError::InvalidIdentity)?;
        Ok(Self::from_bytes(*bytes))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public)
    }
}

/// Whether 32 bytes are the canonical encoding of an X25519 u-coordinate: the top
/// bit clear and the little-endian number below 2^255 - 19. X25519 would accept the
/// other encodings too, but the key id is computed over the bytes, so a
/// non-canonical spelling of a key would give values no one could find a key for.
fn is_canonical_point(b: &[u8; 32]) -> bool {
    let top_bit_clear = b[31] & 0x80 == 0;
    // The numbers from p = 2^255 - 19 up to 2^255 - 1 are ed ff … ff 7f and above.
    let at_least_p = b[31] == 0x7f && b[1..31].iter().all(|&x| x == 0xff) && b[0] >= 0xed;
    top_bit_clear && !at_least_p
}

/// Decodes a Bech32 (not Bech32m) string with the given human-readable part into
/// exactly 32 bytes.
fn decode_bech32(s: &str, hrp: &str) -> Option<Zeroizing<[u8; 32]>> {
    let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32>(s).ok()?;
    if !checked.hrp().as_str().eq_ignore_ascii_case(hrp) {
        return None;
    }
    let mut out = Zeroizing::new([0u8; 32]);
    let mut n = 0;
    for b in checked.byte_iter() {
        if n == 32 {
            return None;
        }
        out[n] = b;
        n += 1;
    }
    if n != 32 {
        return None;
    }
    // The decoder drops the padding bits of the last character; insisting that the
    // bytes encode back to the same text makes every key have one spelling only.
    let again = bech32::encode_lower::<Bech32>(checked.hrp(), out.as_ref()).ok()?;
    let again = Zeroizing::new(again);
    again.eq_ignore_ascii_case(s).then_some(out)
}

/// The short name of a public key carried in every token sealed to it:
/// SHA-256("cachet/v1/key-id" ‖ public key) truncated to 12 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The raw bytes of the key id.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }

    /// Builds a key id from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        KeyId(bytes)
    }

    /// Reads a key id as tokens write it (16 canonical base64url characters).
    pub fn parse(s: &str) -> Option<Self> {
        let bytes = super::base64url::decode(s)?;
        Some(KeyId(bytes.try_into().ok()?))
    }
}

impl fmt::Display for KeyId {
    /// Writes the key id as it appears in tokens (16 base64url characters).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::base64url::encode(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A set of secret keys, looked up by key id only (never tried one after another).
#[derive(Clone, Default, Debug)]
pub struct Identities {
    keys: Vec<(KeyId, SecretKey)>,
}

impl Identities {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; a key already present is not added twice.
    pub fn push(&mut self, key: SecretKey) {
        let id = key.public_key().key_id();
        if self.get(&id).is_none() {
            self.keys.push((id, key));
        }
    }

    /// The key whose public key has this key id.
    pub fn get(&self, id: &KeyId) -> Option<&SecretKey> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, s)| s)
    }

    /// How many distinct keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &SecretKey> {
        self.keys.iter().map(|(_, s)| s)
    }

    /// Parses the text of an age identity file: one `AGE-SECRET-KEY-1…` per line,
    /// blank lines and lines starting with `#` ignored.
    ///
    /// Errors name the line number only, never the line's text, which may be a key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut ids = Identities::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = line
                .parse::<SecretKey>()
                .map_err(|_| line_error(line, n + 1))?;
            ids.push(key);
        }
        if ids.is_empty() {
            return Err(KeyError::NoIdentity);
        }
        Ok(ids)
    }
}

impl Extend<SecretKey> for Identities {
    fn extend<T: IntoIterator<Item = SecretKey>>(&mut self, iter: T) {
        for k in iter {
            self.push(k);
        }
    }
}

/// Writes the text of an identity file for `key`, in age-keygen's layout.
pub fn identity_file_text(key: &SecretKey, created: &str) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::new());
    s.push_str("# created: ");
    s.push_str(created);
    s.push_str("\n# public key: ");
    s.push_str(&key.public_key().to_string());
    s.push('\n');
    s.push_str(&key.to_age_string());
    s.push('\n');
    s
}

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
    /// A line of an identity file is a public key (`age1…`, `ssh-…`): the file
    /// given is the recipient, not the identity.
    PublicKeyLine {
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

/// Why a line of an identity file is not an identity: a public key given in
/// its place, or anything else. The line itself is never part of the error.
pub(crate) fn line_error(line: &str, number: usize) -> KeyError {
    if line.starts_with("age1") || line.starts_with("ssh-") {
        KeyError::PublicKeyLine { line: number }
    } else {
        KeyError::IdentityLine { line: number }
    }
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
            KeyError::PublicKeyLine { line } => write!(
                f,
                "line {line} is a public key (age1… or ssh-…), not an identity: give the secret key it belongs to (AGE-SECRET-KEY-1…, or the SSH private key)"
            ),
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

impl Classified for KeyError {
    fn kind(&self) -> ErrorKind {
        match self {
            KeyError::PluginMissing(_) | KeyError::NeedsPassphrase | KeyError::WrongPassphrase => {
                ErrorKind::Input
            }
            _ => ErrorKind::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trip_and_age_interop() {
        let k = SecretKey::generate();
        let text = k.to_age_string();
        assert!(text.starts_with("AGE-SECRET-KEY-1"));
        let back: SecretKey = text.parse().unwrap();
        assert_eq!(back.public_key(), k.public_key());
        // The age crate must read our identity and derive the same recipient.
        let age_id: age::x25519::Identity = text.parse().unwrap();
        assert_eq!(age_id.to_public().to_string(), k.public_key().to_string());
        let age_r: age::x25519::Recipient = k.public_key().to_string().parse().unwrap();
        assert_eq!(age_r.to_string(), k.public_key().to_string());
    }

    #[test]
    fn age_generated_key_is_read() {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let ours: SecretKey = id.to_string().expose_secret().parse().unwrap();
        assert_eq!(ours.public_key().to_string(), id.to_public().to_string());
    }

    #[test]
    fn rejects_wrong_hrp_and_lengths() {
        let k = SecretKey::generate();
        let r = k.public_key().to_string();
        assert!(r.parse::<SecretKey>().is_err());
        assert!(k.to_age_string().parse::<PublicKey>().is_err());
        assert!(r[..r.len() - 1].parse::<PublicKey>().is_err());
        assert!("age1".parse::<PublicKey>().is_err());
    }

    #[test]
    fn only_canonical_encodings_are_keys() {
        let k = SecretKey::from_bytes([0x42; 32]);
        let r = k.public_key().to_string();
        // Same bytes with the top bit set: X25519 ignores it, cachet refuses it.
        let mut high = *k.public_key().as_bytes();
        high[31] |= 0x80;
        let hrp = Hrp::parse_unchecked(RECIPIENT_HRP);
        let spelled = bech32::encode_lower::<Bech32>(hrp, &high).unwrap();
        assert!(spelled.parse::<PublicKey>().is_err());
        // p itself and p + 1 are not canonical; p - 1 is.
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_point(&p));
        p[0] = 0xee;
        assert!(!is_canonical_point(&p));
        p[0] = 0xec;
        assert!(is_canonical_point(&p));
        // Changing the padding bits of the last data character is another spelling
        // of the same bytes: refused, as age refuses it.
        let alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        let data_end = r.len() - 6;
        let last = r.as_bytes()[data_end - 1] as char;
        let v = alphabet.find(last).unwrap();
        let other = alphabet.as_bytes()[v ^ 1] as char;
        let mut body = r[..data_end - 1].to_string();
        body.push(other);
        let (hrp2, data) =
            bech32::primitives::decode::CheckedHrpstring::new::<bech32::NoChecksum>(&body)
                .map(|c| {
                    (
                        c.hrp(),
                        c.fe32_iter::<std::vec::IntoIter<u8>>().collect::<Vec<_>>(),
                    )
                })
                .unwrap();
        let respelled =
            bech32::primitives::iter::Fe32IterExt::with_checksum::<Bech32>(data.into_iter(), &hrp2)
                .chars()
                .collect::<String>();
        assert_ne!(respelled, r);
        assert!(respelled.parse::<PublicKey>().is_err(), "{respelled}");
        assert!(
            r.to_uppercase().parse::<PublicKey>().is_ok(),
            "case is not a spelling"
        );
    }

    #[test]
    fn identity_file_errors_name_line_not_text() {
        let e = Identities::parse("# c\n\nAGE-SECRET-KEY-1NOTAKEY\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3 is not an age identity (AGE-SECRET-KEY-1…)"
        );
        assert!(matches!(
            Identities::parse("# only\n"),
            Err(KeyError::NoIdentity)
        ));
    }
}
