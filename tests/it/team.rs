//! Team access end to end: a real repository with a policy and keyrings, people
//! with their own homes and identities (age keys, an SSH key made by ssh-keygen),
//! a deploy target holding only an environment key, and every way the policy or a
//! keyring can be tampered with or fall out of step.
//!
//! The age and ssh-keygen programs are used where a test needs them; under CI
//! (the `CI` variable set) they are required, elsewhere a test without them says
//! so and skips that part.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common;
use common::{Out, assert_refused, isolate, key_id_of, run_cachet};

const BIN: &str = env!("CARGO_BIN_EXE_cachet");

/// A repository and the home directories of the people who use it.
struct Team {
    dir: tempfile::TempDir,
}

/// Someone with a home of their own (and so a default identity of their own).
#[derive(Clone)]
struct Person {
    home: PathBuf,
}

impl Person {
    fn config(&self) -> PathBuf {
        self.home.join(".config")
    }

    fn identity_file(&self) -> PathBuf {
        self.config().join("cachet").join("identity.txt")
    }
}

fn tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is required under CI (.ci/run installs it)"
        );
        eprintln!("skipping the part that needs {name}: not installed");
    }
    found
}

impl Team {
    fn new() -> Team {
        let t = Team {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(t.root()).unwrap();
        let git = Command::new("git")
            .args(["init", "-q"])
            .current_dir(t.root())
            .status();
        if git.is_ok_and(|s| s.success()) {
            Command::new("git")
                .args(["config", "user.name", "Ada Lovelace"])
                .current_dir(t.root())
                .status()
                .unwrap();
        }
        t
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    /// A person with an empty home.
    fn person(&self, name: &str) -> Person {
        let home = self.dir.path().join(format!("home-{name}"));
        fs::create_dir_all(&home).unwrap();
        Person { home }
    }

    /// A person whose default identity is a new age key; returns them and their
    /// recipient.
    fn person_with_key(&self, name: &str) -> (Person, String) {
        let p = self.person(name);
        fs::create_dir_all(p.identity_file().parent().unwrap()).unwrap();
        let o = self.run(&p, &["keygen", "-o", p.identity_file().to_str().unwrap()]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        (p, o.stdout.trim().to_string())
    }

    fn run_with(&self, who: &Person, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Out {
        let mut env = env.to_vec();
        env.push(("USER", "ada"));
        run_cachet(&self.root(), &who.home, args, stdin, &env)
    }

    fn run(&self, who: &Person, args: &[&str]) -> Out {
        self.run_with(who, args, b"", &[])
    }

    fn ok(&self, who: &Person, args: &[&str]) -> Out {
        let o = self.run(who, args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o
    }

    /// The policy's public key of an environment.
    fn public_key(&self, env: &str) -> String {
        let o = self.ok(&self.person("reader"), &["env", "list"]);
        let line = o
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{env}\t")))
            .unwrap();
        line.split('\t').nth(1).unwrap().to_string()
    }
}

const PROD: &str = "# production\n[db]\nhost = \"db.internal\"\npassword = \"prod-pw-1\"\n";
const STAGING: &str = "[db]\nhost = \"db.staging\"\npassword = \"staging-pw-2\"\n";

/// A repository with production and staging, both created by `ada`, with a
/// sealed file under each.
fn two_environments() -> (Team, Person) {
    let t = Team::new();
    let (ada, _) = t.person_with_key("ada");
    t.ok(&ada, &["init"]);
    t.ok(
        &ada,
        &["env", "add", "production", "--files", "config/prod/**"],
    );
    t.ok(
        &ada,
        &["env", "add", "staging", "--files", "config/staging/**"],
    );
    t.write("config/prod/app.toml", PROD);
    t.write("config/staging/app.toml", STAGING);
    t.ok(
        &ada,
        &["seal", "config/prod/app.toml", "config/staging/app.toml"],
    );
    (t, ada)
}

fn key_id_of_token(text: &str) -> String {
    let start = text.find("cachet:v1:").unwrap() + "cachet:v1:".len();
    text[start..start + 16].to_string()
}

#[test]
fn members_open_through_keyrings_and_a_deploy_key_alone_opens_its_environment_only() {
    let (t, ada) = two_environments();
    let policy = t.read(".cachet.toml");
    assert!(policy.contains("[environments.production]"), "{policy}");
    assert!(policy.contains("\"Ada Lovelace\" = \"age1"), "{policy}");
    assert!(policy.contains("rotate_every = \"90d\""), "{policy}");
    for env in ["production", "staging"] {
        let ring = t.read(&format!(".cachet/keys/{env}.age"));
        assert!(
            ring.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{ring}"
        );
    }

    // Each file is sealed to its own environment's key.
    let prod_sealed = t.read("config/prod/app.toml");
    let staging_sealed = t.read("config/staging/app.toml");
    assert!(!prod_sealed.contains("prod-pw-1"));
    assert_ne!(
        key_id_of_token(&prod_sealed),
        key_id_of_token(&staging_sealed)
    );

    // A member opens both through the keyrings, byte for byte.
    assert_eq!(t.ok(&ada, &["open", "config/prod/app.toml"]).stdout, PROD);
    assert_eq!(
        t.ok(&ada, &["open", "config/staging/app.toml"]).stdout,
        STAGING
    );
    assert_eq!(
        t.ok(&ada, &["get", "config/staging/app.toml", "db.password"])
            .stdout,
        "staging-pw-2"
    );

    // A non-member is told which environment they are not a member of.
    let (bob, _) = t.person_with_key("bob");
    let o = t.run(&bob, &["open", "config/prod/app.toml"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "cachet: environment production: you are not a member: none of your identities opens .cachet/keys/production.age\n"
    );

    // The production key alone, with no policy or keyring anywhere near, opens the
    // production file and not the staging one.
    let key = t.ok(&ada, &["env", "key", "production"]).stdout;
    assert!(key.contains("AGE-SECRET-KEY-1"));
    let deploy = tempfile::tempdir().unwrap();
    fs::write(deploy.path().join("prod.toml"), &prod_sealed).unwrap();
    fs::write(deploy.path().join("staging.toml"), &staging_sealed).unwrap();
    let target = t.person("deploy");
    let run = |file: &str| {
        run_cachet(
            deploy.path(),
            &target.home,
            &["open", file],
            b"",
            &[("CACHET_IDENTITY", &key)],
        )
    };
    let o = run("prod.toml");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, PROD);
    let o = run("staging.toml");
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr
            .starts_with("cachet: staging.toml: db.password: no identity for key id "),
        "{}",
        o.stderr
    );
}

#[test]
fn env_key_refuses_non_members_and_the_keyring_is_a_plain_age_file() {
    let (t, ada) = two_environments();
    let (bob, _) = t.person_with_key("bob");
    let o = t.run(&bob, &["env", "key", "production"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty());
    assert!(o.stderr.contains("you are not a member"), "{}", o.stderr);

    if !tool("age") {
        return;
    }
    let o = Command::new("age")
        .args(["-d", "-i"])
        .arg(ada.identity_file())
        .arg(t.path(".cachet/keys/production.age"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let content = String::from_utf8(o.stdout).unwrap();
    assert!(
        content.contains("#: environment = \"production\""),
        "{content}"
    );
    // What age gives is itself an identity file that opens production's values.
    let key_file = t.dir.path().join("from-age.txt");
    fs::write(&key_file, &content).unwrap();
    let o = t.ok(
        &t.person("deploy"),
        &[
            "open",
            "-i",
            key_file.to_str().unwrap(),
            "config/prod/app.toml",
        ],
    );
    assert_eq!(o.stdout, PROD);
}

#[test]
fn members_are_added_and_removed_and_a_removed_member_can_no_longer_open() {
    let (t, ada) = two_environments();
    let (bob, bob_key) = t.person_with_key("bob");
    let o = t.ok(
        &ada,
        &["members", "add", "production", &format!("bob={bob_key}")],
    );
    assert!(
        o.stderr.contains("added \"bob\" (age); 2 members"),
        "{}",
        o.stderr
    );
    assert_eq!(t.ok(&bob, &["open", "config/prod/app.toml"]).stdout, PROD);
    // Bob is a member of production only.
    assert_eq!(t.run(&bob, &["open", "config/staging/app.toml"]).code, 1);

    let list = t.ok(&bob, &["members", "list", "production"]).stdout;
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains(&format!("bob\tage\t{bob_key}\n")), "{list}");

    let o = t.ok(&ada, &["members", "remove", "production", "bob"]);
    assert!(
        o.stderr
            .contains("removed \"bob\". They knew the environment's key"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("rotate the key"), "{}", o.stderr);
    let o = t.run(&bob, &["open", "config/prod/app.toml"]);
    assert_refused(&o, 1, "you are not a member");
    // bob is no member any more, only the name of a rotation now owed.
    let policy = t.read(".cachet.toml");
    assert!(!policy.contains("bob = \""), "{policy}");
    assert!(policy.contains("removed = [\"bob\"]"), "{policy}");

    // The last member cannot be removed; unknown members and duplicates are refused.
    let o = t.run(&ada, &["members", "remove", "production", "Ada Lovelace"]);
    assert_refused(&o, 2, "is its last member");
    assert_eq!(
        t.run(&ada, &["members", "remove", "production", "zed"])
            .code,
        2
    );
    let o = t.run(
        &ada,
        &["members", "add", "production", &format!("again={bob_key}")],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = t.run(
        &ada,
        &["members", "add", "production", &format!("bob2={bob_key}")],
    );
    assert_refused(&o, 2, "exists already");
    // A non-member cannot add themselves.
    let (eve, eve_key) = t.person_with_key("eve");
    let o = t.run(
        &eve,
        &["members", "add", "staging", &format!("eve={eve_key}")],
    );
    assert_eq!(o.code, 1);
    assert!(!t.read(".cachet.toml").contains(&eve_key));
}

#[test]
fn an_ssh_ed25519_member_opens_through_the_keyring() {
    if !tool("ssh-keygen") {
        return;
    }
    let (t, ada) = two_environments();
    let carol = t.person("carol");
    let ssh = carol.home.join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "carol@laptop", "-f"])
        .arg(ssh.join("id_ed25519"))
        .status()
        .unwrap();
    assert!(status.success());
    let public = fs::read_to_string(ssh.join("id_ed25519.pub")).unwrap();
    let o = t.ok(
        &ada,
        &[
            "members",
            "add",
            "production",
            &format!("carol={}", public.trim()),
        ],
    );
    assert!(o.stderr.contains("(ssh-ed25519)"), "{}", o.stderr);
    // The comment is not part of the member's key.
    assert!(!t.read(".cachet.toml").contains("carol@laptop"));

    // Carol has no cachet identity: her ~/.ssh/id_ed25519 is found by default.
    assert_eq!(t.ok(&carol, &["open", "config/prod/app.toml"]).stdout, PROD);
    let o = t.run(&carol, &["open", "config/staging/app.toml"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("environment staging: you are not a member")
    );

    // A passphrase-protected SSH key: asked once, on a terminal only, and only
    // for the stanza of that key.
    let dave = t.person("dave");
    let dssh = dave.home.join(".ssh");
    fs::create_dir_all(&dssh).unwrap();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "dave's pass", "-f"])
        .arg(dssh.join("id_ed25519"))
        .status()
        .unwrap();
    assert!(status.success());
    let public = fs::read_to_string(dssh.join("id_ed25519.pub")).unwrap();
    t.ok(
        &ada,
        &[
            "members",
            "add",
            "production",
            &format!("dave={}", public.trim()),
        ],
    );
    let o = t.run(&dave, &["open", "config/prod/app.toml"]);
    assert_refused(
        &o,
        2,
        "id_ed25519: protected by a passphrase, and there is no terminal to ask it on",
    );
    let out = t.dir.path().join("dave.toml");
    if let Some((code, screen)) = terminal_session(
        &t,
        &dave,
        &["open", "config/prod/app.toml", "-o", out.to_str().unwrap()],
        "dave's pass\n",
    ) {
        assert_eq!(code, 0, "{screen}");
        assert_eq!(screen.matches("Passphrase for").count(), 1, "{screen}");
        assert_eq!(fs::read_to_string(&out).unwrap(), PROD);
    }

    // An SSH identity can also create an environment and be its member.
    let o = t.ok(
        &carol,
        &[
            "env",
            "add",
            "dev",
            "--files",
            "config/dev/**",
            "--self-name",
            "carol",
        ],
    );
    assert!(o.stderr.contains("1 member (carol)"), "{}", o.stderr);
    assert!(
        t.read(".cachet.toml")
            .contains("carol = \"ssh-ed25519 AAAA")
    );
}

#[test]
fn a_swapped_public_key_is_refused_until_accepted_and_found_by_check() {
    let (t, ada) = two_environments();
    let (_, mallory_key) = t.person_with_key("mallory");
    let real = t.public_key("production");
    let swapped = t.read(".cachet.toml").replace(&real, &mallory_key);
    fs::write(t.path(".cachet.toml"), &swapped).unwrap();

    t.write("config/prod/new.toml", "api_token = \"tok-123\"\n");
    // A member verifies against the keyring and is refused, whatever they accept.
    for args in [
        &["seal", "config/prod/new.toml"][..],
        &["seal", "--accept-new-key", "config/prod/new.toml"],
    ] {
        let o = t.run(&ada, args);
        assert_eq!(o.code, 1);
        assert_eq!(
            o.stderr,
            format!(
                "cachet: environment production: the public key in .cachet.toml (key id {}) is not the key of its keyring (key id {}), which you can open; nothing was sealed: find out who changed them (git log -- .cachet.toml .cachet/keys/production.age), and see `cachet check`\n",
                key_id_of(&mallory_key),
                key_id_of(&real)
            )
        );
    }
    assert_eq!(t.read("config/prod/new.toml"), "api_token = \"tok-123\"\n");
    // set is refused the same way, and reads no value first.
    let o = t.run_with(
        &ada,
        &["set", "config/prod/new.toml", "x_token", "--create"],
        b"v",
        &[],
    );
    assert_eq!(o.code, 1);
    assert_eq!(t.read("config/prod/new.toml"), "api_token = \"tok-123\"\n");

    let o = t.run(&ada, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains("production: problem: the public key in .cachet.toml (key id "),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("production: problem: its public key (key id ")
            && o.stdout.contains("is not the one this machine pinned"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("staging: ok\n"), "{}", o.stdout);
    // The value the refused seal left plain is a finding of its own.
    assert!(
        o.stdout.contains(
            "config/prod/new.toml: api_token: problem: plain text, but the policy seals it"
        ),
        "{}",
        o.stdout
    );
    assert_eq!(o.stderr, "cachet: check found 3 problems\n");

    // A member repairs the policy from the keyring, and sealing works again.
    t.ok(&ada, &["members", "sync", "production", "--from-keyring"]);
    assert!(t.read(".cachet.toml").contains(&real));
    t.ok(&ada, &["seal", "config/prod/new.toml"]);
    t.ok(&ada, &["check"]);

    // A sealer who holds only the public key cannot look in the keyring: a
    // change of the key they pinned is accepted once, when told, then pinned.
    let ci = t.person("ci");
    t.write("config/prod/more.toml", "api_token = \"tok-456\"\n");
    t.ok(&ci, &["seal", "config/prod/more.toml"]);
    let (_, next) = t.person_with_key("next");
    let changed = t.read(".cachet.toml").replace(&real, &next);
    fs::write(t.path(".cachet.toml"), changed).unwrap();
    t.write("config/prod/more.toml", "api_token = \"tok-456\"\n");
    let o = t.run(&ci, &["seal", "config/prod/more.toml"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.starts_with(
            "cachet: environment production: its public key in .cachet.toml changed (key id "
        ),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("--accept-new-key"), "{}", o.stderr);
    let o = t.ok(&ci, &["seal", "--accept-new-key", "config/prod/more.toml"]);
    assert!(o.stderr.contains("pinned its key"), "{}", o.stderr);
    t.write("config/prod/more2.toml", "api_token = \"tok-789\"\n");
    t.ok(&ci, &["seal", "config/prod/more2.toml"]);
}

#[test]
fn hand_edited_members_and_an_interrupted_change_are_found_and_repaired() {
    let (t, ada) = two_environments();
    let (mallory, mallory_key) = t.person_with_key("mallory");
    // Someone adds themselves to the policy by hand: the keyring does not follow.
    let policy = t.read(".cachet.toml");
    let edited = policy.replace(
        "[environments.production.members]\n",
        &format!("[environments.production.members]\nmallory = \"{mallory_key}\"\n"),
    );
    assert_ne!(edited, policy);
    fs::write(t.path(".cachet.toml"), &edited).unwrap();
    assert_eq!(t.run(&mallory, &["open", "config/prod/app.toml"]).code, 1);
    let o = t.run(&ada, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout.contains(
            "production: problem: members in .cachet.toml but not in the keyring: \"mallory\""
        ),
        "{}",
        o.stdout
    );
    // Opening still works for members, with a warning.
    let o = t.ok(&ada, &["open", "config/prod/app.toml"]);
    assert!(
        o.stderr
            .contains("warning: environment production: the keyring and .cachet.toml disagree"),
        "{}",
        o.stderr
    );
    // Member changes are refused until it is repaired.
    let (_, bob_key) = t.person_with_key("bob");
    let o = t.run(
        &ada,
        &["members", "add", "production", &format!("bob={bob_key}")],
    );
    assert_refused(&o, 1, "members sync production");
    // Repair from the keyring drops the hand-added line.
    t.ok(&ada, &["members", "sync", "production", "--from-keyring"]);
    assert!(!t.read(".cachet.toml").contains("mallory"));
    t.ok(&ada, &["check"]);

    // A crash between writing the keyring and the policy: simulated by putting the
    // old policy back after a change.
    let before = t.read(".cachet.toml");
    t.ok(
        &ada,
        &["members", "add", "production", &format!("bob={bob_key}")],
    );
    fs::write(t.path(".cachet.toml"), &before).unwrap();
    let o = t.run(&ada, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains("members in the keyring but not in .cachet.toml: \"bob\""),
        "{}",
        o.stdout
    );
    // Sync from the policy (the default) re-encrypts the keyring without bob.
    let o = t.ok(&ada, &["members", "sync", "production"]);
    assert!(
        o.stderr.contains("keyring re-encrypted to the 1 members"),
        "{}",
        o.stderr
    );
    t.ok(&ada, &["check"]);
}

#[test]
fn damaged_or_swapped_keyrings_are_refused_naming_the_environment() {
    let (t, ada) = two_environments();
    let ring = t.path(".cachet/keys/production.age");
    let good = fs::read_to_string(&ring).unwrap();

    // A flipped character in the armored body.
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    let line = &mut lines[3];
    let c = if line.starts_with('A') { "B" } else { "A" };
    line.replace_range(0..1, c);
    fs::write(&ring, lines.join("\n") + "\n").unwrap();
    let o = t.run(&ada, &["open", "config/prod/app.toml"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr
            .starts_with("cachet: environment production: .cachet/keys/production.age: "),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.lines().count(), 1);

    // Staging's keyring copied over production's.
    fs::copy(t.path(".cachet/keys/staging.age"), &ring).unwrap();
    let o = t.run(&ada, &["open", "config/prod/app.toml"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("holds the keyring of environment \"staging\""),
        "{}",
        o.stderr
    );

    // No keyring at all: open says so; seal refuses unless --force.
    fs::remove_file(&ring).unwrap();
    let o = t.run(&ada, &["open", "config/prod/app.toml"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("its keyring .cachet/keys/production.age is missing"),
        "{}",
        o.stderr
    );
    t.write("config/prod/b.toml", "api_token = \"t\"\n");
    let o = t.run(&ada, &["seal", "config/prod/b.toml"]);
    assert_refused(&o, 1, "nobody could open what you seal");
    assert_eq!(t.read("config/prod/b.toml"), "api_token = \"t\"\n");
    t.ok(&ada, &["seal", "--force", "config/prod/b.toml"]);
    let o = t.run(&ada, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains("production: problem: its keyring .cachet/keys/production.age is missing")
    );
}

#[test]
fn a_file_holding_another_environments_value_is_refused() {
    let (t, ada) = two_environments();
    let staging = t.read("config/staging/app.toml");
    let token_line = staging.lines().find(|l| l.contains("cachet:v1:")).unwrap();
    let mixed = format!(
        "{PROD}stolen = {}\n",
        token_line.split_once(" = ").unwrap().1
    );
    t.write("config/prod/mixed.toml", &mixed);
    let o = t.run(&ada, &["seal", "config/prod/mixed.toml"]);
    assert_refused(
        &o,
        1,
        "config/prod/mixed.toml: db.stolen: is sealed to the key of environment staging, but the file belongs to environment production",
    );
    assert_eq!(t.read("config/prod/mixed.toml"), mixed);
}

#[test]
fn files_map_to_one_environment_or_are_refused() {
    let (t, ada) = two_environments();
    t.write("notes/app.toml", "api_token = \"x\"\n");
    let o = t.run(&ada, &["seal", "notes/app.toml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("no environment of .cachet.toml covers notes/app.toml"),
        "{}",
        o.stderr
    );
    // --env chooses one explicitly.
    t.ok(&ada, &["seal", "--env", "staging", "notes/app.toml"]);
    assert_eq!(
        t.ok(&ada, &["get", "notes/app.toml", "api_token"]).stdout,
        "x"
    );

    // Overlapping globs are an error for the files they share.
    t.ok(&ada, &["env", "add", "everything", "--files", "config/**"]);
    let o = t.run(&ada, &["seal", "config/prod/app.toml"]);
    assert_refused(
        &o,
        2,
        "config/prod/app.toml is covered by both environment production and environment everything",
    );
    // The policy's seal globs extend the default rule.
    t.ok(
        &ada,
        &[
            "env",
            "add",
            "dev",
            "--files",
            "dev/*.toml",
            "--seal",
            "stripe.*",
        ],
    );
    t.write(
        "dev/app.toml",
        "[stripe]\nplan = \"pro\"\nurl = \"https://x\"\n[other]\nplan = \"free\"\n",
    );
    let o = t.ok(&ada, &["seal", "dev/app.toml"]);
    assert!(o.stderr.contains("sealed 2 values"), "{}", o.stderr);
    assert!(t.read("dev/app.toml").contains("plan = \"free\""));
}

#[test]
fn env_add_needs_a_member_and_never_fails_for_want_of_a_name() {
    let t = Team::new();
    let nobody = t.person("nobody");
    t.ok(&nobody, &["init"]);
    let o = t.run(&nobody, &["init"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains(".cachet.toml exists already"));
    // No identity and no --member: nothing is written.
    let o = t.run(&nobody, &["env", "add", "prod"]);
    assert_refused(&o, 2, "no identity");
    assert!(o.stderr.contains("--no-self"), "{}", o.stderr);
    let o = t.run(&nobody, &["env", "add", "prod", "--no-self"]);
    assert_refused(&o, 2, "at least one member");
    assert!(!t.path(".cachet").exists());
    assert!(!t.read(".cachet.toml").contains("prod"));
    // Bad names, globs and members are refused before anything is written.
    for (args, want) in [
        (
            vec!["env", "add", "Prod"],
            "environment \"Prod\": an environment name",
        ),
        (
            vec!["env", "add", "p", "--files", "/etc/**"],
            "--files \"/etc/**\":",
        ),
        (
            vec!["env", "add", "p", "--member", "x"],
            "member \"x\": not a usable member key: a member is written NAME=RECIPIENT",
        ),
        (
            vec!["env", "add", "p", "--member", "x=ecdsa-sha2-nistp256 AAAA"],
            "only ssh-ed25519 and ssh-rsa",
        ),
        (
            vec!["env", "add", "p", "--rotate-every", "90"],
            "--rotate-every",
        ),
    ] {
        let o = t.run(&nobody, &args);
        assert_eq!(o.code, 2, "{args:?}");
        assert!(o.stderr.contains(want), "{args:?}: {}", o.stderr);
        assert!(!t.path(".cachet").exists());
    }

    // The name: --self-name, else git's user.name, else $USER.
    let (ada, _) = t.person_with_key("ada");
    t.ok(&ada, &["env", "add", "a", "--self-name", "ops team"]);
    t.ok(&ada, &["env", "add", "b"]);
    let policy = t.read(".cachet.toml");
    assert!(policy.contains("\"ops team\" = \"age1"), "{policy}");
    assert!(policy.contains("\"Ada Lovelace\" = \"age1"), "{policy}");
    let o = t.run(&ada, &["env", "add", "a"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("environment \"a\" exists already"));

    let elsewhere = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["env", "add", "c", "-i"])
        .arg(ada.identity_file())
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("run `cachet init`"));
}

#[test]
fn init_with_env_creates_the_first_environment() {
    let t = Team::new();
    let (ada, ada_key) = t.person_with_key("ada");
    let (_, bob_key) = t.person_with_key("bob");
    let o = t.ok(
        &ada,
        &[
            "init",
            "--env",
            "production",
            "--files",
            "config/**",
            "--member",
            &format!("bob={bob_key}"),
        ],
    );
    assert!(o.stderr.contains("2 members"), "{}", o.stderr);
    let policy = t.read(".cachet.toml");
    assert!(
        policy.contains(&ada_key) && policy.contains(&bob_key),
        "{policy}"
    );
    let o = t.run(&ada, &["init", "--files", "x/**"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--env NAME"));
}

/// Every invalid policy gives exit status 2 and one line naming the policy file,
/// the place and the reason; no command acts on it.
#[test]
fn every_invalid_policy_is_refused_with_the_file_and_place() {
    let t = Team::new();
    let (ada, ada_key) = t.person_with_key("ada");
    let (_, other) = t.person_with_key("other");
    let env = |name: &str, key: &str, extra: &str| {
        format!(
            "[environments.{name}]\npublic_key = \"{key}\"\ncreated = \"2026-01-02T03:04:05Z\"\nfiles = [\"config/{name}/**\"]\n{extra}[environments.{name}.members]\nada = \"{ada_key}\"\n"
        )
    };
    let good = env("prod", &other, "");
    let cases: Vec<(String, String)> = vec![
        ("version = 1\n[environments\n".into(), "line 2, column 14: unclosed table, expected `]`".into()),
        ("[environments]\n".into(), "version: missing: write version = 1".into()),
        ("version = 7\n".into(), "version: written for another cachet version (this one reads version = 1); upgrade cachet".into()),
        ("version = 1.0\n".into(), "version: must be the integer 1".into()),
        ("version = 1\nenvironment = {}\n".into(), "environment: unknown field (known: version, environments)".into()),
        ("version = 1\nenvironments = 3\n".into(), "environments: must be a table".into()),
        ("version = 1\n[environments]\nprod = 3\n".into(), "environments.prod: must be a table".into()),
        (format!("version = 1\n{}", env("Prod", &other, "")), "an environment name is 1 to 63 lower-case letters".into()),
        (format!("version = 1\n{}", env("prod", "age1zzz", "")), "environments.prod.public_key: not an age X25519 recipient".into()),
        (format!("version = 1\n{}", good.replace("public_key", "publickey")), "environments.prod.publickey: unknown field".into()),
        (format!("version = 1\n{}", good.replace(&format!("public_key = \"{other}\"\n"), "")), "environments.prod.public_key: missing".into()),
        (format!("version = 1\n{}", good.replace("\"2026-01-02T03:04:05Z\"", "2026-01-02T03:04:05Z")), "environments.prod.created: must be a UTC time written YYYY-MM-DDThh:mm:ssZ".into()),
        (format!("version = 1\n{}", good.replace("2026-01-02T03:04:05Z", "2026-02-30T03:04:05Z")), "environments.prod.created: must be a UTC time".into()),
        (format!("version = 1\n{}", env("prod", &other, "rotate_every = \"quarterly\"\n")), "environments.prod.rotate_every: must be a number of days from 1 to 3650".into()),
        (format!("version = 1\n{}", good.replace("files = [\"config/prod/**\"]", "files = \"config/**\"")), "environments.prod.files: must be an array of strings".into()),
        (format!("version = 1\n{}", good.replace("config/prod/**", "config/../x")), "environments.prod.files[0]:".into()),
        (format!("version = 1\n{}", good.replace("config/prod/**", "config/[a")), "environments.prod.files[0]:".into()),
        (format!("version = 1\n{}", env("prod", &other, "seal = [\"a..b\"]\n")), "environments.prod.seal[0]:".into()),
        (format!("version = 1\n{}", env("prod", &other, "seal = [2]\n")), "environments.prod.seal[0]: must be a string".into()),
        (format!("version = 1\n{}", good.replace(&format!("ada = \"{ada_key}\""), "ada = \"age1nope\"")), "environments.prod.members.ada: ".into()),
        (format!("version = 1\n{}", good.replace(&format!("ada = \"{ada_key}\""), "ada = 5")), "environments.prod.members.ada: must be a string".into()),
        (format!("version = 1\n{}", good.replace("[environments.prod.members]\n", "members = 5\n#")), "environments.prod.members: must be a table".into()),
        (format!("version = 1\n{good}twin = \"{ada_key}\"\n"), "environments.prod.members.twin: the same key as member \"ada\"".into()),
        (format!("version = 1\n{good}\"\\u0007\" = \"{other}\"\n"), "a member name must not contain control characters".into()),
        (format!("version = 1\n{good}{}", env("stage", &other, "")), "environments.stage.public_key: the same key as environment prod; each environment needs its own key".into()),
        (format!("version = 1\n{good}{}", env("stage", &ada_key, "").replace("config/stage/**", "config/prod/**")), "environments.stage.files: \"config/prod/**\" is also a glob of environment prod".into()),
    ];
    let policy_path = fs::canonicalize(t.root()).unwrap().join(".cachet.toml");
    t.write("config/prod/app.toml", "password = \"p\"\n");
    for (text, want) in cases {
        fs::write(t.path(".cachet.toml"), &text).unwrap();
        for args in [
            vec!["env", "list"],
            vec!["check"],
            vec!["seal", "config/prod/app.toml"],
        ] {
            let o = t.run(&ada, &args);
            assert_eq!(o.code, 2, "{text}\n{args:?}: {}", o.stderr);
            assert!(o.stdout.is_empty());
            let prefix = format!("cachet: {}: ", policy_path.display());
            assert!(o.stderr.starts_with(&prefix), "{text}\n{}", o.stderr);
            assert!(
                o.stderr.contains(&want),
                "{text}\nwanted {want}\ngot {}",
                o.stderr
            );
            assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
            assert!(!o.stderr.contains(&ada_key) || want.contains(&ada_key));
        }
        assert_eq!(t.read("config/prod/app.toml"), "password = \"p\"\n");
    }
}

#[test]
fn a_passphrase_protected_age_identity_is_never_prompted_for_without_a_terminal() {
    let (t, ada) = two_environments();
    // An age file encrypted with a passphrase, as `age -p` writes it.
    let key = fs::read(ada.identity_file()).unwrap();
    let enc = age_passphrase_file(&key, "open sesame");
    let path = t.dir.path().join("id.age");
    fs::write(&path, enc).unwrap();
    let o = t.run(
        &ada,
        &["open", "-i", path.to_str().unwrap(), "config/prod/app.toml"],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("protected by a passphrase, and there is no terminal to ask it on"),
        "{}",
        o.stderr
    );
}

fn age_passphrase_file(plain: &[u8], pass: &str) -> Vec<u8> {
    // Written with the library's own dependency, as `age -p` would.
    let enc =
        age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(pass.to_string()));
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn identity_file_kinds_open_through_the_keyring() {
    let (t, ada) = two_environments();
    // The identity given as text in CACHET_IDENTITY, and through a command.
    let key = fs::read_to_string(ada.identity_file()).unwrap();
    let nobody = t.person("nobody");
    let o = t.run_with(
        &nobody,
        &["open", "config/prod/app.toml"],
        b"",
        &[("CACHET_IDENTITY", &key)],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, PROD);
    let cmd = format!("cat '{}'", ada.identity_file().display());
    let o = t.run_with(
        &nobody,
        &["open", "config/prod/app.toml"],
        b"",
        &[("CACHET_IDENTITY_COMMAND", &cmd)],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, PROD);
    assert!(Path::new(&ada.identity_file()).exists());
}

/// Runs `cachet ARGS` on a pseudo-terminal (with `script`), typing `typed`.
fn on_terminal(t: &Team, who: &Person, args: &[&str], typed: &str) -> Option<i32> {
    terminal_session(t, who, args, typed).map(|(code, _)| code)
}

/// As [`on_terminal`], also returning what the terminal showed.
fn terminal_session(t: &Team, who: &Person, args: &[&str], typed: &str) -> Option<(i32, String)> {
    if !tool("script") {
        return None;
    }
    let line = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    isolate(&mut cmd, &who.home);
    let mut child = cmd
        .args(["-qec", &line, "/dev/null"])
        .current_dir(t.root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[test]
fn a_passphrase_protected_identity_is_asked_for_on_a_terminal_only() {
    let t = Team::new();
    let ada = t.person("ada");
    let id = ada.identity_file();
    fs::create_dir_all(id.parent().unwrap()).unwrap();
    let id_arg = id.to_str().unwrap();

    // Without a terminal there is nobody to ask: nothing is written.
    let o = t.run(&ada, &["keygen", "--passphrase", "-o", id_arg]);
    assert_refused(&o, 2, "asks for the passphrase on a terminal");
    assert!(!id.exists());

    // Two different passphrases: nothing is written.
    let Some(code) = on_terminal(
        &t,
        &ada,
        &["keygen", "--passphrase", "-o", id_arg],
        "one\ntwo\n",
    ) else {
        return;
    };
    assert_eq!(code, 2);
    assert!(!id.exists());

    assert_eq!(
        on_terminal(
            &t,
            &ada,
            &["keygen", "--passphrase", "-o", id_arg],
            "open sesame\nopen sesame\n"
        ),
        Some(0)
    );
    let text = fs::read_to_string(&id).unwrap();
    assert!(
        text.contains("\ncachet-identity:v1:argon2id:m=262144,t=3,p=1:"),
        "{text}"
    );
    assert!(!text.contains("AGE-SECRET-KEY"));

    // The protected identity makes ada a member (its public key is in a comment
    // line, so no passphrase is needed for that) and opens through the keyring
    // once the passphrase is typed.
    t.ok(
        &ada,
        &["init", "--env", "production", "--files", "config/**"],
    );
    t.write("config/app.toml", PROD);
    t.ok(&ada, &["seal", "config/app.toml"]);
    let o = t.run(&ada, &["open", "config/app.toml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("protected by a passphrase, and there is no terminal to ask it on"),
        "{}",
        o.stderr
    );

    let out = t.dir.path().join("opened.toml");
    let out_arg = out.to_str().unwrap();
    assert_eq!(
        on_terminal(
            &t,
            &ada,
            &["open", "config/app.toml", "-o", out_arg],
            "wrong\n"
        ),
        Some(2)
    );
    assert!(!out.exists());
    assert_eq!(
        on_terminal(
            &t,
            &ada,
            &["open", "config/app.toml", "-o", out_arg],
            "open sesame\n"
        ),
        Some(0)
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), PROD);
}

/// The ways a repository writer could get a value sealed to their key, or the
/// environment's key given to them, without a member noticing.
#[test]
fn a_repository_writer_cannot_redirect_sealing_or_grant_themselves_access() {
    let (t, ada) = two_environments();
    let (mallory, mallory_key) = t.person_with_key("mallory");

    // A nested policy of their own for a subdirectory.
    t.write(
        "config/prod/.cachet.toml",
        &format!(
            "version = 1\n[environments.production]\npublic_key = \"{mallory_key}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = [\"**\"]\n[environments.production.members]\nm = \"{mallory_key}\"\n"
        ),
    );
    t.write("config/prod/pay.toml", "api_token = \"t1\"\n");
    let o = t.run(&ada, &["seal", "config/prod/pay.toml"]);
    assert_refused(&o, 1, "cachet uses one policy per repository");
    assert_eq!(t.read("config/prod/pay.toml"), "api_token = \"t1\"\n");
    fs::remove_file(t.path("config/prod/.cachet.toml")).unwrap();

    // A new environment of theirs that captures some of production's files.
    let policy = t.read(".cachet.toml");
    let narrowed = policy.replace(
        "files = [\"config/prod/**\"]",
        "files = [\"config/prod/app.toml\"]",
    ) + &format!(
        "\n[environments.extra]\npublic_key = \"{mallory_key}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = [\"config/prod/pay.toml\"]\n[environments.extra.members]\nm = \"{mallory_key}\"\n"
    );
    fs::write(t.path(".cachet.toml"), &narrowed).unwrap();
    fs::create_dir_all(t.path(".cachet/keys")).unwrap();
    fs::copy(
        t.path(".cachet/keys/staging.age"),
        t.path(".cachet/keys/extra.age"),
    )
    .unwrap();
    let o = t.run(&ada, &["seal", "config/prod/pay.toml"]);
    assert_refused(&o, 1, "environment extra (key id ");
    assert!(o.stderr.contains("is new to this machine"), "{}", o.stderr);
    assert_eq!(t.read("config/prod/pay.toml"), "api_token = \"t1\"\n");
    fs::write(t.path(".cachet.toml"), &policy).unwrap();
    fs::remove_file(t.path(".cachet/keys/extra.age")).unwrap();

    // --env never moves a covered file to another environment.
    let o = t.run(&ada, &["seal", "--env", "staging", "config/prod/pay.toml"]);
    assert_refused(&o, 1, "belongs to environment production");

    // A hand-added member is not granted the key by a sync without --grant.
    let edited = policy.replace(
        "[environments.production.members]\n",
        &format!("[environments.production.members]\nmallory = \"{mallory_key}\"\n"),
    );
    fs::write(t.path(".cachet.toml"), &edited).unwrap();
    let o = t.run(&ada, &["check"]);
    assert!(
        o.stdout
            .contains("a hand-added member may be someone granting themselves access"),
        "{}",
        o.stdout
    );
    let o = t.run(&ada, &["members", "sync", "production"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("syncing would give the key to \"mallory\""),
        "{}",
        o.stderr
    );
    assert_eq!(t.run(&mallory, &["open", "config/prod/app.toml"]).code, 1);
    t.ok(&ada, &["members", "sync", "production", "--grant"]);
    assert_eq!(
        t.ok(&mallory, &["open", "config/prod/app.toml"]).stdout,
        PROD
    );
    fs::write(t.path(".cachet.toml"), &policy).unwrap();
}

#[test]
fn check_reports_orphan_keyrings_and_unusable_identities_and_seal_takes_a_file_once() {
    let (t, ada) = two_environments();
    fs::copy(
        t.path(".cachet/keys/staging.age"),
        t.path(".cachet/keys/orphan.age"),
    )
    .unwrap();
    let o = t.run(&ada, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains(".cachet/keys/orphan.age: problem: a keyring of no environment"),
        "{}",
        o.stdout
    );
    fs::remove_file(t.path(".cachet/keys/orphan.age")).unwrap();
    t.ok(&ada, &["check"]);
    let o = t.run(&ada, &["check", "-i", "/nonexistent/key.txt"]);
    assert_refused(&o, 2, "identity file /nonexistent/key.txt");

    let o = t.run_with(
        &ada,
        &["set", "config/prod/none.toml", "x_token", "--create"],
        b"v",
        &[],
    );
    assert_refused(&o, 2, "config/prod/none.toml: no such file");

    // The same file under two names is sealed once, without waiting on itself.
    t.write("config/prod/dup.toml", "api_token = \"d\"\n");
    let o = t.ok(
        &ada,
        &["seal", "config/prod/dup.toml", "./config/prod/dup.toml"],
    );
    assert!(o.stderr.contains("sealed 1 value"), "{}", o.stderr);
}

#[test]
fn the_access_log_names_the_member_and_the_environment() {
    let (t, ada) = two_environments();
    let o = t.ok(
        &ada,
        &[
            "get",
            "config/prod/app.toml",
            "db.password",
            "--audit-log",
            "access.log",
        ],
    );
    assert_eq!(o.stdout, "prod-pw-1");
    let (bob, _) = t.person_with_key("bob");
    let o = t.run(
        &bob,
        &[
            "open",
            "config/staging/app.toml",
            "--audit-log",
            "access.log",
        ],
    );
    assert_eq!(o.code, 1);
    let log = t.read("access.log");
    assert!(!log.contains("prod-pw-1") && !log.contains("staging-pw-2"));
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    let policy = t.read(".cachet.toml");
    let ada_key = policy
        .lines()
        .find_map(|l| l.strip_prefix("\"Ada Lovelace\" = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    assert_eq!(lines[0]["environment"], "production");
    assert_eq!(lines[0]["member"], "Ada Lovelace");
    assert_eq!(lines[0]["identity"], ada_key);
    assert_eq!(lines[0]["paths"], serde_json::json!(["db.password"]));
    assert_eq!(lines[0]["outcome"], "ok");
    assert_eq!(lines[1]["environment"], "staging");
    assert_eq!(lines[1]["member"], serde_json::Value::Null);
    assert_eq!(lines[1]["outcome"], "refused");
    assert_eq!(
        lines[1]["error"],
        "environment staging: you are not a member: none of your identities opens .cachet/keys/staging.age"
    );
}

/// `cachet attest` lists what changed since the last attested version in git;
/// a member at a terminal sees the changed sealed values opened, and without a
/// terminal (a log) they stay "(sealed)".
#[test]
fn attest_lists_the_changes_and_opens_them_only_on_a_terminal() {
    let (t, ada) = two_environments();
    let who = [
        ("GIT_AUTHOR_NAME", "ada".to_string()),
        ("GIT_AUTHOR_EMAIL", "ada@example.com".to_string()),
        ("GIT_COMMITTER_NAME", "ada".to_string()),
        ("GIT_COMMITTER_EMAIL", "ada@example.com".to_string()),
    ];
    let root = t.root();
    let git = |args: &[&str]| common::git(&root, &ada.home, &who, args);
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "attested by ada's seal"]);
    // A writer without the key changes the plain host and seals a new password.
    let sealed = t.read("config/prod/app.toml");
    let body = sealed.split("# cachet:attest:").next().unwrap();
    t.write(
        "config/prod/app.toml",
        &body.replace("db.internal", "db.moved"),
    );
    let recipient = t.public_key("production");
    let nobody = t.person("nobody");
    let o = t.run_with(
        &nobody,
        &[
            "set",
            "-r",
            &recipient,
            "config/prod/app.toml",
            "db.password",
        ],
        b"prod-pw-new",
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    git(&["commit", "-q", "-am", "moved"]);
    // In a log: values named, secrets not shown.
    let o = t.ok(&ada, &["attest", "--yes", "config/prod/app.toml"]);
    assert!(
        o.stderr
            .starts_with("config/prod/app.toml: changed since the last attested version ("),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("  ~ db.host: \"db.internal\" -> \"db.moved\"\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("  ~ db.password: (sealed) -> (sealed)\n"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("prod-pw"), "{}", o.stderr);
    // And every line added or removed, so a change that is no value's text (a
    // YAML tag, a merge key) is seen too.
    assert!(
        o.stderr
            .contains("  lines:\n    - host = \"db.internal\"\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("    + host = \"db.moved\"\n"),
        "{}",
        o.stderr
    );
    // At a terminal, the member sees what the sealed value became.
    git(&["checkout", "-q", "--", "config/prod/app.toml"]);
    let Some((code, shown)) =
        terminal_session(&t, &ada, &["attest", "--yes", "config/prod/app.toml"], "")
    else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("~ db.password: \"prod-pw-1\" (sealed) -> \"prod-pw-new\" (sealed)"),
        "{shown}"
    );
}
