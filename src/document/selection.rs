//! Which values `seal` seals: the default rule of `spec/format.md`, "Which values
//! are sealed", or exactly the paths the user named.

use crate::glob::PathGlob;
use crate::path::ValuePath;

/// Key names whose last words are one of these are secrets (compared on the words
/// of the name, lower-cased).
const SECRET_ENDINGS: &[&[&str]] = &[
    &["password"],
    &["passwords"],
    &["passwd"],
    &["pwd"],
    &["pass"],
    &["passphrase"],
    &["secret"],
    &["secrets"],
    &["token"],
    // Not `tokens` alone: `max_tokens` is a language model's limit, not a secret.
    &["api", "tokens"],
    &["access", "tokens"],
    &["apikey"],
    &["apikeys"],
    &["api", "key"],
    &["api", "keys"],
    &["private", "key"],
    &["private", "keys"],
    &["private", "key", "pem"],
    &["access", "key"],
    &["secret", "key"],
    &["secret", "key", "base"],
    &["signing", "key"],
    &["encryption", "key"],
    &["master", "key"],
    &["hmac", "key"],
    &["ssh", "key"],
    &["credential"],
    &["credentials"],
    &["dsn"],
];

/// Which values to seal.
#[derive(Clone, Debug, Default)]
pub enum Selection {
    /// Values whose name or content looks secret (the default rule).
    #[default]
    Default,
    /// Exactly these paths, and every value beneath a path that names a table or
    /// an array.
    Paths(Vec<ValuePath>),
    /// The default rule, and also every value a glob matches or lies beneath
    /// (naming a table seals everything in it): how a policy's list of keys to
    /// seal adds to the default rule without switching it off.
    DefaultAnd(Vec<PathGlob>),
}

impl Selection {
    /// Whether the value at `path`, whose decoded content is `string` when it is a
    /// string, is to be sealed.
    pub fn wants(&self, path: &ValuePath, string: Option<&str>) -> bool {
        match self {
            Selection::Default => default_wants(path, string),
            Selection::Paths(paths) => paths.iter().any(|p| path.starts_with(p)),
            Selection::DefaultAnd(globs) => {
                default_wants(path, string) || globs.iter().any(|g| g.matches_or_under(path))
            }
        }
    }
}

fn default_wants(path: &ValuePath, string: Option<&str>) -> bool {
    path.name().is_some_and(name_is_secret) || string.is_some_and(content_is_secret)
}

/// Splits a key name into lower-case words on `_`, `-`, `.`, spaces and camelCase
/// boundaries (`JWTSecret` → `jwt`, `secret`).
pub fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // aB → a|B ; ABc → A|Bc (the last capital of an acronym starts a word).
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Whether a key name ends with one of the secret words.
pub fn name_is_secret(name: &str) -> bool {
    let w = words(name);
    SECRET_ENDINGS.iter().any(|ending| {
        w.len() >= ending.len()
            && w[w.len() - ending.len()..]
                .iter()
                .zip(ending.iter())
                .all(|(a, b)| a == b)
    })
}

/// Whether a string value is a URL with a password or holds a PEM private key
/// header (the content rules of `spec/format.md`, "Default rule"; `cachet check`
/// reads URLs and PEM blocks with the same functions, in
/// [`crate::survey::credential`]).
pub fn content_is_secret(s: &str) -> bool {
    content_rule(s).is_some()
}

/// A content rule of sealing (`spec/format.md`, "Default rule").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentRule {
    /// A PEM private key header.
    PemPrivateKey,
    /// An age secret key.
    AgeSecretKey,
    /// A `;`-separated connection string with a password.
    ConnectionStringPassword,
    /// A URL with a password.
    UrlWithPassword,
}

/// The content rule `s` meets, the first in [`ContentRule`]'s order.
pub fn content_rule(s: &str) -> Option<ContentRule> {
    if pem_private_key_header(s) {
        Some(ContentRule::PemPrivateKey)
    } else if s.contains("AGE-SECRET-KEY-1") {
        Some(ContentRule::AgeSecretKey)
    } else if connection_string_password(s).is_some() {
        Some(ContentRule::ConnectionStringPassword)
    } else if url_password(s.trim()).is_some_and(|pw| !pw.is_empty()) {
        Some(ContentRule::UrlWithPassword)
    } else {
        None
    }
}

/// The password of a `;`-separated connection string (`Server=db;Password=pw;`):
/// the first non-empty value of a `Password=` or `Pwd=` part (names compared
/// without regard to case), trimmed; `None` for a string of one part.
pub fn connection_string_password(s: &str) -> Option<&str> {
    if !s.contains(';') {
        return None;
    }
    s.split(';').find_map(|part| {
        let (name, value) = part.split_once('=')?;
        let name = name.trim();
        let value = value.trim();
        ((name.eq_ignore_ascii_case("password") || name.eq_ignore_ascii_case("pwd"))
            && !value.is_empty())
        .then_some(value)
    })
}

