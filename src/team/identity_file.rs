//! Personal and deploy identities, whatever file they come in.
//!
//! An identity file may hold age X25519 identities (`AGE-SECRET-KEY-1…`: an
//! environment key opens values directly, and any of them opens keyrings it is a
//! member of), age plugin identities (`AGE-PLUGIN-…`), an OpenSSH private key
//! (ed25519 or RSA), an age file encrypted with a passphrase (`age -p`) around
//! such lines, or a cachet passphrase-protected identity (`spec/identity.md`).
//! Passphrases are asked through the caller's [`age::Callbacks`], so the library
//! never prompts by itself.

use std::io::{BufReader, Read};
use std::sync::{Arc, OnceLock};

use age::secrecy::{ExposeSecret, SecretString};
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use crate::seal::KeyError;
use crate::seal::key::{Identities, SecretKey};
use crate::team::member::MemberRecipient;
use crate::team::protected_identity;

/// The largest identity file read (age's own limit for identity files).
const MAX_IDENTITY_BYTES: usize = 16 << 20;

/// What a set of identity files gives: X25519 keys, which open values whose key
/// id they match, and age identities of every kind, which open keyrings.
#[derive(Default)]
pub struct IdentitySet {
    keys: Identities,
    age: Vec<Box<dyn age::Identity + Send + Sync>>,
    recipients: Vec<MemberRecipient>,
    locked: Vec<Arc<Locked>>,
}

/// What a passphrase protects: a cachet protected identity, an `age -p` file, or
/// an encrypted OpenSSH key (with the stanza tag of its public key, so only the
/// stanzas meant for it make cachet ask).
enum Sealed {
    Cachet(String),
    Age(Vec<u8>),
    Ssh(Box<age::ssh::EncryptedKey>, String),
}

/// How a locked identity asks for its passphrase (the caller's callbacks).
type AskPassphrase = Box<dyn Fn(&str) -> Option<SecretString> + Send + Sync>;

/// The opened keys of a passphrase-protected identity: for values, and for age.
type Opened = (Vec<SecretKey>, Vec<Box<dyn age::Identity + Send + Sync>>);

/// A passphrase-protected identity file, opened the first time a key is needed,
/// so a command that needs no key (or another identity) never asks.
struct Locked {
    source: String,
    sealed: Sealed,
    ask: AskPassphrase,
    opened: OnceLock<Result<Opened, KeyError>>,
}

impl Locked {
    fn open(&self) -> &Result<Opened, KeyError> {
        self.opened.get_or_init(|| {
            let pass = (self.ask)(&format!("Passphrase for {}: ", self.source))
                .ok_or(KeyError::NeedsPassphrase)?;
            let plain = match &self.sealed {
                Sealed::Cachet(text) => protected_identity::unprotect(text, pass.expose_secret())
                    .map_err(|e| match e {
                    protected_identity::ProtectError::WrongPassphraseOrDamaged => {
                        KeyError::WrongPassphrase
                    }
                    other => KeyError::Protected(other.to_string()),
                })?,
                Sealed::Age(bytes) => decrypt_age_identity(bytes, pass)?,
                Sealed::Ssh(key, _) => {
                    let key = key.decrypt(pass).map_err(|_| KeyError::WrongPassphrase)?;
                    let id: Box<dyn age::Identity + Send + Sync> =
                        Box::new(age::ssh::Identity::from(key));
                    return Ok((Vec::new(), vec![id]));
                }
            };
            let keys = Identities::parse(&plain).map_err(|_| {
                KeyError::UnsupportedIdentity(
                    "a passphrase-protected identity must hold AGE-SECRET-KEY-1… lines only",
                )
            })?;
            let keys: Vec<SecretKey> = keys.iter().cloned().collect();
            let age = keys
                .iter()
                .map(|k| {
                    k.to_age_string()
                        .parse::<age::x25519::Identity>()
                        .map(|i| Box::new(i) as Box<dyn age::Identity + Send + Sync>)
                        .map_err(|_| KeyError::InvalidIdentity)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((keys, age))
        })
    }
}

/// A [`Locked`] identity as age sees it. It asks for the passphrase only for a
/// stanza its key can open (X25519, or the SSH key's own), once per run; when it cannot be opened it
/// answers "not mine", so other identities still get their turn, and the reason
/// is kept for [`IdentitySet::unlock_failure`].
struct LockedIdentity(Arc<Locked>);

impl age::Identity for LockedIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        let mine = match &self.0.sealed {
            Sealed::Ssh(_, tag) => {
                matches!(stanza.tag.as_str(), "ssh-ed25519" | "ssh-rsa")
                    && stanza.args.first() == Some(tag)
            }
            Sealed::Cachet(_) | Sealed::Age(_) => stanza.tag == "X25519",
        };
        if !mine {
            return None;
        }
        match self.0.open() {
            Ok((_, ids)) => ids.iter().find_map(|i| i.unwrap_stanza(stanza)),
            Err(_) => None,
        }
    }
}

