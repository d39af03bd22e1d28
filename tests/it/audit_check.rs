//! `cachet check` (the CI and pre-commit gate) and `cachet audit` end to end, in
//! real git repositories with environments, keyrings and keys made by the CLI:
//! every kind of finding with its exact line and exit status, `--strict`,
//! `--base` against a real commit with a real older token put back, a retired key
//! replayed after a real rotation, `--staged`, and `audit --json` validated
//! against `spec/audit.schema.json`. No output ever holds a secret value.

use std::fs;
use std::path::Path;

use crate::common;
use common::{Out, RepoDir, run_cachet};

/// Every plaintext secret the tests write: none may appear in any output.
const SECRETS: &[&str] = &[
    "prod-pw-1",
    "prod-pw-2",
    "staging-pw-2",
    "tok-secret-value-1",
    "staged-secret-1",
    "legacy-pw-9",
    "s3cretpw",
    "AKIAZ7VRSQ5TJN2XB4KD",
    "ghp_R2d2C3poLukeLeiaHanChewieX0123456789",
    "alien-pw",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
];

const GITHUB_TOKEN: &str = "ghp_R2d2C3poLukeLeiaHanChewieX0123456789";

/// The shared repository directory; this suite's commands on it follow.
type Repo = RepoDir;

impl Repo {
    fn write(&self, rel: &str, text: &str) {
        let p = self.root().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap()
    }

    fn remove(&self, rel: &str) {
        fs::remove_file(self.root().join(rel)).unwrap();
    }

    fn run_with(&self, who: &str, args: &[&str], stdin: &[u8]) -> Out {
        self.run_full(who, args, stdin, &[])
    }

    fn git(&self, args: &[&str]) -> String {
        common::git(&self.root(), &self.home("git"), &[], args)
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn audit_json(&self, who: &str) -> serde_json::Value {
        let o = self.ok(who, &["audit", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_schema(&v);
        v
    }
}

/// A git repository with environments production (files config/prod/**, rotated
/// every 30 days) and staging (config/staging/**), made by `ada`, with one sealed
/// file each, committed.
fn repository() -> Repo {
    let r = Repo::guarding(SECRETS);
    r.git(&["init", "-q"]);
    r.git(&["config", "user.name", "Test"]);
    r.git(&["config", "user.email", "test@example.invalid"]);
    r.git(&["config", "commit.gpgsign", "false"]);
    let id = r.home("ada").join(".config/cachet/identity.txt");
    fs::create_dir_all(id.parent().unwrap()).unwrap();
    r.ok("ada", &["keygen", "-o", id.to_str().unwrap()]);
    r.ok("ada", &["init"]);
    r.ok(
        "ada",
        &[
            "env",
            "add",
            "production",
            "--files",
            "config/prod/**",
            "--rotate-every",
            "30d",
        ],
    );
    r.ok(
        "ada",
        &["env", "add", "staging", "--files", "config/staging/**"],
    );
    r.write(
        "config/prod/app.toml",
        "[db]\nhost = \"db.internal\"\npassword = \"prod-pw-1\"\n",
    );
    r.write("config/staging/app.yaml", "db:\n  password: staging-pw-2\n");
    r.ok(
        "ada",
        &["seal", "config/prod/app.toml", "config/staging/app.yaml"],
    );
    r.write(".gitignore", "*.cachet-lock\n");
    r.commit("sealed configuration");
    r
}

/// The tokens of a text, in order.
fn tokens(text: &str) -> Vec<String> {
    text.match_indices("cachet:v1:")
        .map(|(i, _)| {
            text[i..]
                .split(|c: char| c == '"' || c.is_whitespace())
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn key_id(token: &str) -> String {
    token.split(':').nth(2).unwrap().to_string()
}

/// A token's sealed-at time as RFC 3339.
fn sealed_at(token: &str) -> String {
    let t = token.split(':').nth(3).unwrap();
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15]
    )
}

fn assert_schema(v: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/audit.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::meta::validate(&schema).expect("spec/audit.schema.json is a valid JSON Schema");
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
}

/// Asserts exit status 1, exactly `lines` after the environment lines, and the
/// summary on stderr.
fn assert_findings(o: &Out, env_lines: &str, lines: &[String], summary: &str) {
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let mut want = env_lines.to_string();
    for l in lines {
        want.push_str(l);
        want.push('\n');
    }
    assert_eq!(o.stdout, want);
    assert_eq!(o.stderr, format!("cachet: check found {summary}\n"));
}

const OK: &str = "production: ok\nstaging: ok\n";

#[test]
fn each_kind_of_finding_fails_check_with_its_own_line() {
    let r = repository();
    let o = r.ok("ada", &["check"]);
    assert_eq!(o.stdout, OK);
    assert_eq!(o.stderr, "");
    let prod_token = tokens(&r.read("config/prod/app.toml")).remove(0);
    let staging_token = tokens(&r.read("config/staging/app.yaml")).remove(0);
    let prod_id = key_id(&prod_token);
    let staging_id = key_id(&staging_token);

    // A plain value the policy seals, by its name.
    r.write(
        "config/prod/extra.toml",
        "host = \"x\"\napi_token = \"tok-secret-value-1\"\n",
    );
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &["config/prod/extra.toml: api_token: problem: plain text, but the policy seals it (its name says it is a secret): run `cachet seal config/prod/extra.toml`, and change the secret if this was ever pushed".into()],
        "1 problem",
    );
    // … and by its content, with what it also looks like.
    r.write(
        "config/prod/extra.toml",
        "[db]\nurl = \"postgres://app:s3cretpw@db/app\"\n",
    );
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &["config/prod/extra.toml: db.url: problem: plain text, but the policy seals it (it holds a URL with a password): run `cachet seal config/prod/extra.toml`, and change the secret if this was ever pushed".into()],
        "1 problem",
    );
    // Sealing it is the fix.
    r.ok("ada", &["seal", "config/prod/extra.toml"]);
    r.ok("ada", &["check"]);
    r.remove("config/prod/extra.toml");

    // A credential by content, under a name the policy does not seal, in a
    // covered file and in a file of no environment (.env, YAML, JSON with a PEM key).
    r.write(
        "config/prod/aws.env",
        "AWS_ACCESS_KEY_ID=AKIAZ7VRSQ5TJN2XB4KD\nAWS_REGION=eu-west-1\n",
    );
    r.write(
        "deploy/ci.yaml",
        &format!("ci:\n  github: {GITHUB_TOKEN}\n"),
    );
    r.write(
        "deploy/tls.json",
        "{\"cert\": \"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\", \"key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\nx4n7q9Vb0cK3YmJ8sQe2ZpL5tW1uR6oH\\n-----END PRIVATE KEY-----\\n\"}\n",
    );
    // Placeholders and ordinary settings are no finding.
    r.write(
        "deploy/compose.yaml",
        "db_url: postgres://app:${DB_PASSWORD}@db/app\nregion: eu-west-1\npassword_min_length: 12\n",
    );
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &[
            "config/prod/aws.env: AWS_ACCESS_KEY_ID: problem: plain text that looks like an AWS access key id: seal it (`cachet seal --path 'AWS_ACCESS_KEY_ID' config/prod/aws.env`) or move it out of the file, and revoke it if this was ever pushed".into(),
            "deploy/ci.yaml: ci.github: problem: plain text that looks like a GitHub token: seal it (`cachet seal --path 'ci.github' deploy/ci.yaml`) or move it out of the file, and revoke it if this was ever pushed".into(),
            "deploy/tls.json: key: problem: plain text that looks like a PEM private key: seal it (`cachet seal --path 'key' deploy/tls.json`) or move it out of the file, and revoke it if this was ever pushed".into(),
        ],
        "3 problems",
    );
    r.remove("config/prod/aws.env");
    r.remove("deploy/ci.yaml");
    r.remove("deploy/tls.json");
    r.ok("ada", &["check"]);

    // Another environment's value, a value sealed to a key no environment has, a
    // merge conflict, a malformed token, and a covered file that does not parse.
    r.write(
        "config/prod/foreign.toml",
        &format!("password = \"{staging_token}\"\n"),
    );
    let alien = r.dir.path().join("alien.key");
    let alien_pk = r
        .ok("ada", &["keygen", "-o", alien.to_str().unwrap()])
        .stdout;
    let outside = r.dir.path().join("alien.toml");
    fs::write(&outside, "password = \"alien-pw\"\n").unwrap();
    let alien_sealed = r
        .ok(
            "ada",
            &[
                "seal",
                "--stdout",
                "-r",
                alien_pk.trim(),
                outside.to_str().unwrap(),
            ],
        )
        .stdout;
    let alien_id = key_id(&tokens(&alien_sealed)[0]);
    r.write("config/prod/alien.toml", &alien_sealed);
    let other = tokens(&alien_sealed).remove(0);
    r.write(
        "config/prod/conflict.toml",
        &format!(
            "password = \"cachet:conflict:{}:{}\"\n",
            &prod_token["cachet:".len()..],
            &other["cachet:".len()..]
        ),
    );
    r.write(
        "config/prod/malformed.yaml",
        "a: 1\n---\ntoken: cachet:v1:not-a-token\n",
    );
    r.write("config/prod/broken.toml", "password = [\n");
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &[
            format!("config/prod/alien.toml: password: problem: sealed to key id {alien_id}, which no environment of the policy has: a value sealed elsewhere, or to a swapped key; seal it again"),
            "config/prod/broken.toml: problem: cannot be checked: line 1, column 13: invalid TOML: unclosed array, expected `]`".into(),
            "config/prod/conflict.toml: password: problem: an unresolved merge conflict; resolve it with `cachet edit config/prod/conflict.toml`".into(),
            format!("config/prod/foreign.toml: password: problem: sealed to key id {staging_id}, the key of environment staging, but the file belongs to environment production; a member of both re-seals the file for production with `cachet reseal FILE`"),
            "config/prod/malformed.yaml: 1:token: problem: malformed sealed value: expected cachet:v1:<key-id>:<sealed-at>:<payload>".into(),
        ],
        "5 problems",
    );
    assert_ne!(prod_id, staging_id);

