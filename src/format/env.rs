//! Dotenv (`.env`) files: a small hand-written scanner that finds every
//! `KEY=value` assignment with the exact byte span of its value; and the new line
//! `set` appends.
//!
//! # The syntax accepted
//!
//! A file is a sequence of lines ended by LF or CR LF (the last line may have no
//! end). A UTF-8 byte order mark at the start is skipped. "Blank" below is a
//! space or a tab. A line is one of:
//!
//! - a **blank line**: only blanks;
//! - a **comment**: optional blanks, then `#` and anything up to the end of the
//!   line;
//! - an **assignment**: optional blanks, an optional `export` followed by blanks,
//!   a key, optional blanks, `=`, optional blanks, a value, optional blanks, and
//!   an optional comment, which must be separated from the value by a blank.
//!
//! Blanks are allowed around `=` (`KEY = value`), as in `dotenvy`. A key is
//! `[A-Za-z_][A-Za-z0-9_.-]*`; `export` itself is a key when `=` follows it. A key
//! may be assigned only once in a file.
//!
//! A value is one of:
//!
//! - **unquoted**: from its first non-blank character to the end of the line or to
//!   the first `#` that follows a blank (an inline comment), without the blanks
//!   before that end. It may hold blanks (`KEY=a b` is `a b`) and `=` inside,
//!   but not `#` (see below). It is taken literally.
//! - **single-quoted** `'…'`: literal, and may span lines.
//! - **double-quoted** `"…"`: may span lines; the escapes are `\n` (a line
//!   feed), `\\`, `\"` and `\'`, the only ones `dotenvy` and Python's
//!   `python-dotenv` both decode, and alike. Any other backslash sequence is an
//!   error.
//! - **empty**: nothing, or only blanks, after `=` (no comment: see below). Its
//!   span is the empty range just after the `=`, so a sealed empty value is
//!   written as `KEY=<token>` and opens back to `KEY=`.
//!
//! **No expansion.** Values are taken literally, and so a `$` is allowed only
//! where no loader expands it: inside single quotes, and not followed by `{`
//! (see below). `dotenvy` expands `$NAME` and `${NAME}` in unquoted and
//! double-quoted values and drops any other `$` there; `python-dotenv` expands
//! `${NAME}` everywhere, single quotes included.
//!
//! # What is refused
//!
//! Loaders disagree on some spellings, and a value that one loader reads one way
//! and another reads another way is refused rather than guessed at, so that
//! `cachet get` never shows something the application does not see and no text
//! can be one value to cachet and two lines to a loader:
//!
//! - a quote or backslash inside an unquoted value (`dotenvy` treats them as
//!   quoting and escapes, most other loaders take them literally);
//! - a `$` in an unquoted or a double-quoted value (`dotenvy` expands or drops
//!   it, `python-dotenv` expands `${…}`, Node takes it literally): single-quote
//!   the value;
//! - `${` inside single quotes (`python-dotenv` expands it even there, the others
//!   do not): such a value cannot be written in a `.env` file at all;
//! - in double quotes, any escape but `\n`, `\\`, `\"` and `\'`: `\t` and `\r`
//!   are errors to `dotenvy` and decoded by Python, `\$` and `\` before a space
//!   are decoded by `dotenvy` and kept by Python, `\a`, `\b`, `\f` and `\v` are
//!   decoded by Python only;
//! - a backslash right before the closing quote, in either quoting (`"x\\"`,
//!   `'x\'`): Python and Node match a quoted value with `"((?:\\"|[^"])*)"`, read
//!   that quote as escaped, and run on to the next quote, lines later, so the
//!   text between would be one value to cachet and other keys to them;
//! - an unquoted value that starts with `#` (`dotenvy` and Node read an empty value
//!   and a comment, Python and Docker the text) or with a backtick (Node quotes);
//! - a `#` inside an unquoted value (`KEY=a#b` is `a#b` to `dotenvy` and Python,
//!   `a` to Node, whose comments start at any `#`): quote the value;
//! - a comment after an empty value, `KEY= # c` (empty to `dotenvy` and Node,
//!   `# c` to Python): write `KEY=` alone, or `KEY="" # c`;
//! - text right after a closing quote, a comment included (`"a"#b` is `a#b` to
//!   `dotenvy`, `a` to Python);
//! - `\'` inside single quotes (the end of the value to `dotenvy`'s value parser,
//!   an escaped quote to its line reader and to Python), and `\\` inside single
//!   quotes (one backslash to Python, two to the others);
//! - a CR outside quotes that is not followed by LF (a line break to Node and to
//!   Python, part of the value to `dotenvy`);
//! - any other white space outside quotes and comments than space and tab (a
//!   no-break space, a form feed, a byte order mark past the start): `dotenvy`
//!   trims some of it and keeps some of it in the value, depending on where it is.
//!
//! Errors name a line and a column and never quote the file: a value may be a
//! secret.
//!
//! # Values that cannot be written
//!
//! `set` writes a value unquoted when it holds only characters every loader
//! reads literally (letters, digits and `_ . / : @ % + , = -`); else in single
//! quotes when it holds a `$` (and no `'`, `\` or CR); else in double quotes,
//! escaping only `\n`, `\\` and `\"`. `representable` says which values no
//! spelling carries to every loader alike, and why:
//!
//! - a CR anywhere (no escape for it is shared, and a bare one is a line break
//!   to some loaders or turned into a line feed by them);
//! - `${` anywhere (Python expands it in every quoting);
//! - a `$` together with a `'` or a `\` (the `$` needs single quotes, which
//!   cannot hold those);
//! - a `\` at the very end of a value that needs quotes (it would stand right
//!   before the closing quote).
//!
//! # Sealed values
//!
//! A token is written bare, `KEY=cachet:v1:…` (it needs no quotes), in place of
//! the value's span, quotes included. The path of a value is its key, one
//! segment. `set` appends `KEY=<token>` as the file's last line (before it, when
//! the file ends with an empty value and no line break, whose empty span sits
//! at the very end of the file).
//!
//! Two consequences of the spans, both of which refuse rather than misread:
//!
//! - A token standing for an empty value opens only where an empty value's span
//!   is, right after the `=`. cachet writes it there; if blanks are added between
//!   the `=` and such a token by hand, opening it fails the re-parse check.
//! - A quoted value may span lines, as `dotenvy`, Python and Node read it; a
//!   loader that takes every line as `KEY=value` on its own (`docker run
//!   --env-file`) would read its later lines as other keys. Keep multi-line
//!   values out of files such loaders read.