impl std::fmt::Debug for IdentitySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySet")
            .field("keys", &self.keys.len())
            .field("age", &self.age.len())
            .field("recipients", &self.recipients)
            .field("locked", &self.locked.len())
            .finish()
    }
}

impl IdentitySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The X25519 keys, which open values sealed to them.
    pub fn keys(&self) -> &Identities {
        &self.keys
    }

    /// Adds keys that open values (for example an environment's keys taken from its
    /// keyring).
    pub fn add_keys(&mut self, keys: &Identities) {
        self.keys.extend(keys.iter().cloned());
    }

    /// The identities that can open keyrings.
    pub fn age_identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.age.iter().map(|b| b.as_ref() as &dyn age::Identity)
    }

    /// Whether the set holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.keys.is_empty()
    }

    /// Why a passphrase-protected identity of the set could not be used, if one
    /// was tried and failed: its source and the reason.
    pub fn unlock_failure(&self) -> Option<(String, KeyError)> {
        self.locked.iter().find_map(|l| match l.opened.get() {
            Some(Err(e)) => Some((l.source.clone(), e.clone())),
            _ => None,
        })
    }

    /// Opens every passphrase-protected identity now (asking for passphrases),
    /// so their keys open values directly. Returns whether keys were added.
    pub fn open_locked(&mut self) -> Result<bool, (String, KeyError)> {
        let before = self.keys.len();
        for l in &self.locked {
            match l.open() {
                Ok((keys, _)) => self.keys.extend(keys.iter().cloned()),
                Err(e) => return Err((l.source.clone(), e.clone())),
            }
        }
        Ok(self.keys.len() > before)
    }

    /// The member keys these identities answer to, where they can be known without
    /// a plugin (X25519 and SSH).
    pub fn recipients(&self) -> &[MemberRecipient] {
        &self.recipients
    }

    /// Adds everything of `other`.
    pub fn extend(&mut self, other: IdentitySet) {
        self.keys.extend(other.keys.iter().cloned());
        self.age.extend(other.age);
        self.locked.extend(other.locked);
        for r in other.recipients {
            if !self.recipients.contains(&r) {
                self.recipients.push(r);
            }
        }
    }

    fn push_x25519(&mut self, key: SecretKey) -> Result<(), KeyError> {
        let id: age::x25519::Identity = key
            .to_age_string()
            .parse()
            .map_err(|_| KeyError::InvalidIdentity)?;
        self.age.push(Box::new(id));
        let r = MemberRecipient::X25519(key.public_key());
        if !self.recipients.contains(&r) {
            self.recipients.push(r);
        }
        self.keys.push(key);
        Ok(())
    }

    /// Reads an identity file of any supported kind. `source` names it in
    /// passphrase prompts; errors name a line number at most, never its text.
    pub fn parse<C: age::Callbacks>(
        bytes: &[u8],
        source: &str,
        callbacks: C,
    ) -> Result<IdentitySet, KeyError> {
        if bytes.len() > MAX_IDENTITY_BYTES {
            return Err(KeyError::UnsupportedIdentity(
                "larger than any identity file",
            ));
        }
        // A binary age file is not UTF-8 after its header: recognise it first.
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        let head = &bytes[start..];
        let ask = {
            let cb = callbacks.clone();
            Box::new(move |d: &str| cb.request_passphrase(d))
        };
        if head.starts_with(b"age-encryption.org/v1\n")
            || head.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        {
            check_age_passphrase_file(bytes)?;
            return Ok(IdentitySet::locked(
                source,
                Sealed::Age(bytes.to_vec()),
                ask,
                Vec::new(),
            ));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| KeyError::UnsupportedIdentity("not UTF-8 text"))?;
        if head.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----")
            || head.starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
        {
            return Self::parse_ssh(text, source, callbacks);
        }
        if protected_identity::is_protected(text) {
            // The public keys are in comment lines, so membership needs no passphrase.
            let recipients = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("# public key:"))
                .filter_map(|r| r.trim().parse::<crate::seal::key::PublicKey>().ok())
                .map(MemberRecipient::X25519)
                .collect();
            return Ok(IdentitySet::locked(
                source,
                Sealed::Cachet(text.to_string()),
                ask,
                recipients,
            ));
        }
        Self::parse_lines(text, callbacks)
    }

    fn locked(
        source: &str,
        sealed: Sealed,
        ask: AskPassphrase,
        recipients: Vec<MemberRecipient>,
    ) -> IdentitySet {
        let locked = Arc::new(Locked {
            source: source.to_string(),
            sealed,
            ask,
            opened: OnceLock::new(),
        });
        IdentitySet {
            age: vec![Box::new(LockedIdentity(Arc::clone(&locked)))],
            recipients,
            locked: vec![locked],
            ..IdentitySet::default()
        }
    }

    /// An identity file of lines: `AGE-SECRET-KEY-1…` and `AGE-PLUGIN-…`, with
    /// blank lines and `#` comments.
    fn parse_lines<C: age::Callbacks>(text: &str, callbacks: C) -> Result<IdentitySet, KeyError> {
        let mut set = IdentitySet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with("AGE-PLUGIN-") {
                let id: age::plugin::Identity = line
                    .parse()
                    .map_err(|_| KeyError::IdentityLine { line: n + 1 })?;
                let name = id.plugin().to_string();
                let plugin = age::plugin::IdentityPluginV1::new(&name, &[id], callbacks.clone())
                    .map_err(|_| KeyError::PluginMissing(name))?;
                set.age.push(Box::new(plugin));
                continue;
            }
            let key = line
                .parse::<SecretKey>()
                .map_err(|_| crate::seal::key::line_error(line, n + 1))?;
            set.push_x25519(key)?;
        }
        if set.is_empty() {
            return Err(KeyError::NoIdentity);
        }
        Ok(set)
    }

    fn parse_ssh<C: age::Callbacks>(
        text: &str,
        source: &str,
        callbacks: C,
    ) -> Result<IdentitySet, KeyError> {
        // age (0.12) panics on some malformed RSA numbers instead of refusing them;
        // a damaged key file must give an error, not a crash.
        let parsed = std::panic::catch_unwind(|| {
            age::ssh::Identity::from_buffer(text.as_bytes(), Some(source.to_string()))
        });
        let id = match parsed {
            Ok(Ok(id)) => id,
            _ => {
                return Err(KeyError::UnsupportedIdentity(
                    "not a readable SSH private key",
                ));
            }
        };
        if let age::ssh::Identity::Unsupported(_) = id {
            return Err(KeyError::UnsupportedIdentity(
                "an SSH key of a type age cannot use (only ssh-ed25519 and ssh-rsa)",
            ));
        }
        let recipient = std::panic::catch_unwind(|| age::ssh::Recipient::try_from(id.clone()))
            .ok()
            .and_then(Result::ok)
            .ok_or(KeyError::UnsupportedIdentity("an SSH key age cannot use"))?
            .to_string();
        let member: Option<MemberRecipient> = recipient.parse().ok();
        match id {
            age::ssh::Identity::Encrypted(key) => {
                let ask = Box::new(move |d: &str| callbacks.request_passphrase(d));
                Ok(IdentitySet::locked(
                    source,
                    Sealed::Ssh(Box::new(key), ssh_stanza_tag(&recipient)),
                    ask,
                    member.into_iter().collect(),
                ))
            }
            unencrypted => {
                let mut set = IdentitySet::new();
                set.recipients.extend(member);
                set.age.push(Box::new(unencrypted));
                Ok(set)
            }
        }
    }
}

