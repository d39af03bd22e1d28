//! Passphrase-protected identity files (`spec/identity.md`): the known-answer
//! vectors of `testdata/vectors/protected_identity.toml`, checked through the
//! library and against a second construction straight from the primitives
//! (Argon2id and XChaCha20-Poly1305 called here, not through the module); round
//! trips; tampering with every part of the data line; and the bounds, which must
//! refuse a hostile file before any Argon2 work.
//!
//! Argon2id at the minimum parameters (64 MiB, 3 passes) costs a fraction of a
//! second per call, so these tests call it a few dozen times at most.
//!
//! `CACHET_WRITE_VECTORS=1 cargo test --test protected_identity -- --ignored`
//! rewrites the vector file (only when the format version changes).

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use cachet::team::protected_identity::{
    self, KdfParameter, KdfParams, ProtectError, is_protected, protect, protect_with, unprotect,
};
use cachet::{Identities, SecretKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use toml_edit::{DocumentMut, Item, Table, value};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/vectors/protected_identity.toml")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
}

// ---------------------------------------------------------------------------
// The construction of spec/identity.md, from the primitives
// ---------------------------------------------------------------------------

/// Argon2id, version 0x13, 32-byte output, no secret and no associated data.
fn reference_key(passphrase: &[u8], salt: &[u8], (m, t, p): (u32, u32, u32)) -> [u8; 32] {
    let params = Params::new(m, t, p, Some(32)).unwrap();
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, &mut key)
        .unwrap();
    key
}

/// The header (the associated data, as text) and the whole data line.
fn reference_line(
    key: &[u8; 32],
    (m, t, p): (u32, u32, u32),
    salt: &[u8],
    nonce: &[u8; 24],
    plaintext: &[u8],
) -> (String, String) {
    let header = format!(
        "cachet-identity:v1:argon2id:m={m},t={t},p={p}:{}",
        b64(salt)
    );
    let ct = XChaCha20Poly1305::new(key.into())
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: header.as_bytes(),
            },
        )
        .unwrap();
    let mut payload = nonce.to_vec();
    payload.extend_from_slice(&ct);
    let line = format!("{header}:{}", b64(&payload));
    (header, line)
}

/// The whole file as a protector writes it (spec/identity.md, "Writing").
fn reference_file(identity_text: &str, line: &str) -> String {
    let mut out = String::from(
        "# cachet protected identity: cachet asks for its passphrase when it is used\n",
    );
    for k in Identities::parse(identity_text).unwrap().iter() {
        out.push_str(&format!("# public key: {}\n", k.public_key()));
    }
    out.push_str(line);
    out.push('\n');
    out
}

fn id_text(seed: u8, created: &str) -> String {
    cachet::seal::key::identity_file_text(&SecretKey::from_bytes([seed; 32]), created).to_string()
}

fn fill(seed: usize, n: usize) -> Vec<u8> {
    (0..n).map(|j| (seed * 53 + j * 13 + 5) as u8).collect()
}

struct Valid {
    name: &'static str,
    passphrase: &'static str,
    params: (u32, u32, u32),
    identity: String,
}

fn valid_cases() -> Vec<Valid> {
    let two_keys_crlf = format!(
        "{}{}",
        id_text(0x42, "2026-11-29T03:40:36Z"),
        id_text(0x43, "2026-11-30T08:00:00Z")
    )
    .replace('\n', "\r\n");
    let bare = SecretKey::from_bytes([0x44; 32])
        .to_age_string()
        .to_string();
    vec![
        Valid {
            name: "age-keygen layout, minimum parameters",
            passphrase: "correct horse battery staple",
            params: (65_536, 3, 1),
            identity: id_text(0x42, "2026-11-29T03:40:36Z"),
        },
        Valid {
            name: "two identities, CRLF line endings, non-ASCII passphrase, 2 lanes",
            passphrase: "p\u{e2}t\u{e9} \u{1f511} \u{fc}n\u{ef}c\u{f6}d\u{e9}",
            params: (65_536, 3, 2),
            identity: two_keys_crlf,
        },
        Valid {
            name: "bare key without a final newline; memory not a multiple of 4 lanes; spaces kept in the passphrase",
            passphrase: "  spaces count  ",
            params: (65_537, 4, 3),
            identity: bare,
        },
    ]
}

