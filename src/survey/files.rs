//! A survey of a repository's configuration files, without any key: which
//! environment covers each file, and for each value whether it is sealed (to which
//! key id, and when), a merge conflict, a malformed token, or plain text (and then
//! whether the policy seals it and whether it looks like a credential).
//!
//! `cachet rotate`, `cachet prune`, `cachet check` and `cachet audit` all find the
//! files with one walk, [`crate::worktree::walk`]; `check` and `audit` read them
//! with [`survey_file`]. Which files are surveyed is normative in `spec/audit.md`.

use std::path::Path;
use std::sync::LazyLock;

use super::credential::{self, CredentialKind};
use crate::document::Error;
use crate::document::attestation::{self, AttestError, AttestPublicKey, Attestation};
use crate::document::selection::{self, ContentRule, Selection};
use crate::format::{Format, Node};
use crate::path::ValuePath;
use crate::seal::{Conflict, KeyId, OpenError, SealedAt, Token};
use crate::team::keyring::Keyring;
use crate::team::policy::{POLICY_FILE, Policy, PolicyError};

/// Why the policy seals a plain value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealReason {
    /// Its key name ends with a secret word (`password`, `token`, `api_key`…).
    Name,
    /// Its content is a URL with a password or holds a PEM private key.
    Content(CredentialKind),
    /// One of the environment's `seal` globs names it.
    PolicyGlob,
}

impl SealReason {
    /// A stable, machine-readable name: `name`, `content` or `policy-glob`.
    pub fn id(self) -> &'static str {
        match self {
            SealReason::Name => "name",
            SealReason::Content(_) => "content",
            SealReason::PolicyGlob => "policy-glob",
        }
    }
}

/// What one scalar value of a document is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueState {
    /// A sealed value: the key id it was sealed to and when.
    Sealed {
        /// The key id the token carries.
        key_id: KeyId,
        /// The token's sealed-at time: when the value was last set.
        sealed_at: SealedAt,
    },
    /// A merge conflict marker (`spec/git.md`): two sealed sides.
    Conflict {
        /// Our side's key id and sealed-at.
        ours: (KeyId, SealedAt),
        /// Their side's key id and sealed-at.
        theirs: (KeyId, SealedAt),
    },
    /// A string that is meant to be a token but does not follow the grammar.
    Malformed(OpenError),
    /// A plain value.
    Plain {
        /// Why the policy (or, for a file of no environment, the default rule)
        /// seals it; `None` when it does not, or when it is an empty string.
        must_seal: Option<SealReason>,
        /// The kind of credential its content is, when it is a string that holds
        /// one (placeholders excluded).
        credential: Option<CredentialKind>,
        /// A string that is a placeholder (`changeme`, `${DB_PASSWORD}`), which
        /// holds nothing secret.
        placeholder: bool,
    },
}

impl ValueState {
    /// The key id and sealed-at of a sealed value (a conflict's: our side's).
    pub fn sealed(&self) -> Option<(KeyId, SealedAt)> {
        match self {
            ValueState::Sealed { key_id, sealed_at } => Some((*key_id, *sealed_at)),
            ValueState::Conflict { ours, .. } => Some(*ours),
            _ => None,
        }
    }
}

/// One scalar value of a surveyed document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyedValue {
    /// 0-based document index (YAML multi-document files; 0 otherwise).
    pub document: u32,
    /// Where the value is.
    pub path: ValuePath,
    /// What it is.
    pub state: ValueState,
}

