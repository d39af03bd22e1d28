//! An environment's keyring: its private key(s), encrypted with age to the
//! environment's members, stored ASCII-armored in `.cachet/keys/<env>.age`.
//!
//! The decrypted content is an ordinary age identity file (so `age -d -i KEY` gives
//! a file a deploy target can use as it is) whose `#:` comment lines carry, as TOML,
//! the environment's name, its member list and each key's dates. Because that list
//! is inside the encryption, a member list edited by hand in `.cachet.toml`, or a
//! public key swapped there, shows up as a difference. The layout is normative in
//! `spec/policy.md`, "Keyrings".

use std::io::{Read, Write};

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};
use zeroize::Zeroizing;

use std::fmt;

use crate::error::{Classified, ErrorKind};
use crate::seal::key::{Identities, KeyError, KeyId, SecretKey};
use crate::seal::token::SealedAt;
use crate::team::member::{Member, MemberRecipient};

/// age's messages may span lines; ours never do.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
        .filter(|w| !w.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The version of the keyring content layout.
pub const KEYRING_VERSION: i64 = 1;

/// Largest keyring file read, armored (a keyring holds a few keys and members).
const MAX_KEYRING_BYTES: usize = 4 << 20;

/// One of an environment's keys.
#[derive(Clone, Debug)]
pub struct KeyringKey {
    /// The private key.
    pub secret: SecretKey,
    /// When the key was created.
    pub created: SealedAt,
    /// When the key was replaced by a newer one; `None` for the current key.
    pub retired: Option<SealedAt>,
}

/// The decrypted content of a keyring.
#[derive(Clone, Debug)]
pub struct Keyring {
    /// The environment's name.
    pub environment: String,
    /// Who the keyring is encrypted to, sorted by name.
    pub members: Vec<Member>,
    /// The keys: exactly one current key, and retired ones still in use.
    pub keys: Vec<KeyringKey>,
}

impl Keyring {
    /// A keyring for a new environment whose only key is `key`.
    pub fn new(environment: &str, key: SecretKey, created: SealedAt, members: Vec<Member>) -> Self {
        let mut k = Keyring {
            environment: environment.to_string(),
            members,
            keys: vec![KeyringKey {
                secret: key,
                created,
                retired: None,
            }],
        };
        k.members.sort();
        k
    }

    /// Whether `key` is a retired key of this keyring (a policy still naming one
    /// is a rotation in progress).
    pub fn has_retired(&self, key: &KeyId) -> bool {
        self.keys
            .iter()
            .any(|k| k.retired.is_some() && k.secret.public_key().key_id() == *key)
    }

    /// The current key (the one that is not retired).
    pub fn current(&self) -> &KeyringKey {
        // `parse` and `new` guarantee exactly one current key; the first key is a
        // safe answer should a caller have edited `keys` by hand.
        self.keys
            .iter()
            .find(|k| k.retired.is_none())
            .unwrap_or(&self.keys[0])
    }

    /// Every key of the keyring, current and retired, for opening values.
    pub fn identities(&self) -> Identities {
        let mut ids = Identities::new();
        ids.extend(self.keys.iter().map(|k| k.secret.clone()));
        ids
    }

    /// The plaintext: an age identity file with the metadata in `#:` lines.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut doc = DocumentMut::new();
        doc["version"] = value(KEYRING_VERSION);
        doc["environment"] = value(self.environment.as_str());
        let mut members = Table::new();
        for m in &self.members {
            members.insert(&m.name, value(m.recipient.to_string()));
        }
        doc["members"] = Item::Table(members);
        let mut keys = ArrayOfTables::new();
        for k in &self.keys {
            let mut t = Table::new();
            t["public_key"] = value(k.secret.public_key().to_string());
            t["created"] = value(k.created.rfc3339());
            if let Some(r) = k.retired {
                t["retired"] = value(r.rfc3339());
            }
            keys.push(t);
        }
        doc["keys"] = Item::ArrayOfTables(keys);

        let mut out = Zeroizing::new(String::new());
        out.push_str(&format!(
            "# cachet keyring of environment {:?} (spec/policy.md, \"Keyrings\").\n",
            self.environment
        ));
        out.push_str(
            "# Whoever reads this text can open every value sealed for the environment.\n",
        );
        for line in doc.to_string().lines() {
            out.push_str("#:");
            if !line.is_empty() {
                out.push(' ');
                out.push_str(line);
            }
            out.push('\n');
        }
        for k in &self.keys {
            out.push_str(&k.secret.to_age_string());
            out.push('\n');
        }
        out
    }

    /// Parses the plaintext written by [`Keyring::to_text`].
    pub fn parse(text: &str) -> Result<Keyring, KeyringError> {
        let bad = KeyringError::Malformed;
        let mut meta = String::new();
        let mut secrets = Vec::new();
        for line in text.lines() {
            // Metadata lines are taken as written (a TOML multi-line string may
            // end a line with blanks); only other lines are trimmed.
            if let Some(rest) = line.strip_prefix("#:") {
                meta.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                meta.push('\n');
                continue;
            }
            let trimmed = line.trim();
            if let Some(rest) = trimmed.strip_prefix("#:") {
                meta.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                meta.push('\n');
            } else if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            } else {
                secrets.push(
                    trimmed
                        .parse::<SecretKey>()
                        .map_err(|_| bad("a line is not an AGE-SECRET-KEY-1… key"))?,
                );
            }
        }
        let doc: DocumentMut = meta
            .parse()
            .map_err(|_| bad("the #: metadata is not valid TOML"))?;
        for (k, _) in doc.iter() {
            if !matches!(k, "version" | "environment" | "members" | "keys") {
                return Err(bad("the metadata has an unknown field"));
            }
        }
        if doc.get("version").and_then(Item::as_integer) != Some(KEYRING_VERSION) {
            return Err(KeyringError::UnsupportedVersion);
        }
        let environment = doc
            .get("environment")
            .and_then(Item::as_str)
            .ok_or(bad("the metadata names no environment"))?
            .to_string();
        crate::team::policy::check_environment_name(&environment)
            .map_err(|_| bad("the environment's name is not a valid environment name"))?;
        let mut members = Vec::new();
        if let Some(item) = doc.get("members") {
            let table = item.as_table_like().ok_or(bad("members is not a table"))?;
            for (name, v) in table.iter() {
                let recipient: MemberRecipient = v
                    .as_str()
                    .ok_or(bad("a member's key is not a string"))?
                    .parse()
                    .map_err(|_| bad("a member's key is not a valid recipient"))?;
                crate::team::member::check_member_name(name)
                    .map_err(|_| bad("a member's name is not a valid member name"))?;
                if members.iter().any(|m: &Member| m.recipient == recipient) {
                    return Err(bad("two members have the same key"));
                }
                members.push(Member {
                    name: name.to_string(),
                    recipient,
                });
            }
        }
        members.sort();
        let tables = doc
            .get("keys")
            .and_then(Item::as_array_of_tables)
            .ok_or(bad("the metadata lists no keys"))?;
        if tables.len() != secrets.len() {
            return Err(bad("the keys listed and the secret keys present differ"));
        }
        let date = |t: &Table, field: &str| -> Result<Option<SealedAt>, KeyringError> {
            match t.get(field) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(SealedAt::parse_rfc3339)
                    .map(Some)
                    .ok_or(bad("a key's date is not YYYY-MM-DDThh:mm:ssZ")),
            }
        };
        let mut keys = Vec::new();
        for (t, secret) in tables.iter().zip(secrets) {
            if t.iter()
                .any(|(k, _)| !matches!(k, "public_key" | "created" | "retired"))
            {
                return Err(bad("a key has an unknown field"));
            }
            let public = t.get("public_key").and_then(Item::as_str);
            if public != Some(secret.public_key().to_string().as_str()) {
                return Err(bad("a listed public key does not match its secret key"));
            }
            keys.push(KeyringKey {
                created: date(t, "created")?.ok_or(bad("a key has no created date"))?,
                retired: date(t, "retired")?,
                secret,
            });
        }
        if keys.iter().filter(|k| k.retired.is_none()).count() != 1 {
            return Err(bad(
                "a keyring must hold exactly one current (not retired) key",
            ));
        }
        Ok(Keyring {
            environment,
            members,
            keys,
        })
    }

    /// Encrypts the keyring to its members and returns the ASCII-armored age file.
    pub fn seal<C: age::Callbacks>(&self, callbacks: C) -> Result<String, KeyringError> {
        if self.members.is_empty() {
            return Err(KeyringError::NoMembers);
        }
        let recipients = self
            .members
            .iter()
            .map(|m| {
                m.recipient
                    .to_age(callbacks.clone())
                    .map_err(|e| KeyringError::Member(m.name.clone(), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let encryptor = age::Encryptor::with_recipients(
            recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
        )
        .map_err(|e| KeyringError::Encrypt(one_line(&e.to_string())))?;
        let io = |e: std::io::Error| KeyringError::Encrypt(one_line(&e.to_string()));
        let armor =
            age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor)
                .map_err(io)?;
        let mut writer = encryptor.wrap_output(armor).map_err(io)?;
        writer.write_all(self.to_text().as_bytes()).map_err(io)?;
        let bytes = writer.finish().and_then(|a| a.finish()).map_err(io)?;
        String::from_utf8(bytes).map_err(|_| KeyringError::Encrypt("armor is not text".into()))
    }

    /// Decrypts an armored keyring with the first of `identities` that opens it.
    pub fn open<'a>(
        armored: &[u8],
        identities: impl Iterator<Item = &'a dyn age::Identity>,
    ) -> Result<Keyring, KeyringError> {
        if armored.len() > MAX_KEYRING_BYTES {
            return Err(KeyringError::Damaged("larger than any keyring".into()));
        }
        let decryptor = crate::team::identity_file::age_decryptor(armored)
            .map_err(|e| KeyringError::Damaged(one_line(&e.to_string())))?;
        if decryptor.is_scrypt() {
            return Err(KeyringError::Damaged(
                "it is encrypted to a passphrase, which a keyring never is".into(),
            ));
        }
        // Room reserved up front: a growing buffer would be copied on reallocation,
        // leaving unwiped copies of the secret in freed memory.
        let mut plain = Zeroizing::new(Vec::with_capacity(64 << 10));
        let mut reader = decryptor.decrypt(identities).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => KeyringError::NotAMember,
            other => KeyringError::Damaged(one_line(&other.to_string())),
        })?;
        reader
            .by_ref()
            .take(MAX_KEYRING_BYTES as u64)
            .read_to_end(&mut plain)
            .map_err(|e| KeyringError::Damaged(one_line(&e.to_string())))?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| KeyringError::Malformed("the content is not UTF-8 text"))?;
        Keyring::parse(text)
    }
}

