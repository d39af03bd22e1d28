//! Reading files encrypted by SOPS with age, to import them into cachet
//! (`spec/import-sops.md`).
//!
//! [`parse`] reads a SOPS file (YAML, JSON, dotenv, INI or a binary file) and its
//! `sops` metadata without any key; [`unwrap_data_key`] opens the data key with
//! age identities; [`SopsFile::decrypt`] decrypts every value, checks the MAC and
//! writes the plain document in a format cachet seals, with the places of the
//! values SOPS had encrypted. [`import`] does all three. Nothing here prints or
//! reads the environment, and no error carries a value.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::document::selection::Selection;
use crate::document::tree::{self, Value};
use crate::format::Scalar;
use crate::format::scalar::{float_text, push_wiped};
use crate::format::{Format, NodeKind};
use crate::path::{Segment, ValuePath};

mod flat;
pub mod metadata;
pub mod value;

pub use metadata::{AgeStanza, Metadata, Rules};
pub use value::{DataKey, EncType, EncValue, looks_encrypted};

use metadata::{MacHasher, go_float_text, go_parse_bool};

/// How SOPS stored a file, which it decides by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SopsFormat {
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// `.env`: `KEY=value` lines.
    Dotenv,
    /// `.ini`: sections of `key = value` lines.
    Ini,
    /// Any other file: the whole content as one encrypted value, in a JSON
    /// wrapper `{"data": …, "sops": …}`.
    Binary,
}

impl SopsFormat {
    /// The store SOPS uses for a file of this name: by its extension, as SOPS
    /// decides (`.env` is dotenv, `.env.production` is binary).
    pub fn from_path(path: &Path) -> SopsFormat {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "yaml" | "yml" => SopsFormat::Yaml,
            "json" => SopsFormat::Json,
            "env" => SopsFormat::Dotenv,
            "ini" => SopsFormat::Ini,
            _ => SopsFormat::Binary,
        }
    }

    /// The name `--input-type` takes.
    pub fn name(self) -> &'static str {
        match self {
            SopsFormat::Yaml => "yaml",
            SopsFormat::Json => "json",
            SopsFormat::Dotenv => "dotenv",
            SopsFormat::Ini => "ini",
            SopsFormat::Binary => "binary",
        }
    }
}

impl FromStr for SopsFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            SopsFormat::Yaml,
            SopsFormat::Json,
            SopsFormat::Dotenv,
            SopsFormat::Ini,
            SopsFormat::Binary,
        ]
        .into_iter()
        .find(|f| f.name() == s)
        .ok_or_else(|| {
            format!("unknown SOPS format {s:?} (known: yaml, json, dotenv, ini, binary)")
        })
    }
}

/// Why a value (or the MAC) could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueFailure {
    /// The text begins with `ENC[` but is not a SOPS encrypted value.
    Malformed(&'static str),
    /// The tag does not verify with the data key and the value's place.
    Decrypt,
    /// The plaintext is not of the type SOPS recorded, or not text.
    Plaintext(&'static str),
    /// The file's rules say SOPS encrypts the value, and it is plain.
    NotEncrypted,
}

impl fmt::Display for ValueFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueFailure::Malformed(why) => write!(
                f,
                "is not a valid SOPS encrypted value ({why}); restore the file from version control"
            ),
            ValueFailure::Decrypt => f.write_str(
                "does not decrypt: it was altered, moved from another place, or encrypted with another data key; restore the file from version control",
            ),
            ValueFailure::Plaintext(why) => write!(f, "decrypts to {why}"),
            ValueFailure::NotEncrypted => f.write_str(
                "is plain text where the file's rules say SOPS encrypts; the file was edited by hand (encrypt it again with sops, or restore it)",
            ),
        }
    }
}

/// Why a SOPS file could not be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SopsError {
    /// The file does not parse in its format.
    Parse(crate::document::Error),
    /// A line of a dotenv or INI file is not one SOPS writes.
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file has no `sops` metadata.
    NotSops,
    /// A field of the metadata is missing or wrong.
    Metadata {
        /// The field, e.g. `sops.lastmodified`.
        field: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file uses something this importer does not read.
    Unsupported(&'static str),
    /// The data key is not encrypted to any age recipient.
    NoAgeKey {
        /// The kinds of key it is encrypted to instead (`pgp`, `kms`, …).
        others: Vec<&'static str>,
    },
    /// None of the identities opens the data key.
    NoIdentity {
        /// The age recipients the data key is encrypted to.
        recipients: Vec<String>,
    },
    /// An age stanza opened but does not hold a 32-byte data key.
    DataKey,
    /// A value could not be read.
    Value {
        /// Where the value is (a comment: the mapping it is in).
        path: String,
        /// Why.
        reason: ValueFailure,
    },
    /// The MAC could not be read.
    Mac(ValueFailure),
    /// The MAC does not match the values.
    MacMismatch,
    /// A decrypted value cannot be written in the output format.
    NotRepresentable {
        /// Where the value is.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// The plain document written does not read back as the SOPS file's values
    /// (a bug).
    Check,
}

impl crate::error::Classified for SopsError {
    /// A file that failed to open (a wrong key, an altered value or MAC) is
    /// [`crate::error::ErrorKind::Open`]; one that is unreadable or unsupported, input.
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            SopsError::NoIdentity { .. }
            | SopsError::DataKey
            | SopsError::Value { .. }
            | SopsError::Mac(_)
            | SopsError::MacMismatch => crate::error::ErrorKind::Open,
            _ => crate::error::ErrorKind::Input,
        }
    }
}