/// The tag age writes in the stanzas of an SSH recipient (`ssh-ed25519 BASE64`):
/// the first 4 bytes of SHA-256 of the key's wire encoding, base64 without padding.
fn ssh_stanza_tag(recipient: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let wire = recipient
        .split(' ')
        .nth(1)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_default();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(&sha2::Sha256::digest(&wire)[..4])
}

/// Reads the header of an age file, armored or binary (identities and keyrings).
pub(crate) fn age_decryptor(
    bytes: &[u8],
) -> Result<age::Decryptor<impl std::io::BufRead + '_>, age::DecryptError> {
    let reader = age::armor::ArmoredReader::new(BufReader::new(bytes));
    age::Decryptor::new_buffered(BufReader::new(reader))
}

/// [`age_decryptor`] for an identity file.
fn identity_decryptor(
    bytes: &[u8],
) -> Result<age::Decryptor<impl std::io::BufRead + '_>, KeyError> {
    age_decryptor(bytes).map_err(|_| KeyError::UnsupportedIdentity("a damaged age-encrypted file"))
}

/// Checks that an age file is encrypted with a passphrase (`age -p`), the only
/// kind that may hold an identity.
fn check_age_passphrase_file(bytes: &[u8]) -> Result<(), KeyError> {
    if !identity_decryptor(bytes)?.is_scrypt() {
        return Err(KeyError::UnsupportedIdentity(
            "an age file encrypted to recipients; an identity file may only be encrypted with a passphrase (age -p)",
        ));
    }
    Ok(())
}

