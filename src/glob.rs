//! Globs for the policy file `.cachet.toml`: [`FileGlob`] picks an environment's
//! files by their repository-relative path, [`PathGlob`] picks the values to seal
//! by their [`ValuePath`].
//!
//! Both are written by hand rather than taken from a glob crate so that the syntax
//! is exactly the one the policy file documents (anchored, no implicit `**/`, `**`
//! only as a whole segment) and so that value paths, which are not strings, can
//! be matched segment by segment. Matching never backtracks exponentially: a
//! segment is matched with the two-pointer wildcard algorithm and `**` with a
//! set-of-positions simulation, so the cost is at most the product of the sizes
//! of pattern and input.

use std::fmt;
use std::iter::Peekable;
use std::str::{CharIndices, FromStr};

use crate::error::{Classified, ErrorKind};
use crate::path::{self, PathSyntaxError, Segment, ValuePath};

/// The traits both glob types share: parsing, showing and comparing go by the
/// pattern as written (the compiled steps are a function of it).
macro_rules! pattern_traits {
    ($t:ident) => {
        impl FromStr for $t {
            type Err = GlobError;

            fn from_str(s: &str) -> Result<Self, GlobError> {
                $t::new(s)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.pattern)
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($t)).field(&self.pattern).finish()
            }
        }

        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.pattern == other.pattern
            }
        }

        impl Eq for $t {}
    };
}

/// Which kind of glob a pattern was read as; it decides the advice in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobKind {
    /// A [`FileGlob`]: a repository-relative file path.
    File,
    /// A [`PathGlob`]: a value path inside a document.
    Value,
}

impl GlobKind {
    fn noun(self) -> &'static str {
        match self {
            GlobKind::File => "file glob",
            GlobKind::Value => "value glob",
        }
    }
}

/// A glob pattern could not be read.
///
/// Offsets are 0-based byte offsets into the pattern; messages show them as
/// 1-based character positions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GlobError {
    /// The pattern is empty.
    Empty {
        /// Which kind of glob was being read.
        kind: GlobKind,
    },
    /// A file glob starts with `/`; file globs are relative to the directory of
    /// `.cachet.toml`.
    Absolute {
        /// The pattern as written.
        pattern: String,
    },
    /// A file glob has a `.` or `..` segment.
    DotSegment {
        /// The pattern as written.
        pattern: String,
        /// Where the segment starts.
        offset: usize,
    },
    /// A segment is empty: `a//b` or a trailing `/` in a file glob; `a..b` or a
    /// leading or trailing `.` in a value glob.
    EmptySegment {
        /// Which kind of glob was being read.
        kind: GlobKind,
        /// The pattern as written.
        pattern: String,
        /// Where the empty segment is.
        offset: usize,
    },
    /// `**` is part of a longer segment (`a**`, `**b`, `***`).
    PartialDoubleStar {
        /// Which kind of glob was being read.
        kind: GlobKind,
        /// The pattern as written.
        pattern: String,
        /// Where the `**` starts.
        offset: usize,
    },
    /// A `[` class is not closed by `]` within its segment.
    UnclosedClass {
        /// The pattern as written.
        pattern: String,
        /// Where the `[` is.
        offset: usize,
    },
    /// A class lists no character: `[]` or `[!]`.
    EmptyClass {
        /// The pattern as written.
        pattern: String,
        /// Where the `[` is.
        offset: usize,
    },
    /// A `\` ends the pattern or a segment, so it escapes nothing.
    TrailingBackslash {
        /// The pattern as written.
        pattern: String,
        /// Where the `\` is.
        offset: usize,
    },
    /// A class range runs backwards, like `[z-a]`.
    ReversedRange {
        /// The pattern as written.
        pattern: String,
        /// Where the range starts.
        offset: usize,
        /// The first character of the range as written.
        first: char,
        /// The last character of the range as written.
        last: char,
    },
    /// A value glob does not follow the written form of value paths: an unclosed
    /// quote or bracket, a bad index or escape, a character that needs quoting,
    /// or two segments with no `.` between them.
    ValueSyntax {
        /// The pattern as written.
        pattern: String,
        /// Where the problem is.
        offset: usize,
        /// What was expected.
        message: &'static str,
    },
}

/// Shows a pattern in backquotes, with control characters escaped so a message
/// always stays on one line.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`")?;
        for c in self.0.chars() {
            f.write_str(&shown_char(c))?;
        }
        f.write_str("`")
    }
}

fn shown_char(c: char) -> String {
    if c.is_control() {
        format!("\\u{{{:x}}}", c as u32)
    } else {
        c.to_string()
    }
}

/// The start of every message about a pattern: its kind, the pattern and, when
/// known, the 1-based character position (users count characters, not bytes).
fn head(
    f: &mut fmt::Formatter<'_>,
    kind: GlobKind,
    pattern: &str,
    offset: Option<usize>,
) -> fmt::Result {
    write!(f, "invalid {} {}", kind.noun(), Shown(pattern))?;
    if let Some(offset) = offset {
        let position = pattern
            .get(..offset)
            .map_or(offset, |before| before.chars().count());
        write!(f, " at character {}", position + 1)?;
    }
    f.write_str(": ")
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use GlobKind::{File, Value};
        match self {
            GlobError::Empty { kind: File } => f.write_str(
                "invalid file glob: the glob is empty; write a path relative to the directory of .cachet.toml, like config/prod/** or deploy/*.prod.toml",
            ),
            GlobError::Empty { kind: Value } => f.write_str(
                "invalid value glob: the glob is empty; write a value path, like database.password, *.api_key or **.token",
            ),
            GlobError::Absolute { pattern } => {
                head(f, File, pattern, None)?;
                f.write_str(
                    "it starts with '/'; write it without the leading '/', relative to the directory of .cachet.toml",
                )
            }
            GlobError::DotSegment { pattern, offset } => {
                head(f, File, pattern, Some(*offset))?;
                f.write_str(
                    "'.' and '..' segments are not allowed; write the path from the directory of .cachet.toml without them, like config/prod/*.toml",
                )
            }
            GlobError::EmptySegment {
                kind: File,
                pattern,
                offset,
            } => {
                head(f, File, pattern, Some(*offset))?;
                f.write_str(
                    "empty segment (a doubled or trailing '/'); write a/b, or a/** for everything under a",
                )
            }
            GlobError::EmptySegment {
                kind: Value,
                pattern,
                offset,
            } => {
                head(f, Value, pattern, Some(*offset))?;
                f.write_str(
                    "empty segment (a doubled, leading or trailing '.'); write keys between dots, like database.password",
                )
            }
            GlobError::PartialDoubleStar {
                kind: File,
                pattern,
                offset,
            } => {
                head(f, File, pattern, Some(*offset))?;
                f.write_str(
                    "'**' must be a whole segment; use * within a name (deploy/*.toml) and **/ for any depth (config/**/secrets.toml)",
                )
            }
            GlobError::PartialDoubleStar {
                kind: Value,
                pattern,
                offset,
            } => {
                head(f, Value, pattern, Some(*offset))?;
                f.write_str(
                    "'**' must be a whole segment; use * within a key (*_token) and ** between dots for any depth (**.token)",
                )
            }
            GlobError::UnclosedClass { pattern, offset } => {
                head(f, File, pattern, Some(*offset))?;
                f.write_str(
                    "'[' without ']' in its segment; close the class, like [abc], or write \\[ for a literal '['",
                )
            }
            GlobError::EmptyClass { pattern, offset } => {
                head(f, File, pattern, Some(*offset))?;
                f.write_str(
                    "empty class; list the characters it matches, like [abc], or write \\[\\] for literal brackets",
                )
            }
            GlobError::TrailingBackslash { pattern, offset } => {
                head(f, File, pattern, Some(*offset))?;
                f.write_str(
                    "'\\' at the end of a segment escapes nothing; write \\\\ for a literal backslash ('/' cannot be escaped)",
                )
            }
            GlobError::ReversedRange {
                pattern,
                offset,
                first,
                last,
            } => {
                head(f, File, pattern, Some(*offset))?;
                let (first, last) = (shown_char(*first), shown_char(*last));
                write!(
                    f,
                    "the range {first}-{last} runs backwards; write it as {last}-{first}"
                )
            }
            GlobError::ValueSyntax {
                pattern,
                offset,
                message,
            } => {
                head(f, Value, pattern, Some(*offset))?;
                write!(
                    f,
                    "{message} (write value globs like database.password, *.api_key, **.token, servers[*].secret or \"dotted.key\".x)"
                )
            }
        }
    }
}

