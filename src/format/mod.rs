//! The file formats cachet seals values in, behind one small interface.
//!
//! A format module finds every node of a document with its path and, for scalars,
//! the exact byte span of the value's text; it writes a token as a value of its own
//! syntax, and it adds a new key for `set`. Everything else (which values to seal,
//! the cryptography, the re-parse check) is format-independent, in
//! [`crate::document`].

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::path::ValuePath;

mod error;
pub(crate) mod scalar;

pub use error::FormatError;
pub use scalar::Scalar;

pub mod env;
pub mod json;
pub mod toml;
pub(crate) mod toml_stream;
pub mod yaml;

#[doc(hidden)]
pub mod fuzzing;

/// A configuration file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// TOML 1.0/1.1.
    Toml,
    /// Strict JSON (RFC 8259).
    Json,
    /// JSON with comments (`//`, `/* */`) and trailing commas, as in `.jsonc` files.
    Jsonc,
    /// Dotenv files: `KEY=value` lines.
    Env,
    /// YAML 1.2, one or more documents.
    Yaml,
}

impl Format {
    /// The format's name as bound into the associated data and accepted by
    /// `--input-type`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Toml => "toml",
            Format::Json => "json",
            Format::Jsonc => "jsonc",
            Format::Env => "env",
            Format::Yaml => "yaml",
        }
    }

    /// The name used in messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
            Format::Jsonc => "JSON with comments",
            Format::Env => ".env",
            Format::Yaml => "YAML",
        }
    }

    /// Every format, in the order `--input-type` lists them.
    pub fn all() -> &'static [Format] {
        &[
            Format::Toml,
            Format::Yaml,
            Format::Json,
            Format::Jsonc,
            Format::Env,
        ]
    }

    /// The format a file name implies: by its extension (`.toml`, `.json`,
    /// `.jsonc`, `.env`), or `.env` / `.env.NAME` for dotenv files.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        // A format's own extension wins over the `.env.` prefix: `.env.json` is
        // JSON, `.env.production` is dotenv (format.md 6).
        let by_extension = path.extension().and_then(|e| e.to_str()).and_then(|ext| {
            if ext.eq_ignore_ascii_case("yml") {
                return Some(Format::Yaml);
            }
            Format::all()
                .iter()
                .copied()
                .find(|f| ext.eq_ignore_ascii_case(f.name()))
        });
        by_extension
            .or_else(|| (name == ".env" || name.starts_with(".env.")).then_some(Format::Env))
    }

    /// Every node of the document: in the order [`NodeSink`] describes, but for
    /// TOML, where nodes come grouped by table (as `set` and export read them).
    pub(crate) fn scan(self, text: &str) -> Result<Vec<Node>, FormatError> {
        if self == Format::Toml {
            return toml::scan(text);
        }
        let mut nodes = Vec::new();
        self.scan_into(text, &mut nodes)?;
        Ok(nodes)
    }

    /// Gives every node of the document to `sink` as it is found, so that a whole
    /// document can be checked or rewritten without holding a table of its nodes.
    pub(crate) fn scan_into(self, text: &str, sink: &mut impl NodeSink) -> Result<(), FormatError> {
        match self {
            // The same nodes as `toml::scan`, without holding the whole document.
            Format::Toml => toml_stream::scan_into(text, sink),
            Format::Json => json::scan_into(text, false, sink),
            Format::Jsonc => json::scan_into(text, true, sink),
            Format::Env => env::scan_into(text, sink),
            Format::Yaml => yaml::scan_into(text, sink),
        }
    }

    /// The text that stands in the file for a sealed value.
    pub(crate) fn sealed_literal(self, token: &str) -> String {
        match self {
            // A token has no character that needs escaping in a string, and needs no
            // quotes at all as a dotenv value.
            Format::Toml | Format::Json | Format::Jsonc => format!("\"{token}\""),
            // A token is valid as a plain YAML scalar in block and flow context.
            Format::Env | Format::Yaml => token.to_string(),
        }
    }

    /// The text of a string value holding `s`, quoted and escaped.
    pub(crate) fn string_literal(self, s: &str) -> Zeroizing<String> {
        match self {
            Format::Toml => toml::string_literal(s),
            Format::Json | Format::Jsonc => json::string_literal(s),
            Format::Env => env::string_literal(s),
            Format::Yaml => yaml::string_literal(s),
        }
    }

    /// Why the string `s` cannot be written as a value of this format so that every
    /// reader of the format reads it back the same (only some .env values).
    pub(crate) fn representable(self, s: &str) -> Result<(), &'static str> {
        match self {
            Format::Env => env::representable(s),
            _ => Ok(()),
        }
    }

    /// Whether `raw` is valid text for a scalar of type `ty`.
    pub(crate) fn typed_literal(self, ty: ScalarType, raw: &str) -> bool {
        match self {
            Format::Toml => toml::typed_literal(ty, raw),
            Format::Json | Format::Jsonc => json::typed_literal(ty, raw),
            Format::Env => env::typed_literal(ty, raw),
            Format::Yaml => yaml::typed_literal(ty, raw),
        }
    }

    /// Whether `raw` is exactly one scalar value and nothing else (the per-value
    /// half of the re-parse check).
    pub(crate) fn is_single_scalar(self, raw: &str) -> bool {
        match self {
            Format::Toml => toml::is_single_scalar(raw),
            Format::Json | Format::Jsonc => json::is_single_scalar(raw),
            Format::Env => env::is_single_scalar(raw),
            Format::Yaml => yaml::is_single_scalar(raw),
        }
    }

    /// Where and what to insert so that a path that does not exist yet holds
    /// `literal`: a byte offset of `text` and the text to insert there.
    pub(crate) fn insert(
        self,
        text: &str,
        nodes: &[Node],
        path: &ValuePath,
        literal: &str,
    ) -> Result<(usize, Zeroizing<String>), FormatError> {
        match self {
            Format::Toml => toml::insert(text, nodes, path, literal),
            Format::Json => json::insert(text, nodes, path, literal, false),
            Format::Jsonc => json::insert(text, nodes, path, literal, true),
            Format::Env => env::insert(text, nodes, path, literal),
            Format::Yaml => yaml::insert(text, nodes, path, literal),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Format::all()
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown format {s:?} (known: toml, yaml, json, jsonc, env)"))
    }
}

