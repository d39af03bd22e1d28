//! Recognising credentials by their content: a URL with a password, a PEM private
//! key block, and the prefixes of well-known tokens (AWS access key ids, GitHub,
//! GitLab, Slack, Stripe, Google, npm, PyPI, SendGrid, OpenAI and Anthropic keys,
//! signed JWTs).
//!
//! `cachet check` uses these detectors to find a plaintext credential in any
//! configuration file, whatever the value is called. They are tuned for few false
//! positives: each token kind must have its exact prefix, its alphabet and its
//! length, standing on its own (not inside a longer word), and a placeholder
//! (`changeme`, `${DB_PASSWORD}`, `xxxxxxxx`, AWS's documentation key ending in
//! `EXAMPLE`) is not a credential. The detectors return only what kind of
//! credential they saw, never where or what it is, so nothing built on them can
//! show the secret.
//!
//! The two content rules of sealing (`spec/format.md`, "Default rule") are read
//! with the functions `seal` uses, [`url_password`] and [`pem_private_key_header`]
//! of [`crate::document::selection`], so `seal` and `check` read a URL or a PEM
//! header the same way.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::document::selection::{
    authority_password, connection_string_password, is_scheme, pem_private_key_bodies,
};

/// A kind of credential recognised by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A URL whose user information holds a password (`postgres://app:pw@db/app`).
    UrlWithPassword,
    /// A PEM private key block (`-----BEGIN … PRIVATE KEY-----` and its base64 body).
    PemPrivateKey,
    /// An AWS access key id (`AKIA…`, `ASIA…`, `ABIA…`, `ACCA…`).
    AwsAccessKeyId,
    /// A GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// A GitLab personal, project or group access token (`glpat-…`).
    GitlabToken,
    /// A Slack token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`).
    SlackToken,
    /// A Stripe live secret or restricted key (`sk_live_…`, `rk_live_…`).
    StripeLiveKey,
    /// A Google API key (`AIza…`).
    GoogleApiKey,
    /// An npm access token (`npm_…`).
    NpmToken,
    /// A PyPI upload token (`pypi-AgEIcHlwaS5vcmc…`).
    PypiToken,
    /// A SendGrid API key (`SG.….…`).
    SendgridKey,
    /// An OpenAI project key (`sk-proj-…`).
    OpenaiKey,
    /// An Anthropic API key (`sk-ant-…`).
    AnthropicKey,
    /// A signed JSON Web Token (`eyJ….eyJ….…`).
    Jwt,
    /// An age X25519 secret key (`AGE-SECRET-KEY-1…`): a cachet identity or an
    /// environment's key.
    AgeSecretKey,
    /// A cachet identity protected by a passphrase (`cachet-identity:v1:…`), open
    /// to guessing offline once published.
    ProtectedIdentity,
    /// A `;`-separated connection string with a password
    /// (`Server=db;Password=…;`).
    ConnectionStringPassword,
}

impl CredentialKind {
    /// A stable, machine-readable name (`aws-access-key-id`), used in
    /// `cachet audit --json`.
    pub fn id(self) -> &'static str {
        match self {
            CredentialKind::UrlWithPassword => "url-with-password",
            CredentialKind::PemPrivateKey => "pem-private-key",
            CredentialKind::AwsAccessKeyId => "aws-access-key-id",
            CredentialKind::GithubToken => "github-token",
            CredentialKind::GitlabToken => "gitlab-token",
            CredentialKind::SlackToken => "slack-token",
            CredentialKind::StripeLiveKey => "stripe-live-key",
            CredentialKind::GoogleApiKey => "google-api-key",
            CredentialKind::NpmToken => "npm-token",
            CredentialKind::PypiToken => "pypi-token",
            CredentialKind::SendgridKey => "sendgrid-key",
            CredentialKind::OpenaiKey => "openai-key",
            CredentialKind::AnthropicKey => "anthropic-key",
            CredentialKind::Jwt => "jwt",
            CredentialKind::AgeSecretKey => "age-secret-key",
            CredentialKind::ProtectedIdentity => "protected-identity",
            CredentialKind::ConnectionStringPassword => "connection-string-password",
        }
    }

    /// Every kind, in the order [`detect`] tries them.
    pub fn all() -> &'static [CredentialKind] {
        &[
            CredentialKind::PemPrivateKey,
            CredentialKind::UrlWithPassword,
            CredentialKind::AwsAccessKeyId,
            CredentialKind::GithubToken,
            CredentialKind::GitlabToken,
            CredentialKind::SlackToken,
            CredentialKind::StripeLiveKey,
            CredentialKind::GoogleApiKey,
            CredentialKind::NpmToken,
            CredentialKind::PypiToken,
            CredentialKind::SendgridKey,
            CredentialKind::OpenaiKey,
            CredentialKind::AnthropicKey,
            CredentialKind::Jwt,
            CredentialKind::AgeSecretKey,
            CredentialKind::ProtectedIdentity,
            CredentialKind::ConnectionStringPassword,
        ]
    }
}