    // Without an identity (a CI job that is no member) the keyrings are not
    // read, so an unknown key may be a retired one: the line says so.
    let o = r.run("ci", &["check", "config/prod/alien.toml"]);
    assert_findings(
        &o,
        "production: keyring not checked (no identity)\nstaging: keyring not checked (no identity)\n",
        &[format!(
            "config/prod/alien.toml: password: problem: sealed to key id {alien_id}, which is not the current key of environment production (a retired key, or one no environment has; a member of production can tell with `cachet check`)"
        )],
        "1 problem",
    );

    // PATH limits the files checked; the environments are always checked.
    r.remove("config/prod/broken.toml");
    let o = r.run("ada", &["check", "config/staging"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, OK), "{}", o.stderr);
    let o = r.run(
        "ada",
        &["check", "config/prod/foreign.toml", "config/staging"],
    );
    assert_eq!(o.code, 1);
    assert_eq!(o.stdout.lines().count(), 3, "{}", o.stdout);
}

#[test]
fn keyring_members_that_differ_from_the_policy_fail_check() {
    let r = repository();
    let mallory = r.dir.path().join("mallory.key");
    let pk = r
        .ok("ada", &["keygen", "-o", mallory.to_str().unwrap()])
        .stdout;
    let policy = r.read(".cachet.toml").replace(
        "[environments.production.members]\n",
        &format!(
            "[environments.production.members]\nmallory = \"{}\"\n",
            pk.trim()
        ),
    );
    r.write(".cachet.toml", &policy);
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        "production: problem: members in .cachet.toml but not in the keyring: \"mallory\"; find out why (a hand-added member may be someone granting themselves access), then repair with `cachet members sync production` or `--from-keyring`\nstaging: ok\n",
        &[],
        "1 problem",
    );
}

