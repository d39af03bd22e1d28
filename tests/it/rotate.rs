//! Key rotation end to end: a repository of three environments and forty files,
//! one environment rotated (whole, dry-run, killed half-way with SIGKILL and
//! finished), retired keys pruned, and a member removed with `--rotate`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common;
use cachet::document::attestation;
use cachet::{Format, KeyId};
use common::{Out, RepoDir, isolate, run_cachet};

const ENVS: [&str; 3] = ["production", "staging", "dev"];

/// The shared repository directory; this suite's commands on it follow.
type Repo = RepoDir;

impl Repo {
    fn run_env(&self, who: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
        self.run_full(who, args, b"", env)
    }

    fn keygen(&self, who: &str) -> String {
        let id = self.home(who).join(".config/cachet/identity.txt");
        fs::create_dir_all(id.parent().unwrap()).unwrap();
        self.ok(who, &["keygen", "-o", id.to_str().unwrap()])
            .stdout
            .trim()
            .to_string()
    }

    /// Every file of the tree (the policy, keyrings and config files), by path.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else if !p.to_string_lossy().ends_with("cachet-lock") {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    out.insert(rel, fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root(), &self.root(), &mut out);
        out
    }

    /// The key ids of the tokens in a file.
    fn key_ids(&self, rel: &str) -> Vec<String> {
        let text = fs::read_to_string(self.root().join(rel)).unwrap();
        text.match_indices("cachet:v1:")
            .map(|(i, m)| text[i + m.len()..i + m.len() + 16].to_string())
            .collect()
    }

    /// An environment's keys as a deploy target gets them.
    fn deploy_key(&self, env: &str) -> String {
        self.ok("ada", &["env", "key", env]).stdout
    }

    /// How many keys (current and retired) an environment's keyring holds.
    fn key_count(&self, env: &str) -> usize {
        self.deploy_key(env).matches("AGE-SECRET-KEY-1").count()
    }
}

/// Three environments and forty files (TOML, YAML, JSON and .env), all sealed;
/// returns the repository and the plaintext of each file.
fn repository() -> (Repo, BTreeMap<String, String>) {
    let r = Repo::new();
    r.keygen("ada");
    r.ok("ada", &["init"]);
    for env in ENVS {
        r.ok(
            "ada",
            &["env", "add", env, "--files", &format!("config/{env}/**")],
        );
    }
    let mut plain = BTreeMap::new();
    for i in 0..40 {
        let env = ENVS[if i < 20 { 0 } else { 1 + i % 2 }];
        let (name, text) = match i % 4 {
            0 => (
                format!("app{i}.toml"),
                format!(
                    "# app {i}\n[db]\nhost = \"db{i}\"\npassword = \"pw-{i}\"\napi_token = 'tok {i}'\n"
                ),
            ),
            1 => (
                format!("svc{i}.yaml"),
                format!(
                    "db:\n  host: db{i}  # comment\n  password: \"pw-{i}\"\nsecret_key: k{i}\n"
                ),
            ),
            2 => (
                format!("web{i}.json"),
                format!(
                    "{{\n  \"host\": \"web{i}\",\n  \"password\": \"pw-{i}\",\n  \"port\": 80{i}\n}}\n"
                ),
            ),
            _ => (
                format!("sub/.env.{i}"),
                format!("HOST=h{i}\nDB_PASSWORD=pw-{i}\nexport API_SECRET='s {i}'\n"),
            ),
        };
        let rel = format!("config/{env}/{name}");
        let p = r.root().join(&rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &text).unwrap();
        plain.insert(rel, text);
    }
    let mut args = vec!["seal".to_string()];
    args.extend(plain.keys().filter(|k| !k.contains(".env.")).cloned());
    r.ok("ada", &args.iter().map(String::as_str).collect::<Vec<_>>());
    for rel in plain.keys().filter(|k| k.contains(".env.")) {
        r.ok("ada", &["seal", "--input-type", "env", rel]);
    }
    for rel in plain.keys() {
        assert!(!r.key_ids(rel).is_empty(), "{rel} has no sealed value");
    }
    (r, plain)
}

fn prod(rel: &str) -> bool {
    rel.starts_with("config/production/")
}

/// Every file opens, with the deploy keys of its environment, to its plaintext.
fn all_open(r: &Repo, plain: &BTreeMap<String, String>) {
    let keys: BTreeMap<&str, String> = ENVS.iter().map(|e| (*e, r.deploy_key(e))).collect();
    for (rel, text) in plain {
        let env = rel.split('/').nth(1).unwrap();
        let mut args = vec!["open", rel.as_str()];
        if rel.contains(".env.") {
            args.extend(["--input-type", "env"]);
        }
        let o = r.run_env("deploy", &args, &[("CACHET_IDENTITY", &keys[env])]);
        assert_eq!(o.code, 0, "{rel}: {}", o.stderr);
        assert_eq!(&o.stdout, text, "{rel}");
    }
}