#[test]
#[ignore = "writes testdata/vectors/protected_identity.toml; run with CACHET_WRITE_VECTORS=1 when the format version changes"]
fn write_vectors() {
    if std::env::var_os("CACHET_WRITE_VECTORS").is_none() {
        return;
    }
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(
        "# cachet protected identity v1 known-answer vectors (spec/identity.md,\n\
         # \"Known-answer vectors\"). The identities are published test keys and the\n\
         # passphrases are public: never use either for anything real.\n\
         # Byte strings are lower-case hex; `header` is the associated data as text.\n\n",
    );
    let cases = valid_cases();
    let mut lines = Vec::new();
    let mut good = toml_edit::ArrayOfTables::new();
    for (i, c) in cases.iter().enumerate() {
        let salt = fill(i, 16);
        let nonce: [u8; 24] = fill(i + 100, 24).try_into().unwrap();
        let key = reference_key(c.passphrase.as_bytes(), &salt, c.params);
        let (header, line) = reference_line(&key, c.params, &salt, &nonce, c.identity.as_bytes());
        let mut t = Table::new();
        t["name"] = value(c.name);
        t["passphrase"] = value(c.passphrase);
        t["memory_kib"] = value(i64::from(c.params.0));
        t["passes"] = value(i64::from(c.params.1));
        t["lanes"] = value(i64::from(c.params.2));
        t["salt"] = value(hex(&salt));
        t["nonce"] = value(hex(&nonce));
        t["identity"] = value(c.identity.as_str());
        t["key"] = value(hex(&key));
        t["header"] = value(header);
        t["file"] = value(reference_file(&c.identity, &line));
        good.push(t);
        lines.push((key, line));
    }
    doc["valid"] = Item::ArrayOfTables(good);

    // Files a protector does not write but an opener MUST open (to valid[0]).
    let (_, line0) = &lines[0];
    let v0 = &cases[0];
    let mut accepted = toml_edit::ArrayOfTables::new();
    for (name, file) in [
        ("only the data line, no final newline", line0.clone()),
        (
            "CRLF, blank lines, indentation, trailing white space and comments after the data line",
            format!("\r\n# my laptop key\r\n\r\n \t{line0}  \r\n# the end\r\n\r\n"),
        ),
    ] {
        let mut t = Table::new();
        t["name"] = value(name);
        t["passphrase"] = value(v0.passphrase);
        t["file"] = value(file);
        t["identity"] = value(v0.identity.as_str());
        accepted.push(t);
    }
    doc["accepted"] = Item::ArrayOfTables(accepted);

    // Invalid files, each with the error class an opener must report.
    let file0 = reference_file(&v0.identity, line0);
    let (header0, payload0) = line0.rsplit_once(':').unwrap();
    let salt0 = header0.rsplit_once(':').unwrap().1;
    let with_line = |line: &str| file0.replace(line0.as_str(), line);
    let with_payload = |p: &[u8]| with_line(&format!("{header0}:{}", b64(p)));
    let payload = unb64(payload0);
    let flip = |at: usize| {
        let mut p = payload.clone();
        p[at] ^= 0x01;
        with_payload(&p)
    };
    let last_char_bits = |s: &str| {
        // Same bytes, but the last character carries non-zero unused bits.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut s = s.to_string();
        let c = s.pop().unwrap();
        let idx = alphabet.iter().position(|&a| a as char == c).unwrap();
        s.push(alphabet[idx | 1] as char);
        s
    };
    let other_salt = {
        let mut s = unb64(salt0);
        s[0] ^= 0x80;
        b64(&s)
    };
    let not_utf8 = {
        let salt = fill(0, 16);
        let nonce: [u8; 24] = fill(50, 24).try_into().unwrap();
        let (_, line) = reference_line(
            &lines[0].0,
            v0.params,
            &salt,
            &nonce,
            b"AGE-SECRET-KEY-1\xff\xfe\n",
        );
        with_line(&line)
    };
    let v1 = &cases[1];
    let nfd = "pa\u{302}te\u{301} \u{1f511} u\u{308}ni\u{308}co\u{308}de\u{301}";
    assert_ne!(nfd, v1.passphrase);
    let file1 = reference_file(&v1.identity, &lines[1].1);
    let good_pass = v0.passphrase;
    let invalid: Vec<(&str, String, String, &str)> = vec![
        (
            "wrong passphrase",
            "correct horse battery stapler".into(),
            file0.clone(),
            "authentication",
        ),
        (
            "passphrase in another Unicode normalisation form (NFD)",
            nfd.into(),
            file1,
            "authentication",
        ),
        (
            "memory changed within the bounds",
            good_pass.into(),
            file0.replace("m=65536,", "m=65537,"),
            "authentication",
        ),
        (
            "passes changed within the bounds",
            good_pass.into(),
            file0.replace(",t=3,", ",t=4,"),
            "authentication",
        ),
        (
            "salt changed",
            good_pass.into(),
            file0.replace(salt0, &other_salt),
            "authentication",
        ),
        ("nonce changed", good_pass.into(), flip(0), "authentication"),
        (
            "ciphertext changed",
            good_pass.into(),
            flip(30),
            "authentication",
        ),
        (
            "tag changed",
            good_pass.into(),
            flip(payload.len() - 1),
            "authentication",
        ),
        (
            "payload one byte short",
            good_pass.into(),
            with_payload(&payload[..payload.len() - 1]),
            "authentication",
        ),
        (
            "memory 2^32 - 1 KiB (hostile)",
            good_pass.into(),
            file0.replace("m=65536,", "m=4294967295,"),
            "out-of-bounds",
        ),
        (
            "memory one KiB above 2 GiB",
            good_pass.into(),
            file0.replace("m=65536,", "m=2097153,"),
            "out-of-bounds",
        ),
        (
            "memory one KiB below 64 MiB",
            good_pass.into(),
            file0.replace("m=65536,", "m=65535,"),
            "out-of-bounds",
        ),
        (
            "memory 0",
            good_pass.into(),
            file0.replace("m=65536,", "m=0,"),
            "out-of-bounds",
        ),
        (
            "2 passes",
            good_pass.into(),
            file0.replace(",t=3,", ",t=2,"),
            "out-of-bounds",
        ),
        (
            "17 passes",
            good_pass.into(),
            file0.replace(",t=3,", ",t=17,"),
            "out-of-bounds",
        ),
        (
            "0 lanes",
            good_pass.into(),
            file0.replace(",p=1:", ",p=0:"),
            "out-of-bounds",
        ),
        (
            "17 lanes",
            good_pass.into(),
            file0.replace(",p=1:", ",p=17:"),
            "out-of-bounds",
        ),
        (
            "memory with a leading zero",
            good_pass.into(),
            file0.replace("m=65536,", "m=065536,"),
            "malformed",
        ),
        (
            "memory of 2^32 KiB (not a 32-bit number)",
            good_pass.into(),
            file0.replace("m=65536,", "m=4294967296,"),
            "malformed",
        ),
        (
            "parameters in another order",
            good_pass.into(),
            file0.replace("m=65536,t=3,p=1", "t=3,m=65536,p=1"),
            "malformed",
        ),
        (
            "space inside the parameters",
            good_pass.into(),
            file0.replace("m=65536,t=3", "m=65536, t=3"),
            "malformed",
        ),
        (
            "non-canonical base64url in the salt",
            good_pass.into(),
            file0.replace(salt0, &last_char_bits(salt0)),
            "malformed",
        ),
        (
            "non-canonical base64url in the payload",
            good_pass.into(),
            with_line(&format!("{header0}:{}", last_char_bits(payload0))),
            "malformed",
        ),
        (
            "base64 padding in the payload",
            good_pass.into(),
            with_line(&format!("{line0}=")),
            "malformed",
        ),
        (
            "line cut inside the salt",
            good_pass.into(),
            with_line(&header0[..header0.len() - 5]),
            "malformed",
        ),
        (
            "payload of 40 bytes (no ciphertext)",
            good_pass.into(),
            with_payload(&[&payload[..24], &payload[payload.len() - 16..]].concat()),
            "malformed",
        ),
        (
            "an extra field",
            good_pass.into(),
            with_line(&format!("{line0}:AAAA")),
            "malformed",
        ),
        (
            "another key derivation function",
            good_pass.into(),
            file0.replace(":argon2id:", ":scrypt:"),
            "malformed",
        ),
        (
            "upper-case version",
            good_pass.into(),
            file0.replace(":v1:", ":V1:"),
            "malformed",
        ),
        (
            "two data lines",
            good_pass.into(),
            format!("{file0}{line0}\n"),
            "malformed",
        ),
        (
            "later version",
            good_pass.into(),
            file0.replace(":v1:", ":v2:"),
            "unsupported-version",
        ),
        (
            "plain identity file",
            good_pass.into(),
            v0.identity.clone(),
            "not-protected",
        ),
        (
            "data line commented out",
            good_pass.into(),
            with_line(&format!("# {line0}")),
            "not-protected",
        ),
        (
            "empty file",
            good_pass.into(),
            String::new(),
            "not-protected",
        ),
        (
            "empty passphrase",
            String::new(),
            file0.clone(),
            "empty-passphrase",
        ),
        (
            "plaintext not UTF-8",
            good_pass.into(),
            not_utf8,
            "not-utf8",
        ),
    ];
    let mut bad = toml_edit::ArrayOfTables::new();
    for (name, passphrase, file, error) in invalid {
        let mut t = Table::new();
        t["name"] = value(name);
        t["passphrase"] = value(passphrase);
        t["file"] = value(file);
        t["error"] = value(error);
        bad.push(t);
    }
    doc["invalid"] = Item::ArrayOfTables(bad);
    fs::create_dir_all(vectors_path().parent().unwrap()).unwrap();
    fs::write(vectors_path(), doc.to_string()).unwrap();
}