/// Surveys every scalar value of a document. `selection` is the file's
/// environment's (the default rule for a file of no environment). Opens nothing.
pub fn survey_document(
    format: Format,
    text: &str,
    selection: &Selection,
) -> Result<Vec<SurveyedValue>, Error> {
    let mut nodes: Vec<Node> = format.scan(text)?;
    nodes.retain(Node::is_scalar);
    nodes.sort_by_key(|n| (n.document, n.span.start));
    Ok(nodes
        .into_iter()
        .map(|node| {
            let string = node.string();
            let state = match string.filter(|s| Token::looks_sealed(s)) {
                Some(s) => match Conflict::parse(s) {
                    Some(Ok(c)) => ValueState::Conflict {
                        ours: (c.ours.key_id, c.ours.sealed_at),
                        theirs: (c.theirs.key_id, c.theirs.sealed_at),
                    },
                    Some(Err(e)) => ValueState::Malformed(e),
                    None => match Token::parse(s) {
                        Ok(t) => ValueState::Sealed {
                            key_id: t.key_id,
                            sealed_at: t.sealed_at,
                        },
                        Err(e) => ValueState::Malformed(e),
                    },
                },
                None => ValueState::Plain {
                    must_seal: seal_reason(selection, &node.path, string),
                    credential: string.and_then(credential::detect),
                    placeholder: string.is_some_and(credential::is_placeholder),
                },
            };
            SurveyedValue {
                document: node.document,
                path: node.path.clone(),
                state,
            }
        })
        .collect())
}

fn seal_reason(
    selection: &Selection,
    path: &ValuePath,
    string: Option<&str>,
) -> Option<SealReason> {
    // An empty string holds nothing to hide.
    if string.is_some_and(str::is_empty) || !selection.wants(path, string) {
        return None;
    }
    Some(if path.name().is_some_and(selection::name_is_secret) {
        SealReason::Name
    } else if let Some(rule) = string.and_then(selection::content_rule) {
        SealReason::Content(match rule {
            ContentRule::PemPrivateKey => CredentialKind::PemPrivateKey,
            ContentRule::AgeSecretKey => CredentialKind::AgeSecretKey,
            ContentRule::ConnectionStringPassword => CredentialKind::ConnectionStringPassword,
            ContentRule::UrlWithPassword => CredentialKind::UrlWithPassword,
        })
    } else {
        SealReason::PolicyGlob
    })
}

/// Why a file's values could not be surveyed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileProblem {
    /// Two environments' globs cover the file.
    Overlap(PolicyError),
    /// The file holds a token, but its name does not say its format.
    UnknownFormat,
    /// The file is not UTF-8 text.
    NotUtf8,
    /// The file does not parse in its format (the error names line and column).
    Parse(Error),
    /// The path an environment covers is a symbolic link, which is not followed.
    Symlink,
    /// A file that is not configuration cachet reads (no format, not UTF-8, or
    /// not parseable) holds a private key: an identity file, a key kept beside
    /// the code.
    PrivateKey(CredentialKind),
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::Overlap(e) => write!(f, "{POLICY_FILE}: {e}"),
            FileProblem::UnknownFormat => f.write_str(
                "holds a sealed value but its format is not known from its name; rename it, or take it out of the environment's files",
            ),
            FileProblem::NotUtf8 => f.write_str("not UTF-8 text, so its values cannot be checked"),
            FileProblem::Parse(e) => write!(f, "cannot be checked: {e}"),
            FileProblem::PrivateKey(kind) => write!(
                f,
                "holds {kind}, which does not belong in a repository: remove the file (and make a new key if this was ever pushed)"
            ),
            FileProblem::Symlink => f.write_str(
                "a symbolic link, which cachet does not follow in a tree: what it points to is not checked as this environment's file; commit the file itself",
            ),
        }
    }
}

/// One surveyed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSurvey {
    /// Its path relative to the root, `/`-separated.
    pub rel: String,
    /// The environment that covers it (`None`: no environment does).
    pub environment: Option<String>,
    /// Its format, from its name.
    pub format: Option<Format>,
    /// Its values in document order, or why they could not be read.
    pub values: Result<Vec<SurveyedValue>, FileProblem>,
    /// Its attestation (`spec/attest.md`), for a file of a known format that
    /// was read ([`attestation_state`]).
    pub attestation: Option<AttestationState>,
    /// The first value that did not open although a key given to the survey is
    /// the one it is sealed to (`spec/audit.md` 4.2, `unopenable`), and why.
    pub unopenable: Option<(ValuePath, OpenError)>,
}

