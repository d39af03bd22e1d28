//! SOPS's line-based stores: dotenv (`KEY=value`, metadata in `sops_…` keys) and
//! INI (sections, metadata in a `[sops]` section), with the metadata flattened as
//! SOPS writes it (`age__list_0__map_enc`).

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{EncComment, EncValue, Leaf, Plain, SopsError, aad};
use crate::document::selection::Selection;
use crate::document::tree::{self, Value};
use crate::format::Format;
use crate::format::Scalar;
use crate::format::scalar::push_wiped;
use crate::path::{Segment, ValuePath};

/// One line of the file, as the plain document needs it.
enum Line {
    Blank,
    /// A comment's text after its `#` or `;`.
    Comment(String),
    /// An INI section header.
    Section(String),
    /// A value: its leaf's index.
    Entry(usize),
    /// A line of the metadata, left out.
    Metadata,
}

/// A dotenv or INI file's lines and values.
pub(super) struct Lines {
    ini: bool,
    lines: Vec<Line>,
    /// Each value: its section (INI), key and text.
    entries: Vec<(Option<String>, String, Zeroizing<String>)>,
    trailing_newline: bool,
}

/// Reads a dotenv (`ini` false) or INI file: its lines, and its metadata
/// unflattened into a mapping.
pub(super) fn parse(ini: bool, text: &str) -> Result<(Lines, Value), SopsError> {
    let mut lines = Vec::new();
    let mut entries = Vec::new();
    let mut meta: Vec<(String, String)> = Vec::new();
    let mut section: Option<String> = None;
    let mut in_sops = false;
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (n, raw) in body.split('\n').enumerate() {
        let syntax = |reason| SopsError::Syntax {
            line: n + 1,
            reason,
        };
        let line = if ini { raw.trim() } else { raw };
        if line.trim().is_empty() {
            lines.push(Line::Blank);
            continue;
        }
        let comment = if ini {
            line.strip_prefix([';', '#'])
        } else {
            line.strip_prefix('#')
        };
        if let Some(c) = comment {
            lines.push(if in_sops {
                Line::Metadata
            } else {
                Line::Comment(c.to_string())
            });
            continue;
        }
        if ini && line.starts_with('[') {
            let name = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| syntax("a section header without its closing ]"))?
                .trim();
            in_sops = name == "sops";
            section = Some(name.to_string());
            lines.push(if in_sops {
                Line::Metadata
            } else {
                Line::Section(name.to_string())
            });
            continue;
        }
        let split = if ini {
            line.find(['=', ':'])
        } else {
            line.find('=')
        };
        let at = split.ok_or_else(|| {
            syntax(if ini {
                "a line that is neither key = value, a [section] nor a comment"
            } else {
                "a line that is neither KEY=VALUE nor a # comment"
            })
        })?;
        let (key, value) = (&line[..at], &line[at + 1..]);
        let (key, value) = if ini {
            (key.trim(), unquote(value.trim()))
        } else {
            (key, value)
        };
        if key.is_empty() {
            return Err(syntax("a value without a key"));
        }
        if ini && in_sops {
            meta.push((key.to_string(), value.replace("\\n", "\n")));
            lines.push(Line::Metadata);
        } else if let Some(k) = key.strip_prefix("sops_").filter(|_| !ini) {
            meta.push((k.to_string(), value.replace("\\n", "\n")));
            lines.push(Line::Metadata);
        } else {
            // SOPS writes a line break in a dotenv value as `\n`.
            let value = if ini {
                value.to_string()
            } else {
                value.replace("\\n", "\n")
            };
            lines.push(Line::Entry(entries.len()));
            entries.push((section.clone(), key.to_string(), Zeroizing::new(value)));
        }
    }
    if meta.is_empty() {
        return Err(SopsError::NotSops);
    }
    let meta = unflatten(&meta)?;
    Ok((
        Lines {
            ini,
            lines,
            entries,
            trailing_newline: text.ends_with('\n'),
        },
        meta,
    ))
}

/// An INI value without the quotes around it.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn bad_flat() -> SopsError {
    SopsError::Metadata {
        field: "sops".to_string(),
        reason: "its flattened keys (NAME__list_N__map_KEY) do not describe one structure",
    }
}

