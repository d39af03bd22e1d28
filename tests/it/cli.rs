//! The `cachet` command end to end: real files, real processes, exact exit codes
//! and error lines; tampered, moved, truncated and injected tokens; malformed,
//! binary, empty and huge inputs. Every failure leaves stdout empty, the input file
//! unchanged, and no secret in stderr.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cachet::{Format, Place, SealedAt, Sealer, SecretKey, ValuePath};

use crate::common;
use common::{Out, key_id_of};

const BIN: &str = env!("CARGO_BIN_EXE_cachet");

/// A scratch directory with its own HOME, so no real identity is ever picked up.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, text).unwrap();
        p
    }

    fn run_with(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Out {
        common::run_cachet(self.dir.path(), self.dir.path(), args, stdin, env)
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, b"", &[])
    }

    /// A new key in `key.txt`; returns its recipient.
    fn keygen(&self, name: &str) -> String {
        let o = self.run(&["keygen", "-o", name]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stdout.trim().to_string()
    }
}

fn example() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example/app.toml"))
        .unwrap()
}

/// The secrets of the example file, none of which may ever appear where not asked.
const EXAMPLE_SECRETS: &[&str] = &[
    "sk_live_51HxQ2eKz8mB4vR7tYpL9wN3c",
    "c0rrect-h0rse-battery-staple",
    "4f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f",
    "p@ss word",
    "whsec_8f2b1c9d",
    "whsec_77aa01be",
];

fn assert_no_secret(text: &str) {
    for s in EXAMPLE_SECRETS {
        assert!(!text.contains(s), "a secret leaked: {text}");
    }
}

/// A failure: the exit code, exactly one line on stderr naming the file (and the
/// path when given), nothing on stdout, no secret anywhere.
fn assert_fails(o: &Out, code: i32, file: &str, path: Option<&str>) {
    assert_eq!(o.code, code, "stderr: {}", o.stderr);
    assert_eq!(o.stdout, "", "nothing may be written to stdout on failure");
    assert_eq!(o.stderr.lines().count(), 1, "one line: {:?}", o.stderr);
    assert!(
        o.stderr.starts_with(&format!("cachet: {file}: ")),
        "{:?}",
        o.stderr
    );
    if let Some(p) = path {
        assert!(
            o.stderr.contains(&format!(": {p}: ")),
            "{:?} should name {p}",
            o.stderr
        );
    }
    assert_no_secret(&o.stderr);
}

fn sealed_example(sb: &Sandbox) -> (String, PathBuf) {
    let r = sb.keygen("key.txt");
    let f = sb.write("app.toml", &example());
    let o = sb.run(&["seal", "app.toml", "-r", &r]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        format!(
            "app.toml: sealed 7 values to key id {} (0 already sealed)\n",
            key_id_of(&r)
        )
    );
    (r, f)
}

