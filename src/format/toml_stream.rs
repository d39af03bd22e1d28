//! TOML nodes in text order, found without building a whole document.
//!
//! `toml_edit` keeps a token for every lexeme, an event for every token and a
//! formatted tree of the whole file: about fifteen times the text. This scanner
//! keeps the tokens and events of one top-level expression at a time (a header
//! line, or one `key = value` with all the lines of its value) and, for the rules
//! that span expressions (a key defined twice, a table defined twice, a dotted key
//! reaching into a `[table]`, …), a map of the keys seen so far that records only
//! what each key is, never its value.
//!
//! It accepts exactly what `toml_edit` accepts: lexing, syntax and the decoding of
//! keys and scalars are `toml_parser`'s, run as `toml_edit` runs them (with the
//! same whitespace validation and recursion limit), and the rules follow
//! `toml_edit`'s own checks, quirks included. On any rejection the error comes
//! from `toml_edit` itself (see [`scan_into`]), so the messages are the same.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::BuildHasher;
use std::ops::Range;

use toml_parser::decoder::ScalarKind;
use toml_parser::lexer::{Token, TokenKind};
use toml_parser::parser::{Event, EventKind, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, ParseError, Source, Span};
use zeroize::Zeroizing;

use super::FormatError;
use super::{Format, Node, NodeKind, NodeSink, PathBudget, line_column};
use crate::path::{Segment, ValuePath};

/// `toml_edit`'s limit on the nesting of arrays and inline tables, and on the
/// number of dotted parts before a key's last one.
const LIMIT: u32 = 80;

/// The root table's id.
const ROOT: u32 = 0;

/// Gives every node of the TOML document `text` to `sink`, in text order: a table
/// when its header or first dotted key appears, then the values. A bracketed
/// array or inline table is given with an empty span at its opening bracket, and
/// its end through [`NodeSink::container_end`] once its contents are given.
///
/// When the document is not valid the error is `toml::scan`'s (that is,
/// `toml_edit`'s): the error path parses the text again with it, so messages and
/// positions do not depend on which scanner found the problem.
pub(crate) fn scan_into(text: &str, sink: &mut impl NodeSink) -> Result<(), FormatError> {
    // The key map records where each key is with 31-bit offsets (a flag takes the
    // top bit). A TOML file of 2 GiB or more is not a configuration file, and
    // reading it another way would give its nodes in another order.
    if i32::try_from(text.len()).is_err() {
        return Err(FormatError::Parse {
            format: Format::Toml,
            line: 1,
            column: 1,
            message: "the file is 2 GiB or larger, more than cachet reads as TOML".into(),
        });
    }
    let mut scanner = Scanner::new(text, sink);
    match scanner.run() {
        Ok(()) => Ok(()),
        Err(Reject(at)) => Err(rejected(text, at)),
    }
}

/// The error for a document the scanner rejected at byte `at`: `toml::scan`'s,
/// or, should `toml_edit` accept the document, one saying the two disagree.
fn rejected(text: &str, at: usize) -> FormatError {
    match super::toml::scan(text) {
        Err(e) => e,
        Ok(_) => {
            let (line, column) = line_column(text, at);
            FormatError::Parse {
                format: Format::Toml,
                line,
                column,
                message: "the streaming TOML scanner rejects this document although the TOML \
                          parser accepts it (a bug in cachet; please report it)"
                    .into(),
            }
        }
    }
}

/// The scanner found the document invalid near this byte offset.
struct Reject(usize);

/// Records whether `toml_parser` reported any error: the message itself comes
/// from `toml_edit` later, so only the fact matters here.
#[derive(Default)]
struct Failed(bool);

impl ErrorSink for Failed {
    fn report_error(&mut self, _error: ParseError) {
        self.0 = true;
    }
}

/// What a key of a (non-inline) table is.
#[derive(Clone, Copy)]
enum Slot {
    /// A value: a scalar, an array written in brackets, or an inline table. All
    /// are closed to later keys and headers, so their contents need no record.
    Value,
    /// A table, by id.
    Table(u32),
    /// An array of tables: how many elements it has, and the id of the last one
    /// (the only one later headers and dotted keys can reach).
    Tables { len: u32, last: u32 },
}

/// How a table came to be, as far as the rules need it.
#[derive(Clone, Copy)]
struct Flags {
    /// Created only as the parent of a header or of a dotted key; a `[header]`
    /// may still define it (unless `dotted`).
    implicit: bool,
    /// An implicit table that a dotted key created or went through.
    dotted: bool,
}

/// What a key of an inline table is.
#[derive(Clone, Copy)]
enum InlineSlot {
    /// A value, including an inline table written in braces (closed).
    Value,
    /// A table made by a dotted key inside the braces, by id.
    Table(u32),
}

/// Where the decoded text of a recorded key is: a slice of the document (most
/// keys: bare ones, and quoted ones without escapes), or of [`KeyMap::owned`]
/// when the top bit of `len` is set.
#[derive(Clone, Copy)]
struct KeyText {
    start: u32,
    len: u32,
}

/// The flag in [`KeyText::len`] for keys held in [`KeyMap::owned`].
const OWNED: u32 = 1 << 31;

/// One key of one table: 24 bytes, where a general map of `(u32, String)` to
/// [`Slot`] would take twice that (plus the strings' allocations) for every key
/// of the document.
#[derive(Clone, Copy)]
struct KeyEntry {
    table: u32,
    key: KeyText,
    slot: Slot,
}

