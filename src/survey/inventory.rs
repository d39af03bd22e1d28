//! The inventory `cachet audit` reports: every environment (key id, key dates,
//! age against the rotation period, members, keyring state, retired keys and how
//! many values still use them) and every surveyed file (its sealed values with
//! their key and sealed-at time, plaintext secrets, files of no environment).
//!
//! Its JSON form (`cachet audit --json`) is a stable interface, specified in
//! `spec/audit.md` with a JSON Schema in `spec/audit.schema.json`: fields are
//! only ever added with a new [`SCHEMA_VERSION`]. It never holds a value.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::seal::key::KeyId;
use crate::seal::token::SealedAt;
use crate::survey::environments::RingState;
use crate::survey::findings::{KeyAge, key_age};
use crate::survey::{AttestationState, FileSurvey, KeyIndex, KeyStatus, ValueState};
use crate::team::policy::{Environment, Policy};

/// The version of the JSON layout, written as `"schema"`.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Inventory {
    /// The layout version: [`SCHEMA_VERSION`].
    pub schema: u32,
    /// When the report was made (UTC, `YYYY-MM-DDThh:mm:ssZ`).
    pub generated_at: String,
    /// The policy's environments, in the policy's order.
    pub environments: Vec<EnvironmentEntry>,
    /// The surveyed files, sorted by path.
    pub files: Vec<FileEntry>,
    /// The paths of the surveyed files that no environment covers.
    pub unmatched_files: Vec<String>,
    /// Totals.
    pub summary: Summary,
}

/// One environment.
#[derive(Clone, Debug, Serialize)]
pub struct EnvironmentEntry {
    /// Its name.
    pub name: String,
    /// Its public key (`age1…`), from the policy.
    pub public_key: String,
    /// The key id of its public key.
    pub key_id: String,
    /// When the current key was created (the earlier of the policy's and the
    /// keyring's dates).
    pub key_created: String,
    /// When the previous key was retired (the keyring's latest retired key, or
    /// the policy's `rotated`; `null` when neither tells).
    pub last_rotated: Option<String>,
    /// The rotation period in days (`null`: none).
    pub rotate_every_days: Option<u32>,
    /// When rotation is due (`null`: no period).
    pub rotation_due: Option<String>,
    /// Whole days since `key_created`.
    pub age_days: u64,
    /// Whether `rotation_due` has passed.
    pub overdue: bool,
    /// The rotation owed after members were removed without one (`null`:
    /// none).
    pub rotation_owed: Option<RotationOwedEntry>,
    /// The members the policy lists.
    pub members: Vec<MemberEntry>,
    /// What the keyring told.
    pub keyring: KeyringEntry,
    /// The keyring's retired keys (empty when it was not read).
    pub retired_keys: Vec<RetiredKeyEntry>,
    /// How many surveyed files the environment covers.
    pub files: usize,
    /// How many values those files hold sealed (to any key).
    pub sealed_values: usize,
}

/// A member.
#[derive(Clone, Debug, Serialize)]
pub struct MemberEntry {
    /// The member's name.
    pub name: String,
    /// The member's public key (`age1…`, `ssh-ed25519 …`, …).
    pub recipient: String,
}

/// An environment's keyring.
#[derive(Clone, Debug, Serialize)]
pub struct KeyringEntry {
    /// `read`, `not-checked`, `missing` or `unreadable`.
    pub status: &'static str,
    /// Why it was not read (`null` when it was).
    pub detail: Option<String>,
    /// Whether its current key is the policy's (`null` when not read).
    pub key_agrees: Option<bool>,
    /// Whether its members are the policy's (`null` when not read).
    pub members_agree: Option<bool>,
}

/// A retired key of a keyring.
#[derive(Clone, Debug, Serialize)]
pub struct RetiredKeyEntry {
    /// Its key id.
    pub key_id: String,
    /// When it was created.
    pub created: String,
    /// When it was retired.
    pub retired: String,
    /// How many surveyed values are still sealed to it.
    pub values_in_use: usize,
}