impl fmt::Display for SopsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SopsError::Parse(e) => write!(f, "{e}"),
            SopsError::Syntax { line, reason } => write!(f, "line {line}: {reason}"),
            SopsError::NotSops => f.write_str(
                "no SOPS metadata (no top-level `sops` key): not a file encrypted by SOPS",
            ),
            SopsError::Metadata { field, reason } => write!(f, "{field}: {reason}"),
            SopsError::Unsupported(what) => f.write_str(what),
            SopsError::NoAgeKey { others } if others.is_empty() => f.write_str(
                "the data key is not encrypted to any age recipient; add one with `sops updatekeys` (or `sops rotate --add-age`) first",
            ),
            SopsError::NoAgeKey { others } => write!(
                f,
                "the data key is encrypted to {} only, not to age; add an age recipient with `sops updatekeys` (or `sops rotate --add-age`) first",
                others.join(", ")
            ),
            SopsError::NoIdentity { recipients } => write!(
                f,
                "no identity opens the data key (encrypted to {}); give the age identity SOPS used: -i FILE, SOPS_AGE_KEY or SOPS_AGE_KEY_FILE",
                recipients
                    .iter()
                    .map(|r| r.escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SopsError::DataKey => {
                f.write_str("sops.age: the data key is not 32 bytes long; the metadata is damaged")
            }
            SopsError::Value { path, reason } => write!(f, "{path}: {reason}"),
            SopsError::Mac(ValueFailure::Decrypt) => f.write_str(
                "sops.mac: does not decrypt: the MAC or sops.lastmodified was altered; restore the file from version control",
            ),
            SopsError::Mac(reason) => write!(f, "sops.mac: {reason}"),
            SopsError::MacMismatch => f.write_str(
                "sops.mac: the values do not match the file's MAC: a value was altered, added, removed or moved; restore the file from version control (or ignore the MAC if you know why)",
            ),
            SopsError::NotRepresentable { path, reason } => write!(f, "{path}: {reason}"),
            SopsError::Check => f.write_str(
                "the imported document does not read back as the SOPS file's values (please report this as a bug)",
            ),
        }
    }
}

impl std::error::Error for SopsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SopsError::Parse(e) => Some(e),
            _ => None,
        }
    }
}

/// A value decrypted, with the type SOPS recorded.
enum Plain {
    Str(Zeroizing<String>),
    Int(i64),
    Float(f64, Zeroizing<String>),
    Bool(bool),
}

impl Plain {
    /// Reads a decrypted value as SOPS does (Go's `Atoi`, `ParseFloat`,
    /// `ParseBool`).
    fn read(ty: EncType, bytes: Zeroizing<Vec<u8>>) -> Result<Plain, ValueFailure> {
        let text = String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| ValueFailure::Plaintext("bytes that are not UTF-8 text"))?;
        let wrong = ValueFailure::Plaintext;
        Ok(match ty {
            EncType::Str | EncType::Bytes => Plain::Str(text),
            EncType::Int => Plain::Int(
                text.parse()
                    .map_err(|_| wrong("text that is not an integer, its recorded type"))?,
            ),
            EncType::Float => {
                let f = text
                    .parse()
                    .map_err(|_| wrong("text that is not a number, its recorded type"))?;
                Plain::Float(f, text)
            }
            EncType::Bool => Plain::Bool(
                go_parse_bool(&text)
                    .ok_or(wrong("text that is not a boolean, its recorded type"))?,
            ),
            EncType::Comment => return Err(wrong("a comment where a value belongs")),
        })
    }

    /// The text SOPS hashes into the MAC.
    fn mac_text(&self) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Plain::Str(s) => s.to_string(),
            Plain::Int(i) => i.to_string(),
            Plain::Float(f, _) => go_float_text(*f),
            Plain::Bool(true) => "True".to_string(),
            Plain::Bool(false) => "False".to_string(),
        })
    }
}

/// The text SOPS hashes into the MAC for a plain scalar (`None`: nothing).
fn plain_mac_text(s: &Scalar) -> Option<Zeroizing<String>> {
    Some(match s {
        Scalar::Null => return None,
        Scalar::Bool(true) => Zeroizing::new("True".to_string()),
        Scalar::Bool(false) => Zeroizing::new("False".to_string()),
        Scalar::Float(t) => match t.parse::<f64>() {
            Ok(f) => Zeroizing::new(go_float_text(f)),
            Err(_) => t.clone(),
        },
        Scalar::String(t) | Scalar::Integer(t) | Scalar::Datetime(t) => t.clone(),
    })
}

/// One value of a SOPS file, in document order.
struct Leaf {
    path: ValuePath,
    /// The map keys above the value: SOPS's associated data and its rules use
    /// them (sequence indices are left out).
    keys: Vec<String>,
    scalar: Scalar,
    /// Where its text is (YAML and JSON).
    span: Option<Range<usize>>,
}