/// Moves an environment's `created` date in the policy.
fn set_created(r: &Repo, env: &str, date: &str) {
    let policy = r.read(".cachet.toml");
    let at = policy.find(&format!("[environments.{env}]")).unwrap();
    let c = at + policy[at..].find("created = \"").unwrap() + "created = \"".len();
    let moved = format!("{}{date}{}", &policy[..c], &policy[c + 20..]);
    r.write(".cachet.toml", &moved);
}

#[test]
fn a_key_past_its_rotation_period_warns_and_strict_makes_it_a_problem() {
    let r = repository();
    set_created(&r, "production", "2020-01-01T00:00:00Z");
    let prod_id = key_id(&tokens(&r.read("config/prod/app.toml"))[0]);
    let line = |severity: &str| {
        format!(
            "production: {severity}: its key (key id {prod_id}, created 2020-01-01) is past its rotation period of 30 days (due 2020-01-31); run `cachet rotate production`\n"
        )
    };
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, format!("{}staging: ok\n", line("warning")));
    assert_eq!(o.stderr, "cachet: check found 1 warning\n");
    let o = r.run("ada", &["check", "--strict"]);
    assert_findings(
        &o,
        &format!("{}staging: ok\n", line("problem")),
        &[],
        "1 problem",
    );
    // The policy's date cannot hide the keyring's: moving it forward changes nothing
    // for a member, who reads the keyring's date too.
    set_created(&r, "production", "2099-01-01T00:00:00Z");
    let o = r.ok("ada", &["check"]);
    assert_eq!(o.stdout, OK);
    // Audit tells the same.
    set_created(&r, "production", "2020-01-01T00:00:00Z");
    let v = r.audit_json("ada");
    assert_eq!(v["environments"][0]["name"], "production");
    assert_eq!(v["environments"][0]["overdue"], true);
    assert_eq!(v["environments"][0]["rotation_due"], "2020-01-31T00:00:00Z");
    assert_eq!(v["environments"][0]["rotate_every_days"], 30);
    assert_eq!(v["environments"][1]["overdue"], false);
    assert_eq!(v["environments"][1]["rotate_every_days"], 90);
    assert_eq!(v["summary"]["overdue_keys"], 1);
}

/// ada sets and commits a new production password; the password's token before
/// and after.
fn new_password_committed(r: &Repo) -> (String, String) {
    let t0 = tokens(&r.read("config/prod/app.toml")).remove(0);
    // A later value: its token is sealed at least a second later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    r.ok_stdin(
        "ada",
        &["set", "config/prod/app.toml", "db.password"],
        b"prod-pw-2",
    );
    r.commit("new database password");
    let t1 = tokens(&r.read("config/prod/app.toml")).remove(0);
    assert!(sealed_at(&t1) > sealed_at(&t0));
    (t0, t1)
}

#[test]
fn a_replayed_older_token_is_found_against_the_base_and_a_retired_key_always() {
    let r = repository();
    let (t0, t1) = new_password_committed(&r);

    // Put the old token back: a genuine token of the current key, so only the
    // comparison with the base revision shows it.
    let text = r.read("config/prod/app.toml");
    r.write("config/prod/app.toml", &text.replace(&t1, &t0));
    // ada's set attested the file: the swap breaks the attestation (a warning,
    // the environment does not require attestation), whatever the base.
    let changed = "config/prod/app.toml: warning: its attestation does not match its content: the file changed after it was approved, or the attestation was made with another key; a member of its environment reviews the file and runs `cachet attest` on it".to_string();
    let o = r.ok("ada", &["check"]);
    assert_eq!(o.stdout, format!("{OK}{changed}\n"));
    assert_eq!(o.stderr, "cachet: check found 1 warning\n");
    let rollback = format!(
        "config/prod/app.toml: db.password: problem: sealed at {}, earlier than at HEAD ({}): an older sealed value was put back (a rollback or a replay); set the value again if that was not meant, or accept it with `cachet reseal FILE`",
        sealed_at(&t0),
        sealed_at(&t1)
    );
    let o = r.run("ada", &["check", "--base", "HEAD"]);
    assert_findings(
        &o,
        OK,
        &[changed.clone(), rollback.clone()],
        "1 problem and 1 warning",
    );
    // Against the first commit the value is no older: nothing more to report.
    r.ok("ada", &["check", "--base", "HEAD~1"]);
    // Moving the rolled-back file does not hide it: it is compared with the file
    // it was at the base (and its attestation names the file it was made for).
    r.git(&["mv", "config/prod/app.toml", "config/prod/moved.toml"]);
    let o = r.run("ada", &["check", "--base", "HEAD"]);
    assert_findings(
        &o,
        OK,
        &[
            "config/prod/moved.toml: warning: its attestation was made for the file \"config/prod/app.toml\", not this one (a file copied over another); a member of its environment reviews the file and runs `cachet attest` on it".to_string(),
            rollback.replace("config/prod/app.toml", "config/prod/moved.toml"),
        ],
        "1 problem and 1 warning",
    );
    r.git(&["mv", "config/prod/moved.toml", "config/prod/app.toml"]);
    r.git(&["checkout", "HEAD", "--", "config/prod/app.toml"]);

    // A rotation re-seals every value to a new key keeping its sealed-at time,
    // which no comparison with the base takes for a rollback.
    r.ok("ada", &["rotate", "production"]);
    r.commit("rotate production");
    let t2 = tokens(&r.read("config/prod/app.toml")).remove(0);
    assert_eq!(sealed_at(&t2), sealed_at(&t1));
    assert_ne!(key_id(&t2), key_id(&t1));
    r.ok("ada", &["check", "--base", "HEAD~1"]);

    // The pre-rotation token, replayed: it opens (the keyring keeps the retired
    // key until `prune`), and check reports it whatever the base.
    let text = r.read("config/prod/app.toml");
    r.write("config/prod/app.toml", &text.replace(&t2, &t1));
    let got = run_cachet(
        &r.root(),
        &r.home("ada"),
        &["get", "config/prod/app.toml", "db.password"],
        b"",
        &[],
    );
    assert_eq!(
        (got.code, got.stdout.as_str()),
        (0, "prod-pw-2"),
        "{}",
        got.stderr
    );
    let retired = format!(
        "config/prod/app.toml: db.password: problem: sealed to key id {}, a retired key of environment production: a value a rotation has not re-sealed yet (`cachet rotate production` finishes it), or an old value put back",
        key_id(&t1)
    );
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &[changed.clone(), retired.clone()],
        "1 problem and 1 warning",
    );
    // The oldest token, replayed: retired and older than the base.
    r.write("config/prod/app.toml", &text.replace(&t2, &t0));
    let o = r.run("ada", &["check", "--base", "HEAD"]);
    let rollback = format!(
        "config/prod/app.toml: db.password: problem: sealed at {}, earlier than at HEAD ({}): an older sealed value was put back (a rollback or a replay); set the value again if that was not meant, or accept it with `cachet reseal FILE`",
        sealed_at(&t0),
        sealed_at(&t2)
    );
    assert_findings(
        &o,
        OK,
        &[changed, retired.clone(), rollback],
        "2 problems and 1 warning",
    );

    // Audit lists the retired key still in use.
    let v = r.audit_json("ada");
    let prod = &v["environments"][0];
    assert_eq!(prod["key_id"], key_id(&t2));
    assert_eq!(prod["retired_keys"][0]["key_id"], key_id(&t1));
    assert_eq!(prod["retired_keys"][0]["values_in_use"], 1);
    assert!(prod["last_rotated"].is_string());
    assert_eq!(v["summary"]["retired_keys_in_use"], 1);
    let app = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "config/prod/app.toml")
        .unwrap();
    assert_eq!(app["stale_values"], 1);
    assert_eq!(app["sealed_values"][0]["key_status"], "retired");
    assert_eq!(app["sealed_values"][0]["key_id"], key_id(&t0));
    assert_eq!(app["sealed_values"][0]["sealed_at"], sealed_at(&t0));
}

