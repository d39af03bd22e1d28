//! Passphrase-protected personal identity files (`spec/identity.md`).
//!
//! A person's identity file (`AGE-SECRET-KEY-1…` lines) can be kept at rest under a
//! passphrase. The protected file is text with exactly one data line:
//!
//! ```text
//! # cachet protected identity: cachet asks for its passphrase when it is used
//! # public key: age1…
//! cachet-identity:v1:argon2id:m=262144,t=3,p=1:<salt>:<payload>
//! ```
//!
//! The key is Argon2id(passphrase, salt, m, t, p) (version 0x13, 32 bytes), the
//! cipher XChaCha20-Poly1305, and the associated data the line's header up to and
//! including the salt, so the parameters cannot be changed without detection. The
//! parameters are bounded, and a file's parameters are checked against the bounds
//! before any key-derivation work, so a hostile file cannot demand unbounded memory
//! or time.
//!
//! This module only turns text into text: it never prompts, prints or reads a file.
//! Asking for a passphrase (and refusing to when there is no terminal) is the
//! caller's job.

use std::fmt;
use std::ops::RangeInclusive;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::seal::KeyError;
use crate::seal::base64url;
use crate::seal::key::Identities;

/// Every data line starts with this prefix.
pub const PREFIX: &str = "cachet-identity:";
/// The version of the protected-identity format this build writes and reads.
pub const VERSION: &str = "v1";
/// The name of the key-derivation function in the data line.
pub const KDF: &str = "argon2id";
/// Bytes of the Argon2id salt.
pub const SALT_LEN: usize = 16;
/// Bytes of the XChaCha20 nonce at the start of the payload.
pub const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 tag at the end of the payload.
pub const TAG_LEN: usize = 16;
/// Largest identity file text that can be protected, in bytes (64 KiB).
pub const MAX_PLAINTEXT_LEN: usize = 65_536;
/// The first line cachet writes into a protected identity file.
pub const COMMENT_LINE: &str =
    "# cachet protected identity: cachet asks for its passphrase when it is used";

/// Bytes of the derived key.
const KEY_LEN: usize = 32;
/// Base64url characters of the salt.
const SALT_CHARS: usize = 22;
/// Smallest and largest decoded payload (nonce, at least one byte, tag).
const MIN_PAYLOAD: usize = NONCE_LEN + 1 + TAG_LEN;
const MAX_PAYLOAD: usize = NONCE_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;
/// Characters of the canonical base64url text of `MAX_PAYLOAD` bytes.
const MAX_PAYLOAD_CHARS: usize = (MAX_PAYLOAD * 4).div_ceil(3);

/// The Argon2id cost parameters of a protected identity file.
///
/// They are written in the file beside the ciphertext and bound into its associated
/// data. Only values within [`KdfParams::MEMORY_KIB`], [`KdfParams::PASSES`] and
/// [`KdfParams::LANES`] are accepted, both when protecting and when opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Memory in KiB (Argon2's `m`): 65536 (64 MiB) to 2097152 (2 GiB).
    pub memory_kib: u32,
    /// Number of passes over the memory (Argon2's `t`): 3 to 16.
    pub passes: u32,
    /// Degree of parallelism (Argon2's `p`): 1 to 16.
    pub lanes: u32,
}

impl KdfParams {
    /// The parameters cachet protects with unless told otherwise: 256 MiB, 3 passes,
    /// 1 lane.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 262_144,
        passes: 3,
        lanes: 1,
    };

    /// The cheapest parameters accepted: 64 MiB, 3 passes, 1 lane.
    pub const MINIMUM: KdfParams = KdfParams {
        memory_kib: 65_536,
        passes: 3,
        lanes: 1,
    };

    /// Accepted memory sizes in KiB: 64 MiB to 2 GiB.
    pub const MEMORY_KIB: RangeInclusive<u32> = 65_536..=2_097_152;
    /// Accepted numbers of passes.
    pub const PASSES: RangeInclusive<u32> = 3..=16;
    /// Accepted numbers of lanes.
    pub const LANES: RangeInclusive<u32> = 1..=16;

    /// Checks the parameters against the bounds, memory first, then passes, then
    /// lanes; the error names the first one out of bounds and its range.
    pub fn check(&self) -> Result<(), ProtectError> {
        for (parameter, value, range) in [
            (KdfParameter::Memory, self.memory_kib, Self::MEMORY_KIB),
            (KdfParameter::Passes, self.passes, Self::PASSES),
            (KdfParameter::Lanes, self.lanes, Self::LANES),
        ] {
            if !range.contains(&value) {
                return Err(ProtectError::OutOfBounds {
                    parameter,
                    value,
                    min: *range.start(),
                    max: *range.end(),
                });
            }
        }
        Ok(())
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for KdfParams {
    /// Writes the parameters as they appear in the data line: `m=…,t=…,p=…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "m={},t={},p={}",
            self.memory_kib, self.passes, self.lanes
        )
    }
}

