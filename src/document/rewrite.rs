//! A document rewritten in one pass over its nodes, and the fingerprint that
//! proves the rewritten text has the structure the original had.
//!
//! Sealing and opening replace scalar values by other texts. The re-parse check of
//! `spec/format.md` asks that the new text hold exactly the old nodes, with each
//! scalar where the replacements put it. Comparing two tables of nodes would hold
//! two copies of every path in memory at once; instead each side is reduced, as its
//! nodes stream past, to a SHA-256 over the sequence of (document, kind, path,
//! scalar span), and the two digests are compared. A plaintext that would add,
//! remove, rename or move a node changes the sequence, and matching the digest of
//! another sequence would need a SHA-256 collision.

use std::ops::Range;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Error;
use crate::format::{Format, FormatError, Node, NodeSink};
use crate::path::{Segment, ValuePath};

/// A running digest of a document's structure.
#[derive(Default)]
pub(crate) struct Structure(Sha256);

impl Structure {
    /// Adds one node; `span` is where a scalar's text is (ignored for containers,
    /// whose extent follows from what they hold).
    pub(crate) fn add(&mut self, node: &Node, span: Range<usize>) {
        // Every field has a fixed width or a length before it, so two different
        // sequences never feed the hash the same bytes.
        let h = &mut self.0;
        h.update(node.document.to_le_bytes());
        h.update([node.shape()]);
        h.update((node.path.segments().len() as u64).to_le_bytes());
        for segment in node.path.segments() {
            match segment {
                Segment::Key(k) => {
                    h.update([0]);
                    h.update((k.len() as u64).to_le_bytes());
                    h.update(k.as_bytes());
                }
                Segment::Index(i) => {
                    h.update([1]);
                    h.update((*i as u64).to_le_bytes());
                }
            }
        }
        if node.is_scalar() {
            h.update((span.start as u64).to_le_bytes());
            h.update((span.end as u64).to_le_bytes());
        }
    }

    /// The digest of the nodes added so far.
    pub(crate) fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// What a [`Rewriter`] holds once every node has passed.
pub(crate) struct Rewritten {
    /// The new text.
    pub(crate) text: Zeroizing<String>,
    /// The structure the new text must have: the old nodes, each scalar at the
    /// place its replacement (or its unchanged text) was written.
    pub(crate) expected: [u8; 32],
    /// Each replaced value, if recorded: its span in the old text and in the new
    /// one, in order.
    pub(crate) replaced: Vec<(Range<usize>, Range<usize>)>,
}

impl Rewritten {
    /// The new text, once it is shown to have the structure expected of it. A
    /// text that does not is an error saying `bug`: when values are replaced by
    /// cachet's own tokens, only a bug in a format module can change the
    /// structure, and writing the result would corrupt the user's file.
    pub(crate) fn checked(
        self,
        format: Format,
        bug: &'static str,
    ) -> Result<Zeroizing<String>, Error> {
        if !verify(format, &self, None).0 {
            return Err(FormatError::CannotInsert {
                path: ValuePath::root(),
                reason: bug,
            }
            .into());
        }
        Ok(self.text)
    }
}

/// Copies a document to a new text as its nodes stream past, with some scalars
/// replaced, and fingerprints the structure the copy must have.
pub(crate) struct Rewriter<'t> {
    text: &'t str,
    out: Zeroizing<String>,
    /// How much of `text` is accounted for in `out`.
    copied: usize,
    expected: Structure,
    /// The replaced values, when asked for (see [`Rewriter::recording`]).
    replaced: Option<Vec<(Range<usize>, Range<usize>)>>,
}

impl<'t> Rewriter<'t> {
    /// A rewriter of `text` whose result is expected to take about `capacity`
    /// bytes. Opening never lengthens a text (a token is longer than the plaintext
    /// it holds), so an opened text is written into `text.len()` bytes and never
    /// moved, which would leave a copy of the plaintexts in freed memory.
    pub(crate) fn new(text: &'t str, capacity: usize) -> Self {
        Rewriter {
            text,
            out: Zeroizing::new(String::with_capacity(capacity)),
            copied: 0,
            expected: Structure::default(),
            replaced: None,
        }
    }

