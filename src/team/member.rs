//! A member of an environment: who a keyring is encrypted to. Members are age
//! recipients, so a keyring stays a plain age file: age X25519 recipients (`age1…`),
//! SSH public keys (`ssh-ed25519 …`, `ssh-rsa …`) and age plugin recipients
//! (`age1yubikey1…` and the like, which need the plugin's program on `PATH`).

use std::fmt;
use std::str::FromStr;

use crate::seal::KeyError;
use crate::seal::key::PublicKey;

/// A member's public key, in its canonical text (an SSH key without its comment).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberRecipient {
    /// An age X25519 recipient, `age1…`.
    X25519(PublicKey),
    /// An SSH public key, `ssh-ed25519 AAAA…` or `ssh-rsa AAAA…` (no comment).
    Ssh(String),
    /// An age plugin recipient, `age1<plugin>1…`.
    Plugin(String),
}

impl MemberRecipient {
    /// What kind of key this is, for listings: `age`, `ssh-ed25519`, `ssh-rsa` or
    /// `plugin:<name>`.
    pub fn kind(&self) -> String {
        match self {
            MemberRecipient::X25519(_) => "age".to_string(),
            MemberRecipient::Ssh(s) => s.split(' ').next().unwrap_or("ssh").to_string(),
            MemberRecipient::Plugin(s) => match s.parse::<age::plugin::Recipient>() {
                Ok(r) => format!("plugin:{}", r.plugin()),
                Err(_) => "plugin".to_string(),
            },
        }
    }

    /// The age recipient that wraps a keyring's file key to this member. A plugin
    /// recipient runs `age-plugin-<name>` and talks to the user through `callbacks`.
    pub fn to_age<C: age::Callbacks>(
        &self,
        callbacks: C,
    ) -> Result<Box<dyn age::Recipient + Send>, KeyError> {
        match self {
            MemberRecipient::X25519(pk) => {
                let r: age::x25519::Recipient = pk
                    .to_string()
                    .parse()
                    .map_err(|_| KeyError::Recipient("not a valid age recipient"))?;
                Ok(Box::new(r))
            }
            MemberRecipient::Ssh(s) => {
                let r: age::ssh::Recipient = s
                    .parse()
                    .map_err(|_| KeyError::Recipient("not a valid SSH public key"))?;
                Ok(Box::new(r))
            }
            MemberRecipient::Plugin(s) => {
                let r: age::plugin::Recipient = s
                    .parse()
                    .map_err(|_| KeyError::Recipient("not a valid age plugin recipient"))?;
                let name = r.plugin().to_string();
                let plugin = age::plugin::RecipientPluginV1::new(&name, &[r], &[], callbacks)
                    .map_err(|_| KeyError::PluginMissing(name))?;
                Ok(Box::new(plugin))
            }
        }
    }
}

impl FromStr for MemberRecipient {
    type Err = KeyError;

    /// Parses `age1…`, `age1<plugin>1…`, `ssh-ed25519 KEY [comment]` or
    /// `ssh-rsa KEY [comment]`. An SSH key's comment is dropped.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        if let Some(rest) = s
            .strip_prefix("ssh-ed25519 ")
            .or_else(|| s.strip_prefix("ssh-rsa "))
        {
            let kind = &s[..s.len() - rest.len() - 1];
            let key = rest.split_whitespace().next().unwrap_or("");
            let text = format!("{kind} {key}");
            if !ssh_key_numbers_ok(key) {
                return Err(KeyError::Recipient("not a valid SSH public key"));
            }
            return match text.parse::<age::ssh::Recipient>() {
                Ok(r) => Ok(MemberRecipient::Ssh(r.to_string())),
                Err(age::ssh::ParseRecipientKeyError::RsaModulusTooSmall) => Err(
                    KeyError::Recipient("an ssh-rsa key must have at least 2048 bits"),
                ),
                Err(age::ssh::ParseRecipientKeyError::RsaModulusTooLarge) => Err(
                    KeyError::Recipient("an ssh-rsa key of more than 4096 bits is not supported"),
                ),
                Err(_) => Err(KeyError::Recipient("not a valid SSH public key")),
            };
        }
        if s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-") {
            return Err(KeyError::Recipient(
                "only ssh-ed25519 and ssh-rsa SSH keys can be members (age supports no other SSH key type)",
            ));
        }
        match s.parse::<PublicKey>() {
            Ok(pk) => Ok(MemberRecipient::X25519(pk)),
            Err(e) => {
                let lower = s.to_ascii_lowercase();
                let is_plugin = lower.starts_with("age1") && lower[4..].contains('1');
                match s.parse::<age::plugin::Recipient>() {
                    Ok(r) if is_plugin => Ok(MemberRecipient::Plugin(r.to_string())),
                    _ => Err(e),
                }
            }
        }
    }
}

