//! The policy file, `.cachet.toml`, at the root of a repository: its environments,
//! each with its public key, the files it covers, the values it seals beyond the
//! default rule, its members and its rotation period. Normative text:
//! `spec/policy.md`.
//!
//! A policy is read strictly (unknown fields are errors, so a typo never silently
//! drops a rule) and edited in place with `toml_edit`, so comments and layout that
//! people wrote survive every command.

use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::document::attestation::AttestPublicKey;
use crate::error::{Classified, ErrorKind};
use crate::glob::{FileGlob, PathGlob};
use crate::seal::key::PublicKey;
use crate::seal::token::SealedAt;
use crate::team::member::{Member, MemberRecipient, check_member_name};

/// The policy's file name.
pub const POLICY_FILE: &str = ".cachet.toml";

/// The version of the policy layout this build reads and writes.
pub const POLICY_VERSION: i64 = 1;

/// The rotation period `env add` writes when none is given.
pub const DEFAULT_ROTATION_DAYS: u32 = 90;

/// One environment of the policy.
#[derive(Clone, Debug)]
pub struct Environment {
    /// Its name: lower-case letters, digits, `-` and `_`, at most 63 characters.
    pub name: String,
    /// The public key values of this environment are sealed to.
    pub public_key: PublicKey,
    /// When the key was created.
    pub created: SealedAt,
    /// How often the key is to be rotated, in days; `None` for never.
    pub rotate_every_days: Option<u32>,
    /// The files it covers, relative to the policy's directory.
    pub files: Vec<FileGlob>,
    /// Values sealed in addition to the default rule.
    pub seal: Vec<PathGlob>,
    /// Who can open the environment's keyring, in the policy's order.
    pub members: Vec<Member>,
    /// The public half of its attestation key (`spec/attest.md` 7.1), when the
    /// policy records it.
    pub attest_key: Option<AttestPublicKey>,
    /// Whether `check` reports its files that are not attested as problems.
    pub require_attestation: bool,
    /// Members removed without a rotation since: they knew the key, and a
    /// rotation is owed (`spec/policy.md` 7.1).
    pub rotation_owed: Option<RotationOwed>,
    /// When `rotate` last replaced its key (`None`: never, as far as the policy
    /// tells); kept when `prune` drops the retired keys that also tell it.
    pub rotated: Option<SealedAt>,
}

/// A rotation owed after members were removed without one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationOwed {
    /// When the first of them was removed.
    pub since: SealedAt,
    /// Their names, in the order they were removed.
    pub removed: Vec<String>,
}

impl Environment {
    /// Whether `rel_path` (relative to the policy's directory, `/`-separated) is
    /// one of this environment's files.
    pub fn covers(&self, rel_path: &str) -> bool {
        self.files.iter().any(|g| g.matches(rel_path))
    }

    /// The selection rule for this environment's files: the default rule and the
    /// policy's `seal` globs.
    pub fn selection(&self) -> crate::document::Selection {
        if self.seal.is_empty() {
            crate::document::Selection::Default
        } else {
            crate::document::Selection::DefaultAnd(self.seal.clone())
        }
    }
}

/// A parsed, valid policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The environments, in the file's order.
    pub environments: Vec<Environment>,
    doc: DocumentMut,
}

/// Checks an environment name (it becomes a file name under `.cachet/keys/`).
pub fn check_environment_name(name: &str) -> Result<(), &'static str> {
    let ok_first = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok_first
        || name.len() > 63
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(
            "an environment name is 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit",
        );
    }
    Ok(())
}

/// Parses a rotation period, `"<days>d"` with 1 to 3650 days (no sign, no
/// leading zero).
pub fn parse_period(s: &str) -> Option<u32> {
    let digits = s.strip_suffix('d')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=3650).contains(d))
}

fn invalid(at: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        at: at.into(),
        reason: reason.into(),
    }
}