// ---------------------------------------------------------------------------
// Checking the vectors
// ---------------------------------------------------------------------------

fn load() -> DocumentMut {
    fs::read_to_string(vectors_path())
        .expect("testdata/vectors/protected_identity.toml")
        .parse()
        .expect("vectors parse")
}

fn s<'a>(t: &'a Table, k: &str) -> &'a str {
    t[k].as_str().unwrap_or_else(|| panic!("vector field {k}"))
}

fn params_of(t: &Table) -> (u32, u32, u32) {
    let n = |k: &str| u32::try_from(t[k].as_integer().unwrap()).unwrap();
    (n("memory_kib"), n("passes"), n("lanes"))
}

fn class(e: &ProtectError) -> &'static str {
    match e {
        ProtectError::NotProtected => "not-protected",
        ProtectError::Malformed { .. } => "malformed",
        ProtectError::UnsupportedVersion => "unsupported-version",
        ProtectError::OutOfBounds { .. } => "out-of-bounds",
        ProtectError::WrongPassphraseOrDamaged => "authentication",
        ProtectError::NotUtf8 => "not-utf8",
        ProtectError::EmptyPassphrase => "empty-passphrase",
        other => panic!("not an opening error: {other:?}"),
    }
}

#[test]
fn every_valid_vector_opens_and_is_reproduced() {
    let doc = load();
    let valid = doc["valid"].as_array_of_tables().unwrap();
    assert!(valid.len() >= 3);
    for v in valid.iter() {
        let name = s(v, "name");
        let (m, t, p) = params_of(v);
        let file = s(v, "file");
        assert!(is_protected(file), "{name}");
        // Through the library, both ways.
        let opened = unprotect(file, s(v, "passphrase")).unwrap();
        assert_eq!(opened.as_str(), s(v, "identity"), "{name}");
        let again = protect_with(
            s(v, "identity"),
            s(v, "passphrase"),
            KdfParams {
                memory_kib: m,
                passes: t,
                lanes: p,
            },
            unhex(s(v, "salt")).try_into().unwrap(),
            unhex(s(v, "nonce")).try_into().unwrap(),
        )
        .unwrap();
        assert_eq!(again, file, "{name}");
        // From the primitives, following the spec.
        let key = reference_key(
            s(v, "passphrase").as_bytes(),
            &unhex(s(v, "salt")),
            (m, t, p),
        );
        assert_eq!(hex(&key), s(v, "key"), "{name}");
        let (header, line) = reference_line(
            &key,
            (m, t, p),
            &unhex(s(v, "salt")),
            &unhex(s(v, "nonce")).try_into().unwrap(),
            s(v, "identity").as_bytes(),
        );
        assert_eq!(header, s(v, "header"), "{name}");
        assert_eq!(reference_file(s(v, "identity"), &line), file, "{name}");
        // The protected file names the recipients, and they are the identity's.
        let ids = Identities::parse(&opened).unwrap();
        for k in ids.iter() {
            assert!(file.contains(&format!("# public key: {}\n", k.public_key())));
        }
    }
}

