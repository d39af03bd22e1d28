//! Known-answer vectors of attestations (`testdata/vectors/attest-v1.toml`,
//! `spec/attest.md` section 8): every valid vector is reproduced byte for byte by
//! the library and by a second construction straight from the primitives
//! (HKDF-SHA256, SHA-256, Ed25519) written from the spec, and verifies; every
//! invalid vector fails with its documented outcome.
//!
//! `CACHET_WRITE_VECTORS=1 cargo test --test it -- --ignored attest_vectors` rewrites
//! the file (only when the attestation format version changes).

use std::fs;
use std::path::{Path, PathBuf};

use cachet::document::attestation::{self, AttestError, AttestKey, AttestPublicKey, Attestation};
use cachet::{Format, Identities, OpenError, SealedAt, SecretKey};
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Table, value};

const IDENTITY: &str = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/vectors/attest-v1.toml")
}

fn key() -> SecretKey {
    IDENTITY.parse().unwrap()
}

fn format_named(name: &str) -> Format {
    *Format::all()
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("format {name}"))
}

/// The attestation key and signature built from the primitives, as
/// spec/attest.md sections 2 and 3.2 say, without the library's code.
fn reference_signature(
    body: &str,
    file: &str,
    approver: &str,
    at: &str,
) -> ([u8; 32], [u8; 64], String) {
    let secret: [u8; 32] = key_bytes();
    let recipient = key().public_key();
    let mut seed = [0u8; 32];
    Hkdf::<Sha256>::new(Some(recipient.as_bytes()), &secret)
        .expand(b"cachet/v1/attest-key", &mut seed)
        .unwrap();
    let signing = SigningKey::from_bytes(&seed);
    let key_id =
        &Sha256::digest([b"cachet/v1/key-id".as_slice(), recipient.as_bytes()].concat())[..12];
    let mut m = b"cachet/v1/attest\0".to_vec();
    m.extend_from_slice(key_id);
    m.extend_from_slice(at.as_bytes());
    for name in [file, approver] {
        m.extend_from_slice(&(name.len() as u16).to_be_bytes());
        m.extend_from_slice(name.as_bytes());
    }
    m.extend_from_slice(&Sha256::digest(body.as_bytes()));
    let signature = signing.sign(&m).to_bytes();
    let mut payload = signature.to_vec();
    payload.extend_from_slice(file.as_bytes());
    payload.push(0);
    payload.extend_from_slice(approver.as_bytes());
    use base64::Engine;
    let text = format!(
        "cachet:attest:v1:{}:{at}:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key_id),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload)
    );
    (signing.verifying_key().to_bytes(), signature, text)
}

/// The test key's raw scalar: 32 bytes of 0x42 (spec/format.md 12).
fn key_bytes() -> [u8; 32] {
    [0x42; 32]
}

/// (name, format, file, approver, attested_at, body)
const VALID: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "toml, LF",
        "toml",
        "config/prod/app.toml",
        "ada",
        "20261207T120000Z",
        "[db]\nhost = \"db.internal\"\npassword = \"cachet:v1:QODhG9SeyrpMO5PS:20261129T120000Z:I5Qbl-hOXynotu1xihNJB5nfzXiIbM6TW_rezv3nHFsDChEYHyYtNDtCSVBXXmVsc3qBiI-WnaS-2vZy_EZaQEb82Wxk-RhbO-lDQp6qToZRm068JaxA_1ekWaca8laDA2n4SVK0X1M\"\n",
    ),
    (
        "yaml, CRLF, non-ASCII approver",
        "yaml",
        "deploy/prod.yaml",
        "Zoë Example",
        "19700101T000000Z",
        "db:\r\n  host: db.internal\r\n",
    ),
    (
        ".env without a final line break, no approver",
        "env",
        "app.env",
        "",
        "99991231T235959Z",
        "HOST=db.internal\nPORT=5432",
    ),
    (
        "jsonc",
        "jsonc",
        "settings.jsonc",
        "ci",
        "20261207T120001Z",
        "{\n  // the database\n  \"host\": \"db.internal\",\n}\n",
    ),
    (
        "strict JSON, in a sidecar",
        "json",
        "config/app.json",
        "ada",
        "20261207T120002Z",
        "{\"host\": \"db.internal\"}\n",
    ),
    (
        "an empty file",
        "toml",
        "empty.toml",
        "ada",
        "20261207T120003Z",
        "",
    ),
];