use std::collections::HashSet;
use std::ops::Range;

use zeroize::Zeroizing;

use super::FormatError;
use super::{Format, Node, NodeKind, NodeSink, ScalarType, line_column};
use crate::path::{Segment, ValuePath};

/// White space within a line.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// White space that is neither a blank nor part of a line end: refused outside
/// quotes and comments.
fn is_odd_space(c: char) -> bool {
    (c.is_whitespace() || c == '\u{feff}') && !matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_key_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Whether `k` is a key a `.env` line can assign.
pub(crate) fn is_key(k: &str) -> bool {
    k.chars().next().is_some_and(is_key_start) && k.chars().all(is_key_char)
}

/// Characters every loader reads literally in an unquoted value.
fn is_plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '=' | '-')
}

/// Whether `s` can be written as an unquoted value and read back as exactly `s`.
fn is_plain(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_plain_char)
}

/// The length of the byte order mark at the start of `text`, if it has one.
fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') { 3 } else { 0 }
}

/// One value: its text's span and its decoded content.
struct Value {
    span: Range<usize>,
    string: Zeroizing<String>,
}

struct Scanner<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Scanner<'t> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn error(&self, at: usize, message: impl Into<String>) -> FormatError {
        let (line, mut column) = line_column(self.text, at);
        // A byte order mark is not a column anyone sees.
        if line == 1 && bom_len(self.text) > 0 && at >= 3 {
            column -= 1;
        }
        FormatError::Parse {
            format: Format::Env,
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at the current position: `message`, or, when an odd white space
    /// character stands there, what is wrong with it.
    fn unexpected(&self, message: &str) -> FormatError {
        if self.peek().is_some_and(is_odd_space) {
            return self.odd_space();
        }
        self.error(self.pos, message)
    }

    fn odd_space(&self) -> FormatError {
        self.error(
            self.pos,
            "white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
        )
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek().filter(|&c| is_blank(c)) {
            self.pos += c.len_utf8();
        }
    }

    fn lone_cr(&self) -> FormatError {
        self.error(
            self.pos,
            "a carriage return outside quotes must be followed by a line feed (some loaders read it as a line break)",
        )
    }

    /// Consumes the end of a line (LF, CR LF, or the end of the text) and says
    /// whether there was one here.
    fn end_of_line(&mut self) -> Result<bool, FormatError> {
        match self.peek() {
            None => Ok(true),
            Some('\n') => {
                self.pos += 1;
                Ok(true)
            }
            Some('\r') if self.text[self.pos + 1..].starts_with('\n') => {
                self.pos += 2;
                Ok(true)
            }
            Some('\r') => Err(self.lone_cr()),
            Some(_) => Ok(false),
        }
    }

    /// Skips a comment, from its `#` to the end of the line.
    fn comment(&mut self) -> Result<(), FormatError> {
        let rest = &self.text[self.pos..];
        self.pos += rest.find(['\n', '\r']).unwrap_or(rest.len());
        self.end_of_line().map(|_| ())
    }

    /// The rest of a line after a value: blanks, an optional comment (after at
    /// least one blank), and the end of the line.
    fn finish_line(&mut self) -> Result<(), FormatError> {
        let value_end = self.pos;
        self.skip_blanks();
        match self.peek() {
            Some('#') if self.pos > value_end => self.comment(),
            Some('#') => Err(self.error(
                self.pos,
                "a comment must be separated from the value by a space",
            )),
            _ if self.end_of_line()? => Ok(()),
            _ => Err(self.unexpected(
                "unexpected text after the closing quote; only a comment may follow a quoted value",
            )),
        }
    }

    /// A key at the current position, if one starts here.
    fn key(&mut self) -> Option<&'t str> {
        let start = self.pos;
        if !self.peek().is_some_and(is_key_start) {
            return None;
        }
        let rest = &self.text[start..];
        self.pos += rest.find(|c: char| !is_key_char(c)).unwrap_or(rest.len());
        Some(&self.text[start..self.pos])
    }

    /// One assignment line, from its key to the end of the line: the key, where it
    /// starts, and the value.
    fn assignment(&mut self) -> Result<(&'t str, usize, Value), FormatError> {
        let mut key_at = self.pos;
        let mut key = self.key().ok_or_else(|| {
            self.unexpected(
                "expected KEY=value, a comment (#) or a blank line; a key starts with a letter or _",
            )
        })?;
        if key == "export" && self.peek().is_some_and(is_blank) {
            self.skip_blanks();
            if self.peek() != Some('=') {
                key_at = self.pos;
                key = self.key().ok_or_else(|| {
                    self.unexpected(
                        "expected a key after `export`; a key starts with a letter or _",
                    )
                })?;
            }
        }
        self.skip_blanks();
        if self.peek() != Some('=') {
            return Err(self.unexpected(
                "expected '=' after the key (a key holds only letters, digits, _ . and -)",
            ));
        }
        self.pos += 1;
        let after_eq = self.pos;
        self.skip_blanks();
        let value = match self.peek() {
            None | Some('\n' | '\r') => self.empty(after_eq),
            Some('#') if self.pos > after_eq => {
                return Err(self.error(
                    self.pos,
                    "a comment after an empty value is read as the value by some loaders; write KEY= alone, or KEY=\"\" before the comment",
                ));
            }
            Some('#') => {
                return Err(self.error(
                    self.pos,
                    "a value cannot start with '#' (loaders disagree on it); quote the value, or put a space before a comment",
                ));
            }
            Some('`') => {
                return Err(self.error(
                    self.pos,
                    "a value cannot start with a backtick (loaders disagree on it); use single or double quotes",
                ));
            }
            Some('"') => self.double_quoted()?,
            Some('\'') => self.single_quoted()?,
            Some(_) => self.unquoted()?,
        };
        self.finish_line()?;
        Ok((key, key_at, value))
    }

    /// The empty value: an empty span just after the `=`.
    fn empty(&mut self, after_eq: usize) -> Value {
        self.pos = after_eq;
        Value {
            span: after_eq..after_eq,
            string: Zeroizing::new(String::new()),
        }
    }

    fn unquoted(&mut self) -> Result<Value, FormatError> {
        let start = self.pos;
        let mut end = start;
        let mut after_blank = false;
        while let Some(c) = self.peek() {
            match c {
                '\n' | '\r' => break,
                '#' if after_blank => break,
                '#' => {
                    return Err(self.error(
                        self.pos,
                        "a # inside an unquoted value starts a comment to some loaders; put the value in quotes",
                    ));
                }
                '"' | '\'' | '\\' => {
                    return Err(self.error(
                        self.pos,
                        "a quote or backslash in an unquoted value (loaders disagree on it); put the whole value in quotes",
                    ));
                }
                '$' => return Err(self.dollar(self.pos)),
                c if is_odd_space(c) => return Err(self.odd_space()),
                _ => {}
            }
            self.pos += c.len_utf8();
            after_blank = is_blank(c);
            if !after_blank {
                end = self.pos;
            }
        }
        self.pos = end;
        Ok(Value {
            span: start..end,
            string: Zeroizing::new(self.text[start..end].to_string()),
        })
    }

    /// Finds the closing `quote` of a value opening at the current position,
    /// skipping over backslash pairs; returns the offset of the closing quote.
    /// Refuses a backslash right before the closing quote, and `\\` and `\'`
    /// inside single quotes.
    fn closing(&self, quote: char) -> Result<usize, FormatError> {
        let open = self.pos;
        let mut chars = self.text[open + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            let at = open + 1 + i;
            if c == quote {
                if self.text[..at].ends_with('\\') {
                    return Err(self.error(
                        at - 1,
                        "a backslash right before a closing quote is read differently by different loaders (some read an escaped quote and go on to the next one)",
                    ));
                }
                return Ok(at);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, '\'')) if quote == '\'' => {
                        return Err(self.error(
                            at,
                            "a backslash before a quote inside single quotes is read differently by different loaders; use double quotes",
                        ));
                    }
                    Some((_, '\\')) if quote == '\'' => {
                        return Err(self.error(
                            at,
                            "two backslashes inside single quotes are read as one by some loaders; use double quotes",
                        ));
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        }
        let which = if quote == '"' { "double" } else { "single" };
        Err(self.error(
            open,
            format!("unterminated {which}-quoted value: no closing {quote}"),
        ))
    }

    /// The error for a `$` where some loader expands it.
    fn dollar(&self, at: usize) -> FormatError {
        self.error(
            at,
            "a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
        )
    }

    fn single_quoted(&mut self) -> Result<Value, FormatError> {
        let open = self.pos;
        let close = self.closing('\'')?;
        let body = &self.text[open + 1..close];
        if let Some(i) = body.find("${") {
            return Err(self.error(
                open + 1 + i,
                "${ is expanded by some loaders even inside single quotes; a .env value cannot hold it",
            ));
        }
        self.pos = close + 1;
        Ok(Value {
            span: open..self.pos,
            string: Zeroizing::new(body.to_string()),
        })
    }

    fn double_quoted(&mut self) -> Result<Value, FormatError> {
        let open = self.pos;
        let close = self.closing('"')?;
        let body = &self.text[open + 1..close];
        // Every escape is two characters for one, so the content is never longer
        // than the body: one allocation, no copy of a secret left behind by growth.
        let mut out = Zeroizing::new(String::with_capacity(body.len()));
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '$' => return Err(self.dollar(open + 1 + i)),
                '\\' => {}
                c => {
                    out.push(c);
                    continue;
                }
            }
            // `closing` skipped backslash pairs, so one always follows.
            match chars.next().map(|(_, e)| e) {
                Some('n') => out.push('\n'),
                Some(e @ ('"' | '\\' | '\'')) => out.push(e),
                _ => {
                    return Err(self.error(
                        open + 1 + i,
                        "unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
                    ));
                }
            }
        }
        self.pos = close + 1;
        Ok(Value {
            span: open..self.pos,
            string: out,
        })
    }
}