impl fmt::Display for MemberRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberRecipient::X25519(pk) => write!(f, "{pk}"),
            MemberRecipient::Ssh(s) | MemberRecipient::Plugin(s) => f.write_str(s),
        }
    }
}

/// Whether the numbers of an `ssh-rsa` key (base64 of its wire encoding) are
/// well formed: each a length-prefixed, non-empty field with a non-zero byte.
/// age's parser (0.12) indexes out of bounds on an all-zero number, so such a key
/// must never reach it; other key types pass through to age's own checks.
pub(crate) fn ssh_key_numbers_ok(base64_key: &str) -> bool {
    use base64::Engine;
    let Ok(wire) = base64::engine::general_purpose::STANDARD.decode(base64_key) else {
        return false;
    };
    let mut rest = wire.as_slice();
    let mut field = || -> Option<&[u8]> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let value = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some(value)
    };
    match field() {
        Some(b"ssh-rsa") => {}
        Some(_) => return true,
        None => return false,
    }
    // The exponent, then the modulus.
    (0..2).all(|_| field().is_some_and(|n| n.iter().any(|&b| b != 0)))
}

/// One member of an environment: a name (for people) and the key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    /// The name shown in listings and messages; unique within an environment.
    pub name: String,
    /// The member's public key.
    pub recipient: MemberRecipient,
}

/// Checks a member name: 1 to 100 characters, no control characters, not only
/// blanks. Names appear in messages, so they must stay on one line.
pub fn check_member_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("a member name must not be empty");
    }
    if name.chars().count() > 100 {
        return Err("a member name must be at most 100 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("a member name must not contain control characters");
    }
    Ok(())
}

impl FromStr for Member {
    type Err = KeyError;

    /// Parses `NAME=RECIPIENT`, as `--member` takes it.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let (name, recipient) = s
            .split_once('=')
            .ok_or(KeyError::Recipient("a member is written NAME=RECIPIENT"))?;
        check_member_name(name).map_err(KeyError::Recipient)?;
        Ok(Member {
            name: name.to_string(),
            recipient: recipient.parse()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key::SecretKey;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN";

    #[test]
    fn recipients_of_every_kind_parse_to_their_canonical_text() {
        let pk = SecretKey::from_bytes([7; 32]).public_key();
        let m: MemberRecipient = pk.to_string().parse().unwrap();
        assert_eq!(m, MemberRecipient::X25519(pk));
        assert_eq!(m.kind(), "age");

        let with_comment = format!("{ED25519} alice@laptop");
        let m: MemberRecipient = with_comment.parse().unwrap();
        assert_eq!(m.to_string(), ED25519);
        assert_eq!(m.kind(), "ssh-ed25519");
        assert!(m.to_age(age::NoCallbacks).is_ok());
    }

    #[test]
    fn unsupported_and_malformed_recipients_are_refused_with_a_reason() {
        let err = |s: &str| s.parse::<MemberRecipient>().unwrap_err().to_string();
        assert!(err("ecdsa-sha2-nistp256 AAAA").contains("only ssh-ed25519 and ssh-rsa"));
        assert!(err("ssh-ed25519 AAAAnotbase64!").contains("not a valid SSH public key"));
        assert!(err("age1qqqq").contains("recipient"));
        assert!(err("hello").contains("recipient"));
        assert!("alice".parse::<Member>().is_err());
        assert!("=age1x".parse::<Member>().is_err());
        assert!("a\nb=x".parse::<Member>().is_err());
    }
}