/// Rebuilds the metadata mapping from SOPS's flattened keys.
fn unflatten(flat: &[(String, String)]) -> Result<Value, SopsError> {
    let mut root = Value::Table(Vec::new());
    for (key, value) in flat {
        let mut parts = key.split("__");
        let first = parts.next().unwrap_or_default();
        let mut steps = vec![Segment::Key(first.to_string())];
        for p in parts {
            if let Some(i) = p.strip_prefix("list_") {
                steps.push(Segment::Index(i.parse().map_err(|_| bad_flat())?));
            } else if let Some(k) = p.strip_prefix("map_") {
                steps.push(Segment::Key(k.to_string()));
            } else {
                return Err(bad_flat());
            }
        }
        insert(&mut root, &steps, value)?;
    }
    Ok(root)
}

fn insert(node: &mut Value, steps: &[Segment], value: &str) -> Result<(), SopsError> {
    let Some((step, rest)) = steps.split_first() else {
        return match node {
            // A placeholder not yet filled.
            Value::Scalar(Scalar::Null) => {
                *node = Value::Scalar(Scalar::String(Zeroizing::new(value.to_string())));
                Ok(())
            }
            _ => Err(bad_flat()),
        };
    };
    let fresh = || match rest.first() {
        Some(Segment::Key(_)) => Value::Table(Vec::new()),
        Some(Segment::Index(_)) => Value::Array(Vec::new()),
        None => Value::Scalar(Scalar::Null),
    };
    match (node, step) {
        (Value::Table(entries), Segment::Key(k)) => {
            let i = match entries.iter().position(|(key, _)| key == k) {
                Some(i) => i,
                None => {
                    entries.push((k.clone(), fresh()));
                    entries.len() - 1
                }
            };
            insert(&mut entries[i].1, rest, value)
        }
        // Indices come in order, so a list only ever grows by one.
        (Value::Array(items), Segment::Index(i)) if *i <= items.len() => {
            if *i == items.len() {
                items.push(fresh());
            }
            insert(&mut items[*i], rest, value)
        }
        _ => Err(bad_flat()),
    }
}

impl Lines {
    fn path(&self, i: usize) -> ValuePath {
        let (section, key, _) = &self.entries[i];
        let mut p = ValuePath::root();
        if let Some(s) = section {
            p.push(Segment::Key(s.clone()));
        }
        p.push(Segment::Key(key.clone()));
        p
    }

    /// The values in order, and the comments SOPS encrypted.
    pub(super) fn leaves(&self) -> (Vec<Leaf>, Vec<EncComment>) {
        let leaves = (0..self.entries.len())
            .map(|i| {
                let path = self.path(i);
                Leaf {
                    keys: super::keys_of(&path),
                    path,
                    scalar: Scalar::String(self.entries[i].2.clone()),
                    span: None,
                }
            })
            .collect();
        let mut comments = Vec::new();
        let mut section: Option<&str> = None;
        let mut near = "the start of the file".to_string();
        for (n, line) in self.lines.iter().enumerate() {
            match line {
                Line::Section(s) => section = Some(s),
                Line::Entry(i) => near = self.path(*i).to_string(),
                Line::Comment(c) => {
                    let Ok(enc) = EncValue::parse(c.trim()) else {
                        continue;
                    };
                    // A comment belongs to the section it is in or, above a
                    // section's header, to that section.
                    let next = self.lines[n..].iter().find_map(|l| match l {
                        Line::Section(s) => Some(s.as_str()),
                        _ => None,
                    });
                    let mut aads = Vec::new();
                    for s in [section, next].into_iter().flatten() {
                        aads.push(aad(&[s.to_string()]));
                    }
                    aads.push(aad(&[]));
                    comments.push(EncComment {
                        span: 0..0,
                        line: n,
                        enc,
                        aads,
                        near: near.clone(),
                    });
                }
                Line::Blank | Line::Metadata => {}
            }
        }
        (leaves, comments)
    }

