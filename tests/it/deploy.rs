//! Deploy end to end: `cachet exec` (the names and values a program gets, the
//! environment it inherits, exit statuses and signals passed straight through,
//! 125 for cachet's own failures), `open --check`, `open --output-type`, and the
//! access log. Nothing secret is ever printed or logged.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common;
use common::{Out, assert_refused};

const BIN: &str = env!("CARGO_BIN_EXE_cachet");

const CONFIG: &str = r#"# the app's settings
debug = false
title = "demo app"

[database]
url = "postgres://app@db.internal:5432/app"
password = "hunter2-db-pass"
pool = 5

[jwt]
signing_key = "jwt-signing-key-4f3c2a1b9e8d"
issuer = "https://auth.example"
ttl = 900

[[upstreams]]
name = "billing"
token = "upstream-token-77aa01be"

[[upstreams]]
name = "search"
weight = 0.5
"#;

/// The secrets of CONFIG: none may appear in anything cachet prints or logs.
const SECRETS: &[&str] = &[
    "hunter2-db-pass",
    "jwt-signing-key-4f3c2a1b9e8d",
    "upstream-token-77aa01be",
];

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "a secret leaked: {text}");
    }
}

/// A scratch directory with its own HOME, a deploy key and the sealed CONFIG.
struct Deploy {
    dir: tempfile::TempDir,
}

