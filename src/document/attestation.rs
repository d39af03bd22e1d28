//! Attestations (`spec/attest.md`): a key holder's signature over a file's exact
//! bytes, kept in the file as its last line (a comment the application never
//! sees), or beside a strict JSON file in a sidecar.
//!
//! Sealing needs only the public key, so a sealed value proves nothing about who
//! wrote it, and a plain value can be changed by anyone who can push. An
//! attestation says that someone holding the environment's secret key approved
//! these bytes, for this file: the signing key is derived from the environment's
//! secret key, so a deploy target checks it with the key it opens values with,
//! and anyone else with the public half the policy records.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Error;
use super::rewrite::Structure;
use crate::error::{Classified, ErrorKind};
use crate::format::{Format, Node, NodeSink};
use crate::path::{Segment, ValuePath};
use crate::seal::base64url;
use crate::seal::key::KEY_ID_LEN;
use crate::seal::{Identities, KeyId, OpenError, SealedAt, SecretKey};

/// Every attestation starts with this.
pub const PREFIX: &str = "cachet:attest:v1:";
/// What a strict JSON file's attestation file is named: the file's name followed
/// by this.
pub const SIDECAR_SUFFIX: &str = ".cachet-attest";
/// The longest file name an attestation may carry, in bytes.
pub const MAX_FILE_LEN: usize = 4096;
/// The longest approver name an attestation may carry, in bytes.
pub const MAX_APPROVER_LEN: usize = 400;

const KEY_INFO: &[u8] = b"cachet/v1/attest-key";
const MESSAGE_LABEL: &[u8] = b"cachet/v1/attest\0";
const SIGNATURE_LEN: usize = 64;
/// What the public half of an attestation key is written with.
const PUBLIC_PREFIX: &str = "ed25519:";

/// The key that signs an environment's attestations, derived from its secret key
/// (`spec/attest.md` section 2). Wiped from memory on drop.
pub struct AttestKey {
    signing: SigningKey,
    key_id: KeyId,
}

impl AttestKey {
    /// The attestation key of the environment whose secret key is `env`.
    pub fn derive(env: &SecretKey) -> Self {
        let recipient = env.public_key();
        let secret = Zeroizing::new(env.static_secret().to_bytes());
        let hk = Hkdf::<Sha256>::new(Some(recipient.as_bytes()), secret.as_ref());
        let mut seed = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160; this cannot fail.
        let _ = hk.expand(KEY_INFO, seed.as_mut());
        AttestKey {
            signing: SigningKey::from_bytes(&seed),
            key_id: recipient.key_id(),
        }
    }

    /// The public half, as the policy records it.
    pub fn public(&self) -> AttestPublicKey {
        AttestPublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `body` (the whole file but the attestation) as file `file`,
    /// approved by `approver` at `at`.
    pub fn sign(
        &self,
        body: &str,
        file: &str,
        approver: &str,
        at: SealedAt,
    ) -> Result<Attestation, AttestError> {
        check_names(file, approver)?;
        let message = message(&self.key_id, at, file, approver, body);
        let signature = ed25519_dalek::Signer::sign(&self.signing, &message).to_bytes();
        Ok(Attestation {
            key_id: self.key_id,
            attested_at: at,
            file: file.to_string(),
            approver: approver.to_string(),
            signature,
        })
    }
}

impl fmt::Debug for AttestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttestKey({})", self.public())
    }
}

/// The public half of an environment's attestation key, written
/// `ed25519:<base64url>` (the policy's `attest_key`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttestPublicKey([u8; 32]);

impl AttestPublicKey {
    /// The public half for the environment whose secret key is `env`.
    pub fn of(env: &SecretKey) -> Self {
        AttestKey::derive(env).public()
    }
}

impl fmt::Display for AttestPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", base64url::encode(&self.0))
    }
}

impl fmt::Debug for AttestPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for AttestPublicKey {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s
            .strip_prefix(PUBLIC_PREFIX)
            .and_then(base64url::decode)
            .ok_or("not an attestation key (ed25519: and 43 base64url characters)")?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "an attestation key is 32 bytes")?;
        // A point that does not decompress can never verify anything.
        VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key")?;
        Ok(AttestPublicKey(bytes))
    }
}