impl Repo {
    fn ok_stdin(&self, who: &str, args: &[&str], stdin: &[u8]) -> Out {
        let o = self.run_with(who, args, stdin);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o
    }
}

#[test]
fn staged_checks_what_will_be_committed_not_the_working_tree() {
    let r = repository();
    r.write("config/prod/new.toml", "api_token = \"staged-secret-1\"\n");
    r.git(&["add", "config/prod/new.toml"]);
    // The working copy is sealed afterwards, but the plain text is what is staged.
    r.ok("ada", &["seal", "config/prod/new.toml"]);
    r.ok("ada", &["check"]);
    let o = r.run("ada", &["check", "--staged"]);
    assert_findings(
        &o,
        OK,
        &["config/prod/new.toml: api_token: problem: plain text, but the policy seals it (its name says it is a secret): run `cachet seal config/prod/new.toml`, and change the secret if this was ever pushed".into()],
        "1 problem",
    );
    // Staging the sealed file fixes the commit; a plain file not staged is not
    // looked at, nor are files staged before (only the changes are).
    r.git(&["add", "config/prod/new.toml"]);
    r.write(
        "config/prod/later.toml",
        "api_token = \"staged-secret-1\"\n",
    );
    let o = r.ok("ada", &["check", "--staged"]);
    assert_eq!(o.stdout, OK);
    assert_eq!(r.run("ada", &["check"]).code, 1);
    // --staged and a PATH: only staged files under it.
    r.git(&["add", "config/prod/later.toml"]);
    r.ok("ada", &["check", "--staged", "config/staging"]);
    assert_eq!(r.run("ada", &["check", "--staged", "config/prod"]).code, 1);
}

#[test]
fn no_file_hides_from_check_by_its_name_or_place() {
    let r = repository();
    let line = |file: &str| {
        format!(
            "{file}: api_token: problem: plain text, but the policy seals it (its name says it is a secret): run `cachet seal {file}`, and change the secret if this was ever pushed"
        )
    };
    // A file .gitignore matches but `git add -f` committed.
    r.write(".gitignore", "*.cachet-lock\nlocal.toml\n");
    r.write(
        "config/prod/local.toml",
        "api_token = \"staged-secret-1\"\n",
    );
    r.git(&["add", "-f", "config/prod/local.toml", ".gitignore"]);
    r.commit("force-added");
    let o = r.run("ada", &["check"]);
    assert_findings(&o, OK, &[line("config/prod/local.toml")], "1 problem");
    r.remove("config/prod/local.toml");
    r.commit("gone");
    // A `.cachet` directory below the root is configuration like any other.
    r.write(
        "config/prod/.cachet/app.toml",
        "api_token = \"staged-secret-1\"\n",
    );
    let o = r.run("ada", &["check"]);
    assert_findings(&o, OK, &[line("config/prod/.cachet/app.toml")], "1 problem");
    r.remove("config/prod/.cachet/app.toml");
    // A file named like a lock file (and ignored like one) is one only when
    // empty: a committed one with content is checked.
    r.write(
        "config/prod/.env.cachet-lock",
        "API_TOKEN=staged-secret-1\n",
    );
    r.git(&["add", "-f", "config/prod/.env.cachet-lock"]);
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout
            .contains("config/prod/.env.cachet-lock: API_TOKEN: problem"),
        "{}",
        o.stdout
    );
    r.git(&["rm", "-q", "--cached", "config/prod/.env.cachet-lock"]);
    r.remove("config/prod/.env.cachet-lock");
    r.ok("ada", &["check"]);
    // A covered path that is a symlink to a file of no environment: the link is
    // never followed, and is itself a problem.
    r.write("shared/app.toml", "api_token = \"staged-secret-1\"\n");
    std::os::unix::fs::symlink(
        "../../shared/app.toml",
        r.root().join("config/prod/link.toml"),
    )
    .unwrap();
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &[
            "config/prod/link.toml: problem: a symbolic link, which cachet does not follow in a tree: what it points to is not checked as this environment's file; commit the file itself".into(),
            // The target, a file of no environment, by the name of its value.
            "shared/app.toml: api_token: problem: plain text, and its name says it is a secret, but no environment of .cachet.toml covers this file: add it to an environment's files and run `cachet seal shared/app.toml`, or move the secret out; change it if this was ever pushed".into(),
        ],
        "2 problems",
    );
}

