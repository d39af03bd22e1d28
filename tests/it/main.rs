//! The integration suite in one test binary: each module drives the library or the
//! `cachet` binary the way its file names. One binary links the crate once, where one
//! binary per file linked it twenty times. The crash loop (`tests/crash.rs`) stays a
//! binary of its own because it kills `cachet` mid-write over and over.

#[path = "../common/mod.rs"]
mod common;

mod attest_vectors;
mod audit_check;
mod cli;
mod cmd;
mod credential_props;
mod deploy;
mod edit_git;
mod env_roundtrip;
#[cfg(target_os = "linux")]
mod fastapi;
mod fuzz_regressions;
mod import_sops;
mod interop;
mod json_roundtrip;
mod protected_identity;
mod reseal_props;
mod rotate;
mod tamper;
mod team;
mod toml_roundtrip;
mod trust;
mod vectors;
mod yaml_roundtrip;