/// Every key of every (non-inline) table seen so far, by table id and decoded
/// key, keeping the keys' texts in the document where they can.
struct KeyMap<'t> {
    text: &'t str,
    /// The decoded texts of keys that are not slices of the document.
    owned: String,
    entries: hashbrown::HashTable<KeyEntry>,
    /// A keyed (`SipHash`) hasher, so that no document can make the map slow.
    hasher: RandomState,
}

impl<'t> KeyMap<'t> {
    fn new(text: &'t str) -> Self {
        KeyMap {
            text,
            owned: String::new(),
            entries: hashbrown::HashTable::new(),
            hasher: RandomState::new(),
        }
    }

    /// The text of a recorded key.
    fn text_of<'a>(text: &'a str, owned: &'a str, key: KeyText) -> &'a str {
        let (from, len) = if key.len & OWNED == 0 {
            (text, key.len)
        } else {
            (owned, key.len & !OWNED)
        };
        let start = key.start as usize;
        from.get(start..start + len as usize).unwrap_or_default()
    }

    /// What `key` of table `table` is, if it exists.
    fn get(&self, table: u32, key: &str) -> Option<Slot> {
        let hash = self.hasher.hash_one((table, key));
        let (text, owned) = (self.text, self.owned.as_str());
        self.entries
            .find(hash, |e| {
                e.table == table && Self::text_of(text, owned, e.key) == key
            })
            .map(|e| e.slot)
    }

    /// Records that `key` of table `table` is `slot`.
    fn set(&mut self, table: u32, key: &str, slot: Slot) {
        let hash = self.hasher.hash_one((table, key));
        let (text, owned) = (self.text, self.owned.as_str());
        if let Some(e) = self.entries.find_mut(hash, |e| {
            e.table == table && Self::text_of(text, owned, e.key) == key
        }) {
            e.slot = slot;
            return;
        }
        let key = self.store(key);
        let (text, owned, hasher) = (self.text, self.owned.as_str(), &self.hasher);
        self.entries
            .insert_unique(hash, KeyEntry { table, key, slot }, |e| {
                hasher.hash_one((e.table, Self::text_of(text, owned, e.key)))
            });
    }

    /// Where a new key's text is kept: in place when it is a slice of the
    /// document, else appended to `owned`. Offsets fit in 31 bits because the
    /// document is shorter than 2 GiB, and `owned` holds at most one decoded key
    /// per key written in it, each no longer than its text.
    fn store(&mut self, key: &str) -> KeyText {
        // A key decoded without copying is a slice of the document: its offset is
        // the distance between the two pointers (compared, never dereferenced),
        // kept only if the document has the same text there.
        let start = (key.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        if let (Ok(start), Ok(len)) = (u32::try_from(start), u32::try_from(key.len()))
            && len & OWNED == 0
            && self
                .text
                .get(start as usize..(start as usize).saturating_add(len as usize))
                == Some(key)
        {
            return KeyText { start, len };
        }
        let start = u32::try_from(self.owned.len()).unwrap_or(u32::MAX);
        self.owned.push_str(key);
        let len = u32::try_from(key.len()).unwrap_or(0) & !OWNED;
        KeyText {
            start,
            len: len | OWNED,
        }
    }
}

/// A key's parts, decoded, each with the span of its text.
type Keys<'t> = Vec<(Cow<'t, str>, Span)>;

struct Scanner<'t, 's, S> {
    source: Source<'t>,
    sink: &'s mut S,
    /// How many nodes the sink has been given (the next node's index).
    given: usize,
    budget: PathBudget,
    failed: Failed,
    /// Every key of every table seen so far.
    keys: KeyMap<'t>,
    /// Each table's flags, by id.
    flags: Vec<Flags>,
    /// The table the current section's keys go in, and its path.
    section: u32,
    section_path: ValuePath,
    /// The keys of the inline tables of the current expression, by (inline table
    /// id, key); emptied after every expression.
    inline: HashMap<(u32, Cow<'t, str>), InlineSlot>,
    /// The next inline table id of the current expression.
    inline_next: u32,
}

/// The events of one expression, read past whitespace, comments and newlines
/// (the parser has already checked where those may be).
struct Cursor<'e> {
    events: &'e [Event],
    at: usize,
}

impl Cursor<'_> {
    fn is_trivia(kind: EventKind) -> bool {
        matches!(
            kind,
            EventKind::Whitespace | EventKind::Comment | EventKind::Newline
        )
    }

    /// The next event that is not trivia.
    fn next(&mut self) -> Option<Event> {
        while let Some(e) = self.events.get(self.at) {
            self.at += 1;
            if !Self::is_trivia(e.kind()) {
                return Some(*e);
            }
        }
        None
    }

    /// The kind of the next event that is not trivia, left unread.
    fn peek(&self) -> Option<EventKind> {
        self.events
            .get(self.at..)?
            .iter()
            .map(Event::kind)
            .find(|k| !Self::is_trivia(*k))
    }
}

impl<'t, 's, S: NodeSink> Scanner<'t, 's, S> {
    fn new(text: &'t str, sink: &'s mut S) -> Self {
        Scanner {
            source: Source::new(text),
            sink,
            given: 0,
            budget: PathBudget::new(text),
            failed: Failed::default(),
            keys: KeyMap::new(text),
            flags: vec![Flags {
                implicit: false,
                dotted: false,
            }],
            section: ROOT,
            section_path: ValuePath::root(),
            inline: HashMap::new(),
            inline_next: 0,
        }
    }

