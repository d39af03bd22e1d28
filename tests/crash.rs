//! Crash safety: every command that writes (seal, set, edit, rotate, members add
//! and remove) is killed with SIGKILL at random points of its run, again and
//! again. Each file it touches must then be either the old version or the new
//! one, complete, never a mix; no plaintext may be left in a temporary file; and
//! running the command again must succeed and leave no temporary file behind.
//!
//! The kill points are drawn from a seeded generator over the time one
//! uninterrupted run takes. The seed is printed, and `CACHET_CRASH_SEED=N`
//! repeats a run.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use cachet::document::attestation;
use cachet::team::keyring::Keyring;
use cachet::team::policy::Policy;
use cachet::{Format, Identities};

mod common;
use common::{isolate, run_cachet};

/// A small deterministic generator (xorshift64*), seeded per test.
struct Rng {
    state: u64,
    seed: u64,
}

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("CACHET_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{test}: seed {seed} (CACHET_CRASH_SEED={seed} repeats it)");
        Rng {
            state: seed | 1,
            seed,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".cachet-tmp"))
        .collect()
}

/// A command of the loop: how to start it in a fresh copy, and what must hold
/// after it was killed (or finished).
struct Scenario<'a> {
    name: &'a str,
    /// A directory holding the state before the command (copied per run).
    template: &'a Path,
    /// Where in the copy the command runs, and the HOME it gets.
    cwd: &'a str,
    home: &'a str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
}

impl Scenario<'_> {
    fn spawn(&self, root: &Path) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachet"));
        isolate(&mut cmd, &root.join(self.home));
        cmd.args(&self.args)
            .current_dir(root.join(self.cwd))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v.replace("{root}", root.to_str().unwrap()));
        }
        let mut child = cmd.spawn().unwrap();
        // A command killed before it reads its input closes the pipe early.
        let _ = child.stdin.take().unwrap().write_all(&self.stdin);
        child
    }

    /// Runs the command once to the end and returns how long it took.
    fn measure(&self) -> Duration {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(self.template, dir.path());
        let start = Instant::now();
        let status = self.spawn(dir.path()).wait().unwrap();
        let took = start.elapsed();
        assert!(
            status.success(),
            "{}: an uninterrupted run failed",
            self.name
        );
        took
    }

    /// Kills the command `runs` times at random points of its run; `check` gets
    /// the copy, whether the command had finished, and a label for messages.
    fn kill_loop(&self, runs: usize, mut check: impl FnMut(&Path, bool, &str)) {
        let took = self.measure();
        let mut rng = Rng::new(self.name);
        let span = (took.as_micros() as u64) * 11 / 10;
        for run in 0..runs {
            let dir = tempfile::tempdir().unwrap();
            copy_tree(self.template, dir.path());
            let at = rng.below(span);
            let mut child = self.spawn(dir.path());
            std::thread::sleep(Duration::from_micros(at));
            let _ = child.kill(); // SIGKILL; it may have finished already
            let status = child.wait().unwrap();
            let label = format!(
                "{}: run {run}, killed after {at} µs of about {} µs (seed {})",
                self.name,
                took.as_micros(),
                rng.seed
            );
            check(dir.path(), status.success(), &label);
        }
    }
}

fn ok(cwd: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let o = run_cachet(cwd, home, args, b"", env);
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    o.stdout
}

/// A plaintext config with many secret values, so a write is not instant.
fn plaintext(n: usize) -> String {
    let mut s = String::from("# service\nname = \"billing\"\n");
    for i in 0..n {
        s.push_str(&format!(
            "\n[svc{i}]\nhost = \"h{i}.internal\"  # plain\npassword = \"pw-{i}-0ld-s3cret\"\napi_token = 'tok {i} s3cret'\n"
        ));
    }
    s
}

fn secrets_in(text: &str) -> bool {
    text.contains("s3cret")
}

/// A standalone file, its key, and its plaintext.
struct Standalone {
    template: tempfile::TempDir,
    recipient: String,
    ids: Identities,
    plain: String,
}

fn standalone(sealed: bool) -> Standalone {
    let template = tempfile::tempdir().unwrap();
    let t = template.path();
    fs::create_dir_all(t.join("home")).unwrap();
    fs::create_dir_all(t.join("edit")).unwrap();
    let recipient = ok(t, &t.join("home"), &["keygen", "-o", "key.txt"], &[])
        .trim()
        .to_string();
    let plain = plaintext(60);
    fs::write(t.join("app.toml"), &plain).unwrap();
    if sealed {
        ok(
            t,
            &t.join("home"),
            &["seal", "app.toml", "-r", &recipient],
            &[],
        );
    }
    let ids = Identities::parse(&fs::read_to_string(t.join("key.txt")).unwrap()).unwrap();
    Standalone {
        template,
        recipient,
        ids,
        plain,
    }
}

