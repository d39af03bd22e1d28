//! The `cachet` command-line tool; everything it does is in the `cachet` library.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
