//! The `sops` metadata block: the data key's age stanzas, the MAC, and the rules
//! that chose which values SOPS encrypted (`spec/import-sops.md`).

use regex::Regex;
use sha2::{Digest, Sha512};

use super::SopsError;
use crate::document::tree::Value;
use crate::format::Scalar;

/// The data key encrypted to one age recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeStanza {
    /// The recipient (`age1…`), as recorded.
    pub recipient: String,
    /// The data key as an armored age file.
    pub enc: String,
}

/// Which values SOPS encrypts, as recorded in the file. At most one of the four
/// key rules is set; with none, every value is encrypted.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Values under a key ending with this stay plain.
    pub unencrypted_suffix: Option<String>,
    /// Only values under a key ending with this are encrypted.
    pub encrypted_suffix: Option<String>,
    /// Values under a key matching this stay plain.
    pub unencrypted_regex: Option<Regex>,
    /// Only values under a key matching this are encrypted.
    pub encrypted_regex: Option<Regex>,
    /// The MAC covers the encrypted values only (else every value).
    pub mac_only_encrypted: bool,
}

impl Rules {
    /// Whether SOPS encrypts a value under the map keys `path` (sequence indices
    /// left out), in SOPS's order: each rule that is set overrides the ones before.
    pub fn encrypts(&self, path: &[String]) -> bool {
        let mut encrypted = true;
        if let Some(s) = &self.unencrypted_suffix
            && path.iter().any(|k| k.ends_with(s.as_str()))
        {
            encrypted = false;
        }
        if let Some(s) = &self.encrypted_suffix {
            encrypted = path.iter().any(|k| k.ends_with(s.as_str()));
        }
        if let Some(r) = &self.unencrypted_regex
            && path.iter().any(|k| r.is_match(k))
        {
            encrypted = false;
        }
        if let Some(r) = &self.encrypted_regex {
            encrypted = path.iter().any(|k| r.is_match(k));
        }
        encrypted
    }
}

/// What the `sops` block of a file records.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// The data key's age stanzas.
    pub age: Vec<AgeStanza>,
    /// Other kinds of key the data key is encrypted to (`pgp`, `kms`, …), by name.
    pub other_keys: Vec<&'static str>,
    /// The `lastmodified` text: the MAC's associated data.
    pub lastmodified: String,
    /// The encrypted MAC, as written.
    pub mac: String,
    /// The rules that chose the encrypted values.
    pub rules: Rules,
    /// The SOPS version that wrote the file, when recorded.
    pub version: Option<String>,
}

/// The kinds of key SOPS can encrypt the data key to besides age.
const OTHER_KEYS: [&str; 5] = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault"];

fn field_error(field: &str, reason: &'static str) -> SopsError {
    SopsError::Metadata {
        field: format!("sops.{field}"),
        reason,
    }
}

/// A scalar's text, for fields that SOPS writes as strings but a YAML reader may
/// type (`version: 3.8`, `mac_only_encrypted: true`).
fn scalar_text(v: &Value) -> Option<&str> {
    match v {
        Value::Scalar(s @ (Scalar::String(_) | Scalar::Integer(_) | Scalar::Float(_))) => {
            Some(s.text())
        }
        Value::Scalar(Scalar::Bool(b)) => Some(if *b { "true" } else { "false" }),
        _ => None,
    }
}

fn string_field(table: &[(String, Value)], name: &str) -> Result<Option<String>, SopsError> {
    match table.iter().find(|(k, _)| k == name) {
        None | Some((_, Value::Scalar(Scalar::Null))) => Ok(None),
        Some((_, v)) => scalar_text(v)
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| field_error(name, "is not a string")),
    }
}

fn nonempty(table: &[(String, Value)], name: &str) -> Result<Option<String>, SopsError> {
    Ok(string_field(table, name)?.filter(|s| !s.is_empty()))
}

fn regex_field(table: &[(String, Value)], name: &str) -> Result<Option<Regex>, SopsError> {
    nonempty(table, name)?
        .map(|r| {
            Regex::new(&r)
                .map_err(|_| field_error(name, "is not a regular expression this importer reads"))
        })
        .transpose()
}

fn age_stanzas(list: &Value, field: &str) -> Result<Vec<AgeStanza>, SopsError> {
    let items = match list {
        Value::Scalar(Scalar::Null) => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(field_error(field, "is not a list")),
    };
    items
        .iter()
        .map(|item| {
            let Value::Table(t) = item else {
                return Err(field_error(field, "holds an entry that is not a mapping"));
            };
            let recipient = string_field(t, "recipient")?
                .ok_or_else(|| field_error(field, "holds an entry without a recipient"))?;
            let enc = string_field(t, "enc")?
                .ok_or_else(|| field_error(field, "holds an entry without enc"))?;
            Ok(AgeStanza { recipient, enc })
        })
        .collect()
}

fn is_set(v: &Value) -> bool {
    match v {
        Value::Scalar(Scalar::Null) => false,
        Value::Array(items) => !items.is_empty(),
        Value::Table(t) => !t.is_empty(),
        Value::Scalar(s) => !s.text().is_empty(),
    }
}

