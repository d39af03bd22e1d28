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

/// Texts sealed (with the public key alone, as anyone may) into values of TOML,
/// JSON and YAML files in every kind of place, from an alphabet of each format's
/// syntax: whenever cachet opens such a file, Python's own loaders (tomllib, json,
/// PyYAML) read it with the same shape as the file with a plain value there
/// (`tests/interop/check_loaders.py`).
#[test]
fn python_loaders_read_what_cachet_opens() {
    use cachet::{Format, Place, Sealer, ValuePath};
    let (key, ids) = common::key();
    let recipient = key.public_key();
    // (format, file with `@` for the value, its path, its document, a plain value)
    let places: &[(Format, &str, &str, u32, &str)] = &[
        (Format::Toml, "a = @\nb = 1\n", "a", 0, "\"x\""),
        (Format::Toml, "[t]\nk = @\n[u]\nj = 2\n", "t.k", 0, "\"x\""),
        (Format::Toml, "q = [1, @]\n", "q[1]", 0, "\"x\""),
        (Format::Toml, "i = { k = @, j = 1 }\n", "i.k", 0, "\"x\""),
        (Format::Json, "{\"a\": @, \"b\": 1}\n", "a", 0, "\"x\""),
        (Format::Json, "{\"q\": [1, @]}\n", "q[1]", 0, "\"x\""),
        (Format::Json, "[@]\n", "[0]", 0, "\"x\""),
        (Format::Yaml, "a: @\nb: 1\n", "a", 0, "x"),
        (Format::Yaml, "m:\n  k: @\n", "m.k", 0, "x"),
        (Format::Yaml, "s:\n  - @\n", "s[0]", 0, "x"),
        (Format::Yaml, "f: {k: @, j: 1}\n", "f.k", 0, "x"),
        (Format::Yaml, "q: [1, @]\n", "q[1]", 0, "x"),
        (Format::Yaml, "---\nx: 1\n---\ny: @\n", "y", 1, "x"),
    ];
    let alphabet = |f: Format| -> &'static [&'static str] {
        match f {
            Format::Toml => &[
                "\"", "'", "\\", "\\e", "\\x41", "\\u0041", "\\n", "\n", "\r\n", "=", "[", "]",
                "{", "}", "#", ",", "1", "0x", "-", ":", "07:32", "T", "Z", ".", "e", "inf", "nan",
                "true", "'''", "\"\"\"", " ", "\t", "a",
            ],
            Format::Json => &[
                "\"", "\\", "\\u00", "\\ud800", "\\n", "\n", "[", "]", "{", "}", ":", ",", "1",
                "-", "+", ".", "e", "true", "null", "NaN", "Infinity", " ", "\t", "\u{7}", "/",
                "*", "a",
            ],
            _ => &[
                "\"", "'", "\\", ":", ": ", "#", " #", "-", "- ", "?", "[", "]", "{", "}", ",",
                "|", ">", "&", "*", "!", "%", "@", "`", "\n", "\r", "\t", " ", "\u{85}",
                "\u{2028}", "\u{feff}", "~", "null", "yes", "1", "---", "...", "a",
            ],
        }
    };
    // A fixed sequence (splitmix64), so a failure names a case that stays failing.
    let mut state = 0x5EED_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut cases = Vec::new();
    let mut tried = 0;
    for &(format, template, path, document, plain) in places {
        let pw: ValuePath = path.parse().unwrap();
        let letters = alphabet(format);
        for _ in 0..500 {
            let len = 1 + (next() % 10) as usize;
            let mut raw: String = (0..len)
                .map(|_| letters[(next() % letters.len() as u64) as usize])
                .collect();
            // Half in the format's quotes, where escapes and line breaks matter.
            if next() % 2 == 0 {
                raw = format!("\"{raw}\"");
            }
            let mut sealer = Sealer::new(&recipient).unwrap();
            let place = Place {
                format,
                document,
                path: &pw,
            };
            let token = sealer.seal(raw.as_bytes(), &place).unwrap();
            let literal = match format {
                Format::Yaml => token.to_string(),
                _ => format!("\"{token}\""),
            };
            tried += 1;
            if let Ok(opened) =
                cachet::open_document(format, &template.replace('@', &literal), &ids)
            {
                cases.push(serde_json::json!({
                    "format": format.name(),
                    "opened": opened.as_str(),
                    "plain": template.replace('@', plain),
                }));
            }
        }
    }
    // Some texts of every format open (a generator that only made refusals would
    // prove nothing).
    for f in ["toml", "json", "yaml"] {
        let n = cases.iter().filter(|c| c["format"] == f).count();
        assert!(n >= 50, "only {n} {f} texts opened");
    }
    eprintln!(
        "{} of {tried} sealed texts opened; Python reads each",
        cases.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_string(&cases).unwrap()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::run_python_check(
        &root.join("tests/interop/check_loaders.py"),
        &[file.as_os_str()],
        "tomllib, json, yaml",
        "the `pyyaml` package (python3 -m pip install pyyaml)",
    );
}
