//! JSON (RFC 8259) and JSON with comments (`.jsonc`): a hand-written scanner that
//! finds every node of a document with its exact byte span, and the insertion of a
//! new object member for `set`.
//!
//! The scanner is strict: it accepts exactly the JSON texts of RFC 8259 (any value
//! at the top level, no byte order mark, no duplicate member names), and with
//! comments enabled also `//` and `/* */` comments and one trailing comma after the
//! last element of an array or the last member of an object. It keeps an explicit
//! stack instead of recursing, and refuses nesting deeper than `MAX_DEPTH` (512),
//! so no input can overflow the stack or make the node list quadratic.
//!
//! Nodes: every object is a table node and every array an array node, with the
//! span of their whole text; every string, number, `true`, `false` and `null` is a
//! scalar node whose span is exactly its text (a string's quotes included). The
//! top-level value is a node with the empty path. Member names are decoded into
//! key segments and array positions are index segments.

use std::collections::HashSet;
use std::fmt::Write as _;

use zeroize::Zeroizing;

use super::FormatError;
use super::{
    Format, Node, NodeKind, NodeSink, PATHS_TOO_LARGE, PathBudget, ScalarType, line_column,
};
use crate::path::{Segment, ValuePath};

/// How many arrays and objects may be open at once.
pub(crate) const MAX_DEPTH: usize = 512;

/// What kind of scalar a piece of text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    String,
    /// A number without fraction or exponent.
    Int,
    /// A number with a fraction or an exponent.
    Float,
    Bool,
    Null,
}

/// An array or object that is open while scanning.
enum Frame {
    /// An object: its node, and the member names seen so far.
    Object { node: usize, names: HashSet<String> },
    /// An array: its node, and the index of the next element.
    Array { node: usize, next: usize },
}

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    comments: bool,
}

impl<'t> Scanner<'t> {
    fn new(text: &'t str, comments: bool) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            comments,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// An error at byte `at`. `message` says what was expected and never quotes
    /// the input.
    fn err(&self, at: usize, message: impl Into<String>) -> FormatError {
        let (line, column) = line_column(self.text, at);
        FormatError::Parse {
            format: if self.comments {
                Format::Jsonc
            } else {
                Format::Json
            },
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at the current position, saying so when the text ended early.
    fn expected(&self, what: &str) -> FormatError {
        if self.pos >= self.bytes.len() {
            self.err(self.pos, format!("unexpected end of the document: {what}"))
        } else {
            self.err(self.pos, what)
        }
    }

    /// Skips white space and, with comments enabled, comments.
    fn trivia(&mut self) -> Result<(), FormatError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') if matches!(self.bytes.get(self.pos + 1), Some(b'/' | b'*')) => {
                    if !self.comments {
                        return Err(self.err(
                            self.pos,
                            "comments are not allowed in JSON (a file with comments is .jsonc)",
                        ));
                    }
                    let body = self.pos + 2;
                    if self.bytes[self.pos + 1] == b'/' {
                        self.pos = self.text[body..]
                            .find('\n')
                            .map_or(self.bytes.len(), |i| body + i);
                    } else {
                        match self.text[body..].find("*/") {
                            Some(i) => self.pos = body + i + 2,
                            None => {
                                return Err(self.err(self.pos, "unterminated /* comment"));
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// One scalar at the current position: its kind and, for a string, its decoded
    /// content.
    fn scalar(&mut self) -> Result<(Scalar, Option<Zeroizing<String>>), FormatError> {
        match self.peek() {
            Some(b'"') => Ok((Scalar::String, Some(self.string()?))),
            Some(b'-' | b'0'..=b'9') => Ok((self.number()?, None)),
            _ => {
                let rest = &self.bytes[self.pos..];
                for (word, kind) in [
                    (&b"true"[..], Scalar::Bool),
                    (b"false", Scalar::Bool),
                    (b"null", Scalar::Null),
                ] {
                    if rest.starts_with(word) {
                        self.pos += word.len();
                        return Ok((kind, None));
                    }
                }
                Err(self.expected(
                    "expected a value (an object, array, string, number, true, false or null)",
                ))
            }
        }
    }

    /// The offset of the quote that closes the string opening at the current
    /// position. A control character before it is an error: a raw line break
    /// most often means the closing quote is missing.
    fn string_end(&self) -> Result<usize, FormatError> {
        let mut i = self.pos + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'"' => return Ok(i),
                b'\\' => i += 2,
                b'\n' | b'\r' => {
                    return Err(self.err(
                        i,
                        "line break in a string: close the string with '\"' or write the break as \\n",
                    ));
                }
                0..=0x1f => {
                    return Err(self.err(
                        i,
                        "control character in a string: write it as an escape such as \\t or \\u001f",
                    ));
                }
                _ => i += 1,
            }
        }
        Err(self.err(self.pos, "unterminated string: expected a closing '\"'"))
    }

    /// A string at the current position, decoded. The buffer is sized before
    /// decoding (the content is never longer than its text), so it never
    /// reallocates and leaves no unwiped copy behind.
    fn string(&mut self) -> Result<Zeroizing<String>, FormatError> {
        let end = self.string_end()?;
        let mut out = Zeroizing::new(String::with_capacity(end - self.pos - 1));
        let mut i = self.pos + 1;
        let mut run = i;
        while i < end {
            match self.bytes[i] {
                b'\\' => {
                    out.push_str(&self.text[run..i]);
                    i = self.escape(i, end, &mut out)?;
                    run = i;
                }
                _ => i += 1,
            }
        }
        out.push_str(&self.text[run..end]);
        self.pos = end + 1;
        Ok(out)
    }

    /// Decodes the escape at `at` (a backslash) of a string that closes at `end`;
    /// returns the offset after it.
    fn escape(&self, at: usize, end: usize, out: &mut String) -> Result<usize, FormatError> {
        let c = match self.bytes[at + 1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4(at, end)?;
                let (code, next) = match hi {
                    0xD800..=0xDBFF => {
                        let lo = if self.bytes[at + 6..end].starts_with(b"\\u") {
                            self.hex4(at + 6, end)?
                        } else {
                            0
                        };
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(self.err(at, UNPAIRED));
                        }
                        (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), at + 12)
                    }
                    0xDC00..=0xDFFF => return Err(self.err(at, UNPAIRED)),
                    _ => (hi, at + 6),
                };
                // Surrogates are excluded above, so every code is a scalar value.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                return Ok(next);
            }
            _ => {
                return Err(self.err(
                    at,
                    "invalid escape in a string: JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                ));
            }
        };
        out.push(c);
        Ok(at + 2)
    }

    /// The four hex digits of the `\u` escape at `at`, in a string closing at `end`.
    fn hex4(&self, at: usize, end: usize) -> Result<u32, FormatError> {
        let digits = self.bytes.get(at + 2..at + 6).filter(|_| at + 6 <= end);
        digits
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.err(at, "invalid \\u escape: expected four hex digits"))
    }

    fn digits(&self, mut i: usize) -> usize {
        while self.bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    }

    /// A number at the current position, exactly as RFC 8259 defines it.
    fn number(&mut self) -> Result<Scalar, FormatError> {
        let mut i = self.pos;
        if self.bytes[i] == b'-' {
            i += 1;
        }
        match self.bytes.get(i) {
            Some(b'0') => {
                if self.bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    return Err(self.err(i, "leading zeros are not allowed in a number"));
                }
                i += 1;
            }
            Some(b'1'..=b'9') => i = self.digits(i),
            _ => return Err(self.err(i, "expected a digit after '-'")),
        }
        let mut kind = Scalar::Int;
        if self.bytes.get(i) == Some(&b'.') {
            let j = self.digits(i + 1);
            if j == i + 1 {
                return Err(self.err(j, "expected a digit after the decimal point"));
            }
            i = j;
            kind = Scalar::Float;
        }
        if matches!(self.bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(self.bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let j = self.digits(i);
            if j == i {
                return Err(self.err(i, "expected a digit in the exponent"));
            }
            i = j;
            kind = Scalar::Float;
        }
        self.pos = i;
        Ok(kind)
    }

    /// A member name, the `:` after it and the trivia before its value. `object`
    /// is the object's path, for the message about a duplicate.
    fn member_name(
        &mut self,
        object: &ValuePath,
        names: &mut HashSet<String>,
    ) -> Result<String, FormatError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("expected a member name (a string in double quotes)"));
        }
        let at = self.pos;
        let name = self.string()?.as_str().to_string();
        if names.contains(&name) {
            let path = object.child(Segment::Key(name));
            return Err(self.err(
                at,
                format!("duplicate key {path}: a name may appear only once in an object"),
            ));
        }
        self.trivia()?;
        if self.peek() != Some(b':') {
            return Err(self.expected("expected ':' after a member name"));
        }
        self.pos += 1;
        self.trivia()?;
        names.insert(name.clone());
        Ok(name)
    }
}

