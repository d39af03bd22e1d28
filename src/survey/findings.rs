//! What `cachet check` finds in surveyed files and environments: plain values the
//! policy seals, plaintext credentials, values sealed to a retired, foreign or
//! unknown key, merge conflicts and malformed tokens, values whose sealed-at went
//! back since a base revision, and keys past their rotation period.
//!
//! A finding names a file (or an environment), a value's path and a kind, and
//! says what to do; it never holds or shows a value. Its one-line form and the
//! exit statuses are normative in `spec/audit.md`.

use std::collections::BTreeMap;
use std::fmt;

use crate::document::attestation::AttestError;
use crate::path::ValuePath;
use crate::seal::OpenError;
use crate::seal::key::KeyId;
use crate::seal::token::SealedAt;
use crate::survey::credential::CredentialKind;
use crate::survey::{
    AttestationState, FileProblem, FileSurvey, KeyIndex, KeyStatus, SealReason, SurveyedValue,
    ValueState,
};
use crate::team::policy::Environment;
use crate::team::policy::POLICY_FILE;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Advice: `check` still exits 0 (unless `--strict`).
    Warning,
    /// A problem: `check` exits 1.
    Problem,
}

impl Severity {
    /// A warning, or a problem under `--strict`.
    pub fn warning_unless_strict(strict: bool) -> Severity {
        if strict {
            Severity::Problem
        } else {
            Severity::Warning
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Problem => "problem",
        })
    }
}

/// What was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// A plain value that the policy seals (what `cachet seal` would seal).
    Unsealed {
        /// Why the policy seals it.
        reason: SealReason,
        /// The kind of credential it also looks like, if any.
        credential: Option<CredentialKind>,
    },
    /// A plain value whose content looks like a credential, which the policy
    /// does not seal (or which is in a file of no environment).
    Credential(CredentialKind),
    /// A plain value, not a placeholder, whose name says it is a secret, in a
    /// file no environment covers (a `.env` at the root, say).
    Uncovered,
    /// A value sealed to a retired key of an environment.
    RetiredKey {
        /// The key id the token carries.
        key_id: KeyId,
        /// The environment whose keyring keeps the key as retired.
        environment: String,
    },
    /// A value sealed to the current key of another environment than the file's.
    ForeignKey {
        /// The key id the token carries.
        key_id: KeyId,
        /// The environment whose key it is.
        key_environment: String,
        /// The environment that covers the file.
        file_environment: String,
    },
    /// A value sealed to a key id that no environment has, as far as the policy
    /// and the keyrings read tell.
    UnknownKey {
        /// The key id the token carries.
        key_id: KeyId,
        /// The environment that covers the file, if any.
        file_environment: Option<String>,
        /// Whether that environment's keyring was read (so a retired key would
        /// have been recognised).
        keyring_read: bool,
    },
    /// An unresolved merge conflict marker.
    Conflict,
    /// A string that is meant to be a token and does not parse.
    Malformed(OpenError),
    /// A value whose sealed-at time is earlier than at the base revision: an
    /// older token put back (a rollback or a replay).
    Rollback {
        /// The base revision, as given.
        base_ref: String,
        /// The sealed-at time at the base revision.
        base: SealedAt,
        /// The sealed-at time now.
        now: SealedAt,
    },
    /// A covered file (or one holding a token) whose values cannot be read.
    File(FileProblem),
    /// An environment's key is past its rotation period.
    RotationOverdue {
        /// The environment's current key id.
        key_id: KeyId,
        /// When the key was created (or last rotated).
        created: SealedAt,
        /// The rotation period, in days.
        period_days: u32,
        /// When rotation was due.
        due: SealedAt,
    },
    /// A `files` glob of an environment that matches no file of the tree (a
    /// typo, a renamed directory): the policy silently covers nothing there.
    GlobMatchesNothing {
        /// The glob as written.
        glob: String,
    },
    /// A token that parses but does not open with the key the caller holds for
    /// it (a member's `check`): altered by hand, moved, or truncated.
    Unopenable(OpenError),
    /// A value sealed before a member was removed without a rotation: the
    /// removed member could open it, and may have kept it.
    KnownToRemoved {
        /// When the value was sealed.
        sealed_at: SealedAt,
        /// The members removed since.
        removed: Vec<String>,
    },
    /// A file of an environment that requires attestation carries none: it is
    /// proposed (`spec/attest.md`).
    Unattested,
    /// A file's attestation is damaged, names another file, or does not verify
    /// with the policy's attestation key.
    Attestation(AttestError),
    /// A file's attestation is older than at the base revision: an older
    /// approved version put back.
    AttestedEarlier {
        /// The base revision, as given.
        base_ref: String,
        /// When the file was attested at the base revision.
        base: SealedAt,
        /// When it was attested now.
        now: SealedAt,
    },
}