/// The gate catches the common accidents outside every environment: a `.env`
/// at the root with a password, an identity file, an SSH private key, a
/// connection string; placeholders and unparseable templates stay quiet.
#[test]
fn check_catches_secrets_and_keys_outside_every_environment() {
    let r = repository();
    let age_key = fs::read_to_string(r.home("ada").join(".config/cachet/identity.txt")).unwrap();
    r.write(
        ".env",
        "DB_PASSWORD=hunter2-root\nAPI_KEY=changeme\nPORT=8080\n",
    );
    r.write("production.key", &age_key);
    r.write(
        "deploy/settings.json",
        "{\"ConnectionStrings\": {\"Main\": \"Server=db;Database=app;Password=s3cret-9;\"}}\n",
    );
    r.write("docs/template.env", "DB_PASSWORD=${DB_PASSWORD}\nX=${Y}\n");
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &[
            ".env: DB_PASSWORD: problem: plain text, and its name says it is a secret, but no environment of .cachet.toml covers this file: add it to an environment's files and run `cachet seal .env`, or move the secret out; change it if this was ever pushed".into(),
            "deploy/settings.json: ConnectionStrings.Main: problem: plain text that looks like a connection string with a password: seal it (`cachet seal --path 'ConnectionStrings.Main' deploy/settings.json`) or move it out of the file, and revoke it if this was ever pushed".into(),
            "production.key: problem: holds an age secret key, which does not belong in a repository: remove the file (and make a new key if this was ever pushed)".into(),
        ],
        "3 problems",
    );
    for s in ["hunter2-root", "s3cret-9", "AGE-SECRET-KEY"] {
        assert!(!o.stdout.contains(s) && !o.stderr.contains(s), "{s}");
    }
}

