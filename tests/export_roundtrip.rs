//! Every export reads back, with the usual third-party readers, as the data it was
//! given: JSON with `serde_json`, YAML with `serde_yaml`, `.env` with `dotenvy`,
//! and a Kubernetes Secret with `serde_yaml` and base64. Random trees (odd keys,
//! strings YAML would take for other types, quotes, line breaks, Unicode) and
//! hand-picked cases.

use base64::Engine;
use cachet::ValuePath;
use cachet::export::{to_dotenv, to_json, to_k8s_secret, to_yaml};
use cachet::path::Segment;
use cachet::tree::{Scalar, Value};
use cachet::variables::Variable;
use proptest::prelude::*;
use zeroize::Zeroizing;

const ODD: &[&str] = &[
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "True",
    "null",
    "NULL",
    "~",
    "0x1",
    "0o17",
    "0b1",
    "1e3",
    "1_000",
    "1:30",
    "007",
    "+1",
    "1.0.0",
    ".5",
    "- a",
    ": b",
    "#c",
    "a #c",
    "a: b",
    "a:",
    ".inf",
    "-.inf",
    ".nan",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "",
    " x",
    "x ",
    "<<",
    "=",
    "---",
    "...",
    "@x",
    "`x",
    "!t",
    "&a",
    "*a",
    "%x",
    "|",
    ">",
    "?",
    "-",
    "'q'",
    "\"d\"",
    "a\nb",
    "a\r\nb",
    "tab\t",
    "café",
    "\u{85}",
    "\u{2028}",
    "\u{feff}x",
    "\u{fffe}",
    "\u{ffff}",
    "\\",
    "$HOME",
    "a,b",
    "[x]",
    "{x}",
    "\u{1b}[0m",
    "\u{7f}",
    "\u{0}",
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(ODD).prop_map(String::from),
        "[a-zA-Z_/][a-zA-Z0-9 _./@+:=-]{0,8}",
        "\\PC{0,6}",
        any::<String>().prop_map(|s| s.chars().take(6).collect()),
    ]
}

fn text(t: String) -> Zeroizing<String> {
    Zeroizing::new(t)
}

/// A float's text as an opened document keeps it.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{f:?}")
    }
}

fn arb_scalar(finite: bool) -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_string().prop_map(|t| Scalar::String(text(t))),
        any::<i64>().prop_map(|i| Scalar::Integer(text(i.to_string()))),
        prop_oneof![
            any::<f64>(),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(1e300),
            Just(-0.0),
        ]
        .prop_map(|f| Scalar::Float(text(float_text(f)))),
        any::<bool>().prop_map(Scalar::Bool),
        Just(Scalar::Null),
        Just(Scalar::Datetime(text("1979-05-27T07:32:00Z".into()))),
    ]
    .prop_filter("finite", move |s| !finite || !s.is_non_finite())
    .prop_map(Value::Scalar)
}

fn unique(entries: Vec<(String, Value)>) -> Value {
    let mut seen = std::collections::HashSet::new();
    Value::Table(
        entries
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect(),
    )
}

fn arb_tree(finite: bool) -> impl Strategy<Value = Value> {
    arb_scalar(finite).prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((arb_string(), inner), 0..5).prop_map(unique),
        ]
    })
}

fn json_of(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Table(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), json_of(v)))
                .collect(),
        ),
        Value::Array(items) => J::Array(items.iter().map(json_of).collect()),
        Value::Scalar(s) => match s {
            Scalar::String(t) | Scalar::Datetime(t) => J::String(t.to_string()),
            Scalar::Integer(t) => J::from(t.parse::<i64>().unwrap()),
            Scalar::Float(t) => J::from(t.parse::<f64>().unwrap()),
            Scalar::Bool(b) => J::Bool(*b),
            Scalar::Null => J::Null,
        },
    }
}

/// Equality, floats within a relative 1e-14: without its
/// `float_roundtrip` feature, serde_json's parser may miss the nearest float.
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, x), (l, y))| k == l && json_eq(x, y))
        }
        (J::Number(x), J::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-14 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        _ => a == b,
    }
}

fn yaml_of(v: &Value) -> serde_yaml::Value {
    use serde_yaml::Value as Y;
    match v {
        Value::Table(entries) => Y::Mapping(
            entries
                .iter()
                .map(|(k, v)| (Y::String(k.clone()), yaml_of(v)))
                .collect(),
        ),
        Value::Array(items) => Y::Sequence(items.iter().map(yaml_of).collect()),
        Value::Scalar(s) => match s {
            Scalar::String(t) | Scalar::Datetime(t) => Y::String(t.to_string()),
            Scalar::Integer(t) => Y::from(t.parse::<i64>().unwrap()),
            Scalar::Float(t) => Y::from(match t.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                other => other.parse::<f64>().unwrap(),
            }),
            Scalar::Bool(b) => Y::Bool(*b),
            Scalar::Null => Y::Null,
        },
    }
}

fn yaml_documents(text: &str) -> Result<Vec<serde_yaml::Value>, serde_yaml::Error> {
    serde_yaml::Deserializer::from_str(text)
        .map(serde::Deserialize::deserialize)
        .collect()
}

