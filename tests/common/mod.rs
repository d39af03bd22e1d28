//! Helpers shared by the round-trip test suites: one test key, a sealer to it, the
//! selection that seals every value, and path parsing.

// Each test crate uses some of these.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use cachet::{Format, Identities, Sealer, SecretKey, Selection, ValuePath};

/// The test key and the identity set that holds it.
pub fn key() -> (SecretKey, Identities) {
    let k = SecretKey::from_bytes([7; 32]);
    let mut ids = Identities::new();
    ids.push(k.clone());
    (k, ids)
}

/// A sealer to the test key, as one sealing run.
pub fn sealer() -> Sealer {
    Sealer::new(&key().0.public_key()).unwrap()
}

/// Seal every value of the document.
pub fn all() -> Selection {
    Selection::Paths(vec![ValuePath::root()])
}

/// A path from its written form.
pub fn path(p: &str) -> ValuePath {
    p.parse().unwrap()
}

/// Every fixture file of `testdata/<dir>` whose name ends with one of
/// `extensions`, with its text, sorted by path.
pub fn fixture_files(dir: &str, extensions: &[&str]) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir);
    let mut out: Vec<(PathBuf, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    out
}

/// The lines of `text` that hold no part of a value at one of `paths` (a line
/// holding an empty value's empty span counts as touched: sealing changes it).
pub fn untouched_lines<'t>(format: Format, text: &'t str, paths: &[ValuePath]) -> Vec<&'t str> {
    let spans: Vec<_> = cachet::list_values(format, text)
        .unwrap()
        .into_iter()
        .filter(|v| paths.contains(&v.path))
        .map(|v| v.span)
        .collect();
    assert_eq!(spans.len(), paths.len());
    let mut out = Vec::new();
    let mut pos = 0;
    for line in text.split('\n') {
        let end = pos + line.len();
        let touched = spans
            .iter()
            .any(|s| s.start <= end && (s.end > pos || (s.is_empty() && s.start >= pos)));
        if !touched {
            out.push(line);
        }
        pos = end + 1;
    }
    out
}

/// A temporary directory holding a repository (`repo/`, created) and, beside it,
/// a home directory for each user (`home-<who>/`, created when first asked for).
pub struct RepoDir {
    /// The temporary directory itself (removed on drop).
    pub dir: tempfile::TempDir,
    /// Values that no command run here may print.
    secrets: &'static [&'static str],
}

impl RepoDir {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("repo")).unwrap();
        RepoDir { dir, secrets: &[] }
    }

    /// A repository directory whose commands must never print any of `secrets`.
    pub fn guarding(secrets: &'static [&'static str]) -> Self {
        RepoDir {
            secrets,
            ..RepoDir::new()
        }
    }

    /// The repository's root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// `who`'s home directory.
    pub fn home(&self, who: &str) -> PathBuf {
        let h = self.dir.path().join(format!("home-{who}"));
        fs::create_dir_all(&h).unwrap();
        h
    }

    /// Runs cachet in the repository as `who` (`USER` set to it, `env` added);
    /// asserts that nothing it printed holds a guarded secret.
    pub fn run_full(&self, who: &str, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Out {
        let mut env = env.to_vec();
        env.push(("USER", who));
        let o = run_cachet(&self.root(), &self.home(who), args, stdin, &env);
        for s in self.secrets {
            assert!(
                !o.stdout.contains(s) && !o.stderr.contains(s),
                "{args:?} printed the secret {s:?}:\n{}\n{}",
                o.stdout,
                o.stderr
            );
        }
        o
    }

    /// Runs cachet as `who`.
    pub fn run(&self, who: &str, args: &[&str]) -> Out {
        self.run_full(who, args, b"", &[])
    }

    /// Runs cachet as `who` and asserts that it succeeded.
    pub fn ok(&self, who: &str, args: &[&str]) -> Out {
        let o = self.run(who, args);
        assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
        o
    }
}

/// What a `cachet` process did.
pub struct Out {
    /// Its exit status (-1 when killed by a signal).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Gives a command its own `home` (and `XDG_CONFIG_HOME` inside it) and none of
/// the caller's `CACHET_*` and `SOPS_AGE_*` variables, so no real identity, recipient or key pin
/// of the person running the tests is ever used.
pub fn isolate(cmd: &mut std::process::Command, home: &Path) {
    for var in [
        "CACHET_IDENTITY",
        "CACHET_IDENTITY_FILE",
        "CACHET_IDENTITY_COMMAND",
        "CACHET_RECIPIENT",
        "CACHET_AUDIT_LOG",
        "CACHET_TRUST",
        "CACHET_REQUIRE_PIN",
        "CACHET_SAFE_DIRECTORIES",
        // The SOPS importer's sources of age identities.
        "SOPS_AGE_KEY",
        "SOPS_AGE_KEY_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"));
}

/// Runs the `cachet` binary in `cwd` with its own `home` (and
/// `XDG_CONFIG_HOME` inside it), none of the caller's `CACHET_*` variables, the
/// extra variables `env`, and `stdin` as its input.
pub fn run_cachet(
    cwd: &Path,
    home: &Path,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> Out {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachet"));
    isolate(&mut cmd, home);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A command that fails before reading its input closes the pipe early.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts a refusal: exit status `code`, nothing on stdout, one line on stderr
/// that contains `want`.
pub fn assert_refused(o: &Out, code: i32, want: &str) {
    assert_eq!(o.code, code, "{}", o.stderr);
    assert_eq!(o.stdout, "", "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains(want), "wanted {want:?} in {}", o.stderr);
}

/// Runs a Python check script with `args`; it must exit 0 and end with "N passed,
/// 0 failed". Where python3 or the modules `imports` names are missing, the check
/// says it was skipped and passes on a developer's machine, but fails under CI
/// (`CI` set), where `.ci/run` installs them: `install` says how.
#[allow(dead_code)] // not every test binary runs a Python check
pub fn run_python_check(script: &Path, args: &[&std::ffi::OsStr], imports: &str, install: &str) {
    use std::process::Command;
    let has_deps = Command::new("python3")
        .args(["-c", &format!("import {imports}")])
        .status()
        .is_ok_and(|s| s.success());
    if !has_deps {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with {install} is required under CI"
        );
        eprintln!("skipped: python3 >= 3.11 with {install} is needed");
        return;
    }
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{stdout}");
}

/// Runs git in `cwd` with `home` as its home (and no system configuration) and
/// the extra variables `env`; it must succeed. Returns its standard output.
#[allow(dead_code)] // not every test binary runs git
pub fn git(cwd: &Path, home: &Path, env: &[(&str, String)], args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("git");
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The key id of an `age1…` recipient, as cachet prints it.
pub fn key_id_of(recipient: &str) -> String {
    recipient
        .trim()
        .parse::<cachet::PublicKey>()
        .expect("an age1 recipient")
        .key_id()
        .to_string()
}
