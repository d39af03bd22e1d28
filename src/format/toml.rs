//! TOML: every node of a document with its byte span, found with `toml_edit`'s
//! span-keeping parser; and the insertion of a new key for `set`.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};
use zeroize::Zeroizing;

use super::FormatError;
use super::{Format, Node, NodeKind, PATHS_TOO_LARGE, PathBudget, ScalarType, line_column};
use crate::path::{Segment, ValuePath};

fn parse(text: &str) -> Result<Document<&str>, FormatError> {
    Document::parse(text).map_err(|e| {
        let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
        // The parser's message names what it expected; its Display form would quote
        // the offending line, which may hold a secret, so only the message is used.
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        FormatError::Parse {
            format: Format::Toml,
            line,
            column,
            message,
        }
    })
}

/// Every node of the document: tables, arrays and scalars with their spans.
pub(crate) fn scan(text: &str) -> Result<Vec<Node>, FormatError> {
    let doc = parse(text)?;
    let mut nodes = Nodes {
        list: Vec::new(),
        budget: PathBudget::new(text),
        text,
    };
    let mut path = ValuePath::root();
    walk_table(doc.as_table(), &mut path, &mut nodes)?;
    Ok(nodes.list)
}

/// The nodes found so far, within the document's path budget.
struct Nodes<'t> {
    list: Vec<Node>,
    budget: PathBudget,
    text: &'t str,
}

impl Nodes<'_> {
    fn push(
        &mut self,
        path: &ValuePath,
        kind: NodeKind,
        span: Range<usize>,
    ) -> Result<(), FormatError> {
        if !self.budget.take(path) {
            let (line, column) = line_column(self.text, span.start);
            return Err(FormatError::Parse {
                format: Format::Toml,
                line,
                column,
                message: PATHS_TOO_LARGE.into(),
            });
        }
        self.list.push(Node {
            document: 0,
            path: path.clone(),
            kind,
            span,
        });
        Ok(())
    }
}

/// Records a table or array; `span` is its text when it is an inline value, and
/// empty for `[table]` sections (whose extent is not one range).
fn push_container(
    nodes: &mut Nodes<'_>,
    path: &ValuePath,
    kind: NodeKind,
    span: Option<Range<usize>>,
) -> Result<(), FormatError> {
    nodes.push(path, kind, span.unwrap_or(0..0))
}

fn walk_table(
    table: &Table,
    path: &mut ValuePath,
    nodes: &mut Nodes<'_>,
) -> Result<(), FormatError> {
    for (key, item) in table.iter() {
        path.push(Segment::Key(key.to_string()));
        walk_item(item, path, nodes)?;
        path.pop();
    }
    Ok(())
}

fn walk_item(item: &Item, path: &mut ValuePath, nodes: &mut Nodes<'_>) -> Result<(), FormatError> {
    match item {
        Item::None => {}
        Item::Value(v) => walk_value(v, path, nodes)?,
        Item::Table(t) => {
            push_container(nodes, path, NodeKind::Table, None)?;
            walk_table(t, path, nodes)?;
        }
        Item::ArrayOfTables(a) => {
            push_container(nodes, path, NodeKind::Array, None)?;
            for (i, t) in a.iter().enumerate() {
                path.push(Segment::Index(i));
                push_container(nodes, path, NodeKind::Table, None)?;
                walk_table(t, path, nodes)?;
                path.pop();
            }
        }
    }
    Ok(())
}

fn walk_value(
    value: &Value,
    path: &mut ValuePath,
    nodes: &mut Nodes<'_>,
) -> Result<(), FormatError> {
    match value {
        Value::Array(a) => {
            push_container(nodes, path, NodeKind::Array, a.span())?;
            for (i, v) in a.iter().enumerate() {
                path.push(Segment::Index(i));
                walk_value(v, path, nodes)?;
                path.pop();
            }
        }
        Value::InlineTable(t) => {
            push_container(nodes, path, NodeKind::Table, t.span())?;
            for (k, v) in t.iter() {
                path.push(Segment::Key(k.to_string()));
                walk_value(v, path, nodes)?;
                path.pop();
            }
        }
        scalar => {
            // A parsed document always carries spans; a missing one would be a
            // toml_edit change that this crate must not paper over.
            let span = scalar.span().ok_or_else(|| FormatError::Parse {
                format: Format::Toml,
                line: 0,
                column: 0,
                message: "the parser gave no position for a value".into(),
            })?;
            let string = match scalar {
                Value::String(s) => Some(Zeroizing::new(s.value().clone())),
                _ => None,
            };
            nodes.push(path, NodeKind::Scalar { string }, span)?;
        }
    }
    Ok(())
}