/// Every node of the document: the root table and one scalar per assignment.
pub(crate) fn scan(text: &str) -> Result<Vec<Node>, FormatError> {
    let mut nodes = Vec::new();
    scan_into(text, &mut nodes)?;
    Ok(nodes)
}

/// Gives every node of the document to `sink`, in document order.
pub(crate) fn scan_into(text: &str, sink: &mut impl NodeSink) -> Result<(), FormatError> {
    let mut s = Scanner {
        text,
        pos: bom_len(text),
    };
    sink.node(Node {
        document: 0,
        path: ValuePath::root(),
        kind: NodeKind::Table,
        span: 0..0,
    });
    // Each key assigned so far (where it was is found again only for an error:
    // a position per key would make this set half as large again).
    let mut seen: HashSet<&str> = HashSet::new();
    loop {
        s.skip_blanks();
        match s.peek() {
            None => break,
            Some('#') => s.comment()?,
            Some('\n' | '\r') => {
                s.end_of_line()?;
            }
            Some(_) => {
                let (key, key_at, value) = s.assignment()?;
                if !seen.insert(key) {
                    let first = first_line_of(&text[..key_at], key);
                    return Err(s.error(
                        key_at,
                        format!("duplicate key {key} (first set on line {first})"),
                    ));
                }
                sink.node(Node {
                    document: 0,
                    path: ValuePath::from_segments(vec![Segment::Key(key.to_string())]),
                    kind: NodeKind::Scalar {
                        string: Some(value.string),
                    },
                    span: value.span,
                });
            }
        }
    }
    Ok(())
}