/// The password of a URL `scheme://user:password@host…` that makes up all of `s`
/// (`None` when `s` is not such a URL, or has no `:` in its user information).
/// The password may be empty. This is the URL rule of sealing.
pub fn url_password(s: &str) -> Option<&str> {
    let (scheme, rest) = s.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    authority_password(rest)
}

pub(crate) fn is_scheme(scheme: &str) -> bool {
    let mut sc = scheme.chars();
    sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sc.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The password in the user information of the authority at the start of `rest`
/// (what follows `scheme://`).
pub(crate) fn authority_password(rest: &str) -> Option<&str> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (userinfo, _host) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, pw)| pw)
}

/// Whether `s` holds a PEM private key header line (`-----BEGIN … PRIVATE
/// KEY-----`), with or without a body. This is the PEM rule of sealing.
pub fn pem_private_key_header(s: &str) -> bool {
    pem_private_key_bodies(s).next().is_some()
}

/// For each private key header in `s`, the text after it.
pub(crate) fn pem_private_key_bodies(s: &str) -> impl Iterator<Item = &str> {
    const BEGIN: &str = "-----BEGIN ";
    s.match_indices(BEGIN).filter_map(|(i, _)| {
        let rest = &s[i + BEGIN.len()..];
        let end = rest.find("-----")?;
        let label = &rest[..end];
        (label.ends_with("PRIVATE KEY") && !label.contains('\n'))
            .then(|| &rest[end + "-----".len()..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_brief() {
        for yes in [
            "jwt_secret",
            "DB_PASSWORD",
            "private_key",
            "apiKey",
            "APIKEY",
            "api-key",
            "JWTSecret",
            "stripe.secret_key",
            "awsAccessKey",
            "sentry_dsn",
            "github_token",
            "Credentials",
            "master_key",
            "smtpPasswd",
            "db_pwd",
            "api_tokens",
            "api_keys",
            "passwords",
            "secrets",
            "secret_key_base",
            "hmac_key",
            "ssh_key",
            "db_pass",
            "private_key_pem",
        ] {
            assert!(name_is_secret(yes), "{yes} should be secret");
        }
        for no in [
            "token_ttl_seconds",
            "url",
            "password_min_length",
            "keyboard",
            "max_tokens",
            "bypass",
            "public_key",
            "key",
            "secretary",
            "tokenizer",
        ] {
            assert!(!name_is_secret(no), "{no} should not be secret");
        }
    }

    #[test]
    fn signing_private_key_path_is_sealed() {
        let p: ValuePath = "signing.private_key".parse().unwrap();
        assert!(Selection::Default.wants(&p, Some("x")));
    }

    #[test]
    fn default_and_adds_globs_to_the_default_rule() {
        let sel = Selection::DefaultAnd(vec![
            "stripe.*".parse().unwrap(),
            "servers[*].host".parse().unwrap(),
        ]);
        let wants = |p: &str, s: Option<&str>| sel.wants(&p.parse().unwrap(), s);
        // The default rule still applies.
        assert!(wants("db.password", Some("x")));
        assert!(wants("db.url", Some("postgres://u:pw@h/db")));
        // A glob match, and everything beneath one.
        assert!(wants("stripe.publishable", Some("pk_live")));
        assert!(wants("stripe.webhooks[0].url", Some("https://x")));
        assert!(wants("servers[3].host", Some("10.0.0.1")));
        // Neither.
        assert!(!wants("stripe", None));
        assert!(!wants("servers[3].port", None));
        assert!(!wants("app.name", Some("demo")));
        // With no glob it is the default rule.
        let none = Selection::DefaultAnd(Vec::new());
        let p: ValuePath = "app.name".parse().unwrap();
        assert!(!none.wants(&p, Some("demo")));
        let p: ValuePath = "app.token".parse().unwrap();
        assert!(none.wants(&p, Some("demo")));
    }

    #[test]
    fn words_split() {
        assert_eq!(words("JWTSecret"), ["jwt", "secret"]);
        assert_eq!(
            words("db.password_hash2Value"),
            ["db", "password", "hash2", "value"]
        );
    }

    #[test]
    fn content_rules() {
        assert!(content_is_secret("postgres://app:hunter2@db:5432/app"));
        assert!(content_is_secret("redis://:pw@cache"));
        assert!(!content_is_secret("postgres://app@db:5432/app"));
        assert!(!content_is_secret("https://example.com/a:b@c"));
        assert!(!content_is_secret("postgres://app:@db"));
        assert!(content_is_secret(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
        ));
        assert!(content_is_secret("-----BEGIN PRIVATE KEY-----"));
        assert!(!content_is_secret("-----BEGIN PUBLIC KEY-----"));
        assert!(!content_is_secret("-----BEGIN CERTIFICATE-----"));
    }
}
