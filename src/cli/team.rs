//! Team access on the command line: the policy (`.cachet.toml`), keyrings, key
//! pinning, and the commands that change them (`init`, `env …`, `members …`,
//! `check`). Every change writes the keyring first and the policy second, each
//! atomically, under the policy's lock.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use cachet::atomic::{self, FileLock, Mode};
use cachet::glob::{FileGlob, PathGlob};
use cachet::identity_file::IdentitySet;
use cachet::keyring::Keyring;
use cachet::member::Member;
use cachet::pins::{Pin, Pins};
use cachet::policy::{self, Environment, POLICY_FILE, Policy};
use cachet::{KeyId, KeyringError, PublicKey, SealedAt, SecretKey};

use super::args::{EnvAddArgs, PolicyArgs};
use super::identity::{self, Terminal};
use super::{Failure, lock, note};

/// A repository with a policy: where it is, and what the policy says.
pub struct Repo {
    /// The directory holding `.cachet.toml`, canonical.
    pub root: PathBuf,
    /// The policy file.
    pub policy_path: PathBuf,
    /// The parsed policy.
    pub policy: Policy,
}

pub(super) fn read_policy(path: &Path) -> Result<Policy, Failure> {
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", path.display())))?;
    Policy::parse(&text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

impl Repo {
    /// The repository whose policy is the nearest `.cachet.toml` at or above `dir`.
    pub fn find_from(dir: &Path) -> Result<Option<Repo>, Failure> {
        let dir =
            fs::canonicalize(dir).map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
        let Some(policy_path) = policy::find_policy(&dir) else {
            return Ok(None);
        };
        let root = policy_path
            .parent()
            .map_or_else(|| dir.clone(), Path::to_path_buf);
        // One policy per tree: a policy inside another's tree would let whoever
        // writes that subdirectory choose the keys for its files.
        if let Some(outer) = root.parent().and_then(policy::find_policy) {
            return Err(Failure::refused(format!(
                "{} is inside the tree of {}; cachet uses one policy per repository: remove the inner one (or merge its environments into the outer)",
                policy_path.display(),
                outer.display()
            )));
        }
        let policy = read_policy(&policy_path)?;
        Ok(Some(Repo {
            root,
            policy_path,
            policy,
        }))
    }

    /// The repository of the current directory; an error when there is none.
    pub fn current() -> Result<Repo, Failure> {
        Repo::find_from(Path::new("."))?.ok_or_else(|| {
            Failure::usage(format!(
                "no {POLICY_FILE} in this directory or above; run `cachet init` at the repository's root"
            ))
        })
    }

    /// The repository a file belongs to (found from the file's directory).
    pub fn of_file(file: &Path) -> Result<Option<Repo>, Failure> {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Repo::find_from(dir)
    }

    /// `file`'s path relative to the root, `/`-separated (`None` when outside it).
    pub fn relative(&self, file: &Path) -> Option<String> {
        let abs = fs::canonicalize(file).ok()?;
        let rel = abs.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// Where an environment's keyring is.
    pub fn keyring_path(&self, env: &str) -> PathBuf {
        policy::keyring_path(&self.root, env)
    }

    /// How a keyring is named in messages: relative to the root.
    pub(super) fn keyring_name(env: &str) -> String {
        format!(".cachet/keys/{env}.age")
    }

    /// Decrypts an environment's keyring with the caller's identities.
    pub fn unlock(&self, env: &str, ids: &IdentitySet) -> Result<Keyring, Failure> {
        let name = Repo::keyring_name(env);
        let bytes = match fs::read(self.keyring_path(env)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Failure::refused(format!(
                    "environment {env}: its keyring {name} is missing; a member's copy of the repository has it, or recreate the environment"
                )));
            }
            Err(e) => return Err(Failure::usage(format!("{name}: cannot read: {e}"))),
        };
        let ring = Keyring::open(&bytes, ids.age_identities()).map_err(|e| match e {
            // An identity that could not be opened is bad input, not a refusal.
            KeyringError::NotAMember => match ids.unlock_failure() {
                Some((source, why)) => Failure::usage(format!(
                    "environment {env}: cannot open {name}: {source}: {why}"
                )),
                None => Failure::refused(format!(
                    "environment {env}: you are not a member: none of your identities opens {name}"
                )),
            },
            other => Failure::refused(format!("environment {env}: {name}: {other}")),
        })?;
        if ring.environment != env {
            return Err(Failure::refused(format!(
                "environment {env}: {name} holds the keyring of environment {:?}; restore the right file from history",
                ring.environment
            )));
        }
        Ok(ring)
    }

    /// Encrypts and writes an environment's keyring. Called only under the
    /// policy's lock, which guards every keyring write: so the temporary files of
    /// a killed keyring write are removed here.
    pub(super) fn write_keyring(&self, ring: &Keyring) -> Result<(), Failure> {
        let env = &ring.environment;
        let armored = ring.seal(Terminal).map_err(|e| {
            Failure::usage(format!("environment {env}: cannot write its keyring: {e}"))
        })?;
        let path = self.keyring_path(env);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
        }
        atomic::remove_stale_temps(&path);
        atomic::write_atomic(&path, armored.as_bytes(), Mode::Keep, false)
            .map_err(|e| Failure::usage(format!("{}: cannot write: {e}", Repo::keyring_name(env))))
    }

    /// Writes the policy.
    pub(super) fn write_policy(&mut self, policy: Policy) -> Result<(), Failure> {
        atomic::write_atomic(
            &self.policy_path,
            policy.to_string().as_bytes(),
            Mode::Keep,
            false,
        )
        .map_err(|e| Failure::usage(format!("{POLICY_FILE}: cannot write: {e}")))?;
        self.policy = policy;
        Ok(())
    }

    /// Takes the policy's lock, which guards the policy and every keyring, and
    /// removes what keyring writes killed before their rename left.
    pub(super) fn lock(&self) -> Result<FileLock, Failure> {
        let held = lock(&self.policy_path)?;
        for env in &self.policy.environments {
            atomic::remove_stale_temps(&self.keyring_path(&env.name));
        }
        Ok(held)
    }

    pub(super) fn env(&self, name: &str) -> Result<&Environment, Failure> {
        self.policy
            .environment(name)
            .map_err(|e| Failure::usage(format!("{POLICY_FILE}: {e}")))
    }
}

