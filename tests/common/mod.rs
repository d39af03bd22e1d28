//! Helpers shared by the round-trip test suites: one test key, a sealer to it, the
//! selection that seals every value, and path parsing.

// Each test crate uses some of these.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use cachet::{Format, Identities, Sealer, SecretKey, Selection, ValuePath};

/// The test key and the identity set that holds it.
pub fn key() -> (SecretKey, Identities) {
    let k = SecretKey::from_bytes([7; 32]);
    let mut ids = Identities::new();
    ids.push(k.clone());
    (k, ids)
}

/// A sealer to the test key, as one sealing run.
pub fn sealer() -> Sealer {
    Sealer::new(&key().0.public_key()).unwrap()
}

/// Seal every value of the document.
pub fn all() -> Selection {
    Selection::Paths(vec![ValuePath::root()])
}

/// A path from its written form.
pub fn path(p: &str) -> ValuePath {
    p.parse().unwrap()
}

/// Every fixture file of `testdata/<dir>` whose name ends with one of
/// `extensions`, with its text, sorted by path.
pub fn fixture_files(dir: &str, extensions: &[&str]) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir);
    let mut out: Vec<(PathBuf, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    out
}

/// The lines of `text` that hold no part of a value at one of `paths` (a line
/// holding an empty value's empty span counts as touched: sealing changes it).
pub fn untouched_lines<'t>(format: Format, text: &'t str, paths: &[ValuePath]) -> Vec<&'t str> {
    let spans: Vec<_> = cachet::list_values(format, text)
        .unwrap()
        .into_iter()
        .filter(|v| paths.contains(&v.path))
        .map(|v| v.span)
        .collect();
    assert_eq!(spans.len(), paths.len());
    let mut out = Vec::new();
    let mut pos = 0;
    for line in text.split('\n') {
        let end = pos + line.len();
        let touched = spans
            .iter()
            .any(|s| s.start <= end && (s.end > pos || (s.is_empty() && s.start >= pos)));
        if !touched {
            out.push(line);
        }
        pos = end + 1;
    }
    out
}
