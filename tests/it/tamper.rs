//! The tamper matrix: for every format (TOML, YAML, JSON, .env), a real file
//! sealed by the `cachet` binary, every kind of tampering with one of its
//! tokens, and the documented outcome of each (spec/format.md, section 11):
//! the exit status, exactly one line on stderr naming the file and the value's
//! path, nothing on stdout, no secret anywhere, the input file unchanged and no
//! output file created.
//!
//! Every byte and every bit of one token per format is changed in process,
//! through the library (thousands of cases); a representative subset of those
//! positions, and every other kind of tampering, go through the binary.
//! tests/cli.rs has the first versions of some of these for TOML alone.

use std::fs;
use std::path::{Path, PathBuf};

use cachet::{Error, Format, Identities, OpenError, Place, Sealer, ValuePath};

use crate::common;
use common::{Out, key_id_of, run_cachet};

/// One format of the matrix: a plaintext file and the paths of its two secrets.
struct Case {
    format: Format,
    /// The file's extension, which tells cachet its format.
    ext: &'static str,
    plain: &'static str,
    /// The secrets of `plain`, which must never be printed where not asked for.
    secrets: &'static [&'static str],
    /// The value whose token is tampered with.
    pw: &'static str,
}

/// The secret at `api_token` in every format (so a token can be moved between
/// formats at one path), and a password at `pw`.
const CASES: &[Case] = &[
    Case {
        format: Format::Toml,
        ext: "toml",
        plain: "# service\napi_token = \"tok-TOML-4f1a9\"\n\n[database]\nhost = \"db.internal\"\npassword = \"pw-TOML-c0ffee\"  # rotated monthly\nport = 5432\n",
        secrets: &["tok-TOML-4f1a9", "pw-TOML-c0ffee"],
        pw: "database.password",
    },
    Case {
        format: Format::Yaml,
        ext: "yaml",
        plain: "# service\napi_token: tok-YAML-4f1a9\ndatabase:\n  host: db.internal\n  password: \"pw-YAML-c0ffee\"  # rotated monthly\n  port: 5432\n",
        secrets: &["tok-YAML-4f1a9", "pw-YAML-c0ffee"],
        pw: "database.password",
    },
    Case {
        format: Format::Json,
        ext: "json",
        plain: "{\n  \"api_token\": \"tok-JSON-4f1a9\",\n  \"database\": {\n    \"host\": \"db.internal\",\n    \"password\": \"pw-JSON-c0ffee\",\n    \"port\": 5432\n  }\n}\n",
        secrets: &["tok-JSON-4f1a9", "pw-JSON-c0ffee"],
        pw: "database.password",
    },
    Case {
        format: Format::Env,
        ext: "env",
        plain: "# service\napi_token=tok-ENV-4f1a9\nDB_HOST=db.internal\nexport DB_PASSWORD=pw-ENV-c0ffee  # rotated monthly\nDB_PORT=5432\n",
        secrets: &["tok-ENV-4f1a9", "pw-ENV-c0ffee"],
        pw: "DB_PASSWORD",
    },
];

/// Every secret of every case: none may appear in any output of a failure.
fn all_secrets() -> Vec<&'static str> {
    CASES
        .iter()
        .flat_map(|c| c.secrets.iter().copied())
        .collect()
}

/// A scratch directory with its own HOME, an environment key `a.key` and the key
/// of another environment `b.key`.
struct Sandbox {
    dir: tempfile::TempDir,
    a: String,
    b: String,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let keygen = |name: &str| {
            let o = run_cachet(dir.path(), dir.path(), &["keygen", "-o", name], b"", &[]);
            assert_eq!(o.code, 0, "{}", o.stderr);
            o.stdout.trim().to_string()
        };
        let a = keygen("a.key");
        let b = keygen("b.key");
        Sandbox { dir, a, b }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Out {
        run_cachet(self.dir.path(), self.dir.path(), args, stdin, &[])
    }

    /// The case's plaintext sealed by `cachet seal` to `recipient`.
    fn sealed(&self, case: &Case, recipient: &str) -> String {
        let name = format!("seal.{}", case.ext);
        fs::write(self.path(&name), case.plain).unwrap();
        let o = self.run(&["seal", &name, "-r", recipient], b"");
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(
            o.stderr,
            format!(
                "{name}: sealed 2 values to key id {} (0 already sealed)\n",
                key_id_of(recipient)
            )
        );
        let text = fs::read_to_string(self.path(&name)).unwrap();
        for s in case.secrets {
            assert!(!text.contains(s), "{s} is not sealed: {text}");
        }
        text
    }

    /// The identities of `a.key` (and `b.key` too with `both`).
    fn ids(&self, both: bool) -> Identities {
        let mut text = fs::read_to_string(self.path("a.key")).unwrap();
        if both {
            text.push_str(&fs::read_to_string(self.path("b.key")).unwrap());
        }
        Identities::parse(&text).unwrap()
    }
}

/// What a tampered file must give.
struct Expect<'a> {
    /// The exit status.
    code: i32,
    /// The value path the error line names (none for a document that does not parse).
    path: Option<&'a str>,
    /// A piece of the error line.
    want: &'a str,
}