impl fmt::Display for CredentialKind {
    /// A short description for people (`an AWS access key id`); never the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::UrlWithPassword => "a URL with a password",
            CredentialKind::PemPrivateKey => "a PEM private key",
            CredentialKind::AwsAccessKeyId => "an AWS access key id",
            CredentialKind::GithubToken => "a GitHub token",
            CredentialKind::GitlabToken => "a GitLab access token",
            CredentialKind::SlackToken => "a Slack token",
            CredentialKind::StripeLiveKey => "a Stripe live key",
            CredentialKind::GoogleApiKey => "a Google API key",
            CredentialKind::NpmToken => "an npm token",
            CredentialKind::PypiToken => "a PyPI token",
            CredentialKind::SendgridKey => "a SendGrid API key",
            CredentialKind::OpenaiKey => "an OpenAI API key",
            CredentialKind::AnthropicKey => "an Anthropic API key",
            CredentialKind::Jwt => "a signed JSON Web Token",
            CredentialKind::AgeSecretKey => "an age secret key",
            CredentialKind::ProtectedIdentity => "a passphrase-protected cachet identity",
            CredentialKind::ConnectionStringPassword => "a connection string with a password",
        })
    }
}

/// The first kind of credential `s` holds, if any.
pub fn detect(s: &str) -> Option<CredentialKind> {
    // Values are configuration values, but a pathological one must not cost much:
    // every detector is linear (regex guarantees it; the URL scan looks at each
    // `://` once, bounded by the authority's length).
    CredentialKind::all()
        .iter()
        .copied()
        .find(|&kind| holds(kind, s))
}

/// Whether `s` holds a credential of `kind`.
pub fn holds(kind: CredentialKind, s: &str) -> bool {
    match kind {
        CredentialKind::UrlWithPassword => urls_with_real_password(s),
        CredentialKind::PemPrivateKey => pem_private_key_block(s),
        CredentialKind::ConnectionStringPassword => {
            connection_string_password(s).is_some_and(|pw| !is_placeholder(pw))
        }
        other => token_patterns()
            .iter()
            .filter(|(k, _)| *k == other)
            .any(|(_, re)| matches_standing_alone(re, s, other)),
    }
}

/// Whether a value is a placeholder rather than a secret: empty or blank, a
/// template reference (`${VAR}`, `$VAR`, `{{ var }}`, `<password>`, `%(x)s`), one
/// character repeated (`xxxxxx`, `******`), or a well-known stand-in word
/// (`changeme`, `password`, `secret`, `example`, `redacted`, `todo`…).
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    let words = [
        "changeme",
        "change-me",
        "change_me",
        "changeit",
        "password",
        "passwd",
        "secret",
        "example",
        "placeholder",
        "redacted",
        "todo",
        "tbd",
        "fixme",
        "dummy",
        "none",
        "null",
        "nil",
        "undefined",
        "your-password",
        "your_password",
        "yourpassword",
        "mypassword",
        "pass",
        "test",
    ];
    if words.contains(&lower.as_str()) {
        return true;
    }
    let mut chars = t.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return true;
    }
    (t.starts_with("${") && t.ends_with('}'))
        || (t.starts_with('$')
            && t.len() > 1
            && t[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        || (t.starts_with("{{") && t.ends_with("}}"))
        || (t.starts_with('<') && t.ends_with('>'))
        || (t.starts_with("%(") && t.ends_with(")s"))
}

/// Whether any URL inside `s` (not only one that is all of it) carries a password
/// that is not a placeholder.
fn urls_with_real_password(s: &str) -> bool {
    s.match_indices("://").any(|(i, _)| {
        // The scheme: the run of scheme characters just before `://`.
        let before = &s[..i];
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(i, |(j, _)| j);
        // A scheme begins with a letter: skip leading digits and signs.
        let scheme = before[start..].trim_start_matches(|c: char| !c.is_ascii_alphabetic());
        if !is_scheme(scheme) {
            return false;
        }
        // The authority ends where the path, query or fragment begins, and at the
        // first blank or quote inside longer text. Ending at `/` also keeps the
        // whole search linear: no two authorities overlap.
        let rest = &s[i + 3..];
        let end = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>')
            })
            .unwrap_or(rest.len());
        authority_password(&rest[..end]).is_some_and(|pw| !is_placeholder(pw))
    })
}

