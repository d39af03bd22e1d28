//! Helpers shared by the round-trip test suites: one test key, a sealer to it, the
//! selection that seals every value, and path parsing.

// Each test crate uses some of these.
#![allow(dead_code)]

use cachet::{Identities, Sealer, SecretKey, Selection, ValuePath};

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
