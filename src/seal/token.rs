//! The sealed-value token, `cachet:v1:<key-id>:<sealed-at>:<payload>`, and the
//! conflict marker that holds two of them (`spec/git.md`, section 3).
//!
//! This module only reads and writes the token's text (grammar in `spec/format.md`,
//! "Token"); the cryptography lives in [`super::value`].

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::OpenError;
use super::base64url;
use super::key::{KEY_ID_LEN, KeyId};

/// Every token starts with this prefix.
pub const PREFIX: &str = "cachet:";
/// The format version this build writes and reads.
pub const VERSION: &str = "v1";

/// Bytes of the ephemeral X25519 public key at the start of the payload.
pub const EPHEMERAL_LEN: usize = 32;
/// Bytes of the XChaCha20 nonce after it.
pub const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 tag at the end of the ciphertext.
pub const TAG_LEN: usize = 16;
/// Padded plaintexts are a multiple of this many bytes.
pub const PAD_BLOCK: usize = 32;
/// Largest payload accepted when parsing: the payload of a value of the 16 MiB
/// limit (format.md 4.3, 5.4), `72 + 16 MiB + 32` bytes as base64url. A longer one
/// is refused before it is decoded.
const MAX_PAYLOAD_CHARS: usize = 22_369_760;
/// A string holding this anywhere is a token candidate (format.md 4.4).
const CANDIDATE_MARK: &str = "cachet:v";

/// When a value was sealed: whole seconds since the Unix epoch, UTC, written
/// `YYYYMMDDThhmmssZ` in tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SealedAt(u64);

/// Seconds of 9999-12-31T23:59:59Z, the last instant the written form can hold.
const MAX_SECONDS: u64 = 253_402_300_799;

impl SealedAt {
    /// The current time (clamped to the representable range).
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        SealedAt(secs.min(MAX_SECONDS))
    }

    /// A time given in seconds since the Unix epoch, if it can be written.
    pub fn from_unix(secs: u64) -> Option<Self> {
        (secs <= MAX_SECONDS).then_some(SealedAt(secs))
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> u64 {
        self.0
    }

    /// Parses the exact 16-character form `YYYYMMDDThhmmssZ`, a valid UTC date
    /// and time from 1970 on (no leap seconds).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u64> {
            let part = &b[r];
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(part.iter().fold(0u64, |a, d| a * 10 + u64::from(d - b'0')))
        };
        let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
        let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
        if y < 1970 || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return None;
        }
        if h > 23 || mi > 59 || se > 59 {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(SealedAt(days * 86_400 + h * 3600 + mi * 60 + se))
    }
}

impl SealedAt {
    /// Parses the RFC 3339 form [`SealedAt::rfc3339`] writes, and only it:
    /// `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let compact: String = s.chars().filter(|c| !matches!(c, '-' | ':')).collect();
        Self::parse(&compact)
    }

    /// The time as RFC 3339 (`2026-11-29T03:40:36Z`), for people and reports.
    pub fn rfc3339(&self) -> String {
        let s = self.to_string();
        format!(
            "{}-{}-{}T{}:{}:{}Z",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        )
    }
}

impl fmt::Display for SealedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let rem = self.0 % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days from 1970-01-01 to the given date (proleptic Gregorian, year ≥ 1970).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let years = y - 1970;
    // Leap days in the whole years [1970, y): count multiples of 4, 100, 400 below y.
    let leaps = |n: u64| n / 4 - n / 100 + n / 400;
    let mut days = years * 365 + leaps(y - 1) - leaps(1969);
    for month in 1..m {
        days += days_in_month(y, month);
    }
    days + d - 1
}

