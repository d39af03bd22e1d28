//! An opened document as a tree of typed values: what a program that loads the file
//! sees, in document order. [`crate::deploy::variables`] turns it into environment
//! variables and [`crate::deploy::export`] into other formats.
//!
//! Every scalar is kept in a form each target can write without guessing again:
//! integers in decimal, floats in JSON number syntax (or `inf`, `-inf`, `nan`),
//! booleans, null, TOML dates and times as RFC 3339 text, and strings decoded.
//! Scalars and strings alike are wiped from memory when dropped.

use zeroize::Zeroizing;

use std::fmt;

use super::Error;
use crate::error::{Classified, ErrorKind};
use crate::format::scalar::push_wiped;
use crate::format::yaml::{self, HoleKind};
use crate::format::{Format, NodeKind, Scalar};
use crate::path::{Segment, ValuePath};

/// Why an opened document cannot be exported (as environment variables, or
/// converted to another format). Names are key names, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The document holds something the export does not carry over faithfully.
    Unsupported {
        /// Where it is.
        path: ValuePath,
        /// What it is and what to do instead.
        reason: &'static str,
    },
    /// A value has no equivalent in the target format.
    NotRepresentable {
        /// Where it is.
        path: ValuePath,
        /// The target: "JSON", "TOML", "environment variables"…
        target: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// Two paths of one file give the same variable name.
    Collision {
        /// The variable name.
        name: String,
        /// The first path.
        first: ValuePath,
        /// The second path.
        second: ValuePath,
    },
    /// A variable name that changes how programs run, not allowed explicitly.
    RefusedName {
        /// The variable name.
        name: String,
        /// The path it comes from.
        path: ValuePath,
    },
    /// A path gives a name no environment can hold (empty, `=`, NUL).
    BadName {
        /// The path.
        path: ValuePath,
        /// Why.
        reason: &'static str,
    },
    /// A `--only` pattern matches no value of the file.
    NoMatch(String),
    /// A target that holds one document, and a file that does not hold exactly one.
    Documents {
        /// How many documents the file holds.
        count: usize,
        /// The target: "JSON", "TOML", "environment variables".
        target: &'static str,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Unsupported { path, reason } => write!(f, "{path}: {reason}"),
            ExportError::NotRepresentable {
                path,
                target,
                reason,
            } => write!(f, "{path}: cannot be written as {target}: {reason}"),
            ExportError::Collision {
                name,
                first,
                second,
            } => write!(
                f,
                "{first} and {second} both give the variable {name}; rename one key, or choose another --separator"
            ),
            ExportError::RefusedName { name, path } => write!(
                f,
                "{path}: the variable {name} changes how programs run and is refused; pass --allow-var {name} if the file is meant to set it"
            ),
            ExportError::BadName { path, reason } => {
                write!(f, "{path}: cannot be a variable name: {reason}")
            }
            ExportError::NoMatch(glob) => {
                write!(f, "--only {glob}: matches no value of the file")
            }
            ExportError::Documents { count, target } => write!(
                f,
                "the file holds {count} YAML documents, and {target} holds exactly one: split the file, or convert it to YAML"
            ),
        }
    }
}

impl std::error::Error for ExportError {}

impl Classified for ExportError {
    fn kind(&self) -> ErrorKind {
        match self {
            ExportError::NoMatch(_) => ErrorKind::Usage,
            _ => ErrorKind::Input,
        }
    }
}

/// One value of an opened document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A table or mapping: its keys in document order.
    Table(Vec<(String, Value)>),
    /// An array or sequence.
    Array(Vec<Value>),
    /// A single value.
    Scalar(Scalar),
}

impl Value {
    /// The value as JSON (RFC 8259): compact on one line, or indented by two spaces
    /// with `pretty`. Keys keep their order. `path` is where the value is, for the
    /// error on a float JSON cannot spell (`inf`, `nan`).
    pub fn to_json(
        &self,
        path: &ValuePath,
        pretty: bool,
    ) -> Result<Zeroizing<String>, ExportError> {
        let mut out = Zeroizing::new(String::new());
        let mut at = path.clone();
        write_json(self, &mut at, pretty, 0, &mut out)?;
        Ok(out)
    }
}