    /// The plain document: a .env file, or TOML for an INI file.
    pub(super) fn write(
        &self,
        plains: &[Option<Plain>],
        comments: &[Zeroizing<String>],
    ) -> Result<(Format, Zeroizing<String>, Selection), SopsError> {
        let format = if self.ini { Format::Toml } else { Format::Env };
        let restored: HashMap<usize, &Zeroizing<String>> = self
            .leaves()
            .1
            .iter()
            .map(|c| c.line)
            .zip(comments)
            .collect();
        let mut out = Zeroizing::new(String::new());
        let mut top = Vec::new();
        let mut tables: Vec<(String, Value)> = Vec::new();
        let mut sealed = Vec::new();
        let mut first = true;
        for (n, line) in self.lines.iter().enumerate() {
            let text: Zeroizing<String> = match line {
                Line::Metadata => continue,
                Line::Blank => Zeroizing::new(String::new()),
                Line::Comment(c) => {
                    let c = restored.get(&n).map_or(c.as_str(), |r| r.as_str());
                    Zeroizing::new(format!("#{c}"))
                }
                Line::Section(s) => {
                    tables.push((s.clone(), Value::Table(Vec::new())));
                    Zeroizing::new(format!("[{}]", crate::format::toml::key_text(s).as_str()))
                }
                Line::Entry(i) => {
                    let path = self.path(*i);
                    let value = match &plains[*i] {
                        Some(p) => {
                            sealed.push(path.clone());
                            plain_text(p)
                        }
                        None => self.entries[*i].2.clone(),
                    };
                    let key = &self.entries[*i].1;
                    let lit = if self.ini {
                        Format::Toml.string_literal(&value)
                    } else {
                        Format::Env.representable(&value).map_err(|reason| {
                            SopsError::NotRepresentable {
                                path: path.to_string(),
                                reason,
                            }
                        })?;
                        Format::Env.string_literal(&value)
                    };
                    let entry = (key.clone(), Value::Scalar(Scalar::String(value)));
                    match tables.last_mut() {
                        Some((_, Value::Table(t))) => t.push(entry),
                        _ => top.push(entry),
                    }
                    let sep = if self.ini { " = " } else { "=" };
                    let key = if self.ini {
                        crate::format::toml::key_text(key)
                    } else {
                        Zeroizing::new(key.clone())
                    };
                    Zeroizing::new(format!("{}{sep}{}", key.as_str(), lit.as_str()))
                }
            };
            if !first {
                push_wiped(&mut out, "\n");
            }
            first = false;
            push_wiped(&mut out, &text);
        }
        if self.trailing_newline && !first {
            push_wiped(&mut out, "\n");
        }
        top.extend(tables);
        // The plain document must read back as exactly the file's values.
        let got = tree::build(format, &out).map_err(|_| SopsError::Check)?;
        let expected = Value::Table(top);
        let matches = match got.as_slice() {
            [doc] => *doc == expected,
            [] => expected == Value::Table(Vec::new()),
            _ => false,
        };
        if !matches {
            return Err(SopsError::Check);
        }
        Ok((format, out, Selection::Paths(sealed)))
    }
}

/// A decrypted value as the text of a string (these stores hold strings only).
fn plain_text(p: &Plain) -> Zeroizing<String> {
    match p {
        Plain::Str(s) | Plain::Float(_, s) => s.clone(),
        Plain::Int(i) => Zeroizing::new(i.to_string()),
        Plain::Bool(b) => Zeroizing::new(b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_metadata_is_rebuilt() {
        let flat = [
            ("age__list_0__map_recipient".to_string(), "r0".to_string()),
            ("age__list_0__map_enc".to_string(), "e0".to_string()),
            ("age__list_1__map_recipient".to_string(), "r1".to_string()),
            ("mac".to_string(), "m".to_string()),
        ];
        let v = unflatten(&flat).unwrap();
        let s = |t: &str| Value::Scalar(Scalar::String(Zeroizing::new(t.to_string())));
        assert_eq!(
            v,
            Value::Table(vec![
                (
                    "age".into(),
                    Value::Array(vec![
                        Value::Table(vec![("recipient".into(), s("r0")), ("enc".into(), s("e0"))]),
                        Value::Table(vec![("recipient".into(), s("r1"))]),
                    ])
                ),
                ("mac".into(), s("m")),
            ])
        );
        for bad in [
            vec![("age__list_1__map_x".to_string(), "v".to_string())],
            vec![
                ("a".to_string(), "1".to_string()),
                ("a".to_string(), "2".to_string()),
            ],
            vec![("a__weird".to_string(), "1".to_string())],
            vec![
                ("a".to_string(), "1".to_string()),
                ("a__map_b".to_string(), "2".to_string()),
            ],
        ] {
            assert!(unflatten(&bad).is_err(), "{bad:?}");
        }
    }
}
