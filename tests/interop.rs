//! The known-answer vectors and the bundled example checked by a second, independent
//! implementation of the format (`tests/interop/cachet_ref.py`, written from
//! `spec/format.md` alone, in Python with the `cryptography` package).
//!
//! Where Python or its `cryptography` package is missing the test says so and passes
//! on a developer's machine; under CI (`CI` set) it fails instead, so the check
//! always runs there (`.ci/run` installs the package).

use std::path::Path;
use std::process::Command;

#[test]
fn an_independent_implementation_agrees_with_the_vectors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let has_deps = Command::new("python3")
        .args(["-c", "import cryptography, tomllib"])
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
        .arg(root.join("tests/interop/check_vectors.py"))
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