#[test]
#[ignore = "writes testdata/vectors/attest-v1.toml; run with CACHET_WRITE_VECTORS=1 when the format version changes"]
fn write_attest_vectors() {
    if std::env::var_os("CACHET_WRITE_VECTORS").is_none() {
        return;
    }
    let mut doc = DocumentMut::new();
    doc["identity"] = value(IDENTITY);
    doc["recipient"] = value(key().public_key().to_string());
    doc["attest_key"] = value(AttestPublicKey::of(&key()).to_string());
    let mut valid = toml_edit::ArrayOfTables::new();
    let k = AttestKey::derive(&key());
    for (name, format, file, approver, at, body) in VALID {
        let format_ = format_named(format);
        let (text, made) = attestation::attest(
            format_,
            body,
            (file, approver),
            &k,
            SealedAt::parse(at).unwrap(),
        )
        .unwrap();
        let mut t = Table::new();
        t["name"] = value(*name);
        t["format"] = value(*format);
        t["file"] = value(*file);
        t["approver"] = value(*approver);
        t["attested_at"] = value(*at);
        t["body"] = value(*body);
        t["text"] = value(text.as_str());
        t["attestation"] = value(made.to_string());
        valid.push(t);
    }
    doc["valid"] = Item::ArrayOfTables(valid);
    let mut invalid = toml_edit::ArrayOfTables::new();
    for (name, format, path, text, error) in invalid_cases() {
        let mut t = Table::new();
        t["name"] = value(name);
        t["format"] = value(format);
        t["path"] = value(path);
        t["text"] = value(text);
        t["error"] = value(error);
        invalid.push(t);
    }
    doc["invalid"] = Item::ArrayOfTables(invalid);
    let header = "# cachet attestation v1 known-answer vectors (spec/attest.md, section 8).\n# The identity below is a published test key: never use it for anything real.\n\n";
    fs::write(path(), format!("{header}{doc}")).unwrap();
}

/// (name, format, path, text, error), built from the first valid vector.
fn invalid_cases() -> Vec<(String, String, String, String, String)> {
    let k = AttestKey::derive(&key());
    let (_, _, file, approver, at, body) = VALID[0];
    let at = SealedAt::parse(at).unwrap();
    let (text, made) = attestation::attest(Format::Toml, body, (file, approver), &k, at).unwrap();
    let line = format!("# {made}\n");
    let other_key = AttestKey::derive(&SecretKey::from_bytes([7; 32]));
    let (_, foreign) =
        attestation::attest(Format::Toml, body, (file, approver), &other_key, at).unwrap();
    // Another key's signature claimed for this key's id.
    let forged =
        foreign
            .to_string()
            .replacen(&foreign.key_id.to_string(), &made.key_id.to_string(), 1);
    let case = |name: &str, path: &str, text: String, error: &str| {
        (
            name.to_string(),
            "toml".to_string(),
            path.to_string(),
            text,
            error.to_string(),
        )
    };
    vec![
        case("no attestation", file, body.to_string(), "unattested"),
        case(
            "a plain value changed",
            file,
            text.replace("db.internal", "attacker.example"),
            "signature",
        ),
        case(
            "a space added at the end of a line",
            file,
            text.replacen("[db]\n", "[db] \n", 1),
            "signature",
        ),
        case(
            "a comment added",
            file,
            text.replacen("[db]\n", "# note\n[db]\n", 1),
            "signature",
        ),
        case(
            "the attested time changed",
            file,
            text.replace(":20261207T120000Z:", ":20261207T120001Z:"),
            "signature",
        ),
        case(
            "another key's signature under this key id",
            file,
            format!("{body}# {forged}\n"),
            "signature",
        ),
        case(
            "signed with a key no identity holds",
            file,
            format!("{body}# {foreign}\n"),
            "unverifiable",
        ),
        case(
            "copied over another file",
            "config/prod/worker.toml",
            text.to_string(),
            "other-file",
        ),
        case(
            "moved to another directory",
            "config/staging/app.toml",
            text.to_string(),
            "other-file",
        ),
        case(
            "no space after the comment mark",
            file,
            format!("{body}#{made}\n"),
            "malformed",
        ),
        case(
            "another version",
            file,
            format!("{body}{}", line.replace("attest:v1:", "attest:v2:")),
            "malformed",
        ),
        case(
            "payload not base64url",
            file,
            format!("{body}{}", line.replace('\n', "=\n")),
            "malformed",
        ),
        case(
            "a line added after the attestation",
            file,
            format!("{}extra = 1\n", text.as_str()),
            "unattested",
        ),
    ]
}

fn load() -> DocumentMut {
    fs::read_to_string(path())
        .expect("testdata/vectors/attest-v1.toml")
        .parse()
        .unwrap()
}

fn s<'a>(t: &'a Table, k: &str) -> &'a str {
    t[k].as_str().unwrap_or_else(|| panic!("field {k}"))
}

fn verify(format: Format, path: &str, text: &str) -> Result<Attestation, cachet::Error> {
    let mut ids = Identities::new();
    ids.push(key());
    let (text, sidecar) = match format {
        Format::Json => {
            let (file, line) = text.split_once("\n---sidecar---\n").unwrap();
            (file, Some(line))
        }
        _ => (text, None),
    };
    attestation::verify_file(format, Path::new(path), text, sidecar, &ids)
}