/// `app.toml` is exactly `old`, or a complete file that opens to `new` with the
/// same lines wherever no value was sealed.
fn old_or_new(dir: &Path, old: &[u8], new: &str, ids: &Identities, label: &str) -> bool {
    let bytes = fs::read(dir.join("app.toml")).unwrap();
    if bytes == old {
        return false;
    }
    let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("{label}: not UTF-8"));
    let opened = cachet::open_document(Format::Toml, &text, ids)
        .unwrap_or_else(|e| panic!("{label}: a mix or a torn file: {e}\n{text}"));
    assert_eq!(opened.as_str(), new, "{label}");
    let old = String::from_utf8_lossy(old);
    let old = attestation::split(Format::Toml, &old).body;
    // A member's write attests what it wrote (a sealer's with -r does not): the
    // new body, and a line that holds for it.
    let split = attestation::split(Format::Toml, &text);
    if let Some(made) = split.parse().unwrap_or_else(|e| panic!("{label}: {e}")) {
        made.verify_with(split.body, ids)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
    for (a, b) in old.lines().zip(split.body.lines()) {
        assert!(
            a == b || b.contains("cachet:v1:"),
            "{label}: {a:?} became {b:?}"
        );
    }
    assert_eq!(old.lines().count(), split.body.lines().count(), "{label}");
    true
}

/// Leftover temporary files hold no plaintext secret; the command run again
/// succeeds and removes them.
fn no_plaintext_left_and_rerun(dir: &Path, label: &str, rerun: impl FnOnce()) {
    for t in temp_files(dir) {
        let text = fs::read_to_string(&t).unwrap_or_default();
        assert!(!secrets_in(&text), "{label}: plaintext in {}", t.display());
    }
    rerun();
    assert_eq!(temp_files(dir), Vec::<PathBuf>::new(), "{label}");
}

#[test]
fn seal_killed_anywhere_leaves_the_old_file_or_the_new() {
    let s = standalone(false);
    let scenario = Scenario {
        name: "seal",
        template: s.template.path(),
        cwd: ".",
        home: "home",
        args: vec![
            "seal".into(),
            "app.toml".into(),
            "-r".into(),
            s.recipient.clone(),
        ],
        env: vec![],
        stdin: vec![],
    };
    let (mut old, mut new) = (0, 0);
    scenario.kill_loop(36, |dir, _, label| {
        if old_or_new(dir, s.plain.as_bytes(), &s.plain, &s.ids, label) {
            new += 1;
        } else {
            old += 1;
        }
        no_plaintext_left_and_rerun(dir, label, || {
            let home = dir.join("home");
            let o = run_cachet(
                dir,
                &home,
                &["seal", "app.toml", "-r", &s.recipient],
                b"",
                &[],
            );
            assert_eq!(o.code, 0, "{label}: {}", o.stderr);
            assert!(old_or_new(dir, s.plain.as_bytes(), &s.plain, &s.ids, label));
        });
    });
    eprintln!("seal: {old} runs left the old file, {new} the new one");
}

#[test]
fn set_killed_anywhere_leaves_the_old_file_or_the_new() {
    let s = standalone(true);
    let old = fs::read(s.template.path().join("app.toml")).unwrap();
    let want = s.plain.replace(
        "password = \"pw-7-0ld-s3cret\"",
        "password = \"n3w s3cret\"",
    );
    let scenario = Scenario {
        name: "set",
        template: s.template.path(),
        cwd: ".",
        home: "home",
        args: vec![
            "set".into(),
            "app.toml".into(),
            "svc7.password".into(),
            "-r".into(),
            s.recipient.clone(),
        ],
        env: vec![],
        stdin: b"n3w s3cret".to_vec(),
    };
    let (mut olds, mut news) = (0, 0);
    scenario.kill_loop(36, |dir, _, label| {
        if old_or_new(dir, &old, &want, &s.ids, label) {
            news += 1;
        } else {
            olds += 1;
        }
        no_plaintext_left_and_rerun(dir, label, || {
            let home = dir.join("home");
            let args = ["set", "app.toml", "svc7.password", "-r", &s.recipient];
            let o = run_cachet(dir, &home, &args, b"n3w s3cret", &[]);
            assert_eq!(o.code, 0, "{label}: {}", o.stderr);
            assert!(old_or_new(dir, &old, &want, &s.ids, label));
        });
    });
    eprintln!("set: {olds} runs left the old file, {news} the new one");
}