/// Whether `s` holds a PEM private key block: a header followed by a body of at
/// least 64 base64 characters (header fields such as `Proc-Type:` aside), so a
/// sentence that only names the header is not taken for a key.
fn pem_private_key_block(s: &str) -> bool {
    pem_private_key_bodies(s).any(|after| {
        // The body ends at the next `-----` (its END line, or another header):
        // bodies never overlap, so many headers cost one pass, not one each.
        let body = after.split("-----").next().unwrap_or_default();
        let base64: usize = body
            .lines()
            .filter(|l| !l.contains(':'))
            .map(|l| {
                l.bytes()
                    .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                    .count()
            })
            .sum();
        base64 >= 64
    })
}

/// The token detectors: a kind and a pattern for it.
fn token_patterns() -> &'static [(CredentialKind, Regex)] {
    static PATTERNS: LazyLock<Vec<(CredentialKind, Regex)>> = LazyLock::new(|| {
        let table: &[(CredentialKind, &str)] = &[
            (
                CredentialKind::AwsAccessKeyId,
                r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}",
            ),
            (
                CredentialKind::GithubToken,
                r"gh[pousr]_[A-Za-z0-9]{36,251}",
            ),
            (
                CredentialKind::GithubToken,
                r"github_pat_[A-Za-z0-9_]{80,251}",
            ),
            (CredentialKind::GitlabToken, r"glpat-[A-Za-z0-9_\-]{20,}"),
            (
                CredentialKind::SlackToken,
                r"xox[baprs]-[0-9A-Za-z]{1,}-[0-9A-Za-z\-]{8,}",
            ),
            (
                CredentialKind::StripeLiveKey,
                r"[sr]k_live_[0-9A-Za-z]{16,}",
            ),
            (CredentialKind::GoogleApiKey, r"AIza[0-9A-Za-z_\-]{35}"),
            (CredentialKind::NpmToken, r"npm_[A-Za-z0-9]{36}"),
            (
                CredentialKind::PypiToken,
                r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
            ),
            (
                CredentialKind::SendgridKey,
                r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
            ),
            (CredentialKind::OpenaiKey, r"sk-proj-[A-Za-z0-9_\-]{40,}"),
            (
                CredentialKind::AnthropicKey,
                r"sk-ant-[a-z0-9]{2,10}-[A-Za-z0-9_\-]{40,}",
            ),
            (
                CredentialKind::Jwt,
                r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{20,}",
            ),
            (
                CredentialKind::AgeSecretKey,
                r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
            ),
            (
                CredentialKind::ProtectedIdentity,
                r"cachet-identity:v1:argon2id:m=[0-9]+,t=[0-9]+,p=[0-9]+:[A-Za-z0-9_\-]+:[A-Za-z0-9_\-]{20,}",
            ),
        ];
        table
            .iter()
            .filter_map(|(k, p)| Regex::new(p).ok().map(|re| (*k, re)))
            .collect()
    });
    &PATTERNS
}