    /// Lexes the text one top-level expression at a time and scans each.
    fn run(&mut self) -> Result<(), Reject> {
        let mut lexer = self.source.lex();
        let mut tokens: Vec<Token> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        loop {
            // An expression ends at a line break outside brackets: arrays and
            // inline tables may span lines, strings are single tokens, and a
            // header's brackets close on its line. In a valid document this
            // cuts exactly where the parser would be between two expressions, so
            // parsing the pieces one by one is parsing the whole; in an invalid
            // one some piece fails, and the error path takes over.
            tokens.clear();
            let mut depth = 0usize;
            let mut at_end = false;
            for token in lexer.by_ref() {
                tokens.push(token);
                match token.kind() {
                    TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
                    TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                        depth = depth.saturating_sub(1);
                    }
                    TokenKind::Newline if depth == 0 => break,
                    TokenKind::Eof => {
                        at_end = true;
                        break;
                    }
                    _ => {}
                }
            }
            let Some(first) = tokens.first() else {
                return Ok(());
            };
            let start = first.span().start();
            events.clear();
            {
                // The same receivers, in the same order, as `toml_edit` uses.
                let mut validate = ValidateWhitespace::new(&mut events, self.source);
                let mut guard = RecursionGuard::new(&mut validate, LIMIT);
                toml_parser::parser::parse_document(&tokens, &mut guard, &mut self.failed);
            }
            if self.failed.0 {
                return Err(Reject(start));
            }
            self.expression(&events, start)?;
            self.inline.clear();
            self.inline_next = 0;
            if at_end {
                return Ok(());
            }
        }
    }

    /// One expression's events: a header, a key-value pair, or only trivia.
    fn expression(&mut self, events: &[Event], start: usize) -> Result<(), Reject> {
        let mut cur = Cursor { events, at: 0 };
        while let Some(event) = cur.next() {
            match event.kind() {
                kind @ (EventKind::StdTableOpen | EventKind::ArrayTableOpen) => {
                    let array = kind == EventKind::ArrayTableOpen;
                    let first = expect(&mut cur, EventKind::SimpleKey, start)?;
                    let keys = self.key(&mut cur, first)?;
                    let close = if array {
                        EventKind::ArrayTableClose
                    } else {
                        EventKind::StdTableClose
                    };
                    expect(&mut cur, close, start)?;
                    self.header(keys, array)?;
                }
                EventKind::SimpleKey => {
                    let keys = self.key(&mut cur, event)?;
                    expect(&mut cur, EventKind::KeyValSep, start)?;
                    let value = cur.next().ok_or(Reject(start))?;
                    self.key_value(keys, value, &mut cur)?;
                }
                _ => return Err(Reject(event.span().start())),
            }
        }
        Ok(())
    }

    /// A key starting at `first`, with its dotted parts.
    fn key(&mut self, cur: &mut Cursor<'_>, first: Event) -> Result<Keys<'t>, Reject> {
        let mut keys = vec![(self.decode_key(first)?, first.span())];
        while cur.peek() == Some(EventKind::KeySep) {
            cur.next();
            let part = expect(cur, EventKind::SimpleKey, first.span().start())?;
            keys.push((self.decode_key(part)?, part.span()));
        }
        // `toml_edit` refuses a key with this many dotted parts (a recursion limit).
        if keys.len() > LIMIT as usize {
            return Err(Reject(first.span().start()));
        }
        Ok(keys)
    }

    fn decode_key(&mut self, event: Event) -> Result<Cow<'t, str>, Reject> {
        let at = event.span().start();
        let raw = self.source.get(event).ok_or(Reject(at))?;
        let mut key = Cow::Borrowed("");
        raw.decode_key(&mut key, &mut self.failed);
        if self.failed.0 {
            return Err(Reject(at));
        }
        Ok(key)
    }

    /// The decoded text of a string scalar (`None` for other scalars), checked as
    /// `toml_edit` checks each kind of scalar.
    fn decode_scalar(&mut self, event: Event) -> Result<Option<Zeroizing<String>>, Reject> {
        let at = event.span().start();
        let reject = Reject(at);
        let raw = self.source.get(event).ok_or(Reject(at))?;
        let mut decoded = Cow::Borrowed("");
        let kind = raw.decode_scalar(&mut decoded, &mut self.failed);
        if self.failed.0 {
            return Err(reject);
        }
        match kind {
            ScalarKind::String => {
                return Ok(Some(match decoded {
                    Cow::Borrowed(s) => Zeroizing::new(s.to_owned()),
                    Cow::Owned(s) => Zeroizing::new(s),
                }));
            }
            ScalarKind::Boolean(_) => {}
            ScalarKind::DateTime => {
                decoded.parse::<toml_edit::Datetime>().map_err(|_| reject)?;
            }
            ScalarKind::Float => {
                let value = decoded.parse::<f64>().map_err(|_| reject)?;
                // An overflow to infinity is an error; `inf` itself is not.
                let digits = decoded.strip_prefix(['+', '-']).unwrap_or(&decoded);
                if value.is_infinite() && !digits.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(Reject(at));
                }
            }
            ScalarKind::Integer(radix) => {
                i64::from_str_radix(&decoded, radix.value()).map_err(|_| reject)?;
            }
        }
        Ok(None)
    }

    /// Gives a node to the sink (within the path budget); returns its index.
    fn node(
        &mut self,
        path: &ValuePath,
        kind: NodeKind,
        span: Range<usize>,
    ) -> Result<usize, Reject> {
        if !self.budget.take(path) {
            return Err(Reject(span.start));
        }
        self.sink.node(Node {
            document: 0,
            path: path.clone(),
            kind,
            span,
        });
        let index = self.given;
        self.given += 1;
        Ok(index)
    }

    /// A new table with `flags`; its id.
    fn new_table(&mut self, flags: Flags, at: usize) -> Result<u32, Reject> {
        // Ids are u32 to keep the key map small; 2^32 tables would take a text of
        // many gigabytes, which is refused rather than miscounted.
        let id = u32::try_from(self.flags.len()).map_err(|_| Reject(at))?;
        self.flags.push(flags);
        Ok(id)
    }

    fn flags(&mut self, id: u32, at: usize) -> Result<&mut Flags, Reject> {
        self.flags.get_mut(id as usize).ok_or(Reject(at))
    }

    /// Goes from `table` into its part `key` on the way to a header's or a dotted
    /// key's last part, and onto `path`: a missing table is created as an
    /// implicit one; an array of tables stands for its last element, as in
    /// `toml_edit`; a value cannot be gone through. A `dotted` key may only go
    /// through implicit tables (not ones a header defined), and marks them as
    /// made by dotted keys.
    fn enter(
        &mut self,
        table: u32,
        key: &str,
        at: usize,
        path: &mut ValuePath,
        dotted: bool,
    ) -> Result<u32, Reject> {
        path.push(Segment::Key(key.to_string()));
        match self.keys.get(table, key) {
            None => {
                let flags = Flags {
                    implicit: true,
                    dotted,
                };
                let id = self.new_table(flags, at)?;
                self.keys.set(table, key, Slot::Table(id));
                self.node(path, NodeKind::Table, 0..0)?;
                Ok(id)
            }
            Some(Slot::Table(id)) => {
                if dotted {
                    let flags = self.flags(id, at)?;
                    if !flags.implicit {
                        return Err(Reject(at));
                    }
                    flags.dotted = true;
                }
                Ok(id)
            }
            Some(Slot::Tables { len, last }) => {
                path.push(Segment::Index(len.saturating_sub(1) as usize));
                Ok(last)
            }
            Some(Slot::Value) => Err(Reject(at)),
        }
    }

    /// A `[header]` or `[[header]]`: the table it defines or the element it adds
    /// becomes the current section.
    fn header(&mut self, keys: Keys<'t>, array: bool) -> Result<(), Reject> {
        let Some(((last, last_span), parents)) = keys.split_last() else {
            return Err(Reject(0));
        };
        let at = last_span.start();
        let mut path = ValuePath::root();
        let mut table = ROOT;
        for (key, span) in parents {
            table = self.enter(table, key, span.start(), &mut path, false)?;
        }
        path.push(Segment::Key(last.to_string()));
        let explicit = Flags {
            implicit: false,
            dotted: false,
        };
        let slot = self.keys.get(table, last);
        let section = if array {
            let (len, element) = match slot {
                None => {
                    self.node(&path, NodeKind::Array, 0..0)?;
                    (1, self.new_table(explicit, at)?)
                }
                Some(Slot::Tables { len, .. }) => {
                    let len = len.checked_add(1).ok_or(Reject(at))?;
                    (len, self.new_table(explicit, at)?)
                }
                // A table or a value of that name exists (a bracketed array too).
                Some(_) => return Err(Reject(at)),
            };
            let entry = Slot::Tables { len, last: element };
            self.keys.set(table, last, entry);
            path.push(Segment::Index(len as usize - 1));
            self.node(&path, NodeKind::Table, 0..0)?;
            element
        } else {
            match slot {
                None => {
                    let id = self.new_table(explicit, at)?;
                    self.keys.set(table, last, Slot::Table(id));
                    self.node(&path, NodeKind::Table, 0..0)?;
                    id
                }
                // Only a table that exists because of headers below it may be
                // defined now; one made by dotted keys, or already defined by a
                // header, may not.
                Some(Slot::Table(id)) => {
                    let flags = self.flags(id, at)?;
                    if !flags.implicit || flags.dotted {
                        return Err(Reject(at));
                    }
                    flags.implicit = false;
                    id
                }
                Some(_) => return Err(Reject(at)),
            }
        };
        self.section = section;
        self.section_path = path;
        Ok(())
    }

    /// `key = value` in the current section.
    fn key_value(
        &mut self,
        keys: Keys<'t>,
        value: Event,
        cur: &mut Cursor<'_>,
    ) -> Result<(), Reject> {
        let Some(((last, last_span), parents)) = keys.split_last() else {
            return Err(Reject(value.span().start()));
        };
        let mut path = self.section_path.clone();
        let mut table = self.section;
        for (key, span) in parents {
            table = self.enter(table, key, span.start(), &mut path, true)?;
        }
        // The table a dotted key writes into must itself be implicit (so not the
        // element of an array of tables either).
        if !parents.is_empty() && !self.flags(table, last_span.start())?.implicit {
            return Err(Reject(last_span.start()));
        }
        if self.keys.get(table, last).is_some() {
            return Err(Reject(last_span.start()));
        }
        self.keys.set(table, last, Slot::Value);
        path.push(Segment::Key(last.to_string()));
        self.value(value, cur, &mut path)
    }

    /// A value starting at `event`, at `path`, with everything inside it.
    /// The recursion is bounded: the parser refuses more than [`LIMIT`] levels of
    /// nesting, and a refused expression never gets here.
    fn value(
        &mut self,
        event: Event,
        cur: &mut Cursor<'_>,
        path: &mut ValuePath,
    ) -> Result<(), Reject> {
        let span = event.span();
        match event.kind() {
            EventKind::Scalar => {
                let string = self.decode_scalar(event)?;
                self.node(path, NodeKind::Scalar { string }, span.start()..span.end())?;
            }
            EventKind::ArrayOpen => {
                let index = self.node(path, NodeKind::Array, span.start()..span.start())?;
                let mut i = 0;
                loop {
                    let e = cur.next().ok_or(Reject(span.start()))?;
                    match e.kind() {
                        EventKind::ArrayClose => {
                            self.sink.container_end(index, e.span().end());
                            break;
                        }
                        EventKind::ValueSep => {}
                        _ => {
                            path.push(Segment::Index(i));
                            self.value(e, cur, path)?;
                            path.pop();
                            i += 1;
                        }
                    }
                }
            }
            EventKind::InlineTableOpen => {
                let index = self.node(path, NodeKind::Table, span.start()..span.start())?;
                let id = self.inline_id(span.start())?;
                loop {
                    let e = cur.next().ok_or(Reject(span.start()))?;
                    match e.kind() {
                        EventKind::InlineTableClose => {
                            self.sink.container_end(index, e.span().end());
                            break;
                        }
                        EventKind::ValueSep => {}
                        EventKind::SimpleKey => {
                            let keys = self.key(cur, e)?;
                            expect(cur, EventKind::KeyValSep, e.span().start())?;
                            let value = cur.next().ok_or(Reject(e.span().start()))?;
                            self.inline_key_value(id, keys, value, cur, path)?;
                        }
                        _ => return Err(Reject(e.span().start())),
                    }
                }
            }
            _ => return Err(Reject(span.start())),
        }
        Ok(())
    }

    fn inline_id(&mut self, at: usize) -> Result<u32, Reject> {
        let id = self.inline_next;
        self.inline_next = id.checked_add(1).ok_or(Reject(at))?;
        Ok(id)
    }

    /// `key = value` inside the inline table `table` (at `path`).
    fn inline_key_value(
        &mut self,
        mut table: u32,
        keys: Keys<'t>,
        value: Event,
        cur: &mut Cursor<'_>,
        path: &mut ValuePath,
    ) -> Result<(), Reject> {
        let Some(((last, last_span), parents)) = keys.split_last() else {
            return Err(Reject(value.span().start()));
        };
        let depth = path.segments().len();
        // A dotted part makes a table (whose span, as in `toml_edit`, is the text of
        // the key that made it) or goes through one made so; it may not go into a
        // value, nor into a table written in braces.
        for (key, span) in parents {
            path.push(Segment::Key(key.to_string()));
            table = match self.inline.get(&(table, key.clone())).copied() {
                None => {
                    let id = self.inline_id(span.start())?;
                    self.inline
                        .insert((table, key.clone()), InlineSlot::Table(id));
                    self.node(path, NodeKind::Table, span.start()..span.end())?;
                    id
                }
                Some(InlineSlot::Table(id)) => id,
                Some(InlineSlot::Value) => return Err(Reject(span.start())),
            };
        }
        match self.inline.entry((table, last.clone())) {
            Entry::Occupied(_) => return Err(Reject(last_span.start())),
            Entry::Vacant(v) => {
                v.insert(InlineSlot::Value);
            }
        }
        path.push(Segment::Key(last.to_string()));
        self.value(value, cur, path)?;
        while path.segments().len() > depth {
            path.pop();
        }
        Ok(())
    }
}