/// A comment SOPS encrypted.
struct EncComment {
    /// The bytes of the comment's text after its `#` or `;`.
    span: Range<usize>,
    /// Line index (dotenv and INI).
    line: usize,
    enc: EncValue,
    /// The associated data it may have been encrypted with, best guess first (a
    /// comment belongs to the mapping around it, which the layout shows only
    /// approximately).
    aads: Vec<String>,
    /// Names the comment in errors.
    near: String,
}

/// What each store keeps to write the plain document.
enum Layout {
    /// YAML or JSON: the file's own text, with the spans of the `sops` block.
    Text {
        format: Format,
        remove: Range<usize>,
        expected: Value,
    },
    /// Dotenv or INI: the lines.
    Lines(flat::Lines),
    /// A binary file's one value.
    Binary,
}

/// A SOPS file read without any key: its values, comments and metadata.
pub struct SopsFile {
    text: Zeroizing<String>,
    leaves: Vec<Leaf>,
    comments: Vec<EncComment>,
    layout: Layout,
    /// The file's metadata.
    pub metadata: Metadata,
}

impl fmt::Debug for SopsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SopsFile")
            .field("values", &self.leaves.len())
            .field("encrypted_comments", &self.comments.len())
            .finish_non_exhaustive()
    }
}

/// What to do beyond the defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Import even when the MAC does not match (it must still decrypt).
    pub ignore_mac: bool,
    /// For a binary file: the format of its decrypted content, whose every value
    /// is then sealed; `None` keeps SOPS's JSON wrapper, `{"data": "…"}`.
    pub binary_as: Option<Format>,
}

/// A SOPS file decrypted into a plain document for cachet to seal.
pub struct Imported {
    /// The document's format.
    pub format: Format,
    /// The plain document: secret, never to be written to disk as it is.
    pub text: Zeroizing<String>,
    /// Exactly the values SOPS had encrypted.
    pub selection: Selection,
    /// How many values SOPS had encrypted.
    pub encrypted: usize,
    /// How many comments SOPS had encrypted, now plain comments.
    pub comments: usize,
    /// Whether the MAC matched (false only with [`ImportOptions::ignore_mac`]).
    pub mac_matched: bool,
}

impl fmt::Debug for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imported")
            .field("format", &self.format)
            .field("encrypted", &self.encrypted)
            .field("comments", &self.comments)
            .field("mac_matched", &self.mac_matched)
            .finish_non_exhaustive()
    }
}

/// Reads, decrypts and checks a SOPS file with age identities.
pub fn import(
    format: SopsFormat,
    text: &str,
    identities: &[&dyn age::Identity],
    options: ImportOptions,
) -> Result<Imported, SopsError> {
    let file = parse(format, text)?;
    let key = unwrap_data_key(&file.metadata, identities)?;
    file.decrypt(&key, options)
}

/// Opens the data key with the first age stanza one of `identities` opens.
pub fn unwrap_data_key(
    metadata: &Metadata,
    identities: &[&dyn age::Identity],
) -> Result<DataKey, SopsError> {
    if metadata.age.is_empty() {
        return Err(SopsError::NoAgeKey {
            others: metadata.other_keys.clone(),
        });
    }
    for stanza in &metadata.age {
        let Ok(decryptor) = crate::team::identity_file::age_decryptor(stanza.enc.as_bytes()) else {
            return Err(SopsError::Metadata {
                field: "sops.age".to_string(),
                reason: "holds an enc that is not an age file",
            });
        };
        let Ok(reader) = decryptor.decrypt(identities.iter().copied()) else {
            continue;
        };
        let mut key = Zeroizing::new(Vec::with_capacity(64));
        reader
            .take(33)
            .read_to_end(&mut key)
            .map_err(|_| SopsError::DataKey)?;
        let bytes: [u8; 32] = key.as_slice().try_into().map_err(|_| SopsError::DataKey)?;
        return Ok(DataKey::from_bytes(bytes));
    }
    Err(SopsError::NoIdentity {
        recipients: metadata.age.iter().map(|s| s.recipient.clone()).collect(),
    })
}

/// Reads a SOPS file without any key: its values, encrypted comments and metadata.
pub fn parse(format: SopsFormat, text: &str) -> Result<SopsFile, SopsError> {
    match format {
        SopsFormat::Yaml => parse_text(Format::Yaml, text, false),
        SopsFormat::Json => parse_text(Format::Json, text, false),
        SopsFormat::Binary => parse_text(Format::Json, text, true),
        SopsFormat::Dotenv | SopsFormat::Ini => {
            let (lines, meta) = flat::parse(format == SopsFormat::Ini, text)?;
            let metadata = Metadata::from_value(&meta)?;
            let (leaves, comments) = lines.leaves();
            Ok(SopsFile {
                text: Zeroizing::new(text.to_string()),
                leaves,
                comments,
                layout: Layout::Lines(lines),
                metadata,
            })
        }
    }
}

/// The map keys of a path, which SOPS joins into the associated data.
fn keys_of(path: &ValuePath) -> Vec<String> {
    path.segments()
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.clone()),
            Segment::Index(_) => None,
        })
        .collect()
}