#[test]
fn every_accepted_file_opens() {
    let doc = load();
    let accepted = doc["accepted"].as_array_of_tables().unwrap();
    assert!(accepted.len() >= 2);
    for v in accepted.iter() {
        let opened = unprotect(s(v, "file"), s(v, "passphrase"))
            .unwrap_or_else(|e| panic!("{}: {e}", s(v, "name")));
        assert_eq!(opened.as_str(), s(v, "identity"), "{}", s(v, "name"));
        assert!(is_protected(s(v, "file")));
    }
}

#[test]
fn every_invalid_vector_fails_with_its_documented_error() {
    let doc = load();
    let invalid = doc["invalid"].as_array_of_tables().unwrap();
    assert!(invalid.len() >= 30);
    for v in invalid.iter() {
        let got = match unprotect(s(v, "file"), s(v, "passphrase")) {
            Ok(_) => "opened",
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.contains('\n'), "{msg}");
                if !s(v, "passphrase").is_empty() {
                    assert!(!msg.contains(s(v, "passphrase")), "{msg}");
                }
                class(&e)
            }
        };
        assert_eq!(got, s(v, "error"), "{}", s(v, "name"));
    }
}

#[test]
fn the_spec_quotes_the_first_vector() {
    let doc = load();
    let v = &doc["valid"].as_array_of_tables().unwrap().get(0).unwrap();
    let spec =
        fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec/identity.md"))
            .unwrap();
    let flat: String = spec.split_whitespace().collect();
    for part in [s(v, "header"), s(v, "key"), s(v, "salt"), s(v, "nonce")] {
        assert!(
            flat.contains(part),
            "spec/identity.md does not quote {part}"
        );
    }
    let line = s(v, "file").lines().last().unwrap();
    assert!(
        flat.contains(line),
        "spec/identity.md does not quote the data line"
    );
}