/// A file's attestation as `check` and `audit` read it, with the public half of
/// its environment's attestation key from the policy (`spec/attest.md` 7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttestationState {
    /// The file carries no attestation: it is proposed.
    Proposed,
    /// Its attestation is damaged, names another file, or does not verify with
    /// the policy's attestation key.
    Invalid(AttestError),
    /// It carries an attestation for this file, which verifies with the policy's
    /// attestation key when `verified` (else the policy records none).
    Attested {
        /// The attestation.
        attestation: Attestation,
        /// Whether it was checked against the policy's attestation key.
        verified: bool,
    },
}

/// The attestation state of the file `rel` (relative to the policy's
/// directory) holding `text` in `format`, with `sidecar` the text of its
/// sidecar for strict JSON, checked with `attest_key` when the policy has one.
pub fn attestation_state(
    (format, rel): (Format, &str),
    text: &str,
    sidecar: Option<&str>,
    attest_key: Option<&AttestPublicKey>,
) -> AttestationState {
    let (body, parsed) = attestation::find(format, text, sidecar);
    let attestation = match parsed {
        Ok(Some(a)) => a,
        Ok(None) => return AttestationState::Proposed,
        Err(e) => return AttestationState::Invalid(e),
    };
    if attestation.file != rel {
        return AttestationState::Invalid(AttestError::OtherFile(attestation.file));
    }
    match attest_key.map(|k| attestation.verify(body, k)) {
        Some(Err(e)) => AttestationState::Invalid(e),
        checked => AttestationState::Attested {
            attestation,
            verified: checked.is_some(),
        },
    }
}

impl FileSurvey {
    /// Whether any value is sealed (or a conflict, or a malformed token).
    pub fn holds_tokens(&self) -> bool {
        self.values.as_ref().is_ok_and(|v| {
            v.iter()
                .any(|v| !matches!(v.state, ValueState::Plain { .. }))
        })
    }
}

/// Surveys a symbolic link at `rel`: a problem when an environment covers the
/// path (its values would be opened through the link, yet the file it points to
/// is checked, if at all, under its own path's rules); `None` otherwise.
pub fn survey_link(rel: &str, policy: &Policy) -> Option<FileSurvey> {
    let (environment, values) = match policy.environment_for(rel) {
        Ok(Some(e)) => (Some(e.name.clone()), Err(FileProblem::Symlink)),
        Ok(None) => return None,
        Err(e) => (None, Err(FileProblem::Overlap(e))),
    };
    Some(FileSurvey {
        rel: rel.to_string(),
        environment,
        format: Format::from_path(Path::new(rel)),
        values,
        attestation: None,
        unopenable: None,
    })
}