/// One attestation: who approved which bytes of which file, when, with which
/// environment key (`spec/attest.md` section 3).
#[derive(Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The key id of the environment key whose attestation key signed.
    pub key_id: KeyId,
    /// When it was approved.
    pub attested_at: SealedAt,
    /// The file it was made for: its path relative to the policy's directory,
    /// `/`-separated (or its name alone, outside a repository).
    pub file: String,
    /// Who approved it, as they named themselves (informational, may be empty).
    pub approver: String,
    signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attestation")
            .field("key_id", &self.key_id)
            .field("attested_at", &self.attested_at)
            .field("file", &self.file)
            .field("approver", &self.approver)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Attestation {
    /// The attestation's text, `cachet:attest:v1:<key-id>:<attested-at>:<payload>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload =
            Vec::with_capacity(SIGNATURE_LEN + self.file.len() + 1 + self.approver.len());
        payload.extend_from_slice(&self.signature);
        payload.extend_from_slice(self.file.as_bytes());
        payload.push(0);
        payload.extend_from_slice(self.approver.as_bytes());
        write!(
            f,
            "{PREFIX}{}:{}:{}",
            self.key_id,
            self.attested_at,
            base64url::encode(&payload)
        )
    }
}

impl FromStr for Attestation {
    type Err = AttestError;

    fn from_str(s: &str) -> Result<Self, AttestError> {
        let bad = AttestError::Malformed;
        let rest = s
            .strip_prefix(PREFIX)
            .ok_or(bad("it does not start with cachet:attest:v1:"))?;
        let mut parts = rest.splitn(3, ':');
        let (Some(id), Some(at), Some(payload)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("it has fewer than three fields"));
        };
        let key_id = KeyId::parse(id).ok_or(bad("its key id is not 16 base64url characters"))?;
        let attested_at = SealedAt::parse(at).ok_or(bad("its time is not YYYYMMDDThhmmssZ"))?;
        let payload = base64url::decode(payload).ok_or(bad("its payload is not base64url"))?;
        if payload.len() < SIGNATURE_LEN + 2 {
            return Err(bad("its payload is too short"));
        }
        let (signature, names) = payload.split_at(SIGNATURE_LEN);
        let nul = names
            .iter()
            .position(|&b| b == 0)
            .ok_or(bad("its payload has no file name"))?;
        let text = |b: &[u8]| {
            std::str::from_utf8(b)
                .map(str::to_string)
                .map_err(|_| bad("a name in it is not UTF-8"))
        };
        let file = text(&names[..nul])?;
        let approver = text(&names[nul + 1..])?;
        check_names(&file, &approver)?;
        Ok(Attestation {
            key_id,
            attested_at,
            file,
            approver,
            // The length was checked above.
            signature: signature.try_into().map_err(|_| bad("short signature"))?,
        })
    }
}

impl Attestation {
    /// Checks the signature over `body` with the attestation key `key`.
    pub fn verify(&self, body: &str, key: &AttestPublicKey) -> Result<(), AttestError> {
        let key = VerifyingKey::from_bytes(&key.0).map_err(|_| AttestError::Signature)?;
        let message = message(
            &self.key_id,
            self.attested_at,
            &self.file,
            &self.approver,
            body,
        );
        key.verify_strict(&message, &Signature::from_bytes(&self.signature))
            .map_err(|_| AttestError::Signature)
    }

    /// Checks the signature over `body` with the attestation key derived from
    /// the identity whose key id the attestation names. Without that identity the
    /// error is the one a value sealed to the key gives (so a member's keyring
    /// can be opened for it, as for a value).
    pub fn verify_with(&self, body: &str, keys: &Identities) -> Result<(), Error> {
        let Some(key) = keys.get(&self.key_id) else {
            // Named so that the message reads `attestation: no identity for …`.
            return Err(Error::Open {
                path: ValuePath::from_segments(vec![Segment::Key("attestation".into())]),
                reason: OpenError::NoIdentity(self.key_id),
            });
        };
        self.verify(body, &AttestPublicKey::of(key))
            .map_err(Error::Attestation)
    }

    /// Whether the attestation was made for the file at `path`: its file name's
    /// components are the last components of `path` (`spec/attest.md` 5). `path`
    /// should be absolute, or relative to the policy's directory.
    pub fn names(&self, path: &Path) -> bool {
        let actual: Vec<&std::ffi::OsStr> = path
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s),
                _ => None,
            })
            .collect();
        let attested: Vec<&str> = self.file.split('/').collect();
        attested.len() <= actual.len()
            && attested
                .iter()
                .rev()
                .zip(actual.iter().rev())
                .all(|(a, b)| std::ffi::OsStr::new(a) == *b)
    }
}

