//! Properties of re-sealing and of the value-by-value merge: a value whose text
//! did not change keeps its token, and changes to different values both survive
//! a merge.

use crate::common;

use cachet::Conflict;
use cachet::document::reseal::normalize_to;
use cachet::{Format, Selection};
use proptest::prelude::*;

use common::{key, sealer};

/// A TOML document of `values` as `k<i>_password` keys (all sealed by default).
fn doc(values: &[String]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("k{i}_password = \"{v}\"\n"))
        .collect()
}

fn seal(text: &str) -> String {
    cachet::seal_document(Format::Toml, text, &Selection::Default, &mut sealer())
        .unwrap()
        .0
}

fn value() -> impl Strategy<Value = String> {
    "[a-z0-9]{0,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Unchanged plaintext ⇒ unchanged token; changed ⇒ new token that opens to it.
    #[test]
    fn unchanged_values_keep_their_tokens(
        old in prop::collection::vec(value(), 1..6),
        changes in prop::collection::vec(prop::option::of(value()), 6),
    ) {
        let (_, ids) = key();
        let sealed = seal(&doc(&old));
        let new: Vec<String> = old
            .iter()
            .zip(&changes)
            .map(|(o, c)| c.clone().unwrap_or_else(|| o.clone()))
            .collect();
        let (out, report) = cachet::reseal(
            Format::Toml, &sealed, &ids, &doc(&new), &Selection::Default, &mut sealer(),
        ).unwrap();
        let changed = old.iter().zip(&new).filter(|(o, n)| o != n).count();
        prop_assert_eq!(report.kept, old.len() - changed);
        prop_assert_eq!(report.sealed.len(), changed);
        for ((o, n), (lo, ln)) in old.iter().zip(&new).zip(sealed.lines().zip(out.lines())) {
            prop_assert_eq!(o == n, lo == ln);
        }
        let opened = cachet::open_document(Format::Toml, &out, &ids).unwrap();
        prop_assert_eq!(opened.as_str(), doc(&new));
    }

    /// Non-overlapping changes on two sides merge to both changes, taking each
    /// side's token as it is; overlapping different changes are conflicts.
    #[test]
    fn merges_of_different_values_keep_both_changes(
        base in prop::collection::vec(value(), 1..6),
        sides in prop::collection::vec((prop::option::of(value()), prop::option::of(value())), 6),
    ) {
        let (_, ids) = key();
        let o = seal(&doc(&base));
        let side = |first: bool| -> Vec<String> {
            base.iter()
                .zip(&sides)
                .map(|(b, s)| if first { &s.0 } else { &s.1 }.clone().unwrap_or_else(|| b.clone()))
                .collect()
        };
        let va = side(true);
        let vb = side(false);
        let a = cachet::reseal(Format::Toml, &o, &ids, &doc(&va), &Selection::Default, &mut sealer()).unwrap().0;
        let b = cachet::reseal(Format::Toml, &o, &ids, &doc(&vb), &Selection::Default, &mut sealer()).unwrap().0;
        let merged = cachet::merge(Format::Toml, &o, &a, &b, &ids).unwrap();
        let mut want = Vec::new();
        let mut conflicts = 0;
        for (i, line) in merged.text.lines().enumerate() {
            let (bo, ba, bb) = (&base[i], &va[i], &vb[i]);
            let (la, lb) = (a.lines().nth(i).unwrap(), b.lines().nth(i).unwrap());
            if ba != bo && bb != bo && ba != bb {
                conflicts += 1;
                let marker = line.split('"').nth(1).unwrap();
                let c = Conflict::parse(marker).unwrap().unwrap();
                prop_assert_eq!(format!("k{i}_password = \"cachet:{}\"", &c.ours.to_string()["cachet:".len()..]), la);
                want.push(None);
            } else if ba == bo {
                prop_assert_eq!(line, lb);
                want.push(Some(bb.clone()));
            } else {
                prop_assert_eq!(line, la);
                want.push(Some(ba.clone()));
            }
        }
        prop_assert_eq!(merged.conflicts.len(), conflicts);
        if conflicts == 0 {
            let all: Vec<String> = want.into_iter().flatten().collect();
            let opened = cachet::open_document(Format::Toml, &merged.text, &ids).unwrap();
            prop_assert_eq!(opened.as_str(), doc(&all));
        }
    }

    /// Normalizing a side to the base keeps the base's tokens for unchanged values.
    #[test]
    fn normalizing_keeps_base_tokens(base in prop::collection::vec(value(), 1..5)) {
        let (_, ids) = key();
        let o = seal(&doc(&base));
        let again = seal(&doc(&base));
        prop_assert_eq!(normalize_to(Format::Toml, &o, &again, &ids).unwrap(), o);
    }
}

#[test]
fn conflict_markers_parse_and_print_back() {
    let (_, ids) = key();
    let a = seal("p_password = \"a\"\n");
    let token = a.split('"').nth(1).unwrap();
    let rest = &token["cachet:".len()..];
    let marker = format!("cachet:conflict:{rest}:{rest}");
    let c = Conflict::parse(&marker).unwrap().unwrap();
    assert_eq!(c.to_string(), marker);
    assert_eq!(Conflict::parse(token), None);
    assert_eq!(
        Conflict::parse("cachet:conflict:v1:x"),
        Some(Err(cachet::OpenError::Malformed(
            "a conflict marker holds exactly two tokens"
        )))
    );
    // Opening a document with a marker refuses it by name.
    let text = format!("p_password = \"{marker}\"\n");
    let e = cachet::open_document(Format::Toml, &text, &ids).unwrap_err();
    assert_eq!(
        e.to_string(),
        "p_password: holds an unresolved merge conflict; resolve it with `cachet edit`"
    );
    // Editing shows both sides.
    let view = cachet::open_for_edit(Format::Toml, &text, &ids).unwrap();
    assert_eq!(
        view.text.as_str(),
        "p_password = \"CONFLICT <<<<<<< ours: \\\"a\\\" ======= theirs: \\\"a\\\" >>>>>>> keep one value\"\n"
    );
}