/// Writes `text` as `t.<ext>`, runs `open` (to stdout and with `-o`) and `get`
/// of `path` on it with `keys`, and checks every outcome against `expect`.
/// Returns how many processes ran.
fn refused(sb: &Sandbox, case: &Case, text: &str, keys: &[&str], expect: &Expect<'_>) -> usize {
    let name = format!("t.{}", case.ext);
    let file = sb.path(&name);
    fs::write(&file, text).unwrap();
    let out = format!("out.{}", case.ext);
    let mut id_args = Vec::new();
    for k in keys {
        id_args.extend(["-i", k]);
    }
    let get_path = expect.path.unwrap_or(case.pw);
    let runs: [Vec<&str>; 3] = [
        [&["open", name.as_str()][..], &id_args].concat(),
        [&["open", name.as_str(), "-o", out.as_str()][..], &id_args].concat(),
        [&["get", name.as_str(), get_path][..], &id_args].concat(),
    ];
    for args in &runs {
        let o = sb.run(args, b"");
        let ctx = format!("{args:?} on {text:?}: {}", o.stderr);
        assert_eq!(o.code, expect.code, "exit status, {ctx}");
        assert_eq!(o.stdout, "", "stdout, {ctx}");
        assert_eq!(o.stderr.lines().count(), 1, "one line, {ctx}");
        assert!(o.stderr.ends_with('\n'), "{ctx}");
        assert!(
            o.stderr.starts_with(&format!("cachet: {name}: ")),
            "names the file, {ctx}"
        );
        if let Some(p) = expect.path {
            assert!(o.stderr.contains(&format!(": {p}: ")), "names {p}, {ctx}");
        }
        assert!(
            o.stderr.contains(expect.want),
            "wanted {:?}, {ctx}",
            expect.want
        );
        for s in all_secrets() {
            assert!(!o.stderr.contains(s), "secret leaked, {ctx}");
        }
        assert!(!sb.path(&out).exists(), "an output file was written, {ctx}");
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            text,
            "input changed, {ctx}"
        );
    }
    runs.len()
}

/// The token at `path` of `text` (without quotes).
fn token_of(format: Format, text: &str, path: &str) -> String {
    let span = span_of(format, text, path);
    text[span].trim_matches('"').to_string()
}

fn span_of(format: Format, text: &str, path: &str) -> std::ops::Range<usize> {
    let p: ValuePath = path.parse().unwrap();
    cachet::list_values(format, text)
        .unwrap()
        .into_iter()
        .find(|v| v.path == p)
        .unwrap_or_else(|| panic!("no {path} in {text}"))
        .span
}

/// `text` with the value at `path` replaced by the token text `token`, written
/// as cachet writes a token in that format.
fn with_token(format: Format, text: &str, path: &str, token: &str) -> String {
    let span = span_of(format, text, path);
    let literal = match format {
        Format::Yaml | Format::Env => token.to_string(),
        _ => format!("\"{token}\""),
    };
    format!("{}{literal}{}", &text[..span.start], &text[span.end..])
}

/// `text` with the token at `path` changed by `f`.
fn tamper(case: &Case, text: &str, path: &str, f: impl Fn(&str) -> String) -> String {
    let token = token_of(case.format, text, path);
    with_token(case.format, text, path, &f(&token))
}