#[test]
fn keygen_writes_a_private_age_identity_and_never_overwrites() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    assert!(r.starts_with("age1") && r.len() == 62, "{r}");
    let text = fs::read_to_string(sb.path("key.txt")).unwrap();
    assert!(text.contains(&format!("# public key: {r}\n")));
    assert!(text.lines().last().unwrap().starts_with("AGE-SECRET-KEY-1"));
    assert_eq!(
        fs::metadata(sb.path("key.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // age reads it and agrees on the recipient.
    let id: age::x25519::Identity = text.lines().last().unwrap().parse().unwrap();
    assert_eq!(id.to_public().to_string(), r);

    let again = sb.run(&["keygen", "-o", "key.txt"]);
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        "cachet: key.txt: already exists; keygen never overwrites a key (remove the file first if you mean it)\n"
    );
    assert_eq!(fs::read_to_string(sb.path("key.txt")).unwrap(), text);

    let to_stdout = sb.run(&["keygen"]);
    assert_eq!(to_stdout.code, 0);
    assert!(to_stdout.stdout.contains("AGE-SECRET-KEY-1"));
    assert!(to_stdout.stderr.starts_with("Public key: age1"));
}

#[test]
fn seal_then_open_is_byte_exact_and_keeps_permissions() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let f = sb.write("app.toml", &example());
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(sb.run(&["seal", "app.toml", "-r", &r]).code, 0);
    let sealed = fs::read_to_string(&f).unwrap();
    assert_no_secret(&sealed);
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(
        sealed.contains("host = \"db.internal\"\n"),
        "plain values stay plain"
    );

    let o = sb.run(&["open", "app.toml", "-i", "key.txt"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, example());
    assert_eq!(o.stderr, "");

    // Sealing again changes nothing, not even the modification time.
    let before = fs::metadata(&f).unwrap().modified().unwrap();
    let again = sb.run(&["seal", "app.toml", "-r", &r]);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stderr,
        "app.toml: nothing to seal (7 already sealed)\n"
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), sealed);
    assert_eq!(fs::metadata(&f).unwrap().modified().unwrap(), before);

    // -o writes a private file.
    let o = sb.run(&["open", "app.toml", "-i", "key.txt", "-o", "plain.toml"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, ""));
    assert_eq!(
        fs::read_to_string(sb.path("plain.toml")).unwrap(),
        example()
    );
    assert_eq!(
        fs::metadata(sb.path("plain.toml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn seal_to_stdout_and_from_stdin() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let f = sb.write("app.toml", &example());
    let o = sb.run(&["seal", "app.toml", "--stdout", "-r", &r]);
    assert_eq!(o.code, 0);
    assert_no_secret(&o.stdout);
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        example(),
        "--stdout leaves the file alone"
    );

    let piped = sb.run_with(
        &["seal", "-", "--input-type", "toml"],
        example().as_bytes(),
        &[("CACHET_RECIPIENT", &r)],
    );
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert_no_secret(&piped.stdout);
    let opened = sb.run_with(
        &["open", "-", "--input-type", "toml", "-i", "key.txt"],
        piped.stdout.as_bytes(),
        &[],
    );
    assert_eq!(opened.stdout, example());

    let no_type = sb.run_with(&["seal", "-", "-r", &r], b"a = 1\n", &[]);
    assert_eq!(no_type.code, 2);
    assert_eq!(
        no_type.stderr,
        "cachet: <stdin>: cannot tell the format from the file name; pass --input-type toml|yaml|json|jsonc|env\n"
    );
}

#[test]
fn named_paths_and_missing_recipient() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    sb.write("c.toml", "a = 1\n[db]\nhost = \"h\"\nport = 5432\n");
    let o = sb.run(&[
        "seal", "c.toml", "-r", &r, "--path", "db.host", "--path", "a",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let sealed = fs::read_to_string(sb.path("c.toml")).unwrap();
    assert!(sealed.contains("port = 5432\n"));
    assert!(!sealed.contains("host = \"h\""));

    let missing = sb.run(&["seal", "c.toml", "-r", &r, "--path", "db.nope"]);
    assert_fails(&missing, 2, "c.toml", Some("db.nope"));
    let bad = sb.run(&["seal", "c.toml", "-r", &r, "--path", "db..x"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .starts_with("cachet: \"db..x\": invalid value path at character 4")
    );

    let none = sb.run(&["seal", "c.toml"]);
    assert_eq!(none.code, 2);
    assert_eq!(
        none.stderr,
        "cachet: no recipient: pass -r age1… (the environment's public key), set CACHET_RECIPIENT, or describe the environments in .cachet.toml (`cachet init`)\n"
    );
    let wrong = sb.run(&["seal", "c.toml", "-r", "age1notakey"]);
    assert_eq!(wrong.code, 2);
    assert!(
        wrong
            .stderr
            .starts_with("cachet: -r: not an age X25519 recipient")
    );
}

#[test]
fn a_file_sealed_to_another_key_is_refused() {
    let sb = Sandbox::new();
    let (_, f) = sealed_example(&sb);
    let before = fs::read_to_string(&f).unwrap();
    let other = sb.keygen("other.txt");
    let o = sb.run(&["seal", "app.toml", "-r", &other]);
    assert_fails(&o, 1, "app.toml", Some("api_key"));
    assert!(
        o.stderr
            .contains("the value belongs to another environment")
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), before);
    let s = sb.run_with(
        &["set", "app.toml", "new_token", "--create", "-r", &other],
        b"v",
        &[],
    );
    assert_fails(&s, 1, "app.toml", Some("api_key"));
    assert_eq!(fs::read_to_string(&f).unwrap(), before);
}

#[test]
fn get_prints_exactly_the_content() {
    let sb = Sandbox::new();
    sealed_example(&sb);
    let get = |p: &str| sb.run(&["get", "app.toml", p, "-i", "key.txt"]);
    assert_eq!(
        get("smtp.server.password").stdout,
        "p@ss word with \"quotes\" and \\ backslash"
    );
    assert_eq!(
        get("database.password").stdout,
        "c0rrect-h0rse-battery-staple"
    );
    assert_eq!(
        get("jwt.signing_key").stdout,
        "4f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"
    );
    assert_eq!(get("database.port").stdout, "5432");
    assert_eq!(get("webhooks[1].rotated_at").stdout, "2026-11-01T08:00:00Z");
    assert_eq!(get("jwt.audience[1]").stdout, "admin-api");
    assert_fails(&get("database"), 2, "app.toml", Some("database"));
    assert_fails(&get("database.nope"), 2, "app.toml", Some("database.nope"));
}

#[test]
fn set_reads_stdin_and_needs_only_the_public_key() {
    let sb = Sandbox::new();
    let (r, f) = sealed_example(&sb);
    let set = |args: &[&str], value: &[u8]| {
        let mut a = vec!["set", "app.toml", "--create"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-r", &r]);
        sb.run_with(&a, value, &[])
    };
    let before = fs::read_to_string(&f).unwrap();
    // Replace an existing value: only its line changes.
    let o = set(&["database.user"], b"new-user\n");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let after = fs::read_to_string(&f).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1);
    assert!(
        changed[0].0 == "user = \"billing\"" && changed[0].1.starts_with("user = \"cachet:v1:")
    );
    // Add new keys: to an existing table, the root, and a new table.
    assert_eq!(set(&["database.replica_password"], b"r3pl1ca\r\n").code, 0);
    assert_eq!(set(&["new_token"], b"t0k").code, 0);
    assert_eq!(
        set(&["cache.redis.password"], b"multi\nline \"value\"").code,
        0
    );
    assert_eq!(
        set(&["database.max_conn", "--type", "int"], b"40\n").code,
        0
    );
    assert_eq!(
        set(&["webhooks[0].enabled", "--type", "bool"], b"true").code,
        0
    );
    let get = |p: &str| sb.run(&["get", "app.toml", p, "-i", "key.txt"]).stdout;
    assert_eq!(get("database.user"), "new-user");
    assert_eq!(get("database.replica_password"), "r3pl1ca");
    assert_eq!(get("new_token"), "t0k");
    assert_eq!(get("cache.redis.password"), "multi\nline \"value\"");
    assert_eq!(get("database.max_conn"), "40");
    assert_eq!(get("webhooks[0].enabled"), "true");
    let opened = sb.run(&["open", "app.toml", "-i", "key.txt"]).stdout;
    assert!(opened.contains("[database]\nhost = \"db.internal\"\n"));
    assert!(opened.contains("\n[cache.redis]\npassword = \"multi\\nline \\\"value\\\"\"\n"));
    assert!(opened.contains("max_conn = 40\n"));
    let parsed: toml_edit::DocumentMut = opened.parse().unwrap();
    assert_eq!(
        parsed["database"]["replica_password"].as_str(),
        Some("r3pl1ca")
    );
    assert_eq!(parsed["new_token"].as_str(), Some("t0k"));
    assert_eq!(parsed["webhooks"][0]["enabled"].as_bool(), Some(true));

    // Bad values and places: exit 2, file untouched.
    let now = fs::read_to_string(&f).unwrap();
    assert_fails(
        &set(&["database.port", "--type", "int"], b"54x"),
        2,
        "app.toml",
        Some("database.port"),
    );
    assert_fails(
        &set(&["database.pool.extra"], b"x"),
        2,
        "app.toml",
        Some("database.pool.extra"),
    );
    assert_fails(&set(&["database"], b"x"), 2, "app.toml", Some("database"));
    assert_fails(
        &set(&["jwt.audience[5]"], b"x"),
        2,
        "app.toml",
        Some("jwt.audience[5]"),
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), now);
}

#[test]
fn set_generate_seals_a_new_random_secret_without_showing_it() {
    let sb = Sandbox::new();
    let (r, f) = sealed_example(&sb);
    let get = |p: &str| {
        let o = sb.run(&["get", "app.toml", p, "-i", "key.txt"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stdout
    };
    let generate = |args: &[&str]| {
        let mut a = vec!["set", "app.toml", "--create"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-r", &r]);
        // A value on stdin is never read when generating.
        sb.run_with(&a, b"not-this\n", &[])
    };
    let before = fs::read_to_string(&f).unwrap();

    // Rotating an existing secret value is one command; nothing is shown.
    let old = get("jwt.signing_key");
    let o = generate(&["jwt.signing_key", "--generate"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        format!(
            "app.toml: sealed jwt.signing_key to key id {}: a new secret of 43 alnum characters\n",
            key_id_of(&r)
        )
    );
    let new = get("jwt.signing_key");
    assert_ne!(new, old);
    assert_eq!(new.len(), 43);
    assert!(new.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(!o.stderr.contains(&new));
    let after = fs::read_to_string(&f).unwrap();
    let changed = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 1, "only the rotated value's line changes");

    // A new key, a length and another alphabet.
    let o = generate(&["api.token", "--generate", "64", "--charset", "hex"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let token = get("api.token");
    assert_eq!(token.len(), 64);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let o = generate(&["db_password", "--generate", "30", "--charset", "symbols"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let pw = get("db_password");
    assert_eq!(pw.len(), 30);
    assert!(
        pw.bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"'`\\$".contains(&b))
    );

    // Weak, huge or typed generation is refused before anything is written.
    let now = fs::read_to_string(&f).unwrap();
    assert_fails(
        &generate(&["pin", "--generate", "6", "--charset", "digits"]),
        2,
        "app.toml",
        Some("pin"),
    );
    assert_eq!(
        generate(&["pin", "--generate", "6", "--charset", "digits"]).stderr,
        "cachet: app.toml: pin: --generate: 6 digits characters give 20 bits, fewer than \
         the 64 a secret needs; use a length of 20 or more\n"
    );
    assert_eq!(generate(&["pin", "--generate", "5000"]).code, 2);
    assert_eq!(generate(&["n", "--generate", "--type", "int"]).code, 2);
    assert_eq!(generate(&["n", "--charset", "hex"]).code, 2);
    assert_eq!(fs::read_to_string(&f).unwrap(), now);
}

/// Replaces `path`'s token in the sealed file by `f(token)`.
fn edit_token(text: &str, path_line_prefix: &str, f: impl Fn(&str) -> String) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with(path_line_prefix))
        .unwrap();
    let start = line.find("\"cachet:").unwrap() + 1;
    let end = start + line[start..].find('"').unwrap();
    let token = &line[start..end];
    text.replacen(token, &f(token), 1)
}

#[test]
fn every_changed_character_of_a_token_fails_to_open() {
    let sb = Sandbox::new();
    let (_, f) = sealed_example(&sb);
    let sealed = fs::read_to_string(&f).unwrap();
    let line = sealed
        .lines()
        .find(|l| l.starts_with("password = "))
        .unwrap();
    let token_len = line.len() - "password = \"\"".len();
    let alphabet = ['A', 'b', '0', '_', '-', ':', '!', 'é'];
    for i in 0..token_len {
        let tampered = edit_token(&sealed, "password = ", |t| {
            let c = t.chars().nth(i).unwrap();
            let repl = alphabet.iter().find(|&&a| a != c).unwrap();
            t.chars()
                .enumerate()
                .map(|(j, x)| if j == i { *repl } else { x })
                .collect()
        });
        let t = sb.write("t.toml", &tampered);
        let o = sb.run(&["open", "t.toml", "-i", "key.txt"]);
        assert_fails(&o, 1, "t.toml", Some("database.password"));
        assert_eq!(fs::read_to_string(&t).unwrap(), tampered, "input unchanged");
    }
}

#[test]
fn moved_truncated_and_wrong_key_tokens_fail() {
    let sb = Sandbox::new();
    let (_, f) = sealed_example(&sb);
    let sealed = fs::read_to_string(&f).unwrap();
    let token_of = |prefix: &str| {
        let line = sealed.lines().find(|l| l.starts_with(prefix)).unwrap();
        let s = line.find("\"cachet:").unwrap() + 1;
        line[s..s + line[s..].find('"').unwrap()].to_string()
    };
    let pw = token_of("password = ");
    let url = token_of("url = \"cachet");
    // Swap two tokens of the same file: both are bound to their paths.
    let swapped = sealed
        .replacen(&pw, "@@", 1)
        .replacen(&url, &pw, 1)
        .replacen("@@", &url, 1);
    sb.write("swapped.toml", &swapped);
    let o = sb.run(&["open", "swapped.toml", "-i", "key.txt"]);
    assert_fails(&o, 1, "swapped.toml", Some("database.password"));
    assert!(
        o.stderr.contains("altered, moved from another place"),
        "{}",
        o.stderr
    );
    // Move a token under another key name.
    sb.write(
        "moved.toml",
        &sealed.replace("password = \"cachet", "passwd = \"cachet"),
    );
    assert_fails(
        &sb.run(&["open", "moved.toml", "-i", "key.txt"]),
        1,
        "moved.toml",
        Some("database.passwd"),
    );
    // Truncate.
    // (Cut inside the 7-character `cachet:` prefix, what is left is an ordinary
    // plain string; `check` is what flags plaintext where a sealed value belongs.)
    for cut in [7, 10, pw.len() - 60, pw.len() - 4] {
        sb.write("cut.toml", &sealed.replace(&pw, &pw[..cut]));
        assert_fails(
            &sb.run(&["open", "cut.toml", "-i", "key.txt"]),
            1,
            "cut.toml",
            Some("database.password"),
        );
    }
    // Another key.
    sb.keygen("other.txt");
    let o = sb.run(&["open", "app.toml", "-i", "other.txt"]);
    assert_fails(&o, 1, "app.toml", Some("api_key"));
    assert!(o.stderr.contains("no identity for key id"), "{}", o.stderr);
    let g = sb.run(&["get", "app.toml", "database.password", "-i", "other.txt"]);
    assert_fails(&g, 1, "app.toml", Some("database.password"));
}

/// Seals `raw` (any text at all, as an attacker holding only the public key could)
/// for `path` and writes it into `doc` in place of `@@`.
fn forged(recipient: &str, path: &str, raw: &str, doc: &str) -> String {
    let pk = recipient.parse().unwrap();
    let mut sealer = Sealer::new(&pk).unwrap();
    let p: ValuePath = path.parse().unwrap();
    let place = Place {
        format: Format::Toml,
        document: 0,
        path: &p,
    };
    let token = sealer.seal(raw.as_bytes(), &place).unwrap();
    doc.replace("@@", &format!("\"{token}\""))
}

#[test]
fn literals_that_would_inject_structure_are_refused() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let doc = "[app]\nname = \"x\"\npassword = @@\nport = 1\n";
    for raw in [
        "\"x\"\n[db]\nhost = \"evil\"",
        "\"x\"\nport = 2",
        "\"x\"\nadmin = true",
        "\"x\" # comment",
        " \"x\"",
        "\"x\"\n",
        "{ a = 1 }",
        "[1, 2]",
        "1\n[[evil]]",
        "\"unterminated",
        "",
        "x = 1",
    ] {
        let text = forged(&r, "app.password", raw, doc);
        sb.write("f.toml", &text);
        let o = sb.run(&["open", "f.toml", "-i", "key.txt"]);
        assert_fails(&o, 1, "f.toml", Some("app.password"));
        assert!(
            o.stderr.contains("refused to open"),
            "{raw:?}: {}",
            o.stderr
        );
        let g = sb.run(&["get", "f.toml", "app.password", "-i", "key.txt"]);
        assert_fails(&g, 1, "f.toml", Some("app.password"));
    }
    // The same place with an honest literal opens.
    for raw in [
        "\"x\"",
        "'lit'",
        "\"\"\"\nmulti\nline\"\"\"",
        "42",
        "2026-01-01",
    ] {
        sb.write("f.toml", &forged(&r, "app.password", raw, doc));
        let o = sb.run(&["open", "f.toml", "-i", "key.txt"]);
        assert_eq!(o.code, 0, "{raw:?}: {}", o.stderr);
        assert_eq!(o.stdout, doc.replace("@@", raw));
    }
    // A token sealed for another format or document does not open here.
    let pk = r.parse().unwrap();
    let p: ValuePath = "app.password".parse().unwrap();
    let other_doc = Sealer::new(&pk)
        .unwrap()
        .seal(
            b"\"x\"",
            &Place {
                format: Format::Toml,
                document: 1,
                path: &p,
            },
        )
        .unwrap();
    sb.write("f.toml", &doc.replace("@@", &format!("\"{other_doc}\"")));
    assert_fails(
        &sb.run(&["open", "f.toml", "-i", "key.txt"]),
        1,
        "f.toml",
        Some("app.password"),
    );
}

#[test]
fn bad_input_files_give_one_clear_line() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    sb.write("bad.toml", "a = 1\npassword = \"hunter2\nb = 2\n");
    for args in [
        vec!["seal", "bad.toml", "-r", r.as_str()],
        vec!["open", "bad.toml", "-i", "key.txt"],
        vec!["get", "bad.toml", "a", "-i", "key.txt"],
    ] {
        let o = sb.run(&args);
        assert_fails(&o, 2, "bad.toml", None);
        assert!(o.stderr.starts_with("cachet: bad.toml: line 2, column 20: invalid TOML: invalid basic string, expected `\"`"), "{}", o.stderr);
        assert!(!o.stderr.contains("hunter2"));
    }
    assert_eq!(
        fs::read_to_string(sb.path("bad.toml")).unwrap(),
        "a = 1\npassword = \"hunter2\nb = 2\n"
    );

    fs::write(sb.path("bin.toml"), [0x00, 0xff, 0xfe, 0x80, 0x41]).unwrap();
    let o = sb.run(&["open", "bin.toml", "-i", "key.txt"]);
    assert_fails(&o, 2, "bin.toml", None);
    assert_eq!(
        o.stderr,
        "cachet: bin.toml: not UTF-8 text (invalid byte at offset 1)\n"
    );

    fs::write(sb.path("nul.toml"), "a = \"\0\"\n").unwrap();
    assert_fails(
        &sb.run(&["seal", "nul.toml", "-r", &r]),
        2,
        "nul.toml",
        None,
    );

    sb.write("empty.toml", "");
    let o = sb.run(&["open", "empty.toml", "-i", "key.txt"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, ""));
    assert_eq!(
        sb.run(&["seal", "empty.toml", "-r", &r]).stderr,
        "empty.toml: nothing to seal (0 already sealed)\n"
    );

    let o = sb.run(&["open", "missing.toml", "-i", "key.txt"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("cachet: missing.toml: cannot read: "),
        "{}",
        o.stderr
    );
    let o = sb.run(&["open", "app.ini", "-i", "key.txt"]);
    assert_eq!(
        o.stderr,
        "cachet: app.ini: cannot tell the format from the file name; pass --input-type toml|yaml|json|jsonc|env\n"
    );
}

#[test]
fn one_bad_file_among_several_leaves_all_of_them_untouched() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let a = sb.write("a.toml", "token = \"one\"\n");
    let b = sb.write("b.toml", "token = \"two\"\nbroken =\n");
    let o = sb.run(&["seal", "a.toml", "b.toml", "-r", &r]);
    assert_fails(&o, 2, "b.toml", None);
    assert_eq!(fs::read_to_string(&a).unwrap(), "token = \"one\"\n");
    assert_eq!(
        fs::read_to_string(&b).unwrap(),
        "token = \"two\"\nbroken =\n"
    );
    fs::write(&b, "token = \"two\"\n").unwrap();
    assert_eq!(sb.run(&["seal", "a.toml", "b.toml", "-r", &r]).code, 0);
    // Both files were sealed in one run: one ephemeral key, so one X25519 opens both.
    let eph = |p: &Path| {
        let t = fs::read_to_string(p).unwrap();
        let payload = t.split(':').nth(4).unwrap().to_string();
        // 42 characters hold 31.5 bytes: the ephemeral key alone, not the nonce after it.
        payload[..42].to_string()
    };
    assert_eq!(eph(&a), eph(&b));
}

#[test]
fn identities_come_from_the_first_source_present() {
    let sb = Sandbox::new();
    sealed_example(&sb);
    let key_text = fs::read_to_string(sb.path("key.txt")).unwrap();
    sb.keygen("other.txt");
    let ok = |o: Out| assert_eq!(o.code, 0, "{}", o.stderr);
    let fails = |o: Out| assert_eq!(o.code, 1, "{}", o.stderr);
    let args = ["get", "app.toml", "api_key"];
    // CACHET_IDENTITY holds the key text itself.
    ok(sb.run_with(&args, b"", &[("CACHET_IDENTITY", &key_text)]));
    // -i wins over the environment; the sources are not combined.
    fails(sb.run_with(
        &["get", "app.toml", "api_key", "-i", "other.txt"],
        b"",
        &[("CACHET_IDENTITY", &key_text)],
    ));
    // CACHET_IDENTITY wins over CACHET_IDENTITY_FILE.
    let other_text = fs::read_to_string(sb.path("other.txt")).unwrap();
    fails(sb.run_with(
        &args,
        b"",
        &[
            ("CACHET_IDENTITY", &other_text),
            ("CACHET_IDENTITY_FILE", "key.txt"),
        ],
    ));
    ok(sb.run_with(&args, b"", &[("CACHET_IDENTITY_FILE", "key.txt")]));
    // The default file.
    let none = sb.run(&args);
    assert_eq!(none.code, 2);
    assert!(none.stderr.starts_with("cachet: no identity: pass -i FILE"));
    fs::create_dir_all(sb.path(".config/cachet")).unwrap();
    fs::copy(sb.path("key.txt"), sb.path(".config/cachet/identity.txt")).unwrap();
    ok(sb.run(&args));
    // Several -i files are combined.
    ok(sb.run(&[
        "get",
        "app.toml",
        "api_key",
        "-i",
        "other.txt",
        "-i",
        "key.txt",
    ]));
    // A broken identity names the line, never its text.
    let broken = sb.write("broken.txt", "# c\nAGE-SECRET-KEY-1NOPE-this-is-secret\n");
    fs::set_permissions(&broken, fs::Permissions::from_mode(0o600)).unwrap();
    let o = sb.run(&["get", "app.toml", "api_key", "-i", "broken.txt"]);
    assert_eq!(o.code, 2);
    assert_eq!(
        o.stderr,
        "cachet: identity file broken.txt: line 2 is not an age identity (AGE-SECRET-KEY-1…)\n"
    );
    let o = sb.run_with(
        &args,
        b"",
        &[("CACHET_IDENTITY", "AGE-SECRET-KEY-1secret-text")],
    );
    assert_eq!(
        o.stderr,
        "cachet: CACHET_IDENTITY: line 1 is not an age identity (AGE-SECRET-KEY-1…)\n"
    );
}

#[test]
fn huge_inputs_are_handled() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    // A 50 MB file of ordinary values: sealed and opened correctly.
    let mut big = String::with_capacity(50 << 20);
    let mut i = 0;
    while big.len() < 50 << 20 {
        big.push_str(&format!(
            "[s{i}]\nhost = \"h{i}.internal.example.com\"\nnote = \"{}\"\n",
            "n".repeat(400)
        ));
        if i % 1000 == 0 {
            big.push_str(&format!("db_password = \"pw-{i}\"\n"));
        }
        i += 1;
    }
    let f = sb.write("big.toml", &big);
    let o = sb.run(&["seal", "big.toml", "-r", &r]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!fs::read_to_string(&f).unwrap().contains("pw-1000\""));
    let o = sb.run(&["open", "big.toml", "-i", "key.txt", "-o", "big.open.toml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(fs::read_to_string(sb.path("big.open.toml")).unwrap() == big);
    // One 17 MB value is over the limit: a clear error and no change.
    let huge = format!("api_token = \"{}\"\n", "x".repeat(17 << 20));
    let f = sb.write("huge.toml", &huge);
    let o = sb.run(&["seal", "huge.toml", "-r", &r]);
    assert_fails(&o, 2, "huge.toml", Some("api_token"));
    assert!(o.stderr.contains("too large"));
    assert_eq!(fs::read(&f).unwrap().len(), huge.len());
}

#[test]
fn a_token_with_a_later_sealed_at_and_the_bundled_example_open() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let pk = r.parse().unwrap();
    let p: ValuePath = "token".parse().unwrap();
    let mut sealer = Sealer::with_rng(
        &pk,
        rand_core::OsRng,
        SealedAt::parse("20991231T000000Z").unwrap(),
    )
    .unwrap();
    let t = sealer
        .seal(
            b"\"later\"",
            &Place {
                format: Format::Toml,
                document: 0,
                path: &p,
            },
        )
        .unwrap();
    sb.write("l.toml", &format!("token = \"{t}\"\n"));
    assert_eq!(
        sb.run(&["get", "l.toml", "token", "-i", "key.txt"]).stdout,
        "later"
    );
    let _ = SecretKey::generate();
}

#[test]
fn version_completions_and_man_page_come_from_one_definition() {
    let sb = Sandbox::new();
    let v = sb.run(&["--version"]);
    assert_eq!(v.stdout, format!("cachet {}\n", env!("CARGO_PKG_VERSION")));
    // The script asks cachet itself for each completion (see below).
    let c = sb.run(&["completions", "bash"]);
    assert_eq!(c.code, 0);
    assert!(
        c.stdout.contains("COMPLETE=\"bash\"") && c.stdout.contains("complete "),
        "{}",
        c.stdout
    );
    let m = sb.run(&["man"]);
    assert_eq!(m.code, 0);
    assert!(
        m.stdout.starts_with(".ie") || m.stdout.contains(".TH cachet"),
        "{}",
        &m.stdout[..80]
    );
    let u = sb.run(&["open"]);
    assert_eq!(u.code, 2, "usage errors exit 2");
}

#[test]
fn concurrent_sets_on_one_file_all_land() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let f = sb.write("c.toml", "# shared\n[s]\n");
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut child = Command::new(BIN)
                .args([
                    "set",
                    "c.toml",
                    &format!("s.token_{i}"),
                    "--create",
                    "-r",
                    &r,
                ])
                .current_dir(sb.dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("value-{i}").as_bytes())
                .unwrap();
            child
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let text = fs::read_to_string(&f).unwrap();
    for i in 0..20 {
        let got = sb.run(&["get", "c.toml", &format!("s.token_{i}"), "-i", "key.txt"]);
        assert_eq!(got.stdout, format!("value-{i}"), "{text}");
    }
}

/// A writer that finds the file's lock held says so on stderr and waits (it
/// neither fails nor writes), then lands once the lock is released: `set`,
/// `seal` in place and `edit` alike.
#[test]
fn a_writer_that_finds_the_lock_held_waits_with_a_message() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let editor = sb.write(
        "ed.sh",
        "#!/bin/sh\nsed 's/= 1/= 2/' \"$1\" > \"$1.n\" && cat \"$1.n\" > \"$1\"\n",
    );
    fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(sb.path("edit")).unwrap();
    let f = sb.write("c.toml", "[s]\nn = 1\npassword = \"hunter2\"\n");
    let commands: [(&[&str], &str); 3] = [
        (
            &["set", "c.toml", "s.token", "--create", "-r", &r],
            "value-1",
        ),
        (&["seal", "c.toml", "-r", &r], ""),
        (&["edit", "c.toml", "-r", &r, "-i", "key.txt"], ""),
    ];
    for (args, stdin) in commands {
        let before = fs::read_to_string(&f).unwrap();
        let held = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(sb.path(".c.toml.cachet-lock"))
            .unwrap();
        held.try_lock().unwrap();
        let mut cmd = Command::new(BIN);
        common::isolate(&mut cmd, sb.dir.path());
        let mut child = cmd
            .args(args)
            .current_dir(sb.dir.path())
            .env("CACHET_EDITOR", &editor)
            .env("CACHET_EDIT_DIR", sb.path("edit"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        assert_eq!(
            line, "cachet: waiting for another cachet process that is writing c.toml\n",
            "{args:?}"
        );
        // It waits: still running, and the file untouched, while the lock is held.
        assert!(child.try_wait().unwrap().is_none(), "{args:?} did not wait");
        assert_eq!(fs::read_to_string(&f).unwrap(), before, "{args:?}");
        drop(held);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
        assert!(child.wait().unwrap().success(), "{args:?}: {rest}");
        assert_ne!(
            fs::read_to_string(&f).unwrap(),
            before,
            "{args:?} did not land"
        );
    }
    let get = |p: &str| sb.run(&["get", "c.toml", p, "-i", "key.txt"]).stdout;
    assert_eq!(get("s.token"), "value-1");
    assert_eq!(get("s.password"), "hunter2");
    assert_eq!(get("s.n"), "2");
    assert!(fs::read_to_string(&f).unwrap().contains("n = 2"));
}

#[test]
fn every_format_is_found_by_its_file_name_and_round_trips() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let files: &[(&str, &str, &str, &str)] = &[
        (
            "app.json",
            "{\n  \"db_password\": \"pw-json-1\",\n  \"port\": 5432\n}\n",
            "db_password",
            "pw-json-1",
        ),
        (
            "settings.jsonc",
            "{\n  // comment\n  \"api_token\": \"pw-jsonc-2\",\n}\n",
            "api_token",
            "pw-jsonc-2",
        ),
        (
            ".env",
            "# c\nDB_PASSWORD=pw-env-3\nPORT=5432\n",
            "DB_PASSWORD",
            "pw-env-3",
        ),
        (
            ".env.production",
            "export SECRET_KEY='pw-env-4'\n",
            "SECRET_KEY",
            "pw-env-4",
        ),
        (
            "worker.env",
            "JWT_SECRET=\"pw \\\"env\\\" 5\"\n",
            "JWT_SECRET",
            "pw \"env\" 5",
        ),
        (
            "app.yaml",
            "# c\ndb:\n  password: pw-yaml-6\n  port: 5432\n",
            "db.password",
            "pw-yaml-6",
        ),
        (
            "compose.yml",
            "services:\n  - name: api\n    token: \"pw-yaml-7\"\n",
            "services[0].token",
            "pw-yaml-7",
        ),
    ];
    for (name, text, path, secret) in files {
        let f = sb.write(name, text);
        let o = sb.run(&["seal", name, "-r", &r]);
        assert_eq!(o.code, 0, "{name}: {}", o.stderr);
        assert_eq!(
            o.stderr,
            format!(
                "{name}: sealed 1 value to key id {} (0 already sealed)\n",
                key_id_of(&r)
            )
        );
        let sealed = fs::read_to_string(&f).unwrap();
        assert!(!sealed.contains(secret), "{name}: {sealed}");
        let opened = sb.run(&["open", name, "-i", "key.txt"]);
        assert_eq!(
            (opened.code, opened.stdout.as_str()),
            (0, *text),
            "{name}: {}",
            opened.stderr
        );
        assert_eq!(
            sb.run(&["get", name, path, "-i", "key.txt"]).stdout,
            *secret,
            "{name}"
        );
    }
    // --input-type overrides the name.
    sb.write("weird.conf", "API_TOKEN=x1\n");
    assert_eq!(
        sb.run(&["seal", "weird.conf", "--input-type", "env", "-r", &r])
            .code,
        0
    );
    assert_eq!(
        sb.run(&[
            "get",
            "weird.conf",
            "API_TOKEN",
            "--input-type",
            "env",
            "-i",
            "key.txt"
        ])
        .stdout,
        "x1"
    );
}

#[test]
fn a_dotenv_value_that_would_add_a_variable_is_refused() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let pk = r.parse().unwrap();
    let p: ValuePath = "API_TOKEN".parse().unwrap();
    let raw = "x\nLD_PRELOAD=/tmp/evil.so";
    let token = Sealer::new(&pk)
        .unwrap()
        .seal(
            raw.as_bytes(),
            &Place {
                format: Format::Env,
                document: 0,
                path: &p,
            },
        )
        .unwrap();
    sb.write(".env", &format!("API_TOKEN={token}\nPORT=1\n"));
    let o = sb.run(&["open", ".env", "-i", "key.txt"]);
    assert_fails(&o, 1, ".env", Some("API_TOKEN"));
    assert!(!o.stderr.contains("LD_PRELOAD"));
    // The same token in a JSON file is bound to another format: it does not open.
    sb.write("a.json", &format!("{{\"API_TOKEN\": \"{token}\"}}"));
    let o = sb.run(&["open", "a.json", "-i", "key.txt"]);
    assert_fails(&o, 1, "a.json", Some("API_TOKEN"));
    assert!(o.stderr.contains("altered, moved"), "{}", o.stderr);
}

#[test]
fn documents_of_a_multi_document_yaml_file_are_told_apart() {
    let sb = Sandbox::new();
    let r = sb.keygen("key.txt");
    let text =
        "kind: Secret\ndata:\n  token: first-0\n---\nkind: Secret\ndata:\n  token: second-1\n";
    let f = sb.write("k8s.yaml", text);
    assert_eq!(sb.run(&["seal", "k8s.yaml", "-r", &r]).code, 0);
    let get = |doc: &str| {
        sb.run(&[
            "get",
            "k8s.yaml",
            "data.token",
            "--document",
            doc,
            "-i",
            "key.txt",
        ])
    };
    assert_eq!(get("0").stdout, "first-0");
    assert_eq!(get("1").stdout, "second-1");
    assert_fails(&get("2"), 2, "k8s.yaml", Some("data.token"));
    // Swapping the two tokens between documents: bound to their document, they fail.
    let sealed = fs::read_to_string(&f).unwrap();
    let tokens: Vec<&str> = sealed
        .lines()
        .filter_map(|l| l.strip_prefix("  token: "))
        .collect();
    let swapped = sealed
        .replacen(tokens[0], "@@", 1)
        .replacen(tokens[1], tokens[0], 1)
        .replacen("@@", tokens[1], 1);
    sb.write("swapped.yaml", &swapped);
    assert_fails(
        &sb.run(&["open", "swapped.yaml", "-i", "key.txt"]),
        1,
        "swapped.yaml",
        Some("data.token"),
    );
    // set replaces a value in the second document; adding a key works in the first only.
    let o = sb.run_with(
        &["set", "k8s.yaml", "data.token", "--document", "1", "-r", &r],
        b"new-1",
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(get("1").stdout, "new-1");
    assert_eq!(get("0").stdout, "first-0");
    let o = sb.run_with(
        &[
            "set",
            "k8s.yaml",
            "data.other",
            "--create",
            "--document",
            "1",
            "-r",
            &r,
        ],
        b"x",
        &[],
    );
    assert_fails(&o, 2, "k8s.yaml", Some("data.other"));
    let opened = sb.run(&["open", "k8s.yaml", "-i", "key.txt"]).stdout;
    assert_eq!(opened, text.replace("second-1", "\"new-1\""));
}

#[test]
fn an_identity_can_come_from_a_command_run_without_a_shell() {
    let sb = Sandbox::new();
    sealed_example(&sb);
    fs::rename(sb.path("key.txt"), sb.path("my key.txt")).unwrap();
    let args = ["get", "app.toml", "api_key"];
    let with = |cmd: &str| sb.run_with(&args, b"", &[("CACHET_IDENTITY_COMMAND", cmd)]);
    let o = with("cat 'my key.txt'");
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "sk_live_51HxQ2eKz8mB4vR7tYpL9wN3c"),
        "{}",
        o.stderr
    );
    // No shell: a pipe is just an argument to cat, which then fails.
    let o = with("cat 'my key.txt' | tee x");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("cachet: CACHET_IDENTITY_COMMAND: cat failed (exit status: 1)"),
        "{}",
        o.stderr
    );
    assert!(!sb.path("x").exists());
    let o = with("no-such-command-here");
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .starts_with("cachet: CACHET_IDENTITY_COMMAND: cannot run no-such-command-here: ")
    );
    let o = with("echo AGE-SECRET-KEY-1secret-looking");
    assert_eq!(
        o.stderr,
        "cachet: CACHET_IDENTITY_COMMAND: output of echo: line 1 is not an age identity (AGE-SECRET-KEY-1…)\n"
    );
    let o = with("cat 'unclosed");
    assert_eq!(
        o.stderr,
        "cachet: CACHET_IDENTITY_COMMAND: a single quote is not closed\n"
    );
    // CACHET_IDENTITY_FILE comes before the command.
    let o = sb.run_with(
        &args,
        b"",
        &[
            ("CACHET_IDENTITY_FILE", "my key.txt"),
            ("CACHET_IDENTITY_COMMAND", "false"),
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn an_identity_file_readable_by_others_gets_a_warning() {
    let sb = Sandbox::new();
    sealed_example(&sb);
    let quiet = sb.run(&["get", "app.toml", "api_key", "-i", "key.txt"]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));
    fs::set_permissions(sb.path("key.txt"), fs::Permissions::from_mode(0o644)).unwrap();
    let o = sb.run(&["get", "app.toml", "api_key", "-i", "key.txt"]);
    assert_eq!(o.code, 0);
    assert_eq!(
        o.stderr,
        "cachet: warning: identity file key.txt is accessible by group or others (mode 0644); run chmod 600 on it\n"
    );
    // Another user's file (a Kubernetes secret mount is root's, group-readable on
    // purpose) is not the user's to fix: no warning. Giving a file away needs
    // root; elsewhere this half is not run.
    if std::os::unix::fs::chown(sb.path("key.txt"), Some(65534), None).is_ok() {
        let o = sb.run(&["get", "app.toml", "api_key", "-i", "key.txt"]);
        assert_eq!((o.code, o.stderr.as_str()), (0, ""));
    }
}

/// On a fresh machine `keygen -o ~/.config/cachet/identity.txt` makes the
/// missing directories 0700 and the file 0600; `keygen -y` prints its public key.
#[test]
fn keygen_makes_a_private_directory_and_shows_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let id = home.join(".config/cachet/identity.txt");
    let o = common::run_cachet(
        home,
        home,
        &["keygen", "-o", id.to_str().unwrap()],
        b"",
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let public = o.stdout.trim().to_string();
    assert!(public.starts_with("age1"), "{public}");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home.join(".config")), 0o700);
    assert_eq!(mode(&home.join(".config/cachet")), 0o700);
    assert_eq!(mode(&id), 0o600);
    let o = common::run_cachet(
        home,
        home,
        &["keygen", "-y", id.to_str().unwrap()],
        b"",
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, format!("{public}\n"));
    // Never over an existing key.
    let o = common::run_cachet(
        home,
        home,
        &["keygen", "-o", id.to_str().unwrap()],
        b"",
        &[],
    );
    assert_eq!(o.code, 2);
    assert_eq!(
        o.stderr,
        format!(
            "cachet: {}: already exists; keygen never overwrites a key (remove the file first if you mean it)\n",
            id.display()
        )
    );
}

