//! JSON and JSON-with-comments sealing is byte-exact: for every fixture in
//! `testdata/json/` and for generated documents, seal then open gives the file
//! back byte for byte, sealing twice changes nothing, only the sealed values'
//! bytes change, and every value reads back as serde_json decodes it. Forged
//! tokens whose text is not exactly one JSON scalar are refused.

use cachet::{Error, Format, OpenError, Place, ScalarType, Segment, Selection, ValuePath};
use proptest::prelude::*;
use serde_json::Value;

use crate::common;
use common::{all, fixture_files, key, path, sealer};

/// The text with every scalar's bytes cut out: what sealing must not touch.
fn skeleton(format: Format, text: &str) -> String {
    let mut out = String::new();
    let mut at = 0;
    for v in cachet::list_values(format, text).unwrap() {
        out.push_str(&text[at..v.span.start]);
        out.push('@');
        at = v.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Seals with `selection`, opens, and checks every promise of the format.
fn check_round_trip(format: Format, text: &str, selection: &Selection) -> (String, Vec<ValuePath>) {
    let (_, ids) = key();
    let (sealed, report) = cachet::seal_document(format, text, selection, &mut sealer()).unwrap();
    let opened = cachet::open_document(format, &sealed, &ids).unwrap();
    assert_eq!(
        opened.as_str(),
        text,
        "open(seal(x)) must be x byte for byte"
    );

    // Sealing again changes nothing.
    let (resealed, again) =
        cachet::seal_document(format, &sealed, selection, &mut sealer()).unwrap();
    assert_eq!(resealed, sealed, "sealing twice must change nothing");
    assert!(again.sealed.is_empty());
    assert_eq!(again.already_sealed, report.sealed.len());

    // Only the values' bytes changed, and each sealed value is now a token string.
    assert_eq!(skeleton(format, &sealed), skeleton(format, text));
    let listed = cachet::list_values(format, &sealed).unwrap();
    for path in &report.sealed {
        let v = listed.iter().find(|v| &v.path == path).unwrap();
        assert!(v.sealed.is_some(), "{path} is not sealed");
        assert!(sealed[v.span.clone()].starts_with("\"cachet:v1:"));
    }
    (sealed, report.sealed)
}

fn fixtures() -> Vec<(String, Format, String)> {
    let out: Vec<(String, Format, String)> = fixture_files("json", &["json", "jsonc"])
        .into_iter()
        .map(|(p, text)| {
            let format = if p.extension().is_some_and(|e| e == "jsonc") {
                Format::Jsonc
            } else {
                Format::Json
            };
            (p.display().to_string(), format, text)
        })
        .collect();
    assert!(out.len() >= 12, "fixtures are missing");
    out
}

/// The strict JSON text of a `.jsonc` text: comments and trailing commas removed
/// (outside strings), for serde_json.
fn strip_jsonc(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' => {
                out.push('"');
                i += 1;
                while chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(chars[i]);
                        i += 1;
                    }
                    out.push(chars[i]);
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            ',' => {
                // A comma is trailing when only blanks and comments come before the
                // closing bracket.
                if !matches!(next_significant(&chars, i + 1), Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The first character from `i` that is not white space or inside a comment.
fn next_significant(chars: &[char], mut i: usize) -> Option<char> {
    loop {
        match (chars.get(i)?, chars.get(i + 1)) {
            (' ' | '\t' | '\n' | '\r', _) => i += 1,
            ('/', Some('/')) => {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            (&c, _) => return Some(c),
        }
    }
}

fn serde(format: Format, text: &str) -> Value {
    let strict = match format {
        Format::Jsonc => strip_jsonc(text),
        _ => text.to_string(),
    };
    serde_json::from_str(&strict).unwrap_or_else(|e| panic!("serde_json: {e}: {strict}"))
}

fn at<'v>(v: &'v Value, path: &ValuePath) -> Option<&'v Value> {
    path.segments().iter().try_fold(v, |v, seg| match seg {
        Segment::Key(k) => v.as_object()?.get(k),
        Segment::Index(i) => v.as_array()?.get(*i),
    })
}

/// Every scalar of a serde_json value, with its path.
fn scalar_paths(v: &Value, path: &mut ValuePath, out: &mut Vec<ValuePath>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(Segment::Key(k.clone()));
                scalar_paths(v, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(Segment::Index(i));
                scalar_paths(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

/// Every scalar cachet lists is one serde_json finds, and each reads back (from the
/// plain and the sealed text) as serde_json decodes it: a string's content, any
/// other scalar as written.
fn check_values_match_serde(format: Format, text: &str, sealed: Option<&str>) {
    let (_, ids) = key();
    let value = serde(format, text);
    let mut want = Vec::new();
    scalar_paths(&value, &mut ValuePath::root(), &mut want);
    let listed = cachet::list_values(format, text).unwrap();
    let mut got: Vec<ValuePath> = listed.iter().map(|v| v.path.clone()).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "cachet and serde_json disagree on the scalars");
    for v in &listed {
        let expected = at(&value, &v.path).unwrap();
        for doc in [Some(text), sealed].into_iter().flatten() {
            let content = cachet::get_value(format, doc, &v.path, &ids).unwrap();
            match expected {
                Value::String(s) => assert_eq!(content.as_str(), s, "{}", v.path),
                Value::Number(_) | Value::Bool(_) | Value::Null => {
                    assert_eq!(content.as_str(), &text[v.span.clone()]);
                    let reread: Value = serde_json::from_str(&content).unwrap();
                    assert_eq!(reread.is_number(), expected.is_number());
                    if !expected.is_number() {
                        assert_eq!(&reread, expected);
                    }
                }
                _ => unreachable!(),
            }
        }
    }
}

#[test]
fn every_fixture_round_trips_with_every_value_sealed() {
    for (name, format, text) in fixtures() {
        let (sealed, paths) = check_round_trip(format, &text, &all());
        let value = serde(format, &text);
        let mut scalars = Vec::new();
        scalar_paths(&value, &mut ValuePath::root(), &mut scalars);
        assert_eq!(paths.len(), scalars.len(), "{name}: not every value sealed");
        // No string's content survives in the sealed file (short ones could occur
        // by chance inside a token's base64, or in a key or comment).
        let bare = skeleton(format, &text);
        for path in &paths {
            if let Some(Value::String(s)) = at(&value, path)
                && s.chars().count() >= 6
                && !bare.contains(s.as_str())
            {
                assert!(!sealed.contains(s.as_str()), "{name}: {path} leaks");
            }
        }
        check_values_match_serde(format, &text, Some(&sealed));
    }
}

#[test]
fn every_fixture_round_trips_with_the_default_rule() {
    for (_, format, text) in fixtures() {
        check_round_trip(format, &text, &Selection::Default);
    }
}

#[test]
fn the_default_rule_picks_the_secrets_of_the_example() {
    let (_, format, text) = fixtures()
        .into_iter()
        .find(|(n, _, _)| n.ends_with("app.json"))
        .unwrap();
    let (_, paths) = check_round_trip(format, &text, &Selection::Default);
    let sealed: Vec<String> = paths.iter().map(ToString::to_string).collect();
    assert_eq!(
        sealed,
        [
            "database.url",
            "database.password",
            "apiKey",
            "jwt.signingKey",
            "webhooks[0].secret",
            "webhooks[1].secret"
        ]
    );
}

#[test]
fn a_top_level_scalar_is_the_value_at_the_root() {
    let (_, ids) = key();
    for text in ["\"hunter2-root\"\n", "-12.5e-3", " true "] {
        let (sealed, paths) = check_round_trip(Format::Json, text, &all());
        assert_eq!(paths, [ValuePath::root()]);
        assert!(!sealed.contains("hunter2"));
        let got = cachet::get_value(Format::Json, &sealed, &ValuePath::root(), &ids).unwrap();
        assert_eq!(
            got.as_str(),
            serde_json::from_str::<Value>(text)
                .map(|v| v.as_str().map_or(text.trim().to_string(), str::to_string))
                .unwrap()
        );
    }
}

#[test]
fn named_paths_seal_exactly_those_values() {
    let text = "{\"a\": 1, \"b\": \"two\", \"t\": {\"c\": [1, 2], \"d\": {\"e\": true}}}";
    let paths = ["b", "t.c[1]", "t.d"].map(|p| p.parse().unwrap()).to_vec();
    let (_, sealed) = check_round_trip(Format::Json, text, &Selection::Paths(paths));
    let sealed: Vec<String> = sealed.iter().map(ToString::to_string).collect();
    assert_eq!(sealed, ["b", "t.c[1]", "t.d.e"]);
}

/// `set`s `value` at `p`, opens the result and returns it with serde_json's view.
fn set(format: Format, text: &str, p: &ValuePath, value: &str, ty: ScalarType) -> (String, Value) {
    let (_, ids) = key();
    let out = cachet::set_value(format, text, p, value, ty, &mut sealer())
        .unwrap_or_else(|e| panic!("set {p}: {e}"));
    if value.len() >= 6 {
        assert!(!out.contains(value), "the new value is not sealed");
    }
    // Setting the same value again (now existing) keeps the layout.
    let again = cachet::set_value(format, &out, p, value, ty, &mut sealer()).unwrap();
    assert_eq!(skeleton(format, &again), skeleton(format, &out));
    let opened = cachet::open_document(format, &out, &ids).unwrap();
    let got = cachet::get_value(format, &out, p, &ids).unwrap();
    assert_eq!(got.as_str(), value);
    let v = serde(format, &opened);
    (opened.to_string(), v)
}

#[test]
fn set_replaces_existing_values_and_adds_new_members() {
    for (name, format, text) in fixtures() {
        let before = serde(format, &text);
        let Some(obj) = before.as_object() else {
            continue;
        };
        // A new member at the root, and one in new nested objects.
        let (opened, after) = set(
            format,
            &text,
            &path("cachet_new"),
            "new \"value\"\n",
            ScalarType::String,
        );
        let mut want = before.clone();
        want["cachet_new"] = Value::from("new \"value\"\n");
        assert_eq!(after, want, "{name}");
        assert!(
            opened.contains("\"cachet_new\": \"new \\\"value\\\"\\n\""),
            "{name}"
        );
        let (_, after) = set(
            format,
            &text,
            &path("made.of.\"new objects\""),
            "deep",
            ScalarType::String,
        );
        let mut want = before.clone();
        want["made"] = serde_json::json!({"of": {"new objects": "deep"}});
        assert_eq!(after, want, "{name}");
        // Numbers and booleans keep their type.
        let (_, after) = set(format, &text, &path("n"), "-12.5e3", ScalarType::Float);
        assert_eq!(after["n"], serde_json::json!(-12.5e3), "{name}");
        let (_, after) = set(format, &text, &path("flag"), "false", ScalarType::Bool);
        assert_eq!(after["flag"], Value::Bool(false), "{name}");
        // A member of every nested object, and every existing value replaced.
        for v in cachet::list_values(format, &text).unwrap() {
            let (_, after) = set(format, &text, &v.path, "replaced", ScalarType::String);
            let mut want = before.clone();
            *pointer(&mut want, &v.path) = Value::from("replaced");
            assert_eq!(after, want, "{name}: {}", v.path);
        }
        for (k, child) in obj {
            if child.is_object() {
                let path = ValuePath::from_segments(vec![
                    Segment::Key(k.clone()),
                    Segment::Key("added".into()),
                ]);
                let (_, after) = set(format, &text, &path, "1", ScalarType::Int);
                let mut want = before.clone();
                want[k]["added"] = Value::from(1);
                assert_eq!(after, want, "{name}: {path}");
            }
        }
    }
}

fn pointer<'v>(v: &'v mut Value, path: &ValuePath) -> &'v mut Value {
    path.segments().iter().fold(v, |v, seg| match seg {
        Segment::Key(k) => v.get_mut(k.as_str()).unwrap(),
        Segment::Index(i) => v.get_mut(*i).unwrap(),
    })
}

#[test]
fn set_places_new_members_as_a_person_would() {
    let (_, ids) = key();
    for (format, text, path, want) in [
        (
            Format::Json,
            "{\n  \"a\": 1\n}\n",
            "k",
            "{\n  \"a\": 1,\n  \"k\": \"v\"\n}\n",
        ),
        (Format::Json, "{\"a\":1}", "k", "{\"a\":1, \"k\": \"v\"}"),
        (Format::Json, "{}", "k", "{\"k\": \"v\"}"),
        (
            Format::Json,
            "{\r\n    \"a\": {\r\n        \"b\": 1\r\n    }\r\n}",
            "a.c.k",
            "{\r\n    \"a\": {\r\n        \"b\": 1,\r\n        \"c\": {\r\n            \"k\": \"v\"\r\n        }\r\n    }\r\n}",
        ),
        (
            Format::Jsonc,
            "{\n  \"a\": 1, // one\n}\n",
            "k",
            "{\n  \"a\": 1, // one\n  \"k\": \"v\",\n}\n",
        ),
        (
            Format::Jsonc,
            "{\n  \"a\": 1 /* one */\n  // end\n}\n",
            "k",
            "{\n  \"a\": 1 /* one */,\n  \"k\": \"v\"\n  // end\n}\n",
        ),
    ] {
        let p: ValuePath = path.parse().unwrap();
        let out =
            cachet::set_value(format, text, &p, "v", ScalarType::String, &mut sealer()).unwrap();
        let opened = cachet::open_document(format, &out, &ids).unwrap();
        assert_eq!(opened.as_str(), want, "{text:?} + {path}");
    }
}

#[test]
fn set_refuses_what_it_cannot_add() {
    for (text, path) in [
        ("[1, 2]", "k"),
        ("{\"a\": [1]}", "a[1]"),
        ("{\"a\": [1]}", "a.k"),
        ("{\"a\": \"s\"}", "a.k"),
        ("{\"a\": {}}", "a.b[0].k"),
        ("\"s\"", "k"),
    ] {
        let p: ValuePath = path.parse().unwrap();
        let e = cachet::set_value(
            Format::Json,
            text,
            &p,
            "v",
            ScalarType::String,
            &mut sealer(),
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::Format(cachet::FormatError::CannotInsert { .. })),
            "{text} {path}: {e}"
        );
    }
    let p: ValuePath = "a".parse().unwrap();
    for (value, ty) in [
        ("01", ScalarType::Int),
        ("1.5", ScalarType::Int),
        ("+1", ScalarType::Float),
        ("NaN", ScalarType::Float),
        ("True", ScalarType::Bool),
    ] {
        let e = cachet::set_value(Format::Json, "{}", &p, value, ty, &mut sealer()).unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }), "{value}: {e}");
    }
    let e = cachet::set_value(
        Format::Json,
        "{\"a\": {}}",
        &p,
        "v",
        ScalarType::String,
        &mut sealer(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NotAValue(_)), "{e}");
}