// ---------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------

fn test_identity() -> String {
    id_text(0x42, "2026-11-29T03:40:36Z")
}

#[test]
fn round_trip_with_fresh_randomness() {
    let id = test_identity();
    let mut rng = rand_core::OsRng;
    let a = protect(&id, "hunter2 hunter2", KdfParams::MINIMUM, &mut rng).unwrap();
    assert!(is_protected(&a));
    assert!(!a.contains("AGE-SECRET-KEY"));
    assert!(a.starts_with(protected_identity::COMMENT_LINE));
    assert!(a.contains(
        "# public key: age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj\n"
    ));
    assert!(a.contains("\ncachet-identity:v1:argon2id:m=65536,t=3,p=1:"));
    assert_eq!(unprotect(&a, "hunter2 hunter2").unwrap().as_str(), id);
    assert_eq!(
        unprotect(&a, "hunter2 hunter3"),
        Err(ProtectError::WrongPassphraseOrDamaged)
    );
    // The salt and nonce are fresh each time (no Argon2 needed to see it).
    let data = |f: &str| f.lines().last().unwrap().to_string();
    let mut fixed = FixedBytes(0);
    let b = protect(&id, "x", KdfParams::MINIMUM, &mut fixed).unwrap();
    let line_b = data(&b);
    let fields: Vec<&str> = line_b.rsplitn(3, ':').collect();
    assert_eq!(
        unb64(fields[1]),
        (0u8..16).collect::<Vec<_>>(),
        "salt first"
    );
    assert_eq!(
        unb64(fields[0])[..24],
        (16u8..40).collect::<Vec<_>>(),
        "then the nonce"
    );
    assert_ne!(data(&a), data(&b));
}