impl std::error::Error for GlobError {}

impl Classified for GlobError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Usage
    }
}

/// What one character position of a segment pattern accepts.
#[derive(Clone, Debug)]
enum CharTest {
    /// Exactly this character.
    Literal(char),
    /// Any character (`?`).
    Any,
    /// A `[...]` class: inclusive ranges, a single character being `(c, c)`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl CharTest {
    fn accepts(&self, c: char) -> bool {
        match self {
            CharTest::Literal(l) => *l == c,
            CharTest::Any => true,
            CharTest::Class { negated, ranges } => {
                *negated != ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
            }
        }
    }
}

/// One element of a segment pattern.
#[derive(Clone, Debug)]
enum Token {
    /// `*`: any run of characters, possibly empty.
    Star,
    /// Exactly one character.
    Char(CharTest),
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..)?.chars().next()
}

/// Whether `tokens` match all of `text` (one path segment or one key).
///
/// When a token fails, only the latest `*` is retried, one character longer:
/// every other token takes exactly one character, so an earlier `*` taking more
/// could only shift the same tokens right and never succeed where this fails. That
/// keeps the cost at most tokens × characters, where naive backtracking over every
/// `*` would be exponential (`*a*a*a*b` against many `a`s).
fn match_segment(tokens: &[Token], text: &str) -> bool {
    let (mut p, mut t) = (0, 0);
    // (token after the latest `*`, where the text after that `*` starts)
    let mut retry: Option<(usize, usize)> = None;
    loop {
        match tokens.get(p) {
            Some(Token::Star) => {
                retry = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(Token::Char(test)) => {
                if let Some(c) = char_at(text, t).filter(|&c| test.accepts(c)) {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
            }
            None if t == text.len() => return true,
            None => {}
        }
        let Some((after_star, from)) = retry else {
            return false;
        };
        let Some(c) = char_at(text, from) else {
            return false;
        };
        let from = from + c.len_utf8();
        retry = Some((after_star, from));
        (p, t) = (after_star, from);
    }
}

/// A step of a glob at the level of whole segments.
trait Step<T> {
    /// Whether this is `**`, which takes any number of segments.
    fn any_depth(&self) -> bool;
    /// Whether this step (not `**`) takes the single segment `item`.
    fn takes(&self, item: T) -> bool;
}

/// Marks the positions after each `**` reachable from a position before it:
/// `**` may take no segment at all. Going forward carries this through a run of
/// `**`.
fn skip_empty_any_depth<T, S: Step<T>>(steps: &[S], live: &mut [bool]) {
    for (j, step) in steps.iter().enumerate() {
        if live[j] && step.any_depth() {
            live[j + 1] = true;
        }
    }
}

/// Runs `steps` over `items`, tracking the set of positions in the glob the items
/// so far can have led to, rather than backtracking: the cost is at most steps ×
/// items segment comparisons however many `**` there are. With `or_prefix`, also
/// true when the glob matches a leading run of the items (the empty one included).
fn run<T: Copy, S: Step<T>>(
    steps: &[S],
    items: impl IntoIterator<Item = T>,
    or_prefix: bool,
) -> bool {
    let end = steps.len();
    let mut live = vec![false; end + 1];
    live[0] = true;
    skip_empty_any_depth(steps, &mut live);
    for item in items {
        if or_prefix && live[end] {
            return true;
        }
        let mut next = vec![false; end + 1];
        for (j, step) in steps.iter().enumerate() {
            if !live[j] {
                continue;
            }
            if step.any_depth() {
                next[j] = true;
            } else if step.takes(item) {
                next[j + 1] = true;
            }
        }
        skip_empty_any_depth(steps, &mut next);
        if !next.contains(&true) {
            return false;
        }
        live = next;
    }
    live[end]
}

/// One `/`-separated segment of a file glob.
#[derive(Clone, Debug)]
enum FileStep {
    /// `**`: zero or more whole segments.
    AnyDepth,
    /// Exactly one segment.
    Name(Vec<Token>),
}

impl Step<&str> for FileStep {
    fn any_depth(&self) -> bool {
        matches!(self, FileStep::AnyDepth)
    }

    fn takes(&self, item: &str) -> bool {
        match self {
            FileStep::AnyDepth => true,
            FileStep::Name(tokens) => match_segment(tokens, item),
        }
    }
}

/// A glob over repository-relative file paths with `/` separators, such as
/// `config/prod/**`, `deploy/*.prod.toml` or `**/secrets.prod.yaml`.
///
/// The whole path must match. `*` matches any run of characters within a segment,
/// `?` one character, `[abc]`, `[a-z]` and `[!a-z]` one character of (or not of) a
/// class, and `\` makes the next character literal. A segment that is exactly `**`
/// matches zero or more whole segments, except at the end, where it matches one or
/// more: `a/**` is everything under `a`, not `a` itself. Matching is on Unicode
/// characters and case-sensitive.
#[derive(Clone)]
pub struct FileGlob {
    pattern: String,
    steps: Vec<FileStep>,
}

impl FileGlob {
    /// Reads a file glob, refusing patterns that could only be mistakes: empty,
    /// absolute, with `.`, `..` or empty segments, with `**` inside a segment, or
    /// with a malformed class or escape.
    pub fn new(pattern: &str) -> Result<FileGlob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty {
                kind: GlobKind::File,
            });
        }
        if pattern.starts_with('/') {
            return Err(GlobError::Absolute {
                pattern: pattern.to_string(),
            });
        }
        let mut steps = Vec::new();
        let mut offset = 0;
        for text in pattern.split('/') {
            steps.push(file_step(pattern, text, offset)?);
            offset += text.len() + 1;
        }
        // A trailing `**` must take at least one segment so that `a/**` means
        // "everything under a" and not also the file `a`: it becomes `*/**`.
        if let Some(last) = steps.len().checked_sub(1)
            && matches!(steps[last], FileStep::AnyDepth)
        {
            steps.insert(last, FileStep::Name(vec![Token::Star]));
        }
        Ok(FileGlob {
            pattern: pattern.to_string(),
            steps,
        })
    }

    /// Whether the glob matches the whole of `rel_path`.
    ///
    /// Matching is on the text: the path is expected as written in the repository
    /// (relative, `/` separators, no `./` or `..`), so `./config/a.toml` does not
    /// match `config/*.toml`. The empty path matches nothing.
    pub fn matches(&self, rel_path: &str) -> bool {
        !rel_path.is_empty() && run(&self.steps, rel_path.split('/'), false)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// Reads one `/`-separated segment of a file glob; `offset` is where it starts in
/// `pattern`, for messages.
fn file_step(pattern: &str, text: &str, offset: usize) -> Result<FileStep, GlobError> {
    let owned = || pattern.to_string();
    if text.is_empty() {
        return Err(GlobError::EmptySegment {
            kind: GlobKind::File,
            pattern: owned(),
            offset,
        });
    }
    if text == "**" {
        return Ok(FileStep::AnyDepth);
    }
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((k, c)) = chars.next() {
        let token = match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => Token::Char(CharTest::Literal(escaped)),
                None => {
                    return Err(GlobError::TrailingBackslash {
                        pattern: owned(),
                        offset: offset + k,
                    });
                }
            },
            '*' => {
                if chars.peek().is_some_and(|&(_, next)| next == '*') {
                    return Err(GlobError::PartialDoubleStar {
                        kind: GlobKind::File,
                        pattern: owned(),
                        offset: offset + k,
                    });
                }
                Token::Star
            }
            '?' => Token::Char(CharTest::Any),
            '[' => Token::Char(class(pattern, &mut chars, offset, offset + k)?),
            c => Token::Char(CharTest::Literal(c)),
        };
        tokens.push(token);
    }
    // Checked on the decoded segment so that `\.\.` cannot sneak a `..` past.
    let is_dot = |t: &Token| matches!(t, Token::Char(CharTest::Literal('.')));
    if tokens.len() <= 2 && tokens.iter().all(is_dot) {
        return Err(GlobError::DotSegment {
            pattern: owned(),
            offset,
        });
    }
    Ok(FileStep::Name(tokens))
}