/// Waits (boundedly) for the process whose id the editor script wrote, which a
/// SIGKILL of cachet leaves running on its own.
fn wait_for_editor(dir: &Path) {
    let Ok(pid) = fs::read_to_string(dir.join("editor.pid")) else {
        return;
    };
    let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
    let start = Instant::now();
    while proc.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn edit_killed_anywhere_leaves_the_old_file_or_the_new_and_its_copy_is_removed_later() {
    let s = standalone(true);
    let t = s.template.path();
    let old = fs::read(t.join("app.toml")).unwrap();
    let editor = t.join("editor.sh");
    fs::write(
        &editor,
        "#!/bin/sh\necho $$ > \"$EDITOR_PID_FILE\"\nsed 's/pw-3-0ld-s3cret/pw-3-n3w-s3cret/' \"$1\" > \"$1.new\" && cat \"$1.new\" > \"$1\" && rm \"$1.new\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
    let want = s.plain.replace("pw-3-0ld-s3cret", "pw-3-n3w-s3cret");
    let env = vec![
        (
            "CACHET_IDENTITY_FILE".to_string(),
            "{root}/key.txt".to_string(),
        ),
        ("CACHET_RECIPIENT".to_string(), s.recipient.clone()),
        ("CACHET_EDIT_DIR".to_string(), "{root}/edit".to_string()),
        ("CACHET_EDITOR".to_string(), "{root}/editor.sh".to_string()),
        (
            "EDITOR_PID_FILE".to_string(),
            "{root}/editor.pid".to_string(),
        ),
    ];
    let scenario = Scenario {
        name: "edit",
        template: t,
        cwd: ".",
        home: "home",
        args: vec!["edit".into(), "app.toml".into()],
        env: env.clone(),
        stdin: vec![],
    };
    let (mut olds, mut news, mut left) = (0, 0, 0);
    scenario.kill_loop(30, |dir, finished, label| {
        wait_for_editor(dir);
        if old_or_new(dir, &old, &want, &s.ids, label) {
            news += 1;
        } else {
            olds += 1;
        }
        let edit = dir.join("edit");
        // A SIGKILL leaves no chance to remove the private copy: what may stay
        // is a 0700 directory named after the dead process, holding 0600 files.
        for d in fs::read_dir(&edit).unwrap() {
            let d = d.unwrap();
            assert!(!finished, "{label}: a finished edit left {:?}", d.path());
            let name = d.file_name().to_string_lossy().into_owned();
            assert!(name.starts_with("cachet-edit-"), "{label}: {name}");
            let mode = d.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{label}: {name}");
            for f in files_under(&d.path()) {
                let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{label}: {}", f.display());
            }
            left += 1;
        }
        no_plaintext_left_and_rerun(dir, label, || {
            // The next edit removes what a killed one left.
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| (k.clone(), v.replace("{root}", dir.to_str().unwrap())))
                .chain([("CACHET_EDITOR".to_string(), "true".to_string())])
                .collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let o = run_cachet(dir, &dir.join("home"), &["edit", "app.toml"], b"", &env);
            assert_eq!(o.code, 0, "{label}: {}", o.stderr);
            let left: Vec<PathBuf> = files_under(&edit)
                .into_iter()
                .chain(fs::read_dir(&edit).unwrap().map(|e| e.unwrap().path()))
                .collect();
            assert!(left.is_empty(), "{label}: {left:?}");
        });
    });
    eprintln!(
        "edit: {olds} runs left the old file, {news} the new one, {left} left a private copy"
    );
}

/// A repository with one environment (`ada` its member, `bob` a member too)
/// and eight sealed files of four formats; returns it and each file's plaintext.
fn repository(with_bob: bool) -> (tempfile::TempDir, Vec<(String, String)>, String) {
    let template = tempfile::tempdir().unwrap();
    let t = template.path();
    let root = t.join("repo");
    let (ada, bob) = (t.join("ada"), t.join("bob"));
    for d in [&root, &ada, &bob] {
        fs::create_dir_all(d).unwrap();
    }
    let keygen = |home: &Path| {
        let id = home.join(".config/cachet/identity.txt");
        fs::create_dir_all(id.parent().unwrap()).unwrap();
        ok(&root, home, &["keygen", "-o", id.to_str().unwrap()], &[])
            .trim()
            .to_string()
    };
    keygen(&ada);
    let bob_recipient = keygen(&bob);
    ok(&root, &ada, &["init"], &[("USER", "ada")]);
    ok(
        &root,
        &ada,
        &["env", "add", "production", "--files", "config/**"],
        &[("USER", "ada")],
    );
    if with_bob {
        let member = format!("bob={bob_recipient}");
        ok(&root, &ada, &["members", "add", "production", &member], &[]);
    }
    let mut files = Vec::new();
    for i in 0..8 {
        let (name, text) = match i % 4 {
            0 => (
                format!("app{i}.toml"),
                format!("[db]\nhost = \"db{i}\"\npassword = \"pw-{i}-s3cret\"\n"),
            ),
            1 => (
                format!("svc{i}.yaml"),
                format!("db:\n  host: db{i}\n  password: \"pw-{i}-s3cret\"\n"),
            ),
            2 => (
                format!("web{i}.json"),
                format!("{{\"host\": \"w{i}\", \"password\": \"pw-{i}-s3cret\"}}\n"),
            ),
            _ => (
                format!("app{i}.env"),
                format!("HOST=h{i}\nDB_PASSWORD=pw-{i}-s3cret\n"),
            ),
        };
        let rel = format!("config/{name}");
        fs::create_dir_all(root.join("config")).unwrap();
        fs::write(root.join(&rel), &text).unwrap();
        ok(&root, &ada, &["seal", &rel], &[]);
        files.push((rel, text));
    }
    (template, files, bob_recipient)
}

/// The keyring as ada opens it: it must be a complete age file.
fn open_keyring(dir: &Path, label: &str) -> Keyring {
    let id_text = fs::read_to_string(dir.join("ada/.config/cachet/identity.txt")).unwrap();
    let line = id_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let id = age::x25519::Identity::from_str(line).unwrap();
    let bytes = fs::read(dir.join("repo/.cachet/keys/production.age")).unwrap();
    Keyring::open(&bytes, std::iter::once(&id as &dyn age::Identity))
        .unwrap_or_else(|e| panic!("{label}: the keyring is torn: {e}"))
}

/// The policy is the old bytes or a complete policy; the keyring opens; every
/// file is its old bytes or a complete file whose values carry one key, and
/// opens with the keyring's keys to its plaintext; no temporary file holds a
/// secret.
fn repository_consistent(
    dir: &Path,
    template: &Path,
    files: &[(String, String)],
    label: &str,
) -> Keyring {
    let policy = fs::read_to_string(dir.join("repo/.cachet.toml")).unwrap();
    let old_policy = fs::read_to_string(template.join("repo/.cachet.toml")).unwrap();
    if policy != old_policy {
        Policy::parse(&policy).unwrap_or_else(|e| panic!("{label}: torn policy: {e}"));
    }
    let ring = open_keyring(dir, label);
    let ids = ring.identities();
    for (rel, plain) in files {
        let text = fs::read_to_string(dir.join("repo").join(rel)).unwrap();
        let format = Format::from_path(Path::new(rel)).unwrap();
        let opened = cachet::open_document(format, &text, &ids)
            .unwrap_or_else(|e| panic!("{label}: {rel}: {e}"));
        assert_eq!(opened.as_str(), plain, "{label}: {rel}");
        let ids: Vec<_> = cachet::list_values(format, &text)
            .unwrap()
            .into_iter()
            .filter_map(|v| v.sealed.map(|s| s.0))
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "{label}: {rel} mixes keys"
        );
    }
    for t in temp_files(dir) {
        let text = fs::read_to_string(&t).unwrap_or_default();
        assert!(
            !secrets_in(&text) && !text.contains("AGE-SECRET-KEY-1"),
            "{label}: plaintext in {}",
            t.display()
        );
    }
    ring
}