#[test]
fn every_valid_attestation_vector_is_reproduced_and_verifies() {
    let doc = load();
    assert_eq!(
        doc["attest_key"].as_str(),
        Some(AttestPublicKey::of(&key()).to_string().as_str())
    );
    let k = AttestKey::derive(&key());
    let valid = doc["valid"].as_array_of_tables().unwrap();
    assert_eq!(valid.len(), VALID.len());
    for t in valid {
        let name = s(t, "name");
        let format = format_named(s(t, "format"));
        let (file, approver, at, body) = (
            s(t, "file"),
            s(t, "approver"),
            s(t, "attested_at"),
            s(t, "body"),
        );
        let (text, made) = attestation::attest(
            format,
            body,
            (file, approver),
            &k,
            SealedAt::parse(at).unwrap(),
        )
        .unwrap();
        assert_eq!(text.as_str(), s(t, "text"), "{name}");
        assert_eq!(made.to_string(), s(t, "attestation"), "{name}");
        // The body signed: the one given, with a line break added when missing.
        let signed = match format {
            Format::Json => body.to_string(),
            _ if body.is_empty() || body.ends_with('\n') => body.to_string(),
            _ => format!("{body}\n"),
        };
        let (public, _, reference) = reference_signature(&signed, file, approver, at);
        assert_eq!(reference, s(t, "attestation"), "{name}: reference");
        assert_eq!(
            AttestPublicKey::of(&key()).to_string(),
            format!(
                "ed25519:{}",
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, public)
            )
        );
        let whole = match format {
            Format::Json => format!("{}\n---sidecar---\n{}", text.as_str(), s(t, "attestation")),
            _ => text.to_string(),
        };
        let got = verify(format, &format!("/srv/app/{file}"), &whole)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, made, "{name}");
    }
}

#[test]
fn every_invalid_attestation_vector_fails_with_its_outcome() {
    let doc = load();
    let invalid = doc["invalid"].as_array_of_tables().unwrap();
    assert!(invalid.len() >= 10);
    for t in invalid {
        let name = s(t, "name");
        let got = verify(format_named(s(t, "format")), s(t, "path"), s(t, "text"));
        let class = match got {
            Ok(_) => "valid",
            Err(cachet::Error::Attestation(AttestError::Missing)) => "unattested",
            Err(cachet::Error::Attestation(AttestError::Malformed(_))) => "malformed",
            Err(cachet::Error::Attestation(AttestError::Signature)) => "signature",
            Err(cachet::Error::Attestation(AttestError::OtherFile(_))) => "other-file",
            Err(cachet::Error::Open {
                reason: OpenError::NoIdentity(_),
                ..
            }) => "unverifiable",
            Err(e) => panic!("{name}: unexpected {e}"),
        };
        assert_eq!(class, s(t, "error"), "{name}");
    }
}

/// The tamper matrix: every byte of an attested file changed, one at a time (the
/// body's plain values, comments, whitespace, and the attestation line itself),
/// and every line break dropped or doubled, fails to verify; so does each
/// vector's attestation under another file's name.
#[test]
fn no_changed_byte_of_an_attested_file_verifies() {
    let k = AttestKey::derive(&key());
    let body = "# service\n[db]\nhost = \"db.internal\"  # plain\nport = 5432\n\n[web]\nurl = 'https://example.com'\n";
    let file = "config/prod/app.toml";
    let (text, _) = attestation::attest(
        Format::Toml,
        body,
        (file, "ada"),
        &k,
        SealedAt::parse("20261207T120000Z").unwrap(),
    )
    .unwrap();
    let at = format!("/srv/{file}");
    assert!(verify(Format::Toml, &at, &text).is_ok());
    let bytes = text.as_bytes();
    // The final line break is optional (spec/attest.md 4.1).
    for i in 0..bytes.len() - 1 {
        for replacement in [b' ', b'x', b'\n', b'0'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let Ok(changed) = String::from_utf8(changed) else {
                continue;
            };
            assert!(
                verify(Format::Toml, &at, &changed).is_err(),
                "byte {i} set to {:?} still verifies",
                replacement as char
            );
        }
        let mut dropped = bytes.to_vec();
        dropped.remove(i);
        if let Ok(dropped) = String::from_utf8(dropped) {
            assert!(
                verify(Format::Toml, &at, &dropped).is_err(),
                "byte {i} dropped"
            );
        }
        let mut doubled = bytes.to_vec();
        doubled.insert(i, bytes[i]);
        if let Ok(doubled) = String::from_utf8(doubled) {
            assert!(
                verify(Format::Toml, &at, &doubled).is_err(),
                "byte {i} doubled"
            );
        }
    }
    for other in [
        "/srv/config/prod/worker.toml",
        "/srv/config/app.toml",
        "app.toml",
    ] {
        assert!(matches!(
            verify(Format::Toml, other, &text),
            Err(cachet::Error::Attestation(AttestError::OtherFile(_)))
        ));
    }
}
