//! Canonical unpadded base64url (`spec/format.md`, section 1.4): every binary part
//! of a token, a key id and a protected identity file is written this way, and
//! exactly one text is accepted for each byte string.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as canonical unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical unpadded base64url, rejecting padding, other alphabets and
/// non-zero trailing bits (so every byte string has exactly one encoding).
pub fn decode(s: &str) -> Option<Vec<u8>> {
    // The base64 crate's default engines reject non-canonical trailing bits and
    // padding when configured with `NO_PAD`; the re-encode check is belt and braces.
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    (URL_SAFE_NO_PAD.encode(&bytes) == s).then_some(bytes)
}