/// A keyring (`.cachet/keys/<env>.age`) could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyringError {
    /// None of the identities given opens the keyring.
    NotAMember,
    /// The file is not a readable age file; the text is age's reason.
    Damaged(String),
    /// The decrypted content does not follow `spec/policy.md`, "Keyrings".
    Malformed(&'static str),
    /// The content is of a layout version this build does not read.
    UnsupportedVersion,
    /// A keyring needs at least one member.
    NoMembers,
    /// A member's key cannot be used (member name, reason).
    Member(String, KeyError),
    /// Encryption failed; the text is age's reason.
    Encrypt(String),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::NotAMember => f.write_str(
                "none of your identities opens it: you are not a member (a member can add you with `cachet members add`)",
            ),
            KeyringError::Damaged(why) => write!(f, "not a readable age file ({why})"),
            KeyringError::Malformed(why) => write!(f, "damaged content: {why}"),
            KeyringError::UnsupportedVersion => {
                f.write_str("written by a newer cachet (unknown keyring version); upgrade cachet")
            }
            KeyringError::NoMembers => {
                f.write_str("an environment needs at least one member to hold its key")
            }
            KeyringError::Member(name, e) => write!(f, "member {name:?}: {e}"),
            KeyringError::Encrypt(why) => write!(f, "cannot encrypt: {why}"),
        }
    }
}