#[test]
fn usage_and_input_problems_exit_2() {
    let r = repository();
    let o = r.run("ada", &["check", "--base", "no-such-branch"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "cachet: --base no-such-branch: not a commit of this git repository\n"
    );
    let o = r.run("ada", &["check", "missing/dir"]);
    assert_eq!(o.code, 2);
    assert_eq!(o.stderr, "cachet: missing/dir: no such file or directory\n");
    let o = r.run("ada", &["check", "--base", "--staged"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    // Outside a git repository, --staged and --base cannot work.
    fs::remove_dir_all(r.root().join(".git")).unwrap();
    let o = r.run("ada", &["check", "--staged"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.starts_with("cachet: git diff --cached"),
        "{}",
        o.stderr
    );
    assert_eq!(r.run("ada", &["check", "--base", "HEAD"]).code, 2);
    // The working tree is still checked without git.
    r.ok("ada", &["check"]);
}

/// A repository holding every kind of thing audit reports: an overdue key, a
/// retired key still in use, a plain secret, a credential in a file of no
/// environment, a foreign value and a multi-document file.
fn busy_repository() -> Repo {
    let r = repository();
    r.write(
        "config/prod/legacy.toml",
        "legacy_password = \"legacy-pw-9\"\n",
    );
    r.ok("ada", &["seal", "config/prod/legacy.toml"]);
    let legacy = r.read("config/prod/legacy.toml");
    r.ok("ada", &["rotate", "production"]);
    // The pre-rotation file, put back: one value on the retired key.
    r.write("config/prod/legacy.toml", &legacy);
    r.write(
        "config/prod/more.toml",
        "host = \"h\"\napi_token = \"tok-secret-value-1\"\n",
    );
    r.write(
        "config/staging/multi.yaml",
        "a: 1\n---\nsecret: staging-pw-2\n",
    );
    r.ok("ada", &["seal", "config/staging/multi.yaml"]);
    r.write(
        "deploy/ci.yaml",
        &format!("ci:\n  github: {GITHUB_TOKEN}\n"),
    );
    r.write("Cargo.toml", "[package]\nname = \"x\"\n");
    set_created(&r, "staging", "2020-01-01T00:00:00Z");
    r
}

#[test]
fn audit_json_follows_its_schema_and_tells_each_fact() {
    let r = busy_repository();
    let prod_id = key_id(&tokens(&r.read("config/prod/app.toml"))[0]);
    let retired_id = key_id(&tokens(&r.read("config/prod/legacy.toml"))[0]);
    let staging_id = key_id(&tokens(&r.read("config/staging/app.yaml"))[0]);
    let v = r.audit_json("ada");
    assert_eq!(v["schema"], 1);

    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    let (prod, staging) = (&envs[0], &envs[1]);
    assert_eq!(prod["name"], "production");
    assert_eq!(prod["key_id"], prod_id);
    assert_eq!(prod["overdue"], false);
    assert_eq!(prod["age_days"], 0);
    assert_eq!(prod["members"][0]["name"], "Test");
    assert_eq!(prod["keyring"]["status"], "read");
    assert_eq!(prod["keyring"]["key_agrees"], true);
    assert_eq!(prod["keyring"]["members_agree"], true);
    assert_eq!(prod["retired_keys"].as_array().unwrap().len(), 1);
    assert_eq!(prod["retired_keys"][0]["key_id"], retired_id);
    assert_eq!(prod["retired_keys"][0]["values_in_use"], 1);
    assert_eq!(prod["files"], 3);
    assert_eq!(prod["sealed_values"], 2);
    assert_eq!(staging["name"], "staging");
    assert_eq!(staging["key_id"], staging_id);
    assert_eq!(staging["overdue"], true);
    assert_eq!(staging["key_created"], "2020-01-01T00:00:00Z");
    assert_eq!(staging["last_rotated"], serde_json::Value::Null);
    assert!(staging["age_days"].as_u64().unwrap() > 2000);
    assert_eq!(staging["retired_keys"].as_array().unwrap().len(), 0);

    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    // Cargo.toml holds nothing of cachet's and is no environment's: not listed.
    assert_eq!(
        files,
        [
            "config/prod/app.toml",
            "config/prod/legacy.toml",
            "config/prod/more.toml",
            "config/staging/app.yaml",
            "config/staging/multi.yaml",
            "deploy/ci.yaml"
        ]
    );
    let file = |p: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap()
            .clone()
    };
    let legacy = file("config/prod/legacy.toml");
    assert_eq!(legacy["stale_values"], 1);
    assert_eq!(legacy["keys"][0]["key_id"], retired_id);
    assert_eq!(legacy["keys"][0]["status"], "retired");
    assert_eq!(legacy["keys"][0]["key_environment"], "production");
    assert_eq!(legacy["keys"][0]["values"], 1);
    let app = file("config/prod/app.toml");
    assert_eq!(app["sealed_values"][0]["path"], "db.password");
    assert_eq!(app["sealed_values"][0]["key_status"], "current");
    assert_eq!(app["last_set"], app["sealed_values"][0]["sealed_at"]);
    let more = file("config/prod/more.toml");
    assert_eq!(more["sealed_values"].as_array().unwrap().len(), 0);
    assert_eq!(more["plaintext_secrets"][0]["path"], "api_token");
    assert_eq!(more["plaintext_secrets"][0]["reason"], "name");
    assert_eq!(
        more["plaintext_secrets"][0]["credential"],
        serde_json::Value::Null
    );
    assert_eq!(more["last_set"], serde_json::Value::Null);
    let multi = file("config/staging/multi.yaml");
    assert_eq!(multi["sealed_values"][0]["document"], 1);
    assert_eq!(multi["sealed_values"][0]["path"], "secret");
    let ci = file("deploy/ci.yaml");
    assert_eq!(ci["environment"], serde_json::Value::Null);
    assert_eq!(ci["format"], "yaml");
    assert_eq!(ci["plaintext_secrets"][0]["path"], "ci.github");
    assert_eq!(
        ci["plaintext_secrets"][0]["reason"],
        serde_json::Value::Null
    );
    assert_eq!(ci["plaintext_secrets"][0]["credential"], "github-token");
    assert_eq!(v["unmatched_files"], serde_json::json!(["deploy/ci.yaml"]));

    let s = &v["summary"];
    assert_eq!(s["environments"], 2);
    assert_eq!(s["files"], 6);
    assert_eq!(s["sealed_values"], 4);
    assert_eq!(s["stale_values"], 1);
    assert_eq!(s["foreign_values"], 0);
    assert_eq!(s["plaintext_secrets"], 2);
    assert_eq!(s["overdue_keys"], 1);
    assert_eq!(s["retired_keys_in_use"], 1);
    assert_eq!(s["unmatched_files"], 1);

    // Without an identity the keyrings are not read: the retired key is unknown,
    // and the report still follows the schema.
    let v = r.audit_json("ci");
    assert_eq!(v["environments"][0]["keyring"]["status"], "not-checked");
    assert_eq!(v["environments"][0]["keyring"]["detail"], "no identity");
    assert_eq!(
        v["environments"][0]["keyring"]["key_agrees"],
        serde_json::Value::Null
    );
    assert_eq!(v["environments"][0]["retired_keys"], serde_json::json!([]));
    let legacy = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "config/prod/legacy.toml")
        .unwrap();
    assert_eq!(legacy["sealed_values"][0]["key_status"], "unknown");
    assert_eq!(
        legacy["sealed_values"][0]["key_environment"],
        serde_json::Value::Null
    );

    // The schema is strict: a field it does not define is refused.
    let mut extra = v.clone();
    extra["surprise"] = serde_json::json!(1);
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/audit.schema.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::is_valid(&schema, &extra));
}

#[test]
fn audit_prints_aligned_tables_for_a_terminal() {
    let r = busy_repository();
    let o = r.ok("ada", &["audit"]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ENVIRONMENT  KEY ID            CREATED     ROTATED     AGE"),
        "{}",
        o.stdout
    );
    let staging = lines.iter().find(|l| l.starts_with("staging ")).unwrap();
    assert!(staging.contains("OVERDUE"), "{staging}");
    assert!(staging.contains("2020-01-01"), "{staging}");
    // Every column starts where its header does.
    let col = lines[0].find("KEY ID").unwrap();
    assert_eq!(
        &staging[col..col + 16],
        key_id(&tokens(&r.read("config/staging/app.yaml"))[0])
    );
    for want in [
        "RETIRED KEY ID",
        "config/prod/legacy.toml    production",
        "SEALED AT (LAST SET)",
        "config/staging/multi.yaml  1:secret",
        "config/prod/more.toml  api_token",
        "looks like a GitHub token",
        "Files of no environment:\n  deploy/ci.yaml\n",
        "2 environments (1 past rotation), 6 files, 4 sealed values (1 to a retired or unknown key, 0 to another environment's key), 2 plain secrets, 1 retired key still in use, 1 file of no environment\n",
    ] {
        assert!(o.stdout.contains(want), "{want:?} in\n{}", o.stdout);
    }
    assert_eq!(o.stderr, "");
}

#[test]
fn the_pre_commit_hook_definition_runs_check_on_the_staged_content() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"))
            .unwrap();
    let hooks: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let hook = &hooks[0];
    assert_eq!(hook["id"], "cachet-check");
    assert_eq!(hook["entry"], "cachet check --staged");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["pass_filenames"], false);
    // The variant that uses an installed binary runs the same command.
    let system = &hooks[1];
    assert_eq!(system["id"], "cachet-check-system");
    assert_eq!(system["entry"], hook["entry"]);
    assert_eq!(system["language"], "system");
    assert_eq!(system["pass_filenames"], false);
}