/// Decrypts an identity file encrypted with a passphrase by `age -p`.
fn decrypt_age_identity(bytes: &[u8], pass: SecretString) -> Result<Zeroizing<String>, KeyError> {
    let decryptor = identity_decryptor(bytes)?;
    let identity = age::scrypt::Identity::new(pass);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|_| KeyError::WrongPassphrase)?;
    // Room reserved up front: a growing buffer would be copied on reallocation,
    // leaving unwiped copies of the secret in freed memory.
    let mut plain = Zeroizing::new(Vec::with_capacity(64 << 10));
    reader
        .by_ref()
        .take(MAX_IDENTITY_BYTES as u64)
        .read_to_end(&mut plain)
        .map_err(|_| KeyError::WrongPassphrase)?;
    match std::str::from_utf8(&plain) {
        Ok(s) => Ok(Zeroizing::new(s.to_string())),
        Err(_) => Err(KeyError::UnsupportedIdentity(
            "the decrypted identity is not UTF-8 text",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Pass(Option<&'static str>);

    impl age::Callbacks for Pass {
        fn display_message(&self, _: &str) {}
        fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
            None
        }
        fn request_public_string(&self, _: &str) -> Option<String> {
            None
        }
        fn request_passphrase(&self, _: &str) -> Option<age::secrecy::SecretString> {
            self.0
                .map(|p| age::secrecy::SecretString::from(p.to_string()))
        }
    }

    #[test]
    fn an_age_passphrase_file_opens_with_its_passphrase_only() {
        let key = SecretKey::from_bytes([3; 32]);
        let text = crate::seal::key::identity_file_text(&key, "2026-01-01T00:00:00Z");
        let enc = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(
            "correct horse".to_string(),
        ));
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        std::io::Write::write_all(&mut w, text.as_bytes()).unwrap();
        w.finish().unwrap();

        let mut set = IdentitySet::parse(&out, "id.age", Pass(Some("correct horse"))).unwrap();
        // Nothing is asked until a key is needed.
        assert!(set.keys().is_empty());
        assert!(set.unlock_failure().is_none());
        assert_eq!(set.open_locked(), Ok(true));
        assert!(set.keys().get(&key.public_key().key_id()).is_some());

        let mut set = IdentitySet::parse(&out, "id.age", Pass(Some("wrong"))).unwrap();
        assert_eq!(
            set.open_locked(),
            Err(("id.age".to_string(), KeyError::WrongPassphrase))
        );
        let set = IdentitySet::parse(&out, "id.age", Pass(None)).unwrap();
        // Through age: the identity declines, and says why afterwards.
        let ring = crate::team::keyring::Keyring::new(
            "x",
            SecretKey::generate(),
            crate::seal::token::SealedAt::now(),
            vec![crate::team::member::Member {
                name: "k".into(),
                recipient: MemberRecipient::X25519(key.public_key()),
            }],
        );
        let armored = ring.seal(age::NoCallbacks).unwrap();
        let err = crate::team::keyring::Keyring::open(armored.as_bytes(), set.age_identities());
        assert_eq!(err.unwrap_err(), crate::team::KeyringError::NotAMember);
        assert_eq!(
            set.unlock_failure(),
            Some(("id.age".to_string(), KeyError::NeedsPassphrase))
        );
        let with = IdentitySet::parse(&out, "id.age", Pass(Some("correct horse"))).unwrap();
        let got =
            crate::team::keyring::Keyring::open(armored.as_bytes(), with.age_identities()).unwrap();
        assert_eq!(got.environment, "x");
    }

    #[test]
    fn bad_lines_are_named_by_number_only() {
        let err =
            IdentitySet::parse(b"# c\n\nAGE-SECRET-KEY-1NOPE\n", "f", Pass(None)).unwrap_err();
        assert_eq!(err, KeyError::IdentityLine { line: 3 });
        assert_eq!(
            IdentitySet::parse(b"# only a comment\n", "f", Pass(None)).unwrap_err(),
            KeyError::NoIdentity
        );
    }
}