impl std::error::Error for KeyringError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyringError::Member(_, e) => Some(e),
            _ => None,
        }
    }
}

impl Classified for KeyringError {
    fn kind(&self) -> ErrorKind {
        match self {
            KeyringError::NoMembers | KeyringError::Member(..) => ErrorKind::Usage,
            KeyringError::Encrypt(_) => ErrorKind::Input,
            _ => ErrorKind::Refused,
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, key: &SecretKey) -> Member {
        Member {
            name: name.to_string(),
            recipient: MemberRecipient::X25519(key.public_key()),
        }
    }

    #[test]
    fn a_keyring_opens_for_each_member_and_for_nobody_else() {
        let (alice, bob, eve) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let env = SecretKey::generate();
        let created = SealedAt::from_unix(1_800_000_000).unwrap();
        let ring = Keyring::new(
            "production",
            env.clone(),
            created,
            vec![member("bob", &bob), member("alice \"A\"", &alice)],
        );
        let armored = ring.seal(age::NoCallbacks).unwrap();
        assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        for who in [&alice, &bob] {
            let id: age::x25519::Identity = who.to_age_string().parse().unwrap();
            let got = Keyring::open(
                armored.as_bytes(),
                std::iter::once(&id as &dyn age::Identity),
            )
            .unwrap();
            assert_eq!(got.environment, "production");
            assert_eq!(got.members, ring.members);
            assert_eq!(got.current().secret.public_key(), env.public_key());
            assert_eq!(got.current().created, created);
            assert_eq!(got.to_text(), ring.to_text());
        }
        let id: age::x25519::Identity = eve.to_age_string().parse().unwrap();
        let err = Keyring::open(
            armored.as_bytes(),
            std::iter::once(&id as &dyn age::Identity),
        )
        .unwrap_err();
        assert_eq!(err, KeyringError::NotAMember);
    }

    #[test]
    fn the_content_is_an_identity_file_and_every_inconsistency_is_refused() {
        let env = SecretKey::from_bytes([9; 32]);
        let ring = Keyring::new(
            "staging",
            env.clone(),
            SealedAt::from_unix(0).unwrap(),
            vec![member("ops", &SecretKey::from_bytes([1; 32]))],
        );
        let text = ring.to_text();
        // An age identity file: only comments and the key line.
        let ids = Identities::parse(&text).unwrap();
        assert_eq!(ids.len(), 1);
        assert!(ids.get(&env.public_key().key_id()).is_some());

        let other = SecretKey::from_bytes([10; 32]).to_age_string();
        let cases: Vec<(String, KeyringError)> = vec![
            (
                text.replace(env.to_age_string().as_str(), &other),
                KeyringError::Malformed("a listed public key does not match its secret key"),
            ),
            (
                text.replace("#: version = 1", "#: version = 2"),
                KeyringError::UnsupportedVersion,
            ),
            (
                format!("{}{}\n", *text, *other),
                KeyringError::Malformed("the keys listed and the secret keys present differ"),
            ),
            (
                text.replace("#: environment", "#: environmen"),
                KeyringError::Malformed("the metadata has an unknown field"),
            ),
            (
                text.replace("1970-01-01T00:00:00Z", "1970-01-01"),
                KeyringError::Malformed("a key's date is not YYYY-MM-DDThh:mm:ssZ"),
            ),
            (
                text.replace("#: ops =", "#: ops = ="),
                KeyringError::Malformed("the #: metadata is not valid TOML"),
            ),
        ];
        for (bad, want) in cases {
            assert_eq!(Keyring::parse(&bad).unwrap_err(), want, "{bad}");
        }
    }

    #[test]
    fn a_keyring_without_members_is_never_written() {
        let ring = Keyring::new("x", SecretKey::generate(), SealedAt::now(), Vec::new());
        assert_eq!(
            ring.seal(age::NoCallbacks).unwrap_err(),
            KeyringError::NoMembers
        );
    }
}