impl FindingKind {
    /// Whether the finding's subject is an environment (of the policy) rather
    /// than a file.
    pub fn about_environment(&self) -> bool {
        matches!(
            self,
            FindingKind::RotationOverdue { .. } | FindingKind::GlobMatchesNothing { .. }
        )
    }

    /// A stable, machine-readable name of the kind (`unsealed`, `credential`,
    /// `retired-key`, `foreign-key`, `unknown-key`, `conflict`, `malformed`,
    /// `rollback`, `file`, `rotation-overdue`).
    pub fn id(&self) -> &'static str {
        match self {
            FindingKind::Unsealed { .. } => "unsealed",
            FindingKind::Credential(_) => "credential",
            FindingKind::Uncovered => "uncovered",
            FindingKind::RetiredKey { .. } => "retired-key",
            FindingKind::ForeignKey { .. } => "foreign-key",
            FindingKind::UnknownKey { .. } => "unknown-key",
            FindingKind::Conflict => "conflict",
            FindingKind::Malformed(_) => "malformed",
            FindingKind::Rollback { .. } => "rollback",
            FindingKind::File(_) => "file",
            FindingKind::RotationOverdue { .. } => "rotation-overdue",
            FindingKind::GlobMatchesNothing { .. } => "glob-matches-nothing",
            FindingKind::Unopenable(_) => "unopenable",
            FindingKind::KnownToRemoved { .. } => "known-to-removed",
            FindingKind::Unattested => "unattested",
            FindingKind::Attestation(_) => "attestation",
            FindingKind::AttestedEarlier { .. } => "attested-earlier",
        }
    }
}

/// One finding: where, how serious, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file (relative to the policy's directory) or the environment.
    pub subject: String,
    /// The value's document index and path, for a finding about one value.
    pub value: Option<(u32, ValuePath)>,
    /// How serious it is.
    pub severity: Severity,
    /// What was found.
    pub kind: FindingKind,
}

