//! `.env` sealing is byte-exact: for every construct, seal then open gives the file
//! back byte for byte, the sealed file holds none of the sealed texts, every line
//! that held no sealed value is unchanged, and each value reads as `dotenvy` reads
//! it. Hand-written fixtures in `testdata/env/` plus generated files (proptest).

use std::fs;
use std::path::PathBuf;

use cachet::{
    Error, Format, OpenError, Place, ScalarType, SealReport, Segment, Selection, ValuePath,
};
use proptest::prelude::*;

use crate::common;
use common::{all, fixture_files, key, path, sealer, untouched_lines};

const ENV: Format = Format::Env;

fn seal(text: &str, selection: &Selection) -> (String, SealReport) {
    cachet::seal_document(ENV, text, selection, &mut sealer())
        .unwrap_or_else(|e| panic!("sealing {text:?}: {e}"))
}

fn open(text: &str) -> String {
    cachet::open_document(ENV, text, &key().1)
        .unwrap_or_else(|e| panic!("opening {text:?}: {e}"))
        .to_string()
}

/// The path of the key `name` (which may hold `.`, so is not a written path).
fn key_path(name: &str) -> ValuePath {
    ValuePath::from_segments(vec![Segment::Key(name.to_string())])
}

fn get(text: &str, key_name: &str) -> String {
    cachet::get_value(ENV, text, &key_path(key_name), &key().1)
        .unwrap_or_else(|e| panic!("get {key_name}: {e}"))
        .to_string()
}

/// Every key of a file, in order, and its decoded value (read from `text`, which
/// may be sealed).
fn decoded(text: &str) -> Vec<(String, String)> {
    cachet::list_values(ENV, text)
        .unwrap()
        .into_iter()
        .map(|v| {
            let name = v.path.name().unwrap().to_string();
            let value = get(text, &name);
            (name, value)
        })
        .collect()
}

/// Seals with `selection`, opens, and checks every promise of the format.
fn check_round_trip(text: &str, selection: &Selection) -> (String, SealReport) {
    let (sealed, report) = seal(text, selection);
    assert_eq!(open(&sealed), text, "open(seal(x)) must be x byte for byte");

    // Sealing again changes nothing.
    let (resealed, again) = seal(&sealed, selection);
    assert_eq!(resealed, sealed, "sealing twice must change nothing");
    assert!(again.sealed.is_empty());
    assert_eq!(again.already_sealed, report.sealed.len());

    // The sealed file still lists the same keys, and exactly the sealed ones are
    // sealed.
    let before = cachet::list_values(ENV, text).unwrap();
    let after = cachet::list_values(ENV, &sealed).unwrap();
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.path, a.path);
        assert_eq!(a.sealed.is_some(), report.sealed.contains(&a.path));
    }

    // Lines holding no sealed value are unchanged and in order.
    let sealed_lines: Vec<&str> = sealed.split('\n').collect();
    let mut at = 0;
    for line in untouched_lines(ENV, text, &report.sealed) {
        let found = sealed_lines[at..].iter().position(|l| *l == line);
        let Some(i) = found else {
            panic!("line {line:?} is missing or out of order in the sealed file");
        };
        at += i + 1;
    }

    // No sealed text survives: neither the value as written nor its content.
    for v in before.iter().filter(|v| report.sealed.contains(&v.path)) {
        let raw = &text[v.span.clone()];
        let content = get(text, v.path.name().unwrap());
        for s in [raw, content.as_str()] {
            if s.len() >= 6 && text.matches(s).count() == 1 {
                assert!(
                    !sealed.contains(s),
                    "{}: leaks into the sealed file",
                    v.path
                );
            }
        }
    }
    (sealed, report)
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/env")
}

fn fixture(name: &str) -> String {
    fs::read_to_string(fixture_dir().join(name)).unwrap()
}

fn fixtures() -> Vec<(String, String)> {
    let out: Vec<(String, String)> = fixture_files("env", &["env"])
        .into_iter()
        .map(|(p, text)| (p.file_name().unwrap().to_str().unwrap().to_string(), text))
        .collect();
    assert!(out.len() >= 14, "{} fixtures", out.len());
    out
}

