//! YAML 1.2: every node of every document of a file with its byte span, found with
//! `saphyr-parser`'s event parser; and the insertion of a new key for `set`.
//!
//! The parser checks the syntax and decodes every scalar; the exact span of each
//! scalar is found here, from the parser's positions and the style of the scalar,
//! because the parser's own spans cover node properties and, for quoted and block
//! scalars, text after the value.
//!
//! Nodes and spans:
//!
//! - Every document of the stream (separated by `---`) has its own index, counted
//!   from 0. Its root is a node with the empty path, as in JSON, so a document
//!   whose root is a scalar has one value. Comments, directives (`%YAML`) and
//!   document markers are not nodes.
//! - A mapping, block or flow, is a table node; only scalar keys are supported, and
//!   a key's segment is its decoded text, so `a`, `'a'` and `"a"` are one key. A
//!   key given twice in one mapping is an error, and so is a complex key
//!   (`? [a, b]`) or an alias used as a key. A sequence is an array node. Flow
//!   collections (`{…}`, `[…]`) have their text as span; block ones have an
//!   empty span, like TOML sections.
//! - A scalar's span is its own text and never its node properties: in
//!   `a: &x !!str value`, the span is `value`, so a token replaces the value and the
//!   anchor and tag stay where they are.
//!   - Plain: from its first to its last non-blank character, over every line of a
//!     multi-line scalar.
//!   - Single- and double-quoted: from the opening to the closing quote, over every
//!     line.
//!   - Literal and folded block scalars (`|`, `>`, with chomping and indentation
//!     indicators): from the indicator through the end of the last line that holds
//!     a non-blank character, without that line's break. A comment on the header
//!     line lies inside the span when there is content, after it when there is
//!     none. Trailing blank lines (which a `|+` scalar keeps in its value) stay
//!     outside the span: after a plain token they are blank lines, and the opened
//!     text is put back before them, so the value is the same byte for byte.
//!   - An empty value (`key:` with nothing after it, or `- ` alone) has no text to
//!     replace, so it is not a node; `set` writes a value after its colon.
//! - A scalar is a string (token candidates are looked for in it) when it is quoted,
//!   a block scalar, or a plain scalar that the YAML 1.2 core schema resolves to
//!   neither null, a boolean, an integer nor a float. Tags do not change this: a
//!   sealed `!!int 5` reads `!!int cachet:…`, and its token must still open.
//!
//! Anchors, aliases and merge keys: an anchor is a property and stays outside the
//! span, so sealing an anchored scalar leaves `&a cachet:…`, every alias `*a`
//! resolves to the token while the file is sealed, and to the opened text once the
//! file is opened, since the text is restored in place. An alias is not a node: it
//! has no text of its own to seal, and `*a` is never accepted as the opened text
//! of a value. A merge key `<<: *base` is therefore a key with no node, and
//! `<<: [*a, *b]` an array node with no elements; a merge key with a mapping
//! written in place (`<<: {a: 1}`) is a table like any other.

use std::collections::HashSet;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};
use zeroize::Zeroizing;

use super::FormatError;
use super::{
    Format, Node, NodeKind, NodeSink, PATHS_TOO_LARGE, PathBudget, ScalarType, line_column,
};
use crate::path::{Segment, ValuePath};

fn error_at(text: &str, offset: usize, message: &str) -> FormatError {
    let (line, column) = line_column(text, offset);
    FormatError::Parse {
        format: Format::Yaml,
        line,
        column,
        message: message.to_string(),
    }
}

/// The parser's description of an error, without any character of the input (one
/// message quotes the offending character).
fn sanitize(info: &str) -> &str {
    let cut = info.find(": `").unwrap_or(info.len());
    info[..cut].trim()
}

/// Turns the parser's positions (in characters) into byte offsets. Positions come
/// nearly in order, so walking from the last one is linear overall.
struct Offsets<'a> {
    text: &'a str,
    chars: usize,
    bytes: usize,
}

impl Offsets<'_> {
    fn byte(&mut self, index: usize) -> usize {
        while self.chars < index {
            match self.text[self.bytes..].chars().next() {
                Some(c) => {
                    self.bytes += c.len_utf8();
                    self.chars += 1;
                }
                None => return self.text.len(),
            }
        }
        while self.chars > index {
            match self.text[..self.bytes].chars().next_back() {
                Some(c) => {
                    self.bytes -= c.len_utf8();
                    self.chars -= 1;
                }
                None => break,
            }
        }
        self.bytes
    }
}

/// What a key of a mapping holds, for `set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// A node (scalar or collection).
    Node,
    /// Nothing (`key:`): the offset just past its `:` when that `:` follows the key
    /// on its line and no tag or anchor stands after it.
    Empty(Option<usize>),
    /// An alias.
    Alias,
}

/// A mapping of the document, as `set` needs it.
#[derive(Debug)]
struct MapInfo {
    document: u32,
    path: ValuePath,
    /// A flow mapping (`{…}`), or a mapping inside a flow collection.
    flow: bool,
    /// The column (in characters) of its first key, if it has one.
    indent: Option<usize>,
    /// The end of its last key or value.
    end: usize,
    /// Whether that last value is a block scalar that keeps its trailing blank
    /// lines (`|+`, `>+`).
    keep_tail: bool,
    keys: Vec<(String, Held)>,
}

enum Frame {
    Root,
    Map {
        map: usize,
        node: Option<usize>,
        expect_key: bool,
        keys: HashSet<String>,
    },
    Seq {
        node: Option<usize>,
        flow: bool,
        next: usize,
    },
}

impl Frame {
    fn flow(&self, maps: &[MapInfo]) -> bool {
        match self {
            Frame::Root => false,
            Frame::Map { map, .. } => maps[*map].flow,
            Frame::Seq { flow, .. } => *flow,
        }
    }
}

/// What one pass over a file finds beside the nodes it gives its sink.
#[derive(Default)]
struct Scan {
    /// Every mapping, when the scan keeps them (for `set`); otherwise only those
    /// still open, so memory does not grow with the number of mappings.
    maps: Vec<MapInfo>,
    documents: u32,
    holes: Vec<Hole>,
}

/// What a scan notes beside the nodes, for reading a document as data
/// ([`crate::document::tree`]): values with no text of their own to seal (so not a
/// [`Node`]), and explicit tags, which change what a value is.
#[derive(Debug)]
pub(crate) struct Hole {
    /// How many nodes came before it, so it can be put back in document order.
    pub at: usize,
    pub document: u32,
    pub path: ValuePath,
    pub kind: HoleKind,
}