/// SOPS's associated data for a value under `keys`.
fn aad(keys: &[String]) -> String {
    let mut s = keys.join(":");
    s.push(':');
    s
}

fn parse_text(format: Format, text: &str, binary: bool) -> Result<SopsFile, SopsError> {
    let nodes = format.scan(text).map_err(|e| SopsError::Parse(e.into()))?;
    if nodes.iter().any(|n| n.document > 0) {
        return Err(SopsError::Unsupported(
            "a SOPS file of several YAML documents is not supported; split it into one file per document with sops first",
        ));
    }
    let documents = tree::build(format, text).map_err(SopsError::Parse)?;
    let Some(Value::Table(root)) = documents.first() else {
        return Err(SopsError::NotSops);
    };
    let Some((_, meta)) = root.iter().find(|(k, _)| k == "sops") else {
        return Err(SopsError::NotSops);
    };
    let metadata = Metadata::from_value(meta)?;
    let spans: HashMap<&ValuePath, Range<usize>> = nodes
        .iter()
        .filter(|n| n.is_scalar())
        .map(|n| (&n.path, n.span.clone()))
        .collect();
    let mut leaves = Vec::new();
    let mut path = ValuePath::root();
    let body: Vec<(String, Value)> = root.iter().filter(|(k, _)| k != "sops").cloned().collect();
    if binary && (body.len() != 1 || body[0].0 != "data") {
        return Err(SopsError::Unsupported(
            "a SOPS binary file holds `data` and `sops` only; this file holds other keys",
        ));
    }
    let body = Value::Table(body);
    collect_leaves(&body, &mut path, &spans, &mut leaves);
    let sops_path = ValuePath::root().child(Segment::Key("sops".to_string()));
    let remove = match format {
        Format::Yaml => yaml_sops_block(text, &nodes, &sops_path)?,
        _ => json_sops_member(text, &nodes, &sops_path)?,
    };
    let comments = if format == Format::Yaml {
        yaml_comments(text, &nodes, &remove)?
    } else {
        Vec::new()
    };
    Ok(SopsFile {
        text: Zeroizing::new(text.to_string()),
        leaves,
        comments,
        layout: if binary {
            Layout::Binary
        } else {
            Layout::Text {
                format,
                remove,
                expected: body,
            }
        },
        metadata,
    })
}

fn collect_leaves(
    value: &Value,
    path: &mut ValuePath,
    spans: &HashMap<&ValuePath, Range<usize>>,
    out: &mut Vec<Leaf>,
) {
    let mut each = |seg: Segment, child: &Value, path: &mut ValuePath| {
        path.push(seg);
        collect_leaves(child, path, spans, out);
        path.pop();
    };
    match value {
        Value::Table(entries) => {
            for (k, v) in entries {
                each(Segment::Key(k.clone()), v, path);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                each(Segment::Index(i), v, path);
            }
        }
        Value::Scalar(s) => out.push(Leaf {
            keys: keys_of(path),
            span: spans.get(&*path).cloned(),
            path: path.clone(),
            scalar: s.clone(),
        }),
    }
}

/// Whether byte `at` is inside the text of a scalar.
fn in_scalar(nodes: &[crate::format::Node], at: usize) -> bool {
    nodes
        .iter()
        .any(|n| n.is_scalar() && n.span.start <= at && at < n.span.end)
}

/// The bytes of the top-level `sops:` key and its block, which SOPS writes as
/// the last key of the root mapping, at the start of a line.
fn yaml_sops_block(
    text: &str,
    nodes: &[crate::format::Node],
    sops: &ValuePath,
) -> Result<Range<usize>, SopsError> {
    let unsupported = SopsError::Unsupported(
        "the sops metadata is not a block mapping under a `sops:` key at the start of a line, as SOPS writes it",
    );
    if !nodes
        .iter()
        .any(|n| n.path == *sops && matches!(n.kind, NodeKind::Table))
    {
        return Err(unsupported);
    }
    let mut starts = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let rest = line.strip_prefix("sops:");
        if rest.is_some_and(|r| r.starts_with([' ', '\t', '\r', '\n']) || r.is_empty())
            && !in_scalar(nodes, at)
        {
            starts.push(at);
        }
        at += line.len();
    }
    let [start] = starts[..] else {
        return Err(unsupported);
    };
    let mut end = text.len();
    let mut at = start;
    for (i, line) in text[start..].split_inclusive('\n').enumerate() {
        // The block goes on while its lines are indented, blank or comments.
        let ends = i > 0
            && line
                .chars()
                .next()
                .is_some_and(|c| !matches!(c, ' ' | '\t' | '\r' | '\n' | '#'));
        if ends {
            end = at;
            break;
        }
        at += line.len();
    }
    Ok(start..end)
}