    /// Also notes where each replaced value was and went, so that a failed check
    /// can be traced to a value.
    pub(crate) fn recording(mut self) -> Self {
        self.replaced = Some(Vec::new());
        self
    }

    /// Passes a node on: a container as it is, a scalar as its own text or, with
    /// `replacement`, as that text.
    pub(crate) fn node(&mut self, node: &Node, replacement: Option<&str>) -> Result<(), Error> {
        if !node.is_scalar() {
            self.expected.add(node, 0..0);
            return Ok(());
        }
        let span = node.span.clone();
        let Some(before) = self.text.get(self.copied..span.start) else {
            // The scanners give scalars in text order; anything else is a bug in
            // one, and copying on would corrupt the file.
            return Err(FormatError::CannotInsert {
                path: ValuePath::root(),
                reason: "a value came out of order while the file was read (please report this as a bug)",
            }
            .into());
        };
        self.out.push_str(before);
        let start = self.out.len();
        match replacement {
            Some(r) => {
                self.out.push_str(r);
                if let Some(r) = &mut self.replaced {
                    r.push((span.clone(), start..self.out.len()));
                }
            }
            None => self.out.push_str(&self.text[span.clone()]),
        }
        self.copied = span.end;
        self.expected.add(node, start..self.out.len());
        Ok(())
    }

    /// The new text, once the scan has given every node.
    pub(crate) fn finish(mut self) -> Rewritten {
        self.out.push_str(&self.text[self.copied..]);
        Rewritten {
            text: self.out,
            expected: self.expected.finish(),
            replaced: self.replaced.unwrap_or_default(),
        }
    }
}

/// One pass of a document operation over a document's nodes: it may refuse a
/// node (a value that does not open, a value of another key).
pub(crate) trait Pass {
    /// Takes the next node (see [`NodeSink`] for their order).
    fn node(&mut self, node: Node) -> Result<(), Error>;
}

/// Scans `text` into `sink`; the sink's first error waits until the whole text
/// has been read, so that a document that does not parse is reported as such,
/// whatever the values before the fault hold.
pub(crate) fn scan_whole<S: Pass>(format: Format, text: &str, sink: S) -> Result<S, Error> {
    let mut whole = Whole { sink, error: None };
    format.scan_into(text, &mut whole)?;
    match whole.error {
        Some(e) => Err(e),
        None => Ok(whole.sink),
    }
}

/// A sink that keeps its inner sink's first error and passes nothing on after it.
struct Whole<S> {
    sink: S,
    error: Option<Error>,
}

impl<S: Pass> NodeSink for Whole<S> {
    fn node(&mut self, node: Node) {
        if self.error.is_none()
            && let Err(e) = self.sink.node(node)
        {
            self.error = Some(e);
        }
    }
}

/// A sink that fingerprints a document and can keep one scalar's node.
pub(crate) struct Fingerprint<'p> {
    structure: Structure,
    keep: Option<(u32, &'p ValuePath)>,
    /// The node at `keep`, once seen.
    pub(crate) kept: Option<Node>,
}

impl<'p> Fingerprint<'p> {
    /// A fingerprint that also keeps the node at `keep` (document, path).
    pub(crate) fn new(keep: Option<(u32, &'p ValuePath)>) -> Self {
        Fingerprint {
            structure: Structure::default(),
            keep,
            kept: None,
        }
    }

    /// The digest of every node scanned.
    pub(crate) fn finish(self) -> ([u8; 32], Option<Node>) {
        (self.structure.finish(), self.kept)
    }
}

impl NodeSink for Fingerprint<'_> {
    fn node(&mut self, node: Node) {
        self.structure.add(&node, node.span.clone());
        if self
            .keep
            .is_some_and(|(d, p)| node.document == d && node.path == *p)
        {
            self.kept = Some(node);
        }
    }
}