/// A file split at its attestation: the bytes signed, and the attestation's text
/// if the file ends with one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split<'t> {
    /// Everything but the attestation line.
    pub body: &'t str,
    /// The attestation's text (without the comment mark and the line break), when
    /// the last line holds one, well formed or not.
    pub attestation: Option<&'t str>,
    /// Whether that line is exactly the comment mark, one space and the text (a
    /// line without the mark is no comment, and is refused).
    pub framed: bool,
}

impl Split<'_> {
    /// The attestation, parsed; `None` when the file has none.
    pub fn parse(&self) -> Result<Option<Attestation>, AttestError> {
        match self.attestation {
            Some(_) if !self.framed => Err(AttestError::Malformed(
                "its line is not the comment mark, one space and the attestation",
            )),
            other => other.map(str::parse).transpose(),
        }
    }
}

/// The comment mark an attestation line starts with in `format`; `None` for
/// strict JSON, which has no comments (its attestation is a sidecar file).
pub fn comment_mark(format: Format) -> Option<&'static str> {
    match format {
        Format::Toml | Format::Yaml | Format::Env => Some("#"),
        Format::Jsonc => Some("//"),
        Format::Json => None,
    }
}

/// Splits `text` at its attestation line (`spec/attest.md` section 4): the last
/// line, when it holds `cachet:attest:`. A strict JSON file has none in it.
pub fn split(format: Format, text: &str) -> Split<'_> {
    let none = Split {
        body: text,
        attestation: None,
        framed: false,
    };
    let Some(mark) = comment_mark(format) else {
        return none;
    };
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    let start = trimmed.rfind('\n').map_or(0, |i| i + 1);
    let line = &trimmed[start..];
    // The last line is the attestation when it starts, at its first column,
    // with the comment mark or the attestation's prefix and holds
    // `cachet:attest:`; any other line that mentions it (a value, an indented
    // continuation of one, a comment after one) is the body's.
    if !line.contains("cachet:attest:")
        || !(line.starts_with(mark) || line.starts_with("cachet:attest:"))
    {
        return none;
    }
    // A damaged line is still the attestation (and fails to parse): it must not
    // count as a comment of the body that a valid signature could cover.
    let framed = line
        .strip_prefix(mark)
        .and_then(|l| l.strip_prefix(' '))
        .filter(|t| t.starts_with("cachet:attest:"));
    Split {
        body: &text[..start],
        attestation: Some(framed.unwrap_or(line)),
        framed: framed.is_some(),
    }
}

/// The body of a file holding `text` in `format`, and its attestation, parsed:
/// the last line's (section 4.1), or for strict JSON the one of `sidecar`, the
/// sidecar's text (`None` when there is no sidecar; section 4.2).
pub fn find<'t>(
    format: Format,
    text: &'t str,
    sidecar: Option<&str>,
) -> (&'t str, Result<Option<Attestation>, AttestError>) {
    match format {
        Format::Json => (text, sidecar.map(parse_sidecar).transpose()),
        _ => {
            let s = split(format, text);
            (s.body, s.parse())
        }
    }
}

/// Verifies the attestation of the file at `path` (`spec/attest.md` section 5)
/// with the attestation key derived from one of `keys`: `text` is the file's
/// content and `sidecar` its sidecar's, for strict JSON (`None` when there is no
/// sidecar). `path` is absolute, or relative to the policy's directory. Gives the
/// attestation that holds; a key not in `keys` is the error a value sealed to it
/// gives, so that a member's keyring can be opened for it.
pub fn verify_file(
    format: Format,
    path: &Path,
    text: &str,
    sidecar: Option<&str>,
    keys: &Identities,
) -> Result<Attestation, Error> {
    let (body, attestation) = find(format, text, sidecar);
    let attestation = attestation
        .map_err(Error::Attestation)?
        .ok_or(Error::Attestation(AttestError::Missing))?;
    if !attestation.names(path) {
        return Err(Error::Attestation(AttestError::OtherFile(
            attestation.file.clone(),
        )));
    }
    attestation.verify_with(body, keys)?;
    Ok(attestation)
}

/// The text of a strict JSON file's sidecar holding `attestation`.
pub fn sidecar_text(attestation: &Attestation) -> String {
    format!("{attestation}\n")
}