/// The bytes of the `"sops": {…}` member with the comma that separates it.
fn json_sops_member(
    text: &str,
    nodes: &[crate::format::Node],
    sops: &ValuePath,
) -> Result<Range<usize>, SopsError> {
    let unsupported =
        SopsError::Unsupported("the sops metadata is not an object under a plain \"sops\" key");
    let node = nodes
        .iter()
        .find(|n| n.path == *sops && matches!(n.kind, NodeKind::Table))
        .ok_or(unsupported.clone())?;
    let b = text.as_bytes();
    let back = |mut i: usize| {
        while i > 0 && b[i - 1].is_ascii_whitespace() {
            i -= 1;
        }
        i
    };
    let colon = back(node.span.start);
    if colon == 0 || b[colon - 1] != b':' {
        return Err(unsupported);
    }
    let key_end = back(colon - 1);
    let key_start = key_end
        .checked_sub(6)
        .filter(|&s| text.get(s..key_end) == Some("\"sops\""))
        .ok_or(unsupported.clone())?;
    let before = back(key_start);
    match b.get(before.wrapping_sub(1)) {
        Some(b',') => Ok(before - 1..node.span.end),
        Some(b'{') => {
            // The first member: take the comma after it instead.
            let mut end = node.span.end;
            while end < b.len() && b[end].is_ascii_whitespace() {
                end += 1;
            }
            if b.get(end) == Some(&b',') {
                end += 1;
            }
            Ok(key_start..end)
        }
        _ => Err(unsupported),
    }
}

/// The comments `#ENC[…]` SOPS encrypted in a YAML file, outside the `sops` block.
fn yaml_comments(
    text: &str,
    nodes: &[crate::format::Node],
    remove: &Range<usize>,
) -> Result<Vec<EncComment>, SopsError> {
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(found) = text[search..].find("#ENC[") {
        let hash = search + found;
        search = hash + 1;
        let starts_comment = hash == 0 || matches!(text.as_bytes()[hash - 1], b' ' | b'\t' | b'\n');
        if !starts_comment || remove.contains(&hash) || in_scalar(nodes, hash) {
            continue;
        }
        let line_end = text[hash..].find('\n').map_or(text.len(), |i| hash + i);
        let content = text[hash + 1..line_end].trim_end();
        let span = hash + 1..hash + 1 + content.len();
        // The nearest scalars before and after tell which mappings it may be in.
        let before = nodes
            .iter()
            .filter(|n| n.is_scalar() && n.span.end <= hash)
            .max_by_key(|n| n.span.end);
        let after = nodes
            .iter()
            .filter(|n| n.span.start > hash && !n.path.is_root())
            .min_by_key(|n| n.span.start);
        let mut aads = Vec::new();
        for n in before.into_iter().chain(after) {
            let keys = keys_of(&n.path);
            for len in (0..=keys.len()).rev() {
                let a = aad(&keys[..len]);
                if !aads.contains(&a) {
                    aads.push(a);
                }
            }
        }
        if aads.is_empty() {
            aads.push(aad(&[]));
        }
        let near = before.map_or_else(
            || "the start of the file".to_string(),
            |n| n.path.to_string(),
        );
        let enc = EncValue::parse(content).map_err(|why| SopsError::Value {
            path: format!("the comment after {near}"),
            reason: ValueFailure::Malformed(why),
        })?;
        out.push(EncComment {
            span,
            line: 0,
            enc,
            aads,
            near,
        });
    }
    Ok(out)
}

/// A string as a YAML scalar: plain where that reads back as the same string in
/// any block or flow position, else double-quoted.
fn yaml_string(s: &str) -> Zeroizing<String> {
    let plain = !s.contains([',', '[', ']', '{', '}', '#', '\n', '\r', '\t'])
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && Format::Yaml.typed_literal(crate::format::ScalarType::String, s);
    if plain {
        Zeroizing::new(s.to_string())
    } else {
        Format::Yaml.string_literal(s)
    }
}

/// A decrypted value as a literal of `format`, and the scalar reading it gives.
fn literal(
    format: Format,
    plain: &Plain,
    path: &ValuePath,
) -> Result<Zeroizing<String>, SopsError> {
    let not = |reason| SopsError::NotRepresentable {
        path: path.to_string(),
        reason,
    };
    Ok(match (plain, format) {
        (Plain::Str(s), Format::Yaml) => yaml_string(s),
        (Plain::Str(s), _) => Format::Json.string_literal(s),
        (Plain::Int(i), _) => Zeroizing::new(i.to_string()),
        (Plain::Bool(b), _) => Zeroizing::new(b.to_string()),
        (Plain::Float(f, _), Format::Yaml) if f.is_nan() => Zeroizing::new(".nan".to_string()),
        (Plain::Float(f, _), Format::Yaml) if f.is_infinite() => {
            Zeroizing::new(if *f > 0.0 { ".inf" } else { "-.inf" }.to_string())
        }
        // Debug always has a `.` or an exponent, so YAML reads a float back.
        (Plain::Float(f, _), Format::Yaml) => float_text(*f),
        (Plain::Float(f, _), _) if !f.is_finite() => {
            return Err(not("is an infinity or NaN, which JSON cannot hold"));
        }
        // JSON numbers have no int/float distinction: keep SOPS's text, as
        // `sops -d` prints it.
        (Plain::Float(f, text), _) => {
            if Format::Json.typed_literal(crate::format::ScalarType::Float, text) {
                text.clone()
            } else {
                float_text(*f)
            }
        }
    })
}

/// What `literal` reads back as in `format`.
fn reading(format: Format, plain: &Plain, literal: &str) -> Option<Scalar> {
    match plain {
        Plain::Str(s) => Some(Scalar::String(s.clone())),
        _ if format == Format::Yaml => crate::format::yaml::scalar_value(literal).ok(),
        _ => crate::format::json::scalar_value(literal).ok(),
    }
}