/// What a [`Hole`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoleKind {
    /// An empty value (`key:`, `- `, an empty document), which YAML reads as null.
    Empty,
    /// An alias (`*name`).
    Alias,
    /// A node with an explicit tag other than `!!str` on a scalar or `!!map` /
    /// `!!seq` on a collection of that kind (`!!int "5"`, `!!binary`, `!Ref`).
    Tagged,
}

/// Whether `tag` is the core schema's tag `suffix` (`!!str`, `!!map`, `!!seq`).
fn is_core_tag(tag: Option<&saphyr_parser::Tag>, suffix: &str) -> bool {
    tag.is_some_and(|t| t.is_yaml_core_schema() && t.suffix == suffix)
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_to_eol(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
        i += 1;
    }
    i
}

/// Skips white space, line breaks, comments and node properties (`&anchor`,
/// `!tag`, `!<verbatim>`) from `i`: the offset where the node's own text starts.
fn skip_properties(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    loop {
        while i < b.len() && is_blank(b[i]) {
            i += 1;
        }
        match b.get(i) {
            Some(b'#') => i = skip_to_eol(b, i),
            Some(b'!') if b.get(i + 1) == Some(&b'<') => {
                while i < b.len() && b[i] != b'>' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
            }
            Some(b'&' | b'!') => {
                i += 1;
                while i < b.len() && !is_blank(b[i]) && !b",[]{}".contains(&b[i]) {
                    i += 1;
                }
            }
            _ => return i,
        }
    }
}

/// From the end of the previous token, skips what may stand before a block scalar's
/// indicator: indicators of structure (`-`, `?`, `:`), document markers,
/// directives, comments and node properties.
fn skip_to_block_indicator(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    loop {
        let at = i;
        i = skip_properties(text, i);
        let line_start = i == 0 || matches!(b[i - 1], b'\n' | b'\r');
        match b.get(i) {
            Some(b'-' | b'?' | b':' | b',' | b']' | b'}' | b'.') => i += 1,
            Some(b'%') if line_start => i = skip_to_eol(b, i),
            _ if text[i..].starts_with('\u{feff}') => i += 3,
            _ => {}
        }
        if i == at {
            return i;
        }
    }
}

/// The span of a block scalar whose indicator is at `ind`; `end` is where the
/// parser stopped reading it (past its trailing blank lines). Also whether it keeps
/// its trailing line breaks (`+`).
fn block_span(text: &str, ind: usize, end: usize) -> Option<(Range<usize>, bool)> {
    let b = text.as_bytes();
    if !matches!(b.get(ind), Some(b'|' | b'>')) {
        return None;
    }
    let mut h = ind + 1;
    while h < b.len() && h < ind + 3 && b"123456789+-".contains(&b[h]) {
        h += 1;
    }
    let keep = text[ind..h].contains('+');
    // The rest of the header line is blank or a comment.
    let mut c = h;
    while c < b.len() && matches!(b[c], b' ' | b'\t') {
        c += 1;
    }
    if c < b.len() && !matches!(b[c], b'#' | b'\r' | b'\n') {
        return None;
    }
    let line_end = skip_to_eol(b, c);
    let body = text.get(line_end..end.max(line_end))?;
    match body.bytes().rposition(|x| !is_blank(x)) {
        None => Some((ind..h, keep)),
        Some(i) => Some((ind..skip_to_eol(b, line_end + i), keep)),
    }
}

/// The offset just past the closing quote of the quoted scalar starting at `start`.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let quote = *b.get(start)?;
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
            x if x == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The exact span of a scalar. `start..end` is the parser's span, `cursor` the end
/// of the token before it.
fn scalar_span(
    text: &str,
    style: ScalarStyle,
    start: usize,
    end: usize,
    cursor: usize,
) -> Option<(Range<usize>, bool)> {
    match style {
        ScalarStyle::Plain => {
            let s = skip_properties(text, start);
            let t = text.get(s..end)?;
            (!t.is_empty() && !t.ends_with(|c: char| c.is_ascii_whitespace()))
                .then_some((s..end, false))
        }
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let s = skip_properties(text, start);
            let want = if style == ScalarStyle::DoubleQuoted {
                b'"'
            } else {
                b'\''
            };
            if text.as_bytes().get(s) != Some(&want) {
                return None;
            }
            let e = quoted_end(text, s)?;
            (e <= end).then_some((s..e, false))
        }
        ScalarStyle::Literal | ScalarStyle::Folded => {
            let ind = skip_to_block_indicator(text, cursor.min(start));
            let span = block_span(text, ind, end)?;
            // The parser read the scalar up to `end`, past its last content line
            // (a scalar with no content is its header alone).
            (span.0.end <= end || !text[span.0.clone()].contains('\n')).then_some(span)
        }
    }
}

/// How the YAML 1.2 core schema resolves a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolved {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

fn digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() && digits(frac, 10))
                || (digits(int, 10) && (frac.is_empty() || digits(frac, 10)))
        }
        None => digits(mantissa, 10),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

fn resolve(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Resolved::Bool,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float,
        _ => {
            let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits(unsigned, 10)
                || s.strip_prefix("0o").is_some_and(|d| digits(d, 8))
                || s.strip_prefix("0x").is_some_and(|d| digits(d, 16))
            {
                Resolved::Int
            } else if matches!(unsigned, ".inf" | ".Inf" | ".INF") || is_float(s) {
                Resolved::Float
            } else {
                Resolved::Str
            }
        }
    }
}