/// `init` keeps cachet's lock and temporary files out of `git add -A`.
#[test]
fn init_adds_its_own_files_to_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join(".gitignore"), "target/").unwrap();
    let o = common::run_cachet(root, root, &["init"], b"", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "cachet: created .cachet.toml\ncachet: .gitignore: added *.cachet-lock *.cachet-tmp\n"
    );
    assert_eq!(
        fs::read_to_string(root.join(".gitignore")).unwrap(),
        "target/\n# cachet's lock and temporary files\n*.cachet-lock\n*.cachet-tmp\n"
    );
}

/// A mistyped path is an error, not a new key: `set` adds a key only with
/// --create, and fills a YAML `key:` left empty without it.
#[test]
fn set_adds_a_key_only_with_create() {
    let (dir, r) = dir_with_key();
    let root = dir.path();
    let text = "[database]\npassword = \"old\"\n";
    fs::write(root.join("app.toml"), text).unwrap();
    let o = common::run_cachet(
        root,
        root,
        &["set", "app.toml", "databse.password", "-r", &r],
        b"new",
        &[],
    );
    assert_eq!(o.code, 2);
    assert_eq!(
        o.stderr,
        "cachet: app.toml: databse.password: no such value in the file; check the path, or pass --create to add it\n"
    );
    assert_eq!(fs::read_to_string(root.join("app.toml")).unwrap(), text);
    let o = common::run_cachet(
        root,
        root,
        &["set", "app.toml", "databse.password", "--create", "-r", &r],
        b"new",
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read_to_string(root.join("app.toml"))
            .unwrap()
            .contains("[databse]")
    );
    fs::write(root.join("a.yaml"), "db:\n  password:\n").unwrap();
    let o = common::run_cachet(
        root,
        root,
        &["set", "a.yaml", "db.password", "-r", &r],
        b"x",
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read_to_string(root.join("a.yaml"))
            .unwrap()
            .starts_with("db:\n  password: cachet:v1:")
    );
}