/// One surveyed file.
#[derive(Clone, Debug, Serialize)]
pub struct FileEntry {
    /// Its path relative to the policy's directory, `/`-separated.
    pub path: String,
    /// The environment covering it (`null`: none).
    pub environment: Option<String>,
    /// Its format (`toml`, `yaml`, `json`, `jsonc`, `env`; `null` when unknown).
    pub format: Option<&'static str>,
    /// Why its values could not be read (`null` when they were).
    pub error: Option<String>,
    /// The number of sealed values per key id.
    pub keys: Vec<KeyCountEntry>,
    /// Every sealed value, in document order.
    pub sealed_values: Vec<SealedValueEntry>,
    /// How many sealed values carry a retired or unknown key.
    pub stale_values: usize,
    /// Plain values the policy seals or whose content looks like a credential.
    pub plaintext_secrets: Vec<PlaintextEntry>,
    /// Strings meant to be tokens that do not parse.
    pub malformed_values: Vec<ValueRef>,
    /// The latest sealed-at time of the file's values (`null`: none sealed).
    pub last_set: Option<String>,
    /// Its attestation (`null`: the file could not be read as its format).
    pub attestation: Option<AttestationEntry>,
}

/// A rotation an environment owes (`spec/policy.md` 7.1).
#[derive(Clone, Debug, Serialize)]
pub struct RotationOwedEntry {
    /// When the first member was removed without a rotation.
    pub since: String,
    /// Who was removed since.
    pub removed: Vec<String>,
}

/// A file's attestation (`spec/attest.md`).
#[derive(Clone, Debug, Serialize)]
pub struct AttestationEntry {
    /// `verified` (with the policy's attestation key), `attested` (the policy
    /// records no attestation key to check it with), `proposed` (none), or
    /// `invalid`.
    pub status: &'static str,
    /// Who approved it, as they named themselves.
    pub approver: Option<String>,
    /// When it was approved.
    pub attested_at: Option<String>,
    /// The key id of the key that attested it.
    pub key_id: Option<String>,
    /// Why it is invalid.
    pub detail: Option<String>,
}

impl AttestationEntry {
    fn of(state: &AttestationState) -> AttestationEntry {
        let mut entry = AttestationEntry {
            status: "proposed",
            approver: None,
            attested_at: None,
            key_id: None,
            detail: None,
        };
        match state {
            AttestationState::Proposed => {}
            AttestationState::Invalid(e) => {
                entry.status = "invalid";
                entry.detail = Some(e.to_string());
            }
            AttestationState::Attested {
                attestation,
                verified,
            } => {
                entry.status = if *verified { "verified" } else { "attested" };
                entry.approver = Some(attestation.approver.clone());
                entry.attested_at = Some(attestation.attested_at.rfc3339());
                entry.key_id = Some(attestation.key_id.to_string());
            }
        }
        entry
    }
}

/// How many values of a file are sealed to one key id.
#[derive(Clone, Debug, Serialize)]
pub struct KeyCountEntry {
    /// The key id.
    pub key_id: String,
    /// What the key is to this file (see [`SealedValueEntry::key_status`]).
    pub status: &'static str,
    /// The environment the key belongs to (`null`: unknown).
    pub key_environment: Option<String>,
    /// How many values.
    pub values: usize,
}

/// A sealed value.
#[derive(Clone, Debug, Serialize)]
pub struct SealedValueEntry {
    /// 0-based document index.
    pub document: u32,
    /// The value's path (`spec/format.md`, "Written form").
    pub path: String,
    /// The key id its token carries (for a merge conflict, our side's).
    pub key_id: String,
    /// `current` (the file's environment's key, or for a file of no environment
    /// any environment's current key), `foreign` (another environment's current
    /// key), `retired` (a retired key in a keyring read) or `unknown`.
    pub key_status: &'static str,
    /// The environment the key belongs to (`null`: unknown).
    pub key_environment: Option<String>,
    /// When it was sealed: when the value was last set.
    pub sealed_at: String,
    /// Whether it is an unresolved merge conflict.
    pub conflict: bool,
}

/// A plain value that should not be plain.
#[derive(Clone, Debug, Serialize)]
pub struct PlaintextEntry {
    /// 0-based document index.
    pub document: u32,
    /// The value's path.
    pub path: String,
    /// Why the policy (for a file of no environment, the default rule) seals it:
    /// `name`, `content` or `policy-glob`; `null` when it does not.
    pub reason: Option<&'static str>,
    /// The kind of credential its content looks like (`aws-access-key-id`, …;
    /// `null`: none).
    pub credential: Option<&'static str>,
}

/// A value's place.
#[derive(Clone, Debug, Serialize)]
pub struct ValueRef {
    /// 0-based document index.
    pub document: u32,
    /// The value's path.
    pub path: String,
}

