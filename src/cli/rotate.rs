//! `cachet rotate ENV` and `cachet prune ENV`: the procedure is the library's
//! ([`cachet::team::rotation`]); this module shows progress and says what was done.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use cachet::KeyId;
use cachet::team::Observer;
use cachet::team::policy::POLICY_FILE;
use cachet::team::repo::Repo;
use cachet::team::rotation::{self, RotateOptions, Rotation};

use super::identity::Terminal;
use super::team::{Notes, unlocked, with_session};
use super::{Failure, note, plural};

/// Test-only: the number of files after which `rotate` stops re-sealing and sleeps,
/// so a test can kill it at a known point. Read by debug builds only: a release
/// binary never sleeps holding the policy's lock.
#[cfg(debug_assertions)]
const PAUSE_VAR: &str = "CACHET_TEST_PAUSE_AFTER_FILES";

fn pause_after() -> Option<usize> {
    #[cfg(debug_assertions)]
    {
        std::env::var(PAUSE_VAR).ok().and_then(|v| v.parse().ok())
    }
    #[cfg(not(debug_assertions))]
    {
        None
    }
}

/// A rotation's progress on the terminal, and the test pause.
struct Progress {
    bar: indicatif::ProgressBar,
    pause_after: Option<usize>,
    paused: AtomicBool,
}

impl Observer for Progress {
    fn waiting(&self, path: &Path) {
        Notes.waiting(path);
    }

    fn pinned(&self, env: &str, key: &KeyId) {
        Notes.pinned(env, key);
    }

    fn resealing(&self, files: usize) {
        self.bar.set_length(files as u64);
    }

    fn file_starting(&self, n: usize) {
        if self.pause_after.is_some_and(|limit| n >= limit) {
            if !self.paused.swap(true, Ordering::SeqCst) {
                note(&format!("test pause: paused after {n} files"));
            }
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }

    fn file_done(&self) {
        self.bar.inc(1);
    }
}

/// `cachet rotate ENV [--dry-run] [--new-key] [--accept-new-key] [FILE…]`.
pub fn rotate(
    env_name: &str,
    named: &[PathBuf],
    options: RotateOptions,
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let mut unlocked = unlocked(env_name, identities)?;
    let progress = Progress {
        bar: if io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        },
        pause_after: pause_after(),
        paused: AtomicBool::new(false),
    };
    let outcome = with_session(&progress, false, |session| {
        Ok(rotation::rotate(&mut unlocked, named, options, session)?)
    });
    progress.bar.finish_and_clear();
    match outcome? {
        Rotation::Planned(plan) => {
            let mut out = if plan.replaces_unpinned {
                format!(
                    "environment {env_name}: a rotation is in progress to key id {}, which this machine has not pinned; a new key made here would replace it (--accept-new-key finishes with it instead)\n",
                    plan.current
                )
            } else if plan.in_progress {
                format!(
                    "environment {env_name}: a rotation is in progress; it would be finished with the current key (key id {}), no new key (--new-key makes one)\n",
                    plan.current
                )
            } else {
                format!(
                    "environment {env_name}: a new key would replace key id {}, which would be kept as retired\n",
                    plan.current
                )
            };
            if !plan.dropped.is_empty() {
                out.push_str(&format!(
                    "{}: the keyring is also sealed to {}, not members in {POLICY_FILE}; the new key would be sealed without them\n",
                    Repo::keyring_name(env_name),
                    quoted(&plan.dropped)
                ));
            }
            if plan.policy_behind {
                out.push_str(&format!(
                    "{POLICY_FILE}: its public key would be set to key id {}\n",
                    plan.current
                ));
            }
            for (name, n) in &plan.files {
                out.push_str(&format!("{name}\t{} to re-seal\n", plural(*n, "value")));
            }
            out.push_str(&format!(
                "{}, {} would be re-sealed; nothing was written\n",
                plural(plan.files.len(), "file"),
                plural(plan.values(), "value")
            ));
            super::write_stdout(out.as_bytes())
        }
        Rotation::Done(done) => {
            note(&format!(
                "environment {env_name}: {} key id {}; {} in {} re-sealed; deploy targets need the new key (`cachet env key {env_name}`); remove the retired key with `cachet prune {env_name}` once no copy needs it",
                if done.finished_interrupted {
                    "finished the interrupted rotation (no new key) to"
                } else if done.replaced_unpinned {
                    "found a rotation in progress to a key this machine has not pinned, and rotated instead to a new key made here,"
                } else {
                    "rotated to"
                },
                done.key,
                plural(done.values, "value"),
                plural(done.files, "file")
            ));
            if !done.dropped.is_empty() {
                note(&format!(
                    "{}: was also sealed to {}, not members in {POLICY_FILE}; the new key is sealed without them, and the keys it retired are ones they may hold",
                    Repo::keyring_name(env_name),
                    quoted(&done.dropped)
                ));
            }
            Ok(())
        }
    }
}

/// Names, each quoted, joined by commas.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `cachet prune ENV`.
pub fn prune(env_name: &str, identities: &[PathBuf]) -> Result<(), Failure> {
    let mut unlocked = unlocked(env_name, identities)?;
    let removed = rotation::prune(&mut unlocked, Terminal)?;
    note(&if removed == 0 {
        format!("environment {env_name}: no retired key; nothing to prune")
    } else {
        format!(
            "environment {env_name}: removed {removed} retired key{} from the keyring",
            if removed == 1 { "" } else { "s" }
        )
    });
    Ok(())
}
