//! TOML sealing is byte-exact: for every construct, seal then open gives the file
//! back byte for byte, the sealed file holds none of the sealed texts, and every
//! line that held no sealed value is unchanged. Hand-written fixtures in
//! `testdata/toml/` plus generated documents (proptest).

use std::fs;
use std::path::PathBuf;

use cachet::{Format, Sealer, Selection, ValuePath};
use proptest::prelude::*;

use crate::common;
use common::{fixture_files, key, untouched_lines};

/// Seals with `selection`, opens, and checks every promise of the format.
fn check_round_trip(text: &str, selection: &Selection) -> cachet::SealReport {
    let (k, ids) = key();
    let mut sealer = Sealer::new(&k.public_key()).unwrap();
    let (sealed, report) =
        cachet::seal_document(Format::Toml, text, selection, &mut sealer).unwrap();
    let opened = cachet::open_document(Format::Toml, &sealed, &ids).unwrap();
    assert_eq!(
        opened.as_str(),
        text,
        "open(seal(x)) must be x byte for byte"
    );

    // Sealing again changes nothing.
    let mut sealer2 = Sealer::new(&k.public_key()).unwrap();
    let (resealed, again) =
        cachet::seal_document(Format::Toml, &sealed, selection, &mut sealer2).unwrap();
    assert_eq!(resealed, sealed, "sealing twice must change nothing");
    assert!(again.sealed.is_empty());
    assert_eq!(again.already_sealed, report.sealed.len());

    // Lines holding no sealed value are unchanged and in order.
    let sealed_lines: Vec<&str> = sealed.split('\n').collect();
    let mut at = 0;
    for line in untouched_lines(Format::Toml, text, &report.sealed) {
        let found = sealed_lines[at..].iter().position(|l| *l == line);
        let Some(i) = found else {
            panic!("line {line:?} is missing or out of order in the sealed file");
        };
        at += i + 1;
    }
    report
}

fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fixture_files("toml", &["toml"])
        .into_iter()
        .chain(
            fixture_files("example", &["toml"])
                .into_iter()
                .filter(|(p, _)| p.ends_with("app.toml")),
        )
        .map(|(p, text)| (p.display().to_string(), text))
        .collect();
    out.sort();
    assert!(out.len() >= 8);
    out
}

#[test]
fn every_fixture_round_trips_with_every_value_sealed() {
    for (name, text) in fixtures() {
        let report = check_round_trip(&text, &Selection::Paths(vec![ValuePath::root()]));
        // Every scalar was sealed: no string value's text survives in the sealed form.
        let (k, _) = key();
        let mut sealer = Sealer::new(&k.public_key()).unwrap();
        let (sealed, _) = cachet::seal_document(
            Format::Toml,
            &text,
            &Selection::Paths(vec![ValuePath::root()]),
            &mut sealer,
        )
        .unwrap();
        for path in &report.sealed {
            let (_, ids) = key();
            let content = cachet::get_value(Format::Toml, &sealed, path, &ids).unwrap();
            if content.len() >= 6 && text.matches(content.as_str()).count() == 1 {
                assert!(
                    !sealed.contains(content.as_str()),
                    "{name}: {path} leaks into the sealed file"
                );
            }
        }
    }
}

#[test]
fn every_fixture_round_trips_with_the_default_rule() {
    for (_, text) in fixtures() {
        check_round_trip(&text, &Selection::Default);
    }
}

#[test]
fn the_default_rule_picks_the_documented_values_of_the_example() {
    let text = fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/example/app.toml"),
    )
    .unwrap();
    let report = check_round_trip(&text, &Selection::Default);
    let sealed: Vec<String> = report.sealed.iter().map(ToString::to_string).collect();
    assert_eq!(
        sealed,
        [
            "api_key",
            "database.password",
            "database.url",
            "jwt.signing_key",
            "smtp.server.password",
            "webhooks[0].secret",
            "webhooks[1].secret"
        ]
    );
}

#[test]
fn named_paths_seal_exactly_those_values() {
    let text = "a = 1\nb = \"two\"\n[t]\nc = [1, 2]\nd = { e = true }\n";
    let paths = ["b", "t.c[1]", "t.d"].map(|p| p.parse().unwrap()).to_vec();
    let report = check_round_trip(text, &Selection::Paths(paths));
    let sealed: Vec<String> = report.sealed.iter().map(ToString::to_string).collect();
    assert_eq!(sealed, ["b", "t.c[1]", "t.d.e"]);
}