impl Deploy {
    fn new() -> Self {
        let d = Deploy {
            dir: tempfile::tempdir().unwrap(),
        };
        let o = d.run(&["keygen", "-o", "key.txt"], &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let recipient = o.stdout.trim().to_string();
        fs::write(d.path("app.toml"), CONFIG).unwrap();
        let o = d.run(
            &["seal", "-r", &recipient, "--path", "upstreams", "app.toml"],
            &[],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        let o = d.run(&["seal", "-r", &recipient, "app.toml"], &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let sealed = d.read("app.toml");
        assert_no_secret(&sealed);
        assert_eq!(sealed.matches("cachet:v1:").count(), 6, "{sealed}");
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).unwrap();
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        common::run_cachet(self.dir.path(), self.dir.path(), args, b"", env)
    }

    /// Runs `cachet COMMAND -i key.txt ARGS…` (the deploy key).
    fn keyed(&self, args: &[&str]) -> Out {
        let mut all = vec![args[0], "-i", "key.txt"];
        all.extend_from_slice(&args[1..]);
        self.run(&all, &[])
    }

    /// Runs `cachet exec ARGS -- env -0` with the deploy key and returns the
    /// environment the program saw, with the outcome.
    fn exec_env(&self, args: &[&str], env: &[(&str, &str)]) -> (Out, BTreeMap<String, String>) {
        let mut all = vec!["exec", "-i", "key.txt"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--", "env", "-0"]);
        let o = self.run(&all, env);
        let vars = o
            .stdout
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (o, vars)
    }
}

fn pick<'a>(vars: &'a BTreeMap<String, String>, names: &[&str]) -> Vec<(&'a str, &'a str)> {
    vars.iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn exec_exports_every_value_by_name() {
    let d = Deploy::new();
    let (o, vars) = d.exec_env(&["-f", "app.toml"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stderr, "");
    let names = [
        "DEBUG",
        "TITLE",
        "DATABASE_URL",
        "DATABASE_PASSWORD",
        "DATABASE_POOL",
        "JWT_SIGNING_KEY",
        "JWT_ISSUER",
        "JWT_TTL",
        "UPSTREAMS",
    ];
    assert_eq!(
        pick(&vars, &names),
        vec![
            ("DATABASE_PASSWORD", "hunter2-db-pass"),
            ("DATABASE_POOL", "5"),
            ("DATABASE_URL", "postgres://app@db.internal:5432/app"),
            ("DEBUG", "false"),
            ("JWT_ISSUER", "https://auth.example"),
            ("JWT_SIGNING_KEY", "jwt-signing-key-4f3c2a1b9e8d"),
            ("JWT_TTL", "900"),
            ("TITLE", "demo app"),
            (
                "UPSTREAMS",
                r#"[{"name":"billing","token":"upstream-token-77aa01be"},{"name":"search","weight":0.5}]"#
            ),
        ]
    );
}

#[test]
fn exec_naming_options() {
    let d = Deploy::new();
    let (o, vars) = d.exec_env(
        &[
            "-f",
            "app.toml",
            "--separator",
            "__",
            "--prefix",
            "APP_",
            "--only",
            "database",
            "--only",
            "jwt.ttl",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ours: Vec<&str> = vars
        .keys()
        .filter(|k| k.starts_with("APP_"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        ours,
        [
            "APP_DATABASE__PASSWORD",
            "APP_DATABASE__POOL",
            "APP_DATABASE__URL",
            "APP_JWT__TTL"
        ]
    );
    assert!(!vars.contains_key("DEBUG"));
    let (o, vars) = d.exec_env(&["-f", "app.toml", "--keep-case", "--only", "jwt.*"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(vars["jwt_signing_key"], "jwt-signing-key-4f3c2a1b9e8d");
    // A glob that matches nothing is a typo, not an empty export.
    let (o, _) = d.exec_env(&["-f", "app.toml", "--only", "jwt.secret"], &[]);
    assert_refused(
        &o,
        125,
        "app.toml: --only jwt.secret: matches no value of the file",
    );
}

#[test]
fn exec_keeps_the_environment_unless_override() {
    let d = Deploy::new();
    let set = [("DATABASE_URL", "postgres://local/dev"), ("JWT_TTL", "60")];
    let (o, vars) = d.exec_env(&["-f", "app.toml"], &set);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(vars["DATABASE_URL"], "postgres://local/dev");
    assert_eq!(vars["JWT_TTL"], "60");
    assert_eq!(vars["DATABASE_PASSWORD"], "hunter2-db-pass");
    let (o, vars) = d.exec_env(&["-f", "app.toml", "--override"], &set);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(vars["DATABASE_URL"], "postgres://app@db.internal:5432/app");
    assert_eq!(vars["JWT_TTL"], "900");
}

#[test]
fn a_later_file_wins_and_one_file_cannot_give_a_name_twice() {
    let d = Deploy::new();
    d.write("local.env", "JWT_TTL=30\nEXTRA='two\nlines'\n");
    let (o, vars) = d.exec_env(&["-f", "app.toml", "-f", "local.env"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(vars["JWT_TTL"], "30");
    assert_eq!(vars["EXTRA"], "two\nlines");
    assert_eq!(vars["DATABASE_PASSWORD"], "hunter2-db-pass");
    let (o, vars) = d.exec_env(&["-f", "local.env", "-f", "app.toml"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(vars["JWT_TTL"], "900");

    // A file with nothing sealed needs no key at all.
    let o = d.run(&["exec", "-f", "local.env", "--", "env", "-0"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("JWT_TTL=30\0"));
    let o = d.run(
        &["exec", "-f", "local.env", "-f", "app.toml", "--", "true"],
        &[],
    );
    assert_refused(&o, 125, "no identity");

    d.write(
        "clash.toml",
        "database_url = \"x\"\n[database]\nurl = \"y\"\n",
    );
    let (o, _) = d.exec_env(&["-f", "clash.toml"], &[]);
    assert_refused(
        &o,
        125,
        "clash.toml: database_url and database.url both give the variable DATABASE_URL; rename one key, or choose another --separator",
    );
    let (o, _) = d.exec_env(&["-f", "clash.toml", "--separator", "__"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn names_that_change_how_programs_run_are_refused() {
    let d = Deploy::new();
    for (text, name, path) in [
        (
            "[ld]\npreload = \"/tmp/evil.so\"\n",
            "LD_PRELOAD",
            "ld.preload",
        ),
        ("path = \"/tmp/bin\"\n", "PATH", "path"),
        ("pythonpath = \"/tmp\"\n", "PYTHONPATH", "pythonpath"),
        (
            "[node]\noptions = \"--require /tmp/x.js\"\n",
            "NODE_OPTIONS",
            "node.options",
        ),
        ("bash_env = \"/tmp/x.sh\"\n", "BASH_ENV", "bash_env"),
        (
            "[cachet]\nidentity_file = \"/tmp/k\"\n",
            "CACHET_IDENTITY_FILE",
            "cachet.identity_file",
        ),
    ] {
        d.write("evil.toml", text);
        let (o, _) = d.exec_env(&["-f", "evil.toml"], &[]);
        assert_refused(
            &o,
            125,
            &format!(
                "evil.toml: {path}: the variable {name} changes how programs run and is refused; pass --allow-var {name} if the file is meant to set it"
            ),
        );
        let (o, vars) = d.exec_env(&["-f", "evil.toml", "--allow-var", name], &[]);
        assert_eq!(o.code, 0, "{name}: {}", o.stderr);
        assert!(vars.contains_key(name));
    }
}

#[test]
fn exit_statuses_and_signals_pass_straight_through() {
    let d = Deploy::new();
    for code in [0, 1, 2, 7, 125] {
        let o = d.keyed(&[
            "exec",
            "-f",
            "app.toml",
            "--",
            "sh",
            "-c",
            &format!("exit {code}"),
        ]);
        assert_eq!(o.code, code, "{}", o.stderr);
        assert_eq!(o.stderr, "");
    }
    // The program replaces cachet: same process id, and its own death by signal.
    let mut cmd = Command::new(BIN);
    common::isolate(&mut cmd, d.dir.path());
    let child = cmd
        .current_dir(d.dir.path())
        .args([
            "exec",
            "-i",
            "key.txt",
            "-f",
            "app.toml",
            "--",
            "sh",
            "-c",
            "echo $$; kill -TERM $$",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
    assert_eq!(out.status.signal(), Some(15));
}

#[test]
fn cachet_failures_exit_125_and_a_missing_program_127() {
    let d = Deploy::new();
    // `--` is required.
    let o = d.keyed(&["exec", "-f", "app.toml", "env"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    let o = d.keyed(&["exec", "-f", "missing.toml", "--", "true"]);
    assert_refused(&o, 125, "missing.toml: cannot read");
    let o = d.keyed(&["exec", "-f", "app.toml", "--", "no-such-program-here"]);
    assert_refused(&o, 127, "no-such-program-here: cannot run");
    d.write("script.sh", "#!/bin/sh\necho hi\n");
    let o = d.keyed(&["exec", "-f", "app.toml", "--", "./script.sh"]);
    assert_refused(&o, 126, "./script.sh: cannot run");
    // The wrong key: nothing runs, nothing secret is said.
    let o = d.run(&["keygen", "-o", "other.txt"], &[]);
    assert_eq!(o.code, 0);
    let o = d.run(
        &[
            "exec",
            "-i",
            "other.txt",
            "-f",
            "app.toml",
            "--",
            "touch",
            "ran",
        ],
        &[],
    );
    assert_refused(&o, 125, "app.toml: ");
    assert!(!d.path("ran").exists());
}

#[test]
fn a_tampered_value_stops_exec_before_the_program_runs() {
    let d = Deploy::new();
    let sealed = d.read("app.toml");
    // Flip one character of the password's token payload.
    let start = sealed.find("password = \"cachet:v1:").unwrap() + 60;
    let mut bytes = sealed.into_bytes();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    fs::write(d.path("app.toml"), &bytes).unwrap();
    let o = d.keyed(&["exec", "-f", "app.toml", "--", "touch", "ran"]);
    assert_refused(&o, 125, "app.toml: database.password: ");
    assert_no_secret(&o.stderr);
    assert!(!d.path("ran").exists());
    // The same file fails `open --check` with 1 and prints nothing.
    let o = d.run(&["open", "--check", "-i", "key.txt", "app.toml"], &[]);
    assert_refused(&o, 1, "app.toml: database.password: ");
}

#[test]
fn the_identity_variable_is_not_inherited() {
    let d = Deploy::new();
    let key = d.read("key.txt");
    let env = [("CACHET_IDENTITY", key.as_str()), ("CACHET_AUDIT_LOG", "")];
    let o = d.run(&["exec", "-f", "app.toml", "--", "env", "-0"], &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("DATABASE_PASSWORD=hunter2-db-pass\0"));
    assert!(
        !o.stdout.contains("CACHET_IDENTITY"),
        "the key was passed on"
    );
    assert!(
        !o.stdout.contains("AGE-SECRET-KEY"),
        "the key was passed on"
    );
    let o = d.run(
        &[
            "exec",
            "--keep-identity",
            "-f",
            "app.toml",
            "--",
            "env",
            "-0",
        ],
        &env,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("CACHET_IDENTITY="));
}

#[test]
fn open_check_opens_everything_and_prints_nothing() {
    let d = Deploy::new();
    let o = d.run(&["open", "--check", "-i", "key.txt", "app.toml"], &[]);
    assert_eq!((o.code, o.stdout.as_str(), o.stderr.as_str()), (0, "", ""));
    let o = d.run(
        &["open", "--check", "-i", "key.txt", "-o", "x", "app.toml"],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(!d.path("x").exists());
}

/// The access log's lines, parsed.
fn log_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn the_access_log_names_what_was_opened_and_never_a_value() {
    let d = Deploy::new();
    let o = d.keyed(&[
        "exec",
        "-f",
        "app.toml",
        "--audit-log",
        "access.log",
        "--",
        "true",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = d.run(
        &["get", "-i", "key.txt", "app.toml", "jwt.signing_key"],
        &[("CACHET_AUDIT_LOG", "access.log")],
    );
    assert_eq!(o.stdout, "jwt-signing-key-4f3c2a1b9e8d");
    let o = d.keyed(&["open", "--check", "app.toml", "--audit-log", "access.log"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    d.run(&["keygen", "-o", "other.txt"], &[]);
    let o = d.run(
        &[
            "open",
            "-i",
            "other.txt",
            "app.toml",
            "--audit-log",
            "access.log",
        ],
        &[],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);

    let text = d.read("access.log");
    assert_no_secret(&text);
    let mode = fs::metadata(d.path("access.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let lines = log_lines(&text);
    assert_eq!(lines.len(), 4, "{text}");
    let public = fs::read_to_string(d.path("key.txt")).unwrap();
    let public = public
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let commands: Vec<&str> = lines
        .iter()
        .map(|l| l["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["exec", "get", "open", "open"]);
    let exec = &lines[0];
    assert_eq!(exec["file"], "app.toml");
    assert_eq!(exec["outcome"], "ok");
    assert_eq!(exec["identity"], public.as_str());
    assert_eq!(
        exec["paths"],
        serde_json::json!([
            "database.password",
            "jwt.signing_key",
            "upstreams[0].name",
            "upstreams[0].token",
            "upstreams[1].name",
            "upstreams[1].weight"
        ])
    );
    assert_eq!(exec["key_ids"].as_array().unwrap().len(), 1);
    assert!(exec["time"].as_str().unwrap().ends_with('Z'));
    assert!(exec["pid"].as_u64().unwrap() > 0);
    assert_eq!(lines[1]["paths"], serde_json::json!(["jwt.signing_key"]));
    let refused = &lines[3];
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["paths"], serde_json::json!([]));
    assert!(refused["error"].as_str().unwrap().starts_with("app.toml: "));

    // A log that cannot be written stops the command before the program runs.
    let o = d.keyed(&[
        "exec",
        "-f",
        "app.toml",
        "--audit-log",
        "no/such/dir/log",
        "--",
        "touch",
        "ran",
    ]);
    assert_refused(&o, 125, "no/such/dir/log: cannot write the access log");
    assert!(!d.path("ran").exists());
    // Refused after opening (a refused name), or before (no key): logged as
    // refused, never as a success, and nothing runs.
    d.write("ld.toml", "ld_preload = \"/tmp/x.so\"\n");
    let o = d.run(
        &[
            "exec",
            "-f",
            "ld.toml",
            "--audit-log",
            "refusals.log",
            "--",
            "touch",
            "ran",
        ],
        &[],
    );
    assert_eq!(o.code, 125, "{}", o.stderr);
    let o = d.run(
        &[
            "exec",
            "-f",
            "app.toml",
            "--audit-log",
            "refusals.log",
            "--",
            "touch",
            "ran",
        ],
        &[],
    );
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(!d.path("ran").exists());
    let refusals = log_lines(&d.read("refusals.log"));
    assert_eq!(refusals.len(), 2);
    assert_eq!(refusals[0]["file"], "ld.toml");
    assert_eq!(refusals[0]["outcome"], "refused");
    assert!(
        refusals[0]["error"]
            .as_str()
            .unwrap()
            .contains("LD_PRELOAD changes how programs run")
    );
    assert_eq!(refusals[1]["file"], "app.toml");
    assert_eq!(refusals[1]["outcome"], "refused");
    assert!(
        refusals[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("no identity")
    );
    // A log is a regular file named as itself: not a link, not a FIFO.
    std::os::unix::fs::symlink(d.path("elsewhere.log"), d.path("link.log")).unwrap();
    let o = d.keyed(&["get", "app.toml", "jwt.ttl", "--audit-log", "link.log"]);
    assert_refused(
        &o,
        2,
        "link.log: cannot write the access log: it is a symbolic link",
    );
    assert!(!d.path("elsewhere.log").exists());
    assert!(
        Command::new("mkfifo")
            .arg(d.path("fifo.log"))
            .status()
            .unwrap()
            .success()
    );
    let o = d.keyed(&["get", "app.toml", "jwt.ttl", "--audit-log", "fifo.log"]);
    assert_refused(
        &o,
        2,
        "fifo.log: cannot write the access log: it is not a regular file",
    );
    // `-` is stderr, so stdout keeps only what was asked for.
    let o = d.keyed(&["get", "app.toml", "jwt.ttl", "--audit-log", "-"]);
    assert_eq!(o.stdout, "900");
    assert_eq!(log_lines(&o.stderr)[0]["command"], "get");
}

#[test]
fn open_converts_to_other_formats() {
    let d = Deploy::new();
    let run = |args: &[&str]| {
        let mut all = vec!["open", "-i", "key.txt", "app.toml"];
        all.extend_from_slice(args);
        d.run(&all, &[])
    };
    let o = run(&["--output-type", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let json: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(json["database"]["password"], "hunter2-db-pass");
    assert_eq!(json["database"]["pool"], 5);
    assert_eq!(json["debug"], false);
    assert_eq!(json["upstreams"][1]["weight"], 0.5);

    let o = run(&["--output-type", "yaml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let yaml: serde_yaml::Value = serde_yaml::from_str(&o.stdout).unwrap();
    assert_eq!(yaml["jwt"]["signing_key"], "jwt-signing-key-4f3c2a1b9e8d");
    assert_eq!(yaml["jwt"]["ttl"], 900);

    // TOML and YAML outputs read back as the same data, comments gone.
    let json_text = run(&["--output-type", "json"]).stdout;
    for ty in ["toml", "yaml"] {
        let o = run(&["--output-type", ty]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(!o.stdout.contains('#'), "{}", o.stdout);
        let name = format!("converted.{ty}");
        d.write(&name, &o.stdout);
        let again = d.keyed(&["open", &name, "--output-type", "json"]);
        assert_eq!(again.stdout, json_text, "{ty}");
    }

    let o = run(&[
        "--output-type",
        "env",
        "--separator",
        "__",
        "--only",
        "database",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "DATABASE__URL=postgres://app@db.internal:5432/app\nDATABASE__PASSWORD=hunter2-db-pass\nDATABASE__POOL=5\n"
    );

    let o = run(&[
        "--output-type",
        "k8s-secret",
        "--name",
        "app-config",
        "--namespace",
        "prod",
        "--only",
        "jwt.ttl",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-config\n  namespace: prod\ntype: Opaque\ndata:\n  JWT_TTL: OTAw\n"
    );

    // -o writes the output 0600, atomically; nothing on stdout.
    let o = run(&["--output-type", "env", "-o", "runtime.env"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, ""), "{}", o.stderr);
    let mode = fs::metadata(d.path("runtime.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        d.read("runtime.env")
            .contains("JWT_SIGNING_KEY=jwt-signing-key-4f3c2a1b9e8d\n")
    );

    // Bad usage: exit 2, one line, nothing written.
    let o = run(&["--output-type", "k8s-secret"]);
    assert_refused(&o, 2, "--output-type k8s-secret needs --name");
    let o = run(&["--output-type", "k8s-secret", "--name", "Bad_Name"]);
    assert_refused(&o, 2, "--name \"Bad_Name\": ");
    let o = run(&["--output-type", "json", "--separator", "__"]);
    assert_refused(&o, 2, "use them with --output-type env or k8s-secret");
    let o = run(&["--name", "x"]);
    assert_refused(
        &o,
        2,
        "--name and --namespace are for --output-type k8s-secret",
    );
    assert_no_secret(&o.stderr);
    // A value with no equivalent in the target: exit 2, naming the path.
    d.write("nulls.yaml", "a: ~\nb: 1\n");
    let o = d.keyed(&["open", "nulls.yaml", "--output-type", "toml"]);
    assert_refused(&o, 2, "nulls.yaml: a: cannot be written as TOML");
    d.write("two.yaml", "a: 1\n---\nb: 2\n");
    let o = d.keyed(&["open", "two.yaml", "--output-type", "env"]);
    assert_refused(
        &o,
        2,
        "two.yaml: the file holds 2 YAML documents, and environment variables holds exactly one",
    );
    let o = d.keyed(&["open", "two.yaml", "--output-type", "yaml"]);
    assert_eq!(o.stdout, "a: 1\n---\nb: 2\n");
}

/// Variables too large for the system to pass (E2BIG: one over 128 KiB on
/// Linux) are cachet's failure, 125, not the program's 126.
#[cfg(target_os = "linux")]
#[test]
fn exec_with_variables_too_large_to_pass_exits_125() {
    let d = Deploy::new();
    d.write(
        "big.toml",
        &format!("blob = \"{}\"\n", "x".repeat(200 * 1024)),
    );
    let o = d.keyed(&["exec", "-f", "big.toml", "--", "true"]);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "cachet: true: cannot run: the variables and arguments are too large to pass (the system's limit); pass fewer with --only\n"
    );
}

/// A variable whose name a shell cannot read (`MY-APP_KEY`) still reaches the
/// program, with a warning naming it and where it came from.
#[test]
fn exec_warns_of_names_a_shell_cannot_read() {
    let d = Deploy::new();
    d.write("names.toml", "ok_name = \"w\"\n[my-app]\nkey = \"v\"\n");
    let (o, vars) = d.exec_env(&["-f", "names.toml"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(vars.get("MY-APP_KEY").map(String::as_str), Some("v"));
    assert_eq!(
        o.stderr,
        "cachet: warning: variable \"MY-APP_KEY\" (my-app.key) has a name a shell cannot read as $NAME; programs that read their environment directly still see it; rename the key if a shell must read it\n"
    );
}
