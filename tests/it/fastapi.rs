//! The deploy proof: `examples/fastapi/check.py` seals the FastAPI example's config
//! with this build of cachet, starts the app under `cachet exec` (identity from
//! CACHET_IDENTITY_FILE, then CACHET_IDENTITY) and checks it over HTTP and through
//! /proc: the OAuth2 password flow, the tokens it must refuse, the opened values in
//! the app's environment, CACHET_IDENTITY kept out of it, and SIGTERM reaching the
//! app.
//!
//! Where Python or the example's packages are missing the test says so and passes
//! on a developer's machine; under CI (`CI` set) it fails instead, so the check
//! always runs there (`.ci/run` installs examples/fastapi/requirements.txt).

use std::path::Path;

use crate::common;

#[test]
fn the_fastapi_example_runs_under_cachet_exec() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::run_python_check(
        &root.join("examples/fastapi/check.py"),
        &[env!("CARGO_BIN_EXE_cachet").as_ref()],
        "sys, tomllib, fastapi, uvicorn, pydantic_settings, jwt, python_multipart",
        "the example's packages (python3 -m pip install -r examples/fastapi/requirements.txt)",
    );
}