const UNPAIRED: &str = "unpaired UTF-16 surrogate in a \\u escape";

/// Every node of the document: objects, arrays and scalars with their spans, in
/// document order.
#[cfg(test)]
pub(crate) fn scan(text: &str, comments: bool) -> Result<Vec<Node>, FormatError> {
    let mut nodes = Vec::new();
    scan_into(text, comments, &mut nodes)?;
    Ok(nodes)
}

/// Gives every node of the document to `sink`, in document order.
pub(crate) fn scan_into(
    text: &str,
    comments: bool,
    sink: &mut impl NodeSink,
) -> Result<(), FormatError> {
    let mut s = Scanner::new(text, comments);
    if text.starts_with('\u{feff}') {
        return Err(s.err(
            0,
            "the document starts with a byte order mark (U+FEFF), which JSON does not allow; save it as UTF-8 without a BOM",
        ));
    }
    s.trivia()?;
    if s.pos == text.len() {
        return Err(s.err(s.pos, "empty document: expected a JSON value"));
    }
    // How many nodes the sink has taken: a container's index, for its end.
    let mut given = 0usize;
    let mut budget = PathBudget::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut path = ValuePath::root();
    'value: loop {
        // A value starts here; the trivia before it is skipped.
        let start = s.pos;
        match s.peek() {
            Some(open @ (b'{' | b'[')) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(s.err(
                        start,
                        format!("arrays and objects are nested more than {MAX_DEPTH} deep"),
                    ));
                }
                let object = open == b'{';
                if !budget.take(&path) {
                    return Err(s.err(start, PATHS_TOO_LARGE));
                }
                sink.node(Node {
                    document: 0,
                    path: path.clone(),
                    kind: if object {
                        NodeKind::Table
                    } else {
                        NodeKind::Array
                    },
                    span: start..start,
                });
                let node = given;
                given += 1;
                s.pos += 1;
                s.trivia()?;
                let close = if object { b'}' } else { b']' };
                if s.peek() == Some(close) {
                    s.pos += 1;
                    sink.container_end(node, s.pos);
                } else if object {
                    let mut names = HashSet::new();
                    let name = s.member_name(&path, &mut names)?;
                    path.push(Segment::Key(name));
                    stack.push(Frame::Object { node, names });
                    continue 'value;
                } else {
                    path.push(Segment::Index(0));
                    stack.push(Frame::Array { node, next: 1 });
                    continue 'value;
                }
            }
            _ => {
                let (_, string) = s.scalar()?;
                if !budget.take(&path) {
                    return Err(s.err(start, PATHS_TOO_LARGE));
                }
                sink.node(Node {
                    document: 0,
                    path: path.clone(),
                    kind: NodeKind::Scalar { string },
                    span: start..s.pos,
                });
                given += 1;
            }
        }
        // A value has ended: what follows it in the array or object holding it.
        // The value's own path segment is still on `path`.
        loop {
            let Some(frame) = stack.last_mut() else {
                break 'value;
            };
            let (node, close) = match frame {
                Frame::Object { node, .. } => (*node, b'}'),
                Frame::Array { node, .. } => (*node, b']'),
            };
            s.trivia()?;
            match s.peek() {
                Some(b',') => {
                    let comma = s.pos;
                    s.pos += 1;
                    s.trivia()?;
                    path.pop();
                    if s.peek() == Some(close) {
                        if !s.comments {
                            return Err(s.err(
                                comma,
                                "trailing comma before the closing bracket (allowed in .jsonc, not in JSON)",
                            ));
                        }
                        s.pos += 1;
                        sink.container_end(node, s.pos);
                        stack.pop();
                        continue;
                    }
                    match frame {
                        Frame::Object { names, .. } => {
                            let name = s.member_name(&path, names)?;
                            path.push(Segment::Key(name));
                        }
                        Frame::Array { next, .. } => {
                            path.push(Segment::Index(*next));
                            *next += 1;
                        }
                    }
                    continue 'value;
                }
                Some(c) if c == close => {
                    path.pop();
                    s.pos += 1;
                    sink.container_end(node, s.pos);
                    stack.pop();
                }
                _ => {
                    return Err(s.expected(if close == b'}' {
                        "expected ',' or '}' after an object member"
                    } else {
                        "expected ',' or ']' after an array element"
                    }));
                }
            }
        }
    }
    s.trivia()?;
    if s.pos != text.len() {
        return Err(s.err(
            s.pos,
            "unexpected text after the top-level value (a JSON document holds one value)",
        ));
    }
    Ok(())
}