/// Replaces the scalar at `path` of `value` (a path that exists).
fn replace(value: &mut Value, path: &[Segment], with: Scalar) {
    match (value, path.split_first()) {
        (v, None) => *v = Value::Scalar(with),
        (Value::Table(entries), Some((Segment::Key(k), rest))) => {
            if let Some((_, v)) = entries.iter_mut().find(|(key, _)| key == k) {
                replace(v, rest, with);
            }
        }
        (Value::Array(items), Some((Segment::Index(i), rest))) => {
            if let Some(v) = items.get_mut(*i) {
                replace(v, rest, with);
            }
        }
        _ => {}
    }
}

impl SopsFile {
    /// How many values SOPS encrypted (by the file's rules, and not empty).
    pub fn encrypted_values(&self) -> usize {
        self.leaves
            .iter()
            .filter(|l| {
                self.metadata.rules.encrypts(&l.keys)
                    && matches!(&l.scalar, Scalar::String(s) if !s.is_empty())
            })
            .count()
    }

    /// Decrypts every value and comment with the data key, checks the MAC, and
    /// writes the plain document.
    pub fn decrypt(&self, key: &DataKey, options: ImportOptions) -> Result<Imported, SopsError> {
        let rules = &self.metadata.rules;
        let mut mac = MacHasher::new(rules.mac_only_encrypted);
        let mut plains: Vec<Option<Plain>> = Vec::with_capacity(self.leaves.len());
        for leaf in &self.leaves {
            let encrypted = rules.encrypts(&leaf.keys);
            let fail = |reason| SopsError::Value {
                path: leaf.path.to_string(),
                reason,
            };
            let plain = match &leaf.scalar {
                // SOPS leaves empty strings and nulls as they are.
                Scalar::String(s) if encrypted && !s.is_empty() => {
                    if !looks_encrypted(s) {
                        return Err(fail(ValueFailure::NotEncrypted));
                    }
                    let enc =
                        EncValue::parse(s).map_err(|why| fail(ValueFailure::Malformed(why)))?;
                    let bytes = enc
                        .decrypt(key, &aad(&leaf.keys))
                        .ok_or_else(|| fail(ValueFailure::Decrypt))?;
                    Some(Plain::read(enc.ty, bytes).map_err(fail)?)
                }
                Scalar::String(_) | Scalar::Null => None,
                _ if encrypted => return Err(fail(ValueFailure::NotEncrypted)),
                _ => None,
            };
            match &plain {
                Some(p) => mac.add(p.mac_text().as_bytes()),
                None if !rules.mac_only_encrypted => {
                    if let Some(t) = plain_mac_text(&leaf.scalar) {
                        mac.add(t.as_bytes());
                    }
                }
                None => {}
            }
            plains.push(plain);
        }
        let mac_matched = self.check_mac(key, mac.finish())?;
        if !mac_matched && !options.ignore_mac {
            return Err(SopsError::MacMismatch);
        }
        let comments = self.decrypt_comments(key)?;
        let (format, text, selection) = match &self.layout {
            Layout::Text {
                format,
                remove,
                expected,
            } => self.write_text(*format, remove, expected.clone(), &plains, &comments)?,
            Layout::Lines(lines) => lines.write(&plains, &comments)?,
            Layout::Binary => self.write_binary(&plains, options.binary_as)?,
        };
        Ok(Imported {
            format,
            text,
            selection,
            encrypted: plains.iter().filter(|p| p.is_some()).count(),
            comments: comments.len(),
            mac_matched,
        })
    }

    /// Decrypts the MAC and compares it with the one computed.
    fn check_mac(&self, key: &DataKey, computed: String) -> Result<bool, SopsError> {
        let enc = EncValue::parse(&self.metadata.mac)
            .map_err(|why| SopsError::Mac(ValueFailure::Malformed(why)))?;
        let recorded = enc
            .decrypt(key, &self.metadata.lastmodified)
            .ok_or(SopsError::Mac(ValueFailure::Decrypt))?;
        Ok(recorded.as_slice() == computed.as_bytes())
    }

