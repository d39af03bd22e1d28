//! Known-answer vectors (`testdata/vectors/v1.toml`), checked in both directions:
//! every vector opens to its plaintext, and sealing with the vector's ephemeral
//! secret and nonce reproduces its token byte for byte. A second, independent
//! construction of the token straight from the primitives (X25519, HKDF-SHA256,
//! XChaCha20-Poly1305), written from `spec/format.md`, must agree too.
//!
//! `CACHET_WRITE_VECTORS=1 cargo test --test vectors -- --ignored` rewrites the file
//! (only when the format version changes).

use std::fs;
use std::path::PathBuf;

use cachet::{Format, Identities, OpenError, Place, SealedAt, Sealer, SecretKey, Token, ValuePath};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Table, value};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/vectors/v1.toml")
}

/// An RNG that hands out fixed bytes: the ephemeral secret, then the nonces.
struct FixedRng {
    bytes: Vec<u8>,
    at: usize,
}

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let end = self.at + dest.len();
        assert!(
            end <= self.bytes.len(),
            "the vector ran out of fixed random bytes"
        );
        dest.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedRng {}

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

fn arr<const N: usize>(v: &[u8]) -> [u8; N] {
    v.try_into().expect("length")
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The associated data, built here from the spec's description (not from the crate).
fn reference_aad(
    key_id: &[u8],
    sealed_at: &str,
    format: &str,
    document: u32,
    path: &ValuePath,
) -> Vec<u8> {
    fn lp(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    }
    let mut a = Vec::new();
    lp(&mut a, b"cachet");
    lp(&mut a, b"v1");
    lp(&mut a, key_id);
    lp(&mut a, sealed_at.as_bytes());
    lp(&mut a, format.as_bytes());
    a.extend_from_slice(&document.to_be_bytes());
    a.extend_from_slice(&(path.segments().len() as u32).to_be_bytes());
    for s in path.segments() {
        match s {
            cachet::Segment::Key(k) => {
                a.push(b'k');
                lp(&mut a, k.as_bytes());
            }
            cachet::Segment::Index(i) => {
                a.push(b'i');
                a.extend_from_slice(&(*i as u64).to_be_bytes());
            }
        }
    }
    a
}

/// Builds a token from the primitives, following the spec step by step. `plain`
/// is the padded plaintext (so tests can also build wrongly padded ones).
fn reference_token(
    recipient: &[u8; 32],
    eph_secret: &[u8; 32],
    nonce: &[u8; 24],
    sealed_at: &str,
    (format, document, path): (&str, u32, &ValuePath),
    plain: &[u8],
) -> (String, Vec<u8>) {
    let eph = x25519_dalek::StaticSecret::from(*eph_secret);
    let eph_pub = x25519_dalek::PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
    let mut salt = eph_pub.to_vec();
    salt.extend_from_slice(recipient);
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(b"cachet/v1/value", &mut key)
        .unwrap();
    let mut h = Sha256::new();
    h.update(b"cachet/v1/key-id");
    h.update(recipient);
    let key_id = &h.finalize()[..12];
    let aad = reference_aad(key_id, sealed_at, format, document, path);
    let ct = XChaCha20Poly1305::new(&key.into())
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .unwrap();
    let mut payload = eph_pub.to_vec();
    payload.extend_from_slice(nonce);
    payload.extend_from_slice(&ct);
    (
        format!("cachet:v1:{}:{sealed_at}:{}", b64(key_id), b64(&payload)),
        aad,
    )
}

fn reference_pad(raw: &[u8]) -> Vec<u8> {
    let mut p = (raw.len() as u32).to_be_bytes().to_vec();
    p.extend_from_slice(raw);
    while !p.len().is_multiple_of(32) {
        p.push(0);
    }
    p
}

struct Case {
    name: &'static str,
    format: &'static str,
    document: u32,
    path: &'static str,
    raw: &'static str,
    sealed_at: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "basic string",
        format: "toml",
        document: 0,
        path: "database.password",
        raw: "\"hunter2\"",
        sealed_at: "20261129T120000Z",
    },
    Case {
        name: "literal string in an array of tables",
        format: "toml",
        document: 0,
        path: "servers[1].token",
        raw: "'tok-\\not-an-escape'",
        sealed_at: "20261129T120001Z",
    },
    Case {
        name: "integer",
        format: "toml",
        document: 0,
        path: "database.port",
        raw: "5432",
        sealed_at: "19700101T000000Z",
    },
    Case {
        name: "multi-line string under a quoted key",
        format: "toml",
        document: 0,
        path: "\"odd.key\".secret",
        raw: "\"\"\"\nline one\nline two\"\"\"",
        sealed_at: "20240229T235959Z",
    },
    Case {
        name: "empty string",
        format: "toml",
        document: 0,
        path: "api_key",
        raw: "\"\"",
        sealed_at: "99991231T235959Z",
    },
    Case {
        name: "28 bytes: one block exactly",
        format: "toml",
        document: 0,
        path: "a",
        raw: "\"abcdefghijklmnopqrstuvwxyz\"",
        sealed_at: "20261129T120002Z",
    },
    Case {
        name: "29 bytes: two blocks",
        format: "toml",
        document: 0,
        path: "a",
        raw: "\"abcdefghijklmnopqrstuvwxyz1\"",
        sealed_at: "20261129T120003Z",
    },
    Case {
        name: "unicode key and value",
        format: "toml",
        document: 0,
        path: "\"clé\".mot_de_passe",
        raw: "\"pâté 🔑\"",
        sealed_at: "20261129T120004Z",
    },
    Case {
        name: "array element",
        format: "toml",
        document: 0,
        path: "tokens[0][2]",
        raw: "1979-05-27T07:32:00Z",
        sealed_at: "20261129T120005Z",
    },
    Case {
        name: "JSON string in a top-level array",
        format: "json",
        document: 0,
        path: "[0].password",
        raw: "\"hunter2\"",
        sealed_at: "20261129T120006Z",
    },
    Case {
        name: "JSON number kept as written",
        format: "json",
        document: 0,
        path: "limits.max",
        raw: "12345678901234567890123",
        sealed_at: "20261129T120007Z",
    },
    Case {
        name: "JSON-with-comments string with a surrogate-pair escape",
        format: "jsonc",
        document: 0,
        path: "a",
        raw: "\"\\ud83d\\udd11\"",
        sealed_at: "20261129T120008Z",
    },
    Case {
        name: "dotenv unquoted value",
        format: "env",
        document: 0,
        path: "DB_PASSWORD",
        raw: "hunter2",
        sealed_at: "20261129T120009Z",
    },
    Case {
        name: "dotenv multi-line double-quoted value",
        format: "env",
        document: 0,
        path: "TLS_PRIVATE_KEY",
        raw: "\"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\"",
        sealed_at: "20261129T120010Z",
    },
    Case {
        name: "dotenv empty value",
        format: "env",
        document: 0,
        path: "EMPTY",
        raw: "",
        sealed_at: "20261129T120011Z",
    },
    Case {
        name: "YAML literal block scalar in the second document",
        format: "yaml",
        document: 1,
        path: "data.tls_key",
        raw: "|\n    line one\n    line two",
        sealed_at: "20261129T120012Z",
    },
    Case {
        name: "YAML plain scalar in a sequence",
        format: "yaml",
        document: 0,
        path: "users[2].password",
        raw: "p@ss:word",
        sealed_at: "20261129T120013Z",
    },
];