/// Reads a class whose `[` (at `open` in `pattern`) was just consumed from
/// `chars`, a segment starting at `base`.
fn class(
    pattern: &str,
    chars: &mut Peekable<CharIndices<'_>>,
    base: usize,
    open: usize,
) -> Result<CharTest, GlobError> {
    let unclosed = || GlobError::UnclosedClass {
        pattern: pattern.to_string(),
        offset: open,
    };
    // An escape inside a class is how `]`, `-` or `!` are written literally.
    let member = |chars: &mut Peekable<CharIndices<'_>>| match chars.next() {
        Some((_, '\\')) => chars.next().map(|(_, c)| c).ok_or_else(unclosed),
        Some((_, c)) => Ok(c),
        None => Err(unclosed()),
    };
    let negated = chars.next_if(|&(_, c)| c == '!').is_some();
    let mut ranges = Vec::new();
    loop {
        let Some(&(k, c)) = chars.peek() else {
            return Err(unclosed());
        };
        if c == ']' {
            chars.next();
            break;
        }
        let first = member(chars)?;
        // A `-` just before `]` is a literal `-`, as in other glob dialects.
        let mut ahead = chars.clone();
        let is_range = matches!(ahead.next(), Some((_, '-')))
            && ahead.next().is_some_and(|(_, after)| after != ']');
        if !is_range {
            ranges.push((first, first));
            continue;
        }
        chars.next();
        let last = member(chars)?;
        if last < first {
            return Err(GlobError::ReversedRange {
                pattern: pattern.to_string(),
                offset: base + k,
                first,
                last,
            });
        }
        ranges.push((first, last));
    }
    if ranges.is_empty() {
        return Err(GlobError::EmptyClass {
            pattern: pattern.to_string(),
            offset: open,
        });
    }
    Ok(CharTest::Class { negated, ranges })
}

pattern_traits!(FileGlob);

/// One segment of a value glob.
#[derive(Clone, Debug)]
enum ValueStep {
    /// `**`: zero or more segments of any kind.
    AnyDepth,
    /// A key matching these tokens.
    Key(Vec<Token>),
    /// `[*]`: any index.
    AnyIndex,
    /// `[N]`: this index.
    Index(usize),
}

impl Step<&Segment> for ValueStep {
    fn any_depth(&self) -> bool {
        matches!(self, ValueStep::AnyDepth)
    }

    fn takes(&self, item: &Segment) -> bool {
        match (self, item) {
            (ValueStep::AnyDepth, _) | (ValueStep::AnyIndex, Segment::Index(_)) => true,
            (ValueStep::Key(tokens), Segment::Key(key)) => match_segment(tokens, key),
            (ValueStep::Index(n), Segment::Index(m)) => n == m,
            _ => false,
        }
    }
}

/// A glob over value paths, written like a [`ValuePath`] with wildcards:
/// `database.password`, `*.api_key`, `**.token`, `servers[*].secret`, `stripe.*`,
/// `"dotted.key".x`.
///
/// In a bare key `*` matches any run of characters of one key and `?` one
/// character; a segment that is exactly `**` matches zero or more segments of
/// any kind; `[*]` matches any index and `[N]` index N. A quoted key is literal,
/// so `"*"` is the key `*`.
#[derive(Clone)]
pub struct PathGlob {
    pattern: String,
    steps: Vec<ValueStep>,
}