/// A file or environment name (or a value's place) as shown: control characters
/// and the Unicode line and paragraph separators escaped, so a finding is always
/// one line.
pub fn shown(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A value's place as findings write it: the path, with `N:` before it for a
/// document after the first (as the access log writes paths).
pub fn value_text(document: u32, path: &ValuePath) -> String {
    if document == 0 {
        path.to_string()
    } else {
        format!("{document}:{path}")
    }
}

fn date(t: SealedAt) -> String {
    t.rfc3339()[..10].to_string()
}

impl fmt::Display for Finding {
    /// `SUBJECT: [PATH: ]SEVERITY: MESSAGE`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = shown(&self.subject);
        write!(f, "{subject}: ")?;
        if let Some((document, path)) = &self.value {
            write!(f, "{}: ", shown(&value_text(*document, path)))?;
        }
        write!(f, "{}: ", self.severity)?;
        match &self.kind {
            FindingKind::Unsealed { reason, credential } => {
                f.write_str("plain text, but the policy seals it (")?;
                match reason {
                    SealReason::Name => f.write_str("its name says it is a secret")?,
                    SealReason::Content(kind) => write!(f, "it holds {kind}")?,
                    SealReason::PolicyGlob => f.write_str("a seal glob of the policy names it")?,
                }
                if let Some(kind) = credential.filter(|k| *reason != SealReason::Content(*k)) {
                    write!(f, "; it looks like {kind}")?;
                }
                write!(
                    f,
                    "): run `cachet seal {subject}`, and change the secret if this was ever pushed"
                )
            }
            FindingKind::Uncovered => write!(
                f,
                "plain text, and its name says it is a secret, but no environment of {POLICY_FILE} covers this file: add it to an environment's files and run `cachet seal {subject}`, or move the secret out; change it if this was ever pushed"
            ),
            FindingKind::Credential(kind) => {
                let path = self
                    .value
                    .as_ref()
                    .map_or_else(|| "PATH".to_string(), |(_, p)| shown(&p.to_string()));
                write!(
                    f,
                    "plain text that looks like {kind}: seal it (`cachet seal --path '{path}' {subject}`) or move it out of the file, and revoke it if this was ever pushed"
                )
            }
            FindingKind::RetiredKey {
                key_id,
                environment,
            } => write!(
                f,
                "sealed to key id {key_id}, a retired key of environment {environment}: a value a rotation has not re-sealed yet (`cachet rotate {environment}` finishes it), or an old value put back"
            ),
            FindingKind::ForeignKey {
                key_id,
                key_environment,
                file_environment,
            } => write!(
                f,
                "sealed to key id {key_id}, the key of environment {key_environment}, but the file belongs to environment {file_environment}; a member of both re-seals the file for {file_environment} with `cachet reseal FILE`"
            ),
            FindingKind::UnknownKey {
                key_id,
                file_environment,
                keyring_read,
            } => match (file_environment, keyring_read) {
                (Some(env), false) => write!(
                    f,
                    "sealed to key id {key_id}, which is not the current key of environment {env} (a retired key, or one no environment has; a member of {env} can tell with `cachet check`)"
                ),
                _ => write!(
                    f,
                    "sealed to key id {key_id}, which no environment of the policy has: a value sealed elsewhere, or to a swapped key; seal it again"
                ),
            },
            FindingKind::Conflict => write!(
                f,
                "an unresolved merge conflict; resolve it with `cachet edit {subject}`"
            ),
            FindingKind::Malformed(e) => write!(f, "{e}"),
            FindingKind::Rollback {
                base_ref,
                base,
                now,
            } => write!(
                f,
                "sealed at {}, earlier than at {base_ref} ({}): an older sealed value was put back (a rollback or a replay); set the value again if that was not meant, or accept it with `cachet reseal FILE`",
                now.rfc3339(),
                base.rfc3339()
            ),
            FindingKind::File(problem) => write!(f, "{problem}"),
            FindingKind::Unopenable(e) => write!(
                f,
                "{e}; set it again (`cachet set FILE PATH`), or take it back from git if it was changed by mistake"
            ),
            FindingKind::KnownToRemoved { sealed_at, removed } => write!(
                f,
                "sealed at {}, before {} {} removed without a rotation: they could open it; change the secret (`cachet set FILE PATH`, or `--generate`) after `cachet rotate`",
                sealed_at.rfc3339(),
                removed
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if removed.len() == 1 { "was" } else { "were" }
            ),
            FindingKind::Unattested => f.write_str(
                "not attested (proposed), and its environment requires attestation: a member reviews it and runs `cachet attest` on it",
            ),
            FindingKind::Attestation(e) => write!(f, "{e}"),
            FindingKind::AttestedEarlier {
                base_ref,
                base,
                now,
            } => write!(
                f,
                "attested at {}, earlier than at {base_ref} ({}): an older approved version was put back; attest the file again if that was meant",
                now.rfc3339(),
                base.rfc3339()
            ),
            FindingKind::RotationOverdue {
                key_id,
                created,
                period_days,
                due,
            } => write!(
                f,
                "its key (key id {key_id}, created {}) is past its rotation period of {period_days} days (due {}); run `cachet rotate {subject}`",
                date(*created),
                date(*due)
            ),
            FindingKind::GlobMatchesNothing { glob } => write!(
                f,
                "its files glob {:?} matches no file, so it covers nothing: check it for a typo or a renamed directory in {POLICY_FILE}",
                shown(glob)
            ),
        }
    }
}