#[test]
fn fixtures_have_the_bytes_they_test() {
    // An editor or a line-ending conversion must not have normalised them.
    let crlf = fixture("crlf.env");
    assert_eq!(crlf.matches("\r\n").count(), crlf.matches('\n').count());
    assert!(!fixture("no_trailing_newline.env").ends_with('\n'));
    assert!(fixture("empty_at_end.env").ends_with("DB_PASSWORD="));
    assert!(fixture("bom.env").starts_with('\u{feff}'));
    assert!(fixture("empty_values.env").contains("EMPTY_SPACES=   \n"));
    assert!(fixture("empty_file.env").is_empty());
}

#[test]
fn every_fixture_round_trips_with_every_value_sealed() {
    for (name, text) in fixtures() {
        let (sealed, report) = check_round_trip(&text, &all());
        let count = cachet::list_values(ENV, &text).unwrap().len();
        assert_eq!(report.sealed.len(), count, "{name}: every value is sealed");
        // Reading a sealed value gives what reading the plain file gives.
        assert_eq!(decoded(&sealed), decoded(&text), "{name}");
    }
}

#[test]
fn every_fixture_round_trips_with_the_default_rule() {
    for (_, text) in fixtures() {
        check_round_trip(&text, &Selection::Default);
    }
}

#[test]
fn the_default_rule_picks_secret_names_and_contents() {
    for (name, want) in [
        ("basic.env", &["DB_PASSWORD", "API_KEY", "JWT_SECRET"][..]),
        (
            "urls.env",
            &["DATABASE_URL", "REDIS_URL", "QUOTED_URL", "AMQP_URL"],
        ),
        ("multiline.env", &["PRIVATE_KEY"]),
        ("empty_values.env", &["EMPTY_PASSWORD"]),
        ("crlf.env", &["DB_PASSWORD", "TOKEN"]),
        (
            "inline_comments.env",
            &["SESSION_SECRET", "QUOTED_TOKEN", "SINGLE_TOKEN"],
        ),
        ("no_trailing_newline.env", &["SECRET_TOKEN"]),
        ("empty_at_end.env", &["DB_PASSWORD"]),
        ("bom.env", &["API_TOKEN"]),
    ] {
        let (_, report) = check_round_trip(&fixture(name), &Selection::Default);
        let sealed: Vec<String> = report.sealed.iter().map(ToString::to_string).collect();
        assert_eq!(sealed, want, "{name}");
    }
}

/// Fixtures that `dotenvy` cannot read (it refuses blanks inside unquoted values
/// and `-` in keys).
const BEYOND_DOTENVY: &[&str] = &["beyond_dotenvy.env"];

fn dotenvy_values(text: &str) -> Result<Vec<(String, String)>, dotenvy::Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    dotenvy::from_read_iter(text.as_bytes()).collect()
}

#[test]
fn values_read_as_dotenvy_reads_them() {
    let mut compared = 0;
    for (name, text) in fixtures() {
        if BEYOND_DOTENVY.contains(&name.as_str()) {
            assert!(dotenvy_values(&text).is_err(), "{name}: dotenvy reads it");
            continue;
        }
        // A `$` is accepted only in single quotes, where dotenvy expands nothing.
        let want = dotenvy_values(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded(&text), want, "{name}");
        let (sealed, _) = seal(&text, &all());
        assert_eq!(decoded(&sealed), want, "{name} sealed");
        compared += 1;
    }
    assert!(compared >= 13, "{compared}");
}