const IDENTITY_SEED: [u8; 32] = [0x42; 32];

fn eph_for(i: usize) -> [u8; 32] {
    let mut e = [0u8; 32];
    for (j, b) in e.iter_mut().enumerate() {
        *b = (i * 37 + j * 11 + 1) as u8;
    }
    e
}

fn nonce_for(i: usize) -> [u8; 24] {
    let mut n = [0u8; 24];
    for (j, b) in n.iter_mut().enumerate() {
        *b = (i * 101 + j * 7 + 3) as u8;
    }
    n
}

#[test]
#[ignore = "writes testdata/vectors/v1.toml; run with CACHET_WRITE_VECTORS=1 when the format version changes"]
fn write_vectors() {
    if std::env::var_os("CACHET_WRITE_VECTORS").is_none() {
        return;
    }
    let key = SecretKey::from_bytes(IDENTITY_SEED);
    let recipient = *key.public_key().as_bytes();
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(
        "# cachet format v1 known-answer vectors (spec/format.md, \"Known-answer vectors\").\n\
         # The identity below is a published test key: never use it for anything real.\n\
         # Byte strings are lower-case hex; `raw` is the value's exact text in the file.\n\n",
    );
    doc["identity"] = value(key.to_age_string().as_str());
    doc["recipient"] = value(key.public_key().to_string());
    doc["key_id"] = value(key.public_key().key_id().to_string());
    let mut good = toml_edit::ArrayOfTables::new();
    for (i, c) in CASES.iter().enumerate() {
        let path: ValuePath = c.path.parse().unwrap();
        let (token, aad) = reference_token(
            &recipient,
            &eph_for(i),
            &nonce_for(i),
            c.sealed_at,
            (c.format, c.document, &path),
            &reference_pad(c.raw.as_bytes()),
        );
        let mut t = Table::new();
        t["name"] = value(c.name);
        t["format"] = value(c.format);
        t["document"] = value(i64::from(c.document));
        t["path"] = value(c.path);
        t["sealed_at"] = value(c.sealed_at);
        t["ephemeral_secret"] = value(hex(&eph_for(i)));
        t["nonce"] = value(hex(&nonce_for(i)));
        t["raw"] = value(c.raw);
        t["aad"] = value(hex(&aad));
        t["token"] = value(token);
        good.push(t);
    }
    doc["valid"] = Item::ArrayOfTables(good);

    // Invalid tokens, each with the error an opener must report.
    let base_path: ValuePath = "database.password".parse().unwrap();
    let (base, _) = reference_token(
        &recipient,
        &eph_for(0),
        &nonce_for(0),
        "20261129T120000Z",
        ("toml", 0, &base_path),
        &reference_pad(b"\"hunter2\""),
    );
    let mut flipped = base.clone().into_bytes();
    let last = flipped.len() - 5;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let (bad_pad, _) = reference_token(
        &recipient,
        &eph_for(9),
        &nonce_for(9),
        "20261129T120000Z",
        ("toml", 0, &base_path),
        &{
            let mut p = reference_pad(b"\"x\"");
            p[31] = 1;
            p
        },
    );
    let (extra_block, _) = reference_token(
        &recipient,
        &eph_for(10),
        &nonce_for(10),
        "20261129T120000Z",
        ("toml", 0, &base_path),
        &{
            let mut p = reference_pad(b"\"x\"");
            p.extend_from_slice(&[0; 32]);
            p
        },
    );
    let parts: Vec<&str> = base.split(':').collect();
    let low_order = format!(
        "cachet:v1:{}:{}:{}",
        parts[2],
        parts[3],
        b64(&[vec![0u8; 32], nonce_for(0).to_vec(), vec![0u8; 48]].concat())
    );
    let mut payload = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[4])
            .unwrap()
    };
    let noncanonical = {
        // Same bytes, but the last character carries non-zero unused bits.
        let mut s = b64(&payload);
        let c = s.pop().unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = alphabet.iter().position(|&a| a as char == c).unwrap();
        s.push(alphabet[idx | 1] as char);
        format!("cachet:v1:{}:{}:{s}", parts[2], parts[3])
    };
    payload.truncate(payload.len() - 1);
    let truncated = format!("cachet:v1:{}:{}:{}", parts[2], parts[3], b64(&payload));
    let invalid: Vec<(&str, &str, String, &str)> = vec![
        (
            "one payload character changed",
            "database.password",
            String::from_utf8(flipped).unwrap(),
            "authentication",
        ),
        (
            "moved to another path",
            "database.passwd",
            base.clone(),
            "authentication",
        ),
        (
            "sealed-at changed",
            "database.password",
            base.replace("20261129T120000Z", "20261129T120001Z"),
            "authentication",
        ),
        (
            "unknown key id",
            "database.password",
            base.replace(parts[2], "AAAAAAAAAAAAAAAA"),
            "no-identity",
        ),
        (
            "later version",
            "database.password",
            base.replacen("v1", "v2", 1),
            "unsupported-version",
        ),
        (
            "merge conflict marker",
            "database.password",
            format!(
                "cachet:conflict:{}:{}",
                &base["cachet:".len()..],
                &base["cachet:".len()..]
            ),
            "conflict",
        ),
        (
            "non-canonical base64url",
            "database.password",
            noncanonical,
            "malformed",
        ),
        (
            "payload one byte short",
            "database.password",
            truncated,
            "malformed",
        ),
        (
            "padding with a non-zero byte",
            "database.password",
            bad_pad,
            "bad-padding",
        ),
        (
            "one block of padding too many",
            "database.password",
            extra_block,
            "bad-padding",
        ),
        (
            "low-order ephemeral key",
            "database.password",
            low_order,
            "weak-key",
        ),
        (
            "key id too short",
            "database.password",
            base.replace(parts[2], "AAAAAAAAAAAA"),
            "malformed",
        ),
        (
            "invalid date",
            "database.password",
            base.replace("20261129T120000Z", "20260230T120000Z"),
            "malformed",
        ),
        (
            "missing payload",
            "database.password",
            format!("cachet:v1:{}:{}", parts[2], parts[3]),
            "malformed",
        ),
    ];
    // Well-sealed YAML texts that the per-value check refuses (8.6): a YAML 1.1
    // loader reads the first three as several lines, and no loader takes a
    // control character.
    let yaml_path: ValuePath = "password".parse().unwrap();
    let refused_yaml: Vec<(&str, &str)> = vec![
        (
            "yaml: U+0085 (a YAML 1.1 line break) in a plain scalar",
            "x\u{85}admin: true",
        ),
        (
            "yaml: U+2028 (a YAML 1.1 line break) in a plain scalar",
            "x\u{2028}admin: true",
        ),
        (
            "yaml: U+2029 (a YAML 1.1 line break) in a quoted scalar",
            "'x\u{2029}admin: true'",
        ),
        ("yaml: a control character", "x\u{7}y"),
    ];
    let mut bad = toml_edit::ArrayOfTables::new();
    let mut push = |name: &str, format: &str, path: &str, token: String, error: &str| {
        let mut t = Table::new();
        t["name"] = value(name);
        t["format"] = value(format);
        t["document"] = value(0);
        t["path"] = value(path);
        t["token"] = value(token);
        t["error"] = value(error);
        bad.push(t);
    };
    for (name, path, token, error) in invalid {
        push(name, "toml", path, token, error);
    }
    // Well-sealed TOML texts of TOML 1.1 only, which TOML 1.0 readers refuse (8.3).
    let refused_toml: Vec<(&str, &str)> = vec![
        ("toml: the TOML 1.1 escape \\e", "\"\\e\""),
        ("toml: the TOML 1.1 escape \\xHH", "\"a\\x41\""),
        ("toml: a time without seconds", "07:32"),
    ];
    let refused = refused_yaml
        .into_iter()
        .map(|(n, r)| (n, r, "yaml", &yaml_path))
        .chain(
            refused_toml
                .into_iter()
                .map(|(n, r)| (n, r, "toml", &base_path)),
        );
    for (i, (name, raw, format, path)) in refused.enumerate() {
        let (token, _) = reference_token(
            &recipient,
            &eph_for(20 + i),
            &nonce_for(20 + i),
            "20261129T120000Z",
            (format, 0, path),
            &reference_pad(raw.as_bytes()),
        );
        push(name, format, &path.to_string(), token, "refused");
    }
    doc["invalid"] = Item::ArrayOfTables(bad);

    // Recipients that must be refused although Bech32 decodes them.
    use bech32::{Bech32, Bech32m, Hrp};
    let hrp = Hrp::parse("age").unwrap();
    let mut high = recipient;
    high[31] |= 0x80;
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let good = key.public_key().to_string();
    let respelled = {
        // The same 32 bytes with non-zero padding bits in the last data character.
        let alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        let body = &good[4..good.len() - 6];
        let last = alphabet.find(body.chars().last().unwrap()).unwrap();
        let data: Vec<bech32::Fe32> = body[..body.len() - 1]
            .chars()
            .chain(std::iter::once(alphabet.as_bytes()[last ^ 1] as char))
            .map(|c| bech32::Fe32::from_char(c).unwrap())
            .collect();
        bech32::primitives::iter::Fe32IterExt::with_checksum::<Bech32>(data.into_iter(), &hrp)
            .chars()
            .collect::<String>()
    };
    let mut bad_r = toml_edit::ArrayOfTables::new();
    for (name, text) in [
        (
            "bit 255 set",
            bech32::encode_lower::<Bech32>(hrp, &high).unwrap(),
        ),
        (
            "u-coordinate equal to 2^255 - 19",
            bech32::encode_lower::<Bech32>(hrp, &p).unwrap(),
        ),
        ("non-zero padding bits", respelled),
        (
            "Bech32m checksum",
            bech32::encode_lower::<Bech32m>(hrp, &recipient).unwrap(),
        ),
        (
            "31 bytes",
            bech32::encode_lower::<Bech32>(hrp, &recipient[..31]).unwrap(),
        ),
        (
            "identity prefix",
            bech32::encode_lower::<Bech32>(Hrp::parse("age-secret-key-").unwrap(), &recipient)
                .unwrap(),
        ),
    ] {
        let mut t = Table::new();
        t["name"] = value(name);
        t["recipient"] = value(text);
        bad_r.push(t);
    }
    doc["invalid_recipient"] = Item::ArrayOfTables(bad_r);
    fs::create_dir_all(vectors_path().parent().unwrap()).unwrap();
    fs::write(vectors_path(), doc.to_string()).unwrap();
}