/// Totals over the report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Environments in the policy.
    pub environments: usize,
    /// Surveyed files.
    pub files: usize,
    /// Sealed values.
    pub sealed_values: usize,
    /// Sealed values carrying a retired or unknown key.
    pub stale_values: usize,
    /// Sealed values carrying another environment's key.
    pub foreign_values: usize,
    /// Plain values listed in `plaintext_secrets`.
    pub plaintext_secrets: usize,
    /// Environments whose key is past its rotation period.
    pub overdue_keys: usize,
    /// Retired keys that values still use.
    pub retired_keys_in_use: usize,
    /// Files no environment covers.
    pub unmatched_files: usize,
}

fn key_status(
    keys: &KeyIndex,
    id: &KeyId,
    file_env: Option<&str>,
) -> (&'static str, Option<String>) {
    match keys.status(id) {
        KeyStatus::Current(owner) => (
            if file_env.is_none_or(|e| e == owner) {
                "current"
            } else {
                "foreign"
            },
            Some(owner.to_string()),
        ),
        KeyStatus::Retired(owner, _) => ("retired", Some(owner.to_string())),
        KeyStatus::Unknown => ("unknown", None),
    }
}

fn file_entry(file: &FileSurvey, keys: &KeyIndex) -> FileEntry {
    let env = file.environment.as_deref();
    let mut entry = FileEntry {
        path: file.rel.clone(),
        environment: file.environment.clone(),
        format: file.format.map(|f| f.name()),
        error: file.values.as_ref().err().map(ToString::to_string),
        keys: Vec::new(),
        sealed_values: Vec::new(),
        stale_values: 0,
        plaintext_secrets: Vec::new(),
        malformed_values: Vec::new(),
        last_set: None,
        attestation: file.attestation.as_ref().map(AttestationEntry::of),
    };
    let mut per_key: BTreeMap<KeyId, usize> = BTreeMap::new();
    let mut last: Option<SealedAt> = None;
    for v in file.values.iter().flatten() {
        let path = v.path.to_string();
        match &v.state {
            ValueState::Plain {
                must_seal,
                credential,
                ..
            } => {
                if must_seal.is_some() || credential.is_some() {
                    entry.plaintext_secrets.push(PlaintextEntry {
                        document: v.document,
                        path,
                        reason: must_seal.map(|r| r.id()),
                        credential: credential.map(|c| c.id()),
                    });
                }
            }
            ValueState::Malformed(_) => entry.malformed_values.push(ValueRef {
                document: v.document,
                path,
            }),
            state => {
                let Some((id, at)) = state.sealed() else {
                    continue;
                };
                let (status, owner) = key_status(keys, &id, env);
                if matches!(status, "retired" | "unknown") {
                    entry.stale_values += 1;
                }
                *per_key.entry(id).or_insert(0) += 1;
                last = last.max(Some(at));
                entry.sealed_values.push(SealedValueEntry {
                    document: v.document,
                    path,
                    key_id: id.to_string(),
                    key_status: status,
                    key_environment: owner,
                    sealed_at: at.rfc3339(),
                    conflict: matches!(state, ValueState::Conflict { .. }),
                });
            }
        }
    }
    entry.keys = per_key
        .into_iter()
        .map(|(id, values)| {
            let (status, owner) = key_status(keys, &id, env);
            KeyCountEntry {
                key_id: id.to_string(),
                status,
                key_environment: owner,
                values,
            }
        })
        .collect();
    entry.last_set = last.map(|t| t.rfc3339());
    entry
}

