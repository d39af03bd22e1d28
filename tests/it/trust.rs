//! The trust model (spec/policy.md section 8), one test per attack: each person
//! has a home of their own (identity, key pins), works in a real `git clone` of
//! one shared origin, and the attacker only pushes commits. Every test first
//! shows what the attacker changed, then that cachet refuses (or does the safe
//! thing) and that the victim's files and the attacker's copies hold nothing the
//! attacker can open.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, Out, key_id_of};

const PROD: &str = "[db]\nhost = \"db.internal\"\npassword = \"prod-pw-1\"\n";
const STAGING: &str = "[db]\nhost = \"db.staging\"\npassword = \"staging-pw-2\"\n";

/// An origin repository and, beside it, a home and clones per person.
struct World {
    dir: tempfile::TempDir,
}

/// One person: their home (identity, pins), and the name git records.
struct Person {
    name: &'static str,
    home: PathBuf,
}

impl World {
    fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        let origin = w.dir.path().join("origin.git");
        w.git_in(
            w.dir.path(),
            None,
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        assert!(origin.is_dir());
        w
    }

    /// A person with an empty home.
    fn person(&self, name: &'static str) -> Person {
        let home = self.dir.path().join(format!("home-{name}"));
        fs::create_dir_all(&home).unwrap();
        Person { name, home }
    }