/// What a loader makes of a plain key that is not a string, as a text no decoded
/// key can be (it starts with NUL): `~` and `null` are one key to a loader, as are
/// `true` and `yes` (YAML 1.1), `1`, `0x1` and `1.0`, though cachet names each by
/// its own text. `None` for a string, and for `.nan` (never equal to itself).
fn key_identity(s: &str) -> Option<String> {
    let id = match resolve(s) {
        Resolved::Null => "null".to_string(),
        Resolved::Bool => format!("bool:{}", s.eq_ignore_ascii_case("true")),
        Resolved::Int | Resolved::Float => {
            let (negative, unsigned) = match s.strip_prefix('-') {
                Some(u) => (true, u),
                None => (false, s.strip_prefix('+').unwrap_or(s)),
            };
            let int = if let Some(h) = s.strip_prefix("0x") {
                i128::from_str_radix(h, 16).ok()
            } else if let Some(o) = s.strip_prefix("0o") {
                i128::from_str_radix(o, 8).ok()
            } else {
                unsigned
                    .parse::<i128>()
                    .ok()
                    .map(|i| if negative { -i } else { i })
            };
            match int {
                Some(i) => format!("num:{i}"),
                None => {
                    let f: f64 = match unsigned.to_ascii_lowercase().as_str() {
                        ".inf" => f64::INFINITY,
                        ".nan" => return None,
                        other => other.parse().ok()?,
                    };
                    let f = if negative { -f } else { f };
                    // 1.0 and 1 are one key to a loader whose numbers compare equal.
                    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 {
                        format!("num:{}", f as i128)
                    } else {
                        format!("num:{f:?}")
                    }
                }
            }
        }
        Resolved::Str => match s {
            "yes" | "Yes" | "YES" | "on" | "On" | "ON" => "bool:true".to_string(),
            "no" | "No" | "NO" | "off" | "Off" | "OFF" => "bool:false".to_string(),
            _ => return None,
        },
    };
    Some(format!("\0{id}"))
}