/// A JSON string holding `s`: `"` and `\` escaped, control characters written as
/// `\n`, `\t`, `\r`, `\b`, `\f` or `\u00XX`, every other character as it is.
pub(crate) fn string_literal(s: &str) -> Zeroizing<String> {
    let escape = |c: char| match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '\n' => Some("\\n"),
        '\t' => Some("\\t"),
        '\r' => Some("\\r"),
        '\u{8}' => Some("\\b"),
        '\u{c}' => Some("\\f"),
        _ => None,
    };
    // C0, DEL and C1 controls without a short escape: all below U+0100, so
    // `\u00XX` (6 bytes) fits each.
    let long = |c: char| c.is_control() && escape(c).is_none();
    // The exact size up front: the buffer never reallocates, so no copy of the
    // value is left unwiped.
    let size = s
        .chars()
        .map(|c| escape(c).map_or(if long(c) { 6 } else { c.len_utf8() }, str::len))
        .sum::<usize>();
    let mut out = Zeroizing::new(String::with_capacity(size + 2));
    out.push('"');
    for c in s.chars() {
        match escape(c) {
            Some(e) => out.push_str(e),
            None if long(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            None => out.push(c),
        }
    }
    out.push('"');
    debug_assert_eq!(out.len(), size + 2);
    out
}

/// The kind of `raw` when it is exactly one JSON scalar and nothing else: no white
/// space, comment or second value.
fn single_scalar(raw: &str) -> Option<Scalar> {
    let mut s = Scanner::new(raw, false);
    let (kind, _) = s.scalar().ok()?;
    (s.pos == raw.len()).then_some(kind)
}

/// Whether `raw` is exactly one JSON value of type `ty`. Any number is a float; an
/// integer is a number without fraction or exponent.
pub(crate) fn typed_literal(ty: ScalarType, raw: &str) -> bool {
    matches!(
        (ty, single_scalar(raw)),
        (ScalarType::String, Some(Scalar::String))
            | (ScalarType::Int, Some(Scalar::Int))
            | (ScalarType::Float, Some(Scalar::Int | Scalar::Float))
            | (ScalarType::Bool, Some(Scalar::Bool))
    )
}

/// The typed value of a scalar that is not a string (its text `raw`, a valid
/// JSON number, `true`, `false` or `null`).
pub(crate) fn scalar_value(raw: &str) -> Result<super::Scalar, &'static str> {
    use super::{Scalar, scalar::float_text};
    Ok(match raw {
        "true" => Scalar::Bool(true),
        "false" => Scalar::Bool(false),
        "null" => Scalar::Null,
        // As a binary64, as JSON readers take it: beyond its range is infinity.
        n if n.contains(['.', 'e', 'E']) => Scalar::Float(float_text(
            n.parse::<f64>().map_err(|_| "is not a JSON number")?,
        )),
        n => Scalar::Integer(Zeroizing::new(n.to_string())),
    })
}

/// Whether `raw` is exactly one JSON scalar (string, number, `true`, `false` or
/// `null`) with nothing around it.
pub(crate) fn is_single_scalar(raw: &str) -> bool {
    single_scalar(raw).is_some()
}

// ---- insertion ----

/// The offset after the white space and comments from `pos` (the text is known to
/// be valid).
fn skip_trivia(text: &str, mut pos: usize, comments: bool) -> usize {
    let b = text.as_bytes();
    loop {
        match b.get(pos) {
            Some(b' ' | b'\t' | b'\n' | b'\r') => pos += 1,
            Some(b'/') if comments && b.get(pos + 1) == Some(&b'/') => {
                pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            }
            Some(b'/') if comments && b.get(pos + 1) == Some(&b'*') => {
                pos = text[pos + 2..]
                    .find("*/")
                    .map_or(text.len(), |i| pos + 2 + i + 2);
            }
            _ => return pos,
        }
    }
}