/// A token sealed (with only the public key) for `raw` at `path`, put at `@@`.
fn forged(format: Format, path: &str, raw: &str, doc: &str) -> String {
    let p: ValuePath = path.parse().unwrap();
    let place = Place {
        format,
        document: 0,
        path: &p,
    };
    let token = sealer().seal(raw.as_bytes(), &place).unwrap();
    doc.replace("@@", &format!("\"{token}\""))
}

#[test]
fn literals_that_would_inject_structure_are_refused() {
    let (_, ids) = key();
    let doc = "{\n  \"name\": \"x\",\n  \"password\": @@,\n  \"port\": 1\n}\n";
    let path: ValuePath = "password".parse().unwrap();
    for format in [Format::Json, Format::Jsonc] {
        for raw in [
            "\"x\", \"admin\": true",
            "1}",
            "1, \"port\": 2",
            "\"x\"}, {\"y\": 1",
            "{}",
            "[1, 2]",
            "{\"a\": 1}",
            " \"x\"",
            "\"x\" ",
            "\"x\"\n",
            "\"x\" // comment",
            "\"x\" /* c */",
            "\"unterminated",
            "",
            "01",
            "1.",
            "'single'",
            "\"\\ud800\"",
            "\"a\nb\"",
            "1 2",
            "NaN",
            "undefined",
        ] {
            let text = forged(format, "password", raw, doc);
            let open = cachet::open_document(format, &text, &ids).unwrap_err();
            assert!(
                matches!(&open, Error::Open { path: p, reason: OpenError::Refused(_) } if *p == path),
                "{raw:?}: {open}"
            );
            let get = cachet::get_value(format, &text, &path, &ids).unwrap_err();
            assert!(
                matches!(
                    get,
                    Error::Open {
                        reason: OpenError::Refused(_),
                        ..
                    }
                ),
                "{raw:?}"
            );
        }
        // The same place with an honest literal opens.
        for raw in [
            "\"x\"",
            "\"\\u00e9\\n\"",
            "42",
            "-0.5e3",
            "12345678901234567890123",
            "true",
            "null",
        ] {
            let text = forged(format, "password", raw, doc);
            let opened = cachet::open_document(format, &text, &ids).unwrap();
            assert_eq!(opened.as_str(), doc.replace("@@", raw));
        }
    }
    // A token sealed for the other JSON flavour, or another path, does not open.
    for (format, at) in [(Format::Jsonc, "password"), (Format::Json, "name")] {
        let text = forged(format, at, "\"x\"", doc);
        let e = cachet::open_document(Format::Json, &text, &ids).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Open {
                    reason: OpenError::Authentication,
                    ..
                }
            ),
            "{e}"
        );
    }
}