/// The date `days` after 1970-01-01.
fn civil_from_days(mut days: u64) -> (u64, u64, u64) {
    let mut y = 1970;
    // Jump whole 400-year cycles (146 097 days) first so this stays cheap.
    y += 400 * (days / 146_097);
    days %= 146_097;
    loop {
        let len = if is_leap(y) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let mut m = 1;
    while days >= days_in_month(y, m) {
        days -= days_in_month(y, m);
        m += 1;
    }
    (y, m, days + 1)
}

/// A parsed sealed-value token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Which public key the value was sealed to.
    pub key_id: KeyId,
    /// When it was sealed.
    pub sealed_at: SealedAt,
    /// The ephemeral X25519 public key of the sealing run.
    pub ephemeral: [u8; EPHEMERAL_LEN],
    /// The XChaCha20-Poly1305 nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

impl Token {
    /// Whether a decoded string value is meant to be a token (format.md 4.4): it
    /// starts with `cachet:`, holds `cachet:v` anywhere, or is a token whose prefix
    /// was damaged (what follows its first 7 characters, or its last four `:`, has
    /// a token's shape). Such a value is always treated as sealed: it opens, or it
    /// is an error; a damaged token never passes as plain text.
    pub fn looks_sealed(s: &str) -> bool {
        s.starts_with(PREFIX)
            || s.contains(CANDIDATE_MARK)
            || Self::damaged_prefix(s)
            || Self::damaged_head(s)
    }

    /// The 7 characters of the prefix replaced by any others.
    fn damaged_prefix(s: &str) -> bool {
        // Characters, not bytes: a damaged prefix may hold a multi-byte character.
        let Some((cut, _)) = s.char_indices().nth(PREFIX.len()) else {
            return false;
        };
        let mut parts = s[cut..].split(':');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some(v), Some(kid), Some(at), Some(payload), None) => {
                Self::shaped(v, kid, at, payload)
            }
            _ => false,
        }
    }

    /// Anything at all before the version field: a prefix with characters added,
    /// removed or changed (` cachet:v1:…`, `cachet :v1:…`).
    fn damaged_head(s: &str) -> bool {
        let mut parts = s.rsplitn(5, ':');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some(payload), Some(at), Some(kid), Some(v), Some(_)) => {
                Self::shaped(v, kid, at, payload)
            }
            _ => false,
        }
    }

    /// Whether the four fields after the prefix have a token's shape.
    fn shaped(v: &str, kid: &str, at: &str, payload: &str) -> bool {
        let b64 = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        v.len() > 1
            && v.starts_with('v')
            && v[1..].bytes().all(|b| b.is_ascii_digit())
            && kid.len() == 16
            && b64(kid)
            && at.len() == 16
            && !payload.is_empty()
            && b64(payload)
    }

    /// Parses a token; every deviation from the grammar is an error.
    pub fn parse(s: &str) -> Result<Token, OpenError> {
        let rest = s
            .strip_prefix(PREFIX)
            .ok_or(OpenError::Malformed("does not start with cachet:"))?;
        // A conflict marker is a candidate too (spec/git.md), but never one token;
        // one that does not follow the marker's grammar is merely malformed.
        if let Some(marker) = Conflict::parse(s) {
            return Err(match marker {
                Ok(_) => OpenError::Conflict,
                Err(_) => OpenError::Malformed("a conflict marker holds exactly two tokens"),
            });
        }
        let mut parts = rest.split(':');
        let version = parts.next().unwrap_or_default();
        if version != VERSION {
            // A well-formed later version gets a clear "upgrade" message; anything else
            // is simply malformed.
            let later = version.len() > 1
                && version.len() <= 6
                && version.starts_with('v')
                && version[1..].bytes().all(|b| b.is_ascii_digit());
            return Err(if later {
                OpenError::UnsupportedVersion
            } else {
                OpenError::Malformed("unknown version field")
            });
        }
        let (Some(kid), Some(at), Some(payload), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed(
                "expected cachet:v1:<key-id>:<sealed-at>:<payload>",
            ));
        };
        let kid_bytes = base64url::decode(kid)
            .filter(|b| b.len() == KEY_ID_LEN)
            .ok_or(OpenError::Malformed(
                "key id is not 16 canonical base64url characters",
            ))?;
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&kid_bytes);
        let sealed_at = SealedAt::parse(at).ok_or(OpenError::Malformed(
            "sealed-at is not a valid YYYYMMDDThhmmssZ time",
        ))?;
        if payload.len() > MAX_PAYLOAD_CHARS {
            return Err(OpenError::Malformed("payload is too long"));
        }
        let bytes = base64url::decode(payload)
            .ok_or(OpenError::Malformed("payload is not canonical base64url"))?;
        let min = EPHEMERAL_LEN + NONCE_LEN + PAD_BLOCK + TAG_LEN;
        let ct_len = bytes.len().saturating_sub(EPHEMERAL_LEN + NONCE_LEN);
        if bytes.len() < min || !(ct_len - TAG_LEN).is_multiple_of(PAD_BLOCK) {
            return Err(OpenError::Malformed("payload has an impossible length"));
        }
        let mut ephemeral = [0u8; EPHEMERAL_LEN];
        ephemeral.copy_from_slice(&bytes[..EPHEMERAL_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[EPHEMERAL_LEN..EPHEMERAL_LEN + NONCE_LEN]);
        Ok(Token {
            key_id: KeyId::from_bytes(id),
            sealed_at,
            ephemeral,
            nonce,
            ciphertext: bytes[EPHEMERAL_LEN + NONCE_LEN..].to_vec(),
        })
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(EPHEMERAL_LEN + NONCE_LEN + self.ciphertext.len());
        payload.extend_from_slice(&self.ephemeral);
        payload.extend_from_slice(&self.nonce);
        payload.extend_from_slice(&self.ciphertext);
        write!(
            f,
            "{PREFIX}{VERSION}:{}:{}:{}",
            self.key_id,
            self.sealed_at,
            base64url::encode(&payload)
        )
    }
}

/// What follows `cachet:` in a conflict marker, before the two sides.
pub const CONFLICT_FIELD: &str = "conflict:";