/// A TOML basic string holding `s`.
pub(crate) fn string_literal(s: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len() + 2));
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The type of `raw` when it is exactly one TOML scalar (string, integer, float,
/// boolean or date-time) and nothing else: no comment, no other key, no line.
/// `None` when it is anything else. A date-time reports as `None` in the type.
fn single_scalar(raw: &str) -> Option<Option<ScalarType>> {
    let text = Zeroizing::new(format!("x = {raw}\n"));
    let doc = Document::parse(text.as_str()).ok()?;
    let v = doc.as_table().get("x").and_then(Item::as_value)?;
    if doc.as_table().len() != 1 || v.span() != Some(4..4 + raw.len()) || !toml_1_0(raw, v) {
        return None;
    }
    match v {
        Value::String(_) => Some(Some(ScalarType::String)),
        Value::Integer(_) => Some(Some(ScalarType::Int)),
        Value::Float(_) => Some(Some(ScalarType::Float)),
        Value::Boolean(_) => Some(Some(ScalarType::Bool)),
        Value::Datetime(_) => Some(None),
        Value::Array(_) | Value::InlineTable(_) => None,
    }
}

/// Whether the scalar `raw` (read as `v`) is TOML 1.0, as well as 1.1 which the
/// parser reads: Python's tomllib and other 1.0 readers refuse the escapes `\e`
/// and `\xHH` and a time without seconds, so a sealed text using them would
/// open to a file they cannot read (format.md 8.3).
fn toml_1_0(raw: &str, v: &Value) -> bool {
    match v {
        Value::String(_) if raw.starts_with('"') => {
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '\\' && matches!(chars.next(), Some('e' | 'x')) {
                    return false;
                }
            }
            true
        }
        // `HH:MM` must go on with `:SS`: the character three after the first colon.
        Value::Datetime(_) => raw
            .find(':')
            .is_none_or(|colon| raw.as_bytes().get(colon + 3) == Some(&b':')),
        _ => true,
    }
}

/// Whether `raw` is exactly one TOML value of type `ty`.
pub(crate) fn typed_literal(ty: ScalarType, raw: &str) -> bool {
    single_scalar(raw) == Some(Some(ty))
}

/// The typed value of a scalar that is not a string (its text `raw`).
pub(crate) fn scalar_value(raw: &str) -> Result<super::Scalar, &'static str> {
    use super::{Scalar, scalar::float_text};
    match raw.trim().parse::<Value>() {
        Ok(Value::Integer(i)) => Ok(Scalar::Integer(Zeroizing::new(i.value().to_string()))),
        Ok(Value::Float(f)) => Ok(Scalar::Float(float_text(*f.value()))),
        Ok(Value::Boolean(b)) => Ok(Scalar::Bool(*b.value())),
        Ok(Value::Datetime(d)) => Ok(Scalar::Datetime(Zeroizing::new(d.value().to_string()))),
        Ok(Value::String(s)) => Ok(Scalar::String(Zeroizing::new(s.value().clone()))),
        _ => Err("is not a TOML value the export knows"),
    }
}

/// Whether `raw` is exactly one TOML scalar.
pub(crate) fn is_single_scalar(raw: &str) -> bool {
    single_scalar(raw).is_some()
}

/// A key as TOML writes it: bare when it can be, else a quoted string.
pub(crate) fn key_text(k: &str) -> Zeroizing<String> {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Zeroizing::new(k.to_string())
    } else {
        string_literal(k)
    }
}

/// The offsets of every `[header]` and `[[header]]` line of the document. The
/// root and implicit tables have no header line, though the parser gives them a
/// span.
fn header_starts(table: &Table, out: &mut Vec<usize>) {
    for (_, item) in table.iter() {
        let mut visit = |t: &Table| {
            if let (Some(s), false) = (t.span(), t.is_implicit() || t.is_dotted()) {
                out.push(s.start);
            }
            header_starts(t, out);
        };
        match item {
            Item::Table(t) => visit(t),
            Item::ArrayOfTables(a) => a.iter().for_each(visit),
            _ => {}
        }
    }
}