/// The offset just past the `:` that follows a key ending at `key_end` on its line.
fn colon_after(text: &str, key_end: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = key_end;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

/// The column (in characters) of `offset` on its line.
fn column(text: &str, offset: usize) -> usize {
    let start = text[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    text[start..offset].chars().count()
}

/// Where the value the frame on top of the stack expects goes: pushes its index
/// segment for a sequence. Returns whether the event is a mapping key instead.
fn begin_value(stack: &mut [Frame], path: &mut ValuePath) -> bool {
    match stack.last_mut() {
        Some(Frame::Map { expect_key, .. }) => *expect_key,
        Some(Frame::Seq { next, .. }) => {
            path.push(Segment::Index(*next));
            false
        }
        _ => false,
    }
}

/// The value the frame on top of the stack expected is complete.
fn finish_value(stack: &mut [Frame], path: &mut ValuePath) {
    match stack.last_mut() {
        Some(Frame::Map { expect_key, .. }) => {
            *expect_key = true;
            path.pop();
        }
        Some(Frame::Seq { next, .. }) => {
            *next += 1;
            path.pop();
        }
        _ => {}
    }
}

fn scan_full(text: &str, sink: &mut impl NodeSink, keep_maps: bool) -> Result<Scan, FormatError> {
    let mut offsets = Offsets {
        text,
        chars: 0,
        bytes: 0,
    };
    let mut out = Scan::default();
    // How many nodes the sink has taken: where a hole goes, and a container's index.
    let mut given = 0usize;
    let mut budget = PathBudget::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut path = ValuePath::root();
    // The end of the last scalar, alias or flow collection, and whether that was a
    // block scalar keeping its trailing lines.
    let mut last_end = 0;
    let mut last_keep = false;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let at = offsets.byte(e.marker().index());
            error_at(text, at, sanitize(e.info()))
        })?;
        let start = offsets.byte(span.start.index());
        let end = offsets.byte(span.end.index());
        let document = out.documents.saturating_sub(1);
        let lost = || {
            error_at(
                text,
                start,
                "the parser gave an unexpected position for a value",
            )
        };
        match event {
            Event::DocumentStart(_) => {
                out.documents += 1;
                path = ValuePath::root();
                stack.clear();
                stack.push(Frame::Root);
            }
            Event::DocumentEnd => stack.clear(),
            Event::MappingEnd | Event::SequenceEnd => {
                let flow = stack.last().is_some_and(|f| f.flow(&out.maps));
                let node = match stack.pop() {
                    Some(Frame::Map { map, node, .. }) => {
                        out.maps[map].end = last_end;
                        out.maps[map].keep_tail = last_keep;
                        if !keep_maps {
                            // Maps end in the reverse order they start in: this one
                            // is the last still held.
                            out.maps.truncate(map);
                        }
                        node
                    }
                    Some(Frame::Seq { node, .. }) => node,
                    _ => None,
                };
                if flow {
                    last_end = end;
                    last_keep = false;
                }
                if let Some(n) = node {
                    sink.container_end(n, end);
                }
                finish_value(&mut stack, &mut path);
            }
            Event::Scalar(value, style, anchor, tag) => {
                let in_flow = stack.last().is_some_and(|f| f.flow(&out.maps));
                let is_key = begin_value(&mut stack, &mut path);
                let empty = style == ScalarStyle::Plain && value.is_empty();
                let found = if empty {
                    None
                } else {
                    Some(scalar_span(text, style, start, end, last_end).ok_or_else(lost)?)
                };
                // YAML forbids both, and libyaml (PyYAML, serde_yaml) refuses the
                // file, while saphyr reads them: a file must not be one thing to
                // cachet and another to a common loader (format.md 8.6).
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                if let Some((s, _)) = &found {
                    let plain = style == ScalarStyle::Plain;
                    let why = if block && in_flow {
                        Some("a block scalar (| or >) inside a flow collection [ ] or { }")
                    } else if plain && text[s.clone()].starts_with(['|', '>']) {
                        Some("a plain scalar that begins with | or >")
                    } else if plain && in_flow && text[s.clone()].starts_with([':', '?']) {
                        // YAML 1.2 reads `{a: :x}`; libyaml stops at the `:`.
                        Some("a plain scalar inside [ ] or { } that begins with : or ?")
                    } else if plain && in_flow && text[s.clone()].contains('?') {
                        // PyYAML's own scanner (yaml.safe_load) takes it for a key.
                        Some(
                            "a plain scalar inside [ ] or { } that holds ?, which PyYAML cannot read; quote it",
                        )
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        return Err(error_at(text, s.start, why));
                    }
                }
                if is_key {
                    let Some(Frame::Map {
                        map,
                        expect_key,
                        keys,
                        ..
                    }) = stack.last_mut()
                    else {
                        return Err(lost());
                    };
                    let key = value.into_owned();
                    let at = found.as_ref().map_or(start, |f| f.0.start);
                    if !keys.insert(key.clone()) {
                        return Err(error_at(text, at, "duplicate key in a mapping"));
                    }
                    if style == ScalarStyle::Plain
                        && let Some(id) = key_identity(&key)
                        && !keys.insert(id)
                    {
                        return Err(error_at(
                            text,
                            at,
                            "two keys of a mapping that YAML loaders read as the same null, boolean or number",
                        ));
                    }
                    let info = &mut out.maps[*map];
                    if let Some((s, _)) = &found {
                        if info.indent.is_none() {
                            info.indent = Some(column(text, start.min(s.start)));
                        }
                        last_end = s.end;
                        last_keep = false;
                    }
                    if keep_maps {
                        info.keys.push((key.clone(), Held::Node));
                    }
                    path.push(Segment::Key(key));
                    *expect_key = false;
                    continue;
                }
                let no_text = found.is_none();
                let as_string = is_core_tag(tag.as_deref(), "str");
                let kind = if tag.is_some() && !as_string {
                    HoleKind::Tagged
                } else {
                    HoleKind::Empty
                };
                if kind == HoleKind::Tagged || no_text {
                    out.holes.push(Hole {
                        at: given,
                        document,
                        path: path.clone(),
                        kind,
                    });
                }
                if let Some((s, keep)) = found {
                    let string = (as_string
                        || style != ScalarStyle::Plain
                        || resolve(&value) == Resolved::Str)
                        .then(|| Zeroizing::new(value.into_owned()));
                    last_end = s.end;
                    last_keep = keep;
                    if !budget.take(&path) {
                        return Err(error_at(text, start, PATHS_TOO_LARGE));
                    }
                    sink.node(Node {
                        document,
                        path: path.clone(),
                        kind: NodeKind::Scalar { string },
                        span: s,
                    });
                    given += 1;
                }
                if no_text && let Some(Frame::Map { map, .. }) = stack.last() {
                    let colon = (anchor == 0 && tag.is_none())
                        .then(|| colon_after(text, last_end))
                        .flatten();
                    if let Some(k) = out.maps[*map].keys.last_mut() {
                        k.1 = Held::Empty(colon);
                    }
                }
                finish_value(&mut stack, &mut path);
            }
            Event::Alias(_) => {
                if begin_value(&mut stack, &mut path) {
                    return Err(error_at(
                        text,
                        start,
                        "an alias as a mapping key is not supported",
                    ));
                }
                if let Some(Frame::Map { map, .. }) = stack.last()
                    && let Some(k) = out.maps[*map].keys.last_mut()
                {
                    k.1 = Held::Alias;
                }
                out.holes.push(Hole {
                    at: given,
                    document,
                    path: path.clone(),
                    kind: HoleKind::Alias,
                });
                last_end = end;
                last_keep = false;
                finish_value(&mut stack, &mut path);
            }
            Event::MappingStart(_, ref tag) | Event::SequenceStart(_, ref tag) => {
                let own = if matches!(event, Event::MappingStart(..)) {
                    "map"
                } else {
                    "seq"
                };
                if tag.is_some() && !is_core_tag(tag.as_deref(), own) {
                    out.holes.push(Hole {
                        at: given,
                        document,
                        path: path.clone(),
                        kind: HoleKind::Tagged,
                    });
                }
                if begin_value(&mut stack, &mut path) {
                    return Err(error_at(
                        text,
                        skip_properties(text, start),
                        "a mapping key that is a mapping or a sequence is not supported",
                    ));
                }
                let s = skip_properties(text, start);
                let bracket = matches!(text.as_bytes().get(s), Some(b'{' | b'['));
                let flow = bracket || stack.last().is_some_and(|f| f.flow(&out.maps));
                let is_map = matches!(event, Event::MappingStart(..));
                if !budget.take(&path) {
                    return Err(error_at(text, start, PATHS_TOO_LARGE));
                }
                sink.node(Node {
                    document,
                    path: path.clone(),
                    kind: if is_map {
                        NodeKind::Table
                    } else {
                        NodeKind::Array
                    },
                    span: if bracket { s..s + 1 } else { 0..0 },
                });
                // Only a bracketed collection's span has an end to set.
                let node = bracket.then_some(given);
                given += 1;
                if bracket {
                    last_end = s + 1;
                    last_keep = false;
                }
                stack.push(if is_map {
                    out.maps.push(MapInfo {
                        document,
                        path: path.clone(),
                        flow,
                        indent: None,
                        end: last_end,
                        keep_tail: false,
                        keys: Vec::new(),
                    });
                    Frame::Map {
                        map: out.maps.len() - 1,
                        node,
                        expect_key: true,
                        keys: HashSet::new(),
                    }
                } else {
                    Frame::Seq {
                        node,
                        flow,
                        next: 0,
                    }
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Every node of every document: mappings, sequences and scalars with their spans.
#[cfg(test)]
pub(crate) fn scan(text: &str) -> Result<Vec<Node>, FormatError> {
    let mut nodes = Vec::new();
    scan_into(text, &mut nodes)?;
    Ok(nodes)
}

/// Gives every node of every document to `sink`, in document order.
pub(crate) fn scan_into(text: &str, sink: &mut impl NodeSink) -> Result<(), FormatError> {
    scan_full(text, sink, false).map(drop)
}

/// Every node, with the values that have no node: empty values and aliases.
pub(crate) fn scan_with_holes(text: &str) -> Result<(Vec<Node>, Vec<Hole>), FormatError> {
    let mut nodes = Vec::new();
    let holes = scan_full(text, &mut nodes, false)?.holes;
    Ok((nodes, holes))
}

/// A double-quoted YAML scalar holding `s`.
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
            '\0' => out.push_str("\\0"),
            // U+FFFE and U+FFFF are outside YAML's printable set: libyaml refuses them raw.
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The typed value of a plain scalar that is not a string, as the YAML 1.2 core
/// schema reads it.
pub(crate) fn scalar_value(raw: &str) -> Result<super::Scalar, &'static str> {
    use super::{Scalar, scalar::float_text};
    let unsigned = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    let negative = raw.starts_with('-');
    Ok(match resolve(raw) {
        Resolved::Null => Scalar::Null,
        Resolved::Bool => Scalar::Bool(raw.eq_ignore_ascii_case("true")),
        Resolved::Str => Scalar::String(Zeroizing::new(raw.to_string())),
        Resolved::Int => {
            let radix = [("0o", 8), ("0x", 16)]
                .into_iter()
                .find_map(|(p, r)| raw.strip_prefix(p).map(|d| (d, r)));
            let decimal = match radix {
                Some((digits, radix)) => u128::from_str_radix(digits, radix)
                    .map_err(|_| "is an integer too large to export")?
                    .to_string(),
                None => {
                    let digits = unsigned.trim_start_matches('0');
                    match (digits.is_empty(), negative) {
                        (true, _) => "0".to_string(),
                        (false, true) => format!("-{digits}"),
                        (false, false) => digits.to_string(),
                    }
                }
            };
            Scalar::Integer(Zeroizing::new(decimal))
        }
        Resolved::Float => {
            let f = if unsigned.eq_ignore_ascii_case(".inf") {
                f64::INFINITY
            } else if unsigned.eq_ignore_ascii_case(".nan") {
                f64::NAN
            } else {
                unsigned
                    .parse::<f64>()
                    .map_err(|_| "is a number the export cannot read")?
            };
            Scalar::Float(float_text(if negative { -f } else { f }))
        }
    })
}

/// Whether `raw` is exactly one YAML scalar and nothing else.
///
/// Where a value sits decides what its text may look like (a block scalar's
/// indentation, continuation lines), so the check accepts the text of a value in
/// any of the most permissive places: the value of a top-level key, the root of a
/// document (at its first column or after a tab, where `---` is not a marker), and
/// the element of a top-level flow sequence. Each time
/// `x: <raw>`, `<raw>`, a tab and `<raw>`, or `[<raw>]`, and a line break, is parsed as a
/// whole file: it must be one document holding just that value, a scalar
/// whose span (by the rules of [`scan`]) is exactly `raw`. So no key, line,
/// comment, document, node property, alias or white space can come before or after
/// the value, and no line after the first may be a document marker (`---`, `...`).
/// Every scalar text [`scan`] finds at any depth passes (deeper lines
/// are only more indented). A block scalar's span ends before its last line
/// break, so a text that ends with one is refused: in place, it could never pass
/// the re-parse check.
/// Whether the text fits where the token was is then the re-parse check's part.
fn single_scalar(raw: &str) -> bool {
    // PyYAML's own scanner (yaml.safe_load) ends a plain scalar at a tab and then
    // fails; quoted and block scalars may hold tabs.
    let plain_tab = !raw.starts_with(['"', '\'', '|', '>']) && raw.contains('\t');
    if !portable(raw) || plain_tab {
        return false;
    }
    // A line that is a document marker (`---`, `...`) would end the document
    // wherever the value is, even where a flow sequence would read it as text.
    let marker = raw.split(['\n', '\r']).skip(1).any(|l| {
        (l.starts_with("---") || l.starts_with("..."))
            && l[3..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, ' ' | '\t'))
    });
    if raw.is_empty() || marker {
        return false;
    }
    let fits = |prefix: &str, suffix: &str, want: &[Segment]| {
        let text = Zeroizing::new(format!("{prefix}{raw}{suffix}\n"));
        let mut nodes = Vec::new();
        let Ok(scan) = scan_full(&text, &mut nodes, false) else {
            return false;
        };
        let at = prefix.len();
        let scalars: Vec<&Node> = nodes.iter().filter(|n| n.is_scalar()).collect();
        let containers = nodes.len() - scalars.len();
        let [node] = scalars[..] else {
            return false;
        };
        scan.documents == 1
            && containers == usize::from(!want.is_empty())
            && node.path.segments() == want
            && node.span == (at..at + raw.len())
    };
    fits("x: ", "", &[Segment::Key("x".into())])
        || fits("", "", &[])
        || fits("\t", "", &[])
        || fits("[", "]", &[Segment::Index(0)])
}

/// Whether every character of `raw` means the same to a YAML 1.2 reader (saphyr)
/// and a YAML 1.1 one (libyaml, as PyYAML and serde_yaml use): none that YAML 1.1
/// reads as a line break (U+0085, U+2028, U+2029) and 1.2 as text, and none that
/// either forbids in a stream (control characters but tab, LF and CR; U+FEFF, a
/// byte order mark; U+FFFE, U+FFFF). A value that needs one is written with an
/// escape in a double-quoted scalar (`"\N"`, `"\L"`, `"\P"`, `"\x07"`).
fn portable(raw: &str) -> bool {
    raw.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..)
    })
}