#[test]
fn rotate_killed_anywhere_keeps_every_file_whole_and_a_second_run_finishes() {
    let (template, files, _) = repository(false);
    let t = template.path();
    let old_ring = open_keyring(t, "template");
    let old_id = old_ring.current().secret.public_key().key_id();
    let scenario = Scenario {
        name: "rotate",
        template: t,
        cwd: "repo",
        home: "ada",
        args: vec!["rotate".into(), "production".into()],
        env: vec![],
        stdin: vec![],
    };
    let mut rotated = 0;
    scenario.kill_loop(30, |dir, _, label| {
        let ring = repository_consistent(dir, t, &files, label);
        if ring.keys.len() > 1 {
            rotated += 1;
        }
        // Running rotate again finishes (or does) the rotation: every value is
        // sealed to the keyring's current key, and no temporary file is left.
        let root = dir.join("repo");
        ok(&root, &dir.join("ada"), &["rotate", "production"], &[]);
        let ring = repository_consistent(dir, t, &files, label);
        let current = ring.current().secret.public_key().key_id();
        assert_ne!(current, old_id, "{label}");
        for (rel, _) in &files {
            let text = fs::read_to_string(root.join(rel)).unwrap();
            let format = Format::from_path(Path::new(rel)).unwrap();
            for v in cachet::list_values(format, &text).unwrap() {
                if let Some((id, _)) = v.sealed {
                    assert_eq!(id, current, "{label}: {rel}");
                }
            }
            // And attested by the rotator with the current key. A strict JSON
            // file killed between its sidecar and itself is left proposed by the
            // second run (its approval cannot be told from the half-written
            // pair), never with an attestation that does not hold.
            let sidecar = fs::read_to_string(attestation::sidecar_path(&root.join(rel))).ok();
            match attestation::verify_file(
                format,
                Path::new(rel),
                &text,
                sidecar.as_deref(),
                &ring.identities(),
            ) {
                Ok(made) => assert_eq!(made.key_id, current, "{label}: {rel}"),
                Err(cachet::Error::Attestation(attestation::AttestError::Missing))
                    if format == Format::Json => {}
                Err(e) => panic!("{label}: {rel}: {e}"),
            }
        }
        assert_eq!(temp_files(dir), Vec::<PathBuf>::new(), "{label}");
    });
    eprintln!("rotate: 30 kills, {rotated} after the keyring was written");
}