fn write_json(
    value: &Value,
    path: &mut ValuePath,
    pretty: bool,
    depth: usize,
    out: &mut Zeroizing<String>,
) -> Result<(), ExportError> {
    let entries: Vec<(Option<&str>, &Value)> = match value {
        Value::Scalar(s) => {
            let text = match s {
                Scalar::String(t) | Scalar::Datetime(t) => crate::format::json::string_literal(t),
                Scalar::Null => Zeroizing::new("null".to_string()),
                _ if s.is_non_finite() => {
                    return Err(ExportError::NotRepresentable {
                        path: path.clone(),
                        target: "JSON",
                        reason: "JSON has no infinity or NaN",
                    });
                }
                other => Zeroizing::new(other.text().to_string()),
            };
            push_wiped(out, &text);
            return Ok(());
        }
        Value::Table(entries) => entries.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
        Value::Array(items) => items.iter().map(|v| (None, v)).collect(),
    };
    let table = matches!(value, Value::Table(_));
    push_wiped(out, if table { "{" } else { "[" });
    let indent = |out: &mut Zeroizing<String>, depth: usize| {
        if pretty {
            push_wiped(out, "\n");
            push_wiped(out, &"  ".repeat(depth));
        }
    };
    for (i, (key, child)) in entries.iter().enumerate() {
        if i > 0 {
            push_wiped(out, ",");
        }
        indent(out, depth + 1);
        match key {
            Some(k) => {
                push_wiped(out, &crate::format::json::string_literal(k));
                push_wiped(out, if pretty { ": " } else { ":" });
                path.push(Segment::Key(k.to_string()));
            }
            None => path.push(Segment::Index(i)),
        }
        write_json(child, path, pretty, depth + 1, out)?;
        path.pop();
    }
    if !entries.is_empty() {
        indent(out, depth);
    }
    push_wiped(out, if table { "}" } else { "]" });
    Ok(())
}

/// Builds the tree of each document of an opened (plain) text, in order.
///
/// Fails on what would not carry over faithfully: a YAML alias, a YAML merge key,
/// or an integer too large to write in decimal.
pub(crate) fn build(format: Format, text: &str) -> Result<Vec<Value>, Error> {
    let (nodes, holes) = match format {
        Format::Yaml => yaml::scan_with_holes(text)?,
        other => (other.scan(text)?, Vec::new()),
    };
    let mut holes = holes.into_iter().peekable();
    let mut tree = Builder {
        yaml: format == Format::Yaml,
        ..Builder::default()
    };
    for (i, node) in nodes.iter().enumerate() {
        while let Some(hole) = holes.next_if(|h| h.at <= i) {
            tree.add_hole(&hole)?;
        }
        let value = match &node.kind {
            NodeKind::Table => Value::Table(Vec::new()),
            NodeKind::Array => Value::Array(Vec::new()),
            NodeKind::Scalar { string: Some(s) } => Value::Scalar(Scalar::String(s.clone())),
            NodeKind::Scalar { string: None } => {
                let raw = &text[node.span.clone()];
                let scalar = match format {
                    Format::Toml => crate::format::toml::scalar_value(raw),
                    Format::Json | Format::Jsonc => crate::format::json::scalar_value(raw),
                    Format::Yaml => yaml::scalar_value(raw),
                    // Every .env value is a string.
                    Format::Env => Ok(Scalar::String(Zeroizing::new(raw.to_string()))),
                };
                Value::Scalar(scalar.map_err(|reason| unsupported(&node.path, reason))?)
            }
        };
        tree.add(node.document, &node.path, value)?;
    }
    for hole in holes {
        tree.add_hole(&hole)?;
    }
    tree.finish()
}

fn unsupported(path: &ValuePath, reason: &'static str) -> Error {
    Error::Export(ExportError::Unsupported {
        path: path.clone(),
        reason,
    })
}

/// Assembles documents from nodes in pre-order (a parent before its children, and
/// a container's children together), as every format's scan gives them.
#[derive(Default)]
struct Builder {
    /// Whether the document is YAML, where a `<<` key may be a merge key.
    yaml: bool,
    documents: Vec<Value>,
    document: u32,
    /// The containers still open: their paths and their contents so far.
    open: Vec<(ValuePath, Value)>,
}

impl Builder {
    fn add_hole(&mut self, hole: &yaml::Hole) -> Result<(), Error> {
        match hole.kind {
            HoleKind::Empty => self.add(hole.document, &hole.path, Value::Scalar(Scalar::Null)),
            HoleKind::Alias => Err(unsupported(
                &hole.path,
                "is a YAML alias (*name); write the value out in full to export it",
            )),
            HoleKind::Tagged => Err(unsupported(
                &hole.path,
                "has a YAML tag that changes what the value is (only !!str on a scalar is read); remove the tag, or write the value as the type it stands for",
            )),
        }
    }