/// Names one of the Argon2id parameters in [`ProtectError::OutOfBounds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KdfParameter {
    /// `m`, the memory in KiB.
    Memory,
    /// `t`, the number of passes.
    Passes,
    /// `p`, the number of lanes.
    Lanes,
}

impl KdfParameter {
    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            KdfParameter::Memory => ("memory", "m", " KiB"),
            KdfParameter::Passes => ("passes", "t", ""),
            KdfParameter::Lanes => ("lanes", "p", ""),
        }
    }
}

/// Why an identity could not be protected, or a protected identity not opened.
///
/// No variant carries a passphrase, a key or any part of a plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectError {
    /// The text has no `cachet-identity:` data line: it is not a protected identity.
    NotProtected,
    /// A line of the file breaks the grammar of `spec/identity.md`.
    Malformed {
        /// 1-based number of the offending line.
        line: usize,
        /// What is wrong with it (never a copy of the line).
        reason: &'static str,
    },
    /// The file is of a protected-identity version this build does not read.
    UnsupportedVersion,
    /// An Argon2id parameter is outside the accepted bounds.
    OutOfBounds {
        /// Which parameter.
        parameter: KdfParameter,
        /// Its value.
        value: u32,
        /// Smallest accepted value.
        min: u32,
        /// Largest accepted value.
        max: u32,
    },
    /// Authentication failed: the passphrase is wrong or the file was altered (the
    /// cipher cannot tell the two apart).
    WrongPassphraseOrDamaged,
    /// The file opened, but its content is not UTF-8 text.
    NotUtf8,
    /// The passphrase is empty.
    EmptyPassphrase,
    /// The text to protect is already a protected identity file.
    AlreadyProtected,
    /// The text to protect is not a valid identity file.
    NotAnIdentity(KeyError),
    /// The text to protect is longer than [`MAX_PLAINTEXT_LEN`] bytes.
    TooLarge,
    /// The memory the parameters ask for could not be allocated.
    OutOfMemory {
        /// The memory asked for, in KiB.
        memory_kib: u32,
    },
    /// Argon2id refused its input (a passphrase of 4 GiB or more).
    KeyDerivation,
}

impl fmt::Display for ProtectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtectError::NotProtected => f.write_str(
                "not a cachet protected identity (no cachet-identity: line); use it as a plain identity file, or give the protected one",
            ),
            ProtectError::Malformed { line, reason } => write!(
                f,
                "line {line}: malformed protected identity: {reason}; the file is damaged, restore it from a backup"
            ),
            ProtectError::UnsupportedVersion => f.write_str(
                "protected identity written by a cachet version this build does not read; upgrade cachet",
            ),
            ProtectError::OutOfBounds {
                parameter,
                value,
                min,
                max,
            } => {
                let (name, letter, unit) = parameter.describe();
                write!(
                    f,
                    "Argon2id {name} {letter}={value}{unit} is outside the accepted range {min} to {max}{unit}; choose parameters within it, or restore a damaged file from a backup"
                )
            }
            ProtectError::WrongPassphraseOrDamaged => f.write_str(
                "wrong passphrase, or the protected identity file was altered; try the passphrase again, or restore the file from a backup",
            ),
            ProtectError::NotUtf8 => f.write_str(
                "the protected identity opened but does not hold UTF-8 text; it was not written by cachet, protect the identity file again",
            ),
            ProtectError::EmptyPassphrase => {
                f.write_str("the passphrase is empty; give a non-empty passphrase")
            }
            ProtectError::AlreadyProtected => f.write_str(
                "the identity file is already protected; open it first to change its passphrase",
            ),
            ProtectError::NotAnIdentity(e) => write!(
                f,
                "cannot protect the identity file: {e}; give an identity file as `cachet keygen` writes it"
            ),
            ProtectError::TooLarge => write!(
                f,
                "the identity file is larger than {MAX_PLAINTEXT_LEN} bytes; keep only the identities you need in it"
            ),
            ProtectError::OutOfMemory { memory_kib } => write!(
                f,
                "not enough memory for Argon2id with m={memory_kib} KiB; free memory, or protect the identity again with less"
            ),
            ProtectError::KeyDerivation => f.write_str(
                "Argon2id refused the passphrase (4 GiB or longer); use a shorter passphrase",
            ),
        }
    }
}