#[test]
fn members_add_and_remove_killed_anywhere_keep_policy_and_keyring_whole() {
    for (name, with_bob) in [("members add", false), ("members remove", true)] {
        let (template, files, bob) = repository(with_bob);
        let t = template.path();
        let args: Vec<String> = if with_bob {
            vec![
                "members".into(),
                "remove".into(),
                "production".into(),
                "bob".into(),
            ]
        } else {
            vec![
                "members".into(),
                "add".into(),
                "production".into(),
                format!("bob={bob}"),
            ]
        };
        let scenario = Scenario {
            name,
            template: t,
            cwd: "repo",
            home: "ada",
            args,
            env: vec![],
            stdin: vec![],
        };
        scenario.kill_loop(24, |dir, _, label| {
            let ring = repository_consistent(dir, t, &files, label);
            let policy =
                Policy::parse(&fs::read_to_string(dir.join("repo/.cachet.toml")).unwrap()).unwrap();
            let in_policy = policy.environment("production").unwrap().members.len();
            // The keyring is written first: it may be ahead of the policy, which
            // `cachet check` reports and `members sync` repairs (spec/policy.md).
            let root = dir.join("repo");
            let home = dir.join("ada");
            if ring.members.len() != in_policy {
                let o = run_cachet(&root, &home, &["check"], b"", &[]);
                assert_eq!(o.code, 1, "{label}: {}", o.stdout);
                ok(
                    &root,
                    &home,
                    &["members", "sync", "production", "--from-keyring"],
                    &[],
                );
            } else {
                // Under the policy's lock, re-writing the keyring: what a killed
                // write left is removed.
                ok(&root, &home, &["members", "sync", "production"], &[]);
            }
            // bob's removal, once in the policy, owes a rotation: check reports
            // it until `rotate` makes a key bob never held.
            let policy =
                Policy::parse(&fs::read_to_string(dir.join("repo/.cachet.toml")).unwrap()).unwrap();
            let env = policy.environment("production").unwrap();
            // (Recorded before the keyring is written: a run killed just after
            // that owes a rotation for bob still listed, which is the safe side.)
            let bob_gone = with_bob && env.members.iter().all(|m| m.name != "bob");
            if bob_gone || !with_bob {
                assert_eq!(env.rotation_owed.is_some(), bob_gone, "{label}");
            }
            if env.rotation_owed.is_some() {
                let o = run_cachet(&root, &home, &["check"], b"", &[]);
                assert_eq!(o.code, 1, "{label}: {}", o.stdout);
                assert!(
                    o.stdout.contains(
                        "production: problem: a rotation is owed: \"bob\" removed since "
                    ),
                    "{label}: {}",
                    o.stdout
                );
                ok(&root, &home, &["rotate", "production"], &[]);
            }
            ok(&root, &home, &["check"], &[]);
            assert_eq!(temp_files(dir), Vec::<PathBuf>::new(), "{label}");
        });
    }
}