#[test]
fn parse_errors_name_the_place_and_never_the_value() {
    let e = cachet::list_values(Format::Json, "{\n  \"password\": \"hunter2\n}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "line 2, column 23: invalid JSON: line break in a string: close the string with '\"' or write the break as \\n"
    );
    let e = cachet::list_values(Format::Jsonc, "{\"a\": 1,\n \"a\": \"hunter2\"}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "line 2, column 2: invalid JSON with comments: duplicate key a: a name may appear only once in an object"
    );
    let e = cachet::list_values(Format::Json, "\u{feff}{}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("byte order mark"), "{e}");
    let e = cachet::list_values(Format::Json, "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty document"), "{e}");
}

#[test]
fn large_documents_seal_and_open() {
    let mut text = String::from("{\"items\": [\n");
    for i in 0..5_000 {
        text.push_str(&format!(
            "  {{\"id\": {i}, \"secret\": \"value-{i}\", \"tags\": [\"a\", \"b\"]}},\n"
        ));
    }
    text.push_str("  null\n]}\n");
    let (sealed, paths) = check_round_trip(Format::Json, &text, &Selection::Default);
    assert_eq!(paths.len(), 5_000);
    assert!(!sealed.contains("value-4999"));
}

// ---- generated documents ----

/// Whitespace between tokens (only what JSON allows).
fn ws() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        2 => Just(" ".to_string()),
        1 => "[ \t\n]{1,4}",
        1 => Just("\r\n  ".to_string()),
    ]
}