    /// A person with an identity of their own; returns their recipient too.
    fn person_with_key(&self, name: &'static str) -> (Person, String) {
        let p = self.person(name);
        let id = p.home.join(".config/cachet/identity.txt");
        fs::create_dir_all(id.parent().unwrap()).unwrap();
        let o = self.run(&p, self.dir.path(), &["keygen", "-o", id.to_str().unwrap()]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        (p, o.stdout.trim().to_string())
    }

    /// The same identity on a new machine: an empty home holding only the key.
    fn new_machine(&self, p: &Person, name: &'static str) -> Person {
        let fresh = self.person(name);
        let id = fresh.home.join(".config/cachet/identity.txt");
        fs::create_dir_all(id.parent().unwrap()).unwrap();
        fs::copy(p.home.join(".config/cachet/identity.txt"), &id).unwrap();
        Person {
            name: p.name,
            home: fresh.home,
        }
    }

    /// A fresh clone of the origin, made by `who`, at `name`.
    fn clone(&self, who: &Person, name: &str) -> PathBuf {
        let to = self.dir.path().join(name);
        self.git_in(
            self.dir.path(),
            Some(who),
            &["clone", "-q", "origin.git", to.to_str().unwrap()],
        );
        to
    }

    fn git_in(&self, cwd: &Path, who: Option<&Person>, args: &[&str]) -> String {
        let name = who.map_or("setup", |p| p.name);
        let home = who.map_or_else(|| self.dir.path().to_path_buf(), |p| p.home.clone());
        let email = format!("{name}@example.com");
        let who = [
            ("GIT_AUTHOR_NAME", name.to_string()),
            ("GIT_AUTHOR_EMAIL", email.clone()),
            ("GIT_COMMITTER_NAME", name.to_string()),
            ("GIT_COMMITTER_EMAIL", email),
        ];
        common::git(cwd, &home, &who, args)
    }

    /// Commits everything in `clone` and pushes it.
    fn push(&self, who: &Person, clone: &Path, message: &str) {
        self.git_in(clone, Some(who), &["add", "-A"]);
        self.git_in(clone, Some(who), &["commit", "-q", "-m", message]);
        self.git_in(clone, Some(who), &["push", "-q", "origin", "HEAD:main"]);
    }

    fn pull(&self, who: &Person, clone: &Path) {
        self.git_in(
            clone,
            Some(who),
            &["pull", "-q", "--ff-only", "origin", "main"],
        );
    }

    fn run_env(&self, who: &Person, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut env = env.to_vec();
        env.push(("USER", who.name));
        let o = common::run_cachet(cwd, &who.home, args, b"", &env);
        for secret in ["prod-pw-1", "staging-pw-2", "prod-pw-new"] {
            assert!(
                !o.stderr.contains(secret),
                "{args:?} printed a secret: {}",
                o.stderr
            );
        }
        o
    }

    fn run(&self, who: &Person, cwd: &Path, args: &[&str]) -> Out {
        self.run_env(who, cwd, args, &[])
    }

    fn ok(&self, who: &Person, cwd: &Path, args: &[&str]) -> Out {
        let o = self.run(who, cwd, args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn read(root: &Path, rel: &str) -> String {
    fs::read_to_string(root.join(rel)).unwrap()
}

/// The key id of the first token of a file.
fn token_key(root: &Path, rel: &str) -> String {
    let text = read(root, rel);
    let start = text.find("cachet:v1:").unwrap() + "cachet:v1:".len();
    text[start..start + 16].to_string()
}

/// The policy's public key of an environment (its `public_key = "age1…"` line
/// within the environment's table).
fn public_key(root: &Path, env: &str) -> String {
    let policy = read(root, ".cachet.toml");
    let table = &policy[policy.find(&format!("[environments.{env}]")).unwrap()..];
    let line = table.lines().find(|l| l.starts_with("public_key")).unwrap();
    line.split('"').nth(1).unwrap().to_string()
}

/// ada, a member of production and staging, pushes a repository with a sealed
/// file for each; returns the world, ada and ada's clone.
fn team() -> (World, Person, PathBuf) {
    let w = World::new();
    let (ada, _) = w.person_with_key("ada");
    let repo = w.clone(&ada, "ada");
    w.ok(&ada, &repo, &["init", "--self-name", "ada"]);
    w.ok(
        &ada,
        &repo,
        &["env", "add", "production", "--files", "config/prod/**"],
    );
    w.ok(
        &ada,
        &repo,
        &["env", "add", "staging", "--files", "config/staging/**"],
    );
    write(&repo, "config/prod/app.toml", PROD);
    write(&repo, "config/staging/app.toml", STAGING);
    // `init` keeps the empty lock files out of commits.
    assert!(read(&repo, ".gitignore").contains("*.cachet-lock\n"));
    w.ok(
        &ada,
        &repo,
        &["seal", "config/prod/app.toml", "config/staging/app.toml"],
    );
    w.push(&ada, &repo, "production and staging");
    (w, ada, repo)
}

/// mallory, who can push but holds no key, points production's plain
/// `db.host` at a server of theirs and pushes; returns mallory and their clone.
fn mallory_moves_the_database(w: &World) -> (Person, PathBuf) {
    let (mallory, _) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    let app = read(&clone, "config/prod/app.toml").replace("db.internal", "attacker.example");
    write(&clone, "config/prod/app.toml", &app);
    w.push(&mallory, &clone, "move the database");
    (mallory, clone)
}

/// mallory, who can push but holds no key, swaps production's public key for
/// their own and pushes; returns mallory's recipient.
fn swap_production_key(w: &World) -> (Person, String) {
    let (mallory, mallory_key) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    let real = public_key(&clone, "production");
    let policy = read(&clone, ".cachet.toml").replace(&real, &mallory_key);
    write(&clone, ".cachet.toml", &policy);
    w.push(&mallory, &clone, "tidy the policy");
    (mallory, mallory_key)
}

/// mallory's identity opens nothing of `rel` in `root`.
fn mallory_opens_nothing(w: &World, mallory: &Person, root: &Path, rel: &str) {
    let o = w.run(mallory, root, &["open", rel]);
    assert_eq!(o.code, 1, "mallory opened {rel}: {}", o.stdout);
    assert_eq!(o.stdout, "");
}

/// Attack 1: pins belong to the repository, not to a checkout's path. A sealer
/// who holds only the public key pinned production in one clone; after the swap,
/// a fresh clone and a worktree of the old one refuse it alike.
#[test]
fn a_swapped_key_is_refused_in_every_clone_and_worktree_of_a_pinned_repository() {
    let (w, _ada, repo) = team();
    let real = public_key(&repo, "production");
    let sam = w.person("sam");
    let first = w.clone(&sam, "sam-1");
    write(&first, "config/prod/a.toml", "api_token = \"tok-a\"\n");
    let o = w.ok(&sam, &first, &["seal", "config/prod/a.toml"]);
    assert!(o.stderr.contains("pinned its key"), "{}", o.stderr);
    let (mallory, mallory_key) = swap_production_key(&w);

    let fresh = w.clone(&sam, "sam-2");
    w.pull(&sam, &first);
    let worktree = w.dir.path().join("sam-worktree");
    w.git_in(
        &first,
        Some(&sam),
        &["worktree", "add", "-q", worktree.to_str().unwrap(), "HEAD"],
    );
    for root in [&fresh, &first, &worktree] {
        assert_eq!(public_key(root, "production"), mallory_key);
        write(root, "config/prod/b.toml", "api_token = \"tok-b\"\n");
        let o = w.run(&sam, root, &["seal", "config/prod/b.toml"]);
        assert_eq!(o.code, 1, "{}: {}", root.display(), o.stderr);
        assert_eq!(
            o.stderr,
            format!(
                "cachet: environment production: its public key in .cachet.toml changed (key id {}; this machine pinned key id {}); a key swapped in by someone else would let them read what you seal: check the history of .cachet.toml, run `cachet check`, and only then pass --accept-new-key\n",
                key_id_of(&mallory_key),
                key_id_of(&real)
            )
        );
        assert_eq!(read(root, "config/prod/b.toml"), "api_token = \"tok-b\"\n");
    }
    mallory_opens_nothing(&w, &mallory, &fresh, "config/prod/app.toml");
}

/// Attack 1, with a new history root: mallory merges an unrelated history
/// (which gives the repository a second root commit) along with the swap; the
/// repository is still the one pinned, not a new one trusted on first use.
#[test]
fn a_merged_unrelated_history_does_not_make_the_repository_new() {
    let (w, _ada, _repo) = team();
    let sam = w.person("sam");
    let first = w.clone(&sam, "sam-1");
    write(&first, "config/prod/a.toml", "api_token = \"tok-a\"\n");
    w.ok(&sam, &first, &["seal", "config/prod/a.toml"]);
    let (mallory, mallory_key) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    w.git_in(
        &clone,
        Some(&mallory),
        &["checkout", "-q", "--orphan", "other"],
    );
    w.git_in(&clone, Some(&mallory), &["rm", "-rq", "--cached", "."]);
    w.git_in(
        &clone,
        Some(&mallory),
        &["commit", "-q", "--allow-empty", "-m", "unrelated"],
    );
    w.git_in(&clone, Some(&mallory), &["checkout", "-q", "-f", "main"]);
    w.git_in(
        &clone,
        Some(&mallory),
        &[
            "merge",
            "-q",
            "--allow-unrelated-histories",
            "-m",
            "merge",
            "other",
        ],
    );
    let real = public_key(&clone, "production");
    let policy = read(&clone, ".cachet.toml").replace(&real, &mallory_key);
    write(&clone, ".cachet.toml", &policy);
    w.push(&mallory, &clone, "tidy the policy");

    let fresh = w.clone(&sam, "sam-2");
    let roots = w.git_in(&fresh, Some(&sam), &["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(roots.lines().count(), 2, "{roots}");
    write(&fresh, "config/prod/b.toml", "api_token = \"tok-b\"\n");
    let o = w.run(&sam, &fresh, &["seal", "config/prod/b.toml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "its public key in .cachet.toml changed (key id {}; this machine pinned key id {})",
            key_id_of(&mallory_key),
            key_id_of(&real)
        )),
        "{}",
        o.stderr
    );
    assert_eq!(
        read(&fresh, "config/prod/b.toml"),
        "api_token = \"tok-b\"\n"
    );
}

/// Attack 1, for a machine that never saw the repository (a CI job): the key
/// comes from CACHET_TRUST, outside the repository, and --require-pin turns
/// first use into a refusal.
#[test]
fn a_sealer_without_pins_takes_its_anchor_from_outside_the_repository() {
    let (w, _ada, repo) = team();
    let real = public_key(&repo, "production");
    let (_mallory, mallory_key) = swap_production_key(&w);
    let ci = w.person("ci");
    let clone = w.clone(&ci, "ci");
    write(&clone, "config/prod/b.toml", "api_token = \"tok-b\"\n");
    let anchor = format!("production={}", key_id_of(&real));
    let o = w.run_env(
        &ci,
        &clone,
        &["seal", "config/prod/b.toml"],
        &[("CACHET_TRUST", &anchor)],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        format!(
            "cachet: environment production: its public key in .cachet.toml (key id {}) is not the key CACHET_TRUST names (key id {}); nothing was sealed: find out who changed .cachet.toml before changing CACHET_TRUST\n",
            key_id_of(&mallory_key),
            key_id_of(&real)
        )
    );
    // Without an anchor, --require-pin refuses the key nothing vouches for.
    let o = w.run(
        &ci,
        &clone,
        &["seal", "--require-pin", "config/prod/b.toml"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "environment production: its key (key id {}) is not pinned on this machine, and first use is refused",
            key_id_of(&mallory_key)
        )),
        "{}",
        o.stderr
    );
    assert_eq!(
        read(&clone, "config/prod/b.toml"),
        "api_token = \"tok-b\"\n"
    );
    // With the real key anchored, staging (not anchored) is refused under
    // CACHET_REQUIRE_PIN too, and production's own key seals.
    let clean = w.clone(&ci, "ci-before");
    w.git_in(&clean, Some(&ci), &["checkout", "-q", "HEAD~1"]);
    write(&clean, "config/prod/b.toml", "api_token = \"tok-b\"\n");
    let o = w.run_env(
        &ci,
        &clean,
        &["seal", "config/prod/b.toml"],
        &[("CACHET_TRUST", &anchor), ("CACHET_REQUIRE_PIN", "1")],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(token_key(&clean, "config/prod/b.toml"), key_id_of(&real));
    write(&clean, "config/staging/b.toml", "api_token = \"tok-b\"\n");
    let o = w.run_env(
        &ci,
        &clean,
        &["seal", "config/staging/b.toml"],
        &[("CACHET_TRUST", &anchor), ("CACHET_REQUIRE_PIN", "1")],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
}

/// Attack 2: a member on a new machine (no pins) verifies the policy against
/// the keyring they can open, and no flag makes them seal to the swapped key.
#[test]
fn a_member_on_a_new_machine_verifies_the_key_against_the_keyring() {
    let (w, ada, repo) = team();
    let real = public_key(&repo, "production");
    let (mallory, mallory_key) = swap_production_key(&w);
    let laptop = w.new_machine(&ada, "ada-laptop");
    let clone = w.clone(&laptop, "ada-laptop");
    write(&clone, "config/prod/b.toml", "api_token = \"tok-b\"\n");
    for args in [
        &["seal", "config/prod/b.toml"][..],
        &["seal", "--accept-new-key", "config/prod/b.toml"],
    ] {
        let o = w.run(&laptop, &clone, args);
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert_eq!(
            o.stderr,
            format!(
                "cachet: environment production: the public key in .cachet.toml (key id {}) is not the key of its keyring (key id {}), which you can open; nothing was sealed: find out who changed them (git log -- .cachet.toml .cachet/keys/production.age), and see `cachet check`\n",
                key_id_of(&mallory_key),
                key_id_of(&real)
            )
        );
    }
    let o = w.run(
        &laptop,
        &clone,
        &["set", "config/prod/app.toml", "db.token", "--create"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        read(&clone, "config/prod/b.toml"),
        "api_token = \"tok-b\"\n"
    );
    // check names the repair, and the repair itself adopts the keyring's key
    // only where this machine pinned it or the member says so.
    let o = w.run(&laptop, &clone, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains("only if this machine pinned it or you pass --accept-new-key"),
        "{}",
        o.stdout
    );
    let o = w.run(
        &laptop,
        &clone,
        &["members", "sync", "production", "--from-keyring"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "cachet: environment production: the keyring's key (key id {}) is not pinned on this machine, and adopting it would trust whoever wrote the keyring;",
            key_id_of(&real)
        )),
        "{}",
        o.stderr
    );
    assert_eq!(public_key(&clone, "production"), mallory_key);
    mallory_opens_nothing(&w, &mallory, &clone, "config/prod/app.toml");
}

/// Attack 3: `edit` and `seal --like` keep every existing value under its key;
/// on a swapped key they refuse instead of re-sealing old secrets to it.
#[test]
fn edit_and_seal_like_never_move_old_secrets_to_a_swapped_key() {
    let (w, ada, repo) = team();
    let (mallory, _) = swap_production_key(&w);
    let laptop = w.new_machine(&ada, "ada-laptop");
    let clone = w.clone(&laptop, "ada-laptop");
    let before = read(&clone, "config/prod/app.toml");
    let editor = w.dir.path().join("editor.sh");
    fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/db.internal/db2.internal/' \"$1\"\n",
    )
    .unwrap();
    let mut perms = fs::metadata(&editor).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&editor, perms).unwrap();
    let o = w.run_env(
        &laptop,
        &clone,
        &["edit", "config/prod/app.toml"],
        &[("CACHET_EDITOR", editor.to_str().unwrap())],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("is not the key of its keyring"),
        "{}",
        o.stderr
    );
    assert_eq!(read(&clone, "config/prod/app.toml"), before);

    let opened = w
        .ok(&laptop, &clone, &["open", "config/prod/app.toml"])
        .stdout;
    let plain = opened.replace("db.internal", "db2.internal");
    write(&clone, "config/prod/app.plain.toml", &plain);
    let o = w.run(
        &laptop,
        &clone,
        &[
            "seal",
            "config/prod/app.plain.toml",
            "--like",
            "config/prod/app.toml",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("is not the key of its keyring"),
        "{}",
        o.stderr
    );
    assert_eq!(read(&clone, "config/prod/app.plain.toml"), plain);
    assert_eq!(read(&clone, "config/prod/app.toml"), before);
    mallory_opens_nothing(&w, &mallory, &clone, "config/prod/app.toml");
    // Where the real key is pinned, the policy is repaired from the keyring, and
    // the edit then keeps every old value under its own key.
    w.pull(&ada, &repo);
    w.ok(
        &ada,
        &repo,
        &["members", "sync", "production", "--from-keyring"],
    );
    let o = w.run_env(
        &ada,
        &repo,
        &["edit", "config/prod/app.toml"],
        &[("CACHET_EDITOR", editor.to_str().unwrap())],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(read(&repo, "config/prod/app.toml").contains("db2.internal"));
    let after = read(&repo, "config/prod/app.toml");
    assert_eq!(
        token_key(&repo, "config/prod/app.toml"),
        token_key(&clone, "config/prod/app.toml")
    );
    assert_eq!(
        after
            .lines()
            .filter(|l| l.contains("cachet:v1:"))
            .collect::<Vec<_>>(),
        before
            .lines()
            .filter(|l| l.contains("cachet:v1:"))
            .collect::<Vec<_>>()
    );
}

/// Attack 4: a former member who kept their access plants a keyring whose
/// current key is theirs, the policy untouched. A member with no pin is told to
/// rotate; `rotate` makes a fresh key of its own; adopting the planted key
/// takes --accept-new-key.
#[test]
fn a_planted_rotation_is_never_finished_to_the_planters_key() {
    let (w, ada, repo) = team();
    let (mal, mal_key) = w.person_with_key("mal");
    w.ok(
        &ada,
        &repo,
        &["members", "add", "production", &format!("mal={mal_key}")],
    );
    w.push(&ada, &repo, "mal joins");
    let mals = w.clone(&mal, "mal");
    // mal rotates in their clone and keeps the new key, without pushing.
    w.ok(&mal, &mals, &["rotate", "production"]);
    let kept = w
        .ok(&mal, &mals, &["env", "key", "production", "--force"])
        .stdout;
    let planted = fs::read(mals.join(".cachet/keys/production.age")).unwrap();
    let mals_key = token_key(&mals, "config/prod/app.toml");
    w.git_in(&mals, Some(&mal), &["reset", "-q", "--hard", "origin/main"]);
    // ada removes mal; mal, who can still push, plants the keyring.
    w.ok(&ada, &repo, &["members", "remove", "production", "mal"]);
    w.push(&ada, &repo, "mal leaves");
    w.pull(&mal, &mals);
    fs::write(mals.join(".cachet/keys/production.age"), &planted).unwrap();
    w.push(&mal, &mals, "refresh keyring");

    // A member on a new machine: seal says to rotate; sync does not adopt.
    let laptop = w.new_machine(&ada, "ada-laptop");
    let clone = w.clone(&laptop, "ada-laptop");
    write(&clone, "config/prod/b.toml", "api_token = \"tok-b\"\n");
    let o = w.run(&laptop, &clone, &["seal", "config/prod/b.toml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "its keyring holds a key this machine has not pinned (key id {mals_key}"
        )) && o.stderr.contains("run `cachet rotate production`"),
        "{}",
        o.stderr
    );
    let o = w.run(
        &laptop,
        &clone,
        &["members", "sync", "production", "--from-keyring"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "the keyring's key (key id {mals_key}) is not pinned on this machine"
        )),
        "{}",
        o.stderr
    );
    // rotate makes a key of its own; mal's kept key opens nothing after it.
    let o = w.ok(&laptop, &clone, &["rotate", "production"]);
    assert!(
        o.stderr.contains("environment production: rotated to key id")
            && o.stderr.contains("; 1 value in 1 file re-sealed;")
            && o.stderr.contains(
                "cachet: .cachet/keys/production.age: was also sealed to \"mal\", not members in .cachet.toml; the new key is sealed without them"
            ),
        "{}",
        o.stderr
    );
    let now = token_key(&clone, "config/prod/app.toml");
    assert_ne!(now, mals_key);
    assert_eq!(public_key(&clone, "production").len(), mal_key.len());
    let o = w.run_env(
        &mal,
        &clone,
        &["open", "config/prod/app.toml"],
        &[("CACHET_IDENTITY", &kept)],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let o = w.ok(&laptop, &clone, &["open", "config/prod/app.toml"]);
    assert_eq!(o.stdout, PROD);
    // Nor does mal's own identity open the new keyring.
    let o = w.run(&mal, &clone, &["env", "key", "production", "--force"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(o.stdout, "");
}

/// Attack 5: a commit moves a glob from production to staging. The machine that
/// sealed the file for production refuses to seal it for staging until told,
/// and every write names the environment it sealed for.
#[test]
fn a_file_moved_to_another_environment_is_refused_until_accepted() {
    let (w, ada, repo) = team();
    write(
        &repo,
        "config/prod/db/creds.toml",
        "password = \"prod-pw-1\"\n",
    );
    let o = w.ok(&ada, &repo, &["seal", "config/prod/db/creds.toml"]);
    assert!(
        o.stderr.starts_with(
            "config/prod/db/creds.toml: sealed 1 value for environment production (key id "
        ),
        "{}",
        o.stderr
    );
    w.push(&ada, &repo, "db credentials");
    let (mallory, _) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    let policy = read(&clone, ".cachet.toml")
        .replace("\"config/prod/**\"", "\"config/prod/*.toml\"")
        .replace(
            "\"config/staging/**\"",
            "\"config/staging/**\", \"config/prod/db/**\"",
        );
    write(&clone, ".cachet.toml", &policy);
    w.push(&mallory, &clone, "narrow production");
    w.pull(&ada, &repo);
    write(
        &repo,
        "config/prod/db/creds.toml",
        "password = \"prod-pw-new\"\n",
    );
    let o = w.run(&ada, &repo, &["seal", "config/prod/db/creds.toml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "cachet: config/prod/db/creds.toml: this machine sealed it for environment production, and .cachet.toml now puts it in environment staging, whose members would open what you seal; check the history of .cachet.toml, then pass --accept-new-env\n"
    );
    assert_eq!(
        read(&repo, "config/prod/db/creds.toml"),
        "password = \"prod-pw-new\"\n"
    );
    let o = w.run(
        &ada,
        &repo,
        &["set", "config/prod/db/creds.toml", "token", "--create"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    // Told, it seals for staging and says so.
    let o = w.ok(
        &ada,
        &repo,
        &["seal", "--accept-new-env", "config/prod/db/creds.toml"],
    );
    assert!(
        o.stderr.starts_with(
            "config/prod/db/creds.toml: sealed 1 value for environment staging (key id "
        ),
        "{}",
        o.stderr
    );
    w.ok(&ada, &repo, &["seal", "config/prod/db/creds.toml"]);
}

/// Attack 6: a policy in a parent directory written by another user is not
/// used, unless that directory is named in CACHET_SAFE_DIRECTORIES; and `init`
/// does not nest a policy inside another's tree.
#[test]
fn a_policy_owned_by_another_user_is_refused_and_init_does_not_nest() {
    if !running_as_root() {
        // Only root can make a file another user owns.
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    let (w, ada, _repo) = team();
    let (mallory, _) = w.person_with_key("mallory");
    let shared = w.dir.path().join("shared");
    fs::create_dir_all(shared.join("app/config")).unwrap();
    w.ok(&mallory, &shared, &["init", "--self-name", "mallory"]);
    w.ok(
        &mallory,
        &shared,
        &["env", "add", "production", "--files", "app/config/**"],
    );
    for team_file in [
        ".cachet.toml",
        ".cachet",
        ".cachet/keys",
        ".cachet/keys/production.age",
    ] {
        chown(&shared.join(team_file), 65534);
    }
    write(&shared, "app/config/app.toml", "api_token = \"tok-1\"\n");
    let app = shared.join("app");
    let o = w.run(&ada, &app, &["seal", "config/app.toml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        format!(
            "cachet: {}: is owned by another user (uid 65534), and whoever can write it chooses the keys your secrets are sealed to; if you trust that user, add {} to CACHET_SAFE_DIRECTORIES\n",
            shared.join(".cachet.toml").display(),
            shared.display()
        )
    );
    assert_eq!(read(&app, "config/app.toml"), "api_token = \"tok-1\"\n");
    // Named as safe, it is used.
    let o = w.run_env(
        &ada,
        &app,
        &["seal", "config/app.toml"],
        &[("CACHET_SAFE_DIRECTORIES", shared.to_str().unwrap())],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // init inside another policy's tree is refused.
    fs::create_dir_all(shared.join("sub")).unwrap();
    let o = w.run_env(
        &ada,
        &shared.join("sub"),
        &["init"],
        &[("CACHET_SAFE_DIRECTORIES", shared.to_str().unwrap())],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("is inside the tree of"), "{}", o.stderr);
    assert!(!shared.join("sub/.cachet.toml").exists());
}

/// Attack 7: symbolic links committed to the repository are never followed: a
/// lock file's name, the `.cachet/` directory, a covered file, with or without
/// --env and -r.
#[test]
fn committed_symbolic_links_are_never_followed() {
    let (w, ada, _repo) = team();
    let (mallory, mallory_key) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    let outside = w.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("victim.toml"), "api_token = \"tok-outside\"\n").unwrap();
    let link = |target: &Path, at: &str| {
        let p = clone.join(at);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    };
    link(&outside.join("lock"), "config/prod/.app.toml.cachet-lock");
    link(&outside.join("victim.toml"), "config/prod/linked.toml");
    w.git_in(
        &clone,
        Some(&mallory),
        &["add", "-f", "config/prod/.app.toml.cachet-lock"],
    );
    w.push(&mallory, &clone, "links");
    let repo = w.clone(&ada, "ada-2");
    assert!(
        fs::symlink_metadata(repo.join("config/prod/linked.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // The lock file's link.
    let o = w.run(
        &ada,
        &repo,
        &["set", "config/prod/app.toml", "db.token", "--create"],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("symbolic link"), "{}", o.stderr);
    assert!(!outside.join("lock").exists());
    // The covered file that is a link, however it is named.
    for args in [
        &["seal", "config/prod/linked.toml"][..],
        &["seal", "config/prod/linked.toml", "--env", "production"],
        &["seal", "config/prod/linked.toml", "-r", &mallory_key],
    ] {
        let o = w.run(&ada, &repo, args);
        assert_eq!(o.code, 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("symbolic link"), "{}", o.stderr);
        assert_eq!(
            fs::read_to_string(outside.join("victim.toml")).unwrap(),
            "api_token = \"tok-outside\"\n"
        );
    }
    // A .cachet/ that is a link receives no keyring.
    let clone2 = w.clone(&mallory, "mallory-2");
    fs::rename(clone2.join(".cachet"), outside.join("cachet-dir")).unwrap();
    std::os::unix::fs::symlink(outside.join("cachet-dir"), clone2.join(".cachet")).unwrap();
    w.push(&mallory, &clone2, "move keyrings");
    w.pull(&ada, &repo);
    let before = fs::read(outside.join("cachet-dir/keys/production.age")).unwrap();
    let o = w.run(&ada, &repo, &["rotate", "production"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("symbolic link"), "{}", o.stderr);
    assert_eq!(
        fs::read(outside.join("cachet-dir/keys/production.age")).unwrap(),
        before
    );
}

/// Attack 8: git runs with the programs a repository's own configuration names
/// turned off. A copied (not cloned) directory carries `.git/config`; its
/// core.fsmonitor runs for a plain `git status`, never for cachet.
#[test]
fn git_configured_programs_of_a_copied_repository_never_run() {
    let (w, ada, repo) = team();
    let copy = w.dir.path().join("copied");
    let ok = Command::new("cp")
        .args(["-a", repo.to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let marker = w.dir.path().join("ran");
    let program = w.dir.path().join("fsmonitor.sh");
    fs::write(
        &program,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    let mut perms = fs::metadata(&program).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&program, perms).unwrap();
    let program = program.to_str().unwrap();
    for (key, value) in [
        ("core.fsmonitor", program),
        ("diff.external", program),
        ("core.pager", program),
        ("filter.x.clean", program),
        ("filter.x.process", program),
    ] {
        w.git_in(&copy, Some(&ada), &["config", key, value]);
    }
    write(&copy, ".gitattributes", "* filter=x\n");
    // The attack is real: git itself runs it.
    let _ = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&copy)
        .env("HOME", &ada.home)
        .output()
        .unwrap();
    assert!(
        marker.exists(),
        "the configured program did not run for git"
    );
    fs::remove_file(&marker).unwrap();
    let o = w.run(&ada, &copy, &["check"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    w.ok(&ada, &copy, &["rotate", "production"]);
    w.ok(&ada, &copy, &["audit"]);
    assert!(
        !marker.exists(),
        "cachet ran a program the repository names"
    );
}

fn running_as_root() -> bool {
    let o = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim() == "0"
}

fn chown(path: &Path, uid: u32) {
    let ok = Command::new("chown")
        .arg(uid.to_string())
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown {}", path.display());
}

/// Two member changes merged in git conflict in `.cachet.toml` and the keyring:
/// each says it is a merge conflict and how to get out, and the way out works.
#[test]
fn a_merge_conflict_in_team_files_says_how_to_get_out() {
    let (w, ada, repo) = team();
    let (_bob, bob_key) = w.person_with_key("bob");
    let (_cy, cy_key) = w.person_with_key("cy");
    let other = w.clone(&ada, "ada-other");
    w.ok(
        &ada,
        &other,
        &["members", "add", "production", &format!("cy={cy_key}")],
    );
    w.push(&ada, &other, "cy joins");
    w.ok(
        &ada,
        &repo,
        &["members", "add", "production", &format!("bob={bob_key}")],
    );
    w.git_in(&repo, Some(&ada), &["add", "-A"]);
    w.git_in(&repo, Some(&ada), &["commit", "-q", "-m", "bob joins"]);
    let merged = Command::new("git")
        .args(["pull", "-q", "--no-rebase", "origin", "main"])
        .current_dir(&repo)
        .env("HOME", &ada.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(!merged.status.success(), "the two changes merged cleanly");
    let o = w.run(&ada, &repo, &["check"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.ends_with(".cachet.toml: holds an unresolved git merge conflict (<<<<<<< … >>>>>>>); resolve it by hand, keeping the changes of both sides, then run `cachet check`\n"),
        "{}",
        o.stderr
    );
    // The policy resolved (here: their side); the keyring still conflicted.
    w.git_in(&repo, Some(&ada), &["checkout", "--theirs", ".cachet.toml"]);
    let o = w.run(&ada, &repo, &["open", "config/prod/app.toml"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "cachet: .cachet/keys/production.age: holds an unresolved git merge conflict, and a keyring cannot be merged line by line: take one side (`git checkout --ours .cachet/keys/production.age`), resolve .cachet.toml, then run `cachet members sync production` (with --grant for a member the other side added) and `cachet check`\n"
    );
    assert_eq!(o.stdout, "");
    // The way out it gives.
    w.git_in(
        &repo,
        Some(&ada),
        &["checkout", "--ours", ".cachet/keys/production.age"],
    );
    w.ok(&ada, &repo, &["members", "sync", "production", "--grant"]);
    let o = w.run(&ada, &repo, &["check"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        w.ok(&ada, &repo, &["open", "config/prod/app.toml"]).stdout,
        PROD
    );
}

/// A deploy target given another environment's key is told which key it holds
/// and which it needs, not that it is "not a member".
#[test]
fn a_deploy_target_with_another_environments_key_is_told_so() {
    let (w, ada, repo) = team();
    let staging_key = w
        .ok(&ada, &repo, &["env", "key", "staging", "--force"])
        .stdout;
    let target = w.person("target");
    let checkout = w.clone(&target, "target");
    let key_file = target.home.join("staging.key");
    fs::write(&key_file, &staging_key).unwrap();
    let mut perms = fs::metadata(&key_file).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    fs::set_permissions(&key_file, perms).unwrap();
    let o = w.run(
        &target,
        &checkout,
        &[
            "open",
            "config/prod/app.toml",
            "-i",
            key_file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "cachet: config/prod/app.toml: db.password: environment production: the key given is environment staging's, which opens neither production's values nor its keyring; give production's key (printed by a member's `cachet env key production`)\n"
    );
    // Its own environment's file opens.
    let o = w.run(
        &target,
        &checkout,
        &[
            "open",
            "config/staging/app.toml",
            "-i",
            key_file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, STAGING);
}

/// `check --base` in a shallow clone (CI's default checkout) that lacks the base
/// says to fetch it, rather than that the revision does not exist.
#[test]
fn check_base_in_a_shallow_clone_says_to_fetch_more() {
    let (w, ada, repo) = team();
    write(&repo, "config/prod/more.toml", "api_token = \"tok-more\"\n");
    w.ok(&ada, &repo, &["seal", "config/prod/more.toml"]);
    w.push(&ada, &repo, "more");
    let ci = w.person("ci");
    let url = format!("file://{}", w.dir.path().join("origin.git").display());
    let shallow = w.dir.path().join("ci-shallow");
    w.git_in(
        w.dir.path(),
        Some(&ci),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            shallow.to_str().unwrap(),
        ],
    );
    let o = w.run(&ci, &shallow, &["check", "--base", "HEAD~1"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "cachet: --base HEAD~1: not a commit of this clone, which is shallow: fetch the base first (`git fetch --deepen=50 origin`, or `git fetch --unshallow`; in CI, check out with full history)\n"
    );
    w.git_in(&shallow, Some(&ci), &["fetch", "-q", "--unshallow"]);
    let o = w.run(&ci, &shallow, &["check", "--base", "HEAD~1"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
}

/// Attack 9 (spec/attest.md): mallory, who can push but holds no key, points
/// production's plain `db.host` at a server of theirs, then copies one attested
/// file over another. A deploy that requires attestation runs neither; what a
/// member attests after review runs; a sealer without the key leaves the file
/// proposed and cannot attest it.
#[test]
fn a_deploy_runs_only_configuration_a_key_holder_attested() {
    let (w, ada, repo) = team();
    write(
        &repo,
        "config/prod/worker.toml",
        "[db]\nhost = \"db.worker\"\n",
    );
    w.ok(&ada, &repo, &["attest", "--yes", "config/prod/worker.toml"]);
    w.push(&ada, &repo, "worker");
    let key = w.ok(&ada, &repo, &["env", "key", "production"]).stdout;
    let key = key.trim();
    let server = w.person("server");
    let deployed = w.clone(&server, "server");
    let exec = |file: &str, env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("CACHET_IDENTITY", key));
        w.run_env(
            &server,
            &deployed,
            &["exec", "-f", file, "--", "sh", "-c", "echo $DB_HOST"],
            &env,
        )
    };
    let required = [("CACHET_REQUIRE_ATTESTED", "1")];
    let o = exec("config/prod/app.toml", &required);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "db.internal\n"),
        "{}",
        o.stderr
    );

    let (mallory, clone) = mallory_moves_the_database(&w);
    w.pull(&server, &deployed);
    // Without the requirement the attack works, as it does in 0.3.
    let o = exec("config/prod/app.toml", &[]);
    assert_eq!(o.stdout, "attacker.example\n");
    let o = exec("config/prod/app.toml", &required);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (
            125,
            "",
            "cachet: config/prod/app.toml: its attestation does not match its content: the file changed after it was approved, or the attestation was made with another key; a member of its environment reviews the file and runs `cachet attest` on it\n"
        )
    );
    // The flag does the same as the variable, for open and get too.
    for args in [
        vec!["open", "--require-attested", "config/prod/app.toml"],
        vec![
            "get",
            "--require-attested",
            "config/prod/app.toml",
            "db.host",
        ],
    ] {
        let o = w.run_env(&server, &deployed, &args, &[("CACHET_IDENTITY", key)]);
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (1, ""),
            "{args:?}: {}",
            o.stderr
        );
    }

    // An attested file copied over another of the same environment.
    let app = read(&clone, "config/prod/app.toml").replace("attacker.example", "db.internal");
    write(&clone, "config/prod/app.toml", &app);
    let attested_app = read(&clone, "config/prod/app.toml");
    write(&clone, "config/prod/worker.toml", &attested_app);
    w.push(&mallory, &clone, "share the config");
    w.pull(&server, &deployed);
    let o = exec("config/prod/app.toml", &required);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = exec("config/prod/worker.toml", &required);
    assert_eq!(o.code, 125);
    assert_eq!(
        o.stderr,
        "cachet: config/prod/worker.toml: its attestation was made for the file \"config/prod/app.toml\", not this one (a file copied over another); a member of its environment reviews the file and runs `cachet attest` on it\n"
    );

    // mallory seals a value with the public key: the file is proposed, and
    // mallory cannot attest it.
    let o = w.ok(
        &mallory,
        &clone,
        &[
            "set",
            "--create",
            "config/prod/worker.toml",
            "db.password",
            "--generate",
        ],
    );
    assert!(
        o.stderr.ends_with("config/prod/worker.toml: proposed (not attested): no identity here holds its key: a member of its environment approves it with `cachet attest config/prod/worker.toml`\n"),
        "{}",
        o.stderr
    );
    assert!(!read(&clone, "config/prod/worker.toml").contains("cachet:attest:"));
    let o = w.run(
        &mallory,
        &clone,
        &["attest", "--yes", "config/prod/worker.toml"],
    );
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (
            1,
            "cachet: environment production: you are not a member: none of your identities opens .cachet/keys/production.age\n"
        )
    );
    w.push(&mallory, &clone, "worker password");

    // ada reviews what changed since the last attested version, and attests.
    w.pull(&ada, &repo);
    let o = w.ok(&ada, &repo, &["attest", "--yes", "config/prod/worker.toml"]);
    assert!(
        o.stderr
            .starts_with("config/prod/worker.toml: changed since the last attested version ("),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("  ~ db.host: \"db.worker\" -> \"db.internal\"\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("  + db.password = (sealed)\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("config/prod/worker.toml: attested as config/prod/worker.toml for environment production (key id "),
        "{}",
        o.stderr
    );
    w.push(&ada, &repo, "reviewed");
    w.pull(&server, &deployed);
    let o = exec("config/prod/worker.toml", &required);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "db.internal\n"),
        "{}",
        o.stderr
    );
}

/// A production file copied into staging's directory: check names the one
/// command that moves it, `reseal` (members of both), which seals every value
/// anew for staging; a member of staging alone cannot, and a deliberate revert
/// of a value is accepted the same way.
#[test]
fn reseal_moves_a_copied_file_to_its_environment() {
    let (w, ada, repo) = team();
    let copied = read(&repo, "config/prod/app.toml");
    write(&repo, "config/staging/copied.toml", &copied);
    let o = w.run(&ada, &repo, &["check"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout
            .contains("config/staging/copied.toml: db.password: problem: sealed to key id ")
            && o.stdout.contains(
                "a member of both re-seals the file for staging with `cachet reseal FILE`"
            ),
        "{}",
        o.stdout
    );
    let o = w.run_env(
        &ada,
        &repo,
        &["set", "config/staging/copied.toml", "db.host"],
        &[],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("re-seals it with `cachet reseal config/staging/copied.toml`"),
        "{}",
        o.stderr
    );
    let o = w.run(&ada, &repo, &["rotate", "staging"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "re-seals the file for staging with `cachet reseal config/staging/copied.toml`, then rotate"
        ),
        "{}",
        o.stderr
    );

    // bob is a member of staging only: he cannot open production's values.
    let (bob, bob_key) = w.person_with_key("bob");
    w.ok(
        &ada,
        &repo,
        &["members", "add", "staging", &format!("bob={bob_key}")],
    );
    w.push(&ada, &repo, "bob joins staging");
    let bobs = w.clone(&bob, "bob");
    write(&bobs, "config/staging/copied.toml", &copied);
    let o = w.run(&bob, &bobs, &["reseal", "config/staging/copied.toml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(read(&bobs, "config/staging/copied.toml"), copied);

    let o = w.ok(&ada, &repo, &["reseal", "config/staging/copied.toml"]);
    assert!(
        o.stderr.starts_with(
            "config/staging/copied.toml: sealed 1 value anew for environment staging (key id "
        ),
        "{}",
        o.stderr
    );
    assert_eq!(
        token_key(&repo, "config/staging/copied.toml"),
        common::key_id_of(&public_key(&repo, "staging"))
    );
    assert_ne!(
        token_key(&repo, "config/staging/copied.toml"),
        token_key(&repo, "config/prod/app.toml")
    );
    w.ok(&ada, &repo, &["check"]);
    // The copy was committed unattested: re-sealing it approves nothing, and a
    // member attests it after a look.
    let key = w.ok(&ada, &repo, &["env", "key", "staging"]).stdout;
    let deploy = w.person("deploy");
    let o = w.run_env(
        &deploy,
        &repo,
        &["open", "--require-attested", "config/staging/copied.toml"],
        &[("CACHET_IDENTITY", key.trim())],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    w.ok(
        &ada,
        &repo,
        &["attest", "--yes", "config/staging/copied.toml"],
    );
    let o = w.run_env(
        &deploy,
        &repo,
        &["open", "--require-attested", "config/staging/copied.toml"],
        &[("CACHET_IDENTITY", key.trim())],
    );
    assert_eq!((o.code, o.stdout.as_str()), (0, PROD), "{}", o.stderr);
}

/// A member's write extends an approval and never grants one (spec/attest.md
/// 6): after mallory changes a plain value, ada's `set`, `seal` and `rotate`
/// leave the file proposed, so the deploy still refuses mallory's change until
/// ada attests it after a look. A directory swapped for a link to another, and
/// a bare-named approval copied into the repository, pass for nothing.
#[test]
fn a_members_write_does_not_approve_what_others_changed() {
    let (w, ada, repo) = team();
    let key = w.ok(&ada, &repo, &["env", "key", "production"]).stdout;
    let key = key.trim().to_string();
    let server = w.person("server");
    let deployed = w.clone(&server, "server");
    let exec = |file: &str| {
        w.run_env(
            &server,
            &deployed,
            &[
                "exec",
                "--require-attested",
                "-f",
                file,
                "--",
                "sh",
                "-c",
                "echo $DB_HOST",
            ],
            &[("CACHET_IDENTITY", key.as_str())],
        )
    };
    // ada's seal of the new files attested them.
    let o = exec("config/prod/app.toml");
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "db.internal\n"),
        "{}",
        o.stderr
    );
    mallory_moves_the_database(&w);
    w.pull(&ada, &repo);
    let o = w.run_env(
        &ada,
        &repo,
        &[
            "set",
            "--create",
            "config/prod/app.toml",
            "db.user",
            "--generate",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("config/prod/app.toml: proposed (not attested): it was not attested before this write, which does not approve what others changed; review it"),
        "{}",
        o.stderr
    );
    w.ok(&ada, &repo, &["rotate", "production"]);
    let key = w.ok(&ada, &repo, &["env", "key", "production"]).stdout;
    let key = key.trim().to_string();
    w.push(&ada, &repo, "rotated");
    w.pull(&server, &deployed);
    let o = w.run_env(
        &server,
        &deployed,
        &[
            "exec",
            "--require-attested",
            "-f",
            "config/prod/app.toml",
            "--",
            "true",
        ],
        &[("CACHET_IDENTITY", key.as_str())],
    );
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(
        o.stderr.contains("is not attested (proposed)"),
        "{}",
        o.stderr
    );

    // A directory replaced by a link to another environment's directory of the
    // same layout: the approval names the other path.
    let deployed2 = w.clone(&server, "server2");
    fs::remove_dir_all(deployed2.join("config/prod")).unwrap();
    std::os::unix::fs::symlink("staging", deployed2.join("config/prod")).unwrap();
    let staging_key = w.ok(&ada, &repo, &["env", "key", "staging"]).stdout;
    let o = w.run_env(
        &server,
        &deployed2,
        &["open", "--require-attested", "config/prod/app.toml"],
        &[("CACHET_IDENTITY", staging_key.trim())],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("its attestation was made for the file \"config/staging/app.toml\""),
        "{}",
        o.stderr
    );

    // Inside a repository a file no environment covers is attested by its path,
    // not its bare name, so its approval does not pass for a covered file.
    let prod = public_key(&repo, "production");
    write(
        &repo,
        "legacy/app.toml",
        "[db]\nhost = \"legacy\"\npassword = \"x\"\n",
    );
    w.ok(&ada, &repo, &["seal", "-r", &prod, "legacy/app.toml"]);
    let o = w.ok(&ada, &repo, &["attest", "--yes", "legacy/app.toml"]);
    assert!(
        o.stderr
            .contains("legacy/app.toml: attested as legacy/app.toml (key id "),
        "{}",
        o.stderr
    );
    fs::create_dir_all(deployed.join("legacy")).unwrap();
    fs::copy(
        repo.join("legacy/app.toml"),
        deployed.join("config/prod/app.toml"),
    )
    .unwrap();
    let o = w.run_env(
        &server,
        &deployed,
        &["open", "--require-attested", "config/prod/app.toml"],
        &[("CACHET_IDENTITY", key.as_str())],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("made for the file \"legacy/app.toml\""),
        "{}",
        o.stderr
    );

    // A deploy run from inside a directory replaced by a link: the shell's
    // $PWD, not the resolved directory, names the file.
    let linked = deployed2.join("config/prod");
    let o = w.run_env(
        &server,
        &linked,
        &["open", "--require-attested", "app.toml"],
        &[
            ("CACHET_IDENTITY", staging_key.trim()),
            ("PWD", linked.to_str().unwrap()),
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("made for the file \"config/staging/app.toml\""),
        "{}",
        o.stderr
    );
}

/// A replayed older approved version is no approval to build on: ada's write
/// on top of it leaves the file proposed, and `attest` compares it with the
/// version approved last, so the rollback is shown. A file brought in by git
/// (checked out from another branch, staged) is not new to ada's write.
#[test]
fn a_replayed_approval_and_a_file_git_brought_in_are_not_built_on() {
    let (w, ada, repo) = team();
    let v0 = read(&repo, "config/prod/app.toml");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let body = v0.split("# cachet:attest:").next().unwrap();
    write(
        &repo,
        "config/prod/app.toml",
        &body.replace("db.internal", "db2.internal"),
    );
    w.ok(&ada, &repo, &["attest", "--yes", "config/prod/app.toml"]);
    w.push(&ada, &repo, "v1, attested");
    let (mallory, _) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    write(&clone, "config/prod/app.toml", &v0);
    write(
        &clone,
        "config/prod/new.toml",
        "[db]\nhost = \"attacker.example\"\n",
    );
    w.push(&mallory, &clone, "put v0 back; a new file");
    w.pull(&ada, &repo);
    let o = w.run_env(
        &ada,
        &repo,
        &[
            "set",
            "--create",
            "config/prod/app.toml",
            "db.user",
            "--generate",
        ],
        &[],
    );
    assert!(
        o.stderr.contains(
            "config/prod/app.toml: proposed (not attested): it was not attested before this write"
        ),
        "{}",
        o.stderr
    );
    let o = w.ok(&ada, &repo, &["attest", "--yes", "config/prod/app.toml"]);
    assert!(
        o.stderr
            .contains("  ~ db.host: \"db2.internal\" -> \"db.internal\"\n"),
        "{}",
        o.stderr
    );

    // mallory's new file, brought in by a checkout of the branch: staged, so
    // not ada's new file.
    w.git_in(
        &repo,
        Some(&ada),
        &["rm", "-q", "--cached", "config/prod/new.toml"],
    );
    w.git_in(
        &repo,
        Some(&ada),
        &["commit", "-q", "-m", "drop it for now"],
    );
    w.git_in(
        &repo,
        Some(&ada),
        &["checkout", "HEAD~1", "--", "config/prod/new.toml"],
    );
    let o = w.run_env(
        &ada,
        &repo,
        &[
            "set",
            "--create",
            "config/prod/new.toml",
            "db.password",
            "--generate",
        ],
        &[],
    );
    assert!(
        o.stderr.contains(
            "config/prod/new.toml: proposed (not attested): it was not attested before this write"
        ),
        "{}",
        o.stderr
    );
}

/// A merge stopped on a conflict brings mallory's new file into ada's work
/// tree; even unstaged, it is not ada's new file while the merge is under way.
#[test]
fn a_file_a_merge_under_way_brought_in_is_not_new() {
    let (w, ada, repo) = team();
    let (mallory, _) = w.person_with_key("mallory");
    let clone = w.clone(&mallory, "mallory");
    write(&clone, "README", "mallory's readme\n");
    write(
        &clone,
        "config/prod/fresh.toml",
        "[db]\nhost = \"attacker.example\"\n",
    );
    w.push(&mallory, &clone, "readme and a new file");
    write(&repo, "README", "ada's readme\n");
    w.git_in(&repo, Some(&ada), &["add", "README"]);
    w.git_in(&repo, Some(&ada), &["commit", "-q", "-m", "readme"]);
    let mut pull = Command::new("git");
    pull.args(["-c", "user.name=ada", "-c", "user.email=ada@example.com"])
        .args(["pull", "-q", "--no-rebase", "origin", "main"])
        .current_dir(&repo)
        .env("HOME", &ada.home)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let out = pull.output().unwrap();
    assert!(!out.status.success(), "the README conflicts");
    assert!(repo.join(".git/MERGE_HEAD").exists());
    // Unstaged: only the merge under way tells it came from elsewhere.
    w.git_in(
        &repo,
        Some(&ada),
        &["rm", "-q", "--cached", "config/prod/fresh.toml"],
    );
    let o = w.run_env(
        &ada,
        &repo,
        &[
            "set",
            "--create",
            "config/prod/fresh.toml",
            "db.password",
            "--generate",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "config/prod/fresh.toml: proposed (not attested): it was not attested before this write"
        ),
        "{}",
        o.stderr
    );
}