/// The fields of a token: prefix+version, key id, sealed-at, payload.
fn fields(token: &str) -> (String, String, String, String) {
    let parts: Vec<&str> = token.split(':').collect();
    assert_eq!(parts.len(), 5, "{token}");
    (
        format!("{}:{}", parts[0], parts[1]),
        parts[2].to_string(),
        parts[3].to_string(),
        parts[4].to_string(),
    )
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Another character of the base64url alphabet in place of `c` (`A` for a
/// character outside it).
fn other_in_alphabet(c: u8) -> u8 {
    match B64URL.iter().position(|&a| a == c) {
        Some(i) => B64URL[(i + 1) % 64],
        None => b'A',
    }
}

fn replace_byte(token: &str, i: usize, b: u8) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = b;
    bytes
}

/// Every byte of one token per format changed, in process: every single-bit
/// flip, another character of the token alphabet, and two characters outside
/// it. Nothing ever opens; every error is one line without a secret; a change
/// that keeps the document well-formed fails as the value's own error.
#[test]
fn every_byte_and_bit_of_a_token_fails_to_open_in_every_format() {
    let sb = Sandbox::new();
    let ids = sb.ids(true);
    // failed at the path (open and get), parse errors, non-UTF-8, total, no token left
    let mut counts = [0usize; 5];
    for case in CASES {
        let sealed = sb.sealed(case, &sb.a);
        let token = token_of(case.format, &sealed, case.pw);
        let pw: ValuePath = case.pw.parse().unwrap();
        let mut check = |bytes: Vec<u8>, strict: bool| {
            counts[3] += 1;
            let Ok(t) = String::from_utf8(bytes) else {
                // Not UTF-8: no file holding it is read at all (exit 2).
                counts[2] += 1;
                return;
            };
            let doc = with_token(case.format, &sealed, case.pw, &t);
            if let Ok(opened) = cachet::open_document(case.format, &doc, &ids) {
                // Only a change that leaves no token at the path may open: a YAML
                // token whose first character became `#` is a comment, the same as
                // a deleted token (spec/format.md, section 13).
                let values = cachet::list_values(case.format, &doc).unwrap();
                assert!(
                    !values.iter().any(|v| v.path == pw && v.sealed.is_some()),
                    "{t:?} opened"
                );
                assert!(!strict, "{t:?}");
                assert!(!opened.contains(case.secrets[1]));
                counts[4] += 1;
                return;
            }
            for result in [
                cachet::open_document(case.format, &doc, &ids).map(|_| ()),
                cachet::get_value(case.format, &doc, &pw, &ids).map(|_| ()),
            ] {
                let e = result.expect_err(&format!("{t:?} opened"));
                let msg = e.to_string();
                assert!(!msg.contains('\n'), "{msg}");
                for s in all_secrets() {
                    assert!(!msg.contains(s), "{msg}");
                }
                match &e {
                    Error::Open { path, .. } if *path == pw => counts[0] += 1,
                    Error::Format(cachet::FormatError::Parse { .. }) if !strict => counts[1] += 1,
                    _ => panic!("{:?}: {t:?} gave {e:?}", case.format),
                }
            }
        };
        for i in 0..token.len() {
            let c = token.as_bytes()[i];
            for bit in 0..8 {
                // A flipped bit may make a quote, a blank or a line break, which
                // may break the document itself: then it does not parse (exit 2).
                check(replace_byte(&token, i, c ^ (1 << bit)), false);
            }
            check(replace_byte(&token, i, other_in_alphabet(c)), true);
            check(replace_byte(&token, i, b'.'), true);
            check(replace_byte(&token, i, b'='), true);
        }
    }
    eprintln!(
        "{} changed tokens: {} failed to open at their path (open and get), {} broke the document, {} were not UTF-8, {} left no token",
        counts[3], counts[0], counts[1], counts[2], counts[4]
    );
    assert!(counts[0] > 4 * 200 * 8);
}

/// Positions of every field of the token, through the binary.
#[test]
fn changed_characters_fail_through_the_binary() {
    let sb = Sandbox::new();
    let mut runs = 0;
    for case in CASES {
        let sealed = sb.sealed(case, &sb.a);
        let token = token_of(case.format, &sealed, case.pw);
        let n = token.len();
        // The prefix, the version, the key id, sealed-at, the payload's
        // ephemeral key, nonce, ciphertext and tag (its last characters).
        for i in [
            0,
            6,
            7,
            8,
            10,
            20,
            27,
            35,
            45,
            70,
            100,
            n / 2,
            n - 20,
            n - 2,
            n - 1,
        ] {
            let c = token.as_bytes()[i];
            for b in [other_in_alphabet(c), b'.'] {
                let text = tamper(case, &sealed, case.pw, |t| {
                    String::from_utf8(replace_byte(t, i, b)).unwrap()
                });
                let expect = Expect {
                    code: 1,
                    path: Some(case.pw),
                    want: "",
                };
                runs += refused(&sb, case, &text, &["a.key"], &expect);
            }
        }
    }
    // A token made invalid UTF-8 makes the file unreadable as text: exit 2.
    let case = &CASES[0];
    let sealed = sb.sealed(case, &sb.a);
    let at = sealed.find("cachet:").unwrap() + 30;
    let mut bytes = sealed.clone().into_bytes();
    bytes[at] ^= 0x80;
    fs::write(sb.path("t.toml"), &bytes).unwrap();
    let o = sb.run(&["open", "t.toml", "-i", "a.key"], b"");
    common::assert_refused(&o, 2, "t.toml: not UTF-8 text");
    assert_eq!(fs::read(sb.path("t.toml")).unwrap(), bytes);
    eprintln!("{runs} runs of the binary");
}

/// Truncated, extended, emptied and re-encoded tokens; edited key ids,
/// sealed-at times and versions.
#[test]
fn truncated_extended_and_edited_fields_give_their_documented_errors() {
    let sb = Sandbox::new();
    let b_id = {
        let r: cachet::PublicKey = sb.b.parse().unwrap();
        r.key_id().to_string()
    };
    let mut runs = 0;
    let mut cases = 0;
    for case in CASES {
        let sealed = sb.sealed(case, &sb.a);
        let token = token_of(case.format, &sealed, case.pw);
        let (head, kid, at, payload) = fields(&token);
        let n = token.len();
        let authentication = "altered, moved from another place, or sealed to another key";
        let malformed = "malformed sealed value";
        let mut table: Vec<(String, &[&str], &str)> = Vec::new();
        // Truncated: anywhere after the prefix (a cut inside `cachet:` leaves a
        // plain string, which is not a token; `check` reports plaintext where a
        // sealed value was).
        for cut in [
            8,
            9,
            10,
            18,
            26,
            27,
            43,
            44,
            60,
            n / 2,
            n - 43,
            n - 2,
            n - 1,
        ] {
            table.push((token[..cut].to_string(), &["a.key"], ""));
        }
        // Extended: one character (an impossible length), a whole 32-byte block
        // (a possible length, so the tag fails), another field, padding.
        table.push((format!("{token}A"), &["a.key"], malformed));
        table.push((format!("{token}{}", "A".repeat(43)), &["a.key"], ""));
        table.push((format!("{token}:AAAA"), &["a.key"], "expected cachet:v1:"));
        table.push((format!("{token}="), &["a.key"], "not canonical base64url"));
        // The payload deleted, or its field too.
        table.push((format!("{head}:{kid}:{at}:"), &["a.key"], malformed));
        table.push((
            format!("{head}:{kid}:{at}"),
            &["a.key"],
            "expected cachet:v1:",
        ));
        // Non-canonical base64url: trailing bits set, the standard alphabet.
        let last = *payload.as_bytes().last().unwrap();
        let bits = B64URL.iter().position(|&a| a == last).unwrap();
        let trailing = payload.len() * 6 % 8; // 0, 2 or 4 unused bits
        assert!(trailing > 0, "payload {payload} has no unused bits");
        let noncanonical = format!(
            "{}{}",
            &payload[..payload.len() - 1],
            B64URL[bits | 1] as char
        );
        assert_ne!(noncanonical, payload);
        table.push((
            format!("{head}:{kid}:{at}:{noncanonical}"),
            &["a.key"],
            "payload is not canonical base64url",
        ));
        let standard: String = payload
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        let standard = if standard == payload {
            format!("+{}", &payload[1..])
        } else {
            standard
        };
        table.push((
            format!("{head}:{kid}:{at}:{standard}"),
            &["a.key"],
            "payload is not canonical base64url",
        ));
        // The key id: another environment's (not held; held, then the tag fails,
        // since keys are never tried one after another), malformed.
        table.push((
            format!("{head}:{b_id}:{at}:{payload}"),
            &["a.key"],
            "no identity for key id",
        ));
        table.push((
            format!("{head}:{b_id}:{at}:{payload}"),
            &["a.key", "b.key"],
            authentication,
        ));
        table.push((
            format!("{head}:{}:{at}:{payload}", &kid[..15]),
            &["a.key"],
            "key id is not 16 canonical base64url characters",
        ));
        // Sealed-at: one second later (the tag fails), an invalid time.
        let secs = cachet::SealedAt::parse(&at).unwrap().unix();
        let later = cachet::SealedAt::from_unix(secs + 1).unwrap();
        table.push((
            format!("{head}:{kid}:{later}:{payload}"),
            &["a.key"],
            authentication,
        ));
        let earlier = cachet::SealedAt::from_unix(secs - 86_400 * 365).unwrap();
        table.push((
            format!("{head}:{kid}:{earlier}:{payload}"),
            &["a.key"],
            authentication,
        ));
        for bad in ["20261301T000000Z", "19691231T235959Z", "20260229T000000Z"] {
            table.push((
                format!("{head}:{kid}:{bad}:{payload}"),
                &["a.key"],
                "sealed-at is not a valid",
            ));
        }
        // The version: a later one (upgrade), malformed ones, a conflict marker
        // that is not one.
        let rest = format!("{kid}:{at}:{payload}");
        table.push((format!("cachet:v2:{rest}"), &["a.key"], "upgrade cachet"));
        table.push((format!("cachet:v01:{rest}"), &["a.key"], "upgrade cachet"));
        for v in ["V1", "v", "1", "vx"] {
            table.push((
                format!("cachet:{v}:{rest}"),
                &["a.key"],
                "unknown version field",
            ));
        }
        table.push((
            format!("cachet:conflict:{rest}"),
            &["a.key"],
            "a conflict marker holds exactly two tokens",
        ));
        for (tampered, keys, want) in &table {
            let text = with_token(case.format, &sealed, case.pw, tampered);
            // In YAML, a plain scalar ending in `:` before a blank is a key:
            // the document no longer parses (exit 2), which names the line.
            let broken = case.format == Format::Yaml && tampered.ends_with(':');
            let expect = if broken {
                Expect {
                    code: 2,
                    path: None,
                    want: "mapping values are not allowed",
                }
            } else {
                Expect {
                    code: 1,
                    path: Some(case.pw),
                    want,
                }
            };
            runs += refused(&sb, case, &text, keys, &expect);
            cases += 1;
        }
    }
    eprintln!("{cases} cases, {runs} runs of the binary");
}

/// Tokens swapped between two paths of one file, moved between formats at one
/// path, and brought from a file of another environment.
#[test]
fn swapped_and_moved_tokens_fail() {
    let sb = Sandbox::new();
    let sealed: Vec<String> = CASES.iter().map(|c| sb.sealed(c, &sb.a)).collect();
    let authentication = "altered, moved from another place, or sealed to another key";
    for (case, text) in CASES.iter().zip(&sealed) {
        // Swapped between the two paths of the file: the first one in the file
        // (api_token) is named.
        let tok = token_of(case.format, text, "api_token");
        let pw = token_of(case.format, text, case.pw);
        let swapped = with_token(
            case.format,
            &with_token(case.format, text, "api_token", &pw),
            case.pw,
            &tok,
        );
        let expect = Expect {
            code: 1,
            path: Some("api_token"),
            want: authentication,
        };
        refused(&sb, case, &swapped, &["a.key"], &expect);
        // One token at both paths (a copy, not a swap): the copy fails.
        let copied = with_token(case.format, text, case.pw, &tok);
        let expect = Expect {
            code: 1,
            path: Some(case.pw),
            want: authentication,
        };
        refused(&sb, case, &copied, &["a.key"], &expect);

        // Moved from each other format, at the same path: a token is bound to
        // its format (spec/format.md, section 6).
        for (other, other_text) in CASES.iter().zip(&sealed) {
            if other.ext == case.ext {
                continue;
            }
            let moved = with_token(
                case.format,
                text,
                "api_token",
                &token_of(other.format, other_text, "api_token"),
            );
            let expect = Expect {
                code: 1,
                path: Some("api_token"),
                want: authentication,
            };
            refused(&sb, case, &moved, &["a.key"], &expect);
        }

        // From the same file sealed for another environment (key b): the key id
        // names a key the deploy target of this environment does not hold.
        let foreign = token_of(case.format, &sb.sealed(case, &sb.b), case.pw);
        let mixed = with_token(case.format, text, case.pw, &foreign);
        let expect = Expect {
            code: 1,
            path: Some(case.pw),
            want: "no identity for key id",
        };
        refused(&sb, case, &mixed, &["a.key"], &expect);
        // Sealing or setting anything in such a file is refused for safety, and
        // the file stays as it is.
        let name = format!("t.{}", case.ext);
        let o = sb.run(&["set", &name, "api_token", "-r", &sb.a], b"new");
        common::assert_refused(&o, 1, &format!("{}: is sealed to key id", case.pw));
        let o = sb.run(&["seal", &name, "-r", &sb.a], b"");
        common::assert_refused(&o, 1, &format!("{}: is sealed to key id", case.pw));
        assert_eq!(fs::read_to_string(sb.path(&name)).unwrap(), mixed);
        // A holder of both keys opens it: the file name is not bound (spec/format.md,
        // section 13, "Substitution and rollback"); the key id shows whose it is.
        let o = sb.run(&["get", &name, case.pw, "-i", "a.key", "-i", "b.key"], b"");
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
}

/// A key given twice in the document, the second time with a sealed value, as
/// a loader that keeps the last one would read it: a parse error in every
/// format (exit 2) naming the line, never a guess.
#[test]
fn duplicate_keys_in_the_document_are_refused() {
    let sb = Sandbox::new();
    for case in CASES {
        let sealed = sb.sealed(case, &sb.a);
        let token = token_of(case.format, &sealed, case.pw);
        let line_of = |needle: &str| {
            let start = sealed[..sealed.find(needle).unwrap()].rfind('\n').unwrap() + 1;
            let end = start + sealed[start..].find('\n').unwrap() + 1;
            (start, end)
        };
        let (dup, after) = match case.format {
            Format::Toml => (format!("password = \"{token}\"\n"), "port = "),
            Format::Yaml => (format!("  password: {token}\n"), "port: "),
            Format::Json => (format!("    \"password\": \"{token}\",\n"), "\"port\": "),
            _ => (format!("DB_PASSWORD={token}\n"), "DB_PORT="),
        };
        let (start, _) = line_of(after);
        let text = format!("{}{dup}{}", &sealed[..start], &sealed[start..]);
        let expect = Expect {
            code: 2,
            path: None,
            want: "line ",
        };
        refused(&sb, case, &text, &["a.key"], &expect);
        // The duplicate of a plain key too.
        let host = match case.format {
            Format::Toml => "host = \"evil\"\n",
            Format::Yaml => "  host: evil\n",
            Format::Json => "    \"host\": \"evil\",\n",
            _ => "DB_HOST=evil\n",
        };
        let text = format!("{}{host}{}", &sealed[..start], &sealed[start..]);
        refused(&sb, case, &text, &["a.key"], &expect);
    }
}

/// Text that would inject structure when put back unquoted, in each format's
/// own syntax, and a marker none of them may echo.
const MARK: &str = "EVILMARK";

fn injections(format: Format) -> Vec<String> {
    let raws: &[&str] = match format {
        Format::Toml => &[
            "\"x\"\n[EVILMARK]\nk = \"v\"",
            "\"x\"\nEVILMARK = 1",
            "\"x\" # EVILMARK",
            "\"x\"\n[[EVILMARK]]",
            "{ EVILMARK = 1 }",
            "[\"EVILMARK\"]",
            "\"EVILMARK",
            "EVILMARK = 1",
            "\"x\"\r\nEVILMARK = 1",
            // TOML 1.1 only: Python's tomllib cannot read the opened file.
            "\"\\e[EVILMARK]\"",
            "\"\\x41EVILMARK\"",
        ],
        Format::Yaml => &[
            "x\nEVILMARK: 1",
            "x\n  EVILMARK: 1",
            "x # EVILMARK",
            "x\n---\nEVILMARK: 1",
            "{EVILMARK: 1}",
            "[EVILMARK]",
            "- EVILMARK",
            "&EVILMARK x",
            "*EVILMARK",
            "!!binary EVILMARK",
            "\"x\"\nEVILMARK: 1",
            "EVILMARK: 1",
            "'EVILMARK",
            "|\n  EVILMARK",
        ],
        Format::Json | Format::Jsonc => &[
            "\"x\", \"EVILMARK\": \"y\"",
            "\"x\"}, \"EVILMARK\": {\"y\": \"z\"",
            "{\"EVILMARK\": 1}",
            "[\"EVILMARK\"]",
            "\"x\" // EVILMARK",
            "\"EVILMARK",
            "EVILMARK",
            "1, 2",
        ],
        _ => &[
            "x\nEVILMARK=1",
            "x\nLD_PRELOAD=/tmp/EVILMARK.so",
            "\"x\"\nEVILMARK=1",
            "x #EVILMARK",
            "\"x\" EVILMARK",
            "'x'EVILMARK",
            "$EVILMARK",
            "x\rEVILMARK=1",
            "\"EVILMARK",
        ],
    };
    raws.iter().map(|r| r.to_string()).collect()
}

/// Raw texts that are exactly one value at the place, which open as they are.
fn honest(format: Format) -> Vec<&'static str> {
    match format {
        Format::Toml => vec!["\"x\"", "'lit'", "42", "\"a\\n[b]\""],
        Format::Yaml => vec!["x", "\"x: y\"", "'a # b'", "42"],
        Format::Json | Format::Jsonc => vec!["\"x\"", "\"a\\\",\\\"b\"", "42", "null"],
        _ => vec!["x", "'a b'", "\"a\\nB=1\""],
    }
}

/// A token sealed with nothing but the public key (as anyone may) whose text
/// would add keys, tables, lines, documents or variables when put back: open
/// and get refuse it; honest texts at the same place open byte for byte.
#[test]
fn forged_tokens_that_would_inject_structure_are_refused() {
    let sb = Sandbox::new();
    let recipient: cachet::PublicKey = sb.a.parse().unwrap();
    let mut count = 0;
    for case in CASES {
        let sealed = sb.sealed(case, &sb.a);
        let pw: ValuePath = case.pw.parse().unwrap();
        let forge = |raw: &str| {
            let mut sealer = Sealer::new(&recipient).unwrap();
            let place = Place {
                format: case.format,
                document: 0,
                path: &pw,
            };
            let token = sealer.seal(raw.as_bytes(), &place).unwrap();
            with_token(case.format, &sealed, case.pw, &token.to_string())
        };
        for raw in injections(case.format) {
            let text = forge(&raw);
            let expect = Expect {
                code: 1,
                path: Some(case.pw),
                want: "refused to open",
            };
            refused(&sb, case, &text, &["a.key"], &expect);
            // The library says the same, without the text.
            let ids = sb.ids(false);
            let e = cachet::open_document(case.format, &text, &ids).unwrap_err();
            assert!(
                matches!(&e, Error::Open { path, reason: OpenError::Refused(_) } if *path == pw),
                "{raw:?}: {e:?}"
            );
            assert!(!e.to_string().contains(MARK));
            count += 1;
        }
        let plain_ids = sb.ids(false);
        for raw in honest(case.format) {
            let text = forge(raw);
            fs::write(sb.path("h.txt"), &text).unwrap();
            let opened = cachet::open_document(case.format, &text, &plain_ids)
                .unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            let span = span_of(case.format, &text, case.pw);
            let expected = cachet::open_document(
                case.format,
                &format!("{}{raw}{}", &text[..span.start], &text[span.end..]),
                &plain_ids,
            )
            .unwrap();
            assert_eq!(opened.as_str(), expected.as_str(), "{raw:?}");
            assert!(opened.contains(raw), "{raw:?}");
        }
    }
    eprintln!("{count} forged injections refused");
}

/// A token whose prefix was damaged in any way, or text that holds `cachet:v`,
/// is never passed through as plain text: opening fails, naming the path.
#[test]
fn damaged_prefixes_fail_closed() {
    let sb = Sandbox::new();
    for case in CASES {
        let sealed = sb.sealed(case, &sb.a);
        let token = token_of(case.format, &sealed, case.pw);
        let rest = &token["cachet:".len()..];
        for damaged in [
            format!(" {token}"),
            format!("x{token}"),
            format!("cachet :{rest}"),
            format!("cache:{rest}"),
            format!("Cachet:{rest}"),
            format!("see {}", &token[..12]),
        ] {
            // Quoted in every format, so the white space stays part of the value.
            let span = span_of(case.format, &sealed, case.pw);
            let text = format!(
                "{}\"{damaged}\"{}",
                &sealed[..span.start],
                &sealed[span.end..]
            );
            let expect = Expect {
                code: 1,
                path: Some(case.pw),
                want: "malformed sealed value",
            };
            refused(&sb, case, &text, &["a.key"], &expect);
        }
    }
}

/// YAML literals that a YAML 1.1 loader (libyaml, as in PyYAML) and a 1.2 one
/// read differently, forged with the public key alone and put in every place a
/// value can take: block and flow, mapping values and sequence items, a later
/// document. Characters YAML 1.1 reads as line breaks (U+0085, U+2028, U+2029),
/// plain or quoted, and control characters are refused everywhere; a block
/// scalar is refused where YAML forbids it (inside `[ ]` or `{ }`) and opens
/// where it is allowed.
#[test]
fn yaml_literals_that_loaders_read_differently_are_refused_everywhere() {
    let sb = Sandbox::new();
    let case = CASES.iter().find(|c| c.format == Format::Yaml).unwrap();
    let recipient: cachet::PublicKey = sb.a.parse().unwrap();
    // (text with `@` where the token goes, its path, its document, and whether a
    // block scalar indented by two is allowed there: not in flow, nor where its
    // lines would not be indented more than the node's parent)
    let places: &[(&str, &str, u32, bool)] = &[
        ("a: @\nb: 1\n", "a", 0, true),
        ("m:\n  k: @\n  j: 2\n", "m.k", 0, false),
        ("s:\n  - @\n  - 2\n", "s[0]", 0, false),
        ("? z\n: @\n", "z", 0, true),
        ("f: {k: @, j: 1}\n", "f.k", 0, false),
        ("q: [1, @]\n", "q[1]", 0, false),
        ("n: [{k: @}]\n", "n[0].k", 0, false),
        ("---\nx: 1\n---\ny: @\n", "y", 1, true),
    ];
    let everywhere = [
        "x\u{85}admin:\u{85} true",
        "x\u{2028}admin: true",
        "x\u{2029}admin: true",
        "'x\u{85}admin: true'",
        "\"x\u{2028}y\"",
        "x\u{7}y",
        "x\u{feff}y",
        "|x",
    ];
    let block_only = ["|\n  x", ">-\n  x y"];
    let ids = sb.ids(false);
    let mut refusals = 0;
    for &(template, path, document, block_fits) in places {
        let pw: ValuePath = path.parse().unwrap();
        let forge = |raw: &str| {
            let mut sealer = Sealer::new(&recipient).unwrap();
            let place = Place {
                format: Format::Yaml,
                document,
                path: &pw,
            };
            let token = sealer.seal(raw.as_bytes(), &place).unwrap();
            template.replace('@', &token.to_string())
        };
        // The same place opens an honest value.
        let honest = forge("x");
        let opened = cachet::open_document(Format::Yaml, &honest, &ids).unwrap();
        assert_eq!(opened.as_str(), template.replace('@', "x"), "{template:?}");
        for raw in everywhere
            .iter()
            .chain(if block_fits { &[][..] } else { &block_only[..] })
        {
            let text = forge(raw);
            if document == 0 {
                let expect = Expect {
                    code: 1,
                    path: Some(path),
                    want: "refused to open",
                };
                refusals += refused(&sb, case, &text, &["a.key"], &expect);
            } else {
                // `get` names a later document with --document; `open` alone here.
                fs::write(sb.path("d.yaml"), &text).unwrap();
                let o = sb.run(&["open", "d.yaml", "-i", "a.key"], b"");
                assert_eq!(o.code, 1, "{raw:?}: {}", o.stderr);
                assert_eq!(o.stdout, "");
                assert!(
                    o.stderr
                        .starts_with(&format!("cachet: d.yaml: {path}: refused to open"))
                        && o.stderr.lines().count() == 1,
                    "{raw:?}: {}",
                    o.stderr
                );
                refusals += 1;
            }
            let e = cachet::open_document(Format::Yaml, &text, &ids).unwrap_err();
            assert!(
                matches!(&e, Error::Open { path, reason: OpenError::Refused(_) } if *path == pw),
                "{template:?} {raw:?}: {e:?}"
            );
        }
        if block_fits {
            for raw in block_only {
                let opened = cachet::open_document(Format::Yaml, &forge(raw), &ids)
                    .unwrap_or_else(|e| panic!("{template:?} {raw:?}: {e}"));
                assert_eq!(opened.as_str(), template.replace('@', raw));
            }
        }
    }
    eprintln!("{refusals} refusals of loader-dependent YAML");
    // Such a text in a plain file is not sealed either: one line, exit 2, the
    // file as it was.
    for (name, text) in [
        ("tab.yaml", "password: se\tcret\nok: 1\n"),
        ("nel.yaml", "password: se\u{85}cret\nok: 1\n"),
        ("esc.toml", "password = \"se\\ecret\"\nok = 1\n"),
    ] {
        fs::write(sb.path(name), text).unwrap();
        let o = sb.run(&["seal", name, "-r", &sb.a], b"");
        assert_eq!(o.code, 2, "{name}: {}", o.stderr);
        assert_eq!(
            o.stderr,
            format!(
                "cachet: {name}: password: invalid value: its text as written reads differently to common loaders of the format (spec/format.md section 8), so it would not open; write it quoted, with escapes\n"
            )
        );
        assert_eq!(fs::read_to_string(sb.path(name)).unwrap(), text);
    }
}

/// Values that hold each format's structural characters, stored with `set`
/// (only the public key) and read back with `get` exactly; the same values
/// written as literals by hand, sealed with `seal` and opened byte for byte.
#[test]
fn values_with_structural_characters_round_trip() {
    let sb = Sandbox::new();
    let values = [
        "\"\n[evil]\nk = \"",
        "\nEVIL=1",
        "x\nEVIL=1\n",
        "key: value",
        "- item",
        "# not a comment",
        "a #b",
        "\",\"x\":\"",
        "}{",
        "'",
        "\"",
        "]]",
        "---",
        "...",
        "&a *a !!str",
        "|",
        "> folded",
        "{a: 1}",
        "\t tab",
        "ünïcödé 🔒",
        "cachet-not-a-token",
        "a=b",
        "",
    ];
    for case in CASES {
        let name = format!("rt.{}", case.ext);
        let sealed = sb.sealed(case, &sb.a);
        fs::write(sb.path(&name), &sealed).unwrap();
        for v in values {
            let o = sb.run(&["set", &name, case.pw, "-r", &sb.a], v.as_bytes());
            // `set` drops one trailing line break, as from `echo`.
            let stored = v.strip_suffix('\n').unwrap_or(v);
            assert_eq!(o.code, 0, "{:?} {v:?}: {}", case.format, o.stderr);
            assert_eq!(o.stdout, "");
            assert!(
                !o.stderr.contains(stored) || stored.len() < 3,
                "{}",
                o.stderr
            );
            let g = sb.run(&["get", &name, case.pw, "-i", "a.key"], b"");
            assert_eq!(g.code, 0, "{v:?}: {}", g.stderr);
            assert_eq!(g.stdout, stored, "{:?}", case.format);
            let opened = sb.run(&["open", &name, "-i", "a.key"], b"");
            assert_eq!(opened.code, 0, "{v:?}: {}", opened.stderr);
            assert_eq!(
                independent_parse(case.format, &opened.stdout, case.pw),
                stored,
                "{:?}: {}",
                case.format,
                opened.stdout
            );
        }
        // Sealing hand-written literals: open gives the file back byte for byte.
        let literal_doc: String = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| literal(case.format, &format!("k{i}_secret"), v))
            .collect();
        let doc = match case.format {
            Format::Json => format!("{{\n{}  \"end\": 0\n}}\n", literal_doc),
            _ => literal_doc,
        };
        fs::write(sb.path(&name), &doc).unwrap();
        let o = sb.run(&["seal", &name, "-r", &sb.a], b"");
        assert_eq!(o.code, 0, "{}", o.stderr);
        let sealed = fs::read_to_string(sb.path(&name)).unwrap();
        assert!(!sealed.contains("EVIL"), "{sealed}");
        let o = sb.run(&["open", &name, "-i", "a.key"], b"");
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(o.stdout, doc, "{:?}", case.format);
    }
}