/// How the policy and a keyring disagree, one phrase each (empty when they agree).
pub fn differences(env: &Environment, ring: &Keyring) -> Vec<String> {
    let mut out = Vec::new();
    if ring.current().secret.public_key() != env.public_key {
        out.push(format!(
            "the public key in {POLICY_FILE} (key id {}) is not the keyring's key (key id {})",
            env.public_key.key_id(),
            ring.current().secret.public_key().key_id()
        ));
    }
    let policy: BTreeSet<&Member> = env.members.iter().collect();
    let keyring: BTreeSet<&Member> = ring.members.iter().collect();
    let names = |set: Vec<&&Member>| {
        set.iter()
            .map(|m| format!("{:?}", m.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let only_policy: Vec<_> = policy.difference(&keyring).collect();
    if !only_policy.is_empty() {
        out.push(format!(
            "members in {POLICY_FILE} but not in the keyring: {}",
            names(only_policy)
        ));
    }
    let only_ring: Vec<_> = keyring.difference(&policy).collect();
    if !only_ring.is_empty() {
        out.push(format!(
            "members in the keyring but not in {POLICY_FILE}: {}",
            names(only_ring)
        ));
    }
    out
}

/// Refuses to change an environment whose keyring and policy disagree.
pub(super) fn require_agreement(env: &Environment, ring: &Keyring) -> Result<(), Failure> {
    let diff = differences(env, ring);
    if diff.is_empty() {
        return Ok(());
    }
    Err(Failure::refused(format!(
        "environment {}: the keyring and {POLICY_FILE} disagree ({}); see `cachet check`, then repair with `cachet members sync {}`",
        env.name,
        diff.join("; "),
        env.name
    )))
}

/// The name `env add` gives you as a member.
fn self_name(given: Option<&str>) -> String {
    if let Some(n) = given {
        return n.to_string();
    }
    let git = std::process::Command::new("git")
        .args(["config", "user.name"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    git.or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "self".to_string())
}

fn parse_member(text: &str) -> Result<Member, Failure> {
    text.parse::<Member>().map_err(|e| {
        let name = text.split_once('=').map_or(text, |(n, _)| n);
        Failure::usage(format!("member {name:?}: {e}"))
    })
}

/// `cachet init [--env NAME …]`.
pub fn init(env: Option<&str>, add: &EnvAddArgs) -> Result<(), Failure> {
    if env.is_none() && (!add.files.is_empty() || !add.members.is_empty() || !add.seal.is_empty()) {
        return Err(Failure::usage(
            "--files, --seal and --member describe an environment: give it a name with --env NAME",
        ));
    }
    let path = Path::new(POLICY_FILE);
    atomic::write_atomic(path, Policy::new().to_string().as_bytes(), Mode::Keep, true).map_err(
        |e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Failure::usage(format!(
                    "{POLICY_FILE} exists already here; add environments with `cachet env add`"
                ))
            } else {
                Failure::usage(format!("{POLICY_FILE}: cannot write: {e}"))
            }
        },
    )?;
    note(&format!("created {POLICY_FILE}"));
    match env {
        Some(name) => env_add(name, add),
        None => Ok(()),
    }
}

/// `cachet env add NAME …`.
pub fn env_add(name: &str, add: &EnvAddArgs) -> Result<(), Failure> {
    policy::check_environment_name(name)
        .map_err(|r| Failure::usage(format!("environment {name:?}: {r}")))?;
    let files = add
        .files
        .iter()
        .map(|g| FileGlob::new(g).map_err(|e| Failure::usage(format!("--files {g:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let seal = add
        .seal
        .iter()
        .map(|g| PathGlob::new(g).map_err(|e| Failure::usage(format!("--seal {g:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let rotate = Some(policy::parse_period(&add.rotate_every).ok_or_else(|| {
        Failure::usage("--rotate-every: a number of days from 1 to 3650, written like 90d")
    })?);
    let mut members = add
        .members
        .iter()
        .map(|m| parse_member(m))
        .collect::<Result<Vec<_>, _>>()?;
    if !add.no_self {
        let ids = identity::load(&add.identity.identities).map_err(|f| {
            Failure::usage(format!(
                "{}; or pass --no-self with --member NAME=RECIPIENT",
                f.message
            ))
        })?;
        let recipient = ids.recipients().first().cloned().ok_or_else(|| {
            Failure::usage(
                "cannot tell the public key of your identity (a plugin identity?); pass --no-self and --member NAME=RECIPIENT",
            )
        })?;
        if !members.iter().any(|m| m.recipient == recipient) {
            members.push(Member {
                name: self_name(add.self_name.as_deref()),
                recipient,
            });
        }
    }
    if members.is_empty() {
        return Err(Failure::usage(
            "an environment needs at least one member to hold its key: pass --member NAME=RECIPIENT (or drop --no-self)",
        ));
    }
    for (i, m) in members.iter().enumerate() {
        if members[..i].iter().any(|o| o.name == m.name) {
            return Err(Failure::usage(format!(
                "member {:?} is named twice; give each member its own name (--self-name for yours)",
                m.name
            )));
        }
        if members[..i].iter().any(|o| o.recipient == m.recipient) {
            return Err(Failure::usage(format!(
                "member {:?} has the same key as another member",
                m.name
            )));
        }
    }

    let mut repo = Repo::current()?;
    let _lock = repo.lock()?;
    // Re-read under the lock: another process may have changed it meanwhile.
    repo.policy = read_policy(&repo.policy_path)?;
    let key = SecretKey::generate();
    let created = SealedAt::now();
    let env = Environment {
        name: name.to_string(),
        public_key: key.public_key(),
        created,
        rotate_every_days: rotate,
        files,
        seal,
        members: members.clone(),
    };
    let mut policy = repo.policy.clone();
    policy
        .add_environment(&env)
        .map_err(|e| Failure::usage(format!("{POLICY_FILE}: {e}")))?;
    if repo.keyring_path(name).exists() {
        return Err(Failure::usage(format!(
            "{} exists already but {POLICY_FILE} has no environment {name} (left by an interrupted `env add`?); remove the file and run again",
            Repo::keyring_name(name)
        )));
    }
    let ring = Keyring::new(name, key, created, members);
    repo.write_keyring(&ring)?;
    repo.write_policy(policy)?;
    pin_key(&repo, name, &env.public_key.key_id(), true)?;
    note(&format!(
        "environment {name}: public key {}, {} member{} ({}), keyring {}",
        env.public_key,
        ring.members.len(),
        if ring.members.len() == 1 { "" } else { "s" },
        ring.members
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Repo::keyring_name(name)
    ));
    Ok(())
}

/// `cachet env list`.
pub fn env_list() -> Result<(), Failure> {
    let repo = Repo::current()?;
    let mut out = String::new();
    for e in &repo.policy.environments {
        let files: Vec<&str> = e.files.iter().map(FileGlob::as_str).collect();
        out.push_str(&format!(
            "{}\t{}\tcreated {}\t{}\t{} member{}\tfiles {}\n",
            e.name,
            e.public_key,
            e.created.rfc3339(),
            e.rotate_every_days.map_or_else(
                || "no rotation period".to_string(),
                |d| format!("rotate every {d}d")
            ),
            e.members.len(),
            if e.members.len() == 1 { "" } else { "s" },
            if files.is_empty() {
                "(none: seal with --env)".to_string()
            } else {
                files.join(" ")
            }
        ));
    }
    super::write_stdout(out.as_bytes())
}

/// `cachet env key ENV`: the environment's keys as an identity file.
pub fn env_key(name: &str, force: bool, identities: &[PathBuf]) -> Result<(), Failure> {
    if io::stdout().is_terminal() && !force {
        return Err(Failure::usage(
            "refusing to print a private key to a terminal; redirect it (> file, | kubectl create secret …) or pass --force",
        ));
    }
    let repo = Repo::current()?;
    let env = repo.env(name)?;
    let ids = identity::load(identities)?;
    let ring = repo.unlock(name, &ids)?;
    require_agreement(env, &ring)?;
    let mut text = zeroize::Zeroizing::new(format!(
        "# cachet environment {name}: every value sealed for it opens with this file.\n"
    ));
    for k in &ring.keys {
        text.push_str(&format!(
            "# created: {}{}\n# public key: {}\n",
            k.created.rfc3339(),
            k.retired
                .map_or_else(String::new, |r| format!(", retired: {}", r.rfc3339())),
            k.secret.public_key()
        ));
        text.push_str(&k.secret.to_age_string());
        text.push('\n');
    }
    super::write_stdout(text.as_bytes())
}

/// One environment opened by a member to change it: under the policy's lock,
/// re-read once the lock is held.
pub(super) struct Unlocked {
    pub(super) repo: Repo,
    pub(super) env: Environment,
    pub(super) ring: Keyring,
    pub(super) _lock: FileLock,
}

impl Unlocked {
    pub(super) fn open(env_name: &str, identities: &[PathBuf]) -> Result<Unlocked, Failure> {
        let mut repo = Repo::current()?;
        let lock = repo.lock()?;
        repo.policy = read_policy(&repo.policy_path)?;
        let env = repo.env(env_name)?.clone();
        let ids = identity::load(identities)?;
        let ring = repo.unlock(env_name, &ids)?;
        Ok(Unlocked {
            repo,
            env,
            ring,
            _lock: lock,
        })
    }
}

/// What a member command does to the member list.
pub enum MemberChange<'a> {
    /// Add `NAME=RECIPIENT`.
    Add(&'a str),
    /// Remove the member of this name.
    Remove(&'a str),
}

/// `cachet members add|remove`.
pub fn members_change(
    env_name: &str,
    change: MemberChange<'_>,
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let Unlocked {
        mut repo,
        env,
        mut ring,
        _lock,
    } = Unlocked::open(env_name, identities)?;
    require_agreement(&env, &ring)?;
    let mut members = env.members.clone();
    let message = match change {
        MemberChange::Add(text) => {
            let m = parse_member(text)?;
            if let Some(o) = members
                .iter()
                .find(|o| o.name == m.name || o.recipient == m.recipient)
            {
                return Err(Failure::usage(format!(
                    "environment {env_name}: member {:?} exists already with that name or key",
                    o.name
                )));
            }
            let msg = format!(
                "environment {env_name}: added {:?} ({}); {} members",
                m.name,
                m.recipient.kind(),
                members.len() + 1
            );
            members.push(m);
            msg
        }
        MemberChange::Remove(name) => {
            let before = members.len();
            members.retain(|m| m.name != name);
            if members.len() == before {
                return Err(Failure::usage(format!(
                    "environment {env_name}: no member {name:?} (see `cachet members list {env_name}`)"
                )));
            }
            if members.is_empty() {
                return Err(Failure::usage(format!(
                    "environment {env_name}: {name:?} is its last member; add another member first"
                )));
            }
            format!(
                "environment {env_name}: removed {name:?}. They knew the environment's key and could open every value sealed for it, including in copies of the repository they kept: rotate the key and change the secrets themselves"
            )
        }
    };
    ring.members = members.clone();
    ring.members.sort();
    let mut policy = repo.policy.clone();
    policy
        .set_members(env_name, &members)
        .map_err(|e| Failure::usage(format!("{POLICY_FILE}: {e}")))?;
    repo.write_keyring(&ring)?;
    repo.write_policy(policy)?;
    note(&message);
    Ok(())
}

/// `cachet members list ENV`.
pub fn members_list(env_name: &str) -> Result<(), Failure> {
    let repo = Repo::current()?;
    let env = repo.env(env_name)?;
    let mut out = String::new();
    for m in &env.members {
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            m.name,
            m.recipient.kind(),
            m.recipient
        ));
    }
    super::write_stdout(out.as_bytes())
}

/// `cachet members sync ENV [--from-keyring]`.
pub fn members_sync(
    env_name: &str,
    (from_keyring, grant): (bool, bool),
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let Unlocked {
        mut repo,
        env,
        mut ring,
        _lock,
    } = Unlocked::open(env_name, identities)?;
    let diff = differences(&env, &ring);
    if diff.is_empty() {
        note(&format!(
            "environment {env_name}: the keyring and {POLICY_FILE} agree; nothing to do"
        ));
        return Ok(());
    }
    for d in &diff {
        note(&format!("environment {env_name}: {d}"));
    }
    if from_keyring {
        let mut policy = repo.policy.clone();
        let current = ring.current();
        policy
            .set_key(env_name, &current.secret.public_key(), current.created)
            .and_then(|()| policy.set_members(env_name, &ring.members))
            .map_err(|e| Failure::usage(format!("{POLICY_FILE}: {e}")))?;
        repo.write_policy(policy)?;
        note(&format!(
            "environment {env_name}: {POLICY_FILE} rewritten from the keyring"
        ));
        return Ok(());
    }
    if ring.current().secret.public_key() != env.public_key {
        return Err(Failure::refused(format!(
            "environment {env_name}: the public key in {POLICY_FILE} has no private key in the keyring, so the keyring cannot follow it; if the keyring is right, run `cachet members sync {env_name} --from-keyring`"
        )));
    }
    if env.members.is_empty() {
        return Err(Failure::usage(format!(
            "environment {env_name}: {POLICY_FILE} lists no members; a keyring needs at least one"
        )));
    }
    let new: Vec<&str> = env
        .members
        .iter()
        .filter(|m| !ring.members.contains(m))
        .map(|m| m.name.as_str())
        .collect();
    if !new.is_empty() && !grant {
        return Err(Failure::refused(format!(
            "environment {env_name}: syncing would give the key to {} (in {POLICY_FILE}, not in the keyring); check who added them, then pass --grant, or run with --from-keyring to drop them",
            new.iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    ring.members = env.members.clone();
    ring.members.sort();
    repo.write_keyring(&ring)?;
    note(&format!(
        "environment {env_name}: keyring re-encrypted to the {} members of {POLICY_FILE}",
        ring.members.len()
    ));
    Ok(())
}

/// The pin store: its path and what it holds (empty when it does not exist).
pub(super) fn read_pins() -> Result<(PathBuf, Pins), Failure> {
    let Some(dir) = identity::config_dir() else {
        return Err(Failure::usage(
            "cannot pin environment keys: neither XDG_CONFIG_HOME nor HOME is set",
        ));
    };
    let path = dir.join("known_keys.toml");
    let pins = match fs::read_to_string(&path) {
        Ok(t) => Pins::parse(&t).ok_or_else(|| {
            Failure::usage(format!(
                "{}: not a valid key pin file (tables of environment = \"key id\")",
                path.display()
            ))
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Pins::new(),
        Err(e) => {
            return Err(Failure::usage(format!(
                "{}: cannot read: {e}",
                path.display()
            )));
        }
    };
    Ok((path, pins))
}

/// Compares an environment's key with the one pinned on this machine, pinning it
/// on first use (or when `accept` says the change is expected).
pub(super) fn pin_key(repo: &Repo, env: &str, key: &KeyId, accept: bool) -> Result<(), Failure> {
    let (path, pins) = read_pins()?;
    let repository = repo.root.to_string_lossy().into_owned();
    match pins.check(&repository, env, key) {
        Pin::Same => return Ok(()),
        Pin::Changed(old) if !accept => {
            return Err(Failure::refused(format!(
                "environment {env}: its public key in {POLICY_FILE} changed (key id {key}; this machine pinned key id {old}); a key swapped in by someone else would let them read what you seal: check the history of {POLICY_FILE}, run `cachet check`, and only then pass --accept-new-key"
            )));
        }
        // A repository sealed for before that shows a new environment: it may be
        // one added to capture files of a known one, so it is confirmed as a change.
        Pin::Unknown if !accept && pins.knows(&repository) => {
            return Err(Failure::refused(format!(
                "environment {env} (key id {key}) is new to this machine, though other environments of this repository are pinned; check who added it in the history of {POLICY_FILE}, then pass --accept-new-key"
            )));
        }
        Pin::Changed(_) | Pin::Unknown => {}
    }
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    fs::create_dir_all(&dir).map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    let _lock = lock(&path)?;
    let (_, mut pins) = read_pins()?;
    pins.pin(&repository, env, key);
    atomic::write_atomic(&path, pins.to_string().as_bytes(), Mode::Private, false)
        .map_err(|e| Failure::usage(format!("{}: cannot write: {e}", path.display())))?;
    note(&format!(
        "environment {env}: pinned its key (key id {key}) on this machine"
    ));
    Ok(())
}

/// Where seal and set send values when no recipient is given: the environment of
/// the file in its repository's policy, after the safety checks.
pub struct SealTarget {
    /// The environment's public key.
    pub recipient: PublicKey,
    /// The environment.
    pub env: Environment,
    /// The repository's policy, to name other environments in errors.
    pub policy: Policy,
}

/// Resolves `file`'s environment from the policy, for seal and set.
pub fn seal_target(file: &Path, stdin: bool, args: &PolicyArgs) -> Result<SealTarget, Failure> {
    let no_recipient = "no recipient: pass -r age1… (the environment's public key), set CACHET_RECIPIENT, or describe the environments in .cachet.toml (`cachet init`)";
    let repo = if stdin {
        Repo::find_from(Path::new("."))?
    } else {
        Repo::of_file(file)?
    }
    .ok_or_else(|| Failure::usage(no_recipient))?;
    let shown = file.display();
    if !stdin && !file.exists() {
        return Err(Failure::usage(format!("{shown}: no such file")));
    }
    let env = match &args.env {
        Some(name) => {
            // --env chooses for files no environment covers; it never moves a
            // file out of the environment that covers it.
            if !stdin
                && let Some(rel) = repo.relative(file)
                && let Ok(Some(covering)) = repo.policy.environment_for(&rel)
                && covering.name != *name
            {
                return Err(Failure::refused(format!(
                    "{shown}: belongs to environment {} by the files globs of {POLICY_FILE}; --env {name} would seal it for another environment's members",
                    covering.name
                )));
            }
            repo.env(name)?.clone()
        }
        None if stdin => {
            return Err(Failure::usage(
                "<stdin>: name the environment with --env NAME (or pass -r)",
            ));
        }
        None => {
            let rel = repo.relative(file).ok_or_else(|| {
                Failure::usage(format!(
                    "{shown}: outside the directory of {}; pass --env NAME or -r",
                    repo.policy_path.display()
                ))
            })?;
            repo.policy
                .environment_for(&rel)
                .map_err(|e| Failure::usage(format!("{POLICY_FILE}: {e}")))?
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "{shown}: no environment of {POLICY_FILE} covers {rel}; add a glob to its files, or pass --env NAME or -r"
                    ))
                })?
                .clone()
        }
    };
    if !args.force {
        if !repo.keyring_path(&env.name).exists() {
            return Err(Failure::refused(format!(
                "environment {}: its keyring {} is missing, so nobody could open what you seal; restore it, or pass --force",
                env.name,
                Repo::keyring_name(&env.name)
            )));
        }
        if env.members.is_empty() {
            return Err(Failure::refused(format!(
                "environment {}: it has no members, so nobody could open what you seal; add one with `cachet members add`, or pass --force",
                env.name
            )));
        }
    }
    pin_key(
        &repo,
        &env.name,
        &env.public_key.key_id(),
        args.accept_new_key,
    )?;
    Ok(SealTarget {
        recipient: env.public_key,
        env,
        policy: repo.policy,
    })
}

/// Adds to `ids` the keys of the environments `file` needs, from their keyrings,
/// when the identities given cannot open the file directly (a member rather than a
/// deploy target). Keys ids already held need no keyring and no policy at all.
/// An environment keyring opened for a file: the environment and the member whose
/// identity opened it, where the identities tell (for the access log).
pub struct KeyringOpened {
    pub environment: String,
    pub member: Option<Member>,
}

pub fn unlock_for(
    file: &Path,
    needed: &[KeyId],
    ids: &mut IdentitySet,
) -> Result<Vec<KeyringOpened>, Failure> {
    let missing: Vec<&KeyId> = needed
        .iter()
        .filter(|id| ids.keys().get(id).is_none())
        .collect();
    let mut unlocked = Vec::new();
    if missing.is_empty() {
        return Ok(unlocked);
    }
    let Some(repo) = Repo::of_file(file)? else {
        return Ok(unlocked);
    };
    // The environments whose current key is needed; failing those (a retired
    // key), the environment that covers the file, whose keyring keeps them.
    let mut envs: Vec<&Environment> = Vec::new();
    let mut unknown = false;
    for id in missing {
        match repo.policy.environment_of_key(id) {
            Some(e) if !envs.iter().any(|o| o.name == e.name) => envs.push(e),
            Some(_) => {}
            None => unknown = true,
        }
    }
    if unknown
        && let Some(rel) = repo.relative(file)
        && let Ok(Some(e)) = repo.policy.environment_for(&rel)
        && !envs.iter().any(|o| o.name == e.name)
    {
        envs.push(e);
    }
    for env in envs {
        let ring = repo.unlock(&env.name, ids)?;
        let diff = differences(env, &ring);
        if !diff.is_empty() {
            note(&format!(
                "warning: environment {}: the keyring and {POLICY_FILE} disagree ({}); run `cachet check`",
                env.name,
                diff.join("; ")
            ));
        }
        ids.add_keys(&ring.identities());
        unlocked.push(KeyringOpened {
            environment: env.name.clone(),
            member: ring
                .members
                .iter()
                .find(|m| ids.recipients().contains(&m.recipient))
                .cloned(),
        });
    }
    Ok(unlocked)
}

/// The environment whose current key is one of `key_ids`, by the policy above
/// `file`, for the access log (`None` without a readable policy).
pub fn environment_of_keys(file: &Path, key_ids: &[KeyId]) -> Option<String> {
    let repo = Repo::of_file(file).ok().flatten()?;
    key_ids
        .iter()
        .find_map(|id| repo.policy.environment_of_key(id))
        .map(|e| e.name.clone())
}