/// A JSON string literal for `s`, each character written one of the ways JSON
/// allows, chosen by `style`.
fn json_string(s: &str, style: &[u8]) -> String {
    let mut o = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        let pick = style.get(i % style.len().max(1)).copied().unwrap_or(0) % 4;
        let code = c as u32;
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '/' if pick == 1 => o.push_str("\\/"),
            '\n' if pick < 2 => o.push_str("\\n"),
            '\t' if pick < 2 => o.push_str("\\t"),
            '\r' if pick < 2 => o.push_str("\\r"),
            '\u{8}' if pick < 2 => o.push_str("\\b"),
            '\u{c}' if pick < 2 => o.push_str("\\f"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{code:04x}")),
            _ if pick == 3 && code < 0x10000 => o.push_str(&format!("\\u{code:04X}")),
            _ if pick == 3 => {
                let v = code - 0x10000;
                o.push_str(&format!(
                    "\\u{:04x}\\u{:04x}",
                    0xD800 + (v >> 10),
                    0xDC00 + (v & 0x3ff)
                ));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn string_strategy() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            3 => "[a-z0-9 ]{0,12}",
            2 => any::<String>(),
            1 => "[\"\\\\/\\n\\t\\r\\x08\\x0c\\x00-\\x1f😀é€]{0,8}",
        ],
        proptest::collection::vec(any::<u8>(), 1..8),
    )
        .prop_map(|(s, style)| json_string(&s, &style))
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => string_strategy(),
        2 => "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,2})?",
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => prop_oneof![Just("true"), Just("false"), Just("null")].prop_map(String::from),
    ]
}