/// Reads a sidecar's text: one attestation, and a line break after it or not.
pub fn parse_sidecar(text: &str) -> Result<Attestation, AttestError> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.parse()
}

/// The text of the sidecar of the file at `path`, for strict JSON; `None` for
/// the other formats, or when there is none that reads as text.
pub fn read_sidecar(format: Format, path: &Path) -> Option<String> {
    match format {
        Format::Json => std::fs::read_to_string(sidecar_path(path)).ok(),
        _ => None,
    }
}

/// The sidecar file of a strict JSON file at `path`.
pub fn sidecar_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SIDECAR_SUFFIX);
    name.into()
}

/// Attests `text` (any attestation it ends with is dropped first) as file `file`:
/// the new text, and the attestation made. In strict JSON the text is unchanged
/// and the attestation goes to the sidecar ([`sidecar_text`]); in the other
/// formats it is appended as the last line, after a line break is added to a body
/// that does not end with one.
///
/// Refused, as [`Error::Attestation`], when the line would change what the file
/// holds (the end of the file is inside a value that a comment line would join).
pub fn attest(
    format: Format,
    text: &str,
    (file, approver): (&str, &str),
    key: &AttestKey,
    at: SealedAt,
) -> Result<(Zeroizing<String>, Attestation), Error> {
    let body = split(format, text).body;
    let Some(mark) = comment_mark(format) else {
        let attestation = key
            .sign(body, file, approver, at)
            .map_err(Error::Attestation)?;
        return Ok((Zeroizing::new(body.to_string()), attestation));
    };
    let eol = if body.ends_with("\r\n") { "\r\n" } else { "\n" };
    let mut out = Zeroizing::new(String::with_capacity(body.len() + 300));
    out.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        out.push('\n');
    }
    let signed_len = out.len();
    let attestation = key
        .sign(&out[..signed_len], file, approver, at)
        .map_err(Error::Attestation)?;
    let before = structure(format, body)?;
    out.push_str(mark);
    out.push(' ');
    out.push_str(&attestation.to_string());
    out.push_str(eol);
    if structure(format, &out)? != before {
        return Err(Error::Attestation(AttestError::WouldChange));
    }
    Ok((out, attestation))
}

/// A digest of what `text` holds: every node, where each scalar is, and each
/// string's value (a block scalar's value can change with the lines after it
/// while its place does not).
fn structure(format: Format, text: &str) -> Result<[u8; 32], Error> {
    let mut contents = Contents::default();
    format.scan_into(text, &mut contents)?;
    contents.strings.update(contents.structure.finish());
    Ok(contents.strings.finalize().into())
}

/// The sink of [`structure`].
#[derive(Default)]
struct Contents {
    structure: Structure,
    strings: Sha256,
}

impl NodeSink for Contents {
    fn node(&mut self, node: Node) {
        self.structure.add(&node, node.span.clone());
        if let Some(s) = node.string() {
            // Lengths first, so two different sequences never hash alike.
            self.strings.update((s.len() as u64).to_le_bytes());
            self.strings.update(s.as_bytes());
        }
    }
}

/// The message an attestation signs (`spec/attest.md` section 3.2).
fn message(key_id: &KeyId, at: SealedAt, file: &str, approver: &str, body: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(MESSAGE_LABEL.len() + KEY_ID_LEN + 16 + 4 + 32 + 500);
    m.extend_from_slice(MESSAGE_LABEL);
    m.extend_from_slice(key_id.as_bytes());
    m.extend_from_slice(at.to_string().as_bytes());
    for name in [file, approver] {
        // Both lengths were checked to fit (at most 4096 bytes).
        m.extend_from_slice(&(name.len() as u16).to_be_bytes());
        m.extend_from_slice(name.as_bytes());
    }
    m.extend_from_slice(&Sha256::digest(body.as_bytes()));
    m
}

fn check_names(file: &str, approver: &str) -> Result<(), AttestError> {
    let bad = AttestError::Malformed;
    if file.is_empty() || file.len() > MAX_FILE_LEN {
        return Err(bad("its file name is empty or longer than 4096 bytes"));
    }
    if file.contains('\0') || file.starts_with('/') || file.split('/').any(|c| c.is_empty()) {
        return Err(bad(
            "its file name is not a relative /-separated path without empty parts",
        ));
    }
    if approver.len() > MAX_APPROVER_LEN || approver.chars().any(char::is_control) {
        return Err(bad(
            "its approver is longer than 400 bytes or holds a control character",
        ));
    }
    Ok(())
}