fn load() -> DocumentMut {
    fs::read_to_string(vectors_path())
        .expect("testdata/vectors/v1.toml")
        .parse()
        .expect("vectors parse")
}

fn identities(doc: &DocumentMut) -> (SecretKey, Identities) {
    let key: SecretKey = doc["identity"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        key.public_key().to_string(),
        doc["recipient"].as_str().unwrap()
    );
    assert_eq!(
        key.public_key().key_id().to_string(),
        doc["key_id"].as_str().unwrap()
    );
    let mut ids = Identities::new();
    ids.push(key.clone());
    (key, ids)
}

fn s<'a>(t: &'a Table, k: &str) -> &'a str {
    t[k].as_str().unwrap_or_else(|| panic!("vector field {k}"))
}

#[test]
fn every_valid_vector_opens_to_its_raw_text() {
    let doc = load();
    let (_, ids) = identities(&doc);
    let valid = doc["valid"].as_array_of_tables().unwrap();
    assert!(valid.len() >= 17);
    for v in valid.iter() {
        let path: ValuePath = s(v, "path").parse().unwrap();
        let token = Token::parse(s(v, "token")).unwrap();
        let place = Place {
            format: s(v, "format").parse::<Format>().unwrap(),
            document: v["document"].as_integer().unwrap() as u32,
            path: &path,
        };
        let raw = cachet::Opener::new(&ids).open(&token, &place).unwrap();
        assert_eq!(raw.as_slice(), s(v, "raw").as_bytes(), "{}", s(v, "name"));
        assert_eq!(token.to_string(), s(v, "token"), "token text round trip");
    }
}