/// A `files` glob that matches no file (a typo) is a warning, a problem with
/// --strict; checking only some paths or the index cannot tell, and does not say.
#[test]
fn a_files_glob_that_matches_nothing_is_reported() {
    let r = repository();
    r.ok("ada", &["env", "add", "qa", "--files", "config/qa-typo/**"]);
    let line = "qa: warning: its files glob \"config/qa-typo/**\" matches no file, so it covers nothing: check it for a typo or a renamed directory in .cachet.toml";
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.ends_with(&format!("{line}\n")), "{}", o.stdout);
    assert_eq!(o.stderr, "cachet: check found 1 warning\n");
    let o = r.run("ada", &["check", "--strict"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains(&line.replace("qa: warning:", "qa: problem:")),
        "{}",
        o.stdout
    );
    let o = r.run("ada", &["check", "config/prod"]);
    assert!(!o.stdout.contains("matches no file"), "{}", o.stdout);
}

/// `check --format sarif` gives the same findings as a SARIF 2.1.0 log, with the
/// same exit status, naming files and paths, never a value.
#[test]
fn check_writes_sarif_for_code_scanning() {
    let r = repository();
    r.write(".env", "DB_PASSWORD=hunter2-root\n");
    r.ok("ada", &["env", "add", "qa", "--files", "config/qa-typo/**"]);
    let text = r.run("ada", &["check"]);
    let o = r.run("ada", &["check", "--format", "sarif"]);
    assert_eq!(o.code, text.code);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, text.stderr);
    assert!(!o.stdout.contains("hunter2-root"));
    let log: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "cachet");
    let results = run["results"].as_array().unwrap();
    let finding_lines = text
        .stdout
        .lines()
        .filter(|l| l.contains(": problem: ") || l.contains(": warning: "))
        .count();
    assert_eq!(results.len(), finding_lines, "{}", text.stdout);
    let uncovered = results.iter().find(|r| r["ruleId"] == "uncovered").unwrap();
    assert_eq!(uncovered["level"], "error");
    let loc = &uncovered["locations"][0];
    assert_eq!(loc["physicalLocation"]["artifactLocation"]["uri"], ".env");
    assert_eq!(
        loc["logicalLocations"][0]["fullyQualifiedName"],
        "DB_PASSWORD"
    );
    let glob = results
        .iter()
        .find(|r| r["ruleId"] == "glob-matches-nothing")
        .unwrap();
    assert_eq!(glob["level"], "warning");
    assert_eq!(
        glob["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".cachet.toml"
    );
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().unwrap()));
    }
}

/// spec/attest.md 7: the policy records each environment's attestation key;
/// `check` reports a proposed file of an environment that requires attestation,
/// an attestation that no longer holds, one older than at the base, and a
/// policy whose attestation key is not the keyring's; `audit` shows who
/// attested each file and when.
#[test]
fn check_and_audit_read_attestations() {
    let r = repository();
    let policy = r.read(".cachet.toml");
    assert_eq!(
        policy.matches("attest_key = \"ed25519:").count(),
        2,
        "{policy}"
    );
    // ada's seal attested both files.
    let v = r.audit_json("ada");
    for f in v["files"].as_array().unwrap() {
        assert_eq!(f["attestation"]["status"], "verified", "{f}");
        assert_eq!(f["attestation"]["approver"], "Test", "{f}");
        assert!(f["attestation"]["attested_at"].is_string());
    }
    let audit = r.ok("ada", &["audit"]).stdout;
    assert!(audit.contains("ATTESTED"), "{audit}");
    assert!(audit.contains(" Test 20"), "{audit}");

    // Production requires attestation; a write without the key leaves the file
    // proposed, which check reports as a problem.
    r.write(
        ".cachet.toml",
        &policy.replacen(
            "rotate_every = \"30d\"",
            "rotate_every = \"30d\"\nrequire_attestation = true",
            1,
        ),
    );
    r.commit("require attestation in production");
    let app = r.read("config/prod/app.toml");
    let body = app.split("# cachet:attest:").next().unwrap().to_string();
    r.write("config/prod/app.toml", &body);
    let o = r.run("ada", &["check"]);
    assert_findings(
        &o,
        OK,
        &["config/prod/app.toml: problem: not attested (proposed), and its environment requires attestation: a member reviews it and runs `cachet attest` on it".to_string()],
        "1 problem",
    );
    let v = r.audit_json("ada");
    assert_eq!(v["files"][0]["attestation"]["status"], "proposed");
    // Staging does not require it: an unattested file there is no finding.
    let staging = r.read("config/staging/app.yaml");
    r.write(
        "config/staging/app.yaml",
        staging.split("# cachet:attest:").next().unwrap(),
    );
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stdout.lines().count(), 3, "{}", o.stdout);
    r.write("config/staging/app.yaml", &staging);

    // An older attested version put back: the base shows it went back.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    r.ok("ada", &["attest", "--yes", "config/prod/app.toml"]);
    r.ok("ada", &["check"]);
    r.commit("attested again");
    r.write("config/prod/app.toml", &app);
    r.ok("ada", &["check"]);
    let o = r.run("ada", &["check", "--base", "HEAD"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout
            .contains("config/prod/app.toml: problem: attested at ")
            && o.stdout.contains(", earlier than at HEAD ("),
        "{}",
        o.stdout
    );
    r.git(&["checkout", "HEAD", "--", "config/prod/app.toml"]);

    // A writer replaces production's attestation key with one of theirs: a
    // member's check says the policy and keyring disagree, and sync repairs it.
    let real = r.read(".cachet.toml");
    let theirs =
        cachet::document::attestation::AttestPublicKey::of(&cachet::SecretKey::from_bytes([9; 32]));
    let start = real.find("attest_key = \"").unwrap() + "attest_key = \"".len();
    let end = start + real[start..].find('"').unwrap();
    r.write(
        ".cachet.toml",
        &format!("{}{theirs}{}", &real[..start], &real[end..]),
    );
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains("the attest_key in .cachet.toml is not the one its key gives"),
        "{}",
        o.stdout
    );
    // With it, the file's attestation no longer verifies for a reader of the
    // policy either.
    assert!(
        o.stdout
            .contains("config/prod/app.toml: problem: its attestation does not match its content"),
        "{}",
        o.stdout
    );
    r.ok("ada", &["members", "sync", "production"]);
    assert_eq!(r.read(".cachet.toml"), real);
    r.ok("ada", &["check"]);
}