fn var(name: &str, value: &str) -> Variable {
    Variable {
        name: name.into(),
        path: ValuePath::from_segments(vec![Segment::Key(name.into())]),
        value: text(value.into()),
    }
}

fn fail(e: impl std::fmt::Display, out: &str) -> TestCaseError {
    TestCaseError::fail(format!("{e}\n{out}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn json_reads_back_with_serde_json(tree in arb_tree(true)) {
        let out = to_json(std::slice::from_ref(&tree)).unwrap();
        prop_assert!(out.ends_with('\n'));
        let back: serde_json::Value = serde_json::from_str(&out).map_err(|e| fail(e, &out))?;
        prop_assert!(json_eq(&back, &json_of(&tree)), "{:?}\n{}", back, out.as_str());
    }

    #[test]
    fn yaml_reads_back_with_serde_yaml(trees in prop::collection::vec(arb_tree(false), 1..4)) {
        let out = to_yaml(&trees).unwrap();
        let back = yaml_documents(&out).map_err(|e| fail(e, &out))?;
        let expected: Vec<serde_yaml::Value> = trees.iter().map(yaml_of).collect();
        prop_assert_eq!(back, expected, "{}", out.as_str());
    }

    #[test]
    fn k8s_secret_reads_back_with_serde_yaml_and_base64(
        values in prop::collection::vec(arb_string(), 0..6),
        names in prop::sample::subsequence(
            vec!["A", "b.c", "-x", "yes", "1e3", "null", "_", "a-b_c.D", "0", "true"], 0..=6),
    ) {
        let vars: Vec<Variable> = names.iter().zip(&values).map(|(n, v)| var(n, v)).collect();
        let out = to_k8s_secret(&vars, "app-1", Some("prod")).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&out).map_err(|e| fail(e, &out))?;
        prop_assert_eq!(&doc["apiVersion"], &serde_yaml::Value::from("v1"));
        prop_assert_eq!(&doc["kind"], &serde_yaml::Value::from("Secret"));
        prop_assert_eq!(&doc["type"], &serde_yaml::Value::from("Opaque"));
        prop_assert_eq!(&doc["metadata"]["name"], &serde_yaml::Value::from("app-1"));
        prop_assert_eq!(&doc["metadata"]["namespace"], &serde_yaml::Value::from("prod"));
        let data = doc["data"].as_mapping().ok_or_else(|| fail("no data mapping", &out))?;
        prop_assert_eq!(data.len(), vars.len());
        for (v, (k, encoded)) in vars.iter().zip(data) {
            prop_assert_eq!(k.as_str(), Some(v.name.as_str()));
            let encoded = encoded.as_str().ok_or_else(|| fail("data not a string", &out))?;
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
            prop_assert_eq!(decoded, v.value.as_bytes());
        }
    }
}

#[test]
fn dotenv_reads_back_with_dotenvy() {
    let vars = [
        var("PLAIN", "postgres://db:5432/app"),
        var("EMPTY", ""),
        var("SPACES", " a b "),
        var("DOLLAR", "pa$$word \"q\""),
        var("QUOTES", "it's \"x\" \\ y"),
        var("LINES", "line 1\nline 2\n"),
        var("HASH", "#not a comment"),
        var("UNICODE", "café ☕ \u{2028}"),
        var("JSON", "[{\"a\":1}]"),
        var("dotted.name", "v"),
    ];
    let out = to_dotenv(&vars).unwrap();
    assert_eq!(
        out.as_str(),
        "PLAIN=postgres://db:5432/app\nEMPTY=\"\"\nSPACES=\" a b \"\nDOLLAR='pa$$word \"q\"'\nQUOTES=\"it's \\\"x\\\" \\\\ y\"\nLINES=\"line 1\\nline 2\\n\"\nHASH=\"#not a comment\"\nUNICODE=\"café ☕ \u{2028}\"\nJSON=\"[{\\\"a\\\":1}]\"\ndotted.name=v\n"
    );
    let read: Vec<(String, String)> = dotenvy::from_read_iter(out.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let want: Vec<(String, String)> = vars
        .iter()
        .map(|v| (v.name.clone(), v.value.to_string()))
        .collect();
    assert_eq!(read, want);
}

#[test]
fn yaml_of_hand_picked_strings() {
    let doc = Value::Table(
        [
            "yes",
            "1e3",
            "~",
            "- a",
            ": b",
            "#c",
            "a b",
            "x",
            "2001-12-14",
            "",
        ]
        .iter()
        .map(|s| {
            (
                s.to_string(),
                Value::Scalar(Scalar::String(text(s.to_string()))),
            )
        })
        .collect(),
    );
    let out = to_yaml(std::slice::from_ref(&doc)).unwrap();
    assert_eq!(
        out.as_str(),
        "\"yes\": \"yes\"\n\"1e3\": \"1e3\"\n\"~\": \"~\"\n\"- a\": \"- a\"\n\": b\": \": b\"\n\"#c\": \"#c\"\na b: a b\nx: x\n\"2001-12-14\": \"2001-12-14\"\n\"\": \"\"\n"
    );
    assert_eq!(yaml_documents(&out).unwrap(), vec![yaml_of(&doc)]);
}