impl std::error::Error for ProtectError {}

/// Whether `text` looks like a protected identity file: its first line that is
/// neither blank nor a comment starts with `cachet-identity:`.
///
/// This is a cheap sniff, not a validation; [`unprotect`] does the checking.
pub fn is_protected(text: &str) -> bool {
    data_lines(text)
        .next()
        .is_some_and(|(_, line)| line.starts_with(PREFIX))
}

/// Protects the text of an identity file under `passphrase`, with a fresh salt and
/// nonce drawn from `rng` (16 bytes of salt, then 24 bytes of nonce).
///
/// `identity_text` must be a valid identity file (one `AGE-SECRET-KEY-1…` per line,
/// blank lines and `#` comments allowed); it is encrypted byte for byte. The result
/// is the text of the protected file, which names each identity's public key in a
/// comment. An empty passphrase is refused.
pub fn protect<R: RngCore + CryptoRng>(
    identity_text: &str,
    passphrase: &str,
    params: KdfParams,
    rng: &mut R,
) -> Result<String, ProtectError> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    protect_with(identity_text, passphrase, params, salt, nonce)
}

/// [`protect`] with a given salt and nonce, for known-answer tests.
///
/// Never call it with a salt or nonce that is not fresh and random.
#[doc(hidden)]
pub fn protect_with(
    identity_text: &str,
    passphrase: &str,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<String, ProtectError> {
    if passphrase.is_empty() {
        return Err(ProtectError::EmptyPassphrase);
    }
    params.check()?;
    if is_protected(identity_text) {
        return Err(ProtectError::AlreadyProtected);
    }
    if identity_text.len() > MAX_PLAINTEXT_LEN {
        return Err(ProtectError::TooLarge);
    }
    let identities = Identities::parse(identity_text).map_err(ProtectError::NotAnIdentity)?;

    let header = format!(
        "{PREFIX}{VERSION}:{KDF}:{params}:{}",
        base64url::encode(&salt)
    );
    let key = derive_key(passphrase.as_bytes(), &salt, params)?;
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key[..]));
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: identity_text.as_bytes(),
                aad: header.as_bytes(),
            },
        )
        // Encryption fails only on a message far longer than the limit checked above.
        .map_err(|_| ProtectError::TooLarge)?;
    let mut payload = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    payload.extend_from_slice(&nonce);
    payload.extend_from_slice(&ciphertext);

    let mut out = String::with_capacity(200 + identities.len() * 80 + payload.len() * 4 / 3);
    out.push_str(COMMENT_LINE);
    out.push('\n');
    for key in identities.iter() {
        out.push_str("# public key: ");
        out.push_str(&key.public_key().to_string());
        out.push('\n');
    }
    out.push_str(&header);
    out.push(':');
    out.push_str(&base64url::encode(&payload));
    out.push('\n');
    Ok(out)
}

/// Opens a protected identity file with `passphrase` and returns the identity
/// file's text, byte for byte as it was protected, in a buffer wiped on drop.
///
/// The file's syntax and its Argon2id parameters are checked before any key
/// derivation. A wrong passphrase and an altered file give the same error.
pub fn unprotect(text: &str, passphrase: &str) -> Result<Zeroizing<String>, ProtectError> {
    let parsed = parse(text)?;
    parsed.params.check()?;
    if passphrase.is_empty() {
        return Err(ProtectError::EmptyPassphrase);
    }
    let key = derive_key(passphrase.as_bytes(), &parsed.salt, parsed.params)?;
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key[..]));
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&parsed.nonce),
            Payload {
                msg: &parsed.ciphertext,
                aad: parsed.header.as_bytes(),
            },
        )
        .map_err(|_| ProtectError::WrongPassphraseOrDamaged)?;
    let mut plain = Zeroizing::new(plain);
    if std::str::from_utf8(&plain).is_err() {
        return Err(ProtectError::NotUtf8);
    }
    // Moves the buffer (no copy); the check above means this cannot fail, and if it
    // did the bytes would be wiped before returning.
    match String::from_utf8(std::mem::take(&mut *plain)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(ProtectError::NotUtf8)
        }
    }
}

