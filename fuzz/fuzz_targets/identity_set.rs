//! See `checks::identity_set` for what this target asserts.
//!
//! An `AGE-PLUGIN-…` line makes age look for the program `age-plugin-NAME` on
//! `PATH` (it only looks: the program would run when a stanza is unwrapped, which
//! this target never does). `PATH` is set to an empty directory before the first
//! input, so that no input can find a program there, whatever is installed.
#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)] // each target uses one of the checks
mod checks;

libfuzzer_sys::fuzz_target!(
    init: {
        let empty = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("empty-path");
        std::fs::create_dir_all(&empty).expect("create the empty PATH directory");
        assert!(
            std::fs::read_dir(&empty).expect("read it").next().is_none(),
            "{} must be empty",
            empty.display()
        );
        // SAFETY: this runs once, in LLVMFuzzerInitialize, which libFuzzer calls
        // before it starts any thread (its RSS thread comes later) and before the
        // first input: nothing can read the environment concurrently.
        unsafe { std::env::set_var("PATH", &empty) };
    },
    |data: &[u8]| checks::identity_set(data)
);