/// White space, and with `jsonc` sometimes a comment, between tokens.
fn sep(jsonc: bool) -> impl Strategy<Value = String> {
    (ws(), ws(), 0u8..6).prop_map(move |(a, b, c)| match (jsonc, c) {
        (true, 0) => format!("{a}/* c */{b}"),
        (true, 1) => format!("{a}// c\n{b}"),
        _ => format!("{a}{b}"),
    })
}

/// An object whose members' values come from `inner`.
fn object_of(inner: impl Strategy<Value = String>, jsonc: bool) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(
            (
                prop_oneof![3 => "[a-z_]{1,6}", 1 => any::<String>()],
                sep(jsonc),
                sep(jsonc),
                inner,
                sep(jsonc),
                any::<Vec<u8>>(),
            ),
            0..6,
        ),
        sep(jsonc),
        any::<bool>(),
    )
        .prop_map(move |(members, end, trailing)| {
            let mut seen = std::collections::HashSet::new();
            let body: Vec<String> = members
                .into_iter()
                .filter(|m| seen.insert(m.0.clone()))
                .map(|(k, a, b, v, c, style)| {
                    format!("{a}{}{b}:{b}{v}{c}", json_string(&k, &style))
                })
                .collect();
            let comma = if jsonc && trailing && !body.is_empty() {
                ","
            } else {
                ""
            };
            format!("{{{}{comma}{end}}}", body.join(","))
        })
}