/// The lines of `text` that are neither blank nor comments, trimmed, with their
/// 1-based line numbers.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// Finds the one data line of a protected identity file and parses it. The bounds
/// of the parameters are not checked here.
fn parse(text: &str) -> Result<Parsed<'_>, ProtectError> {
    let mut lines = data_lines(text);
    let (n, line) = lines.next().ok_or(ProtectError::NotProtected)?;
    let rest = line
        .strip_prefix(PREFIX)
        .ok_or(ProtectError::NotProtected)?;
    if let Some((extra, _)) = lines.next() {
        return Err(ProtectError::Malformed {
            line: extra,
            reason: "a second data line (a protected identity file holds exactly one)",
        });
    }
    let malformed = |reason| ProtectError::Malformed { line: n, reason };

    let mut fields = rest.split(':');
    let version = fields.next().unwrap_or_default();
    if version != VERSION {
        let other_version = (2..=6).contains(&version.len())
            && version.starts_with('v')
            && version[1..].bytes().all(|b| b.is_ascii_digit());
        return Err(if other_version {
            ProtectError::UnsupportedVersion
        } else {
            malformed("unknown version field")
        });
    }
    let (Some(kdf), Some(params), Some(salt), Some(payload), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(malformed(
            "expected cachet-identity:v1:argon2id:m=…,t=…,p=…:<salt>:<payload>",
        ));
    };
    if kdf != KDF {
        return Err(malformed(
            "unknown key derivation function (expected argon2id)",
        ));
    }
    let params = parse_params(params).ok_or(malformed(
        "parameters are not m=<memory>,t=<passes>,p=<lanes> in canonical decimal",
    ))?;
    let salt_bytes = (salt.len() == SALT_CHARS)
        .then(|| base64url::decode(salt))
        .flatten()
        .filter(|b| b.len() == SALT_LEN)
        .ok_or(malformed("salt is not 22 canonical base64url characters"))?;
    if payload.len() > MAX_PAYLOAD_CHARS {
        return Err(malformed("payload is too long"));
    }
    let payload_bytes =
        base64url::decode(payload).ok_or(malformed("payload is not canonical base64url"))?;
    if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&payload_bytes.len()) {
        return Err(malformed("payload has an impossible length"));
    }
    let header = &line[..line.len() - payload.len() - 1];
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&salt_bytes);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&payload_bytes[..NONCE_LEN]);
    Ok(Parsed {
        header,
        params,
        salt,
        nonce,
        ciphertext: payload_bytes[NONCE_LEN..].to_vec(),
    })
}

/// The parts of a data line.
struct Parsed<'a> {
    /// The line up to and including the salt: the associated data.
    header: &'a str,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

/// Parses `m=<n>,t=<n>,p=<n>`, each number canonical (see [`parse_canonical_u32`]).
fn parse_params(s: &str) -> Option<KdfParams> {
    let rest = s.strip_prefix("m=")?;
    let (m, rest) = rest.split_once(",t=")?;
    let (t, p) = rest.split_once(",p=")?;
    Some(KdfParams {
        memory_kib: parse_canonical_u32(m)?,
        passes: parse_canonical_u32(t)?,
        lanes: parse_canonical_u32(p)?,
    })
}

