//! The CLI's help texts and its common answers and errors, one snapshot case per
//! file in `tests/cmd/` (arguments, environment, exit status, stdout and stderr):
//! a change of wording is a diff a reviewer reads. The cases run in a copy of
//! `tests/cmd/files.in/` with an empty environment. After a deliberate change,
//! `TRYCMD=overwrite cargo test --test it cmd::` rewrites the expected output.

#[test]
fn help_texts_and_common_errors_are_as_reviewed() {
    trycmd::TestCases::new()
        .register_bin("cachet", std::path::Path::new(env!("CARGO_BIN_EXE_cachet")))
        .case("tests/cmd/*.toml");
}