/// Surveys one file's content, `rel` being its path relative to the policy's
/// directory. `None` when the file is not one to survey (`spec/audit.md`,
/// "Which files"): the policy file itself; a file no environment covers unless it
/// holds a token, a plain value the default rule would seal, or a credential; a
/// covered file whose name gives no format and that holds no token.
pub fn survey_file(rel: &str, bytes: &[u8], policy: &Policy) -> Option<FileSurvey> {
    if rel == POLICY_FILE {
        return None;
    }
    let holds_token = bytes.windows(7).any(|w| w == b"cachet:");
    let (environment, overlap) = match policy.environment_for(rel) {
        Ok(e) => (e, None),
        Err(e) => (None, Some(e)),
    };
    let format = Format::from_path(Path::new(rel));
    let file = |values| {
        Some(FileSurvey {
            rel: rel.to_string(),
            environment: environment.map(|e| e.name.clone()),
            format,
            values,
            attestation: None,
            unopenable: None,
        })
    };
    if let Some(e) = overlap {
        return file(Err(FileProblem::Overlap(e)));
    }
    let covered = environment.is_some();
    // Whatever the file is, a private key in it is a problem; in configuration
    // cachet reads, its values say so one by one.
    let private_key = || {
        // Most files hold none of the markers: one literal search (regex's
        // substring search) skips the detectors for them.
        static MARKERS: LazyLock<Option<regex::bytes::Regex>> = LazyLock::new(|| {
            regex::bytes::Regex::new("AGE-SECRET-KEY-1|cachet-identity:|PRIVATE KEY").ok()
        });
        if !MARKERS.as_ref().is_none_or(|m| m.is_match(bytes)) {
            return None;
        }
        let text = String::from_utf8_lossy(bytes);
        [
            CredentialKind::AgeSecretKey,
            CredentialKind::ProtectedIdentity,
            CredentialKind::PemPrivateKey,
        ]
        .into_iter()
        .find(|k| credential::holds(*k, &text))
    };
    let Some(format) = format else {
        if let Some(kind) = private_key() {
            return file(Err(FileProblem::PrivateKey(kind)));
        }
        // A strict JSON file's attestation (spec/attest.md 4.2) is cachet's own.
        let sidecar = rel.ends_with(crate::document::attestation::SIDECAR_SUFFIX);
        return if holds_token && covered && !sidecar {
            file(Err(FileProblem::UnknownFormat))
        } else {
            None
        };
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        if let Some(kind) = private_key() {
            return file(Err(FileProblem::PrivateKey(kind)));
        }
        return (covered || holds_token).then(|| file(Err(FileProblem::NotUtf8)))?;
    };
    let selection = environment.map_or(Selection::Default, |e| e.selection());
    match survey_document(format, text, &selection) {
        Ok(values) => {
            let interesting = covered
                || values.iter().any(|v| match &v.state {
                    ValueState::Plain {
                        must_seal,
                        credential,
                        ..
                    } => must_seal.is_some() || credential.is_some(),
                    _ => true,
                });
            interesting.then(|| file(Ok(values)))?
        }
        // A configuration file of no environment that does not parse (a template,
        // say) is none of cachet's business, unless it holds a token.
        Err(e) => match private_key() {
            Some(kind) => file(Err(FileProblem::PrivateKey(kind))),
            None => (covered || holds_token).then(|| file(Err(FileProblem::Parse(e))))?,
        },
    }
}

/// What a key id is to the policy and the keyrings that could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus<'a> {
    /// The current key of this environment.
    Current(&'a str),
    /// A retired key of this environment, kept in its keyring.
    Retired(&'a str, SealedAt),
    /// No environment of the policy, and no keyring read, has it.
    Unknown,
}

/// Which environment each known key id belongs to: the policy's current keys and
/// the keys of the keyrings that could be opened.
#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    keys: Vec<(KeyId, String, Option<SealedAt>)>,
    keyrings: Vec<String>,
}

impl KeyIndex {
    /// The current key of every environment of the policy.
    pub fn new(policy: &Policy) -> KeyIndex {
        KeyIndex {
            keys: policy
                .environments
                .iter()
                .map(|e| (e.public_key.key_id(), e.name.clone(), None))
                .collect(),
            keyrings: Vec::new(),
        }
    }

    /// Adds the keys of an environment's opened keyring (its retired keys, and its
    /// current key should the policy name another).
    pub fn add_keyring(&mut self, ring: &Keyring) {
        for k in &ring.keys {
            let id = k.secret.public_key().key_id();
            if !self.keys.iter().any(|(known, _, _)| *known == id) {
                self.keys.push((id, ring.environment.clone(), k.retired));
            }
        }
        self.keyrings.push(ring.environment.clone());
    }

    /// Whether the keyring of `environment` was added.
    pub fn keyring_read(&self, environment: &str) -> bool {
        self.keyrings.iter().any(|e| e == environment)
    }