/// A merge conflict kept sealed: the two sides' tokens of one value, each sealed at
/// the value's own place, so each still opens there.
///
/// Written `cachet:conflict:<ours>:<theirs>`, each side a token without its
/// leading `cachet:` (`spec/git.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The token of the branch being merged into.
    pub ours: Token,
    /// The token of the branch merged in.
    pub theirs: Token,
}

impl Conflict {
    /// Parses a conflict marker. `None` when `s` is not one (it does not begin with
    /// `cachet:conflict:`); an error when it is one but does not follow the grammar.
    pub fn parse(s: &str) -> Option<Result<Conflict, OpenError>> {
        let rest = s.strip_prefix(PREFIX)?.strip_prefix(CONFLICT_FIELD)?;
        let fields: Vec<&str> = rest.split(':').collect();
        if fields.len() != 8 {
            return Some(Err(OpenError::Malformed(
                "a conflict marker holds exactly two tokens",
            )));
        }
        let side = |f: &[&str]| Token::parse(&format!("{PREFIX}{}", f.join(":")));
        Some(side(&fields[..4]).and_then(|ours| {
            Ok(Conflict {
                ours,
                theirs: side(&fields[4..])?,
            })
        }))
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ours = self.ours.to_string();
        let theirs = self.theirs.to_string();
        write!(
            f,
            "{PREFIX}{CONFLICT_FIELD}{}:{}",
            &ours[PREFIX.len()..],
            &theirs[PREFIX.len()..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every damage to a token's prefix still makes a candidate (format.md 4.4),
    /// and so does `cachet:v` anywhere; ordinary text does not.
    #[test]
    fn damaged_tokens_are_candidates() {
        let rest = format!("v1:QODhG9SeyrpMO5PS:20261129T120000Z:{}", "A".repeat(139));
        for s in [
            format!("cachet:{rest}"),
            format!("Cachet:{rest}"),
            format!("cachet-{rest}"),
            format!(" cachet:{rest}"),
            format!("xcachet:{rest}"),
            format!("cachet :{rest}"),
            format!("cache:{rest}"),
            format!(":{rest}"),
            "see cachet:v1 for the format".to_string(),
            "https://x/cachet:v2".to_string(),
        ] {
            assert!(Token::looks_sealed(&s), "{s}");
            assert!(
                Token::parse(&s).is_err() || s.starts_with("cachet:v1:"),
                "{s}"
            );
        }
        for s in [
            "hunter2",
            "cachet",
            "a:b:c:d:e",
            "v1:QODhG9SeyrpMO5PS:20261129T120000Z:AAAA",
            "Cachet:V1 notes",
        ] {
            assert!(!Token::looks_sealed(s), "{s}");
        }
    }

    /// A payload longer than a 16 MiB value's is refused before it is decoded.
    #[test]
    fn a_payload_past_the_value_limit_is_refused() {
        let head = "cachet:v1:QODhG9SeyrpMO5PS:20261129T120000Z:";
        let long = format!("{head}{}", "A".repeat(MAX_PAYLOAD_CHARS + 1));
        assert_eq!(
            Token::parse(&long).unwrap_err(),
            OpenError::Malformed("payload is too long")
        );
        assert_eq!(
            MAX_PAYLOAD_CHARS,
            (72 + crate::seal::value::MAX_VALUE_LEN + PAD_BLOCK).div_ceil(3) * 4
        );
    }

    #[test]
    fn sealed_at_known_dates() {
        assert_eq!(SealedAt(0).to_string(), "19700101T000000Z");
        assert_eq!(SealedAt(951_782_400).to_string(), "20000229T000000Z");
        assert_eq!(
            SealedAt::parse("20261129T034036Z").unwrap().unix(),
            1_795_923_636
        );
        assert_eq!(SealedAt(MAX_SECONDS).to_string(), "99991231T235959Z");
        for bad in [
            "20260229T000000Z",
            "19691231T235959Z",
            "20261129T240000Z",
            "20261129 034036Z",
            "2026112T034036Z",
            "20261329T000000Z",
            "+0261129T034036Z",
        ] {
            assert!(SealedAt::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn base64_is_canonical_only() {
        assert_eq!(base64url::decode("AAE").unwrap(), vec![0, 1]);
        assert!(base64url::decode("AAF").is_none(), "non-zero trailing bits");
        assert!(base64url::decode("AAE=").is_none(), "padding");
        assert!(base64url::decode("AA+E").is_none(), "standard alphabet");
        assert!(base64url::decode("A").is_none());
    }

    proptest! {
        #[test]
        fn sealed_at_round_trips(secs in 0u64..=MAX_SECONDS) {
            let t = SealedAt(secs);
            prop_assert_eq!(SealedAt::parse(&t.to_string()), Some(t));
        }

        #[test]
        fn token_parse_never_panics(s in "cachet:v1:[A-Za-z0-9_:-]{0,200}") {
            let _ = Token::parse(&s);
        }
    }
}