/// Why a file's attestation is missing or does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttestError {
    /// The file carries no attestation: it is proposed.
    Missing,
    /// The attestation is not well formed.
    Malformed(&'static str),
    /// The signature does not hold for these bytes, this file and this key.
    Signature,
    /// The attestation names another file.
    OtherFile(String),
    /// No attestation key is known for the attestation's key id (a verifier with
    /// neither the environment key nor its recorded public half).
    Unverifiable(KeyId),
    /// A comment line at the end would change what the file holds.
    WouldChange,
}

impl fmt::Display for AttestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttestError::Missing => f.write_str(
                "is not attested (proposed): a member of its environment reviews it and runs `cachet attest` on it",
            ),
            AttestError::Malformed(why) => write!(
                f,
                "its attestation is damaged ({why}); a member of its environment reviews the file and runs `cachet attest` on it"
            ),
            AttestError::Signature => f.write_str(
                "its attestation does not match its content: the file changed after it was approved, or the attestation was made with another key; a member of its environment reviews the file and runs `cachet attest` on it",
            ),
            AttestError::OtherFile(name) => write!(
                f,
                "its attestation was made for the file {name:?}, not this one (a file copied over another); a member of its environment reviews the file and runs `cachet attest` on it"
            ),
            AttestError::Unverifiable(id) => write!(
                f,
                "its attestation is signed with the key of key id {id}, and no identity given holds that key and the policy records no attestation key for it"
            ),
            AttestError::WouldChange => f.write_str(
                "cannot be attested: a comment line at its end would change a value (the file ends inside a block or a multi-line value); end the file with a line outside any value",
            ),
        }
    }
}

impl std::error::Error for AttestError {}

