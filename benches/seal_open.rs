//! Benchmarks for sealing and opening whole TOML documents, against the floor of
//! the cryptography underneath.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench seal_open
//! cargo bench --bench seal_open -- open_100   # only benches whose name matches
//! ```
//!
//! What each bench measures:
//!
//! - `seal_100_values_toml`: [`cachet::seal_document`] of a generated TOML
//!   document (10 tables `[service_N]`, each with 10 secret-named keys holding 24
//!   random URL-safe characters, plus plain keys left alone) with
//!   `Selection::Default`, building a fresh [`Sealer`] every iteration, as one CLI
//!   run does: one ephemeral key (one base-point multiplication and one X25519) per
//!   run, then 100 AEAD seals, a scan before and a re-parse check after.
//! - `open_100_values_toml`: [`cachet::open_document`] of the sealed form of that
//!   document, with an [`Identities`] holding the key. One X25519 per run (the
//!   opener caches the derived key), 100 AEAD opens, scans and structure checks.
//! - `open_100_values_toml_attested`: the same file with an attestation line,
//!   verified (`attestation::verify_file`: SHA-256 of the file, the attestation
//!   key derived from the identity, one Ed25519 verification) and then opened, as
//!   `open --require-attested` does.
//! - `get_one_of_100_toml`: [`cachet::get_value`] of one path of that sealed
//!   document: the whole document is still scanned, but only one value is opened.
//! - `floor_one_value`: the raw cryptographic cost of one value with nothing
//!   cachet-specific around it: one X25519 (`StaticSecret::diffie_hellman`),
//!   HKDF-SHA256 to 32 bytes and an XChaCha20-Poly1305 seal of 64 bytes.
//! - `floor_x25519_only`: one `StaticSecret::diffie_hellman` alone.
//! - `open_1000_values_toml`: as `open_100_values_toml`, with 100 tables, so
//!   1,000 sealed values.
//!
//! The document text is generated deterministically in the bench; no files are
//! read. Measurement is kept short (4 s, 20 samples per bench) so the whole run
//! finishes in well under two minutes.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use cachet::{Format, Identities, Sealer, SecretKey, Selection, ValuePath};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, criterion_group, criterion_main};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey as DalekPublic, StaticSecret};

/// Secret-looking key-name endings; each makes `Selection::Default` seal the value.
const SECRET_NAMES: [&str; 10] = [
    "password",
    "secret",
    "token",
    "api_key",
    "private_key",
    "access_key",
    "signing_key",
    "passphrase",
    "credentials",
    "dsn",
];

/// SplitMix64: a tiny deterministic generator, enough for bench data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` characters of the URL-safe base64 alphabet.
    fn url_safe(&mut self, n: usize) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..n)
            .map(|_| char::from(ALPHABET[(self.next() % 64) as usize]))
            .collect()
    }
}

/// A TOML document with `tables` tables `[service_N]`, each holding 10 secret
/// values (so `10 * tables` sealed by the default rule) and a few plain keys.
fn document(tables: usize) -> String {
    let mut rng = SplitMix(0x00C0_FFEE);
    let mut out =
        String::from("# generated for benches/seal_open.rs\nname = \"bench\"\ndebug = false\n");
    for t in 0..tables {
        let _ = write!(
            out,
            "\n[service_{t}]\nhost = \"svc-{t}.internal\"\nport = {}\nenabled = true\n",
            5000 + t
        );
        for (k, ending) in SECRET_NAMES.iter().enumerate() {
            let _ = writeln!(out, "db{k}_{ending} = \"{}\"", rng.url_safe(24));
        }
        let _ = writeln!(out, "timeout_seconds = {}", 30 + t % 7);
    }
    out
}

/// The bench key: fixed bytes, so every run seals to the same recipient.
fn key() -> SecretKey {
    SecretKey::from_bytes([0x42; 32])
}

fn identities(key: &SecretKey) -> Identities {
    let mut ids = Identities::new();
    ids.push(key.clone());
    ids
}