/// One line `key = literal` for the value, in the format's own escaping.
fn literal(format: Format, key: &str, v: &str) -> Option<String> {
    let json = serde_json::to_string(v).unwrap();
    Some(match format {
        // serde_json writes only escapes that TOML basic strings share.
        Format::Toml => format!("{key} = {json}\n"),
        Format::Yaml => format!("{key}: {json}\n"),
        Format::Json | Format::Jsonc => format!("  \"{key}\": {json},\n"),
        _ => {
            if v.contains(['$', '\r']) || v.ends_with('\\') {
                return None;
            }
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{}=\"{escaped}\"\n", key.to_uppercase())
        }
    })
}

/// The string at `path`, read by a parser that is not cachet's.
fn independent_parse(format: Format, text: &str, path: &str) -> String {
    let segments: Vec<&str> = path.split('.').collect();
    match format {
        Format::Toml => {
            let doc: toml_edit::DocumentMut = text.parse().unwrap();
            let mut item = doc.as_item();
            for s in &segments {
                item = &item[*s];
            }
            item.as_str().unwrap().to_string()
        }
        Format::Yaml => {
            let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
            let mut v = &doc;
            for s in &segments {
                v = &v[*s];
            }
            v.as_str().unwrap().to_string()
        }
        Format::Json | Format::Jsonc => {
            let doc: serde_json::Value = serde_json::from_str(text).unwrap();
            let mut v = &doc;
            for s in &segments {
                v = &v[*s];
            }
            v.as_str().unwrap().to_string()
        }
        _ => {
            let vars = dotenvy::from_read_iter(text.as_bytes())
                .map(Result::unwrap)
                .collect::<Vec<_>>();
            vars.into_iter().find(|(k, _)| k == path).unwrap().1
        }
    }
}