/// Without an editor set and without a terminal, `edit` refuses before it opens
/// anything, instead of running vi onto stdout (a CI log).
#[test]
fn edit_without_an_editor_or_a_terminal_refuses() {
    let (dir, r) = dir_with_key();
    let root = dir.path();
    fs::write(root.join("app.toml"), "password = \"hunter2\"\n").unwrap();
    let o = common::run_cachet(root, root, &["seal", "app.toml", "-r", &r], b"", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let sealed = fs::read_to_string(root.join("app.toml")).unwrap();
    let none = [("CACHET_EDITOR", ""), ("VISUAL", ""), ("EDITOR", "")];
    let o = common::run_cachet(
        root,
        root,
        &["edit", "app.toml", "-r", &r, "-i", "k.txt"],
        b"",
        &none,
    );
    assert_eq!(o.code, 2);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "cachet: no editor is set (CACHET_EDITOR, VISUAL or EDITOR) and there is no terminal to run vi on; set one of them\n"
    );
    assert_eq!(fs::read_to_string(root.join("app.toml")).unwrap(), sealed);
}

/// `seal FILE --like SEALED -o SEALED` replaces SEALED once the result is
/// complete, keeping every unchanged value's token; an empty SEALED (what
/// `--stdout > SEALED` leaves) is refused rather than sealed anew.
#[test]
fn seal_like_writes_its_result_over_the_sealed_file() {
    let (dir, r) = dir_with_key();
    let root = dir.path();
    fs::write(
        root.join("app.toml"),
        "host = \"db\"\npassword = \"pw-1\"\napi_token = \"tok-1\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| common::run_cachet(root, root, args, b"", &[]);
    assert_eq!(run(&["seal", "app.toml", "-r", &r]).code, 0);
    let before = fs::read_to_string(root.join("app.toml")).unwrap();
    let copy = "host = \"db2\"\npassword = \"pw-1\"\napi_token = \"tok-2\"\n";
    fs::write(root.join("copy.toml"), copy).unwrap();
    let o = run(&[
        "seal",
        "copy.toml",
        "--like",
        "app.toml",
        "-o",
        "app.toml",
        "-r",
        &r,
        "-i",
        "k.txt",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(fs::read_to_string(root.join("copy.toml")).unwrap(), copy);
    let after = fs::read_to_string(root.join("app.toml")).unwrap();
    assert!(after.starts_with("host = \"db2\"\n"), "{after}");
    let line = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap()
            .to_string()
    };
    assert_eq!(line(&after, "password"), line(&before, "password"));
    assert_ne!(line(&after, "api_token"), line(&before, "api_token"));
    let o = run(&["open", "app.toml", "-i", "k.txt"]);
    assert_eq!(o.stdout, copy);
    fs::write(root.join("empty.toml"), "").unwrap();
    let o = run(&[
        "seal",
        "copy.toml",
        "--like",
        "empty.toml",
        "-o",
        "empty.toml",
        "-r",
        &r,
        "-i",
        "k.txt",
    ]);
    assert_eq!(o.code, 2);
    assert_eq!(
        o.stderr,
        "cachet: empty.toml: is empty, so there is nothing to keep tokens from; if a redirection emptied it, restore it (git checkout) and write with -o empty.toml instead\n"
    );
    assert_eq!(fs::read_to_string(root.join("empty.toml")).unwrap(), "");
}

/// `-i` given a public key by mistake says so, in one line, without a warning
/// about the file's mode (it holds nothing secret).
#[test]
fn an_identity_option_naming_a_public_key_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let o = common::run_cachet(root, root, &["keygen", "-o", "k.txt"], b"", &[]);
    fs::write(root.join("pub.txt"), &o.stdout).unwrap();
    fs::set_permissions(root.join("pub.txt"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(root.join("a.toml"), "a = 1\n").unwrap();
    let o = common::run_cachet(root, root, &["open", "a.toml", "-i", "pub.txt"], b"", &[]);
    assert_eq!(o.code, 2);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "cachet: identity file pub.txt: line 1 is a public key (age1… or ssh-…), not an identity: give the secret key it belongs to (AGE-SECRET-KEY-1…, or the SSH private key)\n"
    );
}

/// `cachet man --dir DIR` writes a page for every command the top page names,
/// and the top page says where identities and pins are and which variables
/// steer cachet.
#[test]
fn man_pages_exist_for_every_command_they_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let o = common::run_cachet(root, root, &["man", "--dir", "man"], b"", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let top = fs::read_to_string(root.join("man/cachet.1")).unwrap();
    for section in [
        ".SH ENVIRONMENT",
        ".SH FILES",
        "known_keys.toml",
        "CACHET_TRUST",
    ] {
        assert!(top.contains(section), "{section}");
    }
    // Every page another page refers to (`cachet-seal(1)`) was written.
    let (mut pages, mut references) = (0, 0);
    for entry in fs::read_dir(root.join("man")).unwrap() {
        // roff writes a hyphen as `\-`.
        let text = fs::read_to_string(entry.unwrap().path())
            .unwrap()
            .replace("\\-", "-");
        pages += 1;
        for (i, _) in text.match_indices("(1)") {
            let name: String = text[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if name.starts_with("cachet") {
                assert!(root.join(format!("man/{name}.1")).exists(), "{name}(1)");
                references += 1;
            }
        }
    }
    assert!(pages >= 25, "{pages} pages");
    assert!(references >= 20, "{references} references to other pages");
    let o = common::run_cachet(root, root, &["man"], b"", &[]);
    assert_eq!(o.stdout, top);
}

/// One person's file, no policy: `edit -i KEY` re-seals to the key the file's
/// values are sealed to, without `-r`.
#[test]
fn edit_without_a_policy_reseals_to_the_files_own_key() {
    let (dir, r) = dir_with_key();
    let root = dir.path();
    fs::write(
        root.join("app.toml"),
        "host = \"db\"\npassword = \"pw-1\"\n",
    )
    .unwrap();
    assert_eq!(
        common::run_cachet(root, root, &["seal", "app.toml", "-r", &r], b"", &[]).code,
        0
    );
    let editor = root.join("editor.sh");
    fs::write(&editor, "#!/bin/sh\nsed -i 's/pw-1/pw-2/' \"$1\"\n").unwrap();
    fs::set_permissions(&editor, fs::Permissions::from_mode(0o755)).unwrap();
    let env = [("CACHET_EDITOR", editor.to_str().unwrap())];
    let o = common::run_cachet(root, root, &["edit", "app.toml", "-i", "k.txt"], b"", &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(&key_id_of(&r)), "{}", o.stderr);
    let o = common::run_cachet(root, root, &["open", "app.toml", "-i", "k.txt"], b"", &[]);
    assert_eq!(o.stdout, "host = \"db\"\npassword = \"pw-2\"\n");
}

/// A scratch directory (also the home) holding an identity `k.txt`, and its
/// public key.
fn dir_with_key() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = common::run_cachet(dir.path(), dir.path(), &["keygen", "-o", "k.txt"], b"", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.stdout.trim().to_string();
    (dir, r)
}

/// `cachet attest` approves every file named or none: a file that cannot carry
/// an attestation leaves the others as they were; without a terminal it needs
/// `--yes`; a file named twice is attested once.
#[test]
fn attest_writes_every_file_or_none() {
    let (dir, recipient) = dir_with_key();
    let d = dir.path();
    let run = |args: &[&str]| common::run_cachet(d, d, args, b"", &[]);
    fs::write(d.join("a.toml"), "password = \"pw-a\"\n").unwrap();
    fs::write(d.join("b.yaml"), "--- |\nliteral text\n").unwrap();
    let o = run(&["seal", "-r", &recipient, "a.toml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let a = fs::read_to_string(d.join("a.toml")).unwrap();
    let o = run(&["attest", "-i", "k.txt", "a.toml"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (
            2,
            "a.toml: no attested version of it in git to compare with; review the whole file\ncachet: a.toml: attest asks before approving a file; pass --yes to approve without asking (no terminal here)\n"
        )
    );
    let o = run(&["attest", "--yes", "-i", "k.txt", "a.toml", "b.yaml"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.ends_with("cachet: b.yaml: cannot be attested: a comment line at its end would change a value (the file ends inside a block or a multi-line value); end the file with a line outside any value\n"),
        "{}",
        o.stderr
    );
    assert_eq!(fs::read_to_string(d.join("a.toml")).unwrap(), a);
    assert_eq!(
        fs::read_to_string(d.join("b.yaml")).unwrap(),
        "--- |\nliteral text\n"
    );
    let o = run(&["attest", "--yes", "-i", "k.txt", "a.toml", "./a.toml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let attested = fs::read_to_string(d.join("a.toml")).unwrap();
    assert_eq!(attested.matches("# cachet:attest:v1:").count(), 1);
    assert!(attested.starts_with(&a));
    let o = run(&["open", "-i", "k.txt", "--require-attested", "a.toml"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "password = \"pw-a\"\n"));
    // Without a key to attest with.
    let o = run(&["attest", "--yes", "a.toml"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.starts_with("cachet: no identity: pass -i FILE"),
        "{}",
        o.stderr
    );
}

/// Solo use: with no policy and no `-r`, `set` seals to the key of the one
/// identity at hand (or, in a file already sealed, the key its values carry when
/// that identity holds it); a file sealed to someone else's key still needs `-r`.
#[test]
fn set_without_a_recipient_seals_to_the_identity_at_hand() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let id = h.join(".config/cachet/identity.txt");
    let o = common::run_cachet(h, h, &["keygen", "-o", id.to_str().unwrap()], b"", &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mine = common::key_id_of(&o.stdout);
    fs::write(h.join("f.toml"), "a = 1\n").unwrap();
    let set = |args: &[&str], stdin: &[u8]| common::run_cachet(h, h, args, stdin, &[]);
    let o = set(&["set", "--create", "f.toml", "db.password"], b"pw-1\n");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .starts_with(&format!("f.toml: sealed db.password to key id {mine}\n")),
        "{}",
        o.stderr
    );
    let o = set(&["set", "f.toml", "db.password"], b"pw-2\n");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = set(&["get", "f.toml", "db.password"], b"");
    assert_eq!((o.code, o.stdout.as_str()), (0, "pw-2"));
    // Someone else's file: no key here, so no recipient to guess.
    let (other, other_recipient) = dir_with_key();
    fs::write(h.join("g.toml"), "b = 1\n").unwrap();
    let o = set(
        &["set", "--create", "g.toml", "x", "-r", &other_recipient],
        b"v\n",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = set(&["set", "g.toml", "x"], b"w\n");
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.starts_with("cachet: no recipient: pass -r age1…"),
        "{}",
        o.stderr
    );
    drop(other);
}

/// Completions complete subcommands, options and the environment names of the
/// policy of the directory the shell is in: bash, through the script `cachet
/// completions bash` prints, and the fish protocol directly.
#[test]
fn completions_offer_the_policys_environment_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = |seed: u8| SecretKey::from_bytes([seed; 32]).public_key();
    fs::write(
        d.join(".cachet.toml"),
        format!(
            "version = 1\n\n[environments.production]\npublic_key = \"{}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = []\n\n[environments.staging]\npublic_key = \"{}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = []\n",
            key(1),
            key(2)
        ),
    )
    .unwrap();
    let script = common::run_cachet(d, d, &["completions", "bash"], b"", &[]).stdout;
    fs::write(d.join("complete.bash"), &script).unwrap();
    let bin = Path::new(BIN).parent().unwrap().display().to_string();
    let complete = |words: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source complete.bash; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; _clap_complete_cachet cachet \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ))
            .current_dir(d)
            .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
            .env("HOME", d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        complete("cachet rotate ''").starts_with("production\nstaging\n--"),
        "the environments first, then the options"
    );
    assert_eq!(complete("cachet rotate p"), "production\n");
    assert_eq!(complete("cachet env key st"), "staging\n");
    assert!(complete("cachet se").lines().any(|l| l == "seal"));
    assert!(complete("cachet open --require").contains("--require-attested"));
    let fish = common::run_cachet(
        d,
        d,
        &["--", "cachet", "members", "list", "p"],
        b"",
        &[("COMPLETE", "fish")],
    );
    assert_eq!(fish.stdout, "production\n");
    // Outside a repository there is no environment to offer.
    let elsewhere = tempfile::tempdir().unwrap();
    let none = common::run_cachet(
        elsewhere.path(),
        d,
        &["--", "cachet", "rotate", ""],
        b"",
        &[("COMPLETE", "fish")],
    );
    assert_eq!(none.code, 0);
    assert!(!none.stdout.contains("production"), "{}", none.stdout);
}