#[test]
fn sealing_with_the_vector_randomness_reproduces_every_token() {
    let doc = load();
    let (key, _) = identities(&doc);
    for v in doc["valid"].as_array_of_tables().unwrap().iter() {
        let path: ValuePath = s(v, "path").parse().unwrap();
        let mut bytes = unhex(s(v, "ephemeral_secret"));
        bytes.extend(unhex(s(v, "nonce")));
        let at = SealedAt::parse(s(v, "sealed_at")).unwrap();
        let mut sealer =
            Sealer::with_rng(&key.public_key(), FixedRng { bytes, at: 0 }, at).unwrap();
        let place = Place {
            format: s(v, "format").parse::<Format>().unwrap(),
            document: v["document"].as_integer().unwrap() as u32,
            path: &path,
        };
        let token = sealer.seal(s(v, "raw").as_bytes(), &place).unwrap();
        assert_eq!(token.to_string(), s(v, "token"), "{}", s(v, "name"));
        // The independent construction agrees, including the associated data.
        let (reference, aad) = reference_token(
            key.public_key().as_bytes(),
            &arr(&unhex(s(v, "ephemeral_secret"))),
            &arr(&unhex(s(v, "nonce"))),
            s(v, "sealed_at"),
            (
                s(v, "format"),
                v["document"].as_integer().unwrap() as u32,
                &path,
            ),
            &reference_pad(s(v, "raw").as_bytes()),
        );
        assert_eq!(reference, s(v, "token"));
        assert_eq!(hex(&aad), s(v, "aad"));
        assert_eq!(
            hex(&cachet::seal::value::associated_data(
                &key.public_key().key_id(),
                at,
                &place
            )),
            s(v, "aad")
        );
    }
}