/// Whether `raw` is exactly one plain YAML scalar that resolves to `ty`.
pub(crate) fn typed_literal(ty: ScalarType, raw: &str) -> bool {
    if raw.starts_with(['"', '\'', '|', '>']) || !single_scalar(raw) {
        return false;
    }
    let want = match ty {
        ScalarType::String => Resolved::Str,
        ScalarType::Int => Resolved::Int,
        ScalarType::Float => Resolved::Float,
        ScalarType::Bool => Resolved::Bool,
    };
    resolve(raw) == want
}

/// Whether `raw` is exactly one YAML scalar (see [`single_scalar`]).
pub(crate) fn is_single_scalar(raw: &str) -> bool {
    single_scalar(raw)
}

fn key_text(k: &str) -> Zeroizing<String> {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !k.starts_with('-')
        && resolve(k) == Resolved::Str;
    if plain {
        Zeroizing::new(k.to_string())
    } else {
        string_literal(k)
    }
}

/// The offset where a new line goes after the content of the block mapping `map`:
/// the start of the line after its last value, or after the blank lines a `|+`
/// scalar keeps (the end of the file if there is no line after it).
fn line_after(text: &str, map: &MapInfo) -> usize {
    let b = text.as_bytes();
    let mut at = skip_to_eol(b, map.end);
    if at < b.len() && b[at] == b'\r' && b.get(at + 1) == Some(&b'\n') {
        at += 1;
    }
    at = (at + 1).min(b.len());
    if map.keep_tail {
        loop {
            let eol = skip_to_eol(b, at);
            if eol == at && at == b.len() {
                break;
            }
            if !text[at..eol].bytes().all(|x| matches!(x, b' ' | b'\t')) {
                break;
            }
            at = eol;
            if b.get(at) == Some(&b'\r') {
                at += 1;
            }
            if b.get(at) == Some(&b'\n') {
                at += 1;
            }
        }
    }
    at
}