impl Classified for AttestError {
    fn kind(&self) -> ErrorKind {
        match self {
            AttestError::WouldChange => ErrorKind::Input,
            _ => ErrorKind::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes([7; 32])
    }

    fn at() -> SealedAt {
        SealedAt::parse("20261207T120000Z").unwrap()
    }

    #[test]
    fn attest_then_verify_round_trips_in_every_format() {
        let k = AttestKey::derive(&key());
        let cases = [
            (Format::Toml, "a = 1\n"),
            (Format::Yaml, "a: 1\n"),
            (Format::Env, "A=1"),
            (Format::Jsonc, "{\"a\": 1}\r\n"),
            (Format::Json, "{\"a\": 1}"),
        ];
        for (format, text) in cases {
            let (out, att) = attest(format, text, ("config/app", "alice"), &k, at()).unwrap();
            let split = split(format, &out);
            let parsed = match format {
                Format::Json => {
                    assert_eq!(out.as_str(), text);
                    parse_sidecar(&sidecar_text(&att)).unwrap()
                }
                _ => split.parse().unwrap().unwrap(),
            };
            assert_eq!(parsed, att);
            parsed.verify(split.body, &k.public()).unwrap();
            let mut ids = Identities::new();
            ids.push(key());
            parsed.verify_with(split.body, &ids).unwrap();
            // Attesting again replaces the line; the body is unchanged.
            let (again, _) = attest(format, &out, ("config/app", "bob"), &k, at()).unwrap();
            assert_eq!(super::split(format, &again).body, split.body);
        }
    }

    #[test]
    fn a_changed_byte_or_another_name_or_key_fails() {
        let k = AttestKey::derive(&key());
        let (out, att) = attest(Format::Toml, "a = 1\n", ("app.toml", "alice"), &k, at()).unwrap();
        let body = split(Format::Toml, &out).body;
        assert_eq!(
            att.verify("a = 2\n", &k.public()),
            Err(AttestError::Signature)
        );
        assert_eq!(
            att.verify("a = 1 \n", &k.public()),
            Err(AttestError::Signature)
        );
        let other = AttestKey::derive(&SecretKey::from_bytes([8; 32]));
        assert_eq!(
            att.verify(body, &other.public()),
            Err(AttestError::Signature)
        );
        let mut renamed = att.clone();
        renamed.file = "other.toml".into();
        assert_eq!(
            renamed.verify(body, &k.public()),
            Err(AttestError::Signature)
        );
        let mut later = att.clone();
        later.attested_at = SealedAt::parse("20261207T120001Z").unwrap();
        assert_eq!(later.verify(body, &k.public()), Err(AttestError::Signature));
    }

    #[test]
    fn names_compare_the_last_components() {
        let k = AttestKey::derive(&key());
        let att = k.sign("", "config/prod/app.toml", "", at()).unwrap();
        assert!(att.names(Path::new("/srv/app/config/prod/app.toml")));
        assert!(att.names(Path::new("config/prod/app.toml")));
        assert!(!att.names(Path::new("/srv/app/config/staging/app.toml")));
        assert!(!att.names(Path::new("prod/app.toml")));
        assert!(!att.names(Path::new("/srv/app.toml")));
    }

    #[test]
    fn a_line_that_would_join_a_value_is_refused() {
        let k = AttestKey::derive(&key());
        // A document that is a block scalar at indentation 0: every line after
        // it, a comment line too, is part of the value.
        let text = "--- |\nx\n";
        assert_eq!(
            attest(Format::Yaml, text, ("f.yaml", ""), &k, at()).map(|_| ()),
            Err(Error::Attestation(AttestError::WouldChange))
        );
    }

    #[test]
    fn damaged_lines_are_attestations_that_do_not_parse() {
        for line in [
            "#cachet:attest:v1:x",
            "# cachet:attest:v2:AAAAAAAAAAAAAAAA:20261207T120000Z:AA",
            "#  cachet:attest:v1:AAAAAAAAAAAAAAAA:20261207T120000Z:AA",
        ] {
            let text = format!("a = 1\n{line}\n");
            let s = split(Format::Toml, &text);
            assert_eq!(s.body, "a = 1\n");
            assert!(
                matches!(s.parse(), Err(AttestError::Malformed(_))),
                "{line}"
            );
        }
        assert_eq!(split(Format::Toml, "a = 1\n# note\n").attestation, None);
        // A bare attestation without the comment mark is no comment: refused.
        let k = AttestKey::derive(&key());
        let (out, made) = attest(Format::Yaml, "a: 1\n---\n", ("f.yaml", ""), &k, at()).unwrap();
        let bare = out.replace(&format!("# {made}"), &made.to_string());
        assert!(matches!(
            split(Format::Yaml, &bare).parse(),
            Err(AttestError::Malformed(_))
        ));
        // A value that mentions the prefix on the last line is the body's, and
        // so is an indented line (a YAML continuation, or an indented comment).
        for (format, text) in [
            (Format::Toml, "note = \"see cachet:attest: docs\"\n"),
            (Format::Yaml, "a: 1\nnote: see\n  cachet:attest:v1 docs\n"),
            (
                Format::Yaml,
                "a: 1\n  # cachet:attest:v1:AAAAAAAAAAAAAAAA:20261207T120000Z:AA\n",
            ),
        ] {
            assert_eq!(split(format, text).body, text);
            assert_eq!(split(format, text).attestation, None);
        }
    }

    #[test]
    fn public_keys_round_trip_and_bad_ones_are_refused() {
        let p = AttestPublicKey::of(&key());
        assert_eq!(p.to_string().parse::<AttestPublicKey>(), Ok(p));
        assert!("ed25519:AAAA".parse::<AttestPublicKey>().is_err());
        assert!(p.to_string()[8..].parse::<AttestPublicKey>().is_err());
    }

    proptest! {
        #[test]
        fn any_text_splits_and_parses_without_panicking(text in ".{0,200}") {
            for format in Format::all() {
                let s = split(*format, &text);
                let _ = s.parse();
                prop_assert!(text.starts_with(s.body));
            }
        }

        #[test]
        fn attested_toml_keeps_its_body(
            values in prop::collection::btree_map("[a-z]{1,8}", "[ -~&&[^\"\\\\]]{0,20}", 0..5),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let body: String = values.iter().map(|(k, v)| format!("{k} = \"{v}\"{eol}")).collect();
            let k = AttestKey::derive(&key());
            let (out, att) = attest(Format::Toml, &body, ("a.toml", "x"), &k, at()).unwrap();
            let s = split(Format::Toml, &out);
            prop_assert_eq!(s.body, body.as_str());
            prop_assert_eq!(s.parse().unwrap(), Some(att.clone()));
            prop_assert!(att.verify(s.body, &k.public()).is_ok());
        }
    }
}