impl PathGlob {
    /// Reads a value glob.
    pub fn new(pattern: &str) -> Result<PathGlob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty {
                kind: GlobKind::Value,
            });
        }
        let syntax = |e: PathSyntaxError| GlobError::ValueSyntax {
            pattern: pattern.to_string(),
            offset: e.offset,
            message: e.message,
        };
        let at = |offset, message| syntax(PathSyntaxError { offset, message });
        let bytes = pattern.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0;
        // As in `ValuePath::from_str`: true at the start and after a dot, where a
        // key must follow, though a glob may start with an index.
        let mut expect_key = true;
        while let Some(&b) = bytes.get(i) {
            let rest = pattern.get(i..).unwrap_or_default();
            match b {
                b'[' => {
                    if expect_key && !steps.is_empty() {
                        return Err(at(i, "a key must follow '.'"));
                    }
                    if rest.starts_with("[*]") {
                        steps.push(ValueStep::AnyIndex);
                        i += "[*]".len();
                    } else {
                        let (n, next) = path::parse_index(pattern, i).map_err(syntax)?;
                        steps.push(ValueStep::Index(n));
                        i = next;
                    }
                    expect_key = false;
                }
                b'.' => {
                    if expect_key {
                        return Err(GlobError::EmptySegment {
                            kind: GlobKind::Value,
                            pattern: pattern.to_string(),
                            offset: i,
                        });
                    }
                    expect_key = true;
                    i += 1;
                }
                b'"' => {
                    if !expect_key {
                        return Err(at(i, "expected '.' or '[' between segments"));
                    }
                    let (key, next) = path::parse_quoted(pattern, i).map_err(syntax)?;
                    steps.push(ValueStep::Key(
                        key.chars()
                            .map(|c| Token::Char(CharTest::Literal(c)))
                            .collect(),
                    ));
                    i = next;
                    expect_key = false;
                }
                _ => {
                    let len = rest
                        .find(|c: char| !(path::is_bare(c) || c == '*' || c == '?'))
                        .unwrap_or(rest.len());
                    // Checked before the missing separator so that `clé` is told
                    // to quote its key rather than to put a '.' before `é`.
                    if len == 0 {
                        return Err(at(
                            i,
                            "unexpected character; quote keys that are not A-Z a-z 0-9 _ - or the wildcards * ?",
                        ));
                    }
                    if !expect_key {
                        return Err(at(i, "expected '.' or '[' between segments"));
                    }
                    let text = rest.get(..len).unwrap_or_default();
                    if text == "**" {
                        steps.push(ValueStep::AnyDepth);
                    } else if let Some(j) = text.find("**") {
                        return Err(GlobError::PartialDoubleStar {
                            kind: GlobKind::Value,
                            pattern: pattern.to_string(),
                            offset: i + j,
                        });
                    } else {
                        steps.push(ValueStep::Key(
                            text.chars()
                                .map(|c| match c {
                                    '*' => Token::Star,
                                    '?' => Token::Char(CharTest::Any),
                                    c => Token::Char(CharTest::Literal(c)),
                                })
                                .collect(),
                        ));
                    }
                    i += len;
                    expect_key = false;
                }
            }
        }
        if expect_key {
            return Err(GlobError::EmptySegment {
                kind: GlobKind::Value,
                pattern: pattern.to_string(),
                offset: pattern.len(),
            });
        }
        Ok(PathGlob {
            pattern: pattern.to_string(),
            steps,
        })
    }

    /// Whether the glob matches the whole of `path`.
    pub fn matches(&self, path: &ValuePath) -> bool {
        run(&self.steps, path.segments(), false)
    }

    /// Whether the glob matches `path` or one of its leading prefixes: naming a
    /// table or an array selects everything beneath it.
    pub fn matches_or_under(&self, path: &ValuePath) -> bool {
        run(&self.steps, path.segments(), true)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

pattern_traits!(PathGlob);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fg(pattern: &str) -> FileGlob {
        FileGlob::new(pattern).unwrap()
    }

    fn pg(pattern: &str) -> PathGlob {
        PathGlob::new(pattern).unwrap()
    }

    fn vp(path: &str) -> ValuePath {
        path.parse().unwrap()
    }

    /// Asserts which of `paths` the file glob matches.
    fn file_cases(pattern: &str, yes: &[&str], no: &[&str]) {
        let glob = fg(pattern);
        for p in yes {
            assert!(glob.matches(p), "{pattern} should match {p:?}");
        }
        for p in no {
            assert!(!glob.matches(p), "{pattern} should not match {p:?}");
        }
    }

    /// Asserts which of `paths` the value glob matches exactly.
    fn value_cases(pattern: &str, yes: &[&str], no: &[&str]) {
        let glob = pg(pattern);
        for p in yes {
            assert!(glob.matches(&vp(p)), "{pattern} should match {p}");
        }
        for p in no {
            assert!(!glob.matches(&vp(p)), "{pattern} should not match {p}");
        }
    }

    #[test]
    fn file_literal_is_anchored_at_both_ends() {
        file_cases(
            "config/app.toml",
            &["config/app.toml"],
            &[
                "config/app.tom",
                "config/app.toml.bak",
                "x/config/app.toml",
                "config",
                "config/app.toml/x",
                "Config/app.toml",
                "",
            ],
        );
    }

    #[test]
    fn file_star_stays_within_a_segment() {
        file_cases(
            "deploy/*.prod.toml",
            &[
                "deploy/web.prod.toml",
                "deploy/.prod.toml",
                "deploy/a.b.prod.toml",
            ],
            &[
                "deploy/a/b.prod.toml",
                "deploy/web.prod.toml/x",
                "web.prod.toml",
            ],
        );
        file_cases("*", &["a", "a.toml", ".env", "é"], &["a/b", "/a", "a/"]);
        file_cases(
            "a*b*c",
            &["abc", "aXbYc", "abbbc", "acbc"],
            &["ab", "a/bc", "acb"],
        );
    }

    #[test]
    fn file_question_mark_takes_one_character_but_not_a_slash() {
        file_cases("a?c", &["abc", "a.c", "aéc", "a?c"], &["ac", "abbc", "a/c"]);
        file_cases("??", &["ab", "日本"], &["a", "abc"]);
    }

    #[test]
    fn file_double_star_takes_whole_segments() {
        file_cases(
            "a/**/b",
            &["a/b", "a/x/b", "a/x/y/b"],
            &["a", "b", "a/xb", "ax/b", "a/x/y/bc", "c/a/b"],
        );
        file_cases(
            "config/prod/**",
            &["config/prod/a.toml", "config/prod/x/y/z"],
            &["config/prod", "config/production/a", "config/a.toml"],
        );
        file_cases(
            "**/secrets.prod.yaml",
            &[
                "secrets.prod.yaml",
                "d/secrets.prod.yaml",
                "d/e/secrets.prod.yaml",
            ],
            &[
                "dsecrets.prod.yaml",
                "secrets.prod.yaml/x",
                "d/xsecrets.prod.yaml",
            ],
        );
        file_cases("**", &["a", "a/b", "a/b/c", ".env"], &[""]);
        file_cases("**/**/x", &["x", "a/x", "a/b/x"], &["a/b"]);
        file_cases("a/**/**", &["a/b", "a/b/c"], &["a"]);
        file_cases(
            "**/*.toml",
            &["a.toml", "x/y/a.toml"],
            &["a.yaml", "x/a.toml/y"],
        );
    }

    #[test]
    fn file_classes_take_one_character_but_not_a_slash() {
        file_cases(
            "[abc].toml",
            &["a.toml", "c.toml"],
            &["d.toml", "ab.toml", ".toml"],
        );
        file_cases("v[0-9]", &["v0", "v5", "v9"], &["va", "v", "v10"]);
        file_cases(
            "x[!a-c]y",
            &["xdy", "xAy", "xéy"],
            &["xay", "xby", "x/y", "xy"],
        );
        file_cases("[a-cx-z]", &["a", "b", "y", "z"], &["d", "w"]);
        // A leading or trailing `-` is literal, and escapes make `]`, `-`, `!` members.
        file_cases("[a-]", &["a", "-"], &["b"]);
        file_cases("[-a]", &["a", "-"], &["b"]);
        file_cases(r"[\]\-\!]", &["]", "-", "!"], &["a", "\\"]);
        file_cases("[!!]", &["a"], &["!"]);
        file_cases("[é-ë]", &["é", "ê", "ë"], &["e", "è"]);
        // Outside a class `]` is an ordinary character.
        file_cases("a]", &["a]"], &["a"]);
    }

    #[test]
    fn file_backslash_makes_the_next_character_literal() {
        file_cases(r"\*.toml", &["*.toml"], &["a.toml"]);
        file_cases(r"a\?", &["a?"], &["ab"]);
        file_cases(r"\[ab]", &["[ab]"], &["a"]);
        file_cases(r"a\\b", &["a\\b"], &["ab"]);
        file_cases(r"\a\b", &["ab"], &["\\a\\b"]);
        file_cases(r"a\**", &["a*", "a*b"], &["ab"]);
        file_cases(r"\*\*", &["**"], &["ab"]);
    }

    #[test]
    fn file_matching_is_case_sensitive_and_on_characters() {
        file_cases("Prod/*", &["Prod/a"], &["prod/a", "PROD/a"]);
        file_cases("clé/?", &["clé/ü"], &["cle/u", "clé/üü"]);
    }

    #[test]
    fn file_glob_traits() {
        let g = fg("config/**");
        assert_eq!(g.as_str(), "config/**");
        assert_eq!(g.to_string(), "config/**");
        assert_eq!(format!("{g:?}"), r#"FileGlob("config/**")"#);
        assert_eq!(g.clone(), g);
        assert_ne!(g, fg("config/*"));
        assert_eq!("config/**".parse::<FileGlob>(), Ok(g));
    }

    fn file_err(pattern: &str) -> (GlobError, String) {
        let e = FileGlob::new(pattern).unwrap_err();
        let msg = e.to_string();
        (e, msg)
    }

    #[test]
    fn file_errors_name_the_problem_and_the_fix() {
        let cases: &[(&str, GlobError, &str)] = &[
            (
                "",
                GlobError::Empty {
                    kind: GlobKind::File,
                },
                "invalid file glob: the glob is empty; write a path relative to the directory of .cachet.toml, like config/prod/** or deploy/*.prod.toml",
            ),
            (
                "/etc/app.toml",
                GlobError::Absolute {
                    pattern: "/etc/app.toml".into(),
                },
                "invalid file glob `/etc/app.toml`: it starts with '/'; write it without the leading '/', relative to the directory of .cachet.toml",
            ),
            (
                "config/../secrets",
                GlobError::DotSegment {
                    pattern: "config/../secrets".into(),
                    offset: 7,
                },
                "invalid file glob `config/../secrets` at character 8: '.' and '..' segments are not allowed; write the path from the directory of .cachet.toml without them, like config/prod/*.toml",
            ),
            (
                "a//b",
                GlobError::EmptySegment {
                    kind: GlobKind::File,
                    pattern: "a//b".into(),
                    offset: 2,
                },
                "invalid file glob `a//b` at character 3: empty segment (a doubled or trailing '/'); write a/b, or a/** for everything under a",
            ),
            (
                "config/a**",
                GlobError::PartialDoubleStar {
                    kind: GlobKind::File,
                    pattern: "config/a**".into(),
                    offset: 8,
                },
                "invalid file glob `config/a**` at character 9: '**' must be a whole segment; use * within a name (deploy/*.toml) and **/ for any depth (config/**/secrets.toml)",
            ),
            (
                "a/[bc",
                GlobError::UnclosedClass {
                    pattern: "a/[bc".into(),
                    offset: 2,
                },
                "invalid file glob `a/[bc` at character 3: '[' without ']' in its segment; close the class, like [abc], or write \\[ for a literal '['",
            ),
            (
                "x[]",
                GlobError::EmptyClass {
                    pattern: "x[]".into(),
                    offset: 1,
                },
                "invalid file glob `x[]` at character 2: empty class; list the characters it matches, like [abc], or write \\[\\] for literal brackets",
            ),
            (
                "a\\",
                GlobError::TrailingBackslash {
                    pattern: "a\\".into(),
                    offset: 1,
                },
                "invalid file glob `a\\` at character 2: '\\' at the end of a segment escapes nothing; write \\\\ for a literal backslash ('/' cannot be escaped)",
            ),
            (
                "é[z-a]",
                GlobError::ReversedRange {
                    pattern: "é[z-a]".into(),
                    offset: 3,
                    first: 'z',
                    last: 'a',
                },
                "invalid file glob `é[z-a]` at character 3: the range z-a runs backwards; write it as a-z",
            ),
        ];
        for (pattern, error, message) in cases {
            let (e, msg) = file_err(pattern);
            assert_eq!(&e, error, "{pattern:?}");
            assert_eq!(&msg, message, "{pattern:?}");
        }
    }

    #[test]
    fn file_errors_in_every_position() {
        let kind = |p: &str| std::mem::discriminant(&FileGlob::new(p).unwrap_err());
        let of = |e: GlobError| std::mem::discriminant(&e);
        let dot = of(GlobError::DotSegment {
            pattern: String::new(),
            offset: 0,
        });
        let empty_seg = of(GlobError::EmptySegment {
            kind: GlobKind::File,
            pattern: String::new(),
            offset: 0,
        });
        let star = of(GlobError::PartialDoubleStar {
            kind: GlobKind::File,
            pattern: String::new(),
            offset: 0,
        });
        let unclosed = of(GlobError::UnclosedClass {
            pattern: String::new(),
            offset: 0,
        });
        let empty_class = of(GlobError::EmptyClass {
            pattern: String::new(),
            offset: 0,
        });
        let backslash = of(GlobError::TrailingBackslash {
            pattern: String::new(),
            offset: 0,
        });
        for p in [".", "..", "./a", "a/.", "a/./b", r"\.", r"\.\."] {
            assert_eq!(kind(p), dot, "{p:?}");
        }
        for p in ["a/", "a//", "a/b/"] {
            assert_eq!(kind(p), empty_seg, "{p:?}");
        }
        for p in ["a**", "**b", "***", "a/**x/b", "*/**.toml"] {
            assert_eq!(kind(p), star, "{p:?}");
        }
        // A class cannot span a `/`: a path segment never holds one.
        for p in ["[", "[a", "[!", "[a-", r"[\", r"[a\", "[a/b]", "[a-/]"] {
            assert_eq!(kind(p), unclosed, "{p:?}");
        }
        for p in ["[]", "[!]", "[]a]"] {
            assert_eq!(kind(p), empty_class, "{p:?}");
        }
        for p in [r"\", r"a\/b", r"a/b\"] {
            assert_eq!(kind(p), backslash, "{p:?}");
        }
        // Dots within a name are fine, and so are names made only of dots beyond `..`.
        for p in [".env", "a/.hidden/*", "...", "a..b", ".*"] {
            assert!(FileGlob::new(p).is_ok(), "{p:?}");
        }
    }

    #[test]
    fn file_error_messages_stay_on_one_line() {
        let msg = FileGlob::new("a\n/[z-\u{1}]").unwrap_err().to_string();
        assert!(!msg.contains('\n') && !msg.contains('\u{1}'), "{msg}");
        assert!(msg.contains(r"`a\u{a}/[z-\u{1}]`"), "{msg}");
        assert!(msg.contains(r"the range z-\u{1} runs backwards"), "{msg}");
    }

    #[test]
    fn file_pathological_patterns_finish() {
        let many_a = "a".repeat(5_000);
        assert!(!fg("*a*a*a*a*a*a*b").matches(&many_a));
        assert!(fg("*a*a*a*a*a*a*").matches(&many_a));
        let deep = vec!["a"; 2_000].join("/");
        assert!(!fg("**/**/**/**/x").matches(&deep));
        assert!(fg("**/**/**/**/a").matches(&deep));
        assert!(!fg("**/a/**/a/**/a/**/b/**").matches(&deep));
    }

    #[test]
    fn value_literal_paths() {
        value_cases(
            "database.password",
            &["database.password"],
            &[
                "database",
                "database.password.x",
                "x.database.password",
                "database.Password",
            ],
        );
        value_cases(
            r#""dotted.key".x"#,
            &[r#""dotted.key".x"#],
            &["dotted.key.x"],
        );
        value_cases(
            "servers[0].secret",
            &["servers[0].secret"],
            &["servers[1].secret"],
        );
        value_cases("[2][0]", &["[2][0]"], &["[2]", "[2][1]"]);
    }

    #[test]
    fn value_wildcards_in_keys() {
        value_cases(
            "*.api_key",
            &["stripe.api_key", r#""a.b".api_key"#, r#""".api_key"#],
            &["api_key", "a.b.api_key", "[0].api_key"],
        );
        value_cases(
            "stripe.*",
            &["stripe.secret", r#"stripe."with space""#],
            &["stripe", "stripe.a.b", "stripe[0]"],
        );
        value_cases(
            "db_*_token",
            &["db__token", "db_read_token"],
            &["db_token", "xdb_a_token"],
        );
        value_cases("key?", &["key1", r#""keyé""#], &["key", "key12"]);
        value_cases("*", &["a", r#""x.y""#], &["a.b", "[0]"]);
    }

    #[test]
    fn value_quoted_keys_are_literal() {
        value_cases(r#""*""#, &[r#""*""#], &["a"]);
        value_cases(r#""a?".b"#, &[r#""a?".b"#], &["ab.b"]);
        value_cases(r#""**".x"#, &[r#""**".x"#], &["x", "a.x"]);
        value_cases(r#""q\"\\""#, &[r#""q\"\\""#], &["q"]);
    }

    #[test]
    fn value_double_star_takes_any_segments() {
        value_cases(
            "**.token",
            &["token", "a.token", "a[0].b.token", "[3].token"],
            &["token.x", "a.tokens"],
        );
        value_cases("a.**.b", &["a.b", "a.x.b", "a[1][2].b"], &["a", "b", "a.x"]);
        value_cases(
            "stripe.**",
            &["stripe", "stripe.a", "stripe.a[0].b"],
            &["stripes.a"],
        );
        value_cases("**", &["a", "a.b[0]", "[0]"], &[]);
        assert!(pg("**").matches(&ValuePath::root()));
        value_cases("**[*]", &["a[0]", "[1]", "a.b[2]"], &["a", "a[0].b"]);
    }

    #[test]
    fn value_indexes() {
        value_cases(
            "servers[*].secret",
            &["servers[0].secret", "servers[41].secret"],
            &["servers.secret", "servers.x.secret", "servers[0][1].secret"],
        );
        value_cases("[*]", &["[0]", "[7]"], &["a"]);
        value_cases("a[10]", &["a[10]"], &["a[1]", "a[0]"]);
    }

    #[test]
    fn value_matches_or_under_covers_prefixes() {
        let g = pg("stripe");
        assert!(g.matches_or_under(&vp("stripe")));
        assert!(g.matches_or_under(&vp("stripe.secret_key")));
        assert!(g.matches_or_under(&vp("stripe.a[0].b")));
        assert!(!g.matches_or_under(&vp("stripes.secret_key")));
        assert!(!g.matches_or_under(&vp("x.stripe")));
        assert!(!g.matches_or_under(&ValuePath::root()));
        let g = pg("servers[*]");
        assert!(g.matches_or_under(&vp("servers[2].password")));
        assert!(!g.matches_or_under(&vp("servers")));
        let g = pg("**.tls");
        assert!(g.matches_or_under(&vp("a.b.tls.key")));
        assert!(!g.matches_or_under(&vp("a.b.tlsx.key")));
        assert!(pg("**").matches_or_under(&ValuePath::root()));
    }

    #[test]
    fn value_glob_traits() {
        let g = pg("*.api_key");
        assert_eq!(g.as_str(), "*.api_key");
        assert_eq!(g.to_string(), "*.api_key");
        assert_eq!(format!("{g:?}"), r#"PathGlob("*.api_key")"#);
        assert_eq!(g.clone(), g);
        assert_ne!(g, pg("*.api_token"));
        assert_eq!("*.api_key".parse::<PathGlob>(), Ok(g));
    }

    #[test]
    fn value_errors_name_the_problem_and_the_fix() {
        const HINT: &str = " (write value globs like database.password, *.api_key, **.token, servers[*].secret or \"dotted.key\".x)";
        let syntax = |pattern: &str, offset, message| GlobError::ValueSyntax {
            pattern: pattern.into(),
            offset,
            message,
        };
        let cases: Vec<(&str, GlobError, String)> = vec![
            (
                "",
                GlobError::Empty { kind: GlobKind::Value },
                "invalid value glob: the glob is empty; write a value path, like database.password, *.api_key or **.token".into(),
            ),
            (
                "a..b",
                GlobError::EmptySegment { kind: GlobKind::Value, pattern: "a..b".into(), offset: 2 },
                "invalid value glob `a..b` at character 3: empty segment (a doubled, leading or trailing '.'); write keys between dots, like database.password".into(),
            ),
            (
                ".a",
                GlobError::EmptySegment { kind: GlobKind::Value, pattern: ".a".into(), offset: 0 },
                "invalid value glob `.a` at character 1: empty segment (a doubled, leading or trailing '.'); write keys between dots, like database.password".into(),
            ),
            (
                "a.",
                GlobError::EmptySegment { kind: GlobKind::Value, pattern: "a.".into(), offset: 2 },
                "invalid value glob `a.` at character 3: empty segment (a doubled, leading or trailing '.'); write keys between dots, like database.password".into(),
            ),
            (
                "a.b**",
                GlobError::PartialDoubleStar { kind: GlobKind::Value, pattern: "a.b**".into(), offset: 3 },
                "invalid value glob `a.b**` at character 4: '**' must be a whole segment; use * within a key (*_token) and ** between dots for any depth (**.token)".into(),
            ),
            (
                r#""abc.d"#,
                syntax(r#""abc.d"#, 0, "unterminated quoted key"),
                format!("invalid value glob `\"abc.d` at character 1: unterminated quoted key{HINT}"),
            ),
            (
                r#""a\x""#,
                syntax(r#""a\x""#, 2, "only \\\" and \\\\ escapes are allowed"),
                format!("invalid value glob `\"a\\x\"` at character 3: only \\\" and \\\\ escapes are allowed{HINT}"),
            ),
            (
                "servers[*",
                syntax("servers[*", 7, "'[' without ']'"),
                format!("invalid value glob `servers[*` at character 8: '[' without ']'{HINT}"),
            ),
            (
                "a[01]",
                syntax("a[01]", 2, "an index is a decimal number without leading zeros"),
                format!("invalid value glob `a[01]` at character 3: an index is a decimal number without leading zeros{HINT}"),
            ),
            (
                "a[x]",
                syntax("a[x]", 2, "an index is a decimal number without leading zeros"),
                format!("invalid value glob `a[x]` at character 3: an index is a decimal number without leading zeros{HINT}"),
            ),
            (
                "a[99999999999999999999999]",
                syntax("a[99999999999999999999999]", 2, "index out of range"),
                format!("invalid value glob `a[99999999999999999999999]` at character 3: index out of range{HINT}"),
            ),
            (
                "a.[0]",
                syntax("a.[0]", 2, "a key must follow '.'"),
                format!("invalid value glob `a.[0]` at character 3: a key must follow '.'{HINT}"),
            ),
            (
                r#"a"b""#,
                syntax(r#"a"b""#, 1, "expected '.' or '[' between segments"),
                format!("invalid value glob `a\"b\"` at character 2: expected '.' or '[' between segments{HINT}"),
            ),
            (
                "[0]a",
                syntax("[0]a", 3, "expected '.' or '[' between segments"),
                format!("invalid value glob `[0]a` at character 4: expected '.' or '[' between segments{HINT}"),
            ),
            (
                "clé.x",
                syntax("clé.x", 2, "unexpected character; quote keys that are not A-Z a-z 0-9 _ - or the wildcards * ?"),
                format!("invalid value glob `clé.x` at character 3: unexpected character; quote keys that are not A-Z a-z 0-9 _ - or the wildcards * ?{HINT}"),
            ),
        ];
        for (pattern, error, message) in cases {
            let e = PathGlob::new(pattern).unwrap_err();
            assert_eq!(e, error, "{pattern:?}");
            assert_eq!(e.to_string(), message, "{pattern:?}");
        }
        for p in ["***", "**a", "a**", "*.**x"] {
            assert!(
                matches!(PathGlob::new(p), Err(GlobError::PartialDoubleStar { .. })),
                "{p:?}"
            );
        }
    }

    #[test]
    fn value_pathological_patterns_finish() {
        let long_key = ValuePath::from_segments(vec![Segment::Key("a".repeat(5_000))]);
        assert!(!pg("*a*a*a*a*a*a*b").matches(&long_key));
        let deep = ValuePath::from_segments(vec![Segment::Key("a".into()); 2_000]);
        assert!(!pg("**.**.**.**.x").matches(&deep));
        assert!(pg("**.**.**.**.a").matches(&deep));
        assert!(!pg("**.x.**").matches_or_under(&deep));
    }

    // A reference matcher for file globs: the glob rewritten as a regular
    // expression over the whole text and matched by naive backtracking. Far too
    // slow for real use, but obviously right on small inputs.
    #[derive(Debug)]
    enum Re {
        Lit(char),
        NotSlash(Option<(bool, Vec<char>)>),
        NoSlashRun,
        AnyRun,
        OptDirs,
    }

    fn reference_tokens(pattern: &str) -> Vec<Re> {
        let segs: Vec<&str> = pattern.split('/').collect();
        let mut out = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            if *seg == "**" {
                // Trailing `**` is `.*` (one or more segments after the '/'),
                // any other is `(.*/)?`, which takes its '/' with it.
                out.push(if last { Re::AnyRun } else { Re::OptDirs });
                continue;
            }
            let mut chars = seg.chars();
            while let Some(c) = chars.next() {
                out.push(match c {
                    '*' => Re::NoSlashRun,
                    '?' => Re::NotSlash(None),
                    '[' => {
                        let mut set: Vec<char> = chars.by_ref().take_while(|&c| c != ']').collect();
                        let negated = set.first() == Some(&'!');
                        if negated {
                            set.remove(0);
                        }
                        Re::NotSlash(Some((negated, set)))
                    }
                    c => Re::Lit(c),
                });
            }
            if !last {
                out.push(Re::Lit('/'));
            }
        }
        out
    }

    fn reference_match(re: &[Re], s: &[char]) -> bool {
        let Some((first, rest)) = re.split_first() else {
            return s.is_empty();
        };
        match first {
            Re::Lit(c) => s.first() == Some(c) && reference_match(rest, &s[1..]),
            Re::NotSlash(class) => {
                s.first().is_some_and(|&c| {
                    c != '/'
                        && class
                            .as_ref()
                            .is_none_or(|(neg, set)| *neg != set.contains(&c))
                }) && reference_match(rest, &s[1..])
            }
            Re::NoSlashRun => (0..=s.len())
                .take_while(|&k| k == 0 || s[k - 1] != '/')
                .any(|k| reference_match(rest, &s[k..])),
            Re::AnyRun => (0..=s.len()).any(|k| reference_match(rest, &s[k..])),
            Re::OptDirs => {
                reference_match(rest, s)
                    || (1..=s.len()).any(|k| s[k - 1] == '/' && reference_match(rest, &s[k..]))
            }
        }
    }

    fn small_file_glob() -> impl Strategy<Value = String> {
        let name = proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("*"),
                Just("?"),
                Just("[a]"),
                Just("[!a]")
            ],
            1..4,
        )
        .prop_map(|parts| parts.concat())
        .prop_filter("'**' inside a segment", |s| !s.contains("**"));
        proptest::collection::vec(prop_oneof![1 => Just("**".to_string()), 3 => name], 1..4)
            .prop_map(|segs| segs.join("/"))
    }

    // A small reference for value globs: naive recursion over segments.
    #[derive(Clone, Debug)]
    enum RefStep {
        AnyDepth,
        Key(&'static str),
        AnyIndex,
        Index(usize),
    }

    fn reference_key(pattern: &[char], key: &[char]) -> bool {
        match pattern.split_first() {
            None => key.is_empty(),
            Some(('*', rest)) => (0..=key.len()).any(|k| reference_key(rest, &key[k..])),
            Some((c, rest)) => key.first() == Some(c) && reference_key(rest, &key[1..]),
        }
    }

    fn reference_value(steps: &[RefStep], path: &[Segment]) -> bool {
        let Some((first, rest)) = steps.split_first() else {
            return path.is_empty();
        };
        match first {
            RefStep::AnyDepth => (0..=path.len()).any(|k| reference_value(rest, &path[k..])),
            step => {
                path.first().is_some_and(|seg| match (step, seg) {
                    (RefStep::Key(p), Segment::Key(k)) => {
                        let (p, k): (Vec<char>, Vec<char>) =
                            (p.chars().collect(), k.chars().collect());
                        reference_key(&p, &k)
                    }
                    (RefStep::AnyIndex, Segment::Index(_)) => true,
                    (RefStep::Index(n), Segment::Index(m)) => n == m,
                    _ => false,
                }) && reference_value(rest, &path[1..])
            }
        }
    }

    fn written(steps: &[RefStep]) -> String {
        let mut out = String::new();
        for (i, step) in steps.iter().enumerate() {
            let dot = if i > 0 { "." } else { "" };
            match step {
                RefStep::AnyDepth => out.push_str(&format!("{dot}**")),
                RefStep::Key(k) => out.push_str(&format!("{dot}{k}")),
                RefStep::AnyIndex => out.push_str("[*]"),
                RefStep::Index(n) => out.push_str(&format!("[{n}]")),
            }
        }
        out
    }

    fn small_value_steps() -> impl Strategy<Value = Vec<RefStep>> {
        proptest::collection::vec(
            prop_oneof![
                Just(RefStep::AnyDepth),
                Just(RefStep::Key("a")),
                Just(RefStep::Key("b")),
                Just(RefStep::Key("*")),
                Just(RefStep::Key("a*")),
                Just(RefStep::Key("*b*")),
                Just(RefStep::AnyIndex),
                Just(RefStep::Index(0)),
                Just(RefStep::Index(1)),
            ],
            1..5,
        )
    }

    fn small_value_path() -> impl Strategy<Value = ValuePath> {
        proptest::collection::vec(
            prop_oneof![
                Just(Segment::Key("a".into())),
                Just(Segment::Key("b".into())),
                Just(Segment::Key("ab".into())),
                Just(Segment::Key("".into())),
                Just(Segment::Index(0)),
                Just(Segment::Index(1)),
            ],
            0..6,
        )
        .prop_map(ValuePath::from_segments)
    }

    fn path_segment() -> impl Strategy<Value = String> {
        "[^/]{1,8}".prop_filter("dot segment", |s| s != "." && s != "..")
    }

    fn any_segment() -> impl Strategy<Value = Segment> {
        prop_oneof![
            any::<String>().prop_map(Segment::Key),
            "[a-z*?._-]{0,6}".prop_map(Segment::Key),
            (0usize..100).prop_map(Segment::Index),
        ]
    }

    fn escape_all(s: &str) -> String {
        s.chars()
            .flat_map(|c| if c == '/' { vec![c] } else { vec!['\\', c] })
            .collect()
    }

    proptest! {
        #[test]
        fn escaped_literal_matches_exactly_that_path(
            a in proptest::collection::vec(path_segment(), 1..4),
            b in proptest::collection::vec(path_segment(), 1..4),
        ) {
            let (a, b) = (a.join("/"), b.join("/"));
            let glob = FileGlob::new(&escape_all(&a)).unwrap();
            prop_assert!(glob.matches(&a));
            prop_assert_eq!(glob.matches(&b), a == b);
            let (longer, deeper) = (format!("{a}x"), format!("x/{a}"));
            prop_assert!(!glob.matches(&longer));
            prop_assert!(!glob.matches(&deeper));
        }

        #[test]
        fn star_matches_every_single_segment(s in "[^/]{1,30}", t in "[^/]{0,5}/[^/]{0,5}") {
            prop_assert!(fg("*").matches(&s));
            prop_assert!(!fg("*").matches(&t));
        }

        #[test]
        fn double_star_matches_every_path(segs in proptest::collection::vec(path_segment(), 1..8)) {
            let path = segs.join("/");
            prop_assert!(fg("**").matches(&path));
            prop_assert!(fg("**/*").matches(&path));
            let under = format!("top/{path}");
            prop_assert!(fg("top/**").matches(&under));
        }

        #[test]
        fn file_glob_agrees_with_the_reference(pattern in small_file_glob(), path in "[ab/]{1,8}") {
            let glob = FileGlob::new(&pattern).unwrap();
            let chars: Vec<char> = path.chars().collect();
            let expected = reference_match(&reference_tokens(&pattern), &chars);
            prop_assert_eq!(glob.matches(&path), expected, "{} vs {}", pattern, path);
        }

        #[test]
        fn value_glob_agrees_with_the_reference(steps in small_value_steps(), path in small_value_path()) {
            let pattern = written(&steps);
            let glob = PathGlob::new(&pattern).unwrap();
            let segs = path.segments();
            prop_assert_eq!(glob.matches(&path), reference_value(&steps, segs), "{} vs {}", pattern, path);
            let under = (0..=segs.len()).any(|k| reference_value(&steps, &segs[..k]));
            prop_assert_eq!(glob.matches_or_under(&path), under, "{} under {}", pattern, path);
        }

        #[test]
        fn written_value_path_is_a_glob_for_exactly_that_path(
            segs in proptest::collection::vec(any_segment(), 1..5),
            other in proptest::collection::vec(any_segment(), 0..5),
        ) {
            let path = ValuePath::from_segments(segs);
            let shown = path.to_string();
            // Control characters are displayed escaped (not parseable back); skip them.
            prop_assume!(!shown.contains("\\u{"));
            let glob = PathGlob::new(&shown).unwrap();
            prop_assert!(glob.matches(&path));
            let other = ValuePath::from_segments(other);
            prop_assert_eq!(glob.matches(&other), other == path);
            let child = path.child(Segment::Index(0));
            prop_assert!(!glob.matches(&child));
            prop_assert!(glob.matches_or_under(&child));
        }

        #[test]
        fn star_runs_never_blow_up(stars in 1usize..16, len in 0usize..400) {
            // Naive backtracking would try about len^stars ways.
            let pattern = format!("{}*b", "*a".repeat(stars));
            let text = "a".repeat(len);
            prop_assert!(!fg(&pattern).matches(&text));
            let key = ValuePath::from_segments(vec![Segment::Key(text)]);
            prop_assert!(!pg(&pattern).matches(&key));
        }

        #[test]
        fn double_star_runs_never_blow_up(stars in 1usize..16, depth in 0usize..300) {
            let file = format!("{}x", "**/".repeat(stars));
            let path = vec!["a"; depth.max(1)].join("/");
            prop_assert!(!fg(&file).matches(&path));
            let value = format!("{}x", "**.".repeat(stars));
            let deep = ValuePath::from_segments(vec![Segment::Key("a".into()); depth]);
            prop_assert!(!pg(&value).matches(&deep));
            prop_assert!(!pg(&value).matches_or_under(&deep));
        }

        #[test]
        fn parsing_and_matching_never_panic(pattern in ".{0,24}", path in ".{0,24}") {
            if let Ok(glob) = FileGlob::new(&pattern) {
                let _ = glob.matches(&path);
            }
            if let Ok(glob) = PathGlob::new(&pattern) {
                let _ = glob.matches(&ValuePath::from_segments(vec![Segment::Key(path)]));
            }
        }

        #[test]
        fn glob_syntax_never_panics(pattern in r#"[\\/\[\]!*?.a"0-9-]{0,16}"#, path in "[a/.*]{0,12}") {
            if let Ok(glob) = FileGlob::new(&pattern) {
                let _ = glob.matches(&path);
            }
            if let Ok(glob) = PathGlob::new(&pattern) {
                let _ = glob.matches_or_under(&ValuePath::root());
            }
        }
    }
}
