//! The known-answer vectors and the bundled example checked by a second, independent
//! implementation of the formats, in Python with the `cryptography` package (and
//! PyYAML, a YAML 1.1 loader, for the per-value check of YAML vectors):
//! `tests/interop/cachet_ref.py` and `check_vectors.py`, written from
//! `spec/format.md` alone, and `tests/interop/check_protected_identity.py`, written
//! from `spec/identity.md` alone.
//!
//! Where Python or those packages are missing the test says so and passes
//! on a developer's machine; under CI (`CI` set) it fails instead, so the check
//! always runs there (`.ci/run` installs the package).

use std::path::Path;

use crate::common;

/// Runs one checker script of `tests/interop/`.
fn run_checker(script: &str, modules: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::run_python_check(
        &root.join("tests/interop").join(script),
        &[],
        modules,
        "the `cryptography` and `pyyaml` packages (python3 -m pip install cryptography pyyaml)",
    );
}

#[test]
fn an_independent_implementation_agrees_with_the_vectors() {
    run_checker("check_vectors.py", "cryptography, tomllib, yaml");
}

#[test]
fn an_independent_implementation_agrees_with_the_protected_identity_vectors() {
    // Argon2id arrived in `cryptography` 44.
    run_checker(
        "check_protected_identity.py",
        "cryptography, tomllib; from cryptography.hazmat.primitives.kdf.argon2 import Argon2id",
    );
}