#[test]
fn values_the_fixtures_spell_in_every_way() {
    let pairs = |name: &str| -> Vec<(String, String)> {
        let (sealed, _) = seal(&fixture(name), &all());
        decoded(&sealed)
    };
    let want = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        pairs("dollar.env"),
        want(&[
            ("HOME_DIR", "$HOME/app"),
            ("DOUBLE_DOLLAR", "pa$$word"),
            ("PRICE", "cost: $5"),
            ("SINGLE_DOLLAR", "$NOT_EXPANDED"),
            ("TRAILING", "ends with $"),
            ("MULTI_LINE", "first $line\nsecond line"),
            ("PLAIN", "no-dollar"),
        ])
    );
    assert_eq!(
        pairs("beyond_dotenvy.env"),
        want(&[
            ("SPACED_VALUE", "several words here"),
            ("dashed-key", "dashed"),
            ("TAB_INSIDE", "col1\tcol2"),
            ("UNICODE", "héllo wörld ✓"),
        ])
    );
    let quoting = pairs("quoting.env");
    assert_eq!(
        quoting[5..9],
        want(&[
            ("ESCAPES", "tab\\t quote\" backslash\\ newline\n end"),
            ("ESCAPED_QUOTES", "a \"quoted\" word and 'single'"),
            ("BACKSLASHES", "C:\\Users\\app"),
            ("SINGLE_OTHER_ESCAPES", "a\\tb\\rc\\$d\\ e"),
        ])
    );
    let crlf = pairs("crlf.env");
    assert_eq!(crlf[3], ("CERT".into(), "line one\r\nline two".into()));
    assert_eq!(crlf[4], ("EMPTY".into(), String::new()));
}

#[test]
fn set_replaces_existing_values() {
    for (name, key_name, value, ty, old, new) in [
        (
            "basic.env",
            "DB_PASSWORD",
            "new-pass",
            ScalarType::String,
            "DB_PASSWORD=correct-horse-battery-staple",
            "DB_PASSWORD=new-pass",
        ),
        (
            "basic.env",
            "PORT",
            "5432",
            ScalarType::Int,
            "PORT = 8080",
            "PORT = 5432",
        ),
        (
            "quoting.env",
            "DB_PASSWORD",
            "two words $x \"q\"",
            ScalarType::String,
            "DB_PASSWORD=\"p@ss w0rd!\"",
            "DB_PASSWORD='two words $x \"q\"'",
        ),
        (
            "empty_values.env",
            "EMPTY_COMMENT",
            "true",
            ScalarType::Bool,
            "EMPTY_COMMENT=\"\" # nothing",
            "EMPTY_COMMENT=true # nothing",
        ),
        (
            "empty_at_end.env",
            "DB_PASSWORD",
            "line1\nline2",
            ScalarType::String,
            "DB_PASSWORD=",
            "DB_PASSWORD=\"line1\\nline2\"",
        ),
        (
            "multiline.env",
            "PRIVATE_KEY",
            "short",
            ScalarType::String,
            &fixture("multiline.env")[fixture("multiline.env").find("PRIVATE_KEY").unwrap()
                ..fixture("multiline.env").find("\nAFTER").unwrap()],
            "PRIVATE_KEY=short",
        ),
    ] {
        let text = fixture(name);
        let out = cachet::set_value(ENV, &text, &path(key_name), value, ty, &mut sealer())
            .unwrap_or_else(|e| panic!("{name} {key_name}: {e}"));
        assert!(!out.contains(old) || old.ends_with('='), "{name}");
        assert_eq!(get(&out, key_name), value);
        assert_eq!(open(&out), text.replacen(old, new, 1), "{name} {key_name}");
    }
}