/// An array whose elements come from `inner`.
fn array_of(inner: impl Strategy<Value = String>, jsonc: bool) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((sep(jsonc), inner, sep(jsonc)), 0..6),
        sep(jsonc),
        any::<bool>(),
    )
        .prop_map(move |(items, end, trailing)| {
            let body: Vec<String> = items.iter().map(|(a, v, b)| format!("{a}{v}{b}")).collect();
            let comma = if jsonc && trailing && !body.is_empty() {
                ","
            } else {
                ""
            };
            format!("[{}{comma}{end}]", body.join(","))
        })
}

/// A value with comments and trailing commas when `jsonc`.
fn value(jsonc: bool) -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![array_of(inner.clone(), jsonc), object_of(inner, jsonc)]
    })
}

fn wrap(jsonc: bool, v: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (ws(), v, ws(), 0u8..4).prop_map(move |(a, v, b, end)| match (jsonc, end) {
        (true, 0) => format!("// head\n{a}{v}{b}/* tail */"),
        (_, 1) => format!("{a}{v}{b}\n"),
        _ => format!("{a}{v}{b}"),
    })
}

fn document(jsonc: bool) -> impl Strategy<Value = String> {
    wrap(jsonc, value(jsonc))
}

/// A document whose top-level value is an object.
fn object_document(jsonc: bool) -> impl Strategy<Value = String> {
    wrap(jsonc, object_of(value(jsonc), jsonc))
}

/// A document as serde_json pretty-prints it, indented with `indent`, with LF or
/// CR LF line breaks.
fn pretty_document() -> impl Strategy<Value = String> {
    (
        object_document(false),
        prop_oneof![Just("  "), Just("    "), Just("\t"), Just(" ")],
        any::<bool>(),
    )
        .prop_map(|(doc, indent, crlf)| {
            let v: Value = serde_json::from_str(&doc).unwrap();
            let mut out = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(&v, &mut ser).unwrap();
            let text = String::from_utf8(out).unwrap() + "\n";
            if crlf {
                text.replace('\n', "\r\n")
            } else {
                text
            }
        })
}

/// Adds a member `name` to the top-level object of `doc` and checks the result
/// with serde_json.
fn check_new_member(format: Format, doc: &str, name: &str) -> Result<(), TestCaseError> {
    let (_, ids) = key();
    let v = serde(format, doc);
    prop_assume!(!v.as_object().unwrap().contains_key(name));
    for (path, want_value) in [
        (vec![Segment::Key(name.to_string())], Value::from("s")),
        (
            vec![Segment::Key(name.to_string()), Segment::Key("in".into())],
            serde_json::json!({"in": "s"}),
        ),
    ] {
        let path = ValuePath::from_segments(path);
        let out =
            cachet::set_value(format, doc, &path, "s", ScalarType::String, &mut sealer()).unwrap();
        let opened = cachet::open_document(format, &out, &ids).unwrap();
        let mut want = v.clone();
        want[name] = want_value;
        prop_assert_eq!(serde(format, &opened), want);
        // The old text is all there: only the new member was inserted, at one place.
        prop_assert!(is_one_insertion(doc, &opened));
    }
    Ok(())
}