/// From `pos`, the end of the blanks and comments that stay on the same line: the
/// offset after the last comment (or `pos` if there is none), and whether that
/// last comment is a `//` comment. The line break itself is never included.
fn same_line_trivia(text: &str, pos: usize) -> (usize, bool) {
    let b = text.as_bytes();
    let (mut i, mut end) = (pos, pos);
    loop {
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if b[i..].starts_with(b"//") {
            let mut stop = text[i..].find('\n').map_or(text.len(), |n| i + n);
            if stop > i && b[stop - 1] == b'\r' {
                stop -= 1;
            }
            return (stop, true);
        }
        if !b[i..].starts_with(b"/*") {
            return (end, false);
        }
        match text[i + 2..].find("*/") {
            Some(n) if !text[i + 2..i + 2 + n].contains('\n') => {
                i += 2 + n + 2;
                end = i;
            }
            _ => return (end, false),
        }
    }
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The blanks before `pos` on its line, if nothing else comes before it there.
fn indent_before(text: &str, pos: usize) -> Option<&str> {
    let before = &text[line_start(text, pos)..pos];
    before
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
        .then_some(before)
}

/// The blanks at the start of the line holding `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let rest = &text[line_start(text, pos)..];
    let n = rest
        .bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    &rest[..n]
}

/// One level of indentation as the document writes it: the blanks that start its
/// first indented line, or two spaces.
fn document_unit(text: &str) -> &str {
    text.lines()
        .map(|l| {
            let n = l.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
            (&l[..n], l[n..].trim_end())
        })
        .find(|(indent, rest)| !indent.is_empty() && !rest.is_empty())
        .map_or("  ", |(indent, _)| indent)
}

/// Writes `"k1": {"k2": … "last": literal …}` for the missing objects `keys` and
/// the new member's name `last`. With `pretty` (`indent`, one level, line break),
/// each new object opens its own lines, indented one level more than its member.
fn write_member(
    out: &mut String,
    keys: &[&str],
    last: &str,
    literal: &str,
    pretty: Option<(&str, &str, &str)>,
) {
    for (depth, k) in keys.iter().enumerate() {
        out.push_str(&string_literal(k));
        out.push_str(": {");
        if let Some((indent, unit, nl)) = pretty {
            out.push_str(nl);
            out.push_str(indent);
            out.push_str(&unit.repeat(depth + 1));
        }
    }
    out.push_str(&string_literal(last));
    out.push_str(": ");
    out.push_str(literal);
    for depth in (0..keys.len()).rev() {
        if let Some((indent, unit, nl)) = pretty {
            out.push_str(nl);
            out.push_str(indent);
            out.push_str(&unit.repeat(depth));
        }
        out.push('}');
    }
}