/// The type a new value gets from `set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    /// A string (the default).
    String,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// A boolean.
    Bool,
}

/// What a node of a document is.
#[derive(Debug)]
pub(crate) enum NodeKind {
    /// A table, mapping or inline table.
    Table,
    /// An array or sequence (including an array of tables).
    Array,
    /// A single value: its text is `span` of the document.
    Scalar {
        /// The decoded content when the value is a string.
        string: Option<Zeroizing<String>>,
    },
}

/// One node of a parsed document.
#[derive(Debug)]
pub(crate) struct Node {
    pub document: u32,
    pub path: ValuePath,
    pub kind: NodeKind,
    /// For scalars, the exact bytes of the value's text; for inline arrays and
    /// tables, their whole text; empty for sections such as TOML `[table]`s.
    pub span: Range<usize>,
}

impl Node {
    pub(crate) fn is_scalar(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar { .. })
    }

    pub(crate) fn string(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { string: Some(s) } => Some(s.as_str()),
            _ => None,
        }
    }

    /// A name for the node's kind, compared by the re-parse check.
    pub(crate) fn shape(&self) -> u8 {
        match self.kind {
            NodeKind::Table => 0,
            NodeKind::Array => 1,
            NodeKind::Scalar { .. } => 2,
        }
    }
}

/// Receives the nodes of a document from a scanner, one at a time.
///
/// Every scanner gives the nodes in document order: a container before what it
/// holds, and the scalars in increasing order of their spans, never overlapping
/// (so a sink can copy the text between them as it goes). The same structure
/// always gives the same sequence. A block container's span is empty; a bracketed
/// one's end is known only after its contents, and comes through
/// [`NodeSink::container_end`].
pub(crate) trait NodeSink {
    /// Takes the next node. A sink cannot stop the scan: one that refuses a node
    /// keeps the reason and gives it once the whole text was read, so that a
    /// document that does not parse is always reported as such.
    fn node(&mut self, node: Node);