#[test]
fn a_named_path_that_does_not_exist_is_an_error() {
    let (k, _) = key();
    let mut sealer = Sealer::new(&k.public_key()).unwrap();
    let e = cachet::seal_document(
        Format::Toml,
        "a = 1\n",
        &Selection::Paths(vec!["nope.x".parse().unwrap()]),
        &mut sealer,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "nope.x: no such value in the file");
}

// ---- generated documents ----

fn bare_key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,6}"
}

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![3 => bare_key(), 1 => "\\PC{0,6}"]
}

fn key_text(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        basic(k)
    }
}

fn basic(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The text of one scalar, in one of TOML's many spellings.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| basic(&s)),
        "[^'\\n\\r\\x00-\\x08\\x0b-\\x1f\\x7f]{0,20}".prop_map(|s| format!("'{s}'")),
        "[a-z \\n]{0,30}".prop_map(|s| format!("\"\"\"\n{s}\"\"\"")),
        "[a-z \\n\"]{0,30}".prop_map(|s| format!("'''{s}'''")),
        any::<i64>().prop_map(|i| i.to_string()),
        (0u32..0xffff).prop_map(|i| format!("0x{i:x}")),
        (-1e9f64..1e9).prop_map(|f| format!("{f:?}")),
        Just("inf".to_string()),
        Just("-nan".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        Just("07:32:00".to_string()),
        Just("1979-05-27".to_string()),
    ]
}

/// A value: a scalar, an array, or an inline table, nested a little.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            (
                proptest::collection::vec(inner.clone(), 0..4),
                any::<bool>()
            )
                .prop_map(|(v, nl)| {
                    if nl {
                        format!("[\n  {},\n]", v.join(",\n  # c\n  "))
                    } else {
                        format!("[{}]", v.join(", "))
                    }
                }),
            proptest::collection::vec((bare_key(), inner), 0..4).prop_map(|kv| {
                let mut seen = std::collections::HashSet::new();
                let parts: Vec<String> = kv
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                format!("{{ {} }}", parts.join(", "))
            }),
        ]
    })
}

/// Lines of `key = value` with comments, blank lines and spacing varied.
fn key_values() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        (any_key(), value(), 0u8..4, proptest::option::of(bare_key())),
        0..6,
    )
    .prop_map(|kvs| {
        let mut seen = std::collections::HashSet::new();
        kvs.into_iter()
            .filter(|(k, _, _, dot)| {
                seen.insert(k.clone()) && dot.as_ref().is_none_or(|d| seen.insert(format!("{d}.")))
            })
            .map(|(k, v, deco, dot)| {
                let key = match dot {
                    Some(d) => format!("{d}.{}", key_text(&k)),
                    None => key_text(&k),
                };
                match deco {
                    0 => format!("{key} = {v}"),
                    1 => format!("{key}={v}   # comment"),
                    2 => format!("\n# a comment line\n  {key}  =  {v}"),
                    _ => format!("{key} = {v}\t"),
                }
            })
            .collect()
    })
}

fn document() -> impl Strategy<Value = String> {
    (
        key_values(),
        proptest::collection::vec((bare_key(), key_values(), any::<bool>()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(root, tables, crlf)| {
            let mut lines = root;
            let mut seen = std::collections::HashSet::new();
            for (name, kvs, aot) in tables {
                if !seen.insert(name.clone()) {
                    continue;
                }
                lines.push(String::new());
                lines.push(if aot {
                    format!("[[t_{name}]]")
                } else {
                    format!("[t_{name}]")
                });
                lines.extend(kvs);
            }
            let text = lines.join("\n") + "\n";
            if crlf {
                text.replace('\n', "\r\n")
            } else {
                text
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_round_trip_byte_for_byte(doc in document()) {
        // A generated document may be invalid TOML (e.g. a dotted key clashing with
        // a table); only valid ones are a test of sealing.
        prop_assume!(toml_edit::Document::parse(doc.as_str()).is_ok());
        check_round_trip(&doc, &Selection::Paths(vec![ValuePath::root()]));
        check_round_trip(&doc, &Selection::Default);
    }
}
