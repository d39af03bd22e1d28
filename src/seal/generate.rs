//! New random secrets (API tokens, signing keys, database passwords), made to be
//! sealed straight away and never shown.
//!
//! Characters are drawn from the operating system's random source with rejection
//! sampling, so every character of the alphabet is exactly equally likely. The
//! default length gives at least 256 bits of entropy for the chosen alphabet (the
//! key size HS256 and friends expect); a length below 64 bits is refused, because a
//! secret that short can be guessed offline.

use std::fmt;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// The alphabet a generated secret is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// `A–Z a–z 0–9`: safe in every file format, URL, shell word and .env line.
    Alnum,
    /// `0–9 a–f`, for systems that want a hex key.
    Hex,
    /// `A–Z a–z 0–9 - _` (the URL-safe base64 alphabet, no padding).
    Base64Url,
    /// `0–9` only.
    Digits,
    /// Printable ASCII without space, quotes, backslash and `$`, for systems that
    /// demand symbols; these characters need no escaping in a double-quoted .env
    /// value or a shell's double quotes.
    Symbols,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DIGITS: &[u8] = b"0123456789";
const SYMBOLS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&()*+,-./:;<=>?@[]^_{|}~";

/// The fewest bits of entropy a generated secret may have.
pub const MIN_BITS: f64 = 64.0;
/// The entropy the default length reaches.
pub const DEFAULT_BITS: f64 = 256.0;
/// The longest secret generated, in characters.
pub const MAX_LEN: usize = 4096;

impl Charset {
    /// Every charset, in the order they are documented.
    pub const ALL: [Charset; 5] = [
        Charset::Alnum,
        Charset::Hex,
        Charset::Base64Url,
        Charset::Digits,
        Charset::Symbols,
    ];

    /// The characters drawn from, each once.
    pub fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Alnum => ALNUM,
            Charset::Hex => HEX,
            Charset::Base64Url => BASE64URL,
            Charset::Digits => DIGITS,
            Charset::Symbols => SYMBOLS,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Alnum => "alnum",
            Charset::Hex => "hex",
            Charset::Base64Url => "base64url",
            Charset::Digits => "digits",
            Charset::Symbols => "symbols",
        }
    }

    /// Bits of entropy one character carries.
    pub fn bits_per_char(self) -> f64 {
        (self.alphabet().len() as f64).log2()
    }

    /// The length that reaches [`DEFAULT_BITS`].
    pub fn default_len(self) -> usize {
        (DEFAULT_BITS / self.bits_per_char()).ceil() as usize
    }

    /// The shortest length that reaches [`MIN_BITS`].
    pub fn min_len(self) -> usize {
        (MIN_BITS / self.bits_per_char()).ceil() as usize
    }
}

/// Why a secret could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerateError {
    /// The length gives less than [`MIN_BITS`] of entropy.
    TooShort {
        /// The length asked for.
        len: usize,
        /// The charset asked for.
        charset: Charset,
    },
    /// The length is over [`MAX_LEN`].
    TooLong(usize),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::TooShort { len, charset } => write!(
                f,
                "{len} {} characters give {:.0} bits, fewer than the {MIN_BITS:.0} a secret needs; \
                 use a length of {} or more",
                charset.name(),
                *len as f64 * charset.bits_per_char(),
                charset.min_len()
            ),
            GenerateError::TooLong(len) => write!(
                f,
                "a generated secret is at most {MAX_LEN} characters, not {len}"
            ),
        }
    }
}

impl std::error::Error for GenerateError {}

/// A new secret of `len` characters (the charset's default length when `None`),
/// each drawn uniformly from `charset`.
pub fn generate(charset: Charset, len: Option<usize>) -> Result<Zeroizing<String>, GenerateError> {
    let len = len.unwrap_or_else(|| charset.default_len());
    if len > MAX_LEN {
        return Err(GenerateError::TooLong(len));
    }
    if len < charset.min_len() {
        return Err(GenerateError::TooShort { len, charset });
    }
    Ok(draw(charset.alphabet(), len, &mut OsRng))
}

/// Draws `len` characters from `alphabet` (at most 256 distinct bytes) with
/// rejection sampling: a random byte is used only when it falls below the largest
/// multiple of the alphabet's size, so no character is favoured.
fn draw(alphabet: &[u8], len: usize, rng: &mut impl RngCore) -> Zeroizing<String> {
    let n = alphabet.len();
    let limit = 256 - 256 % n;
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        rng.fill_bytes(&mut buf[..]);
        for &b in buf.iter() {
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % n]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabets_have_distinct_printable_characters() {
        for c in Charset::ALL {
            let a = c.alphabet();
            let mut sorted = a.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), a.len(), "{}", c.name());
            assert!(a.iter().all(|b| b.is_ascii_graphic()), "{}", c.name());
            assert!(
                !a.iter().any(|b| b"\"'`\\$ ".contains(b)),
                "{} holds a character that needs quoting",
                c.name()
            );
        }
    }

    #[test]
    fn default_lengths_reach_256_bits() {
        assert_eq!(Charset::Alnum.default_len(), 43);
        assert_eq!(Charset::Hex.default_len(), 64);
        assert_eq!(Charset::Base64Url.default_len(), 43);
        assert_eq!(Charset::Digits.default_len(), 78);
        for c in Charset::ALL {
            assert!(c.default_len() as f64 * c.bits_per_char() >= DEFAULT_BITS);
            assert!((c.default_len() - 1) as f64 * c.bits_per_char() < DEFAULT_BITS);
        }
    }

    #[test]
    fn generated_secrets_have_the_length_and_alphabet_asked_for() {
        for c in Charset::ALL {
            for len in [None, Some(c.min_len()), Some(100), Some(MAX_LEN)] {
                let s = generate(c, len).unwrap();
                assert_eq!(s.len(), len.unwrap_or(c.default_len()));
                assert!(s.bytes().all(|b| c.alphabet().contains(&b)));
            }
        }
        assert_ne!(
            *generate(Charset::Alnum, None).unwrap(),
            *generate(Charset::Alnum, None).unwrap()
        );
    }

    #[test]
    fn weak_and_huge_lengths_are_refused() {
        assert_eq!(
            generate(Charset::Digits, Some(6)).unwrap_err().to_string(),
            "6 digits characters give 20 bits, fewer than the 64 a secret needs; \
             use a length of 20 or more"
        );
        assert_eq!(
            generate(Charset::Alnum, Some(0)).unwrap_err(),
            GenerateError::TooShort {
                len: 0,
                charset: Charset::Alnum
            }
        );
        assert_eq!(
            generate(Charset::Hex, Some(MAX_LEN + 1)).unwrap_err(),
            GenerateError::TooLong(MAX_LEN + 1)
        );
    }

    /// A source that counts up through every byte value, so the sampling can be
    /// checked exactly: each character must come out equally often.
    struct Counter(u8);
    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            unreachable!()
        }
        fn next_u64(&mut self) -> u64 {
            unreachable!()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn rejection_sampling_is_exactly_uniform() {
        for c in Charset::ALL {
            let a = c.alphabet();
            let accepted = 256 - 256 % a.len();
            // Four full passes over every byte value.
            let s = draw(a, accepted * 4, &mut Counter(0));
            for ch in a {
                let count = s.bytes().filter(|b| b == ch).count();
                assert_eq!(
                    count,
                    accepted / a.len() * 4,
                    "{} in {}",
                    *ch as char,
                    c.name()
                );
            }
        }
    }
}