    /// The end of the span of the container that was the `index`-th node given
    /// (0-based). Sinks that do not keep container spans ignore it.
    fn container_end(&mut self, index: usize, end: usize) {
        let _ = (index, end);
    }
}

impl NodeSink for Vec<Node> {
    fn node(&mut self, node: Node) {
        self.push(node);
    }

    fn container_end(&mut self, index: usize, end: usize) {
        if let Some(n) = self.get_mut(index) {
            n.span.end = end;
        }
    }
}

/// Bounds the memory that the nodes' paths of one document may take.
///
/// Every node owns a copy of its path, so long keys above many values, or deep
/// nesting above many values, would make a small file take memory quadratic in its
/// size. The budget keeps it linear: the paths may take at most 64 times the
/// file's size (plus 4 MiB), far above what any real configuration needs.
pub(crate) struct PathBudget(usize);

/// The message of a document whose paths would exceed the budget.
pub(crate) const PATHS_TOO_LARGE: &str = "keys are too long or nested too deeply for the number of values under them (the value paths would take more than 64 times the file's size)";

impl PathBudget {
    pub(crate) fn new(text: &str) -> Self {
        PathBudget(text.len().saturating_mul(64).saturating_add(4 << 20))
    }

    /// Takes the cost of one more node with `path`; false once the budget is spent.
    pub(crate) fn take(&mut self, path: &ValuePath) -> bool {
        let cost = std::mem::size_of::<Node>()
            + path
                .segments()
                .iter()
                .map(|s| {
                    std::mem::size_of::<crate::path::Segment>()
                        + match s {
                            crate::path::Segment::Key(k) => k.len(),
                            crate::path::Segment::Index(_) => 0,
                        }
                })
                .sum::<usize>();
        match self.0.checked_sub(cost) {
            Some(left) => {
                self.0 = left;
                true
            }
            None => false,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long key above many values: without the budget the paths would take
    /// memory quadratic in the file's size.
    #[test]
    fn formats_come_from_file_names() {
        for (name, want) in [
            ("app.toml", Some(Format::Toml)),
            ("a.YML", Some(Format::Yaml)),
            ("a.yaml", Some(Format::Yaml)),
            ("a.json", Some(Format::Json)),
            ("a.jsonc", Some(Format::Jsonc)),
            (".env", Some(Format::Env)),
            ("prod.env", Some(Format::Env)),
            (".env.production", Some(Format::Env)),
            (".env.local", Some(Format::Env)),
            (".env.json", Some(Format::Json)),
            (".env.toml", Some(Format::Toml)),
            ("notes.txt", None),
            ("Makefile", None),
        ] {
            assert_eq!(Format::from_path(Path::new(name)), want, "{name}");
        }
    }

    #[test]
    fn paths_cannot_take_more_than_the_budget() {
        let key = "k".repeat(200_000);
        let zeros = vec!["0"; 2_000].join(",");
        let cases = [
            (Format::Json, format!("{{\"{key}\": [{zeros}]}}")),
            (Format::Yaml, format!("? {key}\n: [{zeros}]\n")),
            (Format::Toml, format!("{key} = [{zeros}]\n")),
        ];
        for (format, text) in cases {
            match format.scan(&text) {
                Err(FormatError::Parse { message, .. }) => {
                    assert_eq!(message, PATHS_TOO_LARGE, "{format}")
                }
                other => panic!("{format}: {other:?}"),
            }
            // The same values under a short key are fine (the array, its 2,000
            // values, and a root node where the format has one).
            let short = text.replacen(&key, "k", 1);
            let n = format.scan(&short).unwrap().len();
            assert!((2_001..=2_002).contains(&n), "{format}: {n}");
        }
    }
}