/// An older token for the same path, sealed to a key that a rotation retired,
/// written back (a rollback): it opens while the keyring keeps the retired key,
/// as `spec/policy.md` says (the `check` command reports such a value), and not
/// once `prune` has dropped the key.
#[test]
fn a_replayed_token_of_a_retired_key_opens_until_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let home = tmp.path().join("home");
    fs::create_dir_all(root.join("config")).unwrap();
    fs::create_dir_all(home.join(".config/cachet")).unwrap();
    let run = |args: &[&str]| run_cachet(&root, &home, args, b"", &[]);
    let ok = |args: &[&str]| {
        let o = run(args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o
    };
    let identity = home.join(".config/cachet/identity.txt");
    ok(&["keygen", "-o", identity.to_str().unwrap()]);
    ok(&["init"]);
    ok(&["env", "add", "production", "--files", "config/**"]);
    let files: Vec<(&Case, String)> = CASES
        .iter()
        .map(|c| (c, format!("config/app.{}", c.ext)))
        .collect();
    let mut old = Vec::new();
    for (case, rel) in &files {
        fs::write(root.join(rel), case.plain).unwrap();
        ok(&["seal", rel]);
        let text = fs::read_to_string(root.join(rel)).unwrap();
        old.push(token_of(case.format, &text, case.pw));
    }
    ok(&["rotate", "production"]);
    let mut rotated = Vec::new();
    for ((case, rel), old_token) in files.iter().zip(&old) {
        let text = fs::read_to_string(root.join(rel)).unwrap();
        assert_ne!(token_of(case.format, &text, case.pw), *old_token);
        let replayed = with_token(case.format, &text, case.pw, old_token);
        fs::write(root.join(rel), &replayed).unwrap();
        let o = ok(&["open", rel]);
        assert_eq!(o.stdout, case.plain, "{rel}");
        rotated.push((text, replayed));
    }
    // Prune refuses while a value uses the retired key.
    let o = run(&["prune", "production"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    for ((_, rel), (text, _)) in files.iter().zip(&rotated) {
        fs::write(root.join(rel), text).unwrap();
    }
    ok(&["prune", "production"]);
    let key = ok(&["env", "key", "production"]).stdout;
    assert_eq!(key.matches("AGE-SECRET-KEY-1").count(), 1);
    for ((case, rel), (_, replayed)) in files.iter().zip(&rotated) {
        fs::write(root.join(rel), replayed).unwrap();
        for args in [
            vec!["open", rel.as_str()],
            vec!["get", rel.as_str(), case.pw],
        ] {
            let o = run(&args);
            assert_eq!(o.code, 1, "{args:?}: {}", o.stderr);
            assert_eq!(o.stdout, "");
            assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
            assert!(
                o.stderr.starts_with(&format!(
                    "cachet: {rel}: {}: no identity for key id",
                    case.pw
                )),
                "{}",
                o.stderr
            );
            for s in all_secrets() {
                assert!(!o.stderr.contains(s));
            }
            assert_eq!(fs::read_to_string(root.join(rel)).unwrap(), *replayed);
        }
    }
}

/// The helpers find what they should (a guard against a matrix that tests
/// nothing).
#[test]
fn the_matrix_covers_every_format() {
    let formats: Vec<Format> = CASES.iter().map(|c| c.format).collect();
    for f in [Format::Toml, Format::Yaml, Format::Json, Format::Env] {
        assert!(formats.contains(&f));
    }
    for c in CASES {
        assert_eq!(
            Format::from_path(Path::new(&format!("x.{}", c.ext))),
            Some(c.format)
        );
    }
}