fn environment_entry(
    env: &Environment,
    keyring: Option<&RingState>,
    files: &[FileEntry],
    now: SealedAt,
) -> EnvironmentEntry {
    let ring = match keyring {
        Some(RingState::Read(r)) => Some(r),
        _ => None,
    };
    let current = ring.and_then(|r| {
        r.keys
            .iter()
            .find(|k| k.secret.public_key() == env.public_key)
    });
    let age: KeyAge = key_age(env, current.map(|k| k.created), now);
    let retired_keys: Vec<RetiredKeyEntry> = ring
        .map(|r| {
            r.keys
                .iter()
                .filter_map(|k| {
                    let retired = k.retired?;
                    let id = k.secret.public_key().key_id().to_string();
                    let values_in_use = files
                        .iter()
                        .flat_map(|f| &f.sealed_values)
                        .filter(|v| v.key_id == id)
                        .count();
                    Some(RetiredKeyEntry {
                        key_id: id,
                        created: k.created.rfc3339(),
                        retired: retired.rfc3339(),
                        values_in_use,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mine: Vec<&FileEntry> = files
        .iter()
        .filter(|f| f.environment.as_deref() == Some(env.name.as_str()))
        .collect();
    let (status, detail) = match keyring {
        Some(RingState::Read(_)) => ("read", None),
        Some(RingState::NotChecked(why)) => ("not-checked", Some(why.to_string())),
        Some(RingState::Missing) => ("missing", None),
        Some(RingState::Unreadable(why)) => ("unreadable", Some(why.clone())),
        // An environment missing from the keyrings given counts as not checked.
        None => ("not-checked", Some("not asked".to_string())),
    };
    let mut policy_members: Vec<_> = env.members.clone();
    policy_members.sort();
    EnvironmentEntry {
        name: env.name.clone(),
        public_key: env.public_key.to_string(),
        key_id: env.public_key.key_id().to_string(),
        key_created: age.created.rfc3339(),
        // The keyring's retired keys tell it until `prune` drops them; the
        // policy's `rotated` after.
        last_rotated: ring
            .and_then(|r| r.keys.iter().filter_map(|k| k.retired).max())
            .max(env.rotated)
            .map(|t| t.rfc3339()),
        rotate_every_days: age.period_days,
        rotation_due: age.due.map(|t| t.rfc3339()),
        age_days: age.age_days,
        overdue: age.overdue,
        rotation_owed: env.rotation_owed.as_ref().map(|o| RotationOwedEntry {
            since: o.since.rfc3339(),
            removed: o.removed.clone(),
        }),
        members: env
            .members
            .iter()
            .map(|m| MemberEntry {
                name: m.name.clone(),
                recipient: m.recipient.to_string(),
            })
            .collect(),
        keyring: KeyringEntry {
            status,
            detail,
            key_agrees: ring.map(|r| r.current().secret.public_key() == env.public_key),
            members_agree: ring.map(|r| r.members == policy_members),
        },
        retired_keys,
        files: mine.len(),
        sealed_values: mine.iter().map(|f| f.sealed_values.len()).sum(),
    }
}

impl Inventory {
    /// Builds the report from the policy, what each environment's keyring told
    /// (`keyrings`, by environment name; an environment missing from it counts as
    /// not checked), the surveyed files and the keys known, at time `now`.
    pub fn build(
        policy: &Policy,
        keyrings: &[(String, RingState)],
        surveys: &[FileSurvey],
        keys: &KeyIndex,
        now: SealedAt,
    ) -> Inventory {
        let mut files: Vec<FileEntry> = surveys.iter().map(|f| file_entry(f, keys)).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let environments: Vec<EnvironmentEntry> = policy
            .environments
            .iter()
            .map(|env| {
                let state = keyrings
                    .iter()
                    .find(|(name, _)| *name == env.name)
                    .map(|(_, s)| s);
                environment_entry(env, state, &files, now)
            })
            .collect();
        let unmatched_files: Vec<String> = files
            .iter()
            .filter(|f| f.environment.is_none())
            .map(|f| f.path.clone())
            .collect();
        let all_values = || files.iter().flat_map(|f| &f.sealed_values);
        let summary = Summary {
            environments: environments.len(),
            files: files.len(),
            sealed_values: all_values().count(),
            stale_values: files.iter().map(|f| f.stale_values).sum(),
            foreign_values: all_values().filter(|v| v.key_status == "foreign").count(),
            plaintext_secrets: files.iter().map(|f| f.plaintext_secrets.len()).sum(),
            overdue_keys: environments.iter().filter(|e| e.overdue).count(),
            retired_keys_in_use: environments
                .iter()
                .flat_map(|e| &e.retired_keys)
                .filter(|k| k.values_in_use > 0)
                .count(),
            unmatched_files: unmatched_files.len(),
        };
        Inventory {
            schema: SCHEMA_VERSION,
            generated_at: now.rfc3339(),
            environments,
            files,
            unmatched_files,
            summary,
        }
    }

    /// The report as pretty-printed JSON, ending with a line break.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        let mut out = serde_json::to_string_pretty(self).unwrap_or_default();
        out.push('\n');
        out
    }
}