    fn add(&mut self, document: u32, path: &ValuePath, value: Value) -> Result<(), Error> {
        if document != self.document {
            self.close_document()?;
            self.document = document;
        }
        if self.yaml && path.name() == Some("<<") {
            return Err(unsupported(
                path,
                "is a YAML merge key (<<), which YAML 1.2 does not define; write the keys out in full to export them",
            ));
        }
        let Some((parent, _)) = path.split_last() else {
            // A document's root.
            if !self.open.is_empty() || self.documents.len() > document as usize {
                return Err(lost(path));
            }
            self.pad_documents(document);
            return match value {
                Value::Scalar(_) => {
                    self.documents.push(value);
                    Ok(())
                }
                container => {
                    self.open.push((ValuePath::root(), container));
                    Ok(())
                }
            };
        };
        // TOML has no root node: its root is a table.
        if self.open.is_empty() {
            self.pad_documents(document);
            self.open
                .push((ValuePath::root(), Value::Table(Vec::new())));
        }
        while self.open.last().is_some_and(|(p, _)| *p != parent) {
            self.close_one()?;
        }
        if self.open.is_empty() {
            return Err(lost(path));
        }
        match value {
            Value::Scalar(_) => self.attach(path, value),
            container => {
                self.open.push((path.clone(), container));
                Ok(())
            }
        }
    }

    /// Empty documents before `document` (a YAML stream may hold some).
    fn pad_documents(&mut self, document: u32) {
        while self.documents.len() < document as usize {
            self.documents.push(Value::Scalar(Scalar::Null));
        }
    }

    /// Puts `value`, at `path`, into the innermost open container.
    fn attach(&mut self, path: &ValuePath, value: Value) -> Result<(), Error> {
        let segment = path.segments().last();
        match (self.open.last_mut(), segment) {
            (Some((_, Value::Table(entries))), Some(Segment::Key(k))) => {
                entries.push((k.clone(), value));
                Ok(())
            }
            (Some((_, Value::Array(items))), Some(Segment::Index(_))) => {
                items.push(value);
                Ok(())
            }
            _ => Err(lost(path)),
        }
    }

    /// Closes the innermost open container into its parent (or as the document).
    fn close_one(&mut self) -> Result<(), Error> {
        let Some((path, value)) = self.open.pop() else {
            return Ok(());
        };
        if self.open.is_empty() {
            if !path.is_root() {
                return Err(lost(&path));
            }
            self.documents.push(value);
            Ok(())
        } else {
            self.attach(&path, value)
        }
    }

