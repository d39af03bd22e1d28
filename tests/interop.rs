//! The known-answer vectors and the bundled example checked by a second, independent
//! implementation of the formats, in Python with the `cryptography` package:
//! `tests/interop/cachet_ref.py` and `check_vectors.py`, written from
//! `spec/format.md` alone, and `tests/interop/check_protected_identity.py`, written
//! from `spec/identity.md` alone.
//!
//! Where Python or its `cryptography` package is missing the test says so and passes
//! on a developer's machine; under CI (`CI` set) it fails instead, so the check
//! always runs there (`.ci/run` installs the package).

use std::path::Path;
use std::process::Command;

/// Runs one checker script; it must exit 0 and end with "N passed, 0 failed".
fn run_checker(script: &str, modules: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let has_deps = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    if !has_deps {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with the `cryptography` package is required under CI"
        );
        eprintln!(
            "skipped: python3 >= 3.11 with `cryptography` is needed (python3 -m pip install cryptography)"
        );
        return;
    }
    let out = Command::new("python3")
        .arg(root.join("tests/interop").join(script))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{stdout}");
}

#[test]
fn an_independent_implementation_agrees_with_the_vectors() {
    run_checker("check_vectors.py", "cryptography, tomllib");
}

#[test]
fn an_independent_implementation_agrees_with_the_protected_identity_vectors() {
    // Argon2id arrived in `cryptography` 44.
    run_checker(
        "check_protected_identity.py",
        "cryptography, tomllib; from cryptography.hazmat.primitives.kdf.argon2 import Argon2id",
    );
}