#[test]
fn set_adds_new_keys_at_the_end() {
    for (name, text) in fixtures() {
        let value = "new \"value\"\nwith \\ and 'quotes'";
        let out = cachet::set_value(
            ENV,
            &text,
            &path("NEW_SECRET"),
            value,
            ScalarType::String,
            &mut sealer(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(get(&out, "NEW_SECRET"), value, "{name}");
        let opened = open(&out);
        let line = "NEW_SECRET=\"new \\\"value\\\"\\nwith \\\\ and 'quotes'\"";
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let want = if name == "empty_at_end.env" {
            // The file ends with an empty value: the new line goes before that line.
            text.replace("DB_PASSWORD=", &format!("{line}{nl}DB_PASSWORD="))
        } else if text.is_empty() || text.ends_with('\n') {
            format!("{text}{line}{nl}")
        } else {
            format!("{text}{nl}{line}{nl}")
        };
        assert_eq!(opened, want, "{name}");
        // Every other value reads as before.
        let mut before = decoded(&text);
        before.retain(|(k, _)| k != "NEW_SECRET");
        let mut after = decoded(&out);
        after.retain(|(k, _)| k != "NEW_SECRET");
        assert_eq!(after, before, "{name}");
    }
}

#[test]
fn set_refuses_what_a_dotenv_file_cannot_hold() {
    let text = "A=1\n";
    for p in ["a.b", "a[0]", "\"1abc\"", "\"has space\"", "\"é\""] {
        let e = cachet::set_value(ENV, text, &path(p), "v", ScalarType::String, &mut sealer())
            .unwrap_err();
        assert!(
            matches!(e, Error::Format(cachet::FormatError::CannotInsert { .. })),
            "{p}: {e}"
        );
    }
    for (value, ty) in [
        ("abc", ScalarType::Int),
        ("1.5", ScalarType::Int),
        ("inf", ScalarType::Float),
        ("yes", ScalarType::Bool),
    ] {
        let e = cachet::set_value(ENV, text, &path("A"), value, ty, &mut sealer()).unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }), "{value}: {e}");
    }
}

