//! Every fuzz target's assertions (`fuzz/checks.rs`, shared with the cargo-fuzz
//! targets) run on the seed corpus and on every input kept in
//! `fuzz/regressions/<target>/`, on stable, in the ordinary test suite: a crash
//! found by fuzzing becomes a fixture here and stays fixed.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::fs;
use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // Only the committed corpus (seed-*) and every regression input.
            if dir.ends_with(Path::new("corpus").join(target)) && !name.starts_with("seed-") {
                continue;
            }
            out.push((p.display().to_string(), fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn replay(target: &str, check: fn(&[u8])) {
    let all = inputs(target);
    assert!(!all.is_empty(), "no seeds for {target}");
    // Every input runs, so one failure does not hide another.
    let failed: Vec<String> = all
        .into_iter()
        .filter(|(_, data)| std::panic::catch_unwind(|| check(data)).is_err())
        .map(|(name, _)| name)
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} input(s) fail their fuzz check:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn attestation_inputs() {
    replay("attestation", checks::attestation);
}

#[test]
fn conflict_inputs() {
    replay("conflict", checks::conflict);
}

#[test]
fn token_inputs() {
    replay("token", checks::token);
}

#[test]
fn path_inputs() {
    replay("path", checks::path);
}

#[test]
fn identity_file_inputs() {
    replay("identity_file", checks::identity_file);
}

#[test]
fn toml_open_inputs() {
    replay("toml_open", |d| checks::document(cachet::Format::Toml, d));
}

#[test]
fn json_open_inputs() {
    replay("json_open", |d| {
        checks::document(cachet::Format::Json, d);
        checks::document(cachet::Format::Jsonc, d);
    });
}

#[test]
fn env_open_inputs() {
    replay("env_open", |d| checks::document(cachet::Format::Env, d));
}

#[test]
fn yaml_open_inputs() {
    replay("yaml_open", |d| checks::document(cachet::Format::Yaml, d));
}

#[test]
fn yaml_loaders_inputs() {
    replay("yaml_loaders", checks::yaml_loaders);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The differential check of `yaml_loaders` on texts built from YAML's
    /// indicators, line breaks of YAML 1.1 and 1.2, quotes and control characters.
    #[test]
    fn yaml_texts_read_one_way_by_cachet_and_libyaml(
        raw in "([a-z0-9 .=~%@`]|[:#&*!|>'\"{}\\[\\],?-]|\n|\r|\t|\u{85}|\u{2028}|\u{2029}|\u{7}|\u{feff}){0,16}"
    ) {
        checks::yaml_loaders(raw.as_bytes());
    }
}

#[test]
fn policy_inputs() {
    replay("policy", checks::policy);
}

#[test]
fn keyring_content_inputs() {
    replay("keyring_content", checks::keyring_content);
}

#[test]
fn protected_identity_inputs() {
    replay("protected_identity", checks::protected_identity);
}

#[test]
fn export_inputs() {
    replay("export", checks::export);
}

#[test]
fn globs_inputs() {
    replay("globs", checks::globs);
}

#[test]
fn member_inputs() {
    replay("member", checks::member);
}

/// Unlike the `identity_set` fuzz target, this does not empty `PATH` (that would
/// be unsound in a threaded test binary): an `AGE-PLUGIN-…` input makes age look
/// `age-plugin-NAME` up on `PATH`, which runs nothing, and the check never unwraps
/// a stanza, which is when a plugin would run.
#[test]
fn identity_set_inputs() {
    replay("identity_set", checks::identity_set);
}

#[test]
fn sops_inputs() {
    replay("sops", checks::sops);
}

#[test]
fn survey_inputs() {
    replay("survey", checks::survey);
}

#[test]
fn toml_scan_inputs() {
    replay("toml_scan", checks::toml_scan);
}