/// Seals `plain` once and checks it holds `values` sealed values and opens back.
fn sealed(plain: &str, key: &SecretKey, values: usize) -> String {
    let mut sealer = Sealer::new(&key.public_key()).expect("bench key is a valid recipient");
    let (sealed, report) =
        cachet::seal_document(Format::Toml, plain, &Selection::Default, &mut sealer).expect("seal");
    assert_eq!(
        report.sealed.len(),
        values,
        "the generated document should have {values} secrets"
    );
    let opened = cachet::open_document(Format::Toml, &sealed, &identities(key)).expect("open");
    assert_eq!(opened.as_str(), plain);
    sealed
}

fn bench_seal(c: &mut Criterion) {
    let key = key();
    let pk = key.public_key();
    let plain = document(10);
    // Setup check (also proves the selection picks exactly 100 values).
    sealed(&plain, &key, 100);
    c.bench_function("seal_100_values_toml", |b| {
        b.iter(|| {
            let mut sealer = Sealer::new(&pk).expect("sealer");
            let out = cachet::seal_document(
                Format::Toml,
                black_box(&plain),
                &Selection::Default,
                &mut sealer,
            )
            .expect("seal");
            black_box(out)
        });
    });
}

fn bench_open(c: &mut Criterion) {
    let key = key();
    let ids = identities(&key);

    let sealed_100 = sealed(&document(10), &key, 100);
    c.bench_function("open_100_values_toml", |b| {
        b.iter(|| {
            black_box(
                cachet::open_document(Format::Toml, black_box(&sealed_100), &ids).expect("open"),
            )
        });
    });

    // The same file attested: the check before opening (spec/attest.md 5) is one
    // SHA-256 of the file, one key derivation and one Ed25519 verification.
    let attest_key = cachet::document::attestation::AttestKey::derive(&key);
    let (attested_100, _) = cachet::document::attestation::attest(
        Format::Toml,
        &sealed_100,
        ("config/app.toml", "bench"),
        &attest_key,
        cachet::SealedAt::now(),
    )
    .expect("attest");
    let at = std::path::Path::new("/srv/config/app.toml");
    c.bench_function("open_100_values_toml_attested", |b| {
        b.iter(|| {
            let text = black_box(attested_100.as_str());
            cachet::document::attestation::verify_file(Format::Toml, at, text, None, &ids)
                .expect("attested");
            black_box(cachet::open_document(Format::Toml, text, &ids).expect("open"))
        });
    });

    let path: ValuePath = "service_7.db2_token".parse().expect("path");
    let expected = cachet::get_value(Format::Toml, &sealed_100, &path, &ids).expect("get");
    assert_eq!(expected.len(), 24);
    c.bench_function("get_one_of_100_toml", |b| {
        b.iter(|| {
            black_box(
                cachet::get_value(Format::Toml, black_box(&sealed_100), &path, &ids).expect("get"),
            )
        });
    });

    let sealed_1000 = sealed(&document(100), &key, 1000);
    c.bench_function("open_1000_values_toml", |b| {
        b.iter(|| {
            black_box(
                cachet::open_document(Format::Toml, black_box(&sealed_1000), &ids).expect("open"),
            )
        });
    });
}

fn bench_floor(c: &mut Criterion) {
    let recipient = StaticSecret::from([0x42; 32]);
    let recipient_pub = DalekPublic::from(&recipient);
    let ephemeral = StaticSecret::from([0x17; 32]);
    let ephemeral_pub = DalekPublic::from(&ephemeral);
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_pub.as_bytes());
    salt[32..].copy_from_slice(recipient_pub.as_bytes());
    let nonce = [0x24u8; 24];
    let msg = [0x61u8; 64];
    let aad = [0x5Au8; 48];

    c.bench_function("floor_one_value", |b| {
        b.iter(|| {
            let shared = black_box(&ephemeral).diffie_hellman(black_box(&recipient_pub));
            let hk = Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes());
            let mut okm = [0u8; 32];
            hk.expand(b"cachet/v1/value", &mut okm)
                .expect("32 bytes is a valid length");
            let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&okm));
            let ct = cipher
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: black_box(&msg),
                        aad: &aad,
                    },
                )
                .expect("seal");
            black_box(ct)
        });
    });

    c.bench_function("floor_x25519_only", |b| {
        b.iter(|| black_box(black_box(&ephemeral).diffie_hellman(black_box(&recipient_pub))));
    });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_seal, bench_open, bench_floor
}
criterion_main!(benches);