/// For each environment's `files` glob that matches none of `files` (the paths,
/// relative to the root, of every file of the tree), a warning, or a problem
/// when `strict`.
pub fn unmatched_globs(environments: &[Environment], files: &[&str], strict: bool) -> Vec<Finding> {
    environments
        .iter()
        .flat_map(|env| {
            env.files
                .iter()
                .filter(|g| !files.iter().any(|f| g.matches(f)))
                .map(|g| Finding {
                    subject: env.name.clone(),
                    value: None,
                    severity: Severity::warning_unless_strict(strict),
                    kind: FindingKind::GlobMatchesNothing {
                        glob: g.as_str().to_string(),
                    },
                })
        })
        .collect()
}

/// The findings about one surveyed file's values.
pub fn file_findings(file: &FileSurvey, keys: &KeyIndex) -> Vec<Finding> {
    let finding = |value: Option<&SurveyedValue>, kind| Finding {
        subject: file.rel.clone(),
        value: value.map(|v| (v.document, v.path.clone())),
        severity: Severity::Problem,
        kind,
    };
    let values = match &file.values {
        Ok(v) => v,
        Err(problem) => return vec![finding(None, FindingKind::File(problem.clone()))],
    };
    let env = file.environment.as_deref();
    let mut out = Vec::new();
    for v in values {
        let kind = match &v.state {
            ValueState::Plain {
                must_seal: Some(reason),
                credential,
                ..
            } if env.is_some() => FindingKind::Unsealed {
                reason: *reason,
                credential: *credential,
            },
            ValueState::Plain {
                credential: Some(kind),
                ..
            } => FindingKind::Credential(*kind),
            ValueState::Plain {
                must_seal: Some(SealReason::Name),
                credential: None,
                placeholder: false,
            } if env.is_none() => FindingKind::Uncovered,
            ValueState::Plain { .. } => continue,
            ValueState::Malformed(e) => FindingKind::Malformed(e.clone()),
            ValueState::Conflict { .. } => FindingKind::Conflict,
            ValueState::Sealed { key_id, .. } => match keys.status(key_id) {
                KeyStatus::Current(owner) => match env {
                    Some(e) if e != owner => FindingKind::ForeignKey {
                        key_id: *key_id,
                        key_environment: owner.to_string(),
                        file_environment: e.to_string(),
                    },
                    _ => continue,
                },
                KeyStatus::Retired(owner, _) => FindingKind::RetiredKey {
                    key_id: *key_id,
                    environment: owner.to_string(),
                },
                KeyStatus::Unknown => FindingKind::UnknownKey {
                    key_id: *key_id,
                    file_environment: env.map(str::to_string),
                    keyring_read: env.is_some_and(|e| keys.keyring_read(e)),
                },
            },
        };
        out.push(finding(Some(v), kind));
    }
    out
}

/// The findings about a surveyed file's attestation (`spec/attest.md` 7):
/// a proposed file of an environment that requires attestation, and an
/// attestation that does not hold (a problem where attestation is required,
/// else a warning unless `strict`).
pub fn attestation_findings(
    file: &FileSurvey,
    env: Option<&Environment>,
    strict: bool,
) -> Vec<Finding> {
    let required = env.is_some_and(|e| e.require_attestation);
    let (severity, kind) = match &file.attestation {
        Some(AttestationState::Proposed) if required => {
            (Severity::Problem, FindingKind::Unattested)
        }
        Some(AttestationState::Invalid(e)) => (
            if required {
                Severity::Problem
            } else {
                Severity::warning_unless_strict(strict)
            },
            FindingKind::Attestation(e.clone()),
        ),
        _ => return Vec::new(),
    };
    vec![Finding {
        subject: file.rel.clone(),
        value: None,
        severity,
        kind,
    }]
}

