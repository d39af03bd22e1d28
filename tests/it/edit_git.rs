//! `cachet edit`, `seal --like`, the textconv driver `diff`, the merge driver
//! `merge` and `git setup`, run as real processes in real git repositories.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cachet::Format;
use cachet::document::attestation;
use common::{isolate, key_id_of, run_cachet};

/// A scratch repository with a key, its identity file, and an edit directory.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
    edit_dir: PathBuf,
    recipient: String,
    key: PathBuf,
}

const PLAIN: &str = "# app\n[db]\nhost = \"db.internal\"\npassword = \"hunter2\"\napi_token = \"tok-1\"\njwt_secret = \"s3cr3t\"\n";

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        let home = tmp.path().join("home");
        let edit_dir = tmp.path().join("edit");
        for d in [&dir, &home, &edit_dir] {
            fs::create_dir_all(d).unwrap();
        }
        let key = tmp.path().join("k.key");
        let out = run_cachet(
            &dir,
            &home,
            &["keygen", "-o", key.to_str().unwrap()],
            b"",
            &[],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let r = Repo {
            _tmp: tmp,
            dir,
            home,
            edit_dir,
            recipient: out.stdout.trim().to_string(),
            key,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "user.name", "t"]);
        r.git(&["config", "user.email", "t@example.com"]);
        r
    }

    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("CACHET_RECIPIENT", self.recipient.as_str()),
            ("CACHET_IDENTITY_FILE", self.key.to_str().unwrap()),
            ("CACHET_EDIT_DIR", self.edit_dir.to_str().unwrap()),
        ]
    }

    fn cachet(&self, args: &[&str], extra: &[(&str, &str)]) -> common::Out {
        let mut env = self.env();
        env.extend_from_slice(extra);
        run_cachet(&self.dir, &self.home, args, b"", &env)
    }

    /// Runs git with the cachet binary first on PATH (the drivers call `cachet`).
    fn git(&self, args: &[&str]) -> String {
        let out = self.git_out(args);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn git_out(&self, args: &[&str]) -> std::process::Output {
        let bin = Path::new(env!("CARGO_BIN_EXE_cachet")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("git");
        isolate(&mut cmd, &self.home);
        cmd.args(args)
            .current_dir(&self.dir)
            .env("PATH", path)
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.dir.join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join(name)).unwrap()
    }

    /// A script in the repository's parent directory, made executable.
    fn script(&self, name: &str, body: &str) -> String {
        let p = self.dir.parent().unwrap().join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        p.to_str().unwrap().to_string()
    }

    fn sealed_committed(&self) {
        self.write("app.toml", PLAIN);
        let out = self.cachet(&["seal", "app.toml"], &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        self.git(&["add", "app.toml"]);
        self.git(&["commit", "-q", "-m", "sealed"]);
    }

    fn open(&self, name: &str) -> String {
        let out = self.cachet(&["open", name], &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    }

    fn edit_dir_entries(&self) -> Vec<PathBuf> {
        fs::read_dir(&self.edit_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    /// The lines `git diff` removes and adds, without its headers.
    /// The lines `git diff` shows changed, but for attestation lines (each test
    /// says what it expects of the attestation).
    fn changed_lines(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["diff", "--no-color", "-U0"];
        all.extend_from_slice(args);
        self.git(&all)
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
                    && !l[1..].starts_with("# cachet:attest:v1:")
            })
            .map(str::to_string)
            .collect()
    }
}

#[test]
fn edit_changing_one_value_changes_exactly_its_line() {
    let r = Repo::new();
    r.sealed_committed();
    let before = r.read("app.toml");
    let ed = r.script("ed.sh", "sed -i 's/hunter2/hunter3/' \"$1\"");
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = key_id_of(&r.recipient);
    // The identity given holds the key: the edit is attested.
    let (sealed, attested) = out.stderr.split_once('\n').unwrap();
    assert_eq!(
        sealed,
        format!("cachet: app.toml: sealed 1 value anew to key id {id}, kept 2 unchanged")
    );
    assert!(
        attested.starts_with(&format!(
            "cachet: app.toml: attested as app.toml (key id {id}) at "
        )),
        "{attested}"
    );
    let check = r.cachet(&["open", "--check", "--require-attested", "app.toml"], &[]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let lines = r.changed_lines(&["app.toml"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("-password = \"cachet:v1:"));
    assert!(lines[1].starts_with("+password = \"cachet:v1:"));
    let after = r.read("app.toml");
    assert!(!after.contains("hunter"));
    // Every other line is byte for byte the same.
    let keep = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("password") && !l.starts_with("# cachet:attest:v1:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(keep(&before), keep(&after));
    assert_eq!(r.open("app.toml"), PLAIN.replace("hunter2", "hunter3"));
    assert!(r.edit_dir_entries().is_empty());
}

#[test]
fn edit_with_arguments_in_the_editor_variable_and_no_change() {
    let r = Repo::new();
    r.sealed_committed();
    let before = r.read("app.toml");
    // `VISUAL='prog --flag'`: split like a shell; the flag comes before the file.
    let ed = r.script("ed2.sh", "test \"$1\" = --wait || exit 3; test -f \"$2\"");
    let cmd = format!("'{ed}' --wait");
    let out = r.cachet(
        &["edit", "app.toml"],
        &[("VISUAL", &cmd), ("EDITOR", "false")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "cachet: app.toml: no changes\n");
    assert_eq!(r.read("app.toml"), before);
}

#[test]
fn edit_adds_new_secret_values_sealed_and_keeps_sealed_ones_sealed() {
    let r = Repo::new();
    r.sealed_committed();
    // A new secret key is sealed; `api_token` renamed in place keeps being a
    // value sealed before only if it is still at its path.
    let ed = r.script(
        "ed3.sh",
        "printf 'new_password = \"pw\"\\nport = 5432\\n' >> \"$1\"",
    );
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = r.read("app.toml");
    assert!(text.contains("\nport = 5432\n"));
    assert!(text.contains("new_password = \"cachet:v1:"));
    assert!(!text.contains("\"pw\""));
    assert_eq!(
        r.open("app.toml"),
        format!("{PLAIN}new_password = \"pw\"\nport = 5432\n")
    );
}

#[test]
fn edit_that_no_longer_parses_is_refused_and_the_file_kept() {
    let r = Repo::new();
    r.sealed_committed();
    let before = r.read("app.toml");
    let ed = r.script("ed4.sh", "printf 'oops = \\n' >> \"$1\"");
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("cachet: app.toml: line 7, column 8: invalid TOML"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("; the edit was discarded and the file is unchanged\n")
    );
    assert!(!out.stderr.contains("hunter2"));
    assert_eq!(r.read("app.toml"), before);
    assert!(r.edit_dir_entries().is_empty());
}

#[test]
fn the_plaintext_copy_is_private_and_gone_after_the_editor_fails() {
    let r = Repo::new();
    r.sealed_committed();
    let before = r.read("app.toml");
    let seen = r.dir.parent().unwrap().join("seen");
    let ed = r.script(
        "ed5.sh",
        &format!(
            "stat -c '%a' \"$(dirname \"$1\")\" \"$1\" > '{}'; sed -i 's/hunter2/x/' \"$1\"; exit 4",
            seen.display()
        ),
    );
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "cachet: app.toml: the editor exited with 4; the file is unchanged\n"
    );
    assert_eq!(fs::read_to_string(&seen).unwrap(), "700\n600\n");
    assert_eq!(r.read("app.toml"), before);
    assert!(r.edit_dir_entries().is_empty());
}

/// Starts `cachet edit` with an editor that waits, sends `signal` to cachet once
/// the copy exists, and returns cachet's exit status and stderr.
fn edit_then_signal(r: &Repo, signal: &str) -> (Option<i32>, String) {
    let ed = r.script("slow.sh", "exec sleep 30");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachet"));
    isolate(&mut cmd, &r.home);
    cmd.args(["edit", "app.toml"])
        .current_dir(&r.dir)
        .env("CACHET_EDITOR", &ed)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in r.env() {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let start = Instant::now();
    while r.edit_dir_entries().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no copy appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The copy is there; give the editor a moment to start.
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_plaintext_copy_is_gone_after_sigint() {
    let r = Repo::new();
    r.sealed_committed();
    let before = r.read("app.toml");
    let (code, stderr) = edit_then_signal(&r, "-INT");
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr,
        "cachet: app.toml: interrupted; the file is unchanged and the temporary copy was removed\n"
    );
    assert!(r.edit_dir_entries().is_empty());
    assert_eq!(r.read("app.toml"), before);
}

#[test]
fn the_plaintext_copy_is_gone_after_sigterm() {
    let r = Repo::new();
    r.sealed_committed();
    let (code, stderr) = edit_then_signal(&r, "-TERM");
    assert_eq!(code, Some(143), "{stderr}");
    assert!(r.edit_dir_entries().is_empty());
}

#[test]
fn sighup_and_sigquit_remove_the_copy_and_exit_as_a_shell_would_report() {
    let r = Repo::new();
    r.sealed_committed();
    let before = r.read("app.toml");
    for (signal, code) in [("-HUP", 129), ("-QUIT", 131)] {
        let (got, stderr) = edit_then_signal(&r, signal);
        assert_eq!(got, Some(code), "{signal}: {stderr}");
        assert!(r.edit_dir_entries().is_empty(), "{signal}");
        assert_eq!(r.read("app.toml"), before);
    }
}

#[test]
fn seal_like_after_open_and_sed_gives_a_one_line_diff() {
    let r = Repo::new();
    r.sealed_committed();
    let opened = r.open("app.toml");
    let plain = r.dir.parent().unwrap().join("plain.toml");
    fs::write(&plain, opened.replace("tok-1", "tok-2")).unwrap();
    let out = r.cachet(
        &[
            "seal",
            plain.to_str().unwrap(),
            "--like",
            "app.toml",
            "--stdout",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Standard output is proposed: the attestation of app.toml is not copied.
    assert!(!out.stdout.contains("cachet:attest:"), "{}", out.stdout);
    r.write("app.toml", &out.stdout);
    let lines = r.changed_lines(&["app.toml"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("-api_token = \"cachet:v1:"));
    assert!(lines[1].starts_with("+api_token = \"cachet:v1:"));
    assert_eq!(r.open("app.toml"), PLAIN.replace("tok-1", "tok-2"));
    // In place, the same.
    fs::write(&plain, PLAIN.replace("tok-1", "tok-2")).unwrap();
    let out = r.cachet(
        &["seal", plain.to_str().unwrap(), "--like", "app.toml"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sealed = format!(
        "cachet: plain.toml: sealed 0 values anew to key id {}, kept 3 unchanged from app.toml\n",
        key_id_of(&r.recipient)
    )
    .replace("plain.toml", plain.to_str().unwrap());
    // In place, the identity at hand holds the key: attested under its name.
    let attested = out.stderr.strip_prefix(&sealed);
    assert!(
        attested.is_some_and(|a| a.contains(": attested as plain.toml (key id ")),
        "{}",
        out.stderr
    );
    let written = fs::read_to_string(&plain).unwrap();
    assert_eq!(
        attestation::split(Format::Toml, &written).body,
        r.read("app.toml")
    );
}

#[test]
fn git_setup_then_textconv_shows_opened_values() {
    let r = Repo::new();
    r.sealed_committed();
    let out = r.cachet(&["git", "setup", "*.toml"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        r.read(".gitattributes"),
        "*.toml diff=cachet merge=cachet\n"
    );
    // Twice adds nothing.
    let out = r.cachet(&["git", "setup", "*.toml"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        r.read(".gitattributes"),
        "*.toml diff=cachet merge=cachet\n"
    );
    assert_eq!(
        r.git(&["config", "merge.cachet.driver"]),
        "cachet merge %O %A %B %P\n"
    );
    let ed = r.script("ed.sh", "sed -i 's/hunter2/hunter3/' \"$1\"");
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        r.changed_lines(&["app.toml"]),
        ["-password = \"hunter2\"", "+password = \"hunter3\""]
    );
    r.git(&["commit", "-q", "-am", "changed"]);
    let log = r.git(&["log", "-p", "--no-color", "-1", "--", "app.toml"]);
    assert!(log.contains("\n-password = \"hunter2\"\n+password = \"hunter3\"\n"));
}

#[test]
fn textconv_without_a_key_shows_the_sealed_form_and_succeeds() {
    let r = Repo::new();
    r.sealed_committed();
    let sealed = r.read("app.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachet"));
    isolate(&mut cmd, &r.home);
    let out = cmd
        .args(["diff", "app.toml"])
        .current_dir(&r.dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), sealed);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("cachet: shown sealed: "));
}

/// A repository set up for the drivers, with `app.toml` sealed on main and two
/// branches `a` and `b` made from it by `edit_a` and `edit_b` (sed expressions).
fn branches(edit_a: &str, edit_b: &str) -> Repo {
    let r = Repo::new();
    r.sealed_committed();
    let out = r.cachet(&["git", "setup", "*.toml"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    r.git(&["add", ".gitattributes"]);
    r.git(&["commit", "-q", "-m", "drivers"]);
    // Each branch's edit is attested later than the base, as in real use.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for (branch, expr) in [("a", edit_a), ("b", edit_b)] {
        r.git(&["checkout", "-q", "-b", branch, "main"]);
        let ed = r.script(
            &format!("ed-{branch}.sh"),
            &format!("sed -i '{expr}' \"$1\""),
        );
        let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        r.git(&["commit", "-q", "-am", branch]);
    }
    r.git(&["checkout", "-q", "a"]);
    r
}

#[test]
fn different_values_on_adjacent_lines_merge_cleanly_through_the_driver() {
    let r = branches("s/hunter2/pw-a/", "s/tok-1/tok-b/");
    let a = r.read("app.toml");
    // git's own line merge conflicts here: the two lines are adjacent.
    let plain = r.git_out(&[
        "-c",
        "merge.cachet.driver=false",
        "merge-tree",
        "--write-tree",
        "a",
        "b",
    ]);
    assert!(!plain.status.success(), "git alone would not conflict");
    let out = r.git_out(&["merge", "-q", "--no-edit", "b"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = r.read("app.toml");
    assert_eq!(
        r.open("app.toml"),
        PLAIN.replace("hunter2", "pw-a").replace("tok-1", "tok-b")
    );
    // Our password line is our token, byte for byte.
    let line = |t: &str, k: &str| t.lines().find(|l| l.starts_with(k)).unwrap().to_string();
    assert_eq!(line(&merged, "password"), line(&a, "password"));
    assert!(r.edit_dir_entries().is_empty());
    // Both branches were attested by their edits; their attestation lines did
    // not conflict, and the merger, who holds the key, attested the result.
    let attestation = |t: &str| {
        attestation::split(Format::Toml, t)
            .attestation
            .map(str::to_string)
    };
    assert!(attestation(&a).is_some());
    let made = attestation(&merged).expect("the merge is attested");
    assert_ne!(Some(made), attestation(&a));
    assert_eq!(merged.matches("cachet:attest:").count(), 1, "{merged}");
    let check = r.cachet(&["open", "--check", "--require-attested", "app.toml"], &[]);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn the_same_value_changed_on_both_sides_is_a_sealed_conflict() {
    let r = branches("s/hunter2/pw-a/", "s/hunter2/pw-b/");
    let out = r.git_out(&["merge", "-q", "--no-edit", "b"]);
    assert!(!out.status.success());
    let merged = r.read("app.toml");
    for secret in ["pw-a", "pw-b", "hunter2", "<<<<<<<", ">>>>>>>"] {
        assert!(!merged.contains(secret), "{secret} in {merged}");
    }
    let line = merged.lines().find(|l| l.starts_with("password")).unwrap();
    assert!(
        line.starts_with("password = \"cachet:conflict:v1:"),
        "{line}"
    );
    // Opening refuses it, naming the value and what to do.
    let out = r.cachet(&["open", "app.toml"], &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "cachet: app.toml: db.password: holds an unresolved merge conflict; resolve it with `cachet edit`\n"
    );
    // `cachet edit` shows both sides; keeping one resolves it.
    let shown = r.dir.parent().unwrap().join("shown");
    let ed = r.script(
        "resolve.sh",
        &format!(
            "cp \"$1\" '{}'; sed -i 's/^password = .*/password = \"pw-b\"/' \"$1\"",
            shown.display()
        ),
    );
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    let expected = format!(
        "cachet: app.toml: merge conflict at db.password: shown as CONFLICT text; keep one value of each\ncachet: app.toml: sealed 1 value anew to key id {}, kept 2 unchanged\n",
        key_id_of(&r.recipient)
    );
    // The merge was not attested (one side changed what the other did), so the
    // resolution is not either: it stays proposed until attested.
    assert_eq!(out.stderr, expected);
    let check = r.cachet(&["open", "--check", "--require-attested", "app.toml"], &[]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(
        fs::read_to_string(&shown).unwrap().contains(
            "password = \"CONFLICT <<<<<<< ours: \\\"pw-a\\\" ======= theirs: \\\"pw-b\\\" >>>>>>> keep one value\"\n"
        )
    );
    assert_eq!(r.open("app.toml"), PLAIN.replace("hunter2", "pw-b"));
    assert!(r.edit_dir_entries().is_empty());
}

#[test]
fn a_conflict_left_as_shown_is_refused() {
    let r = branches("s/hunter2/pw-a/", "s/hunter2/pw-b/");
    let _ = r.git_out(&["merge", "-q", "--no-edit", "b"]);
    let before = r.read("app.toml");
    let ed = r.script("touch.sh", "printf '# note\\n' >> \"$1\"");
    let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.ends_with(
        "cachet: app.toml: db.password: the merge conflict is not resolved; replace the CONFLICT text with the one value to keep; the edit was discarded and the file is unchanged\n"
    ), "{}", out.stderr);
    assert_eq!(r.read("app.toml"), before);
}

#[test]
fn the_merge_driver_falls_back_to_git_when_it_cannot_open() {
    let r = branches(
        "s/hunter2/pw-a/",
        "s/host = \"db.internal\"/host = \"db2\"/",
    );
    // No identity: the driver merges by lines, as git would.
    let bin = Path::new(env!("CARGO_BIN_EXE_cachet")).parent().unwrap();
    let out = Command::new("git")
        .args(["merge", "-q", "--no-edit", "b"])
        .current_dir(&r.dir)
        .env("HOME", &r.home)
        .env("XDG_CONFIG_HOME", r.home.join(".config"))
        .env_remove("CACHET_IDENTITY")
        .env_remove("CACHET_IDENTITY_FILE")
        .env_remove("CACHET_IDENTITY_COMMAND")
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    // host and password are adjacent lines: git's line merge conflicts.
    assert!(!out.status.success());
    let merged = r.read("app.toml");
    assert!(merged.contains("<<<<<<< ours"));
    assert!(!merged.contains("pw-a") && !merged.contains("hunter2"));
}

/// Two attested branches merged by someone who holds no key: the driver cannot
/// open the values and falls back to git's line merge, of the files without
/// their attestation lines, so the lines do not conflict; the result is left
/// proposed (spec/git.md 2).
#[test]
fn attested_branches_merged_without_the_key_are_proposed_not_conflicted() {
    let r = branches("s/db.internal/db.a/", "s/s3cr3t/jwt-b/");
    let a = r.read("app.toml");
    assert!(attestation::split(Format::Toml, &a).attestation.is_some());
    let bin = Path::new(env!("CARGO_BIN_EXE_cachet")).parent().unwrap();
    let mut cmd = Command::new("git");
    isolate(&mut cmd, &r.home);
    let out = cmd
        .args(["merge", "-q", "--no-edit", "b"])
        .current_dir(&r.dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = r.read("app.toml");
    assert!(
        !merged.contains("<<<<<<<") && !merged.contains("cachet:attest:"),
        "{merged}"
    );
    // The merged values are both sides' changes, and the file is proposed.
    assert_eq!(
        r.open("app.toml"),
        PLAIN
            .replace("db.internal", "db.a")
            .replace("s3cr3t", "jwt-b")
    );
    let check = r.cachet(&["open", "--check", "--require-attested", "app.toml"], &[]);
    assert_eq!(check.code, 1);
    assert_eq!(
        check.stderr,
        "cachet: app.toml: is not attested (proposed): a member of its environment reviews it and runs `cachet attest` on it\n"
    );
}

/// A branch that puts back an older approved version (a replay) is no side
/// someone approved: merged with an attested branch, the result is left
/// proposed even though every side carries a valid attestation.
#[test]
fn a_merge_with_a_replayed_side_is_proposed() {
    let r = Repo::new();
    r.sealed_committed();
    let v0 = r.read("app.toml");
    let out = r.cachet(&["git", "setup", "*.toml"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    r.git(&["add", ".gitattributes"]);
    r.git(&["commit", "-q", "-m", "drivers"]);
    let edit = |name: &str, expr: &str| {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let ed = r.script(name, &format!("sed -i '{expr}' \"$1\""));
        let out = r.cachet(&["edit", "app.toml"], &[("CACHET_EDITOR", &ed)]);
        assert!(
            out.stderr.contains("attested as app.toml"),
            "{}",
            out.stderr
        );
    };
    edit("v1.sh", "s/db.internal/db.v1/");
    r.git(&["commit", "-q", "-am", "v1"]);
    r.git(&["checkout", "-q", "-b", "b", "main"]);
    r.write("app.toml", &v0);
    r.git(&["commit", "-q", "-am", "v0 put back"]);
    r.git(&["checkout", "-q", "-b", "a", "main"]);
    edit("a.sh", "s/tok-1/tok-a/");
    r.git(&["commit", "-q", "-am", "a"]);
    let out = r.git_out(&["merge", "-q", "--no-edit", "b"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = r.read("app.toml");
    assert!(!merged.contains("cachet:attest:"), "{merged}");
    let check = r.cachet(&["open", "--check", "--require-attested", "app.toml"], &[]);
    assert_eq!(check.code, 1, "{}", check.stderr);
}