#[test]
fn parse_errors_never_quote_the_file() {
    for text in [
        "PASSWORD=\"hunter2\n",
        "PASSWORD=hunter2 \"x\"\n",
        "PASSWORD='hunter2\n",
        "PASSWORD=\"hunter2\" more\n",
        "hunter2\n",
        "PASSWORD=\"hunter2\\x\"\n",
    ] {
        let msg = cachet::list_values(ENV, text).unwrap_err().to_string();
        assert!(msg.starts_with("line 1, column "), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}

// ---- forged tokens ----

/// A token sealed by someone holding only the public key, for `raw` at `at`,
/// written where `@@` stands in `doc`.
fn forged(raw: &str, at: &str, doc: &str) -> String {
    let p = path(at);
    let place = Place {
        format: ENV,
        document: 0,
        path: &p,
    };
    let token = sealer().seal(raw.as_bytes(), &place).unwrap();
    doc.replace("@@", &token.to_string())
}

#[test]
fn literals_that_would_inject_lines_are_refused() {
    for doc in [
        "APP=x\nPASSWORD=@@\nPORT=1\n",
        "APP=x\r\nexport PASSWORD = \"@@\" # c\r\nPORT=1\r\n",
        "APP=x\nPASSWORD=@@",
    ] {
        for raw in [
            "x\nLD_PRELOAD=/tmp/evil.so",
            "x\r\nLD_PRELOAD=/tmp/evil.so",
            "x\rLD_PRELOAD=/tmp/evil.so",
            "\"x\"\nLD_PRELOAD=/tmp/evil.so",
            "'x'\nexport LD_PRELOAD=/tmp/evil.so",
            "x\nPORT=2",
            "x\n# comment",
            "x # comment",
            "\"a\" b",
            "\"a\"b",
            " x",
            "x ",
            "x\n",
            "\n",
            "\"unterminated",
            "'unterminated",
            "#x",
            "a\"b",
            "`x`",
            // A closing quote right after a backslash, which Python and Node read as
            // escaped, going on to the next quote, lines later.
            "\"x\\\\\"",
            "'x\\\\'",
            "'x\\'",
            // Values some loader expands, and escapes loaders disagree on.
            "$HOME",
            "x$",
            "\"${HOME}\"",
            "'${HOME}'",
            "\"a\\tb\"",
            "\"a\\$b\"",
        ] {
            let text = forged(raw, "PASSWORD", doc);
            for e in [
                cachet::open_document(ENV, &text, &key().1).unwrap_err(),
                cachet::get_value(ENV, &text, &path("PASSWORD"), &key().1).unwrap_err(),
            ] {
                let Error::Open {
                    path: p,
                    reason: OpenError::Refused(_),
                } = &e
                else {
                    panic!("{raw:?} in {doc:?}: {e:?}");
                };
                assert_eq!(p, &path("PASSWORD"));
                assert!(!e.to_string().contains("evil"), "{e}");
            }
        }
        // The same place with an honest literal opens. A token inside quotes stands
        // for the whole value, quotes and all.
        let token_text = if doc.contains("\"@@\"") {
            "\"@@\""
        } else {
            "@@"
        };
        for raw in [
            "x",
            "a b",
            "'lit'",
            "\"multi\nline\"",
            "\"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\"",
            "5432",
        ] {
            let text = forged(raw, "PASSWORD", doc);
            assert_eq!(open(&text), doc.replace(token_text, raw), "{raw:?}");
        }
        // An empty value sits just after the `=`: it opens back there, and only
        // there (cachet writes the token of an empty value right after the `=`).
        let text = forged("", "PASSWORD", doc);
        if doc.contains("=@@") {
            assert_eq!(open(&text), doc.replace("@@", ""));
        } else {
            let e = cachet::open_document(ENV, &text, &key().1).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Open {
                        reason: OpenError::Refused(_),
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }
}

/// The review's forgery: with the public key only, two tokens that open to a
/// value ending in `\"` and to a value `"` LF `EVIL=1` LF `"`, which Python and
/// Node would read as one value and then `EVIL=1`.
#[test]
fn tokens_that_would_pair_quotes_across_lines_are_refused() {
    for (a, b) in [("\"x\\\\\"", "\"\nEVIL=1\n\""), ("'x\\\\'", "'\nEVIL=1\n'")] {
        let text = forged(a, "A", "A=@@\nB=##\n");
        let text = forged(b, "B", &text.replace("##", "@@"));
        for e in [
            cachet::open_document(ENV, &text, &key().1).unwrap_err(),
            cachet::get_value(ENV, &text, &path("A"), &key().1).unwrap_err(),
        ] {
            assert!(
                matches!(
                    &e,
                    Error::Open {
                        reason: OpenError::Refused(_),
                        ..
                    }
                ),
                "{a:?}: {e:?}"
            );
        }
        // The second value alone is honest: one multi-line value to every loader.
        assert_eq!(get(&text, "B"), "\nEVIL=1\n");
    }
}

#[test]
fn tokens_moved_or_sealed_elsewhere_do_not_open() {
    let doc = "APP=x\nPASSWORD=@@\n";
    // Sealed for another key name.
    let text = forged("x", "OTHER", doc);
    let e = cachet::open_document(ENV, &text, &key().1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Open {
                reason: OpenError::Authentication,
                ..
            }
        ),
        "{e:?}"
    );
    // Sealed for another format.
    let p = path("PASSWORD");
    let token = sealer()
        .seal(
            b"x",
            &Place {
                format: Format::Toml,
                document: 0,
                path: &p,
            },
        )
        .unwrap();
    let text = doc.replace("@@", &token.to_string());
    let e = cachet::open_document(ENV, &text, &key().1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Open {
                reason: OpenError::Authentication,
                ..
            }
        ),
        "{e:?}"
    );
    // A damaged token is an error, never plain text.
    let text = forged("x", "PASSWORD", doc).replace("cachet:", "Cachet:");
    assert!(cachet::open_document(ENV, &text, &key().1).is_err());
}

// ---- generated files ----

/// A value as written, with its decoded content.
#[derive(Clone, Debug)]
enum Val {
    Empty,
    Unquoted(String),
    Single(String),
    /// Characters, each written escaped (`true`) or as itself where it can be.
    Double(Vec<(char, bool)>),
}

impl Val {
    /// The text and the content, with line breaks inside quotes written as `nl`.
    fn render(&self, nl: &str) -> (String, String) {
        match self {
            Val::Empty => (String::new(), String::new()),
            Val::Unquoted(s) => (s.clone(), s.clone()),
            Val::Single(s) => (format!("'{}'", s.replace('\n', nl)), s.replace('\n', nl)),
            Val::Double(chars) => {
                let mut text = String::from("\"");
                let mut content = String::new();
                for &(c, esc) in chars {
                    match (c, esc) {
                        ('"' | '\\', _) => text.extend(['\\', c]),
                        ('\n', true) => text.push_str("\\n"),
                        ('\'', true) => text.extend(['\\', c]),
                        ('\n', false) => {
                            text.push_str(nl);
                            content.push_str(nl);
                            continue;
                        }
                        _ => text.push(c),
                    }
                    content.push(c);
                }
                text.push('"');
                (text, content)
            }
        }
    }
}

/// A double-quoted value of `chars`, without what cachet refuses in one: a `$`,
/// and a backslash as its last character (written `\\` right before the closing
/// quote).
fn double(mut chars: Vec<(char, bool)>) -> Val {
    chars.retain(|&(c, _)| c != '$');
    if chars.last().is_some_and(|&(c, _)| c == '\\') {
        chars.push(('x', false));
    }
    Val::Double(chars)
}

fn value() -> impl Strategy<Value = Val> {
    let plain = "[A-Za-z0-9_./:@%+,=é✓-]";
    prop_oneof![
        Just(Val::Empty),
        proptest::string::string_regex(&format!(
            "{plain}[A-Za-z0-9_./:@%+,=é✓-]{{0,12}}( {plain}{{1,6}}){{0,2}}"
        ))
        .unwrap()
        .prop_map(Val::Unquoted),
        // No `\\`, `\'` or `${` inside single quotes.
        "([^'\\\\\r{]|\\\\[a-z\"]){0,16}".prop_map(Val::Single),
        proptest::collection::vec((any::<char>(), any::<bool>()), 0..16).prop_map(double),
        proptest::collection::vec(
            (
                prop::sample::select(vec!['a', ' ', '\n', '\t', '"', '\\', '$', '\'', '#', '{']),
                any::<bool>()
            ),
            0..12
        )
        .prop_map(double),
    ]
}

#[derive(Clone, Debug)]
enum Line {
    Blank(String),
    Comment(String, String),
    Assign {
        indent: String,
        export: bool,
        key: String,
        before_eq: String,
        after_eq: String,
        value: Val,
        trailer: &'static str,
    },
}

fn blanks() -> impl Strategy<Value = String> {
    "[ \t]{0,2}"
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        1 => blanks().prop_map(Line::Blank),
        1 => (blanks(), "[^\r\n]{0,16}").prop_map(|(i, c)| Line::Comment(i, c)),
        6 => (
            blanks(),
            any::<bool>(),
            "[A-Za-z_][A-Za-z0-9_.-]{0,8}",
            blanks(),
            blanks(),
            value(),
            prop::sample::select(vec!["", "  ", " # comment", "\t#c", " #"]),
        )
            .prop_map(|(indent, export, key, before_eq, after_eq, value, trailer)| {
                Line::Assign { indent, export, key, before_eq, after_eq, value, trailer }
            }),
    ]
}

/// A generated file and the (key, content) pairs it holds.
fn dotenv_file() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        proptest::collection::vec(line(), 0..10),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_nl)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            let mut want = Vec::new();
            for l in lines {
                out.push(match l {
                    Line::Blank(b) => b,
                    Line::Comment(i, c) => format!("{i}#{c}"),
                    Line::Assign {
                        indent,
                        export,
                        key,
                        before_eq,
                        after_eq,
                        value,
                        trailer,
                    } => {
                        if !seen.insert(key.clone()) {
                            continue;
                        }
                        let (mut text, content) = value.render(nl);
                        // A comment after an empty value is refused (Python reads
                        // the comment as the value): write `""` then.
                        if text.is_empty() && trailer.contains('#') {
                            text = "\"\"".to_string();
                        }
                        want.push((key.clone(), content));
                        let export = if export { "export " } else { "" };
                        format!("{indent}{export}{key}{before_eq}={after_eq}{text}{trailer}")
                    }
                });
            }
            let mut text = out.join(nl);
            if final_nl && !text.is_empty() {
                text.push_str(nl);
            }
            (text, want)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_files_round_trip_byte_for_byte((text, want) in dotenv_file()) {
        prop_assert_eq!(decoded(&text), want.clone());
        let (sealed, _) = check_round_trip(&text, &all());
        prop_assert_eq!(decoded(&sealed), want.clone());
        check_round_trip(&text, &Selection::Default);

        // dotenvy, where it reads the file, reads the same: it expands nothing in
        // single quotes, the only place a `$` can be.
        if let Ok(theirs) = dotenvy_values(&text) {
            prop_assert_eq!(&theirs, &want);
        }

        // A new key lands as written and every other value stays.
        let out = cachet::set_value(
            ENV, &text, &key_path("CACHET_NEW_KEY_FOR_TEST"), "v\n$x", ScalarType::String, &mut sealer(),
        ).unwrap();
        let mut after = decoded(&out);
        prop_assert_eq!(after.iter().filter(|(k, _)| k == "CACHET_NEW_KEY_FOR_TEST").count(), 1);
        after.retain(|(k, _)| k != "CACHET_NEW_KEY_FOR_TEST");
        prop_assert_eq!(after, want);
        prop_assert_eq!(get(&out, "CACHET_NEW_KEY_FOR_TEST"), "v\n$x");
    }

    #[test]
    fn cachet_and_dotenvy_agree_where_both_read_a_file(
        lines in proptest::collection::vec(
            (
                "[ \t]{0,1}(export ){0,1}[A-Z_][A-Z_.x]{0,2}[ \t]{0,1}=[ \t]{0,1}",
                prop_oneof![
                    "[a-z=é#$]{0,6}([ \t\u{a0}]#[a-z #$]{0,3}){0,1}[ \t]{0,1}",
                    "'([a-z #\"\n\t${}]|\\\\[a-z\\\\'$]|\r\n){0,8}'[ \t]{0,1}(#.{0,2}){0,1}",
                    "\"([a-z #'\n\t\u{a0}${}]|\\\\[nrt\"\\\\$' ]|\r\n){0,8}\"[ \t]{0,1}(#.{0,2}){0,1}",
                    "([a-z]|'|\"|\\\\|#| |\t|\n|\r\n|\\\\n|\\\\t|=|é|\u{a0}|\\$|\\{){0,12}",
                ],
            ),
            1..5,
        ),
        crlf in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let text: String = lines.iter().map(|(k, v)| format!("{k}{v}{nl}")).collect();
        // Both accept, nothing to expand, no duplicate key: the same values.
        if let (Ok(_), Ok(theirs)) = (cachet::list_values(ENV, &text), dotenvy_values(&text)) {
            prop_assert_eq!(decoded(&text), theirs);
        }
    }

    #[test]
    fn scanning_never_panics(s in any::<String>()) {
        let _ = cachet::list_values(ENV, &s);
    }

    #[test]
    fn scanning_dotenv_like_text_never_panics(
        s in "[aK_=#'\"\\\\ \t\r\n$`x.\u{a0}\u{feff}é-]{0,60}"
    ) {
        if let Ok(values) = cachet::list_values(ENV, &s) {
            for v in values {
                prop_assert!(s.get(v.span).is_some());
            }
        }
    }
}

#[test]
fn set_refuses_values_no_dotenv_spelling_can_carry() {
    for value in ["it's $5", "a\rb", "${X}", "x\\", "a'b\\$"] {
        let e = cachet::set_value(
            ENV,
            "A=1\n",
            &path("A"),
            value,
            ScalarType::String,
            &mut sealer(),
        )
        .unwrap_err();
        assert!(
            matches!(e, cachet::Error::InvalidValue { .. }),
            "{value:?}: {e:?}"
        );
        assert!(!e.to_string().contains(value), "{e}");
    }
    // What can be written is written so that it reads back exactly.
    for value in [
        "pa$$word",
        "C:\\Users\\app",
        "multi\nline \"quoted\"",
        "plain-value_1",
    ] {
        let out = cachet::set_value(
            ENV,
            "A=1\n",
            &path("A"),
            value,
            ScalarType::String,
            &mut sealer(),
        )
        .unwrap();
        let got = cachet::get_value(ENV, &out, &path("A"), &key().1).unwrap();
        assert_eq!(got.as_str(), value);
    }
}