/// An RNG handing out 0, 1, 2, …
struct FixedBytes(u8);
impl rand_core::RngCore for FixedBytes {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
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
impl rand_core::CryptoRng for FixedBytes {}

#[test]
fn tampering_with_any_part_of_the_data_line_is_detected() {
    let doc = load();
    let v = doc["valid"]
        .as_array_of_tables()
        .unwrap()
        .get(0)
        .unwrap()
        .clone();
    let pass = s(&v, "passphrase");
    let file = s(&v, "file");
    let line = file.lines().last().unwrap();
    let (header, payload) = line.rsplit_once(':').unwrap();
    let payload = unb64(payload);
    let with = |l: &str| file.replace(line, l);
    // Each class of byte once: costly ones (reaching Argon2) in-bounds.
    let syntax: Vec<String> = vec![
        line.replacen("cachet-identity", "cachet-identitx", 1),
        line.replacen("cachet-identity:", "cachet-identity;", 1),
        line.replacen(":v1:", ":w1:", 1),
        line.replacen(":argon2id:", ":argon2i:", 1),
        line.replacen("m=", "M=", 1),
        line.replacen(",t=", ",T=", 1),
        line.replacen(",p=", ";p=", 1),
        line.replacen(":m=", "::m=", 1),
    ];
    for l in &syntax {
        let e = unprotect(&with(l), pass).unwrap_err();
        assert!(
            matches!(
                e,
                ProtectError::Malformed { .. }
                    | ProtectError::NotProtected
                    | ProtectError::UnsupportedVersion
            ),
            "{l}: {e:?}"
        );
    }
    let mut costly: Vec<String> = vec![line.replacen(",p=1:", ",p=2:", 1)];
    {
        let salt = header.rsplit_once(':').unwrap().1;
        let mut b = unb64(salt);
        b[15] ^= 1;
        costly.push(line.replacen(salt, &b64(&b), 1));
    }
    for at in [
        0,
        23,
        24,
        payload.len() - 17,
        payload.len() - 16,
        payload.len() - 1,
    ] {
        let mut p = payload.clone();
        p[at] ^= 0x80;
        costly.push(format!("{header}:{}", b64(&p)));
    }
    for l in &costly {
        assert_eq!(
            unprotect(&with(l), pass),
            Err(ProtectError::WrongPassphraseOrDamaged),
            "{l}"
        );
    }
    // Comments are not protected: changing them changes nothing.
    let edited = file.replace("# cachet protected identity", "# edited");
    assert_eq!(
        unprotect(&edited, pass).unwrap().as_str(),
        s(&v, "identity")
    );
}

#[test]
fn hostile_parameters_are_refused_before_any_argon2_work() {
    let doc = load();
    let v = doc["valid"]
        .as_array_of_tables()
        .unwrap()
        .get(0)
        .unwrap()
        .clone();
    let file = s(&v, "file");
    for (from, to, which) in [
        ("m=65536,", "m=4294967295,", KdfParameter::Memory),
        // Just above the bound: running it would allocate 2 GiB and take seconds.
        ("m=65536,", "m=2097153,", KdfParameter::Memory),
        (",t=3,", ",t=4294967295,", KdfParameter::Passes),
        (",p=1:", ",p=4294967295:", KdfParameter::Lanes),
    ] {
        let hostile = file.replace(from, to);
        let start = Instant::now();
        let e = unprotect(&hostile, s(&v, "passphrase")).unwrap_err();
        let took = start.elapsed();
        match e {
            ProtectError::OutOfBounds { parameter, .. } => assert_eq!(parameter, which, "{to}"),
            other => panic!("{to}: {other:?}"),
        }
        assert!(took < Duration::from_millis(500), "{to} took {took:?}");
    }
    let e = unprotect(&file.replace("m=65536,", "m=4294967295,"), "x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Argon2id memory m=4294967295 KiB is outside the accepted range 65536 to 2097152 KiB; choose parameters within it, or restore a damaged file from a backup"
    );
}

#[test]
fn protecting_refuses_what_it_cannot_open() {
    let id = test_identity();
    let mut rng = rand_core::OsRng;
    assert_eq!(
        protect(&id, "", KdfParams::MINIMUM, &mut rng),
        Err(ProtectError::EmptyPassphrase)
    );
    for bad in [
        KdfParams {
            memory_kib: 65_535,
            ..KdfParams::MINIMUM
        },
        KdfParams {
            memory_kib: 2_097_153,
            ..KdfParams::MINIMUM
        },
        KdfParams {
            passes: 2,
            ..KdfParams::MINIMUM
        },
        KdfParams {
            lanes: 17,
            ..KdfParams::MINIMUM
        },
    ] {
        assert!(
            matches!(
                protect(&id, "pw", bad, &mut rng),
                Err(ProtectError::OutOfBounds { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(KdfParams::default(), KdfParams::DEFAULT);
    assert_eq!(KdfParams::DEFAULT.to_string(), "m=262144,t=3,p=1");
    assert!(KdfParams::DEFAULT.check().is_ok());
}