/// The values of a file of an environment that owes a rotation which were
/// sealed before the first removal: what the removed members could open
/// (warnings, problems under `strict`).
pub fn known_to_removed(
    file: &FileSurvey,
    env: Option<&Environment>,
    strict: bool,
) -> Vec<Finding> {
    let (Some(owed), Ok(values)) = (env.and_then(|e| e.rotation_owed.as_ref()), &file.values)
    else {
        return Vec::new();
    };
    values
        .iter()
        .filter_map(|v| match v.state {
            // Times are whole seconds: a value of the removal's own second may
            // predate it.
            ValueState::Sealed { sealed_at, .. } if sealed_at <= owed.since => Some(Finding {
                subject: file.rel.clone(),
                value: Some((v.document, v.path.clone())),
                severity: Severity::warning_unless_strict(strict),
                kind: FindingKind::KnownToRemoved {
                    sealed_at,
                    removed: owed.removed.clone(),
                },
            }),
            _ => None,
        })
        .collect()
}

/// The finding of a value that did not open although its key was given to the
/// survey (`unopenable`).
pub fn unopenable(file: &FileSurvey) -> Option<Finding> {
    let (path, reason) = file.unopenable.clone()?;
    Some(Finding {
        subject: file.rel.clone(),
        value: Some((0, path)),
        severity: Severity::Problem,
        kind: FindingKind::Unopenable(reason),
    })
}

/// The finding of a file attested earlier than it was at revision `base_ref`
/// (`then`, its attestation there).
pub fn attested_earlier(
    file: &FileSurvey,
    then: &crate::document::attestation::Attestation,
    base_ref: &str,
) -> Option<Finding> {
    let Some(AttestationState::Attested { attestation, .. }) = &file.attestation else {
        return None;
    };
    (attestation.attested_at < then.attested_at).then(|| Finding {
        subject: file.rel.clone(),
        value: None,
        severity: Severity::Problem,
        kind: FindingKind::AttestedEarlier {
            base_ref: base_ref.to_string(),
            base: then.attested_at,
            now: attestation.attested_at,
        },
    })
}

/// The values of `now` whose sealed-at time is earlier than the same value's
/// (same document and path) in `base`, the file at revision `base_ref`.
pub fn rollback_findings(
    file: &str,
    now: &[SurveyedValue],
    base: &[SurveyedValue],
    base_ref: &str,
) -> Vec<Finding> {
    let then: BTreeMap<(u32, &ValuePath), SealedAt> = base
        .iter()
        .filter_map(|v| v.state.sealed().map(|(_, at)| ((v.document, &v.path), at)))
        .collect();
    now.iter()
        .filter_map(|v| {
            let (_, at) = v.state.sealed()?;
            let was = *then.get(&(v.document, &v.path))?;
            (at < was).then(|| Finding {
                subject: file.to_string(),
                value: Some((v.document, v.path.clone())),
                severity: Severity::Problem,
                kind: FindingKind::Rollback {
                    base_ref: base_ref.to_string(),
                    base: was,
                    now: at,
                },
            })
        })
        .collect()
}

/// An environment key's age against its rotation period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAge {
    /// When the current key was created (by `env add` or the last rotation): the
    /// earlier of the policy's `created` and, when the keyring was read, the
    /// keyring's date for the key, so editing the policy's date hides nothing.
    pub created: SealedAt,
    /// Whole days since then.
    pub age_days: u64,
    /// The rotation period, in days (`None`: the policy sets none).
    pub period_days: Option<u32>,
    /// When rotation is (or was) due.
    pub due: Option<SealedAt>,
    /// Whether `due` is in the past.
    pub overdue: bool,
}