/// The text of one `key = "…"` line of a TOML file.
fn line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{key} =")))
        .unwrap()
}

/// A branch that only seals a plain value, or re-seals to a new key, wins over a
/// side that did not touch that value: the merge never keeps the plaintext or the
/// old key's token.
#[test]
fn a_change_of_sealing_alone_is_a_change() {
    let (_, ids) = key();
    let base = "host = \"db\"\npassword = \"hunter2\"\n";
    let mut ours_text = base.replace("db", "db2");
    let theirs = cachet::seal_document(
        Format::Toml,
        base,
        &Selection::Paths(vec!["password".parse().unwrap()]),
        &mut sealer(),
    )
    .unwrap()
    .0;
    let merged =
        cachet::document::reseal::merge(Format::Toml, base, &ours_text, &theirs, &ids).unwrap();
    assert_eq!(line(&merged.text, "password"), line(&theirs, "password"));
    assert_eq!(line(&merged.text, "host"), "host = \"db2\"");
    assert!(!merged.text.contains("hunter2"));
    // The other way round: ours sealed it, theirs changed another value.
    ours_text = theirs.clone();
    let theirs_text = base.replace("db", "db3");
    let merged =
        cachet::document::reseal::merge(Format::Toml, base, &ours_text, &theirs_text, &ids)
            .unwrap();
    assert_eq!(line(&merged.text, "password"), line(&ours_text, "password"));
    assert!(!merged.text.contains("hunter2"));
}

/// After a rotation on one side, a token of the old key never comes back: the
/// value merge refuses (the line merge then shows the difference), and
/// normalizing for the line merge swaps in only tokens of the same key.
#[test]
fn a_rotation_is_never_undone_by_a_merge() {
    let (_, ids_old) = key();
    let new_key = cachet::SecretKey::from_bytes([9; 32]);
    let mut ids = ids_old.clone();
    ids.push(new_key.clone());
    let plain = "host = \"db\"\npassword = \"hunter2\"\n";
    let base = seal(plain);
    let rotated = cachet::document::rekey::rekey_document(
        Format::Toml,
        &base,
        &ids_old,
        &new_key.public_key(),
    )
    .unwrap()
    .0
    .to_string();
    assert_ne!(line(&rotated, "password"), line(&base, "password"));
    // Theirs, from before the rotation, changes the password under the old key.
    let theirs = seal("host = \"db\"\npassword = \"hunter3\"\n");
    match cachet::document::reseal::merge(Format::Toml, &base, &rotated, &theirs, &ids) {
        Err(cachet::Error::CannotMerge(_)) => {}
        other => panic!("{other:?}"),
    }
    let normalized = normalize_to(Format::Toml, &base, &rotated, &ids).unwrap();
    assert_eq!(normalized, rotated);
}

/// A sealed value renamed (or moved) in a plaintext working copy is sealed at its
/// new place, even where the default rule would not pick its name.
#[test]
fn a_renamed_secret_stays_sealed() {
    let (_, ids) = key();
    let sealed = seal("password = \"hunter2\"\nhost = \"db\"\n");
    let renamed = "primary = \"hunter2\"\nhost = \"db\"\n";
    let (out, report) = cachet::reseal(
        Format::Toml,
        &sealed,
        &ids,
        renamed,
        &Selection::Default,
        &mut sealer(),
    )
    .unwrap();
    assert!(!out.contains("hunter2"), "{out}");
    assert_eq!(report.sealed.len(), 1);
    assert_eq!(line(&out, "host"), "host = \"db\"");
}

/// Only a well-formed marker is a conflict; anything else beginning like one is
/// malformed.
#[test]
fn a_broken_conflict_marker_is_malformed() {
    for bad in [
        "cachet:conflict:abc",
        "cachet:conflict:",
        "cachet:conflict:v1:a:b:c:v1:a:b",
    ] {
        match cachet::Token::parse(bad) {
            Err(cachet::OpenError::Malformed(_)) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// A TOML sub-table after another table: its nodes come grouped by table, not in
/// text order, and opening for an edit (then re-sealing the edit) must still put
/// every value back in its place.
#[test]
fn tables_out_of_text_order_open_for_an_edit() {
    let (_, ids) = key();
    let text = "[a]\npassword = \"one\"\n[b]\npassword = \"two\"\n[a.c]\npassword = \"three\"\n";
    let sealed = seal(text);
    let view = cachet::document::reseal::open_for_edit(Format::Toml, &sealed, &ids).unwrap();
    assert_eq!(view.text.as_str(), text);
    let edited = text.replace("two", "deux");
    let (out, report) = cachet::reseal(
        Format::Toml,
        &sealed,
        &ids,
        &edited,
        &Selection::Default,
        &mut sealer(),
    )
    .unwrap();
    assert_eq!((report.kept, report.sealed.len()), (2, 1));
    let opened = cachet::open_document(Format::Toml, &out, &ids).unwrap();
    assert_eq!(opened.as_str(), edited);
}