/// Where and what to insert so that a key that does not exist yet holds `literal`.
///
/// The parent must be a block mapping of the first document (or the first document
/// must hold nothing but comments). Mappings on the way that do not exist yet are
/// created, each two spaces deeper than its parent. The new `key: literal` line
/// goes after the last entry of the mapping (and after the blank lines a `|+`
/// value at its end keeps), indented like the mapping's other keys. A key that
/// exists with an empty value (`key:`) gets the value written after its colon. A
/// flow mapping, a sequence, a value or an alias cannot take a new key.
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
    let segs = path.segments();
    if !matches!(segs.last(), Some(Segment::Key(_))) {
        return Err(cannot(
            "only a key of a mapping can be added, not a sequence element",
        ));
    }
    let scan = scan_full(text, &mut Vec::new(), true)?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // The deepest existing node on the way to the path.
    let depth = (0..segs.len()).rev().find(|&d| {
        nodes
            .iter()
            .any(|n| n.document == 0 && n.path.segments() == &segs[..d])
    });
    let Some(depth) = depth else {
        // No first document, or an empty one: only comments and blank lines.
        let only_comments = text.lines().all(|l| {
            let t = l.trim_start_matches([' ', '\t', '\u{feff}']);
            t.trim_end().is_empty() || t.starts_with('#')
        });
        if !only_comments || scan.documents > 1 {
            return Err(cannot("the first document is not a mapping"));
        }
        let mut add = Zeroizing::new(String::new());
        if !text.is_empty() && !text.ends_with('\n') {
            add.push_str(nl);
        }
        push_chain(&mut add, segs, 0, literal, nl);
        return Ok((text.len(), add));
    };
    let Some(map) = scan
        .maps
        .iter()
        .find(|m| m.document == 0 && m.path.segments() == &segs[..depth])
    else {
        let is_seq = nodes
            .iter()
            .any(|n| n.document == 0 && n.path.segments() == &segs[..depth] && !n.is_scalar());
        return Err(cannot(if is_seq {
            "the parent is a sequence; only a key of a mapping can be added"
        } else {
            "the parent is a value, not a mapping"
        }));
    };
    if map.flow {
        return Err(cannot(
            "the parent is a flow mapping { … }; add the key inside its braces by hand",
        ));
    }
    let Segment::Key(first) = &segs[depth] else {
        return Err(cannot("the path indexes a mapping"));
    };
    if !segs[depth..].iter().all(|s| matches!(s, Segment::Key(_))) {
        return Err(cannot("a sequence on the way to the key does not exist"));
    }
    let Some(indent) = map.indent else {
        return Err(cannot(
            "the parent mapping has no key to align a new one with",
        ));
    };
    let mut add = Zeroizing::new(String::new());
    match map.keys.iter().find(|(k, _)| k == first).map(|k| k.1) {
        None => {
            let at = line_after(text, map);
            if at > 0 && !text[..at].ends_with('\n') && !text[..at].ends_with('\r') {
                add.push_str(nl);
            }
            push_chain(&mut add, &segs[depth..], indent, literal, nl);
            Ok((at, add))
        }
        Some(Held::Empty(Some(colon))) if depth + 1 == segs.len() => {
            add.push(' ');
            add.push_str(literal);
            Ok((colon, add))
        }
        Some(Held::Empty(Some(colon))) => {
            // `key:` holds nothing yet: its mapping starts on the next line.
            let b = text.as_bytes();
            let eol = skip_to_eol(b, colon);
            add.push_str(nl);
            push_chain(&mut add, &segs[depth + 1..], indent + 2, literal, nl);
            Ok((
                eol,
                Zeroizing::new(add.trim_end_matches(['\r', '\n']).to_string()),
            ))
        }
        Some(Held::Empty(None)) => Err(cannot(
            "the key has a tag or anchor but no value; write the value by hand",
        )),
        Some(Held::Alias) => Err(cannot("the key holds an alias")),
        Some(Held::Node) => Err(cannot("the parent is a value, not a mapping")),
    }
}

