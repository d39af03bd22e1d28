//! Team access on the command line: `init`, `env …` and `members …`. The rules
//! are the library's ([`cachet::team`]); this module reads the arguments, asks
//! the library, and says what was done.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use cachet::KeyId;
use cachet::glob::{FileGlob, PathGlob};
use cachet::team::members::{self, MemberChange, NewEnvironment, SyncFrom, Synced, Unlocked};
use cachet::team::pins::PinStore;
use cachet::team::policy::{self, POLICY_FILE, Policy};
use cachet::team::trust::{Anchors, SafeDirectories};
use cachet::team::{Member, Observer, Repo, Session};
use cachet::worktree::atomic::{self, Mode};

use super::args::EnvAddArgs;
use super::identity::{self, Terminal};
use super::{Failure, note};

/// Tells the person at the terminal what a team command is doing.
pub struct Notes;

impl Observer for Notes {
    fn waiting(&self, path: &Path) {
        note(&format!(
            "waiting for another cachet process that is writing {}",
            path.display()
        ));
    }

    fn pinned(&self, env: &str, key: &KeyId) {
        note(&format!(
            "environment {env}: pinned its key (key id {key}) on this machine"
        ));
    }

    fn disagreement(&self, env: &str, differences: &[String]) {
        note(&format!(
            "warning: environment {env}: the keyring and {POLICY_FILE} disagree ({}); run `cachet check`",
            differences.join("; ")
        ));
    }
}

/// This user's key pins: `known_keys.toml` in cachet's configuration directory.
pub fn pin_store() -> PinStore {
    PinStore::new(identity::config_dir().map(|d| d.join("known_keys.toml")))
}

/// Where team files another user owns are accepted: `CACHET_SAFE_DIRECTORIES`.
pub fn safe_directories() -> SafeDirectories {
    std::env::var_os("CACHET_SAFE_DIRECTORIES")
        .map_or(SafeDirectories::None, |v| SafeDirectories::parse(&v))
}

/// Keys vouched for from outside the repository: `CACHET_TRUST`; with
/// `require_pin`, first use of any other key is refused.
pub fn anchors(require_pin: bool) -> Result<Anchors, Failure> {
    let text = match std::env::var_os("CACHET_TRUST") {
        Some(v) => v
            .into_string()
            .map_err(|_| Failure::usage("CACHET_TRUST is not UTF-8 text"))?,
        None => String::new(),
    };
    Ok(Anchors::parse(&text, require_pin)?)
}

/// Runs `f` with the session of a team command run from the terminal;
/// `require_pin` refuses first use of a key nothing vouches for.
pub fn with_session<T>(
    observer: &dyn Observer,
    require_pin: bool,
    f: impl FnOnce(&Session<'_, Terminal>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let pins = pin_store();
    let anchors = anchors(require_pin)?;
    let safe = safe_directories();
    // Asked only to check a key against its keyring: a sealer who is not a member
    // has no identity, and that is no error.
    let identities = || identity::load(&[]).ok();
    f(&Session {
        pins: &pins,
        anchors: &anchors,
        safe: &safe,
        identities: &identities,
        observer,
        callbacks: Terminal,
    })
}

/// The repository of the current directory; an error when there is none.
pub fn current() -> Result<Repo, Failure> {
    Ok(Repo::open(Path::new("."), &safe_directories())?)
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
    Repo::refuse_nested_init(Path::new("."))?;
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
    // So `git add -A` never commits the empty lock files writes leave behind.
    match cachet::worktree::gitignore::ignore_own_files(Path::new(".")) {
        Ok(added) if !added.is_empty() => {
            note(&format!(".gitignore: added {}", added.join(" ")));
        }
        Ok(_) => {}
        Err(e) => note(&format!(
            "warning: .gitignore: cannot add cachet's lock files ({e}); add *.cachet-lock yourself"
        )),
    }
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
    members::check_members(&members)?;
    let mut repo = current()?;
    let new = NewEnvironment {
        name: name.to_string(),
        files,
        seal,
        rotate_every_days: rotate,
        members,
    };
    let (env, ring) = with_session(&Notes, false, |session| {
        Ok(members::add_environment(&mut repo, new, session)?)
    })?;
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
    let repo = current()?;
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
    let repo = current()?;
    let env = repo.env(name)?;
    let ids = identity::load(identities)?;
    let ring = repo.unlock(name, &ids)?;
    cachet::team::trust::require_agreement(env, &ring)?;
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

/// Opens `env_name` to change it, with the identities named (or found).
pub fn unlocked(env_name: &str, identities: &[PathBuf]) -> Result<Unlocked, Failure> {
    let repo = current()?;
    // An unknown environment is named before any identity is looked for.
    repo.env(env_name)?;
    let ids = identity::load(identities)?;
    Ok(Unlocked::open(repo, env_name, &ids, &Notes)?)
}

/// `cachet members add|remove`.
pub fn members_change(
    env_name: &str,
    change: &MemberChangeArg<'_>,
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let change = match change {
        MemberChangeArg::Add(text) => MemberChange::Add(parse_member(text)?),
        MemberChangeArg::Remove(name) => MemberChange::Remove(name.to_string()),
    };
    let mut unlocked = unlocked(env_name, identities)?;
    let members = members::change_members(&mut unlocked, &change, Terminal)?;
    note(&match change {
        MemberChange::Add(m) => format!(
            "environment {env_name}: added {:?} ({}); {} members",
            m.name,
            m.recipient.kind(),
            members.len()
        ),
        MemberChange::Remove(name) => format!(
            "environment {env_name}: removed {name:?}. They knew the environment's key and could open every value sealed for it, including in copies of the repository they kept: rotate the key (`cachet rotate {env_name}`; `cachet check` reports the rotation owed until then) and change the secrets themselves"
        ),
    });
    Ok(())
}

/// What a member command asks, as typed.
pub enum MemberChangeArg<'a> {
    /// `NAME=RECIPIENT`.
    Add(&'a str),
    /// A member's name.
    Remove(&'a str),
}

/// `cachet members list ENV`.
pub fn members_list(env_name: &str) -> Result<(), Failure> {
    let repo = current()?;
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

/// `cachet members sync ENV [--from-keyring] [--grant]`.
pub fn members_sync(
    env_name: &str,
    (from_keyring, grant, accept_new_key): (bool, bool, bool),
    identities: &[PathBuf],
) -> Result<(), Failure> {
    let mut unlocked = unlocked(env_name, identities)?;
    let from = if from_keyring {
        SyncFrom::Keyring
    } else {
        SyncFrom::Policy { grant }
    };
    // The differences are told before any refusal, so the person sees what the
    // refusal is about.
    let found = cachet::team::trust::differences(&unlocked.env, &unlocked.ring);
    for d in &found {
        note(&format!("environment {env_name}: {d}"));
    }
    let (_, synced) = with_session(&Notes, false, |session| {
        Ok(members::sync_members(
            &mut unlocked,
            from,
            accept_new_key,
            session,
        )?)
    })?;
    note(&match synced {
        Synced::Agreed => {
            format!("environment {env_name}: the keyring and {POLICY_FILE} agree; nothing to do")
        }
        Synced::PolicyFromKeyring => {
            format!("environment {env_name}: {POLICY_FILE} rewritten from the keyring")
        }
        Synced::KeyringFromPolicy(n) => format!(
            "environment {env_name}: keyring re-encrypted to the {n} members of {POLICY_FILE}"
        ),
    });
    Ok(())
}