/// Whether `rewritten` scans, in `format`, to exactly the structure expected of
/// it; and the node at `keep` (document, path) of the new text, if there is one.
pub(crate) fn verify(
    format: Format,
    rewritten: &Rewritten,
    keep: Option<(u32, &ValuePath)>,
) -> (bool, Option<Node>) {
    let mut check = Fingerprint::new(keep);
    let scanned = format.scan_into(&rewritten.text, &mut check).is_ok();
    let (digest, kept) = check.finish();
    (scanned && digest == rewritten.expected, kept)
}

/// A replacement of the bytes `span` of a document by `text`.
pub(crate) struct Splice<'a> {
    pub(crate) span: Range<usize>,
    pub(crate) text: &'a str,
}

/// Applies splices (sorted by position, not overlapping) to `text`.
pub(crate) fn splice(text: &str, splices: &[Splice<'_>]) -> Zeroizing<String> {
    // Exactly the result's length: a growing (or over-reserved) buffer would leave
    // copies of plaintext behind in freed memory, and costs memory on large files.
    let len = splices
        .iter()
        .fold(text.len(), |n, s| n - s.span.len() + s.text.len());
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut at = 0;
    for s in splices {
        out.push_str(&text[at..s.span.start]);
        out.push_str(s.text);
        at = s.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether `new` has exactly the nodes of `old`, with every scalar where the splices
/// put it: the same paths, the same kinds, and each scalar's span equal to its old
/// span moved by the splices before it (or, for a spliced one, to the new text).
/// With `added`, `new` may also hold that path and the tables that lead to it.
pub(crate) fn same_structure(
    old: &[Node],
    new: &[Node],
    splices: &[Splice<'_>],
    added: Option<&ValuePath>,
) -> bool {
    let is_added = |n: &Node| {
        added.is_some_and(|a| a.starts_with(&n.path))
            && !old
                .iter()
                .any(|o| o.document == n.document && o.path == n.path)
    };
    let mut a: Vec<&Node> = old.iter().collect();
    let mut b: Vec<&Node> = new.iter().filter(|n| !is_added(n)).collect();
    if a.len() != b.len() {
        return false;
    }
    a.sort_by(|x, y| (x.document, &x.path).cmp(&(y.document, &y.path)));
    b.sort_by(|x, y| (x.document, &x.path).cmp(&(y.document, &y.path)));
    let growth: Vec<isize> = std::iter::once(0)
        .chain(splices.iter().scan(0isize, |g, s| {
            *g += s.text.len() as isize - s.span.len() as isize;
            Some(*g)
        }))
        .collect();
    a.iter().zip(b.iter()).all(|(o, n)| {
        o.document == n.document
            && o.path == n.path
            && o.shape() == n.shape()
            && (!o.is_scalar() || moved(&o.span, splices, &growth) == n.span)
    })
}

/// Where the bytes `span` end up after the splices (sorted by position, not
/// overlapping). `growth[i]` is how much the first `i` splices lengthen the text;
/// a binary search finds the splices before `span`, so checking a large document
/// stays O(n log m).
fn moved(span: &Range<usize>, splices: &[Splice<'_>], growth: &[isize]) -> Range<usize> {
    let before = splices.partition_point(|s| s.span.end <= span.start && s.span != *span);
    let start = span.start.wrapping_add_signed(growth[before]);
    match splices.get(before) {
        Some(s) if s.span == *span => start..start + s.text.len(),
        _ => start..span.end.wrapping_add_signed(growth[before]),
    }
}

/// Replaces the scalars whose spans the splices (sorted by position) name by the
/// splices' texts, in one pass, and checks the structure of the result (the
/// re-parse check). Gives the new text if it kept the structure, and the path of
/// the last value replaced.
pub(crate) fn replace_values(
    format: Format,
    text: &str,
    splices: &[Splice<'_>],
) -> Result<(Option<Zeroizing<String>>, Option<ValuePath>), Error> {
    let pass = Replay {
        rewriter: Rewriter::new(text, text.len()),
        splices,
        next: 0,
        last: None,
    };
    let pass = scan_whole(format, text, pass)?;
    let rewritten = pass.rewriter.finish();
    // A splice that is not a scalar's span was not applied: not intact either.
    let intact = pass.next == splices.len() && verify(format, &rewritten, None).0;
    Ok((intact.then_some(rewritten.text), pass.last))
}

/// [`replace_values`]' pass over the nodes.
struct Replay<'r, 'a, 't> {
    rewriter: Rewriter<'t>,
    splices: &'r [Splice<'a>],
    next: usize,
    last: Option<ValuePath>,
}

impl Pass for Replay<'_, '_, '_> {
    fn node(&mut self, node: Node) -> Result<(), Error> {
        match self.splices.get(self.next) {
            Some(s) if node.is_scalar() && node.span == s.span => {
                self.next += 1;
                self.rewriter.node(&node, Some(s.text))?;
                self.last = Some(node.path);
                Ok(())
            }
            _ => self.rewriter.node(&node, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Splice, replace_values, same_structure, splice};
    use crate::format::Format;

    /// Every fixture of `testdata/` with its format.
    fn fixtures() -> Vec<(Format, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut out = Vec::new();
        for (dir, format) in [
            ("toml", Format::Toml),
            ("json", Format::Json),
            ("yaml", Format::Yaml),
            ("env", Format::Env),
        ] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for f in files {
                let format = if f.extension().is_some_and(|e| e == "jsonc") {
                    Format::Jsonc
                } else {
                    format
                };
                out.push((format, std::fs::read_to_string(f).unwrap()));
            }
        }
        out
    }

    /// Texts that keep a document's structure in some places and break it in
    /// others, in every format's syntax.
    const TEXTS: &[&str] = &[
        "x",
        "\"x\"",
        "'x'",
        "1",
        "true",
        "b, c",
        "\"a\", \"b\"",
        "x\ny = 1",
        "x\n[t]",
        "x # c",
        "[1]",
        "{a: 1}",
        "{\"a\": 1}",
        "x\n---\ny: 1",
        "- x",
        "a: b",
        "",
        "\"x\"\n",
        "x\\",
        "'a''b'",
        "|\n  a",
        "\"x\" # c",
        "x\r\ny=1",
        "[[t]]",
        "1,",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// The one-pass check (fingerprints of node sequences) accepts a document
        /// exactly when the check as `spec/format.md` 9.3 states it (the same
        /// nodes, each scalar where the splices put it) does.
        #[test]
        fn the_fingerprint_check_is_the_specified_check(
            file in any::<prop::sample::Index>(),
            picks in prop::collection::vec((any::<prop::sample::Index>(), 0..TEXTS.len()), 1..4),
        ) {
            let all = fixtures();
            let (format, text) = &all[file.index(all.len())];
            let nodes = format.scan(text).unwrap();
            let spans: Vec<_> = nodes
                .iter()
                .filter(|n| n.is_scalar())
                .map(|n| n.span.clone())
                .collect();
            prop_assume!(!spans.is_empty());
            let mut chosen: Vec<_> = picks
                .iter()
                .map(|(i, t)| (spans[i.index(spans.len())].clone(), TEXTS[*t]))
                .collect();
            chosen.sort_by_key(|(s, _)| s.start);
            chosen.dedup_by_key(|(s, _)| s.start);
            let splices: Vec<Splice<'_>> = chosen
                .iter()
                .map(|(span, t)| Splice { span: span.clone(), text: t })
                .collect();
            let specified = format
                .scan(&splice(text, &splices))
                .is_ok_and(|after| same_structure(&nodes, &after, &splices, None));
            let (out, _) = replace_values(*format, text, &splices).unwrap();
            prop_assert_eq!(out.is_some(), specified, "{:?} {:?}", format, chosen);
            if let Some(out) = out {
                let spliced = splice(text, &splices);
                prop_assert_eq!(out.as_str(), spliced.as_str());
            }
        }
    }
}