/// Where and what to insert so that `"key": literal` becomes the last member of
/// the object `path` names, for a path that does not exist yet.
///
/// The parent must be an existing object. When some objects on the path are
/// missing, they are created, nested, inside the nearest existing one; the
/// nearest existing node must be an object, and no missing step may be an array
/// index. The new member copies the layout of the object's last member: on a new
/// line with the same indentation when that member starts its own line, else on
/// the same line after `, `. An empty object gets the member inside its braces, or
/// on its own line when the braces are on different lines. A trailing comma
/// (`.jsonc`) stays a trailing comma, after the new member. A `//` comment after
/// the last member, on its line and with no comma after the member, ends up after
/// the new member, because the comma must come before the comment and only one
/// place of the text can change.
pub(crate) fn insert(
    text: &str,
    nodes: &[Node],
    path: &ValuePath,
    literal: &str,
    comments: bool,
) -> Result<(usize, Zeroizing<String>), FormatError> {
    let cannot = |reason| FormatError::CannotInsert {
        path: path.clone(),
        reason,
    };
    let Some((parent, Segment::Key(last))) = path.split_last() else {
        return Err(cannot(
            "only a member of an object can be added, not an array element",
        ));
    };
    // The nearest node on the path that exists, and the objects to create in it.
    let mut base = parent;
    let mut missing = Vec::new();
    let object = loop {
        if let Some(n) = nodes.iter().find(|n| n.path == base) {
            break n;
        }
        let Some((up, seg)) = base.split_last() else {
            return Err(cannot("the document has no value to add to"));
        };
        match seg {
            Segment::Key(k) => missing.push(k.clone()),
            Segment::Index(_) => {
                return Err(cannot(
                    "an array element on the path does not exist; add it by hand first",
                ));
            }
        }
        base = up;
    };
    missing.reverse();
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    match object.kind {
        NodeKind::Table => {}
        NodeKind::Array => {
            return Err(cannot(
                "the parent is an array; only a member of an object can be added",
            ));
        }
        NodeKind::Scalar { .. } => return Err(cannot("the parent is a value, not an object")),
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let open = object.span.start;
    let close = object.span.end - 1;
    let depth = base.segments().len() + 1;
    let mut members: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.path.segments().len() == depth && n.path.starts_with(&base))
        .collect();
    members.sort_by_key(|n| n.span.start);
    let mut add = Zeroizing::new(String::new());

    let Some(last_member) = members.last() else {
        // An empty object.
        let inner = &text[open + 1..close];
        if !inner.contains('\n') {
            if !inner.is_empty() && !inner.ends_with([' ', '\t']) {
                add.push(' ');
            }
            write_member(&mut add, &missing, last, literal, None);
            if inner.ends_with(' ') {
                add.push(' ');
            }
            return Ok((close, add));
        }
        let unit = document_unit(text);
        return Ok(match indent_before(text, close) {
            // `}` starts its line: the member goes on a line of its own before it.
            Some(outer) => {
                let indent = format!("{outer}{unit}");
                add.push_str(&indent);
                write_member(&mut add, &missing, last, literal, Some((&indent, unit, nl)));
                add.push_str(nl);
                (line_start(text, close), add)
            }
            None => {
                let outer = line_indent(text, open);
                let indent = format!("{outer}{unit}");
                add.push_str(nl);
                add.push_str(&indent);
                write_member(&mut add, &missing, last, literal, Some((&indent, unit, nl)));
                add.push_str(nl);
                add.push_str(outer);
                (close, add)
            }
        });
    };

    // Where the last member's name starts: after the previous member's value (or
    // the brace), the trivia and the comma between them.
    let previous_end = members
        .len()
        .checked_sub(2)
        .map_or(open + 1, |i| members[i].span.end);
    let mut name_at = skip_trivia(text, previous_end, comments);
    if text.as_bytes()[name_at] == b',' {
        name_at = skip_trivia(text, name_at + 1, comments);
    }
    let value_end = last_member.span.end;
    let after = skip_trivia(text, value_end, comments);
    let trailing_comma = (text.as_bytes()[after] == b',').then_some(after);

    match indent_before(text, name_at) {
        // The last member starts its own line: the new one gets a line too.
        Some(indent) => {
            let outer = line_indent(text, open);
            let unit = match indent.strip_prefix(outer) {
                Some(u) if !u.is_empty() => u,
                _ => document_unit(text),
            };
            let pretty = Some((indent, unit, nl));
            let at = match trailing_comma {
                Some(comma) => {
                    let (end, _) = same_line_trivia(text, comma + 1);
                    let at = end.max(comma + 1);
                    add.push_str(nl);
                    add.push_str(indent);
                    write_member(&mut add, &missing, last, literal, pretty);
                    add.push(',');
                    at
                }
                None => {
                    let (end, line_comment) = same_line_trivia(text, value_end);
                    let at = if line_comment { value_end } else { end };
                    add.push(',');
                    add.push_str(nl);
                    add.push_str(indent);
                    write_member(&mut add, &missing, last, literal, pretty);
                    at
                }
            };
            Ok((at, add))
        }
        // Members share a line: the new one follows on the same line.
        None => match trailing_comma {
            Some(comma) => {
                add.push(' ');
                write_member(&mut add, &missing, last, literal, None);
                add.push(',');
                Ok((comma + 1, add))
            }
            None => {
                add.push_str(", ");
                write_member(&mut add, &missing, last, literal, None);
                Ok((value_end, add))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str, comments: bool) -> Vec<(String, &'static str, String)> {
        scan(text, comments)
            .unwrap()
            .into_iter()
            .map(|n| {
                let kind = match n.kind {
                    NodeKind::Table => "table",
                    NodeKind::Array => "array",
                    NodeKind::Scalar { .. } => "scalar",
                };
                (n.path.to_string(), kind, text[n.span].to_string())
            })
            .collect()
    }

    fn strings(text: &str) -> Vec<(String, String)> {
        scan(text, false)
            .unwrap()
            .iter()
            .filter_map(|n| Some((n.path.to_string(), n.string()?.to_string())))
            .collect()
    }

    fn error(text: &str, comments: bool) -> (usize, usize, String) {
        match scan(text, comments) {
            Err(FormatError::Parse {
                line,
                column,
                message,
                format,
            }) => {
                let want = if comments {
                    Format::Jsonc
                } else {
                    Format::Json
                };
                assert_eq!(format, want);
                (line, column, message)
            }
            other => panic!("{text:?} should not scan: {other:?}"),
        }
    }

    #[test]
    fn every_node_has_its_path_kind_and_exact_span() {
        let text = "{\n  \"a\": {\"b\": [1, -2.5e+3, \"x\"]},\n  \"c\" : true ,\"d\":null,\"e\":[],\"f\":{}\n}\n";
        let want = [
            ("(root)", "table", &text[..text.len() - 1]),
            ("a", "table", "{\"b\": [1, -2.5e+3, \"x\"]}"),
            ("a.b", "array", "[1, -2.5e+3, \"x\"]"),
            ("a.b[0]", "scalar", "1"),
            ("a.b[1]", "scalar", "-2.5e+3"),
            ("a.b[2]", "scalar", "\"x\""),
            ("c", "scalar", "true"),
            ("d", "scalar", "null"),
            ("e", "array", "[]"),
            ("f", "table", "{}"),
        ];
        let got = paths(text, false);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1, g.2.as_str()), w);
        }
    }

    #[test]
    fn any_value_can_be_the_top_level_value() {
        assert_eq!(
            paths(" \"s\"\n", false),
            [("(root)".into(), "scalar", "\"s\"".into())]
        );
        assert_eq!(paths("0", false), [("(root)".into(), "scalar", "0".into())]);
        assert_eq!(
            paths("[[1],[]]", false),
            [
                ("(root)".into(), "array", "[[1],[]]".into()),
                ("[0]".into(), "array", "[1]".into()),
                ("[0][0]".into(), "scalar", "1".into()),
                ("[1]".into(), "array", "[]".into()),
            ]
        );
    }

    #[test]
    fn strings_and_names_are_decoded() {
        let text = r#"{"\u0061\n": "\"\\\/\b\f\n\r\t", "k": "\u00e9\u20AC\ud83d\ude00 é€😀", "": "\u0000"}"#;
        assert_eq!(
            strings(text),
            [
                ("\"a\\u{a}\"".into(), "\"\\/\u{8}\u{c}\n\r\t".into()),
                ("k".into(), "é€😀 é€😀".into()),
                ("\"\"".into(), "\0".into()),
            ]
        );
        let nodes = scan(text, false).unwrap();
        assert_eq!(
            nodes[1].path.segments(),
            &[Segment::Key("a\n".into())],
            "member names are decoded"
        );
    }

    #[test]
    fn numbers_are_kept_as_written() {
        let text = "[-0, 0, 1e5, 1E-5, 0.5, -0.0e+00, 12345678901234567890123, 1.5E308]";
        let got: Vec<String> = paths(text, false)
            .into_iter()
            .skip(1)
            .map(|n| n.2)
            .collect();
        assert_eq!(
            got,
            [
                "-0",
                "0",
                "1e5",
                "1E-5",
                "0.5",
                "-0.0e+00",
                "12345678901234567890123",
                "1.5E308"
            ]
        );
    }

    #[test]
    fn bad_documents_are_refused_with_a_position_and_what_was_expected() {
        let value = "expected a value (an object, array, string, number, true, false or null)";
        let end = "unexpected end of the document: ";
        for (text, line, column, message) in [
            ("", 1, 1, "empty document: expected a JSON value".to_string()),
            (" \n\t", 2, 2, "empty document: expected a JSON value".into()),
            (
                "\u{feff}{}",
                1,
                1,
                "the document starts with a byte order mark (U+FEFF), which JSON does not allow; save it as UTF-8 without a BOM".into(),
            ),
            ("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key a: a name may appear only once in an object".into()),
            ("{\"x\": {\"a b\": 1, \"a\\u0020b\": 2}}", 1, 18, "duplicate key x.\"a b\": a name may appear only once in an object".into()),
            ("[01]", 1, 2, "leading zeros are not allowed in a number".into()),
            ("-01", 1, 2, "leading zeros are not allowed in a number".into()),
            ("-", 1, 2, "expected a digit after '-'".into()),
            ("-a", 1, 2, "expected a digit after '-'".into()),
            ("1.", 1, 3, "expected a digit after the decimal point".into()),
            ("1.e5", 1, 3, "expected a digit after the decimal point".into()),
            ("1e", 1, 3, "expected a digit in the exponent".into()),
            ("1e+", 1, 4, "expected a digit in the exponent".into()),
            (".5", 1, 1, value.into()),
            ("+1", 1, 1, value.into()),
            ("[1,]", 1, 3, "trailing comma before the closing bracket (allowed in .jsonc, not in JSON)".into()),
            ("{\"a\":1,}", 1, 7, "trailing comma before the closing bracket (allowed in .jsonc, not in JSON)".into()),
            ("[,]", 1, 2, value.into()),
            ("{,}", 1, 2, "expected a member name (a string in double quotes)".into()),
            ("{a: 1}", 1, 2, "expected a member name (a string in double quotes)".into()),
            ("{'a': 1}", 1, 2, "expected a member name (a string in double quotes)".into()),
            ("{\"a\" 1}", 1, 6, "expected ':' after a member name".into()),
            ("{\"a\": }", 1, 7, value.into()),
            ("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}' after an object member".into()),
            ("[1 2]", 1, 4, "expected ',' or ']' after an array element".into()),
            ("[1", 1, 3, format!("{end}expected ',' or ']' after an array element")),
            ("{\"a\": 1", 1, 8, format!("{end}expected ',' or '}}' after an object member")),
            ("{\"a\":", 1, 6, format!("{end}{value}")),
            ("{", 1, 2, format!("{end}expected a member name (a string in double quotes)")),
            ("[1] [2]", 1, 5, "unexpected text after the top-level value (a JSON document holds one value)".into()),
            ("{} x", 1, 4, "unexpected text after the top-level value (a JSON document holds one value)".into()),
            ("truex", 1, 5, "unexpected text after the top-level value (a JSON document holds one value)".into()),
            ("tru", 1, 1, value.into()),
            ("True", 1, 1, value.into()),
            ("NaN", 1, 1, value.into()),
            ("\"abc", 1, 1, "unterminated string: expected a closing '\"'".into()),
            ("\"abc\\\"", 1, 1, "unterminated string: expected a closing '\"'".into()),
            ("[\"a\nb\"]", 1, 4, "line break in a string: close the string with '\"' or write the break as \\n".into()),
            ("{\"a\": \"b\r\n}", 1, 9, "line break in a string: close the string with '\"' or write the break as \\n".into()),
            ("\"\t\"", 1, 2, "control character in a string: write it as an escape such as \\t or \\u001f".into()),
            ("\"\u{1}", 1, 2, "control character in a string: write it as an escape such as \\t or \\u001f".into()),
            ("\"\\\n\"", 1, 2, "invalid escape in a string: JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX".into()),
            ("\"\\x\"", 1, 2, "invalid escape in a string: JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX".into()),
            ("\"\\'\"", 1, 2, "invalid escape in a string: JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX".into()),
            ("\"\\u12\"", 1, 2, "invalid \\u escape: expected four hex digits".into()),
            ("\"\\u12G4\"", 1, 2, "invalid \\u escape: expected four hex digits".into()),
            ("\"ab\\ud800\"", 1, 4, UNPAIRED.into()),
            ("\"\\ud800\\u0041\"", 1, 2, UNPAIRED.into()),
            ("\"\\ud800\\ud800\"", 1, 2, UNPAIRED.into()),
            ("\"\\udc00\"", 1, 2, UNPAIRED.into()),
            ("\"\\ud800\\u00\"", 1, 8, "invalid \\u escape: expected four hex digits".into()),
            ("{} // c", 1, 4, "comments are not allowed in JSON (a file with comments is .jsonc)".into()),
            ("/* c */ {}", 1, 1, "comments are not allowed in JSON (a file with comments is .jsonc)".into()),
            ("{\n  \"é\": 1,\n  \"ü\": ?\n}", 3, 8, value.into()),
            ("\r\n\r\n [1,\r\n x]", 4, 2, value.into()),
            ("[\u{a0}1]", 1, 2, value.into()),
        ] {
            assert_eq!(
                error(text, false),
                (line, column, message),
                "{text:?}"
            );
        }
    }

    #[test]
    fn jsonc_errors() {
        for (text, line, column, message) in [
            ("/* open", 1, 1, "unterminated /* comment"),
            (
                "// only a comment\n",
                2,
                1,
                "empty document: expected a JSON value",
            ),
            (
                "[1,,]",
                1,
                4,
                "expected a value (an object, array, string, number, true, false or null)",
            ),
            (
                "[,]",
                1,
                2,
                "expected a value (an object, array, string, number, true, false or null)",
            ),
            (
                "{,}",
                1,
                2,
                "expected a member name (a string in double quotes)",
            ),
            (
                "{\"a\":1,,}",
                1,
                8,
                "expected a member name (a string in double quotes)",
            ),
            (
                "# c\n{}",
                1,
                1,
                "expected a value (an object, array, string, number, true, false or null)",
            ),
        ] {
            assert_eq!(
                error(text, true),
                (line, column, message.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn errors_never_quote_the_input() {
        for text in [
            "{\"password\": \"hunter2",
            "{\"password\": hunter2}",
            "{\"password\": \"hunter2\" \"x\": 1}",
            "{\"password\": \"hunter2\\q\"}",
            "{\"password\": \"hunter2\"} hunter2",
            "[\"hunter2\", \"hunter2\n\"]",
            "{\"password\": -hunter2}",
            "{\"password\": 0hunter2}",
        ] {
            let msg = scan(text, false).unwrap_err().to_string();
            assert!(!msg.contains("hunter"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn jsonc_allows_comments_and_trailing_commas() {
        let text = "// head\n{\n  /* a */ \"a\": [1, 2,], // tail\n  \"b\" /* x */ : /* y */ {\"c\": \"// not a comment\",},\n}\n/* end */";
        let got = paths(text, true);
        let spans: Vec<(&str, &str)> = got
            .iter()
            .map(|(p, _, s)| (p.as_str(), s.as_str()))
            .skip(1)
            .collect();
        assert_eq!(
            spans,
            [
                ("a", "[1, 2,]"),
                ("a[0]", "1"),
                ("a[1]", "2"),
                ("b", "{\"c\": \"// not a comment\",}"),
                ("b.c", "\"// not a comment\""),
            ]
        );
        assert!(scan(text, false).is_err());
        assert!(scan("{\"a\": 1 /* unterminated", true).is_err());
    }

    #[test]
    fn nesting_is_capped_without_recursion() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(scan(&ok, false).unwrap().len(), MAX_DEPTH);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            error(&deep, false),
            (
                1,
                MAX_DEPTH + 1,
                "arrays and objects are nested more than 512 deep".into()
            )
        );
        let objects = "{\"a\":".repeat(200_000);
        assert!(scan(&objects, false).is_err());
        let arrays = "[".repeat(1_000_000);
        assert!(scan(&arrays, true).is_err());
    }

    #[test]
    fn single_scalars() {
        for ok in [
            "\"x\"",
            "\"\"",
            "\"\\u00e9\\n\"",
            "0",
            "-0",
            "1e5",
            "-1.5E-7",
            "12345678901234567890123",
            "true",
            "false",
            "null",
        ] {
            assert!(is_single_scalar(ok), "{ok}");
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "1\n",
            "\"x\" ",
            "01",
            "1.",
            "[1]",
            "{}",
            "\"x\", \"admin\": true",
            "1}",
            "1,2",
            "\"a\"\"b\"",
            "1 // c",
            "1/* c */",
            "\"unterminated",
            "nul",
            "nulll",
            "'x'",
            "x",
            "\"\\ud800\"",
        ] {
            assert!(!is_single_scalar(bad), "{bad:?}");
        }
        assert!(typed_literal(ScalarType::Int, "-0"));
        assert!(typed_literal(ScalarType::Int, "12345678901234567890123"));
        assert!(!typed_literal(ScalarType::Int, "1.0"));
        assert!(!typed_literal(ScalarType::Int, "1e3"));
        assert!(!typed_literal(ScalarType::Int, "+1"));
        assert!(!typed_literal(ScalarType::Int, "0x1f"));
        assert!(typed_literal(ScalarType::Float, "1"));
        assert!(typed_literal(ScalarType::Float, "1.5e-3"));
        assert!(!typed_literal(ScalarType::Float, "inf"));
        assert!(!typed_literal(ScalarType::Float, "NaN"));
        assert!(typed_literal(ScalarType::Bool, "false"));
        assert!(!typed_literal(ScalarType::Bool, "False"));
        assert!(!typed_literal(ScalarType::Bool, "null"));
        assert!(typed_literal(ScalarType::String, "\"s\""));
        assert!(!typed_literal(ScalarType::String, "s"));
    }

    #[test]
    fn string_literals_decode_back_to_their_text() {
        for s in [
            "",
            "plain",
            "q\"b\\s/",
            "\n\t\r\u{8}\u{c}\0\u{1f}\u{7f}\u{85}",
            "é€😀\u{2028}",
        ] {
            let lit = string_literal(s);
            assert!(is_single_scalar(&lit), "{lit:?}");
            let nodes = scan(&lit, false).unwrap();
            assert_eq!(nodes[0].string(), Some(s));
            assert_eq!(serde_json::from_str::<String>(&lit).unwrap(), s);
        }
        assert_eq!(
            string_literal("a\"\\\n\u{1}\u{7f}é").as_str(),
            "\"a\\\"\\\\\\n\\u0001\\u007fé\""
        );
    }

    fn add(text: &str, path: &str, comments: bool) -> Result<String, FormatError> {
        let nodes = scan(text, comments).unwrap();
        let (at, new) = insert(text, &nodes, &path.parse().unwrap(), "\"T\"", comments)?;
        let out = format!("{}{}{}", &text[..at], new.as_str(), &text[at..]);
        scan(&out, comments).unwrap();
        Ok(out)
    }

    #[test]
    fn new_members_copy_the_layout_of_the_object() {
        let pretty = "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [\n      2\n    ]\n  }\n}\n";
        for (text, path, want) in [
            // Multi-line objects: a new line with the last member's indentation.
            (
                pretty,
                "k",
                "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [\n      2\n    ]\n  },\n  \"k\": \"T\"\n}\n",
            ),
            (
                pretty,
                "b.k",
                "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [\n      2\n    ],\n    \"k\": \"T\"\n  }\n}\n",
            ),
            (
                "{\r\n\t\"a\": 1\r\n}",
                "k",
                "{\r\n\t\"a\": 1,\r\n\t\"k\": \"T\"\r\n}",
            ),
            (
                "{\"a\": 1,\n \"b\": 2}",
                "k",
                "{\"a\": 1,\n \"b\": 2,\n \"k\": \"T\"}",
            ),
            // Single-line objects: on the same line.
            ("{\"a\": 1}", "k", "{\"a\": 1, \"k\": \"T\"}"),
            ("{ \"a\" : 1 }", "k", "{ \"a\" : 1, \"k\": \"T\" }"),
            (
                "{\n  \"x\": {\"a\": [1]}\n}",
                "x.k",
                "{\n  \"x\": {\"a\": [1], \"k\": \"T\"}\n}",
            ),
            // Empty objects.
            ("{}", "k", "{\"k\": \"T\"}"),
            ("{ }", "k", "{ \"k\": \"T\" }"),
            ("{\n}\n", "k", "{\n  \"k\": \"T\"\n}\n"),
            (
                "{\n    \"e\": {\n    }\n}",
                "e.k",
                "{\n    \"e\": {\n        \"k\": \"T\"\n    }\n}",
            ),
            // Names that need quoting or escaping.
            (
                "{\"a\": 1}",
                "\"é \\\"q\\\"\"",
                "{\"a\": 1, \"é \\\"q\\\"\": \"T\"}",
            ),
            // Missing objects are created inside the nearest existing one.
            ("{}", "a.b.k", "{\"a\": {\"b\": {\"k\": \"T\"}}}"),
            (
                "{\"a\": {\"x\": 1}}",
                "a.b.k",
                "{\"a\": {\"x\": 1, \"b\": {\"k\": \"T\"}}}",
            ),
            (
                "{\n  \"a\": 1\n}",
                "b.c.k",
                "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": {\n      \"k\": \"T\"\n    }\n  }\n}",
            ),
            ("[{\"a\": 1}]", "[0].k", "[{\"a\": 1, \"k\": \"T\"}]"),
        ] {
            assert_eq!(add(text, path, false).unwrap(), want, "{text:?} + {path}");
        }
    }

    #[test]
    fn new_members_mind_comments_and_trailing_commas() {
        for (text, path, want) in [
            (
                "{\n  \"a\": 1, // one\n}\n",
                "k",
                "{\n  \"a\": 1, // one\n  \"k\": \"T\",\n}\n",
            ),
            (
                "{\r\n  \"a\": 1,\r\n}",
                "k",
                "{\r\n  \"a\": 1,\r\n  \"k\": \"T\",\r\n}",
            ),
            (
                "{\n  \"a\": 1 /* one */\n}",
                "k",
                "{\n  \"a\": 1 /* one */,\n  \"k\": \"T\"\n}",
            ),
            // The comma must precede a line comment; the comment then follows the
            // new member.
            (
                "{\n  \"a\": 1 // one\n}",
                "k",
                "{\n  \"a\": 1,\n  \"k\": \"T\" // one\n}",
            ),
            (
                "{\n  \"a\": 1\n  // the end\n}",
                "k",
                "{\n  \"a\": 1,\n  \"k\": \"T\"\n  // the end\n}",
            ),
            ("{\"a\": 1,}", "k", "{\"a\": 1, \"k\": \"T\",}"),
            (
                "{\"a\": 1 /* c */}",
                "k",
                "{\"a\": 1, \"k\": \"T\" /* c */}",
            ),
            (
                "{\n  // nothing yet\n}",
                "k",
                "{\n  // nothing yet\n  \"k\": \"T\"\n}",
            ),
            ("{ /* c */ }", "k", "{ /* c */ \"k\": \"T\" }"),
            ("{/* c */}", "k", "{/* c */ \"k\": \"T\"}"),
            ("{\n  /* c */ }", "k", "{\n  /* c */ \n  \"k\": \"T\"\n}"),
            (
                "{ // c\n  \"a\": /* v */ 1 /* w */ , /* x */ \"b\": 2 }",
                "k",
                "{ // c\n  \"a\": /* v */ 1 /* w */ , /* x */ \"b\": 2, \"k\": \"T\" }",
            ),
            (
                "{\n  \"a\": 1,\n  /* x */ \"b\": 2\n}",
                "k",
                "{\n  \"a\": 1,\n  /* x */ \"b\": 2, \"k\": \"T\"\n}",
            ),
        ] {
            assert_eq!(add(text, path, true).unwrap(), want, "{text:?} + {path}");
        }
    }

    #[test]
    fn places_that_are_not_objects_are_refused() {
        for (text, path) in [
            ("[1]", "k"),
            ("\"s\"", "k"),
            ("{\"a\": [1]}", "a[1]"),
            ("{\"a\": [1]}", "a.k"),
            ("{\"a\": [1]}", "a[2].k"),
            ("{\"a\": 1}", "a.k"),
            ("{\"a\": 1}", "a.b.k"),
            ("{}", "x[0].k"),
            ("{\"a\": {}}", "a[0]"),
        ] {
            assert!(
                matches!(
                    add(text, path, false),
                    Err(FormatError::CannotInsert { .. })
                ),
                "{text:?} {path}"
            );
        }
    }
}