/// The line on which `key` is first assigned in `before`, the part of a document
/// before a second assignment of it (which parses: it ends where a line begins).
fn first_line_of(before: &str, key: &str) -> usize {
    /// Keeps where the key is first assigned.
    struct First<'k> {
        key: &'k str,
        at: Option<usize>,
    }
    impl NodeSink for First<'_> {
        fn node(&mut self, node: Node) {
            if self.at.is_none()
                && node.path.name() == Some(self.key)
                && node.path.segments().len() == 1
            {
                self.at = Some(node.span.start);
            }
        }
    }
    let mut first = First { key, at: None };
    let _ = scan_into(before, &mut first);
    line_column(before, first.at.unwrap_or(0)).0
}

/// Why no `.env` spelling of `s` reads as `s` to every loader, if none does (see
/// the module docs): `set` must refuse such a value, as [`string_literal`]
/// cannot write it.
pub(crate) fn representable(s: &str) -> Result<(), &'static str> {
    if s.contains('\r') {
        return Err(
            "a carriage return cannot be written in a .env file so that every loader reads it (some turn it into a line feed)",
        );
    }
    if s.contains("${") {
        return Err(
            "${ cannot be written in a .env file: some loaders expand it in every kind of quotes",
        );
    }
    if s.contains('$') && s.contains(['\'', '\\']) {
        return Err(
            "a value with a $ must be single-quoted in a .env file (loaders expand it elsewhere), and single quotes cannot hold ' or \\",
        );
    }
    if !is_plain(s) && s.ends_with('\\') {
        return Err(
            "a value ending with a backslash cannot be quoted in a .env file so that every loader reads it (some read an escaped closing quote)",
        );
    }
    Ok(())
}