/// The table a path names, if it is a table with its own header (or the root).
enum Parent {
    /// The root table (`None`), or a table whose header line has this span.
    Header(Option<Range<usize>>),
    /// No such table yet, and nothing in the way of a new `[header]`.
    Absent,
    /// Something that cannot take a new line.
    Blocked(&'static str),
}

fn find_parent(root: &Table, parent: &ValuePath) -> Parent {
    let blocked = Parent::Blocked;
    let mut table = root;
    let segs = parent.segments();
    let mut i = 0;
    while i < segs.len() {
        let Segment::Key(k) = &segs[i] else {
            return blocked("the path indexes something that is not an array of tables");
        };
        match table.get(k) {
            None => {
                return if segs[i..].iter().all(|s| matches!(s, Segment::Key(_))) {
                    Parent::Absent
                } else {
                    blocked("an array of tables in the path does not exist")
                };
            }
            Some(Item::Table(t)) => {
                table = t;
                i += 1;
            }
            Some(Item::ArrayOfTables(a)) => {
                let Some(Segment::Index(n)) = segs.get(i + 1) else {
                    return blocked("the path names an array of tables without an index");
                };
                let Some(t) = a.get(*n) else {
                    return blocked("the array of tables has no entry at that index");
                };
                table = t;
                i += 2;
            }
            Some(Item::Value(Value::InlineTable(_))) => {
                return blocked(
                    "the parent is an inline table; add the key inside its braces by hand",
                );
            }
            Some(_) => return blocked("the parent is a value, not a table"),
        }
    }
    if segs.is_empty() {
        return Parent::Header(None);
    }
    if table.is_dotted() {
        return blocked("the parent table is written with dotted keys; add the key by hand");
    }
    if table.is_implicit() {
        // A table that exists only because a sub-table was declared may be declared
        // by a header later in the file.
        return Parent::Absent;
    }
    match table.span() {
        Some(span) => Parent::Header(Some(span)),
        None => blocked("the parent table has no header line"),
    }
}

/// The offset just past the end of the line that contains `offset`.
fn end_of_line(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// Where and what to insert so that `key = literal` exists for a path that does
/// not exist yet: the byte offset and the text to put there.
pub(crate) fn insert(
    text: &str,
    nodes: &[Node],
    path: &ValuePath,
    literal: &str,
) -> Result<(usize, Zeroizing<String>), FormatError> {
    let cannot = |reason| FormatError::CannotInsert {
        path: path.clone(),
        reason,
    };
    let Some((parent, Segment::Key(last))) = path.split_last() else {
        return Err(cannot(
            "only a key of a table can be added, not an array element",
        ));
    };
    let doc = parse(text)?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut add = Zeroizing::new(String::new());
    let at = match find_parent(doc.as_table(), &parent) {
        Parent::Blocked(reason) => return Err(cannot(reason)),
        Parent::Header(header) => {
            let mut headers = Vec::new();
            header_starts(doc.as_table(), &mut headers);
            headers.sort_unstable();
            // The table's own lines run from its header (or the file's start) to the
            // next header; the new line goes after the last value written there.
            let start = header.as_ref().map_or(0, |h| h.end);
            let end = headers
                .iter()
                .copied()
                .find(|&h| h >= start)
                .unwrap_or(text.len());
            // Arrays and inline tables count by their closing bracket, so a new line
            // never lands inside a multi-line array.
            let last_value = nodes
                .iter()
                .filter(|n| !n.span.is_empty() && n.span.start >= start && n.span.end <= end)
                .map(|n| n.span.end)
                .max();
            match (last_value, &header) {
                (Some(v), _) => end_of_line(text, v),
                (None, Some(h)) => end_of_line(text, h.end.saturating_sub(1)),
                (None, None) => end,
            }
        }
        Parent::Absent => {
            if !text.is_empty() {
                add.push_str(nl);
            }
            add.push('[');
            for (i, seg) in parent.segments().iter().enumerate() {
                if let Segment::Key(k) = seg {
                    if i > 0 {
                        add.push('.');
                    }
                    add.push_str(&key_text(k));
                }
            }
            add.push(']');
            add.push_str(nl);
            text.len()
        }
    };
    if at > 0 && !text[..at].ends_with('\n') {
        add.insert_str(0, nl);
    }
    add.push_str(&key_text(last));
    add.push_str(" = ");
    add.push_str(literal);
    add.push_str(nl);
    Ok((at, add))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(text: &str, path: &str) -> Result<String, FormatError> {
        let nodes = scan(text).unwrap();
        let (at, new) = insert(text, &nodes, &path.parse().unwrap(), "\"T\"")?;
        Ok(format!("{}{}{}", &text[..at], new.as_str(), &text[at..]))
    }

    #[test]
    fn new_keys_land_where_a_person_would_put_them() {
        let array = "[a]\nx = [\n  1,\n  2,\n]  # c\n\n[b]\ny = 1\n";
        let aot = "[[s]]\nn = 1\n[[s]]\nn = 2\n";
        for (text, path, want) in [
            // After the last line of the table's own section, past multi-line arrays.
            (
                array,
                "a.k",
                "[a]\nx = [\n  1,\n  2,\n]  # c\nk = \"T\"\n\n[b]\ny = 1\n",
            ),
            (
                array,
                "b.k",
                "[a]\nx = [\n  1,\n  2,\n]  # c\n\n[b]\ny = 1\nk = \"T\"\n",
            ),
            (aot, "s[0].k", "[[s]]\nn = 1\nk = \"T\"\n[[s]]\nn = 2\n"),
            (
                "[e]\n# nothing yet\n",
                "e.k",
                "[e]\nk = \"T\"\n# nothing yet\n",
            ),
            // Root keys go before the first table.
            ("# top\n[a]\nx = 1\n", "k", "# top\nk = \"T\"\n[a]\nx = 1\n"),
            ("v = 1 # c\n[a]\n", "k", "v = 1 # c\nk = \"T\"\n[a]\n"),
            ("", "k", "k = \"T\"\n"),
            ("v = 1", "k", "v = 1\nk = \"T\"\n"),
            // A table with no section of its own gets one at the end.
            ("", "a.b", "[a]\nb = \"T\"\n"),
            (
                "x = 1\n",
                "a.\"b c\".d",
                "x = 1\n\n[a.\"b c\"]\nd = \"T\"\n",
            ),
            ("[a.b]\nx = 1\n", "a.k", "[a.b]\nx = 1\n\n[a]\nk = \"T\"\n"),
            ("x = 1\r\n", "a.b", "x = 1\r\n\r\n[a]\r\nb = \"T\"\r\n"),
        ] {
            assert_eq!(add(text, path).unwrap(), want, "{text:?} + {path}");
        }
    }

    #[test]
    fn places_that_cannot_take_a_line_are_refused() {
        for (text, path) in [
            ("a.b = 1\n", "a.c"),
            ("a = { b = 1 }\n", "a.c"),
            ("a = 1\n", "a.c"),
            ("a = [1]\n", "a[1]"),
            ("[[s]]\n", "s[3].k"),
            ("[[s]]\n", "s.k"),
        ] {
            assert!(
                matches!(add(text, path), Err(FormatError::CannotInsert { .. })),
                "{text:?} {path}"
            );
        }
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        let e = scan("password = \"hunter2\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("line 1, column 20: invalid TOML: "),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"));
        let dup = scan("a = 1\na = 2\n").unwrap_err().to_string();
        assert!(
            dup.starts_with("line 2, column 1: invalid TOML: duplicate key"),
            "{dup}"
        );
    }

    #[test]
    fn single_scalar_literals() {
        for ok in [
            "\"x\"",
            "'x'",
            "1",
            "-0.5",
            "true",
            "1979-05-27",
            "\"\"\"\na\"\"\"",
            "\"\\\\e \\\\x41\"",
            "'\\e'",
            "07:32:00",
            "1979-05-27T07:32:00+01:00",
            "\"a\\u0041\\t\"",
        ] {
            assert!(is_single_scalar(ok), "{ok}");
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "1 # c",
            "[1]",
            "{a=1}",
            "\"x\"\ny = 1",
            "x",
            "1\n",
            // TOML 1.1 only: Python's tomllib cannot read them.
            "\"\\e\"",
            "\"a\\x41\"",
            "\"\"\"\n\\x41\"\"\"",
            "07:32",
            "1979-05-27T07:32Z",
            "1979-05-27 07:32+01:00",
        ] {
            assert!(!is_single_scalar(bad), "{bad:?}");
        }
        assert!(typed_literal(ScalarType::Int, "0x1f"));
        assert!(!typed_literal(ScalarType::Int, "1.0"));
        assert!(typed_literal(ScalarType::Float, "inf"));
        assert!(typed_literal(ScalarType::Bool, "false"));
        assert!(!typed_literal(ScalarType::Bool, "False"));
    }
}