/// Appends `k1:` / `  k2:` / … / `last: literal` lines, the first at `indent`.
fn push_chain(add: &mut String, keys: &[Segment], indent: usize, literal: &str, nl: &str) {
    for (i, seg) in keys.iter().enumerate() {
        let Segment::Key(k) = seg else { continue };
        add.push_str(&" ".repeat(indent + 2 * i));
        add.push_str(&key_text(k));
        add.push(':');
        if i + 1 == keys.len() {
            add.push(' ');
            add.push_str(literal);
        }
        add.push_str(nl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, kind, span text, decoded string) of every node.
    fn nodes(text: &str) -> Vec<(String, &'static str, String, Option<String>)> {
        scan(text)
            .unwrap()
            .into_iter()
            .map(|n| {
                let kind = match n.kind {
                    NodeKind::Table => "map",
                    NodeKind::Array => "seq",
                    NodeKind::Scalar { .. } => "scalar",
                };
                let s = n.string().map(str::to_string);
                (
                    format!("{}#{}", n.document, n.path),
                    kind,
                    text[n.span.clone()].to_string(),
                    s,
                )
            })
            .collect()
    }

    fn spans(text: &str) -> Vec<String> {
        nodes(text)
            .into_iter()
            .filter(|n| n.1 == "scalar")
            .map(|n| n.2)
            .collect()
    }

    #[test]
    fn spans_cover_exactly_the_value_text() {
        let text = "a: 1\nb: \"x\\\"y\"  # c\nc: 'it''s' # d\nd: plain text\n  continued  \n# c\n\
                    e: &an !!str  tagged\nf: *an\ng: [a, \"b\", {x: y}]\n<<: *an\nh:\ni: \n\
                    j: !t\n  'next line'\n";
        assert_eq!(
            spans(text),
            [
                "1",
                "\"x\\\"y\"",
                "'it''s'",
                "plain text\n  continued",
                "tagged",
                "a",
                "\"b\"",
                "y",
                "'next line'"
            ]
        );
        let got = nodes(text);
        assert_eq!(got[0].0, "0#(root)");
        assert!(
            got.iter()
                .any(|n| n.0 == "0#g" && n.1 == "seq" && n.2 == "[a, \"b\", {x: y}]")
        );
        assert!(
            got.iter()
                .any(|n| n.0 == "0#g[2]" && n.1 == "map" && n.2 == "{x: y}")
        );
        // Aliases, merge keys and empty values are not nodes.
        assert!(
            !got.iter()
                .any(|n| ["0#f", "0#\"<<\"", "0#h", "0#i"].contains(&n.0.as_str()))
        );
    }

    #[test]
    fn block_scalar_spans_end_at_their_last_content_line() {
        for (text, want) in [
            ("a: |\n  l1\n  l2   \n\nb: 1\n", "|\n  l1\n  l2   "),
            ("a: |-\n  x\n", "|-\n  x"),
            ("a: |+\n  k\n\n\nb: 1\n", "|+\n  k"),
            ("a: >\n  f1\n  f2\n", ">\n  f1\n  f2"),
            ("a: >-\n  f\n\n", ">-\n  f"),
            ("a: >+\n  f\n\n", ">+\n  f"),
            ("a: |2\n    x\n", "|2\n    x"),
            ("a: &x !t >2- # co\n\n   z\n\n# c\n", ">2- # co\n\n   z"),
            ("a: |\n\n  y\n", "|\n\n  y"),
            ("a: | # no content\nb: 1\n", "|"),
            ("a: |\n  x", "|\n  x"),
            ("a: |\r\n  x\r\n  y\r\n", "|\r\n  x\r\n  y"),
            ("- |\n   w\n- >\n x\n", "|\n   w"),
            ("--- |\n x\n", "|\n x"),
            ("%YAML 1.2\n---\n# c\n>-\n x\n", ">-\n x"),
            ("a:\n  b: |\n      x\n    # comment\n  c: 1\n", "|\n      x"),
        ] {
            assert_eq!(spans(text)[0], want, "{text:?}");
        }
    }

    #[test]
    fn strings_are_what_the_core_schema_resolves_to_strings() {
        let text = "- ~\n- null\n- true\n- False\n- 12\n- -0x1F\n- 0x1F\n- 0o17\n- 1.5e3\n- .5\n\
                    - -.inf\n- .NaN\n- \"12\"\n- '~'\n- |\n  1\n- yes\n- 1_000\n- 1.2.3\n- -x\n";
        let strings: Vec<Option<String>> = nodes(text).into_iter().skip(1).map(|n| n.3).collect();
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            strings,
            [
                None,
                None,
                None,
                None,
                None,
                s("-0x1F"),
                None,
                None,
                None,
                None,
                None,
                None,
                s("12"),
                s("~"),
                s("1\n"),
                s("yes"),
                s("1_000"),
                s("1.2.3"),
                s("-x"),
            ]
        );
    }

    #[test]
    fn documents_are_numbered() {
        let got = nodes("a: 1\n---\nb: 2\n...\n--- x\n---\n# empty\n---\n- y\n");
        let names: Vec<&str> = got.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "0#(root)", "0#a", "1#(root)", "1#b", "2#(root)", "4#(root)", "4#[0]"
            ]
        );
    }

    #[test]
    fn keys_are_decoded_and_unique() {
        let got = nodes("'a b': 1\n\"c\\td\": 2\n? e\n: 3\n1: 4\n");
        let names: Vec<&str> = got.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(
            names,
            ["0#(root)", "0#\"a b\"", "0#\"c\\u{9}d\"", "0#e", "0#1"]
        );
        for (text, line, column, msg) in [
            ("a: 1\n'a': hunter2\n", 2, 1, "duplicate key in a mapping"),
            ("x:\n  {a: 1, a: 2}\n", 2, 10, "duplicate key in a mapping"),
            (
                "? [a, b]\n: 1\n",
                1,
                3,
                "a mapping key that is a mapping or a sequence",
            ),
            (
                "a: &x 1\n*x : 2\n",
                2,
                1,
                "an alias as a mapping key is not supported",
            ),
        ] {
            match scan(text) {
                Err(FormatError::Parse {
                    format: Format::Yaml,
                    line: l,
                    column: c,
                    message,
                }) => {
                    assert_eq!((l, c), (line, column), "{text:?}");
                    assert!(message.starts_with(msg), "{message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        for text in [
            "a: \"hunter2\n",
            "a: `hunter2\n",
            "a: @hunter2\n",
            "a: 1\n b: hunter2\n",
            "a: *hunter2\n",
            "[hunter2\n",
            "a: |\n  x\n b: hunter2",
        ] {
            let e = scan(text).unwrap_err().to_string();
            assert!(e.starts_with("line "), "{e}");
            assert!(e.contains(": invalid YAML: "), "{e}");
            assert!(
                !e.contains("hunter2") && !e.contains('`') && !e.contains('@'),
                "{e}"
            );
        }
    }

    /// Keys a loader reads as one value are duplicates, however they are written.
    #[test]
    fn keys_that_loaders_read_as_one_are_duplicates() {
        for bad in [
            "~: a\nnull: b\n",
            "? \n: a\nNull: b\n",
            "true: a\nTrue: b\n",
            "yes: a\ntrue: b\n",
            "off: a\nfalse: b\n",
            "1: a\n0x1: b\n",
            "8: a\n0o10: b\n",
            "1: a\n1.0: b\n",
            "-1: a\n-1e0: b\n",
            ".inf: a\n.Inf: b\n",
            "{1: a, +1: b}\n",
        ] {
            let e = scan(bad).unwrap_err().to_string();
            assert!(e.contains("read as the same"), "{bad:?}: {e}");
        }
        for ok in [
            "'~': a\nnull: b\n",
            "\"true\": a\nyes: b\n",
            "1: a\n2: b\n",
            ".nan: a\n.NaN: b\n",
            "y: a\nn: b\n",
        ] {
            scan(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    /// What libyaml refuses and saphyr reads, refused by the scanner.
    #[test]
    fn block_indicators_in_flow_are_refused() {
        for bad in [
            "a: {b: |\n  x}\n",
            "a: [>\n  x]\n",
            "a: [|x]\n",
            "[|x]\n",
            "a: {b: >x}\n",
        ] {
            let e = scan(bad).unwrap_err().to_string();
            assert!(e.contains("| or >"), "{bad:?}: {e}");
        }
        for bad in ["a: {b: :x}\n", "a: [?x]\n"] {
            let e = scan(bad).unwrap_err().to_string();
            assert!(e.contains("begins with : or ?"), "{bad:?}: {e}");
        }
        for bad in ["u: [https://a/x?y=1]\n", "f: {k: ---?, j: 1}\n"] {
            let e = scan(bad).unwrap_err().to_string();
            assert!(e.contains("holds ?"), "{bad:?}: {e}");
        }
        scan("u: https://a/x?y=1\nv: [\"https://a/x?y=1\"]\n").unwrap();
        for ok in ["a: |\n  x\n", "a: [\"|x\", '>y', x|y]\n", "a: x >y\n"] {
            scan(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    #[test]
    fn single_scalars() {
        for ok in [
            "x",
            "hello world",
            "\"x\"",
            "'x'",
            "\"a\n  b\"",
            "plain\n  multi",
            "1",
            "-0.5",
            "true",
            "~",
            "|\n  a\n  b",
            ">+\n  a",
            "| # c\n  a",
            "|",
            "a:b",
        ] {
            assert!(is_single_scalar(ok), "{ok:?}");
        }
        for bad in [
            "",
            " x",
            "x ",
            "x\n",
            // A block scalar's span ends before its last line break.
            "|\n  a\n  b\n",
            "|-\n  a\r\n",
            // One scalar to YAML 1.2, several lines to YAML 1.1.
            "x\u{85}admin: true",
            "x\u{2028}admin: true",
            "'x\u{2029}y'",
            "\"x\u{85}\"",
            "x\u{7}",
            "x\u{feff}",
            "x\u{7f}",
            // A tab in a plain scalar stops PyYAML's scanner.
            "x\ty",
            "x # c",
            "x\nadmin: true",
            "x\n  admin: true",
            "[1]",
            "{a: 1}",
            "&a x",
            "*a",
            "!!str x",
            "x\n---\ny",
            "x\n---",
            "x\n...",
            "a: b",
            "- a",
            "\"x\" y",
            "\"unterminated",
            "|\n  a\nadmin: true",
            "|\n  a\n# c",
            "|\n  a\n\n",
            "# c",
            "? a",
        ] {
            assert!(!is_single_scalar(bad), "{bad:?}");
        }
        assert!(typed_literal(ScalarType::Int, "0x1f"));
        assert!(typed_literal(ScalarType::Int, "-12"));
        assert!(!typed_literal(ScalarType::Int, "1.0"));
        assert!(!typed_literal(ScalarType::Int, "\"1\""));
        assert!(typed_literal(ScalarType::Float, ".inf"));
        assert!(typed_literal(ScalarType::Float, "-1.5e3"));
        assert!(!typed_literal(ScalarType::Float, "1"));
        assert!(typed_literal(ScalarType::Bool, "false"));
        assert!(typed_literal(ScalarType::Bool, "True"));
        assert!(!typed_literal(ScalarType::Bool, "yes"));
        assert!(!typed_literal(ScalarType::Bool, "true # c"));
    }

    #[test]
    fn string_literals_are_double_quoted() {
        assert_eq!(
            string_literal("a\"b\\c\nd\te\r\0\u{7}\u{85}\u{2028}é").as_str(),
            "\"a\\\"b\\\\c\\nd\\te\\r\\0\\u0007\\u0085\\u2028é\""
        );
        for s in ["", "x: y", "# c", "- a", "\u{1}\u{1f}", "'\""] {
            let lit = string_literal(s);
            assert!(is_single_scalar(&lit), "{s:?}");
            assert_eq!(
                nodes(&format!("x: {}", lit.as_str()))[1].3.as_deref(),
                Some(s)
            );
        }
    }

    fn add(text: &str, path: &str) -> Result<String, FormatError> {
        let nodes = scan(text).unwrap();
        let (at, new) = insert(text, &nodes, &path.parse().unwrap(), "T")?;
        Ok(format!("{}{}{}", &text[..at], new.as_str(), &text[at..]))
    }

    #[test]
    fn new_keys_land_where_a_person_would_put_them() {
        for (text, path, want) in [
            ("a: 1\n", "k", "a: 1\nk: T\n"),
            ("a: 1", "k", "a: 1\nk: T\n"),
            ("", "k", "k: T\n"),
            ("# c", "k", "# c\nk: T\n"),
            (
                "a:\n  b: 1 # c\n\nc: 2\n",
                "a.k",
                "a:\n  b: 1 # c\n  k: T\n\nc: 2\n",
            ),
            (
                "a:\n  b: |+\n    x\n\n\nc: 2\n",
                "a.k",
                "a:\n  b: |+\n    x\n\n\n  k: T\nc: 2\n",
            ),
            (
                "a:\n  b: |\n    x\n\nc: 2\n",
                "a.k",
                "a:\n  b: |\n    x\n  k: T\n\nc: 2\n",
            ),
            ("- a: 1\n  b: 2\n", "[0].k", "- a: 1\n  b: 2\n  k: T\n"),
            ("a: 1\n", "b.c", "a: 1\nb:\n  c: T\n"),
            (
                "a:\n    x: 1\n",
                "a.b.c",
                "a:\n    x: 1\n    b:\n      c: T\n",
            ),
            ("a:\nb: 1\n", "a", "a: T\nb: 1\n"),
            ("a:   # c\n", "a", "a: T   # c\n"),
            ("a: # c\n", "a.b", "a: # c\n  b: T\n"),
            ("a: 1\r\n", "b.c", "a: 1\r\nb:\r\n  c: T\r\n"),
            ("a: 1\n---\nb: 1\n", "k", "a: 1\nk: T\n---\nb: 1\n"),
            ("a: 1\n", "\"x y\"", "a: 1\n\"x y\": T\n"),
            ("a: 1\n", "true", "a: 1\n\"true\": T\n"),
            (
                "a: {b: [1]}\nc: \"x\"\n",
                "k",
                "a: {b: [1]}\nc: \"x\"\nk: T\n",
            ),
        ] {
            assert_eq!(add(text, path).unwrap(), want, "{text:?} + {path}");
        }
    }

    #[test]
    fn places_that_cannot_take_a_key_are_refused() {
        for (text, path) in [
            ("a: {b: 1}\n", "a.c"),
            ("a: [1]\n", "a.c"),
            ("a: [1]\n", "a[1]"),
            ("- 1\n", "k"),
            ("a: 1\n", "a.c"),
            ("a: &x 1\nb: *x\n", "b"),
            ("a: &x 1\nb: *x\n", "b.c"),
            ("a: !!str\n", "a"),
            ("x\n", "k"),
            ("---\n---\na: 1\n", "k"),
            ("a: {}\n", "a.b[0].c"),
        ] {
            assert!(
                matches!(add(text, path), Err(FormatError::CannotInsert { .. })),
                "{text:?} {path}"
            );
        }
    }
}
