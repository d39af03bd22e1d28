//! `cachet audit`: the inventory of environments, keys, members, files and sealed
//! values, as aligned plain-text tables or (with `--json`) as the JSON document
//! specified in `spec/audit.md`.

use std::path::PathBuf;

use cachet::SealedAt;
use cachet::survey::checkout::survey_tree;
use cachet::survey::credential::CredentialKind;
use cachet::survey::environments::key_index;
use cachet::survey::findings::shown;
use cachet::survey::inventory::{AttestationEntry, Inventory};

use super::Failure;
use super::check::open_keyrings;
use super::team::current;

/// Aligned columns separated by two spaces; the last column is not padded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain(std::iter::once(headers[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn or_dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_string(), str::to_string)
}

fn day(s: &str) -> String {
    s.get(..10).unwrap_or(s).to_string()
}

fn place(document: u32, path: &str) -> String {
    if document == 0 {
        shown(path)
    } else {
        shown(&format!("{document}:{path}"))
    }
}

/// A file's attestation in the files table: who and when, or its status.
fn attested(a: Option<&AttestationEntry>) -> String {
    let Some(a) = a else {
        return "-".to_string();
    };
    match (a.status, &a.approver, &a.attested_at) {
        ("verified" | "attested", approver, Some(at)) => {
            let who = approver.as_deref().filter(|w| !w.is_empty()).map(shown);
            let unchecked = if a.status == "attested" {
                " (unchecked)"
            } else {
                ""
            };
            match who {
                Some(who) => format!("{who} {}{unchecked}", day(at)),
                None => format!("{}{unchecked}", day(at)),
            }
        }
        (status, _, _) => status.to_string(),
    }
}

fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The report as tables for a terminal.
fn render(inv: &Inventory) -> String {
    let mut out = String::new();
    let envs: Vec<Vec<String>> = inv
        .environments
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.key_id.clone(),
                day(&e.key_created),
                or_dash(e.last_rotated.as_deref().map(day).as_deref()),
                format!("{}d", e.age_days),
                e.rotate_every_days
                    .map_or_else(|| "-".to_string(), |d| format!("{d}d")),
                or_dash(e.rotation_due.as_deref().map(day).as_deref()),
                if e.rotation_owed.is_some() {
                    "OWED"
                } else if e.overdue {
                    "OVERDUE"
                } else {
                    "ok"
                }
                .to_string(),
                match (
                    e.keyring.status,
                    e.keyring.key_agrees,
                    e.keyring.members_agree,
                ) {
                    ("read", Some(true), Some(true)) => "agrees".to_string(),
                    ("read", _, _) => "DIFFERS".to_string(),
                    (status, _, _) => status.to_string(),
                },
                e.members
                    .iter()
                    .map(|m| shown(&m.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "ENVIRONMENT",
            "KEY ID",
            "CREATED",
            "ROTATED",
            "AGE",
            "PERIOD",
            "DUE",
            "ROTATION",
            "KEYRING",
            "MEMBERS",
        ],
        &envs,
    ));

    let retired: Vec<Vec<String>> = inv
        .environments
        .iter()
        .flat_map(|e| {
            e.retired_keys.iter().map(|k| {
                vec![
                    e.name.clone(),
                    k.key_id.clone(),
                    day(&k.retired),
                    k.values_in_use.to_string(),
                ]
            })
        })
        .collect();
    if !retired.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[
                "ENVIRONMENT",
                "RETIRED KEY ID",
                "RETIRED",
                "VALUES STILL SEALED TO IT",
            ],
            &retired,
        ));
    }

    if !inv.files.is_empty() {
        let files: Vec<Vec<String>> = inv
            .files
            .iter()
            .map(|f| {
                vec![
                    shown(&f.path),
                    or_dash(f.environment.as_deref()),
                    f.sealed_values.len().to_string(),
                    if f.keys.is_empty() {
                        "-".to_string()
                    } else {
                        f.keys
                            .iter()
                            .map(|k| format!("{} {} x{}", k.key_id, k.status, k.values))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    f.stale_values.to_string(),
                    f.plaintext_secrets.len().to_string(),
                    or_dash(f.last_set.as_deref()),
                    attested(f.attestation.as_ref()),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &[
                "FILE",
                "ENVIRONMENT",
                "SEALED",
                "KEYS",
                "STALE",
                "PLAIN SECRETS",
                "LAST SET",
                "ATTESTED",
            ],
            &files,
        ));
    }

    let values: Vec<Vec<String>> = inv
        .files
        .iter()
        .flat_map(|f| {
            f.sealed_values.iter().map(|v| {
                vec![
                    shown(&f.path),
                    place(v.document, &v.path),
                    v.key_id.clone(),
                    if v.conflict {
                        format!("{} (conflict)", v.key_status)
                    } else {
                        v.key_status.to_string()
                    },
                    v.sealed_at.clone(),
                ]
            })
        })
        .collect();
    if !values.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[
                "FILE",
                "SEALED VALUE",
                "KEY ID",
                "KEY",
                "SEALED AT (LAST SET)",
            ],
            &values,
        ));
    }

    let plain: Vec<Vec<String>> = inv
        .files
        .iter()
        .flat_map(|f| {
            f.plaintext_secrets.iter().map(|p| {
                let credential = p.credential.map(|id| {
                    CredentialKind::all()
                        .iter()
                        .find(|k| k.id() == id)
                        .map_or_else(|| id.to_string(), ToString::to_string)
                });
                let why = match (p.reason, credential) {
                    (Some(r), Some(c)) => format!("policy seals it ({r}); looks like {c}"),
                    (Some(r), None) => format!("policy seals it ({r})"),
                    (None, Some(c)) => format!("looks like {c}"),
                    (None, None) => "-".to_string(),
                };
                vec![shown(&f.path), place(p.document, &p.path), why]
            })
        })
        .chain(inv.files.iter().flat_map(|f| {
            f.malformed_values.iter().map(|m| {
                vec![
                    shown(&f.path),
                    place(m.document, &m.path),
                    "malformed sealed value".to_string(),
                ]
            })
        }))
        .chain(inv.files.iter().filter_map(|f| {
            f.error
                .as_ref()
                .map(|e| vec![shown(&f.path), "-".to_string(), e.clone()])
        }))
        .collect();
    if !plain.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &["FILE", "PLAIN OR UNREADABLE VALUE", "WHY"],
            &plain,
        ));
    }

    if !inv.unmatched_files.is_empty() {
        out.push_str("\nFiles of no environment:\n");
        for f in &inv.unmatched_files {
            out.push_str(&format!("  {}\n", shown(f)));
        }
    }
    let s = &inv.summary;
    out.push_str(&format!(
        "\n{} ({} past rotation), {}, {} ({} to a retired or unknown key, {} to another environment's key), {}, {} still in use, {} of no environment\n",
        count(s.environments, "environment"),
        s.overdue_keys,
        count(s.files, "file"),
        count(s.sealed_values, "sealed value"),
        s.stale_values,
        s.foreign_values,
        count(s.plaintext_secrets, "plain secret"),
        count(s.retired_keys_in_use, "retired key"),
        count(s.unmatched_files, "file")
    ));
    out
}

/// `cachet audit [--json]`.
pub fn audit(json: bool, identities: &[PathBuf]) -> Result<(), Failure> {
    let repo = current()?;
    let rings = open_keyrings(&repo, identities)?;
    let keys = key_index(&repo, &rings);
    let surveys = survey_tree(&repo)?;
    let inventory = Inventory::build(&repo.policy, &rings, &surveys, &keys, SealedAt::now());
    let text = if json {
        inventory.to_json()
    } else {
        render(&inventory)
    };
    super::write_stdout(text.as_bytes())
}