/// Whether `big` is `small` with some text inserted at one place.
fn is_one_insertion(small: &str, big: &str) -> bool {
    let prefix = small
        .bytes()
        .zip(big.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    big.len() >= small.len() && big.ends_with(&small[prefix..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_json_round_trips_byte_for_byte(doc in document(false)) {
        check_values_match_serde(Format::Json, &doc, None);
        check_round_trip(Format::Json, &doc, &all());
        check_round_trip(Format::Json, &doc, &Selection::Default);
    }

    #[test]
    fn generated_jsonc_round_trips_byte_for_byte(doc in document(true)) {
        check_values_match_serde(Format::Jsonc, &doc, None);
        check_round_trip(Format::Jsonc, &doc, &all());
    }

    #[test]
    fn new_members_can_be_added_to_generated_objects(doc in object_document(true), name in "\\PC{1,8}") {
        check_new_member(Format::Jsonc, &doc, &name)?;
    }

    #[test]
    fn new_members_can_be_added_to_pretty_printed_objects(doc in pretty_document(), name in "[a-z]{1,8}") {
        check_new_member(Format::Json, &doc, &name)?;
        // The new member is on its own line, indented as its siblings are.
        let (_, ids) = key();
        let path = ValuePath::from_segments(vec![Segment::Key(name.clone())]);
        let out = cachet::set_value(Format::Json, &doc, &path, "s", ScalarType::String, &mut sealer()).unwrap();
        let opened = cachet::open_document(Format::Json, &out, &ids).unwrap();
        let nl = if doc.contains("\r\n") { "\r\n" } else { "\n" };
        let want = match doc.rfind(&format!("{nl}}}")) {
            // `{}`: no member to copy the layout of.
            _ if doc.starts_with("{}") => format!("{{\"{name}\": \"s\"}}{}", &doc[2..]),
            Some(body_end) => {
                let indent = doc.lines().nth(1).map_or("", |l| &l[..l.len() - l.trim_start().len()]);
                format!("{},{nl}{indent}\"{name}\": \"s\"{}", &doc[..body_end], &doc[body_end..])
            }
            None => unreachable!("a pretty-printed object ends with a line holding '}}'"),
        };
        prop_assert_eq!(opened.as_str(), want);
    }

    #[test]
    fn scanning_never_panics(s in any::<String>()) {
        for format in [Format::Json, Format::Jsonc] {
            let _ = cachet::list_values(format, &s);
        }
    }

    #[test]
    fn scanning_damaged_documents_never_panics(doc in document(true), cut in any::<prop::sample::Index>(), len in 0usize..4, insert in "[\"\\\\/*{}\\[\\],: \\nu0-9a-fé]{0,3}") {
        let mut at = cut.index(doc.len() + 1);
        while !doc.is_char_boundary(at) { at -= 1; }
        let mut end = (at + len).min(doc.len());
        while !doc.is_char_boundary(end) { end += 1; }
        let damaged = format!("{}{}{}", &doc[..at], insert, &doc[end..]);
        let _ = cachet::list_values(Format::Jsonc, &damaged);
        // Strict JSON: cachet accepts exactly what serde_json accepts, except that
        // cachet refuses duplicate names and deep nesting, and serde_json refuses
        // numbers out of f64's range.
        let ours = cachet::list_values(Format::Json, &damaged);
        let theirs = serde_json::from_str::<Value>(&damaged);
        match (ours, theirs) {
            (Ok(values), Ok(v)) => {
                let mut want = Vec::new();
                scalar_paths(&v, &mut ValuePath::root(), &mut want);
                prop_assert_eq!(values.len(), want.len());
            }
            (Err(e), Ok(_)) => {
                let e = e.to_string();
                prop_assert!(e.contains("duplicate key"), "{}", e);
            }
            (Ok(_), Err(e)) => {
                prop_assert!(e.to_string().contains("number out of range"), "{}", e);
            }
            (Err(_), Err(_)) => {}
        }
    }
}