/// The text of a value holding `s`: unquoted when every loader reads it literally;
/// else single-quoted when it holds a `$` (no loader expands `$` in single quotes
/// but `${`); else double-quoted, escaping `"`, `\` and LF.
///
/// When [`representable`] refuses `s`, the text returned is one that [`scan`]
/// refuses too: it never reads as another value, and a token sealed from it does
/// not open.
pub(crate) fn string_literal(s: &str) -> Zeroizing<String> {
    if is_plain(s) {
        return Zeroizing::new(s.to_string());
    }
    let mut out = Zeroizing::new(String::with_capacity(2 * s.len() + 2));
    if s.contains('$') && representable(s).is_ok() {
        // No `'`, `\`, CR or `${`: single quotes hold it literally for every loader.
        out.push('\'');
        out.push_str(s);
        out.push('\'');
        return out;
    }
    // When `representable` refuses `s`, `scan` refuses this text: a `$` in double
    // quotes, a CR written `\r` (no escape cachet reads), or a `\` escape right
    // before the closing quote.
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `raw` is unquoted text of type `ty`. Every `.env` value is a string to
/// the program that reads it; the types only check what `set` is given.
pub(crate) fn typed_literal(ty: ScalarType, raw: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match ty {
        ScalarType::String => is_single_scalar(raw),
        ScalarType::Int => digits(raw.strip_prefix('-').unwrap_or(raw)),
        ScalarType::Float => {
            is_plain(raw) && raw.bytes().any(|b| b.is_ascii_digit()) && raw.parse::<f64>().is_ok()
        }
        ScalarType::Bool => raw == "true" || raw == "false",
    }
}

/// Whether `raw` is exactly one value as it could stand after `KEY=`, and nothing
/// else: no second line, comment, or white space around it.
pub(crate) fn is_single_scalar(raw: &str) -> bool {
    let text = Zeroizing::new(format!("X={raw}\n"));
    scan(&text).is_ok_and(|nodes| nodes.len() == 2 && nodes[1].span == (2..2 + raw.len()))
}

/// Where and what to insert so that `KEY=literal` exists: a new line at the end of
/// the file.
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
    let [Segment::Key(key)] = path.segments() else {
        return Err(cannot(
            "a .env file holds only top-level KEY=value lines; name one key",
        ));
    };
    if !is_key(key) {
        return Err(cannot(
            "not a .env key: a key starts with a letter or _ and holds only letters, digits, _ . and -",
        ));
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut add = Zeroizing::new(String::with_capacity(key.len() + literal.len() + 4));
    let mut at = text.len();
    if !text.is_empty() && !text.ends_with('\n') {
        if nodes.iter().any(|n| n.is_scalar() && n.span == (at..at)) {
            // The file ends with `OTHER=`: its empty value sits at the very end, and
            // an insertion there would read as a change of that value. The new line
            // goes before that last line instead.
            at = text.rfind('\n').map_or(bom_len(text), |i| i + 1);
        } else {
            add.push_str(nl);
        }
    }
    add.push_str(key);
    add.push('=');
    add.push_str(literal);
    add.push_str(nl);
    Ok((at, add))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every assignment as (key, value text, decoded content).
    fn values(text: &str) -> Vec<(String, String, String)> {
        let nodes = scan(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(nodes[0].path.is_root() && matches!(nodes[0].kind, NodeKind::Table));
        nodes[1..]
            .iter()
            .map(|n| {
                let [Segment::Key(k)] = n.path.segments() else {
                    panic!("{:?}", n.path)
                };
                (
                    k.clone(),
                    text[n.span.clone()].to_string(),
                    n.string().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn one(text: &str) -> (String, String) {
        let v = values(text);
        assert_eq!(v.len(), 1, "{text:?}");
        (v[0].1.clone(), v[0].2.clone())
    }

    fn err(text: &str) -> String {
        match scan(text) {
            Ok(_) => panic!("{text:?} should not scan"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn lines_comments_blanks_and_export() {
        let text = "\u{feff}# top\n\n  \t\nA=1\n  B = two  \nexport C=3\nexport   D =4 # c\n\
                    export=5\nexportE=6\nF.G-h_9=7\n   # indented\u{a0}comment\n";
        let v = values(text);
        let keys: Vec<&str> = v.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(keys, ["A", "B", "C", "D", "export", "exportE", "F.G-h_9"]);
        let texts: Vec<&str> = v.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(texts, ["1", "two", "3", "4", "5", "6", "7"]);
        assert!(values("").is_empty());
        assert!(values("# only\n\n").is_empty());
    }

    #[test]
    fn unquoted_values() {
        for (text, raw) in [
            ("K=v", "v"),
            ("K=v\n", "v"),
            ("K=v\r\n", "v"),
            ("K=v  \t\r\n", "v"),
            ("K=a b  c", "a b  c"),
            ("K=a #b", "a"),
            ("K=a\t# b", "a"),
            ("K=a==b", "a==b"),
            ("K==a", "=a"),
            (
                "K=postgres://u:p%40ss@h:5432/db?x=1&y=2",
                "postgres://u:p%40ss@h:5432/db?x=1&y=2",
            ),
            ("K=a # $HOME ${X}", "a"),
            ("K=héllo wörld ", "héllo wörld"),
        ] {
            assert_eq!(one(text), (raw.to_string(), raw.to_string()), "{text:?}");
        }
    }

    #[test]
    fn quoted_values() {
        for (text, raw, content) in [
            ("K='a b'", "'a b'", "a b"),
            ("K='a\\nb $X \"q\"'", "'a\\nb $X \"q\"'", "a\\nb $X \"q\""),
            ("K='a\\b'", "'a\\b'", "a\\b"),
            ("K='a\\n\\\"'", "'a\\n\\\"'", "a\\n\\\""),
            (
                "K='$HOME $ $$ {x} $'",
                "'$HOME $ $$ {x} $'",
                "$HOME $ $$ {x} $",
            ),
            ("K='C:\\path' # c", "'C:\\path'", "C:\\path"),
            ("K='line1\nline2'\n", "'line1\nline2'", "line1\nline2"),
            (
                "K='line1\r\nline2'\r\n",
                "'line1\r\nline2'",
                "line1\r\nline2",
            ),
            ("K=''", "''", ""),
            ("K=\"\"", "\"\"", ""),
            ("K=\"a b\"  ", "\"a b\"", "a b"),
            (
                "K=\"\\n\\\"\\\\\\' x\\\\n\"",
                "\"\\n\\\"\\\\\\' x\\\\n\"",
                "\n\"\\' x\\n",
            ),
            ("K=\"a\\\"\"", "\"a\\\"\"", "a\""),
            ("K=\"a\\\\b\"", "\"a\\\\b\"", "a\\b"),
            ("K=\"it's\"", "\"it's\"", "it's"),
            ("K=\"a\nb\" # c\n", "\"a\nb\"", "a\nb"),
            ("K=\"a\rb\"", "\"a\rb\"", "a\rb"),
            ("K=\"a # b\"", "\"a # b\"", "a # b"),
            ("K = \t'x'", "'x'", "x"),
            (
                "K='\u{a0}\u{feff}\u{c}' # \u{a0}",
                "'\u{a0}\u{feff}\u{c}'",
                "\u{a0}\u{feff}\u{c}",
            ),
        ] {
            assert_eq!(
                one(text),
                (raw.to_string(), content.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn empty_values_are_empty_spans_after_the_equals_sign() {
        for text in ["K=", "K=\n", "K=   \n", "K=\r\n", "export K= "] {
            let nodes = scan(text).unwrap();
            assert_eq!(nodes.len(), 2, "{text:?}");
            let at = text.find('=').unwrap() + 1;
            assert_eq!(nodes[1].span, at..at, "{text:?}");
            assert_eq!(nodes[1].string(), Some(""));
        }
    }

    #[test]
    fn spans_are_exact_in_a_whole_file() {
        let text = "# c\r\nA=1\r\nB=\"x\r\ny\" # c\r\n\r\nC=\r\nexport D = 'd'\r\n";
        let nodes = scan(text).unwrap();
        let spans: Vec<_> = nodes.iter().map(|n| n.span.clone()).collect();
        assert_eq!(spans, [0..0, 7..8, 12..18, 28..28, 41..44]);
    }

    #[test]
    fn errors_name_the_place_and_never_the_text() {
        for (text, want) in [
            (
                "A=1\nnot a line\n",
                "line 2, column 5: invalid .env: expected '=' after the key (a key holds only letters, digits, _ . and -)",
            ),
            (
                "1A=x\n",
                "line 1, column 1: invalid .env: expected KEY=value, a comment (#) or a blank line; a key starts with a letter or _",
            ),
            (
                "=secret\n",
                "line 1, column 1: invalid .env: expected KEY=value, a comment (#) or a blank line; a key starts with a letter or _",
            ),
            (
                "export 9=x\n",
                "line 1, column 8: invalid .env: expected a key after `export`; a key starts with a letter or _",
            ),
            (
                "KEY\n",
                "line 1, column 4: invalid .env: expected '=' after the key (a key holds only letters, digits, _ . and -)",
            ),
            (
                "A=1\n  PASSWORD=\"hunter2\n",
                "line 2, column 12: invalid .env: unterminated double-quoted value: no closing \"",
            ),
            (
                "P='hunter2",
                "line 1, column 3: invalid .env: unterminated single-quoted value: no closing '",
            ),
            (
                "P=\"hunter2\\",
                "line 1, column 3: invalid .env: unterminated double-quoted value: no closing \"",
            ),
            (
                "P=\"hun\\qter2\"",
                "line 1, column 7: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            (
                "P=\"hun\\tter2\"",
                "line 1, column 7: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            (
                "P=\"hunter2\\r\"",
                "line 1, column 11: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            (
                "P=\"hunter\\$2\"",
                "line 1, column 10: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            (
                "P=\"hunter\\ 2\"",
                "line 1, column 10: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            (
                "P=\"hunter\\a2\"",
                "line 1, column 10: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            (
                "P=\"hunter2\\\n\"",
                "line 1, column 11: invalid .env: unsupported escape in a double-quoted value (loaders disagree on the others); the escapes are \\n \\\\ \\\" and \\'",
            ),
            // The forgery of the review: `"x\\"` then a value `"` LF `EVIL=1` LF `"`
            // is two values to cachet and EVIL=1 to Python and Node.
            (
                "A=\"hunter2\\\\\"\nB=\"\nEVIL=1\n\"\n",
                "line 1, column 12: invalid .env: a backslash right before a closing quote is read differently by different loaders (some read an escaped quote and go on to the next one)",
            ),
            (
                "P=\"\\\\\"",
                "line 1, column 5: invalid .env: a backslash right before a closing quote is read differently by different loaders (some read an escaped quote and go on to the next one)",
            ),
            (
                "P=\"hunter2\\\"\\\\\" # c",
                "line 1, column 14: invalid .env: a backslash right before a closing quote is read differently by different loaders (some read an escaped quote and go on to the next one)",
            ),
            (
                "P='hunter2\\\\'\nB='\nEVIL=1\n'\n",
                "line 1, column 11: invalid .env: two backslashes inside single quotes are read as one by some loaders; use double quotes",
            ),
            (
                "P='hun\\\\ter2'",
                "line 1, column 7: invalid .env: two backslashes inside single quotes are read as one by some loaders; use double quotes",
            ),
            (
                "P='hunter2\\'",
                "line 1, column 11: invalid .env: a backslash before a quote inside single quotes is read differently by different loaders; use double quotes",
            ),
            (
                "P=hunter$2",
                "line 1, column 9: invalid .env: a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
            ),
            (
                "P=pa$$hunter2 # c",
                "line 1, column 5: invalid .env: a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
            ),
            (
                "P=${hunter2}",
                "line 1, column 3: invalid .env: a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
            ),
            (
                "P=hunter2$",
                "line 1, column 10: invalid .env: a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
            ),
            (
                "P=\"hunter2 $\"",
                "line 1, column 12: invalid .env: a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
            ),
            (
                "P=\"a\nhunter2 ${X}\"",
                "line 2, column 9: invalid .env: a $ outside single quotes is expanded or dropped by some loaders; put the value in single quotes",
            ),
            (
                "P=hunter#2",
                "line 1, column 9: invalid .env: a # inside an unquoted value starts a comment to some loaders; put the value in quotes",
            ),
            (
                "P= # hunter2",
                "line 1, column 4: invalid .env: a comment after an empty value is read as the value by some loaders; write KEY= alone, or KEY=\"\" before the comment",
            ),
            (
                "export P =\t\t#hunter2\n",
                "line 1, column 13: invalid .env: a comment after an empty value is read as the value by some loaders; write KEY= alone, or KEY=\"\" before the comment",
            ),
            (
                "P='hunter2 ${X}'",
                "line 1, column 12: invalid .env: ${ is expanded by some loaders even inside single quotes; a .env value cannot hold it",
            ),
            (
                "P='hunter2\n${'",
                "line 2, column 1: invalid .env: ${ is expanded by some loaders even inside single quotes; a .env value cannot hold it",
            ),
            (
                "P=\"hunter2\" extra",
                "line 1, column 13: invalid .env: unexpected text after the closing quote; only a comment may follow a quoted value",
            ),
            (
                "P='hunter2'x",
                "line 1, column 12: invalid .env: unexpected text after the closing quote; only a comment may follow a quoted value",
            ),
            (
                "P=\"hunter2\"# c",
                "line 1, column 12: invalid .env: a comment must be separated from the value by a space",
            ),
            (
                "P=hun'ter2",
                "line 1, column 6: invalid .env: a quote or backslash in an unquoted value (loaders disagree on it); put the whole value in quotes",
            ),
            (
                "P=hunter\\2",
                "line 1, column 9: invalid .env: a quote or backslash in an unquoted value (loaders disagree on it); put the whole value in quotes",
            ),
            (
                "P=#hunter2",
                "line 1, column 3: invalid .env: a value cannot start with '#' (loaders disagree on it); quote the value, or put a space before a comment",
            ),
            (
                "P=`hunter2`",
                "line 1, column 3: invalid .env: a value cannot start with a backtick (loaders disagree on it); use single or double quotes",
            ),
            (
                "P='hunter\\'2'",
                "line 1, column 10: invalid .env: a backslash before a quote inside single quotes is read differently by different loaders; use double quotes",
            ),
            (
                "P=hunter2\rQ=1\n",
                "line 1, column 10: invalid .env: a carriage return outside quotes must be followed by a line feed (some loaders read it as a line break)",
            ),
            (
                "# hunter2\rQ=1\n",
                "line 1, column 10: invalid .env: a carriage return outside quotes must be followed by a line feed (some loaders read it as a line break)",
            ),
            (
                "\r",
                "line 1, column 1: invalid .env: a carriage return outside quotes must be followed by a line feed (some loaders read it as a line break)",
            ),
            (
                "P=hunter2\u{a0}",
                "line 1, column 10: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "P=hun\u{3000}ter2",
                "line 1, column 6: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "P=\u{a0}hunter2",
                "line 1, column 3: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "P=\"hunter2\"\u{a0}# c",
                "line 1, column 12: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "P\u{c}=hunter2",
                "line 1, column 2: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "A=1\n\u{feff}P=hunter2",
                "line 2, column 1: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "export\t\u{85}P=hunter2",
                "line 1, column 8: invalid .env: white space other than space or tab outside quotes (loaders disagree on it); remove it or quote the value",
            ),
            (
                "\u{feff}P=\"hunter2",
                "line 1, column 3: invalid .env: unterminated double-quoted value: no closing \"",
            ),
            (
                "A=1\n\nexport A=2\n",
                "line 3, column 8: invalid .env: duplicate key A (first set on line 1)",
            ),
            (
                "AB=1\n# A=0\nB=\"\nA=\"\nexport A=2\nA=3\n",
                "line 6, column 1: invalid .env: duplicate key A (first set on line 5)",
            ),
        ] {
            assert_eq!(err(text), want, "{text:?}");
            assert!(!want.contains("hunter"));
        }
    }

    #[test]
    fn single_scalar_literals() {
        for ok in [
            "x",
            "",
            "a b",
            "\"a#b\"",
            "5432",
            "'x'",
            "\"x\"",
            "\"multi\nline\"",
            "'multi\r\nline'",
            "\"a\\nb\"",
            "cachet:v1:AAAA",
            "=x",
            "'$x $ {}'",
            "\"a\\\\b\\\"\\'\"",
            "'a\\b'",
        ] {
            assert!(is_single_scalar(ok), "{ok:?}");
        }
        for bad in [
            "x\nLD_PRELOAD=/tmp/evil.so",
            "x\rLD_PRELOAD=/tmp/evil.so",
            "x\r\nLD_PRELOAD=/tmp/evil.so",
            "\"x\"\nLD_PRELOAD=/tmp/evil.so",
            "x # comment",
            "\"a\" # comment",
            "\"a\" b",
            "\"a\"b",
            " x",
            "x ",
            "x\t",
            "x\n",
            "x\r\n",
            "\n",
            " ",
            " # c",
            "\"unterminated",
            "'unterminated",
            "#x",
            "a#b",
            "a\"b",
            "`x`",
            "\"x\\\\\"",
            "'x\\\\'",
            "'x\\'",
            "'x\\\\y'",
            "$x",
            "a$",
            "\"$x\"",
            "'${x}'",
            "\"\\t\"",
            "\"\\r\"",
            "\"\\$\"",
            "\"\\ \"",
        ] {
            assert!(!is_single_scalar(bad), "{bad:?}");
        }
    }

    #[test]
    fn typed_literals_are_unquoted() {
        assert!(typed_literal(ScalarType::Int, "5432"));
        assert!(typed_literal(ScalarType::Int, "-1"));
        assert!(!typed_literal(ScalarType::Int, "1.0"));
        assert!(!typed_literal(ScalarType::Int, "\"1\""));
        assert!(!typed_literal(ScalarType::Int, ""));
        assert!(!typed_literal(ScalarType::Int, "-"));
        assert!(typed_literal(ScalarType::Float, "0.5"));
        assert!(typed_literal(ScalarType::Float, "-1e-3"));
        assert!(typed_literal(ScalarType::Float, "3"));
        assert!(!typed_literal(ScalarType::Float, "inf"));
        assert!(!typed_literal(ScalarType::Float, "NaN"));
        assert!(!typed_literal(ScalarType::Float, " 1"));
        assert!(typed_literal(ScalarType::Bool, "true"));
        assert!(typed_literal(ScalarType::Bool, "false"));
        assert!(!typed_literal(ScalarType::Bool, "True"));
        assert!(!typed_literal(ScalarType::Bool, "1"));
        assert!(typed_literal(ScalarType::String, "'x'"));
    }

    #[test]
    fn string_literals() {
        for (s, want) in [
            ("abc", "abc"),
            (
                "postgres://u:p%40@h:1/d,c+d=e",
                "postgres://u:p%40@h:1/d,c+d=e",
            ),
            ("", "\"\""),
            ("a b", "\"a b\""),
            ("#x", "\"#x\""),
            ("$HOME", "'$HOME'"),
            ("pa$$word", "'pa$$word'"),
            ("a $x \"q\"\n{y}", "'a $x \"q\"\n{y}'"),
            ("a\"b\\c", "\"a\\\"b\\\\c\""),
            ("\\\"", "\"\\\\\\\"\""),
            ("l1\nl2\n", "\"l1\\nl2\\n\""),
            ("it's\ttab", "\"it's\ttab\""),
            ("{x}", "\"{x}\""),
            ("é", "\"é\""),
        ] {
            assert_eq!(representable(s), Ok(()), "{s:?}");
            let lit = string_literal(s);
            assert_eq!(lit.as_str(), want, "{s:?}");
            assert!(is_single_scalar(&lit), "{s:?}");
        }
    }

    #[test]
    fn values_no_spelling_carries_to_every_loader() {
        let cr = "a carriage return cannot be written in a .env file so that every loader reads it (some turn it into a line feed)";
        let brace =
            "${ cannot be written in a .env file: some loaders expand it in every kind of quotes";
        let dollar = "a value with a $ must be single-quoted in a .env file (loaders expand it elsewhere), and single quotes cannot hold ' or \\";
        let end = "a value ending with a backslash cannot be quoted in a .env file so that every loader reads it (some read an escaped closing quote)";
        for (s, want) in [
            ("a\rb", cr),
            ("l1\r\nl2", cr),
            ("\r", cr),
            ("${X}", brace),
            ("a${", brace),
            ("it's $5", dollar),
            ("C:\\$x", dollar),
            ("\\", end),
            ("a b\\", end),
            ("x\\\\", end),
        ] {
            assert_eq!(representable(s), Err(want), "{s:?}");
            // What `string_literal` makes of it is refused, never misread.
            assert!(!is_single_scalar(&string_literal(s)), "{s:?}");
        }
    }

    fn add(text: &str, path: &str) -> Result<String, FormatError> {
        let nodes = scan(text).unwrap();
        let (at, new) = insert(text, &nodes, &path.parse().unwrap(), "T")?;
        Ok(format!("{}{}{}", &text[..at], new.as_str(), &text[at..]))
    }

    #[test]
    fn new_keys_go_at_the_end() {
        for (text, want) in [
            ("", "K=T\n"),
            ("A=1\n", "A=1\nK=T\n"),
            ("A=1", "A=1\nK=T\n"),
            ("A=1\r\n# c", "A=1\r\n# c\r\nK=T\r\n"),
            ("A=\"x\ny\"", "A=\"x\ny\"\nK=T\n"),
            ("# c\n\n", "# c\n\nK=T\n"),
            // An empty value at the very end keeps its place: the line goes before.
            ("A=1\nB=", "A=1\nK=T\nB="),
            ("B=", "K=T\nB="),
            ("\u{feff}B=", "\u{feff}K=T\nB="),
            ("B= ", "B= \nK=T\n"),
        ] {
            let out = add(text, "K").unwrap();
            assert_eq!(out, want, "{text:?}");
            assert!(scan(&out).is_ok());
        }
        for path in ["a.b", "a[0]", "[0]", "\"1x\"", "\"a b\"", "\"\""] {
            assert!(
                matches!(add("A=1\n", path), Err(FormatError::CannotInsert { .. })),
                "{path}"
            );
        }
    }

    /// A value `string_literal` writes reads back as itself, and one it cannot
    /// write (says `representable`) is written as text `scan` refuses.
    fn string_literal_reads_back(s: &str) -> Result<(), TestCaseError> {
        let lit = string_literal(s);
        prop_assert_eq!(is_single_scalar(&lit), representable(s).is_ok());
        if representable(s).is_ok() {
            let text = format!("K={}\n", lit.as_str());
            let nodes = scan(&text).unwrap();
            prop_assert_eq!(nodes[1].string(), Some(s));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn string_literals_read_back_exactly(s in any::<String>()) {
            string_literal_reads_back(&s)?;
        }

        #[test]
        fn tricky_string_literals_read_back_exactly(s in "[a$'\"\\{}\r\n #=\t]{0,12}") {
            string_literal_reads_back(&s)?;
        }

        #[test]
        fn scan_never_panics(s in any::<String>()) {
            let _ = scan(&s);
            let _ = is_single_scalar(&s);
        }

        #[test]
        fn scan_never_panics_on_dotenv_like_text(s in "[aK_=#'\"\\\\ \t\r\n$`x.-]{0,40}") {
            if let Ok(nodes) = scan(&s) {
                for n in &nodes {
                    prop_assert!(s.get(n.span.clone()).is_some());
                }
            }
        }
    }
}