/// Whether `re` matches a run of `s` that stands alone: not preceded or followed
/// by a character that would continue the token, and not a placeholder.
fn matches_standing_alone(re: &Regex, s: &str, kind: CredentialKind) -> bool {
    let continues = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    re.find_iter(s).any(|m| {
        let before = s[..m.start()].chars().next_back();
        let after = s[m.end()..].chars().next();
        let alone = !before.is_some_and(continues)
            && !after.is_some_and(|c| continues(c) || (kind == CredentialKind::Jwt && c == '.'));
        // AWS's documentation keys (AKIAIOSFODNN7EXAMPLE) are stand-ins.
        alone && !(kind == CredentialKind::AwsAccessKeyId && m.as_str().ends_with("EXAMPLE"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::selection::{pem_private_key_header, url_password};

    #[test]
    fn each_kind_is_recognised_and_named() {
        let cases: &[(&str, CredentialKind)] = &[
            (
                "postgres://app:hunter2@db:5432/app",
                CredentialKind::UrlWithPassword,
            ),
            (
                "DATABASE_URL=mysql://root:s3cr3t!@10.0.0.2/prod",
                CredentialKind::UrlWithPassword,
            ),
            ("AKIAZ7VRSQ5TJN2XB4KD", CredentialKind::AwsAccessKeyId),
            ("ASIAZ7VRSQ5TJN2XB4KD", CredentialKind::AwsAccessKeyId),
            (
                "CACHET_IDENTITY=AGE-SECRET-KEY-179KD02QYWGT8W0K66GXG4H52MG4TQ2UK8M5J28K6S9DNTHS2DKKSKPUMZM",
                CredentialKind::AgeSecretKey,
            ),
            (
                "cachet-identity:v1:argon2id:m=65536,t=3,p=1:c2FsdHNhbHRzYWx0:cGF5bG9hZHBheWxvYWRwYXlsb2Fk",
                CredentialKind::ProtectedIdentity,
            ),
            (
                "Server=db;Database=app;User Id=app;Password=hunter2;",
                CredentialKind::ConnectionStringPassword,
            ),
            (
                "ghp_R2d2C3poLukeLeiaHanChewieX0123456789",
                CredentialKind::GithubToken,
            ),
            (
                "Bearer gho_R2d2C3poLukeLeiaHanChewieX0123456789",
                CredentialKind::GithubToken,
            ),
            (
                "github_pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd",
                CredentialKind::GithubToken,
            ),
            ("glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm", CredentialKind::GitlabToken),
            (
                "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
                CredentialKind::SlackToken,
            ),
            (
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                CredentialKind::StripeLiveKey,
            ),
            (
                "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
                CredentialKind::GoogleApiKey,
            ),
            (
                "npm_abcdefghijABCDEFGHIJ0123456789abcdef",
                CredentialKind::NpmToken,
            ),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                CredentialKind::Jwt,
            ),
        ];
        for (text, kind) in cases {
            assert_eq!(detect(text), Some(*kind), "{text}");
            assert!(!kind.id().is_empty());
            assert!(!kind.to_string().is_empty());
        }
        let pem = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
        );
        assert_eq!(detect(&pem), Some(CredentialKind::PemPrivateKey));
        let encrypted = format!(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0011\n\n{}\n-----END RSA PRIVATE KEY-----",
            "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6Z8Zzb5W0Q6p5Yx4jTq1Dq8YbA0dC"
        );
        assert_eq!(detect(&encrypted), Some(CredentialKind::PemPrivateKey));
    }

    #[test]
    fn placeholders_and_look_alikes_are_not_credentials() {
        for text in [
            "",
            "changeme",
            "hunter2",
            "postgres://app@db:5432/app",
            "postgres://app:@db/app",
            "postgres://app:changeme@localhost/app",
            "postgres://app:${DB_PASSWORD}@db/app",
            "https://example.com/a:b@c",
            "https://example.com?next=u:pw1x@evil",
            "https://example.com#u:pw1x@evil",
            "AKIAIOSFODNN7EXAMPLE",
            "XAKIAZ7VRSQ5TJN2XB4KD",
            "AKIAZ7VRSQ5TJN2XB4KDX",
            "akiaz7vrsq5tjn2xb4kd",
            "ghp_short",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "-----BEGIN PRIVATE KEY-----",
            "the header -----BEGIN PRIVATE KEY----- starts a key",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6Z8Zzb5W0\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6Z8Zzb5W0\n-----END CERTIFICATE-----",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
            "0123456789abcdef0123456789abcdef",
            "cachet:v1:Y_ImXx61p8fJ3UP-:20261129T035554Z:pRYl8nqY9aGRveP8quqGh2Q",
        ] {
            assert_eq!(detect(text), None, "{text}");
        }
        for p in [
            "",
            " ",
            "changeme",
            "xxxxxxxx",
            "${PW}",
            "$PW",
            "{{ pw }}",
            "<password>",
        ] {
            assert!(is_placeholder(p), "{p:?}");
        }
        for p in ["hunter2", "$PW-x", "correct horse"] {
            assert!(!is_placeholder(p), "{p:?}");
        }
    }

    #[test]
    fn the_sealing_rules_read_urls_and_headers_as_before() {
        assert_eq!(url_password("postgres://app:pw@db/app"), Some("pw"));
        assert_eq!(url_password("redis://:pw@cache"), Some("pw"));
        assert_eq!(url_password("postgres://app:@db"), Some(""));
        assert_eq!(url_password("postgres://app@db"), None);
        assert_eq!(url_password("https://example.com/a:b@c"), None);
        assert_eq!(url_password("1http://a:b@c"), None);
        assert!(pem_private_key_header("-----BEGIN PRIVATE KEY-----"));
        assert!(!pem_private_key_header("-----BEGIN PUBLIC KEY-----"));
    }
}