    /// What `id` is.
    pub fn status(&self, id: &KeyId) -> KeyStatus<'_> {
        match self.keys.iter().find(|(k, _, _)| k == id) {
            Some((_, env, None)) => KeyStatus::Current(env),
            Some((_, env, Some(retired))) => KeyStatus::Retired(env, *retired),
            None => KeyStatus::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key::SecretKey;

    fn policy() -> Policy {
        let pk = SecretKey::from_bytes([1; 32]).public_key();
        Policy::parse(&format!(
            "version = 1\n[environments.prod]\npublic_key = \"{pk}\"\ncreated = \"2026-01-02T03:04:05Z\"\nfiles = [\"prod/**\"]\nseal = [\"extra\"]\n"
        ))
        .unwrap()
    }

    #[test]
    fn values_are_told_apart_and_reasons_given() {
        let key = SecretKey::from_bytes([1; 32]);
        let mut sealer = crate::seal::Sealer::new(&key.public_key()).unwrap();
        let text = "password = \"hunter2\"\nempty_password = \"\"\nextra = \"x\"\nurl = \"postgres://a:pw9x@c/d\"\naws = \"AKIAZ7VRSQ5TJN2XB4KD\"\nhost = \"h\"\nsealed_token = \"t\"\n";
        let (sealed, _) = crate::seal_document(
            Format::Toml,
            text,
            &Selection::Paths(vec!["sealed_token".parse().unwrap()]),
            &mut sealer,
        )
        .unwrap();
        let sealed = format!("{sealed}bad = \"cachet:v1:nope\"\n");
        let s = survey_file("prod/app.toml", sealed.as_bytes(), &policy()).unwrap();
        assert_eq!(s.environment.as_deref(), Some("prod"));
        let values = s.values.unwrap();
        let state = |p: &str| {
            values
                .iter()
                .find(|v| v.path.to_string() == p)
                .unwrap()
                .state
                .clone()
        };
        let plain = |must_seal, credential, placeholder| ValueState::Plain {
            must_seal,
            credential,
            placeholder,
        };
        assert_eq!(
            state("password"),
            plain(Some(SealReason::Name), None, false)
        );
        // Empty, and one character repeated: placeholders.
        assert_eq!(state("empty_password"), plain(None, None, true));
        assert_eq!(
            state("extra"),
            plain(Some(SealReason::PolicyGlob), None, true)
        );
        assert_eq!(
            state("url"),
            plain(
                Some(SealReason::Content(CredentialKind::UrlWithPassword)),
                Some(CredentialKind::UrlWithPassword),
                false
            )
        );
        assert_eq!(
            state("aws"),
            plain(None, Some(CredentialKind::AwsAccessKeyId), false)
        );
        assert_eq!(state("host"), plain(None, None, true));
        assert_eq!(
            state("sealed_token"),
            ValueState::Sealed {
                key_id: key.public_key().key_id(),
                sealed_at: sealer.sealed_at()
            }
        );
        assert!(matches!(state("bad"), ValueState::Malformed(_)));

        let index = KeyIndex::new(&policy());
        assert_eq!(
            index.status(&key.public_key().key_id()),
            KeyStatus::Current("prod")
        );
        let other = SecretKey::from_bytes([2; 32]).public_key().key_id();
        assert_eq!(index.status(&other), KeyStatus::Unknown);
        assert!(!index.keyring_read("prod"));
    }

    #[test]
    fn files_of_no_environment_are_surveyed_only_when_they_matter() {
        let p = policy();
        assert!(survey_file("Cargo.toml", b"[package]\nname = \"x\"\n", &p).is_none());
        assert!(survey_file("tpl.yaml", b"{{ broken: [\n", &p).is_none());
        assert!(survey_file("README.md", b"password: x\n", &p).is_none());
        assert!(survey_file(".cachet.toml", b"password = \"x\"\n", &p).is_none());
        let s = survey_file("app.toml", b"db_password = \"x\"\n", &p).unwrap();
        assert_eq!(s.environment, None);
        assert!(s.values.is_ok());
        let s = survey_file("prod/logo.png", b"\x89PNG cachet:v1:", &p).unwrap();
        assert_eq!(s.values, Err(FileProblem::UnknownFormat));
        assert!(survey_file("prod/logo.png", b"\x89PNG", &p).is_none());
        let s = survey_file("prod/app.toml", b"x = [\n", &p).unwrap();
        assert!(matches!(s.values, Err(FileProblem::Parse(_))));
    }
}