/// Parses a decimal number below 2^32 written with ASCII digits only and no
/// leading zero (`0` itself is one digit).
fn parse_canonical_u32(s: &str) -> Option<u32> {
    let digits_only = !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Argon2id (version 0x13) of the passphrase into a 32-byte key. The parameters
/// are checked first; the working memory is allocated without aborting on failure
/// and wiped afterwards.
fn derive_key(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    p: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, ProtectError> {
    p.check()?;
    let params = Params::new(p.memory_kib, p.passes, p.lanes, Some(KEY_LEN))
        // Every value within the bounds is a valid Argon2 parameter set.
        .map_err(|_| ProtectError::KeyDerivation)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let count = params.block_count();
    let mut blocks: Vec<Block> = Vec::new();
    blocks
        .try_reserve_exact(count)
        .map_err(|_| ProtectError::OutOfMemory {
            memory_kib: p.memory_kib,
        })?;
    blocks.resize(count, Block::default());
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let result =
        argon2.hash_password_into_with_memory(passphrase, salt, &mut key[..], &mut blocks[..]);
    // The working memory lets a passphrase be tested cheaply: wipe it.
    for block in &mut blocks {
        block.as_mut().zeroize();
    }
    // With the salt, output length and parameters fixed, only a passphrase of 4 GiB
    // or more can make Argon2 fail.
    result.map_err(|_| ProtectError::KeyDerivation)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numbers_only() {
        assert_eq!(parse_canonical_u32("0"), Some(0));
        assert_eq!(parse_canonical_u32("65536"), Some(65_536));
        assert_eq!(parse_canonical_u32("4294967295"), Some(u32::MAX));
        for bad in [
            "",
            "065536",
            "00",
            "+3",
            "-1",
            " 3",
            "3 ",
            "4294967296",
            "99999999999",
            "1e5",
            "３",
        ] {
            assert_eq!(parse_canonical_u32(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parameters_in_exact_order() {
        assert_eq!(parse_params("m=65536,t=3,p=1"), Some(KdfParams::MINIMUM));
        for bad in [
            "t=3,m=65536,p=1",
            "m=65536,t=3",
            "m=65536,t=3,p=1,",
            "m=65536, t=3,p=1",
            "M=65536,t=3,p=1",
            "m=65536,t=3,p=1,x=1",
        ] {
            assert_eq!(parse_params(bad), None, "{bad}");
        }
    }

    #[test]
    fn bounds_name_the_first_parameter_out_of_range() {
        assert!(KdfParams::DEFAULT.check().is_ok());
        assert!(KdfParams::MINIMUM.check().is_ok());
        let p = KdfParams {
            memory_kib: 2_097_152,
            passes: 16,
            lanes: 16,
        };
        assert!(p.check().is_ok());
        let cases = [
            ((65_535, 3, 1), KdfParameter::Memory),
            ((2_097_153, 3, 1), KdfParameter::Memory),
            ((u32::MAX, 0, 0), KdfParameter::Memory),
            ((65_536, 2, 1), KdfParameter::Passes),
            ((65_536, 17, 1), KdfParameter::Passes),
            ((65_536, 3, 0), KdfParameter::Lanes),
            ((65_536, 3, 17), KdfParameter::Lanes),
        ];
        for ((m, t, p), which) in cases {
            let params = KdfParams {
                memory_kib: m,
                passes: t,
                lanes: p,
            };
            match params.check() {
                Err(ProtectError::OutOfBounds { parameter, .. }) => assert_eq!(parameter, which),
                other => panic!("{params}: {other:?}"),
            }
        }
        let e = KdfParams {
            memory_kib: u32::MAX,
            passes: 3,
            lanes: 1,
        }
        .check()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Argon2id memory m=4294967295 KiB is outside the accepted range 65536 to 2097152 KiB; choose parameters within it, or restore a damaged file from a backup"
        );
    }

    #[test]
    fn sniffing_skips_comments_and_blank_lines() {
        assert!(is_protected(
            "\n# c\n  \r\n  cachet-identity:v1:argon2id:m=1,t=1,p=1:x:y\n"
        ));
        assert!(is_protected("cachet-identity:v9"));
        assert!(!is_protected("# public key: age1…\nAGE-SECRET-KEY-1ABC\n"));
        assert!(!is_protected("# cachet-identity:v1\n"));
        assert!(!is_protected(""));
        assert!(!is_protected("age-encryption.org/v1\n"));
    }

    #[test]
    fn syntax_errors_come_before_bounds_and_name_the_line() {
        let salt = base64url::encode(&[7; SALT_LEN]);
        let payload = base64url::encode(&[9; 80]);
        let line = |params: &str| {
            format!("# c\n\ncachet-identity:v1:argon2id:{params}:{salt}:{payload}\n")
        };
        // Hostile but well-formed: refused by the bounds, before any work.
        let hostile = line("m=4294967295,t=4294967295,p=4294967295");
        let parsed = parse(&hostile).unwrap();
        assert_eq!(
            parsed.header.len() + 1 + payload.len(),
            hostile.trim_end().len() - 5
        );
        assert!(matches!(
            unprotect(&hostile, "pw"),
            Err(ProtectError::OutOfBounds {
                parameter: KdfParameter::Memory,
                ..
            })
        ));
        // Bounds come before the passphrase check.
        assert!(matches!(
            unprotect(&line("m=65536,t=2,p=1"), ""),
            Err(ProtectError::OutOfBounds {
                parameter: KdfParameter::Passes,
                ..
            })
        ));
        assert_eq!(
            unprotect(&line("m=65536,t=3,p=1"), ""),
            Err(ProtectError::EmptyPassphrase)
        );
        let e = unprotect(&line("m=065536,t=3,p=1"), "pw").unwrap_err();
        assert!(
            matches!(e, ProtectError::Malformed { line: 3, .. }),
            "{e:?}"
        );
        let two = format!("{}{}", line("m=65536,t=3,p=1"), line("m=65536,t=3,p=1"));
        assert!(matches!(
            unprotect(&two, "pw"),
            Err(ProtectError::Malformed { line: 6, .. })
        ));
        assert_eq!(
            unprotect("AGE-SECRET-KEY-1X\n", "pw"),
            Err(ProtectError::NotProtected)
        );
        assert_eq!(
            unprotect(&line("m=65536,t=3,p=1").replace(":v1:", ":v2:"), "pw"),
            Err(ProtectError::UnsupportedVersion)
        );
        assert!(matches!(
            unprotect(&line("m=65536,t=3,p=1").replace(":v1:", ":V1:"), "pw"),
            Err(ProtectError::Malformed { .. })
        ));
    }

    #[test]
    fn payload_length_limits() {
        let salt = base64url::encode(&[7; SALT_LEN]);
        let with = |n: usize| {
            format!(
                "cachet-identity:v1:argon2id:m=65536,t=3,p=1:{salt}:{}",
                base64url::encode(&vec![1; n])
            )
        };
        assert!(parse(&with(MIN_PAYLOAD)).is_ok());
        assert!(parse(&with(MIN_PAYLOAD - 1)).is_err());
        assert!(parse(&with(MAX_PAYLOAD)).is_ok());
        assert!(parse(&with(MAX_PAYLOAD + 1)).is_err());
        assert_eq!(
            MAX_PAYLOAD_CHARS,
            base64url::encode(&vec![0; MAX_PAYLOAD]).len()
        );
    }

    #[test]
    fn protect_refuses_bad_input_before_any_work() {
        let id = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n";
        let salt = [1; SALT_LEN];
        let nonce = [2; NONCE_LEN];
        assert_eq!(
            protect_with(id, "", KdfParams::MINIMUM, salt, nonce),
            Err(ProtectError::EmptyPassphrase)
        );
        assert!(matches!(
            protect_with(
                id,
                "pw",
                KdfParams {
                    memory_kib: 1024,
                    ..KdfParams::MINIMUM
                },
                salt,
                nonce
            ),
            Err(ProtectError::OutOfBounds { .. })
        ));
        assert!(matches!(
            protect_with("# nothing\n", "pw", KdfParams::MINIMUM, salt, nonce),
            Err(ProtectError::NotAnIdentity(KeyError::NoIdentity))
        ));
        let e = protect_with(
            "AGE-SECRET-KEY-1SECRETISH\n",
            "pw",
            KdfParams::MINIMUM,
            salt,
            nonce,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("SECRETISH"), "{e}");
        assert_eq!(
            protect_with(
                "cachet-identity:v1:x\n",
                "pw",
                KdfParams::MINIMUM,
                salt,
                nonce
            ),
            Err(ProtectError::AlreadyProtected)
        );
        let big = format!("{id}{}", "#".repeat(MAX_PLAINTEXT_LEN));
        assert_eq!(
            protect_with(&big, "pw", KdfParams::MINIMUM, salt, nonce),
            Err(ProtectError::TooLarge)
        );
    }

    #[test]
    fn every_message_is_one_line() {
        let all = [
            ProtectError::NotProtected,
            ProtectError::Malformed {
                line: 3,
                reason: "x",
            },
            ProtectError::UnsupportedVersion,
            ProtectError::OutOfBounds {
                parameter: KdfParameter::Lanes,
                value: 17,
                min: 1,
                max: 16,
            },
            ProtectError::WrongPassphraseOrDamaged,
            ProtectError::NotUtf8,
            ProtectError::EmptyPassphrase,
            ProtectError::AlreadyProtected,
            ProtectError::NotAnIdentity(KeyError::IdentityLine { line: 2 }),
            ProtectError::TooLarge,
            ProtectError::OutOfMemory { memory_kib: 65_536 },
            ProtectError::KeyDerivation,
        ];
        for e in all {
            let s = e.to_string();
            assert!(!s.contains('\n') && !s.is_empty(), "{s}");
        }
    }
}