#[test]
fn rotate_reseals_one_environment_and_only_it_and_dry_run_writes_nothing() {
    let (r, plain) = repository();
    // A covered file that .gitignore excludes (a local copy) is left alone.
    fs::write(r.root().join(".gitignore"), "local.toml\n").unwrap();
    fs::copy(
        r.root().join("config/production/app0.toml"),
        r.root().join("config/production/local.toml"),
    )
    .unwrap();
    let before = r.snapshot();
    let old_key = r.deploy_key("production");
    let old_id = r.key_ids("config/production/app0.toml")[0].clone();

    let o = r.ok("ada", &["rotate", "production", "--dry-run"]);
    assert!(
        o.stdout.contains("a new key would replace key id"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("20 files, "), "{}", o.stdout);
    assert_eq!(r.snapshot(), before, "--dry-run wrote something");

    r.ok("ada", &["rotate", "production"]);
    let after = r.snapshot();
    let mut new_id = None;
    for (rel, bytes) in &before {
        if prod(rel) && !rel.ends_with("local.toml") {
            assert_ne!(&after[rel], bytes, "{rel}");
            for id in r.key_ids(rel) {
                assert_ne!(id, old_id, "{rel}");
                assert_eq!(new_id.get_or_insert(id.clone()), &id, "{rel}");
            }
        } else if rel != ".cachet.toml" && rel != ".cachet/keys/production.age" {
            assert_eq!(&after[rel], bytes, "{rel} changed");
        }
    }
    // Plain values stay byte for byte: only token lines differ.
    let (a, b) = (
        String::from_utf8(before["config/production/app0.toml"].clone()).unwrap(),
        String::from_utf8(after["config/production/app0.toml"].clone()).unwrap(),
    );
    // The rotator attests what it re-sealed, with the new key: one more line.
    let (a, b) = (
        attestation::split(Format::Toml, &a),
        attestation::split(Format::Toml, &b),
    );
    // ada's seal attested it with the old key; the rotation, with the new one.
    assert_ne!(a.attestation, b.attestation);
    let made = b
        .parse()
        .unwrap()
        .expect("rotate attests the files it re-sealed");
    assert_eq!(Some(made.key_id), new_id.as_deref().and_then(KeyId::parse));
    assert_eq!(made.file, "config/production/app0.toml");
    let deploy_key = r.deploy_key("production");
    let o = r.run_env(
        "deploy",
        &[
            "open",
            "--check",
            "--require-attested",
            "config/production/app0.toml",
        ],
        &[("CACHET_IDENTITY", &deploy_key)],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(a.body.lines().count(), b.body.lines().count());
    for (x, y) in a.body.lines().zip(b.body.lines()) {
        assert!(x == y || (x.contains("cachet:v1:") && y.contains("cachet:v1:")));
    }
    all_open(&r, &plain);
    // The ignored copy still holds values of the retired key.
    assert_eq!(r.key_ids("config/production/local.toml")[0], old_id);
    let o = r.run_env(
        "deploy",
        &["open", "config/production/app0.toml"],
        &[("CACHET_IDENTITY", &old_key)],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    // Prune looks at ignored files too: the local copy still needs the retired
    // key, so it stays until that copy is re-sealed (named on the command line).
    let o = r.run_env("ada", &["prune", "production"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "1 file still hold values sealed to a retired key (config/production/local.toml)"
        ),
        "{}",
        o.stderr
    );
    r.ok(
        "ada",
        &["rotate", "production", "config/production/local.toml"],
    );
    assert_eq!(
        r.key_ids("config/production/local.toml")[0],
        r.key_ids("config/production/app0.toml")[0]
    );
    // Nothing uses the retired key: prune drops it, and everything still opens.
    assert_eq!(r.key_count("production"), 2);
    r.ok("ada", &["prune", "production"]);
    assert_eq!(r.key_count("production"), 1);
    all_open(&r, &plain);
}

#[test]
fn a_rotation_killed_midway_leaves_everything_open_and_a_second_run_finishes_it() {
    let (r, plain) = repository();
    let policy_before = fs::read_to_string(r.root().join(".cachet.toml")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachet"));
    isolate(&mut cmd, &r.home("ada"));
    let mut child = cmd
        .args(["rotate", "production"])
        .current_dir(r.root())
        .env("RAYON_NUM_THREADS", "1")
        .env("CACHET_TEST_PAUSE_AFTER_FILES", "5")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("paused after") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "rotate ended early");
    }
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success());

    let policy_mid = fs::read_to_string(r.root().join(".cachet.toml")).unwrap();
    assert_ne!(policy_mid, policy_before, "the policy names the new key");
    let ids: Vec<Vec<String>> = plain
        .keys()
        .filter(|k| prod(k))
        .map(|k| r.key_ids(k))
        .collect();
    let moved = ids.iter().filter(|v| v[0] != ids[19][0]).count();
    assert_eq!(moved, 5, "{ids:?}");
    all_open(&r, &plain);

    // Prune refuses while values use the retired key.
    let o = r.run_env("ada", &["prune", "production"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("15 files still hold values sealed to a retired key"),
        "{}",
        o.stderr
    );

    let o = r.ok("ada", &["rotate", "production", "--dry-run"]);
    assert!(
        o.stdout.contains("a rotation is in progress"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("15 files, "), "{}", o.stdout);
    r.ok("ada", &["rotate", "production"]);
    assert_eq!(
        fs::read_to_string(r.root().join(".cachet.toml")).unwrap(),
        policy_mid,
        "no new key"
    );
    let first = r.key_ids("config/production/app0.toml")[0].clone();
    for rel in plain.keys().filter(|k| prod(k)) {
        assert!(r.key_ids(rel).iter().all(|id| *id == first), "{rel}");
    }
    all_open(&r, &plain);
    r.ok("ada", &["prune", "production"]);
    assert_eq!(r.key_count("production"), 1);
    all_open(&r, &plain);
}

#[test]
fn members_remove_rotate_removes_first_then_rotates() {
    let (r, plain) = repository();
    let bob = r.keygen("bob");
    r.ok(
        "ada",
        &["members", "add", "production", &format!("bob={bob}")],
    );
    let old_id = r.key_ids("config/production/app0.toml")[0].clone();
    r.ok(
        "ada",
        &["members", "remove", "production", "bob", "--rotate"],
    );
    let new_id = r.key_ids("config/production/app0.toml")[0].clone();
    assert_ne!(old_id, new_id);
    let o = r.run_env("bob", &["env", "key", "production"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    all_open(&r, &plain);
}

/// The `password = "…"` token of a TOML file of the repository.
fn password_token(r: &Repo, rel: &str) -> String {
    let text = fs::read_to_string(r.root().join(rel)).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("password = \"cachet:v1:"))
        .unwrap();
    line["password = \"".len()..line.len() - 1].to_string()
}

fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .args(["-a", &from.to_string_lossy(), &to.to_string_lossy()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Attack 4 of the trust model: a former member who kept the old key plants a
/// keyring whose current key is theirs. `rotate` never finishes a rotation to a
/// key it did not make: it makes a fresh key, which the planted one cannot open.
#[test]
fn finishing_a_rotation_trusts_the_pin_not_a_planted_keyring() {
    let (r, plain) = repository();
    let app0 = "config/production/app0.toml";
    let original = r.key_ids(app0)[0].clone();
    let mal = r.keygen("mal");
    r.ok(
        "ada",
        &["members", "add", "production", &format!("mal={mal}")],
    );
    // In a copy of the repository, mal rotates to a key of their own and keeps it.
    let copy = r.dir.path().join("copy");
    copy_tree(&r.root(), &copy);
    let mut kept = String::new();
    for args in [
        &["rotate", "production"][..],
        &["env", "key", "production", "--force"],
        &["members", "remove", "production", "mal"],
    ] {
        let o = run_cachet(&copy, &r.home("mal"), args, b"", &[]);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        if args[0] == "env" {
            kept = o.stdout;
        }
    }
    let mals_key = fs::read_to_string(copy.join(app0)).unwrap();
    let mals_key = mals_key[mals_key.find("cachet:v1:").unwrap() + 10..][..16].to_string();
    // Then plants that keyring (the policy untouched) after being removed.
    r.ok("ada", &["members", "remove", "production", "mal"]);
    fs::copy(
        copy.join(".cachet/keys/production.age"),
        r.root().join(".cachet/keys/production.age"),
    )
    .unwrap();
    // And deletes the rotation the removal made owed (which alone would make a
    // new key): the pin must still refuse the planted one.
    let policy = fs::read_to_string(r.root().join(".cachet.toml")).unwrap();
    assert!(policy.contains("rotation_owed = "), "{policy}");
    let policy: String = policy
        .lines()
        .filter(|l| !l.starts_with("rotation_owed = "))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(r.root().join(".cachet.toml"), policy).unwrap();
    // The policy names a key the planted keyring says is retired: this looks like
    // an interrupted rotation, but its "new" key is not one this machine made.
    let o = r.ok("ada", &["rotate", "production"]);
    assert!(
        o.stderr.contains(
            "found a rotation in progress to a key this machine has not pinned, and rotated instead to a new key made here"
        ),
        "{}",
        o.stderr
    );
    let now = r.key_ids(app0)[0].clone();
    assert_ne!(now, mals_key, "sealed to the planted key");
    assert_ne!(now, original);
    all_open(&r, &plain);
    // The key mal kept opens none of it.
    let o = r.run_env("mal", &["open", app0], &[("CACHET_IDENTITY", &kept)]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!o.stdout.contains("pw-"), "{}", o.stdout);
}

#[test]
fn remove_rotate_always_makes_a_new_key_and_prune_sees_escaped_and_conflicted_values() {
    let (r, plain) = repository();
    let app0 = "config/production/app0.toml";
    let k1_token = password_token(&r, app0);
    let k1_file = fs::read(r.root().join(app0)).unwrap();
    r.ok("ada", &["rotate", "production"]);
    let k2 = r.key_ids(app0)[0].clone();
    let k2_token = password_token(&r, app0);

    // A branch made before the rotation brings back a file sealed to the old key:
    // a rotation is "in progress" again, but a removal must still make a new key.
    fs::write(r.root().join("config/production/feature.toml"), &k1_file).unwrap();
    let bob = r.keygen("bob");
    r.ok(
        "ada",
        &["members", "add", "production", &format!("bob={bob}")],
    );
    r.ok(
        "ada",
        &["members", "remove", "production", "bob", "--rotate"],
    );
    let k3 = r.key_ids(app0)[0].clone();
    assert_ne!(k3, k2, "a member's removal made no new key");
    assert!(
        r.key_ids("config/production/feature.toml")
            .iter()
            .all(|id| *id == k3)
    );
    all_open(&r, &plain);

    // A token behind a JSON escape is still a value of the environment.
    let web = "config/production/web2.json";
    let text = fs::read_to_string(r.root().join(web)).unwrap();
    let escaped = text.replacen("\"cachet:v1:", "\"\\u0063achet:v1:", 1);
    assert_ne!(escaped, text);
    fs::write(r.root().join(web), &escaped).unwrap();
    let o = r.ok("ada", &["rotate", "production", "--dry-run"]);
    assert!(o.stdout.contains(web), "{}", o.stdout);

    // An unresolved merge whose second side is sealed to a retired key keeps that
    // key: prune refuses, and rotate names the conflict.
    r.ok("ada", &["rotate", "production"]);
    let k4_token = password_token(&r, app0);
    let marker = format!("cachet:conflict:{}:{}", &k4_token[7..], &k2_token[7..]);
    let merged = "config/production/merged.toml";
    fs::write(
        r.root().join(merged),
        format!("[db]\npassword = \"{marker}\"\n"),
    )
    .unwrap();
    let o = r.run_env("ada", &["prune", "production"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains(merged), "{}", o.stderr);
    let o = r.run_env("ada", &["rotate", "production"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("holds a merge conflict"), "{}", o.stderr);
    let _ = k1_token;

    // A value sealed to a key the keyring never held stops a rotation before it
    // writes anything.
    fs::remove_file(r.root().join(merged)).unwrap();
    let stranger = SecretKeyText::new(&r);
    fs::write(
        r.root().join("config/production/stranger.toml"),
        stranger.sealed_file(&r),
    )
    .unwrap();
    let before = r.snapshot();
    let o = r.run_env("ada", &["rotate", "production"], &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("config/production/stranger.toml: holds values sealed to key id"),
        "{}",
        o.stderr
    );
    assert_eq!(r.snapshot(), before);
}

/// A key of no environment, and a file sealed to it.
struct SecretKeyText {
    recipient: String,
}

impl SecretKeyText {
    fn new(r: &Repo) -> Self {
        let o = r.ok("stranger", &["keygen"]);
        let recipient = o
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string();
        SecretKeyText { recipient }
    }

    fn sealed_file(&self, r: &Repo) -> String {
        let o = run_cachet(
            &r.root(),
            &r.home("stranger"),
            &[
                "seal",
                "-",
                "--input-type",
                "toml",
                "--stdout",
                "-r",
                &self.recipient,
            ],
            b"[db]\npassword = \"x\"\n",
            &[],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stdout
    }
}
