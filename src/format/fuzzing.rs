//! Internal checks for the fuzz targets (`fuzz/`) and their replay in the test
//! suite. Not part of the API: hidden from the documentation, and free to change.

/// Whether the streaming TOML scanner (behind `Format::scan_into`) agrees with the
/// `toml_edit`-based one (behind `Format::scan`) on `text`: the same nodes, or the
/// same error, and nodes in document order. The description of a disagreement
/// quotes the input, so it is only for a fuzzer's or a test's report.
pub fn toml_scanners_agree(text: &str) -> Result<(), String> {
    crate::format::toml_stream::differential(text)
}