/// The next event, which the parser guarantees is of `kind` in a document it
/// accepted; anything else is the scanner's mistake, reported as a rejection.
fn expect(cur: &mut Cursor<'_>, kind: EventKind, at: usize) -> Result<Event, Reject> {
    match cur.next() {
        Some(e) if e.kind() == kind => Ok(e),
        Some(e) => Err(Reject(e.span().start())),
        None => Err(Reject(at)),
    }
}

/// Checks this scanner against `toml::scan` (`toml_edit`) on `text`: both accept
/// with the same nodes (compared as sets: path, kind, span, decoded string) or both
/// reject with the same error; and the nodes come in the promised order (scalars
/// in increasing, non-overlapping spans; every container before what it holds).
/// The description of a difference quotes the input: it is for tests and fuzzing.
pub(crate) fn differential(text: &str) -> Result<(), String> {
    let old = super::toml::scan(text);
    let mut new = Vec::new();
    let result = scan_into(text, &mut new);
    let old = match (old, result) {
        (Err(a), Err(b)) if a.to_string() == b.to_string() => return Ok(()),
        (Err(a), Err(b)) => return Err(format!("errors differ: toml_edit {a}; streaming {b}")),
        (Err(a), Ok(())) => return Err(format!("toml_edit rejects ({a}), streaming accepts")),
        (Ok(_), Err(b)) => return Err(format!("toml_edit accepts, streaming rejects ({b})")),
        (Ok(old), Ok(())) => old,
    };
    check_order(&new)?;
    type Key = (ValuePath, usize, usize, u8, Option<String>);
    let key = |n: &Node| -> Key {
        (
            n.path.clone(),
            n.span.start,
            n.span.end,
            n.shape(),
            n.string().map(str::to_owned),
        )
    };
    let mut a: Vec<Key> = old.iter().map(key).collect();
    let mut b: Vec<Key> = new.iter().map(key).collect();
    a.sort();
    b.sort();
    if a != b {
        let first = a.iter().zip(&b).find(|(x, y)| x != y);
        return Err(format!(
            "nodes differ ({} from toml_edit, {} streaming); first difference: {first:?}",
            a.len(),
            b.len()
        ));
    }
    Ok(())
}