/// The age of `env`'s key at `now`; `keyring_created` is the keyring's creation
/// date of the key, when the keyring was read.
pub fn key_age(env: &Environment, keyring_created: Option<SealedAt>, now: SealedAt) -> KeyAge {
    let created = keyring_created.map_or(env.created, |k| k.min(env.created));
    let due = env.rotate_every_days.map(|days| {
        SealedAt::from_unix(created.unix().saturating_add(u64::from(days) * 86_400))
            .unwrap_or(created)
    });
    KeyAge {
        created,
        age_days: now.unix().saturating_sub(created.unix()) / 86_400,
        period_days: env.rotate_every_days,
        due,
        overdue: due.is_some_and(|d| d < now),
    }
}

/// A finding for a key past its rotation period: a warning, or a problem when
/// `strict`.
pub fn rotation_finding(env: &Environment, age: &KeyAge, strict: bool) -> Option<Finding> {
    let (true, Some(due), Some(period_days)) = (age.overdue, age.due, age.period_days) else {
        return None;
    };
    Some(Finding {
        subject: env.name.clone(),
        value: None,
        severity: Severity::warning_unless_strict(strict),
        kind: FindingKind::RotationOverdue {
            key_id: env.public_key.key_id(),
            created: age.created,
            period_days,
            due,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key::SecretKey;
    use crate::team::policy::Policy;

    fn env(created: &str, every: &str) -> Environment {
        let pk = SecretKey::from_bytes([1; 32]).public_key();
        Policy::parse(&format!(
            "version = 1\n[environments.prod]\npublic_key = \"{pk}\"\ncreated = \"{created}\"\nrotate_every = \"{every}\"\nfiles = []\n"
        ))
        .unwrap()
        .environments
        .remove(0)
    }

    #[test]
    fn a_key_is_overdue_the_day_after_its_period() {
        let e = env("2026-01-01T00:00:00Z", "30d");
        let at = |s: &str| SealedAt::parse_rfc3339(s).unwrap();
        let age = key_age(&e, None, at("2026-01-31T00:00:00Z"));
        assert_eq!(age.age_days, 30);
        assert_eq!(age.due, Some(at("2026-01-31T00:00:00Z")));
        assert!(!age.overdue);
        assert!(rotation_finding(&e, &age, false).is_none());
        let age = key_age(&e, None, at("2026-01-31T00:00:01Z"));
        assert!(age.overdue);
        let f = rotation_finding(&e, &age, false).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.to_string(),
            format!(
                "prod: warning: its key (key id {}, created 2026-01-01) is past its rotation period of 30 days (due 2026-01-31); run `cachet rotate prod`",
                e.public_key.key_id()
            )
        );
        assert_eq!(
            rotation_finding(&e, &age, true).unwrap().severity,
            Severity::Problem
        );
        // The keyring's earlier date wins over a policy date moved forward.
        let age = key_age(
            &e,
            Some(at("2025-01-01T00:00:00Z")),
            at("2026-01-02T00:00:00Z"),
        );
        assert!(age.overdue);
        assert_eq!(age.created, at("2025-01-01T00:00:00Z"));
    }

    #[test]
    fn a_value_sealed_earlier_than_at_the_base_is_a_rollback() {
        let id = SecretKey::from_bytes([1; 32]).public_key().key_id();
        let v = |p: &str, secs: u64| SurveyedValue {
            document: 0,
            path: p.parse().unwrap(),
            state: ValueState::Sealed {
                key_id: id,
                sealed_at: SealedAt::from_unix(secs).unwrap(),
            },
        };
        let base = [v("a", 100), v("b", 100), v("c", 100)];
        let now = [v("a", 99), v("b", 100), v("c", 101), v("d", 1)];
        let found = rollback_findings("f.toml", &now, &base, "main");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "f.toml: a: problem: sealed at 1970-01-01T00:01:39Z, earlier than at main (1970-01-01T00:01:40Z): an older sealed value was put back (a rollback or a replay); set the value again if that was not meant, or accept it with `cachet reseal FILE`"
        );
    }

    #[test]
    fn names_are_shown_on_one_line() {
        assert_eq!(shown("a\nb"), "a\\u{a}b");
        assert_eq!(value_text(2, &"x.y".parse().unwrap()), "2:x.y");
    }
}