fn string_list(item: &Item, at: &str) -> Result<Vec<(String, String)>, PolicyError> {
    let array = item
        .as_array()
        .ok_or_else(|| invalid(at, "must be an array of strings"))?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let place = format!("{at}[{i}]");
            v.as_str()
                .map(|s| (place.clone(), s.to_string()))
                .ok_or_else(|| invalid(place, "must be a string"))
        })
        .collect()
}

fn parse_environment(name: &str, item: &Item) -> Result<Environment, PolicyError> {
    let shown = quote_key(name);
    let at = |field: &str| format!("environments.{shown}.{}", quote_key(field));
    check_environment_name(name).map_err(|r| invalid(format!("environments.{shown}"), r))?;
    let table = item
        .as_table_like()
        .ok_or_else(|| invalid(format!("environments.{shown}"), "must be a table"))?;
    for (k, _) in table.iter() {
        if !matches!(
            k,
            "public_key"
                | "created"
                | "rotate_every"
                | "files"
                | "seal"
                | "members"
                | "attest_key"
                | "require_attestation"
                | "rotation_owed"
                | "rotated"
        ) {
            return Err(invalid(
                at(k),
                "unknown field (known: public_key, created, rotated, rotate_every, files, seal, members, attest_key, require_attestation, rotation_owed)",
            ));
        }
    }
    let field = |k: &str| table.get(k);
    let public_key = field("public_key")
        .ok_or_else(|| {
            invalid(
                at("public_key"),
                "missing: the environment's age1… public key",
            )
        })?
        .as_str()
        .ok_or_else(|| invalid(at("public_key"), "must be a string"))?
        .parse::<PublicKey>()
        .map_err(|e| invalid(at("public_key"), e.to_string()))?;
    let created = field("created")
        .ok_or_else(|| invalid(at("created"), "missing: when the key was created"))?
        .as_str()
        .and_then(SealedAt::parse_rfc3339)
        .ok_or_else(|| {
            invalid(
                at("created"),
                "must be a UTC time written YYYY-MM-DDThh:mm:ssZ",
            )
        })?;
    let rotate_every_days = match field("rotate_every") {
        None => None,
        Some(v) => Some(v.as_str().and_then(parse_period).ok_or_else(|| {
            invalid(
                at("rotate_every"),
                "must be a number of days from 1 to 3650, written like \"90d\"",
            )
        })?),
    };
    let attest_key = match field("attest_key") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| invalid(at("attest_key"), "must be a string"))?
                .parse::<AttestPublicKey>()
                .map_err(|e| invalid(at("attest_key"), e))?,
        ),
    };
    let require_attestation = match field("require_attestation") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| invalid(at("require_attestation"), "must be true or false"))?,
    };
    let rotated = match field("rotated") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(SealedAt::parse_rfc3339)
                .ok_or_else(|| {
                    invalid(
                        at("rotated"),
                        "must be a UTC time written YYYY-MM-DDThh:mm:ssZ",
                    )
                })?,
        ),
    };
    let rotation_owed = match field("rotation_owed") {
        None => None,
        Some(v) => Some(parse_rotation_owed(v, &at("rotation_owed"))?),
    };
    let files = match field("files") {
        None => {
            return Err(invalid(
                at("files"),
                "missing: the globs of the files this environment covers",
            ));
        }
        Some(v) => string_list(v, &at("files"))?
            .into_iter()
            .map(|(place, s)| FileGlob::new(&s).map_err(|e| invalid(place, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let seal = match field("seal") {
        None => Vec::new(),
        Some(v) => string_list(v, &at("seal"))?
            .into_iter()
            .map(|(place, s)| PathGlob::new(&s).map_err(|e| invalid(place, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut members: Vec<Member> = Vec::new();
    if let Some(v) = field("members") {
        let t = v
            .as_table_like()
            .ok_or_else(|| invalid(at("members"), "must be a table of NAME = \"RECIPIENT\""))?;
        for (mname, mv) in t.iter() {
            let place = format!("{}.{}", at("members"), quote_key(mname));
            check_member_name(mname).map_err(|r| invalid(place.clone(), r))?;
            let recipient: MemberRecipient = mv
                .as_str()
                .ok_or_else(|| {
                    invalid(place.clone(), "must be a string (the member's public key)")
                })?
                .parse()
                .map_err(|e: crate::seal::KeyError| invalid(place.clone(), e.to_string()))?;
            if let Some(other) = members.iter().find(|m| m.recipient == recipient) {
                return Err(invalid(
                    place,
                    format!(
                        "the same key as member {:?}; each member is listed once",
                        other.name
                    ),
                ));
            }
            members.push(Member {
                name: mname.to_string(),
                recipient,
            });
        }
    }
    Ok(Environment {
        name: name.to_string(),
        public_key,
        created,
        rotate_every_days,
        files,
        seal,
        members,
        attest_key,
        require_attestation,
        rotation_owed,
        rotated,
    })
}

/// `rotation_owed = { since = "…", removed = ["…", …] }`.
fn parse_rotation_owed(item: &Item, place: &str) -> Result<RotationOwed, PolicyError> {
    let shape = "must be { since = \"YYYY-MM-DDThh:mm:ssZ\", removed = [\"NAME\", …] }";
    let t = item.as_table_like().ok_or_else(|| invalid(place, shape))?;
    if t.iter().any(|(k, _)| k != "since" && k != "removed") {
        return Err(invalid(place, shape));
    }
    let since = t
        .get("since")
        .and_then(Item::as_str)
        .and_then(SealedAt::parse_rfc3339)
        .ok_or_else(|| invalid(place, shape))?;
    let removed = match t.get("removed") {
        Some(v) => string_list(v, &format!("{place}.removed"))?
            .into_iter()
            .map(|(_, name)| name)
            .collect(),
        None => return Err(invalid(place, shape)),
    };
    Ok(RotationOwed { since, removed })
}

/// A key as it is written in a dotted place (quoted when it is not bare).
fn quote_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

impl Policy {
    /// A new policy with no environments.
    pub fn new() -> Policy {
        let text = format!(
            "# cachet policy: environments, the files they cover and who can open them.\n\
             # Format: spec/policy.md. Change it with `cachet env …` and `cachet members …`.\n\
             version = {POLICY_VERSION}\n\n[environments]\n"
        );
        Policy::parse(&text).unwrap_or_else(|_| Policy {
            environments: Vec::new(),
            doc: DocumentMut::new(),
        })
    }

    /// Parses and validates the text of a policy file.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            PolicyError::Parse {
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        for (k, _) in doc.iter() {
            if !matches!(k, "version" | "environments") {
                return Err(invalid(
                    quote_key(k),
                    "unknown field (known: version, environments)",
                ));
            }
        }
        match doc.get("version").map(|v| v.as_integer()) {
            None => return Err(invalid("version", "missing: write version = 1")),
            Some(Some(POLICY_VERSION)) => {}
            Some(Some(_)) => {
                return Err(invalid(
                    "version",
                    "written for another cachet version (this one reads version = 1); upgrade cachet",
                ));
            }
            Some(None) => return Err(invalid("version", "must be the integer 1")),
        }
        let mut environments: Vec<Environment> = Vec::new();
        if let Some(item) = doc.get("environments") {
            let t = item
                .as_table_like()
                .ok_or_else(|| invalid("environments", "must be a table"))?;
            for (name, item) in t.iter() {
                let env = parse_environment(name, item)?;
                if let Some(other) = environments.iter().find(|e| e.public_key == env.public_key) {
                    return Err(invalid(
                        format!("environments.{name}.public_key"),
                        format!(
                            "the same key as environment {}; each environment needs its own key",
                            other.name
                        ),
                    ));
                }
                for g in &env.files {
                    if let Some(other) = environments
                        .iter()
                        .find(|e| e.files.iter().any(|h| h.as_str() == g.as_str()))
                    {
                        return Err(invalid(
                            format!("environments.{name}.files"),
                            format!(
                                "{:?} is also a glob of environment {}; a file belongs to exactly one environment",
                                g.as_str(),
                                other.name
                            ),
                        ));
                    }
                }
                environments.push(env);
            }
        }
        Ok(Policy { environments, doc })
    }

    /// The environment called `name`.
    pub fn environment(&self, name: &str) -> Result<&Environment, PolicyError> {
        self.environments
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| PolicyError::UnknownEnvironment(name.to_string()))
    }

    /// The environment whose public key has this key id, if any.
    pub fn environment_of_key(&self, id: &crate::seal::KeyId) -> Option<&Environment> {
        self.environments
            .iter()
            .find(|e| e.public_key.key_id() == *id)
    }

    /// The one environment that covers `rel_path` (relative to the policy's
    /// directory, `/`-separated): `Ok(None)` when none does, an error when several do.
    pub fn environment_for(&self, rel_path: &str) -> Result<Option<&Environment>, PolicyError> {
        let mut found = self.environments.iter().filter(|e| e.covers(rel_path));
        let first = found.next();
        if let (Some(a), Some(b)) = (first, found.next()) {
            return Err(PolicyError::Overlap {
                file: rel_path.to_string(),
                first: a.name.clone(),
                second: b.name.clone(),
            });
        }
        Ok(first)
    }

    fn env_table(&mut self, name: &str) -> Result<&mut Table, PolicyError> {
        let item = self
            .doc
            .get_mut("environments")
            .and_then(|e| e.get_mut(name))
            .ok_or_else(|| PolicyError::UnknownEnvironment(name.to_string()))?;
        // An environment written inline (`ci = { … }`) becomes a [table] to be edited.
        if let Some(inline) = item.as_inline_table() {
            *item = Item::Table(inline.clone().into_table());
        }
        item.as_table_mut()
            .ok_or_else(|| PolicyError::UnknownEnvironment(name.to_string()))
    }

    /// Adds an environment (after the others).
    pub fn add_environment(&mut self, env: &Environment) -> Result<(), PolicyError> {
        if self.environments.iter().any(|e| e.name == env.name) {
            return Err(PolicyError::EnvironmentExists(env.name.clone()));
        }
        let mut t = Table::new();
        t["public_key"] = value(env.public_key.to_string());
        if let Some(k) = &env.attest_key {
            t["attest_key"] = value(k.to_string());
        }
        t["created"] = value(env.created.rfc3339());
        if env.require_attestation {
            t["require_attestation"] = value(true);
        }
        if let Some(d) = env.rotate_every_days {
            t["rotate_every"] = value(format!("{d}d"));
        }
        let mut files = Array::new();
        for g in &env.files {
            files.push(g.as_str());
        }
        t["files"] = value(files);
        if !env.seal.is_empty() {
            let mut seal = Array::new();
            for g in &env.seal {
                seal.push(g.as_str());
            }
            t["seal"] = value(seal);
        }
        let mut members = Table::new();
        for m in &env.members {
            members.insert(&m.name, value(m.recipient.to_string()));
        }
        t["members"] = Item::Table(members);
        let envs = self
            .doc
            .entry("environments")
            .or_insert(Item::Table(Table::new()));
        let envs = envs
            .as_table_mut()
            .ok_or_else(|| invalid("environments", "must be a table"))?;
        envs.set_implicit(true);
        envs.insert(&env.name, Item::Table(t));
        self.reparse()
    }

    /// Replaces an environment's member list, keeping the lines of members that stay.
    pub fn set_members(&mut self, name: &str, members: &[Member]) -> Result<(), PolicyError> {
        let t = self.env_table(name)?;
        let table = t
            .entry("members")
            .or_insert(Item::Table(Table::new()))
            .as_table_like_mut()
            .ok_or_else(|| invalid(format!("environments.{name}.members"), "must be a table"))?;
        let gone: Vec<String> = table
            .iter()
            .filter(|(k, v)| {
                !members
                    .iter()
                    .any(|m| m.name == *k && v.as_str() == Some(m.recipient.to_string().as_str()))
            })
            .map(|(k, _)| k.to_string())
            .collect();
        for k in gone {
            table.remove(&k);
        }
        for m in members {
            if table.get(&m.name).is_none() {
                table.insert(&m.name, value(m.recipient.to_string()));
            }
        }
        self.reparse()
    }

    /// Sets an environment's public key, the public half of its attestation key
    /// (`spec/attest.md` 2; derived from the secret key, which the caller holds)
    /// and its creation date.
    pub fn set_key(
        &mut self,
        name: &str,
        public_key: &PublicKey,
        attest_key: &AttestPublicKey,
        created: SealedAt,
    ) -> Result<(), PolicyError> {
        let t = self.env_table(name)?;
        t["public_key"] = value(public_key.to_string());
        t["attest_key"] = value(attest_key.to_string());
        t["created"] = value(created.rfc3339());
        self.reparse()
    }

    /// Records when an environment's key was last rotated.
    pub fn set_rotated(&mut self, name: &str, at: SealedAt) -> Result<(), PolicyError> {
        let t = self.env_table(name)?;
        t["rotated"] = value(at.rfc3339());
        self.reparse()
    }

    /// Records (or with `None`, clears) the rotation an environment owes.
    pub fn set_rotation_owed(
        &mut self,
        name: &str,
        owed: Option<&RotationOwed>,
    ) -> Result<(), PolicyError> {
        let t = self.env_table(name)?;
        match owed {
            None => {
                t.remove("rotation_owed");
            }
            Some(owed) => {
                let mut inline = toml_edit::InlineTable::new();
                inline.insert("since", owed.since.rfc3339().into());
                let mut removed = Array::new();
                for name in &owed.removed {
                    removed.push(name.as_str());
                }
                inline.insert("removed", toml_edit::Value::Array(removed));
                t["rotation_owed"] = value(inline);
            }
        }
        self.reparse()
    }

    /// Sets the public half of an environment's attestation key.
    pub fn set_attest_key(
        &mut self,
        name: &str,
        attest_key: &AttestPublicKey,
    ) -> Result<(), PolicyError> {
        let t = self.env_table(name)?;
        t["attest_key"] = value(attest_key.to_string());
        self.reparse()
    }

    /// Re-reads the edited text, so the environments always match what is written.
    fn reparse(&mut self) -> Result<(), PolicyError> {
        *self = Policy::parse(&self.doc.to_string())?;
        Ok(())
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.doc)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Finds the policy file by walking up from `start` (a directory): the nearest
/// `.cachet.toml`, as `.sops.yaml` is found.
pub fn find_policy(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(POLICY_FILE))
        .find(|p| p.is_file())
}

/// Where an environment's keyring lives, relative to the policy's directory.
pub fn keyring_path(root: &Path, environment: &str) -> PathBuf {
    root.join(".cachet")
        .join("keys")
        .join(format!("{environment}.age"))
}

/// The policy file (`.cachet.toml`) is invalid, or does not answer a question.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is not valid TOML.
    Parse {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A field is missing, unknown or wrong.
    Invalid {
        /// The field's place, e.g. `environments.production.files[1]`.
        at: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// No environment of that name.
    UnknownEnvironment(String),
    /// An environment of that name exists already.
    EnvironmentExists(String),
    /// Two environments cover the same file.
    Overlap {
        /// The file, relative to the policy's directory.
        file: String,
        /// One environment covering it.
        first: String,
        /// Another environment covering it.
        second: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Parse {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: {}", message.trim()),
            PolicyError::Invalid { at, reason } => write!(f, "{at}: {reason}"),
            PolicyError::UnknownEnvironment(name) => write!(
                f,
                "no environment {name:?} (see `cachet env list`; add one with `cachet env add`)"
            ),
            PolicyError::EnvironmentExists(name) => {
                write!(f, "environment {name:?} exists already")
            }
            PolicyError::Overlap {
                file,
                first,
                second,
            } => write!(
                f,
                "{file} is covered by both environment {first} and environment {second}; a file belongs to exactly one environment: narrow the files globs in .cachet.toml"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

impl Classified for PolicyError {
    fn kind(&self) -> ErrorKind {
        match self {
            PolicyError::UnknownEnvironment(_) | PolicyError::EnvironmentExists(_) => {
                ErrorKind::Usage
            }
            _ => ErrorKind::Input,
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key::SecretKey;

    fn pk(n: u8) -> String {
        SecretKey::from_bytes([n; 32]).public_key().to_string()
    }

    fn env_text(name: &str, key: &str, extra: &str) -> String {
        format!(
            "[environments.{name}]\npublic_key = \"{key}\"\ncreated = \"2026-01-02T03:04:05Z\"\nfiles = [\"config/{name}/**\"]\n{extra}"
        )
    }

    #[test]
    fn a_policy_round_trips_through_its_edits_keeping_comments() {
        let mut p = Policy::parse(&format!(
            "# team policy\nversion = 1\n\n# production first\n{}\n[environments.production.members]\nalice = \"{}\" # laptop\n",
            env_text("production", &pk(1), "rotate_every = \"30d\"\nseal = [\"stripe.*\"]\n"),
            pk(50)
        ))
        .unwrap();
        let prod = p.environment("production").unwrap();
        assert_eq!(prod.rotate_every_days, Some(30));
        assert!(prod.covers("config/production/app.toml"));
        assert!(!prod.covers("config/staging/app.toml"));
        assert_eq!(prod.members.len(), 1);

        let mut members = prod.members.clone();
        members.push("bob=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN bob@x".parse().unwrap());
        p.set_members("production", &members).unwrap();
        let text = p.to_string();
        assert!(text.contains("# team policy\n"), "{text}");
        assert!(text.contains("# laptop"), "{text}");
        assert!(text.contains("bob = \"ssh-ed25519 AAAA"), "{text}");

        let staging = SecretKey::from_bytes([2; 32]).public_key();
        p.add_environment(&Environment {
            name: "staging".into(),
            public_key: staging,
            created: SealedAt::from_unix(0).unwrap(),
            rotate_every_days: Some(90),
            files: vec![FileGlob::new("config/staging/**").unwrap()],
            seal: Vec::new(),
            members: members[..1].to_vec(),
            attest_key: Some(AttestPublicKey::of(&SecretKey::from_bytes([2; 32]))),
            require_attestation: true,
            rotation_owed: None,
            rotated: None,
        })
        .unwrap();
        let again = Policy::parse(&p.to_string()).unwrap();
        let written = again.environment("staging").unwrap();
        assert_eq!(
            written.attest_key,
            Some(AttestPublicKey::of(&SecretKey::from_bytes([2; 32])))
        );
        assert!(written.require_attestation);
        assert_eq!(again.environments.len(), 2);
        assert_eq!(
            again
                .environment_for("config/staging/a.yaml")
                .unwrap()
                .unwrap()
                .name,
            "staging"
        );
        assert!(again.environment_for("README.md").unwrap().is_none());
    }

    #[test]
    fn every_invalid_policy_is_refused_with_its_place() {
        let ok_env = env_text("prod", &pk(1), "");
        let cases: Vec<(String, &str)> = vec![
            ("version = 1\nversion = 2\n".into(), "duplicate key"),
            ("[environments]\n".into(), "version: missing"),
            (
                "version = 2\n".into(),
                "version: written for another cachet version",
            ),
            ("version = \"1\"\n".into(), "version: must be the integer 1"),
            ("version = 1\nkeys = 1\n".into(), "keys: unknown field"),
            (
                format!("version = 1\n{}", env_text("Prod", &pk(1), "")),
                "environments.Prod: an environment name",
            ),
            (
                format!("version = 1\n{}", env_text("prod", "age1nope", "")),
                "environments.prod.public_key: not an age X25519 recipient",
            ),
            (
                format!("version = 1\n{ok_env}colour = 1\n"),
                "environments.prod.colour: unknown field",
            ),
            (
                format!("version = 1\n{ok_env}rotate_every = \"90\"\n"),
                "environments.prod.rotate_every: must be a number of days",
            ),
            (
                format!("version = 1\n{ok_env}rotate_every = \"0d\"\n"),
                "environments.prod.rotate_every",
            ),
            (
                format!("version = 1\n{ok_env}seal = \"x\"\n"),
                "environments.prod.seal: must be an array of strings",
            ),
            (
                format!("version = 1\n{ok_env}seal = [\"\"]\n"),
                "environments.prod.seal[0]:",
            ),
            (
                format!("version = 1\n{ok_env}seal = [1]\n"),
                "environments.prod.seal[0]: must be a string",
            ),
            (
                format!(
                    "version = 1\n{}",
                    env_text("prod", &pk(1), "").replace(
                        "created = \"2026-01-02T03:04:05Z\"",
                        "created = \"yesterday\""
                    )
                ),
                "environments.prod.created: must be a UTC time",
            ),
            (
                format!(
                    "version = 1\n{}",
                    env_text("prod", &pk(1), "").replace("files = [\"config/prod/**\"]\n", "")
                ),
                "environments.prod.files: missing",
            ),
            (
                format!(
                    "version = 1\n{}",
                    env_text("prod", &pk(1), "").replace("config/prod/**", "/etc/x")
                ),
                "environments.prod.files[0]:",
            ),
            (
                format!(
                    "version = 1\n{ok_env}[environments.prod.members]\n\"\" = \"{}\"\n",
                    pk(3)
                ),
                "environments.prod.members.\"\": a member name must not be empty",
            ),
            (
                format!("version = 1\n{ok_env}[environments.prod.members]\na = 1\n"),
                "environments.prod.members.a: must be a string",
            ),
            (
                format!(
                    "version = 1\n{ok_env}[environments.prod.members]\na = \"ecdsa-sha2-nistp256 AAAA\"\n"
                ),
                "environments.prod.members.a: not a usable member key",
            ),
            (
                format!(
                    "version = 1\n{ok_env}[environments.prod.members]\na = \"{}\"\nb = \"{}\"\n",
                    pk(3),
                    pk(3)
                ),
                "environments.prod.members.b: the same key as member \"a\"",
            ),
            (
                format!("version = 1\n{ok_env}{}", env_text("staging", &pk(1), "")),
                "environments.staging.public_key: the same key as environment prod",
            ),
            (
                format!(
                    "version = 1\n{ok_env}{}",
                    env_text("staging", &pk(2), "").replace("config/staging/**", "config/prod/**")
                ),
                "environments.staging.files: \"config/prod/**\" is also a glob of environment prod",
            ),
        ];
        for (text, want) in cases {
            let got = Policy::parse(&text).unwrap_err().to_string();
            assert!(got.contains(want), "{text}\n→ {got}\n(wanted {want})");
        }
    }

    #[test]
    fn overlapping_globs_are_an_error_for_the_file_they_share() {
        let p = Policy::parse(&format!(
            "version = 1\n{}{}",
            env_text("prod", &pk(1), ""),
            env_text("all", &pk(2), "").replace("config/all/**", "config/**")
        ))
        .unwrap();
        let err = p.environment_for("config/prod/app.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config/prod/app.toml is covered by both environment prod and environment all; a file belongs to exactly one environment: narrow the files globs in .cachet.toml"
        );
        assert_eq!(
            p.environment_for("config/x.toml").unwrap().unwrap().name,
            "all"
        );
    }

    #[test]
    fn periods_are_days_only() {
        assert_eq!(parse_period("90d"), Some(90));
        assert_eq!(parse_period("3650d"), Some(3650));
        for bad in ["", "d", "0d", "090d", "3651d", "90", "9 d", "-1d", "1w"] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
    }
}