    /// Each encrypted comment's text, in order.
    fn decrypt_comments(&self, key: &DataKey) -> Result<Vec<Zeroizing<String>>, SopsError> {
        self.comments
            .iter()
            .map(|c| {
                let fail = |reason| SopsError::Value {
                    path: format!("the comment after {}", c.near),
                    reason,
                };
                let bytes = c
                    .aads
                    .iter()
                    .find_map(|a| c.enc.decrypt(key, a))
                    .ok_or_else(|| fail(ValueFailure::Decrypt))?;
                if c.enc.ty != EncType::Comment {
                    return Err(fail(ValueFailure::Plaintext(
                        "a value where a comment belongs",
                    )));
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map(Zeroizing::new)
                    .map_err(|_| fail(ValueFailure::Plaintext("bytes that are not UTF-8 text")))?;
                if text.contains(['\n', '\r']) {
                    return Err(fail(ValueFailure::Plaintext(
                        "more than one line, which would not stay a comment",
                    )));
                }
                Ok(text)
            })
            .collect()
    }

    fn write_text(
        &self,
        format: Format,
        remove: &Range<usize>,
        mut expected: Value,
        plains: &[Option<Plain>],
        comments: &[Zeroizing<String>],
    ) -> Result<(Format, Zeroizing<String>, Selection), SopsError> {
        let mut splices: Vec<(Range<usize>, Zeroizing<String>)> = Vec::new();
        let mut sealed = Vec::new();
        for (leaf, plain) in self.leaves.iter().zip(plains) {
            let Some(plain) = plain else { continue };
            let span = leaf.span.clone().ok_or(SopsError::Check)?;
            let lit = literal(format, plain, &leaf.path)?;
            let read = reading(format, plain, &lit).ok_or(SopsError::Check)?;
            replace(&mut expected, leaf.path.segments(), read);
            splices.push((span, lit));
            sealed.push(leaf.path.clone());
        }
        for (c, text) in self.comments.iter().zip(comments) {
            splices.push((c.span.clone(), text.clone()));
        }
        splices.push((remove.clone(), Zeroizing::new(String::new())));
        splices.sort_by_key(|(span, _)| span.start);
        let mut out = Zeroizing::new(String::with_capacity(self.text.len()));
        let mut at = 0;
        for (span, text) in &splices {
            if span.start < at {
                return Err(SopsError::Check);
            }
            push_wiped(&mut out, &self.text[at..span.start]);
            push_wiped(&mut out, text);
            at = span.end;
        }
        push_wiped(&mut out, &self.text[at..]);
        // The plain document must hold exactly the SOPS file's values, decrypted,
        // and nothing else: a literal or a removal that went wrong stops here.
        let got = tree::build(format, &out).map_err(|_| SopsError::Check)?;
        if got.len() != 1 || got[0] != expected {
            return Err(SopsError::Check);
        }
        Ok((format, out, Selection::Paths(sealed)))
    }

    fn write_binary(
        &self,
        plains: &[Option<Plain>],
        binary_as: Option<Format>,
    ) -> Result<(Format, Zeroizing<String>, Selection), SopsError> {
        let data = match plains.first() {
            Some(Some(Plain::Str(s))) => s.clone(),
            Some(Some(_)) => {
                return Err(SopsError::Unsupported(
                    "the data of a SOPS binary file is not of type str or bytes",
                ));
            }
            _ => Zeroizing::new(String::new()),
        };
        match binary_as {
            Some(format) => {
                // Its every value is sealed: SOPS had encrypted the whole file.
                format.scan(&data).map_err(|e| match e {
                    // The position would point into secret text: the format only.
                    crate::format::FormatError::Parse { format, .. } => SopsError::NotRepresentable {
                        path: "data".to_string(),
                        reason: match format {
                            Format::Toml => "decrypts to text that is not valid TOML; name the output by its real format (-o FILE.EXT)",
                            Format::Yaml => "decrypts to text that is not valid YAML; name the output by its real format (-o FILE.EXT)",
                            Format::Env => "decrypts to text that is not a valid .env file; name the output by its real format (-o FILE.EXT)",
                            _ => "decrypts to text that is not valid JSON; name the output by its real format (-o FILE.EXT)",
                        },
                    },
                    other => SopsError::Parse(other.into()),
                })?;
                Ok((format, data, Selection::Paths(vec![ValuePath::root()])))
            }
            None => {
                let mut out = Zeroizing::new(String::new());
                push_wiped(&mut out, "{\n\t\"data\": ");
                push_wiped(&mut out, &Format::Json.string_literal(&data));
                push_wiped(&mut out, "\n}\n");
                let data_path = ValuePath::root().child(Segment::Key("data".to_string()));
                Ok((Format::Json, out, Selection::Paths(vec![data_path])))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_follows_the_extension_as_sops_decides() {
        for (name, want) in [
            ("a.yaml", SopsFormat::Yaml),
            ("a.yml", SopsFormat::Yaml),
            ("a.json", SopsFormat::Json),
            ("secrets.env", SopsFormat::Dotenv),
            (".env", SopsFormat::Dotenv),
            ("a.ini", SopsFormat::Ini),
            ("a.toml", SopsFormat::Binary),
            (".env.production", SopsFormat::Binary),
            ("README", SopsFormat::Binary),
        ] {
            assert_eq!(SopsFormat::from_path(Path::new(name)), want, "{name}");
        }
    }

    #[test]
    fn a_file_without_metadata_is_not_sops() {
        assert_eq!(
            parse(SopsFormat::Yaml, "a: 1\n").unwrap_err(),
            SopsError::NotSops
        );
        assert_eq!(
            parse(SopsFormat::Json, "[1]").unwrap_err(),
            SopsError::NotSops
        );
    }

    const WHEN: &str = "2024-01-02T03:04:05Z";

    fn enc(key: &DataKey, plain: &str, aad: &str, ty: EncType) -> String {
        EncValue::encrypt(key, plain.as_bytes(), aad, [7; 32], ty)
            .unwrap()
            .to_string()
    }

    fn mac(key: &DataKey, values: &[&str]) -> String {
        let mut h = MacHasher::new(false);
        for v in values {
            h.add(v.as_bytes());
        }
        enc(key, &h.finish(), WHEN, EncType::Str)
    }

    #[test]
    fn a_dotenv_file_imports_with_its_comments_and_plain_values() {
        let key = DataKey::from_bytes([5; 32]);
        let text = format!(
            "#{}\nDB_PASSWORD={}\nPORT={}\nNOTE_unencrypted=two\\nlines\nsops_lastmodified={WHEN}\nsops_mac={}\nsops_unencrypted_suffix=_unencrypted\n",
            enc(&key, " the database", ":", EncType::Comment),
            enc(&key, "pa$$word", "DB_PASSWORD:", EncType::Str),
            enc(&key, "5432", "PORT:", EncType::Str),
            mac(&key, &["pa$$word", "5432", "two\nlines"]),
        );
        let file = parse(SopsFormat::Dotenv, &text).unwrap();
        let out = file.decrypt(&key, ImportOptions::default()).unwrap();
        assert_eq!(out.format, Format::Env);
        assert_eq!(
            out.text.as_str(),
            "# the database\nDB_PASSWORD='pa$$word'\nPORT=5432\nNOTE_unencrypted=\"two\\nlines\"\n"
        );
        let paths: Vec<ValuePath> = vec!["DB_PASSWORD".parse().unwrap(), "PORT".parse().unwrap()];
        assert!(matches!(&out.selection, Selection::Paths(p) if *p == paths));
        assert_eq!((out.encrypted, out.comments, out.mac_matched), (2, 1, true));

        // The MAC covers the plain value too.
        let edited = text.replace("two\\nlines", "two\\nLINES");
        let file = parse(SopsFormat::Dotenv, &edited).unwrap();
        let e = file.decrypt(&key, ImportOptions::default()).unwrap_err();
        assert_eq!(e, SopsError::MacMismatch);
        let ignored = ImportOptions {
            ignore_mac: true,
            ..ImportOptions::default()
        };
        assert!(!file.decrypt(&key, ignored).unwrap().mac_matched);

        // A value moved to another key does not decrypt, and says where it is.
        let moved = text.replacen("PORT=", "PORT2=", 1);
        let file = parse(SopsFormat::Dotenv, &moved).unwrap();
        let e = file.decrypt(&key, ImportOptions::default()).unwrap_err();
        assert_eq!(e.to_string().split(':').next(), Some("PORT2"));
        assert_eq!(
            crate::error::Classified::kind(&e),
            crate::error::ErrorKind::Open
        );
    }

    #[test]
    fn a_binary_file_named_by_a_format_imports_as_that_format() {
        let key = DataKey::from_bytes([6; 32]);
        let toml = "# settings\n[db]\npassword = \"pw\"\nport = 5432\n";
        let text = format!(
            "{{\"data\": \"{}\", \"sops\": {{\"lastmodified\": \"{WHEN}\", \"mac\": \"{}\"}}}}",
            enc(&key, toml, "data:", EncType::Str),
            mac(&key, &[toml]),
        );
        let file = parse(SopsFormat::Binary, &text).unwrap();
        let as_toml = ImportOptions {
            binary_as: Some(Format::Toml),
            ..ImportOptions::default()
        };
        let out = file.decrypt(&key, as_toml).unwrap();
        assert_eq!((out.format, out.text.as_str()), (Format::Toml, toml));
        assert!(matches!(&out.selection, Selection::Paths(p) if *p == [ValuePath::root()]));
        let wrapped = file.decrypt(&key, ImportOptions::default()).unwrap();
        assert_eq!(wrapped.format, Format::Json);
        assert!(
            wrapped
                .text
                .starts_with("{\n\t\"data\": \"# settings\\n[db]")
        );
        let as_yaml = ImportOptions {
            binary_as: Some(Format::Env),
            ..ImportOptions::default()
        };
        let e = file.decrypt(&key, as_yaml).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("data: decrypts to text that is not a valid .env file")
        );
    }

    #[test]
    fn a_file_encrypted_to_pgp_only_says_so() {
        let text = format!(
            "a: ENC[AES256_GCM,data:KhLDS2R2,iv:onHYft9ubwdfdwOOsO9yET9xe6x3UHGl+Ov/LApkCmU=,tag:dzjQG/MOmlGZjMGPhqXIvQ==,type:str]\nsops:\n    pgp:\n        - fp: ABC\n          enc: x\n    lastmodified: \"{WHEN}\"\n    mac: m\n"
        );
        let file = parse(SopsFormat::Yaml, &text).unwrap();
        let e = unwrap_data_key(&file.metadata, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the data key is encrypted to pgp only, not to age; add an age recipient with `sops updatekeys` (or `sops rotate --add-age`) first"
        );
    }

    #[test]
    fn unsupported_metadata_is_named() {
        let text = "a: 1\nsops:\n    key_groups:\n        - age: []\n        - age: []\n    lastmodified: x\n    mac: m\n";
        let e = parse(SopsFormat::Yaml, text).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("sops.key_groups: splits the data key"),
            "{e}"
        );
        let text = "a: 1\n---\nb: 2\n";
        let e = parse(SopsFormat::Yaml, text).unwrap_err();
        assert!(e.to_string().contains("several YAML documents"), "{e}");
    }
}