impl Metadata {
    /// Reads the `sops` block (a mapping, already parsed from any store).
    pub fn from_value(value: &Value) -> Result<Metadata, SopsError> {
        let Value::Table(t) = value else {
            return Err(SopsError::Metadata {
                field: "sops".to_string(),
                reason: "is not a mapping",
            });
        };
        for unsupported in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
            if t.iter().any(|(k, v)| k == unsupported && is_set(v)) {
                return Err(field_error(
                    unsupported,
                    "is a rule this importer does not read; decrypt the file with sops and seal it with `cachet seal`",
                ));
            }
        }
        let mut age = match t.iter().find(|(k, _)| k == "age") {
            Some((_, v)) => age_stanzas(v, "age")?,
            None => Vec::new(),
        };
        let mut other_keys: Vec<&'static str> = OTHER_KEYS
            .into_iter()
            .filter(|name| t.iter().any(|(k, v)| k == name && is_set(v)))
            .collect();
        if let Some((_, groups)) = t.iter().find(|(k, _)| k == "key_groups")
            && is_set(groups)
        {
            // Several groups split the data key with Shamir's scheme; one group
            // holds it whole, like the top-level lists.
            let Value::Array(groups) = groups else {
                return Err(field_error("key_groups", "is not a list"));
            };
            let [Value::Table(group)] = groups.as_slice() else {
                return Err(field_error(
                    "key_groups",
                    "splits the data key among several key groups (Shamir), which this importer does not read; decrypt with sops and seal with `cachet seal`",
                ));
            };
            for (k, v) in group {
                if k == "age" {
                    age.extend(age_stanzas(v, "key_groups[0].age")?);
                } else if let Some(name) = OTHER_KEYS.into_iter().find(|n| n == k)
                    && is_set(v)
                {
                    other_keys.push(name);
                }
            }
        }
        let lastmodified = string_field(t, "lastmodified")?
            .ok_or_else(|| field_error("lastmodified", "is missing"))?;
        let mac = string_field(t, "mac")?.ok_or_else(|| field_error("mac", "is missing"))?;
        let mac_only_encrypted = match string_field(t, "mac_only_encrypted")?.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(field_error("mac_only_encrypted", "is not true or false")),
        };
        let rules = Rules {
            unencrypted_suffix: nonempty(t, "unencrypted_suffix")?,
            encrypted_suffix: nonempty(t, "encrypted_suffix")?,
            unencrypted_regex: regex_field(t, "unencrypted_regex")?,
            encrypted_regex: regex_field(t, "encrypted_regex")?,
            mac_only_encrypted,
        };
        Ok(Metadata {
            age,
            other_keys,
            lastmodified,
            mac,
            rules,
            version: string_field(t, "version")?,
        })
    }
}

/// What SOPS hashes first when the MAC covers the encrypted values only, so that
/// such a MAC never equals one over every value (a constant of SOPS's format).
const MAC_ONLY_ENCRYPTED_PREFIX: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// SOPS's MAC: SHA-512 over the values' texts in document order, written as
/// upper-case hex.
pub struct MacHasher(Sha512);

impl MacHasher {
    /// A MAC over every value, or (`only_encrypted`) over the encrypted ones.
    pub fn new(only_encrypted: bool) -> MacHasher {
        let mut h = Sha512::new();
        if only_encrypted {
            h.update(MAC_ONLY_ENCRYPTED_PREFIX);
        }
        MacHasher(h)
    }

    /// Adds one value's text as SOPS writes it into the hash.
    pub fn add(&mut self, text: &[u8]) {
        self.0.update(text);
    }

    /// The MAC as SOPS writes it before encrypting it.
    pub fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }
}

/// A float's text as Go's `strconv.FormatFloat(f, 'f', -1, 64)` writes it, which
/// is what SOPS hashes: the shortest digits that read back, never an exponent.
pub fn go_float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        // Display is the shortest round-trip text without an exponent, as Go's.
        format!("{f}")
    }
}

/// Go's `strconv.ParseBool`, which SOPS uses to read a decrypted boolean.
pub fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_hash_as_go_writes_them() {
        for (f, want) in [
            (1234568000.0, "1234568000"),
            (1234.56789, "1234.56789"),
            (-0.0, "-0"),
            (1e-7, "0.0000001"),
            (1e21, "1000000000000000000000"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(go_float_text(f), want);
        }
    }

    #[test]
    fn the_last_rule_that_is_set_decides() {
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut r = Rules::default();
        assert!(r.encrypts(&path(&["a"])));
        r.unencrypted_suffix = Some("_unencrypted".into());
        assert!(!r.encrypts(&path(&["a_unencrypted", "b"])));
        assert!(r.encrypts(&path(&["a", "b"])));
        let r = Rules {
            encrypted_regex: Some(Regex::new("^enc").unwrap()),
            ..Rules::default()
        };
        assert!(r.encrypts(&path(&["x", "enc_1", "y"])));
        assert!(!r.encrypts(&path(&["x", "y"])));
    }
}
