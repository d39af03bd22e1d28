//! Benchmark of the work of `cachet rotate` that grows with the repository: 1,000
//! TOML files of 20 sealed values each, every file read, re-sealed to a new key
//! ([`cachet::document::rekey::rekey_document`]) and replaced atomically, on all cores
//! (rayon, as `cachet rotate` does) and on one thread.
//!
//! Run with `cargo bench --bench rotate`. The keyring and policy writes of a
//! rotation are a constant few milliseconds and are not included. Each mode runs
//! three times on fresh files; the median is printed.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cachet::worktree::atomic::{Mode, write_atomic};
use cachet::{Format, Identities, Sealer, SecretKey, Selection};
use rayon::prelude::*;

const FILES: usize = 1000;
const VALUES: usize = 20;

/// A directory of `FILES` files sealed to `old`.
fn repository(old: &SecretKey) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut sealer = Sealer::new(&old.public_key()).expect("sealer");
    let mut paths = Vec::new();
    for f in 0..FILES {
        let mut text = format!("# service {f}\n[service]\nhost = \"svc{f}.internal\"\n");
        for v in 0..VALUES {
            let _ = writeln!(text, "s{v}_password = \"value-{f}-{v}-abcdefghijklmnop\"");
        }
        let (sealed, _) =
            cachet::seal_document(Format::Toml, &text, &Selection::Default, &mut sealer)
                .expect("seal");
        let p = dir.path().join(format!("svc{f}.toml"));
        fs::write(&p, sealed).expect("write");
        paths.push(p);
    }
    (dir, paths)
}

fn rotate_one(path: &PathBuf, from: &Identities, to: &cachet::PublicKey) -> usize {
    let text = fs::read_to_string(path).expect("read");
    let (out, report) =
        cachet::document::rekey::rekey_document(Format::Toml, &text, from, to).expect("rekey");
    write_atomic(path, out.as_bytes(), Mode::Keep, false).expect("write");
    report.resealed.len()
}

fn run(threads: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..3 {
        let old = SecretKey::generate();
        let new = SecretKey::generate().public_key();
        let (_dir, paths) = repository(&old);
        let mut from = Identities::new();
        from.push(old);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let start = Instant::now();
        let n: usize = pool.install(|| paths.par_iter().map(|p| rotate_one(p, &from, &new)).sum());
        times.push(start.elapsed());
        assert_eq!(n, FILES * VALUES);
    }
    times.sort();
    times[1]
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent: stay quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let single = run(1);
    let parallel = run(cores);
    println!(
        "rotate {FILES} files x {VALUES} values: 1 thread {:.0} ms, {cores} threads {:.0} ms, speed-up {:.1}x",
        single.as_secs_f64() * 1e3,
        parallel.as_secs_f64() * 1e3,
        single.as_secs_f64() / parallel.as_secs_f64()
    );
}