/// A deliberate revert of a secret (an older token put back) is accepted with
/// `cachet reseal`: the value is sealed anew, stamped now, so `check --base`
/// passes and the value is the one put back.
#[test]
fn a_deliberate_revert_is_accepted_by_resealing() {
    let r = repository();
    let (t0, t1) = new_password_committed(&r);
    let text = r.read("config/prod/app.toml");
    r.write("config/prod/app.toml", &text.replace(&t1, &t0));
    assert_eq!(r.run("ada", &["check", "--base", "HEAD"]).code, 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = r.ok("ada", &["reseal", "config/prod/app.toml"]);
    assert!(
        o.stderr.starts_with(
            "config/prod/app.toml: sealed 1 value anew for environment production (key id "
        ),
        "{}",
        o.stderr
    );
    let t2 = tokens(&r.read("config/prod/app.toml")).remove(0);
    assert!(sealed_at(&t2) > sealed_at(&t1));
    let o = r.ok("ada", &["check", "--base", "HEAD"]);
    assert_eq!(o.stdout, OK);
    let got = run_cachet(
        &r.root(),
        &r.home("ada"),
        &["get", "config/prod/app.toml", "db.password"],
        b"",
        &[],
    );
    assert_eq!((got.code, got.stdout.as_str()), (0, "prod-pw-1"));
}

/// `members remove` without `--rotate` records that a rotation is owed: check
/// reports it (and the values sealed before the removal) and audit shows it,
/// until `rotate` makes a key the removed member never held.
#[test]
fn a_removal_without_rotation_is_owed_until_rotate() {
    let r = repository();
    let bob = r.home("bob").join(".config/cachet/identity.txt");
    fs::create_dir_all(bob.parent().unwrap()).unwrap();
    let bob_key = r.ok("bob", &["keygen", "-o", bob.to_str().unwrap()]).stdout;
    r.ok(
        "ada",
        &[
            "members",
            "add",
            "production",
            &format!("bob={}", bob_key.trim()),
        ],
    );
    r.ok("ada", &["check"]);
    let o = r.ok("ada", &["members", "remove", "production", "bob"]);
    assert!(
        o.stderr
            .contains("`cachet check` reports the rotation owed until then"),
        "{}",
        o.stderr
    );
    let policy = r.read(".cachet.toml");
    assert!(
        policy.contains("rotation_owed = { since = \"") && policy.contains("removed = [\"bob\"] }"),
        "{policy}"
    );
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 1);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        lines[0].starts_with("production: problem: a rotation is owed: \"bob\" removed since "),
        "{}",
        o.stdout
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("config/prod/app.toml: db.password: warning: sealed at ")
            && l.contains("before \"bob\" was removed without a rotation: they could open it")),
        "{}",
        o.stdout
    );
    // The staging value was never readable by bob.
    assert!(!o.stdout.contains("config/staging/"), "{}", o.stdout);
    let v = r.audit_json("ada");
    assert_eq!(v["environments"][0]["rotation_owed"]["removed"][0], "bob");
    assert!(v["environments"][0]["rotation_owed"]["since"].is_string());
    assert!(v["environments"][1]["rotation_owed"].is_null());
    assert!(r.ok("ada", &["audit"]).stdout.contains("OWED"));
    // A rotation makes a new key and clears it.
    r.ok("ada", &["rotate", "production"]);
    assert!(!r.read(".cachet.toml").contains("rotation_owed"));
    let o = r.ok("ada", &["check"]);
    assert_eq!(o.stdout, OK);
    // Audit still tells when production was rotated once prune dropped the
    // retired key that told it.
    let rotated = r.audit_json("ada")["environments"][0]["last_rotated"].clone();
    assert!(rotated.is_string(), "{rotated}");
    r.ok("ada", &["prune", "production"]);
    let v = r.audit_json("ada");
    assert!(
        v["environments"][0]["retired_keys"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(v["environments"][0]["last_rotated"], rotated);
    assert!(v["environments"][1]["last_rotated"].is_null());
}

/// A member's check opens every value it holds the key for, in memory: a token
/// altered by hand is a problem there, not first at the deploy. Without a key
/// the same check cannot tell.
#[test]
fn a_members_check_opens_every_value() {
    let r = repository();
    let t = tokens(&r.read("config/prod/app.toml")).remove(0);
    // One payload character changed: the token still parses.
    let at = t.len() - 5;
    let c = if &t[at..at + 1] == "A" { "B" } else { "A" };
    let altered = format!("{}{c}{}", &t[..at], &t[at + 1..]);
    let text = r.read("config/prod/app.toml");
    r.write("config/prod/app.toml", &text.replace(&t, &altered));
    let o = r.run("ada", &["check"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout.contains("config/prod/app.toml: db.password: problem: cannot open: the sealed value was altered, moved from another place, or sealed to another key; set it again (`cachet set FILE PATH`), or take it back from git if it was changed by mistake\n"),
        "{}",
        o.stdout
    );
    let sarif = r.run("ada", &["check", "--format", "sarif"]);
    assert!(sarif.stdout.contains("\"unopenable\""), "{}", sarif.stdout);
    // A sealer with no identity sees only the changed attestation (a warning).
    let o = r.run("nobody", &["check"]);
    assert!(!o.stdout.contains("cannot open"), "{}", o.stdout);
}