    fn close_document(&mut self) -> Result<(), Error> {
        while !self.open.is_empty() {
            self.close_one()?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Value>, Error> {
        self.close_document()?;
        if self.documents.is_empty() {
            // An empty TOML or .env file is an empty table.
            self.documents.push(Value::Table(Vec::new()));
        }
        Ok(self.documents)
    }
}

/// A node out of the order every scan gives: a bug in a format module.
fn lost(path: &ValuePath) -> Error {
    unsupported(
        path,
        "the document's structure could not be followed (please report this as a bug)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Scalar(Scalar::String(Zeroizing::new(v.into())))
    }
    fn int(v: &str) -> Value {
        Value::Scalar(Scalar::Integer(Zeroizing::new(v.into())))
    }
    fn float(v: &str) -> Value {
        Value::Scalar(Scalar::Float(Zeroizing::new(v.into())))
    }
    fn table(entries: Vec<(&str, Value)>) -> Value {
        Value::Table(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn toml_types_and_order() {
        let text = "title = \"x\"\n[db]\nport = 0x1F\nratio = 1_000.5\nup = true\nat = 1979-05-27 07:32:00Z\nbig = inf\n[[servers]]\nname = \"a\"\n[[servers]]\nname = \"b\"\n";
        let docs = build(Format::Toml, text).unwrap();
        let expected = table(vec![
            ("title", s("x")),
            (
                "db",
                table(vec![
                    ("port", int("31")),
                    ("ratio", float("1000.5")),
                    ("up", Value::Scalar(Scalar::Bool(true))),
                    (
                        "at",
                        Value::Scalar(Scalar::Datetime(Zeroizing::new(
                            "1979-05-27T07:32:00Z".into(),
                        ))),
                    ),
                    ("big", float("inf")),
                ]),
            ),
            (
                "servers",
                Value::Array(vec![
                    table(vec![("name", s("a"))]),
                    table(vec![("name", s("b"))]),
                ]),
            ),
        ]);
        assert_eq!(docs, vec![expected]);
    }

    #[test]
    fn dotted_keys_and_implicit_tables() {
        let text = "a.b.c = 1\n[x.y]\nz = \"q\"\n";
        let docs = build(Format::Toml, text).unwrap();
        assert_eq!(
            docs,
            vec![table(vec![
                ("a", table(vec![("b", table(vec![("c", int("1"))]))])),
                ("x", table(vec![("y", table(vec![("z", s("q"))]))])),
            ])]
        );
    }

    #[test]
    fn yaml_nulls_ints_floats_and_documents() {
        let text = "a:\nb: ~\nc: 0o17\nd: +.inf\ne: .5\nf: [1, , 'x']\ng: -007\n---\n- yes\n---\n";
        let docs = build(Format::Yaml, text);
        // A flow sequence with an empty entry is a YAML error; drop it.
        assert!(docs.is_err());
        let text = "a:\nb: ~\nc: 0o17\nd: +.inf\ne: .5\nf: [1, 'x']\ng: -007\nh: True\n---\n- yes\n- \n---\n";
        let docs = build(Format::Yaml, text).unwrap();
        assert_eq!(
            docs,
            vec![
                table(vec![
                    ("a", Value::Scalar(Scalar::Null)),
                    ("b", Value::Scalar(Scalar::Null)),
                    ("c", int("15")),
                    ("d", float("inf")),
                    ("e", float("0.5")),
                    ("f", Value::Array(vec![int("1"), s("x")])),
                    ("g", int("-7")),
                    ("h", Value::Scalar(Scalar::Bool(true))),
                ]),
                Value::Array(vec![s("yes"), Value::Scalar(Scalar::Null)]),
                Value::Scalar(Scalar::Null),
            ]
        );
    }

    #[test]
    fn yaml_tags_are_read_or_refused() {
        let docs = build(
            Format::Yaml,
            "pin: !!str 007123\nn: !!str null\nm: !!map {a: 1}\n",
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![table(vec![
                ("pin", s("007123")),
                ("n", s("null")),
                ("m", table(vec![("a", int("1"))])),
            ])]
        );
        for text in [
            "a: !!int \"5\"\n",
            "a: !Ref other\n",
            "a: !!binary aGk=\n",
            "a: !!set {x}\n",
            "a: !!seq {x: 1}\n",
        ] {
            let err = build(Format::Yaml, text).unwrap_err().to_string();
            assert!(
                err.starts_with("a: has a YAML tag that changes what the value is"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn yaml_aliases_and_merge_keys_are_refused() {
        let err = build(Format::Yaml, "base: &b {x: 1}\nother: *b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "other: is a YAML alias (*name); write the value out in full to export it"
        );
        let err = build(Format::Yaml, "base: &b {x: 1}\nother:\n  <<: {y: 2}\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("other.\"<<\": is a YAML merge key"),
            "{err}"
        );
    }

    #[test]
    fn json_and_env() {
        let docs = build(
            Format::Json,
            r#"{"a": [1, 2.5e3, null, false], "b": {"c": "d"}}"#,
        )
        .unwrap();
        assert_eq!(
            docs,
            vec![table(vec![
                (
                    "a",
                    Value::Array(vec![
                        int("1"),
                        float("2500.0"),
                        Value::Scalar(Scalar::Null),
                        Value::Scalar(Scalar::Bool(false)),
                    ])
                ),
                ("b", table(vec![("c", s("d"))])),
            ])]
        );
        let docs = build(Format::Env, "A=1\nB='x y'\n").unwrap();
        assert_eq!(docs, vec![table(vec![("A", s("1")), ("B", s("x y"))])]);
        assert_eq!(build(Format::Env, "").unwrap(), vec![table(vec![])]);
        assert_eq!(build(Format::Toml, "").unwrap(), vec![table(vec![])]);
        assert_eq!(build(Format::Json, "7").unwrap(), vec![int("7")]);
    }

    #[test]
    fn json_text() {
        let text = r#"{"a": [1, 2.5e3, null, false, "x\"y"], "b": {"c": {}}, "e": []}"#;
        let docs = build(Format::Json, text).unwrap();
        let compact = docs[0].to_json(&ValuePath::root(), false).unwrap();
        assert_eq!(
            compact.as_str(),
            r#"{"a":[1,2500.0,null,false,"x\"y"],"b":{"c":{}},"e":[]}"#
        );
        let pretty = docs[0].to_json(&ValuePath::root(), true).unwrap();
        assert_eq!(
            pretty.as_str(),
            "{\n  \"a\": [\n    1,\n    2500.0,\n    null,\n    false,\n    \"x\\\"y\"\n  ],\n  \"b\": {\n    \"c\": {}\n  },\n  \"e\": []\n}"
        );
        let docs = build(Format::Toml, "[t]\nx = [1.0, -inf]\n").unwrap();
        assert_eq!(
            docs[0]
                .to_json(&ValuePath::root(), false)
                .unwrap_err()
                .to_string(),
            "t.x[1]: cannot be written as JSON: JSON has no infinity or NaN"
        );
    }
}