/// The order [`NodeSink`] promises, checked on a scan's nodes.
fn check_order(nodes: &[Node]) -> Result<(), String> {
    let mut containers = std::collections::HashSet::new();
    let mut last: Option<Range<usize>> = None;
    for (i, n) in nodes.iter().enumerate() {
        let segs = n.path.segments();
        for len in 1..segs.len() {
            let parent = ValuePath::from_segments(segs[..len].to_vec());
            if !containers.contains(&parent) {
                return Err(format!("node {i} ({}) comes before its parent", n.path));
            }
        }
        if n.is_scalar() {
            if let Some(prev) = &last
                && (n.span.start < prev.end || n.span.start <= prev.start)
            {
                return Err(format!("scalar {i} ({}) is out of text order", n.path));
            }
            last = Some(n.span.clone());
        } else if !containers.insert(n.path.clone()) {
            return Err(format!("container {} is given twice", n.path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agree(text: &str) {
        if let Err(e) = differential(text) {
            panic!("{text:?}: {e}");
        }
    }

    /// Each rule, with whether `toml_edit` accepts the document; the streaming
    /// scanner must decide the same, with the same nodes or the same error.
    #[test]
    fn every_rule_is_toml_edits() {
        let cases: &[(&str, bool)] = &[
            // Duplicate keys, however they are quoted.
            ("a = 1\na = 2\n", false),
            ("a = 1\n\"a\" = 2\n", false),
            ("a = 1\n'a' = 2\n", false),
            ("\"\\u0061\" = 1\na = 2\n", false),
            ("[\"\\u0061\"]\n[a]\n", false),
            ("\"\\u0061\".b = 1\n[a.c]\n[\"\\u0061\".b]\n", false),
            ("\"\\u0061\".b = 1\n[a.c]\n", true),
            ("[\"a\\\"b\"]\nx = 1\n[\"a\\u0022b\"]\n", false),
            ("a = 1\nb = 2\n", true),
            // A table defined twice.
            ("[a]\n[a]\n", false),
            ("[a]\nx = 1\n[b]\n[a]\n", false),
            ("[a.b]\n[a.b]\n", false),
            // A header for a table that only exists as the parent of another.
            ("[a.b]\n[a]\n", true),
            ("[a]\n[a.b]\n", true),
            ("[a.b]\n[a]\n[a]\n", false),
            ("[[x.y]]\n[x]\n", true),
            // Tables made by dotted keys cannot be defined by a header after, but can
            // hold sub-tables defined by headers.
            ("a.b = 1\n[a]\n", false),
            ("a.b = 1\n[a.c]\n", true),
            ("a.b.c = 1\n[a.b]\n", false),
            ("a.b.c = 1\n[a.b.d]\n", true),
            ("[t]\na.b = 1\n[t.a]\n", false),
            // Dotted keys cannot extend a table defined by a header.
            ("[a.b]\nx = 1\n[a]\nb.c = 1\n", false),
            ("[a.b]\n[a]\nb.c = 1\n", false),
            ("[a.b.c]\n[a]\nb.d = 1\n", true),
            ("[a.b.c]\n[a]\nb.d = 1\n[a.b]\n", false),
            ("[a]\nb.c = 1\nb.d = 2\n", true),
            ("[a.b]\n[a]\nb.c.d = 1\n", false),
            ("[a.b.c]\n[a]\nb.c.d = 1\n", false),
            ("[a.b.c]\n[a]\nb.e.d = 1\n[a.b.e]\n", false),
            // A key already holding a value cannot become a table.
            ("a = 1\n[a]\n", false),
            ("[a]\nb = 1\n[a.b]\n", false),
            ("a = 1\na.b = 2\n", false),
            ("a.b = 1\na = 2\n", false),
            ("a.b = 1\na.b.c = 2\n", false),
            ("a = 1\n[a.b]\n", false),
            // Inline tables are closed.
            ("a = {b = 1}\n[a]\n", false),
            ("a = {b = 1}\n[a.c]\n", false),
            ("a = {b = 1}\na.c = 2\n", false),
            ("a = {}\n[[a]]\n", false),
            // Inside an inline table: duplicates and dotted keys.
            ("a = {b = 1, b = 2}\n", false),
            ("a = {b.c = 1, b.d = 2}\n", true),
            ("a = {b.c = 1, b = 2}\n", false),
            ("a = {b = 1, b.c = 2}\n", false),
            ("a = {b = {}, b.c = 1}\n", false),
            ("a = {b.c = 1, b.c.d = 2}\n", false),
            ("a = {b = {c = 1, c = 2}}\n", false),
            ("a = [{b = 1, b = 2}]\n", false),
            ("a = [{b = 1}, {b = 2}]\n", true),
            // TOML 1.1: inline tables over several lines, trailing commas.
            ("a = {\n  b = 1,  # c\n  c = [\n    2,\n  ],\n}\n", true),
            // Static arrays and arrays of tables.
            ("a = [1]\n[[a]]\n", false),
            ("a = []\n[[a]]\n", false),
            ("a = [{}]\n[a.b]\n", false),
            ("a = [{}]\n[[a]]\n", false),
            ("[[a]]\n[a]\n", false),
            ("[a]\n[[a]]\n", false),
            ("a.b = 1\n[[a]]\n", false),
            ("[[a]]\n[[a]]\n[a.b]\nx = 1\n", true),
            ("[[a]]\n[[a.b]]\n[[a]]\n[[a.b]]\n[[a.b]]\n", true),
            ("[[a]]\n[a.b]\n[[a]]\n[a.b]\n", true),
            ("[[a]]\n[a.b]\n[a.b]\n", false),
            ("[[a]]\nb.c = 1\n[a.b]\n", false),
            // A dotted key reaching an array of tables goes to its last element, but
            // may not write into the element itself.
            ("[[t.a]]\n[t]\na.x = 1\n", false),
            ("[[t.a]]\n[t]\na.y.x = 1\n", true),
            ("[[a]]\nx = 1\n[[a]]\nx = 2\n", true),
            // Scalars: escapes, overflow, dates and times.
            ("a = \"\\e\\x41\\u00e9\\U0001F600\"\n", true),
            ("a = \"\\q\"\n", false),
            ("a = \"\\x4\"\n", false),
            ("t = 07:32\nd = 1979-05-27T07:32Z\n", true),
            ("a = 1979-13-27\n", false),
            ("a = 1979-05-27 07:32:00+01:00\n", true),
            ("a = 9223372036854775807\n", true),
            ("a = 9223372036854775808\n", false),
            ("a = -9223372036854775808\n", true),
            ("a = 1e999\n", false),
            (
                "a = -inf\nb = nan\nc = 1e3\nd = 0x1F\ne = 0o7\nf = 0b1\n",
                true,
            ),
            ("a = 01\n", false),
            ("a = True\n", false),
            // Strings that look like headers or keys.
            ("a = \"\"\"\n[x]\nb = 1\n\"\"\"\n[x]\nb = 1\n", true),
            ("a = '''\n[[y]]\n'''\n[[y]]\n", true),
            ("a = \"\"\"x\\\n   y\"\"\"\n", true),
            // Line ends, comments, a byte order mark, control characters.
            ("a = 1 # c\r\n[b] # d\r\nc = 2\r\n", true),
            ("a = 1\r", false),
            ("a = 1 # \u{7}\n", false),
            ("\u{feff}a = 1\n", true),
            ("a = 1", true),
            ("", true),
            ("# only\n\n# comments\n", true),
            // Syntax errors.
            ("a =\n", false),
            ("a = 1 2\n", false),
            ("[a\n", false),
            ("[a]]\n", false),
            ("a = [1,,2]\n", false),
            ("a = [1\nb = 2\n", false),
            ("a = {b}\n", false),
            ("a = {b = }\n", false),
            ("= 1\n", false),
            ("a.= 1\n", false),
            ("\"\"\"a\"\"\" = 1\n", false),
            ("}\n", false),
            // Empty and odd keys.
            ("\"\" = 1\n'' = 2\n", false),
            ("\"\" = 1\n[\"\".x]\n", false),
            ("\"a.b\" = 1\na.b = 2\n", true),
            ("1.2 = 3\n", true),
        ];
        for &(text, ok) in cases {
            assert_eq!(super::super::toml::scan(text).is_ok(), ok, "{text:?}");
            agree(text);
        }
    }

    /// `toml_edit`'s limits: 80 levels of arrays or inline tables, and keys of at
    /// most 80 dotted parts.
    #[test]
    fn recursion_limits_are_toml_edits() {
        for n in [79, 80, 81, 82] {
            agree(&format!("a = {}{}\n", "[".repeat(n), "]".repeat(n)));
            agree(&format!("a = {}{}\n", "{b=".repeat(n), "}".repeat(n)));
            let key = vec!["k"; n].join(".");
            agree(&format!("{key} = 1\n"));
            agree(&format!("[{key}]\n"));
            agree(&format!("[[{key}]]\n"));
            agree(&format!("a = {{{key} = 1}}\n"));
        }
    }

    /// The nodes come in text order, a table when its header or first dotted key
    /// appears; bracketed containers get their whole text as span.
    #[test]
    fn nodes_come_in_text_order() {
        let text =
            "x = 1\n[a.b]\ny = [1, {z = \"s\", w.v = 2}]\n[[c]]\nd.e = 'q'\n[[c]]\n[a]\nf = 3\n";
        let mut nodes = Vec::new();
        scan_into(text, &mut nodes).unwrap();
        let got: Vec<(String, u8, Range<usize>)> = nodes
            .iter()
            .map(|n| (n.path.to_string(), n.shape(), n.span.clone()))
            .collect();
        let at = |s: &str| text.find(s).unwrap();
        let span = |s: &str| at(s)..at(s) + s.len();
        let want = vec![
            ("x".to_string(), 2, span("1")),
            ("a".into(), 0, 0..0),
            ("a.b".into(), 0, 0..0),
            ("a.b.y".into(), 1, span("[1, {z = \"s\", w.v = 2}]")),
            ("a.b.y[0]".into(), 2, at("1,")..at("1,") + 1),
            ("a.b.y[1]".into(), 0, span("{z = \"s\", w.v = 2}")),
            ("a.b.y[1].z".into(), 2, span("\"s\"")),
            ("a.b.y[1].w".into(), 0, at("w.v")..at("w.v") + 1),
            ("a.b.y[1].w.v".into(), 2, at("2}")..at("2}") + 1),
            ("c".into(), 1, 0..0),
            ("c[0]".into(), 0, 0..0),
            ("c[0].d".into(), 0, 0..0),
            ("c[0].d.e".into(), 2, span("'q'")),
            ("c[1]".into(), 0, 0..0),
            ("a.f".into(), 2, span("3")),
        ];
        assert_eq!(got, want);
        assert_eq!(nodes[6].string(), Some("s"));
        assert_eq!(nodes[12].string(), Some("q"));
        agree(text);
    }

    #[test]
    fn errors_are_toml_edits_and_quote_nothing() {
        for text in [
            "password = \"hunter2\n",
            "a = 1\na = 2\n",
            "[x]\npassword = 'hunter2' 1\n",
        ] {
            let mut nodes = Vec::new();
            let e = scan_into(text, &mut nodes).unwrap_err();
            assert_eq!(
                e.to_string(),
                super::super::toml::scan(text).unwrap_err().to_string()
            );
            assert!(!e.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn the_path_budget_applies() {
        let key = "k".repeat(200_000);
        let zeros = vec!["0"; 2_000].join(",");
        let text = format!("{key} = [{zeros}]\n");
        match scan_into(&text, &mut Vec::new()) {
            Err(FormatError::Parse { message, .. }) => {
                assert_eq!(message, super::super::PATHS_TOO_LARGE)
            }
            other => panic!("{other:?}"),
        }
        agree(&text);
    }

    /// The pieces documents are made of: keys that collide in every spelling
    /// (few names, so that tables meet), headers, arrays of tables, inline tables
    /// and arrays over several lines, strings of every kind holding `[x]` lines and
    /// `=`, numbers, dates, comments; and now and then a line that is not TOML.
    fn key_part() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => prop::sample::select(vec!["a", "a", "a", "b", "b", "c"]),
            2 => prop::sample::select(vec![
                "\"a\"", "'b'", "\"a.b\"", "\"\\u0063\"", "\"\"", "x-1", "1",
            ]),
        ]
        .prop_map(String::from)
    }

    fn key() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                3 => prop::collection::vec(key_part(), 1..2),
                3 => prop::collection::vec(key_part(), 2..3),
                1 => prop::collection::vec(key_part(), 3..5),
            ],
            prop::sample::select(vec![".", ".", ".", " . ", "\t.\t"]),
        )
            .prop_map(|(parts, dot)| parts.join(dot))
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            30 => prop::sample::select(vec![
                "1", "-0", "+7", "0x1F", "0o7", "0b1", "1_000", "1.5", "1e3", "-2E-2",
                "inf", "-nan", "true", "false", "1979-05-27", "1979-05-27T07:32:00Z",
                "07:32", "07:32:00.5", "1979-05-27 07:32:00+01:00",
                "1979-05-27T07:32:00-08:00", "\"x\"", "\"\"",
                "\"\\e\\x41\\u00e9\\n\\t\\\"\"", "\"a = [x]\"", "'lit'", "'a\\b'", "''",
                "\"\"\"\n[x]\nk = 1\n\"\"\"", "\"\"\"a\\\n  b\"\"\"", "'''\n[[y]]\n'''",
                "'''x'''", "\"\"\"\"q\"\"\"\"",
            ]),
            1 => prop::sample::select(vec![
                "01", "9223372036854775808", "1.", ".5", "True", "1979-13-01", "1e999",
                "\"\\q\"", "1979-05-27T07:32:00-08", "\"\\x4\"",
            ]),
        ]
        .prop_map(String::from)
    }

    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (
                    prop::collection::vec(inner.clone(), 0..4),
                    any::<bool>(),
                    any::<bool>()
                )
                    .prop_map(|(values, lines, trailing)| {
                        let sep = if lines { ", # ] c\n  " } else { ", " };
                        let mut s = String::from(if lines { "[\n  " } else { "[" });
                        s.push_str(&values.join(sep));
                        if trailing && !values.is_empty() {
                            s.push(',');
                        }
                        s.push_str(if lines { "\n]" } else { "]" });
                        s
                    }),
                (
                    prop::collection::vec((key(), inner), 0..4),
                    any::<bool>(),
                    any::<bool>()
                )
                    .prop_map(|(pairs, lines, trailing)| {
                        let pairs: Vec<String> = pairs
                            .into_iter()
                            .map(|(k, v)| format!("{k} = {v}"))
                            .collect();
                        let sep = if lines { ",\n  " } else { ", " };
                        let mut s = String::from(if lines { "{\n  " } else { "{" });
                        s.push_str(&pairs.join(sep));
                        if trailing && !pairs.is_empty() {
                            s.push(',');
                        }
                        s.push_str(if lines { "\n}" } else { "}" });
                        s
                    }),
            ]
        })
    }

    /// The key of a key-value line: its last part is often a name of its own, so
    /// that not every document repeats a key.
    fn pair_key() -> impl Strategy<Value = String> {
        prop_oneof![
            1 => key(),
            1 => (prop::collection::vec(key_part(), 0..3), 0..1000u32).prop_map(|(mut parts, n)| {
                parts.push(format!("k{n}"));
                parts.join(".")
            }),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            5 => (pair_key(), value(), any::<bool>()).prop_map(|(k, v, comment)| {
                format!("{k} = {v}{}", if comment { "  # [x] = 1" } else { "" })
            }),
            3 => key().prop_map(|k| format!("[{k}]")),
            2 => key().prop_map(|k| format!("[[ {k} ]]")),
            1 => prop::sample::select(vec!["", "# [a] = b", "  \t"]).prop_map(String::from),
        ]
    }

    /// A line that is not TOML, or not quite.
    fn garbage() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "=",
            "[a",
            "a =",
            "}",
            "a = 1 2",
            "[a]]",
            "a = [1,,2]",
            "a = {b = 1,,}",
            "a = \"open",
            "a = 1\r",
            "\u{7}",
            "[]",
            "a = [",
            "a = {",
            "]",
            "a = {b}",
            "a = 1 # \u{7f}",
            "[a] b = 1",
            "a = \"\"\"x",
            "[[a]",
            "a = [1 2]",
        ])
        .prop_map(String::from)
    }

    pub(super) fn document() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(line(), 0..16),
            prop::option::weighted(0.2, (garbage(), any::<prop::sample::Index>())),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(mut lines, garbage, crlf, last_newline)| {
                if let Some((g, at)) = garbage {
                    let at = at.index(lines.len() + 1);
                    lines.insert(at, g);
                }
                let mut text = lines.join("\n");
                if last_newline {
                    text.push('\n');
                }
                if crlf {
                    text = text.replace('\n', "\r\n");
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Differential: the streaming scanner and `toml_edit` agree on every
        /// document, valid or not.
        #[test]
        fn agrees_with_toml_edit(text in document()) {
            let verdict = differential(&text);
            prop_assert!(verdict.is_ok(), "{:?}: {:?}", text, verdict);
        }
    }
}
