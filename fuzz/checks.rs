//! What every fuzz target asserts, as plain functions: the cargo-fuzz targets in
//! `fuzz_targets/` call them on libFuzzer's inputs, and the main crate's
//! `tests/fuzz_regressions.rs` calls them on the seed corpus and on every input
//! kept in `fuzz/regressions/`, so a crash once found stays fixed.

use std::sync::LazyLock;

use cachet::{Format, Identities, SealedAt, Sealer, SecretKey, Selection, Token, ValuePath};
use rand_core::{CryptoRng, Error, RngCore};

/// A deterministic "random" source: a 64-bit counter run through splitmix64.
/// Only for fuzzing, where every run must be reproducible.
struct CounterRng(u64);

impl RngCore for CounterRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Not cryptographically secure; the marker is needed only to satisfy the API.
impl CryptoRng for CounterRng {}

/// The fixed fuzzing identity.
static KEY: LazyLock<SecretKey> = LazyLock::new(|| SecretKey::from_bytes([7u8; 32]));

static IDS: LazyLock<Identities> = LazyLock::new(|| {
    let mut ids = Identities::new();
    ids.push(KEY.clone());
    ids
});

/// 2026-01-01T00:00:00Z.
const SEALED_AT: u64 = 1_767_225_600;

/// `Token::parse` never panics, and a token that parses prints back to exactly its
/// input (the grammar is canonical).
pub fn token(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = Token::parse(text) {
        let shown = token.to_string();
        let again = Token::parse(&shown)
            .unwrap_or_else(|e| panic!("displayed token {shown:?} does not parse: {e}"));
        assert_eq!(again, token, "display/parse round trip changed the token");
        assert_eq!(
            shown, text,
            "a parsed token printed differently from its input"
        );
    }
}

/// `ValuePath::from_str` never panics, and a parsed path prints to text that parses
/// to the same path (unless the display escaped a control character as `\u{…}`).
pub fn path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = text.parse::<ValuePath>() {
        let shown = path.to_string();
        if shown.contains("\\u{") {
            return;
        }
        let again: ValuePath = shown.parse().unwrap_or_else(|e| {
            panic!("displayed path {shown:?} (from {text:?}) does not parse: {e}")
        });
        assert_eq!(
            again, path,
            "display/parse round trip changed {text:?} -> {shown:?}"
        );
    }
}

/// `Identities::parse` never panics and never returns an empty set.
pub fn identity_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ids) = Identities::parse(text) {
        assert!(!ids.is_empty(), "parse returned an empty identity set");
    }
}

/// Opening and sealing arbitrary text in `format` never panics, and whatever seals
/// opens back to the input byte for byte (or, when the input already held sealed
/// values, which sealing leaves as they are, to what opening the input gives).
pub fn document(format: Format, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let plain = cachet::open_document(format, text, &IDS);
    let _ = cachet::list_values(format, text);
    let mut sealer = Sealer::with_rng(
        &KEY.public_key(),
        CounterRng(0),
        SealedAt::from_unix(SEALED_AT).expect("representable time"),
    )
    .expect("the fixed key is a valid recipient");
    let Ok((sealed, report)) =
        cachet::seal_document(format, text, &Selection::Default, &mut sealer)
    else {
        return;
    };
    let expected: &str = if report.already_sealed == 0 {
        text
    } else {
        // A token in the input that does not open (damaged, or a forgery with the
        // fuzzing key id) is carried through by sealing: nothing to compare then.
        match &plain {
            Ok(p) => p.as_str(),
            Err(_) => return,
        }
    };
    let opened = cachet::open_document(format, &sealed, &IDS).unwrap_or_else(|e| {
        panic!("sealed output does not open: {e}\ninput: {text:?}\nsealed: {sealed:?}")
    });
    assert_eq!(
        opened.as_str(),
        expected,
        "seal then open did not give back the expected text\ninput: {text:?}\nsealed: {sealed:?}"
    );
}