#[test]
fn every_invalid_vector_fails_with_its_documented_error() {
    let doc = load();
    let (_, ids) = identities(&doc);
    let invalid = doc["invalid"].as_array_of_tables().unwrap();
    assert!(invalid.len() >= 21);
    for v in invalid.iter() {
        let path: ValuePath = s(v, "path").parse().unwrap();
        let place = Place {
            format: s(v, "format").parse::<Format>().unwrap(),
            document: v["document"].as_integer().unwrap() as u32,
            path: &path,
        };
        let got = Token::parse(s(v, "token"))
            .and_then(|t| cachet::Opener::new(&ids).open(&t, &place).map(|_| ()))
            .and_then(|()| {
                // 9.2 step 7 is the document's: the token is opened as the value
                // of its path in a document of one key.
                let text = match place.format {
                    Format::Yaml => format!("{}: {}\n", s(v, "path"), s(v, "token")),
                    Format::Toml => format!("{} = \"{}\"\n", s(v, "path"), s(v, "token")),
                    _ => return Ok(()),
                };
                match cachet::open_document(place.format, &text, &ids) {
                    Ok(_) => Ok(()),
                    Err(cachet::Error::Open { reason, .. }) => Err(reason),
                    Err(e) => panic!("{}: {e}", s(v, "name")),
                }
            });
        let kind = match got {
            Ok(()) => "opened",
            Err(OpenError::Malformed(_)) => "malformed",
            Err(OpenError::UnsupportedVersion) => "unsupported-version",
            Err(OpenError::Conflict) => "conflict",
            Err(OpenError::NoIdentity(_)) => "no-identity",
            Err(OpenError::Authentication) => "authentication",
            Err(OpenError::WeakKey) => "weak-key",
            Err(OpenError::BadPlaintext) => "bad-padding",
            Err(OpenError::Refused(_)) => "refused",
            Err(other) => panic!("unexpected {other:?}"),
        };
        assert_eq!(kind, s(v, "error"), "{}", s(v, "name"));
    }
}

#[test]
fn every_invalid_recipient_is_refused() {
    let doc = load();
    let bad = doc["invalid_recipient"].as_array_of_tables().unwrap();
    assert!(bad.len() >= 6);
    for v in bad.iter() {
        let r = s(v, "recipient");
        assert!(
            r.parse::<cachet::PublicKey>().is_err(),
            "{}: {r}",
            s(v, "name")
        );
        // Every one of them is well-formed Bech32 (the refusal is cachet's rule).
        assert!(bech32::decode(r).is_ok(), "{}", s(v, "name"));
    }
}

#[test]
fn the_bundled_sealed_example_opens_to_the_plain_example() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/example");
    let ids =
        Identities::parse(&fs::read_to_string(dir.join("test-identity.txt")).unwrap()).unwrap();
    let sealed = fs::read_to_string(dir.join("app.sealed.toml")).unwrap();
    let plain = fs::read_to_string(dir.join("app.toml")).unwrap();
    let opened = cachet::open_document(Format::Toml, &sealed, &ids).unwrap();
    assert_eq!(opened.as_str(), plain);
}
