//! Why a command on a repository's team files (policy, keyrings, pins) was refused
//! or failed.

use std::path::PathBuf;

use crate::document;
use crate::error::{Classified, ErrorKind};
use crate::seal::{KeyError, KeyId};
use crate::worktree::{WalkError, git::GitError};

use super::keyring::KeyringError;
use super::policy::{POLICY_FILE, PolicyError};
use super::repo::Repo;

/// Why nobody could open what would be sealed for an environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unopenable {
    /// Its keyring file is missing.
    NoKeyring,
    /// The policy lists no member.
    NoMembers,
}

/// A rule of `spec/policy.md` refused a command, or a team file could not be read
/// or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum TeamError {
    /// A file or directory could not be read, written or created.
    Io {
        /// What it is, as messages name it.
        what: String,
        /// What was being done (`"cannot read"`), or empty.
        doing: &'static str,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A policy is not valid, or does not answer the question asked of it.
    Policy {
        /// The policy file, as messages name it.
        file: String,
        /// What is wrong.
        source: PolicyError,
    },
    /// No policy in the directory or above.
    NoPolicy,
    /// A policy inside the tree of another.
    NestedPolicy {
        /// The inner policy file.
        inner: PathBuf,
        /// The outer one.
        outer: PathBuf,
    },
    /// An environment's keyring file does not exist.
    KeyringMissing(String),
    /// An identity could not be opened (a passphrase, a plugin), so nobody can
    /// tell whether it is a member.
    IdentityUnusable {
        /// The environment.
        env: String,
        /// Where the identity came from.
        source: String,
        /// Why it could not be used.
        why: KeyError,
    },
    /// None of the identities given opens the keyring.
    NotAMember(String),
    /// An identity (a passphrase-protected one) could not be opened.
    Identity {
        /// Where it came from.
        source: String,
        /// Why it could not be opened.
        why: KeyError,
    },
    /// A keyring could not be read or written.
    Keyring {
        /// The environment.
        env: String,
        /// Whether it was being written (else read).
        writing: bool,
        /// What went wrong.
        source: KeyringError,
    },
    /// A keyring holds another environment's keys.
    WrongEnvironment {
        /// The environment asked for.
        env: String,
        /// The environment the keyring says it belongs to.
        found: String,
    },
    /// An environment's keyring and the policy disagree.
    Disagree {
        /// The environment.
        env: String,
        /// Each difference, one phrase (see [`super::trust::differences`]).
        differences: Vec<String>,
    },
    /// The user has no configuration directory to keep key pins in.
    NoPinStore,
    /// The key-pin file is not valid.
    PinsInvalid(PathBuf),
    /// An environment's key changed from the one pinned on this machine.
    KeyChanged {
        /// The environment.
        env: String,
        /// The key id it has now.
        key: KeyId,
        /// The key id pinned.
        pinned: String,
    },
    /// An environment new to this machine in a repository it knows.
    NewEnvironment {
        /// The environment.
        env: String,
        /// Its key id.
        key: KeyId,
    },
    /// Finishing a rotation with the keyring's current key, which the pin does
    /// not vouch for.
    UnpinnedRotation(Box<TeamError>),
    /// No recipient for seal or set: none given, and no policy.
    NoRecipient,
    /// The file to seal does not exist.
    NoSuchFile(String),
    /// `--env` names another environment than the one that covers the file.
    EnvMovesFile {
        /// The file.
        file: String,
        /// The environment that covers it.
        covering: String,
        /// The environment asked for.
        asked: String,
    },
    /// Standard input has no path, so its environment must be named.
    StdinNeedsEnv,
    /// The file is outside the policy's directory.
    OutsideRoot {
        /// The file.
        file: String,
        /// The policy file.
        policy: PathBuf,
    },
    /// No environment covers the file.
    NotCovered {
        /// The file as named.
        file: String,
        /// Its path relative to the root.
        rel: String,
    },
    /// Nobody could open what would be sealed for the environment.
    Unopenable {
        /// The environment.
        env: String,
        /// Why not.
        why: Unopenable,
    },
    /// An environment needs at least one member.
    NoMembers {
        /// The environment, when it exists already (`members sync`).
        env: Option<String>,
    },
    /// Two members of one environment share a name.
    MemberNamedTwice(String),
    /// Two members of one environment share a key.
    MemberKeyTwice(String),
    /// A member of that name or key exists already.
    MemberExists {
        /// The environment.
        env: String,
        /// The member that exists.
        name: String,
    },
    /// No member of that name.
    NoSuchMember {
        /// The environment.
        env: String,
        /// The name asked for.
        name: String,
    },
    /// Removing the last member would leave nobody holding the key.
    LastMember {
        /// The environment.
        env: String,
        /// The member.
        name: String,
    },
    /// A keyring file exists for an environment the policy does not have.
    KeyringExists(String),
    /// `members sync`: the policy's public key has no private key in the keyring.
    KeyringCannotFollow(String),
    /// `members sync` would give the key to people the keyring does not list.
    GrantNeeded {
        /// The environment.
        env: String,
        /// Their names.
        names: Vec<String>,
    },
    /// A file holds values sealed to a key the environment's keyring lacks.
    UnknownKeyInFile {
        /// The file.
        file: String,
        /// The key id.
        key: KeyId,
        /// The environment.
        env: String,
    },
    /// A covered file's format cannot be told from its name, yet it holds a token.
    UnknownFormat(String),
    /// A covered file is not UTF-8 text.
    NotText(String),
    /// A document operation on one file failed.
    File {
        /// The file.
        file: String,
        /// Why.
        source: document::Error,
    },
    /// Re-sealing some files of a rotation failed; every value still opens.
    RotationIncomplete {
        /// The environment.
        env: String,
        /// The first failure, naming its file.
        first: String,
        /// How many more files failed.
        more: usize,
    },
    /// `prune` would drop a retired key that values still use.
    RetiredKeyInUse {
        /// The environment.
        env: String,
        /// The files that use it.
        files: Vec<String>,
    },
    /// `CACHET_TRUST` names a key in a form cachet does not read.
    BadAnchor(String),
    /// A team file is a symbolic link.
    TeamFileLink(PathBuf),
    /// A team file is owned by another user.
    ForeignOwner {
        /// The file.
        path: PathBuf,
        /// Its owner's user id.
        owner: u32,
        /// The repository's root.
        root: PathBuf,
    },
    /// The policy's key is not the one anchored from outside the repository.
    AnchorMismatch {
        /// The environment.
        env: String,
        /// The policy's key id.
        key: KeyId,
        /// The anchored key id.
        anchor: KeyId,
    },
    /// First use of a key was refused (`--require-pin`).
    FirstUseRefused {
        /// The environment.
        env: String,
        /// Its key id.
        key: KeyId,
    },
    /// A member's keyring holds another current key than the policy names.
    KeyringMismatch {
        /// The environment.
        env: String,
        /// The policy's key id.
        policy: KeyId,
        /// The keyring's current key id.
        keyring: KeyId,
    },
    /// The keyring's current key, which the policy names, is not the key pinned
    /// here: a rotation made elsewhere, or a planted keyring.
    NewKeyInKeyring {
        /// The environment.
        env: String,
        /// The new key id.
        key: KeyId,
        /// The key id pinned here; `None` where nothing is pinned and the policy
        /// still names a key the keyring has retired (a rotation in progress).
        pinned: Option<String>,
    },
    /// A key to adopt from the keyring that nothing on this machine vouches for.
    UnvouchedKey {
        /// The environment.
        env: String,
        /// The key id.
        key: KeyId,
    },
    /// A file's environment changed from the one it was sealed for here.
    EnvironmentChanged {
        /// The file, relative to the root.
        file: String,
        /// The environment it was sealed for.
        from: String,
        /// The environment that covers it now.
        to: String,
    },
    /// `init` inside the tree of another policy.
    InitInsideTree(PathBuf),
    /// The identities given hold another environment's key (a deploy target's)
    /// and neither it nor a keyring opens this environment's values.
    OtherEnvironmentKey {
        /// The file and the value's path that needed the key, as shown.
        at: Option<String>,
        /// The environment whose key is needed.
        env: String,
        /// The environment whose key was given.
        held: String,
    },
    /// The policy or a keyring holds an unresolved git merge conflict.
    MergeConflict {
        /// The file, as shown.
        file: String,
        /// The environment, for a keyring.
        keyring: Option<String>,
    },
    /// Nobody here holds the key that attests a file.
    CannotAttest {
        /// The file, as shown.
        file: String,
        /// Its environment, when a policy covers it.
        env: Option<String>,
        /// The key id of the key that attests it.
        key: KeyId,
    },
    /// A file no policy covers holds values of several keys (or none) and the
    /// identities given do not hold exactly one key.
    AttesterUnknown(String),
    /// The tree could not be walked.
    Walk(WalkError),
    /// git could not be asked.
    Git(GitError),
}

impl std::fmt::Display for TeamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keyring = Repo::keyring_name;
        match self {
            TeamError::Io {
                what,
                doing: "",
                source,
            } => write!(f, "{what}: {source}"),
            TeamError::Io {
                what,
                doing,
                source,
            } => write!(f, "{what}: {doing}: {source}"),
            TeamError::Policy { file, source } => write!(f, "{file}: {source}"),
            TeamError::NoPolicy => write!(
                f,
                "no {POLICY_FILE} in this directory or above; run `cachet init` at the repository's root"
            ),
            TeamError::NestedPolicy { inner, outer } => write!(
                f,
                "{} is inside the tree of {}; cachet uses one policy per repository: remove the inner one (or merge its environments into the outer)",
                inner.display(),
                outer.display()
            ),
            TeamError::KeyringMissing(env) => write!(
                f,
                "environment {env}: its keyring {} is missing; a member's copy of the repository has it, or recreate the environment",
                keyring(env)
            ),
            TeamError::IdentityUnusable { env, source, why } => write!(
                f,
                "environment {env}: cannot open {}: {source}: {why}",
                keyring(env)
            ),
            TeamError::NotAMember(env) => write!(
                f,
                "environment {env}: you are not a member: none of your identities opens {}",
                keyring(env)
            ),
            TeamError::Identity { source, why } => write!(f, "{source}: {why}"),
            TeamError::Keyring {
                env,
                writing: false,
                source,
            } => write!(f, "environment {env}: {}: {source}", keyring(env)),
            TeamError::Keyring {
                env,
                writing: true,
                source,
            } => write!(f, "environment {env}: cannot write its keyring: {source}"),
            TeamError::WrongEnvironment { env, found } => write!(
                f,
                "environment {env}: {} holds the keyring of environment {found:?}; restore the right file from history",
                keyring(env)
            ),
            TeamError::Disagree { env, differences } => write!(
                f,
                "environment {env}: the keyring and {POLICY_FILE} disagree ({}); see `cachet check`, then repair with `cachet members sync {env}`",
                differences.join("; ")
            ),
            TeamError::NoPinStore => f.write_str(
                "cannot pin environment keys: neither XDG_CONFIG_HOME nor HOME is set",
            ),
            TeamError::PinsInvalid(path) => write!(
                f,
                "{}: not a valid key pin file (tables of environment = \"key id\")",
                path.display()
            ),
            TeamError::KeyChanged { env, key, pinned } => write!(
                f,
                "environment {env}: its public key in {POLICY_FILE} changed (key id {key}; this machine pinned key id {pinned}); a key swapped in by someone else would let them read what you seal: check the history of {POLICY_FILE}, run `cachet check`, and only then pass --accept-new-key"
            ),
            TeamError::NewEnvironment { env, key } => write!(
                f,
                "environment {env} (key id {key}) is new to this machine, though other environments of this repository are pinned; check who added it in the history of {POLICY_FILE}, then pass --accept-new-key"
            ),
            TeamError::UnpinnedRotation(pin) => write!(
                f,
                "{pin} (finishing a rotation with the keyring's current key)"
            ),
            TeamError::NoRecipient => f.write_str(
                "no recipient: pass -r age1… (the environment's public key), set CACHET_RECIPIENT, or describe the environments in .cachet.toml (`cachet init`)",
            ),
            TeamError::NoSuchFile(file) => write!(f, "{file}: no such file"),
            TeamError::EnvMovesFile {
                file,
                covering,
                asked,
            } => write!(
                f,
                "{file}: belongs to environment {covering} by the files globs of {POLICY_FILE}; --env {asked} would seal it for another environment's members"
            ),
            TeamError::StdinNeedsEnv => {
                f.write_str("<stdin>: name the environment with --env NAME (or pass -r)")
            }
            TeamError::OutsideRoot { file, policy } => write!(
                f,
                "{file}: outside the directory of {}; pass --env NAME or -r",
                policy.display()
            ),
            TeamError::NotCovered { file, rel } => write!(
                f,
                "{file}: no environment of {POLICY_FILE} covers {rel}; add a glob to its files, or pass --env NAME or -r"
            ),
            TeamError::Unopenable {
                env,
                why: Unopenable::NoKeyring,
            } => write!(
                f,
                "environment {env}: its keyring {} is missing, so nobody could open what you seal; restore it, or pass --force",
                keyring(env)
            ),
            TeamError::Unopenable {
                env,
                why: Unopenable::NoMembers,
            } => write!(
                f,
                "environment {env}: it has no members, so nobody could open what you seal; add one with `cachet members add`, or pass --force"
            ),
            TeamError::NoMembers { env: None } => f.write_str(
                "an environment needs at least one member to hold its key: pass --member NAME=RECIPIENT (or drop --no-self)",
            ),
            TeamError::NoMembers { env: Some(env) } => write!(
                f,
                "environment {env}: {POLICY_FILE} lists no members; a keyring needs at least one"
            ),
            TeamError::MemberNamedTwice(name) => write!(
                f,
                "member {name:?} is named twice; give each member its own name (--self-name for yours)"
            ),
            TeamError::MemberKeyTwice(name) => {
                write!(f, "member {name:?} has the same key as another member")
            }
            TeamError::MemberExists { env, name } => write!(
                f,
                "environment {env}: member {name:?} exists already with that name or key"
            ),
            TeamError::NoSuchMember { env, name } => write!(
                f,
                "environment {env}: no member {name:?} (see `cachet members list {env}`)"
            ),
            TeamError::LastMember { env, name } => write!(
                f,
                "environment {env}: {name:?} is its last member; add another member first"
            ),
            TeamError::KeyringExists(env) => write!(
                f,
                "{} exists already but {POLICY_FILE} has no environment {env} (left by an interrupted `env add`?); remove the file and run again",
                keyring(env)
            ),
            TeamError::KeyringCannotFollow(env) => write!(
                f,
                "environment {env}: the public key in {POLICY_FILE} has no private key in the keyring, so the keyring cannot follow it; if the keyring is right, run `cachet members sync {env} --from-keyring`"
            ),
            TeamError::GrantNeeded { env, names } => write!(
                f,
                "environment {env}: syncing would give the key to {} (in {POLICY_FILE}, not in the keyring); check who added them, then pass --grant, or run with --from-keyring to drop them",
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TeamError::UnknownKeyInFile { file, key, env } => write!(
                f,
                "{file}: holds values sealed to key id {key}, which is not a key of environment {env}'s keyring; a member who holds that key re-seals the file for {env} with `cachet reseal {file}`, then rotate"
            ),
            TeamError::UnknownFormat(file) => write!(
                f,
                "{file}: holds a token but its format is not known from its name; rename it, or take it out of the environment's files"
            ),
            TeamError::NotText(file) => write!(f, "{file}: is not UTF-8 text"),
            TeamError::File { file, source } => write!(f, "{file}: {source}"),
            TeamError::RotationIncomplete { env, first, more } => write!(
                f,
                "environment {env}: {first}{}; every value still opens (the keyring keeps the retired key): fix this, then run `cachet rotate {env}` again to finish",
                if *more > 0 {
                    format!(" (and {more} more files)")
                } else {
                    String::new()
                }
            ),
            TeamError::RetiredKeyInUse { env, files } => {
                let shown: Vec<&str> = files.iter().take(5).map(String::as_str).collect();
                write!(
                    f,
                    "environment {env}: {} file{} still hold values sealed to a retired key ({}{}); run `cachet rotate {env}` to finish re-sealing them, then prune again",
                    files.len(),
                    if files.len() == 1 { "" } else { "s" },
                    shown.join(", "),
                    if files.len() > shown.len() { ", …" } else { "" }
                )
            }
            TeamError::BadAnchor(item) => write!(
                f,
                "CACHET_TRUST: {item:?} is not ENV=KEY (an environment's name and its key id, or its age1… public key)"
            ),
            TeamError::TeamFileLink(path) => write!(
                f,
                "{}: is a symbolic link; cachet never follows one for the policy, .cachet/ or a keyring (a link committed to a repository could send keys elsewhere): put the file itself there",
                path.display()
            ),
            TeamError::ForeignOwner { path, owner, root } => write!(
                f,
                "{}: is owned by another user (uid {owner}), and whoever can write it chooses the keys your secrets are sealed to; if you trust that user, add {} to CACHET_SAFE_DIRECTORIES",
                path.display(),
                root.display()
            ),
            TeamError::AnchorMismatch { env, key, anchor } => write!(
                f,
                "environment {env}: its public key in {POLICY_FILE} (key id {key}) is not the key CACHET_TRUST names (key id {anchor}); nothing was sealed: find out who changed {POLICY_FILE} before changing CACHET_TRUST"
            ),
            TeamError::FirstUseRefused { env, key } => write!(
                f,
                "environment {env}: its key (key id {key}) is not pinned on this machine, and first use is refused (--require-pin, CACHET_REQUIRE_PIN); once the key is checked, name it in CACHET_TRUST ({env}={key})"
            ),
            TeamError::KeyringMismatch {
                env,
                policy,
                keyring: ring,
            } => write!(
                f,
                "environment {env}: the public key in {POLICY_FILE} (key id {policy}) is not the key of its keyring (key id {ring}), which you can open; nothing was sealed: find out who changed them (git log -- {POLICY_FILE} {}), and see `cachet check`",
                keyring(env)
            ),
            TeamError::NewKeyInKeyring { env, key, pinned } => write!(
                f,
                "environment {env}: its keyring holds a key this machine has not pinned (key id {key}; {}), from a rotation made elsewhere or from someone who knew an older key; run `cachet rotate {env}` to replace it with a key made here, or check who wrote {} (git log) and pass --accept-new-key",
                match pinned {
                    Some(p) => format!("pinned here: key id {p}"),
                    None => format!("{POLICY_FILE} still names a key the keyring has retired"),
                },
                keyring(env)
            ),
            TeamError::UnvouchedKey { env, key } => write!(
                f,
                "environment {env}: the keyring's key (key id {key}) is not pinned on this machine, and adopting it would trust whoever wrote the keyring; check who wrote {} (git log) and pass --accept-new-key, or restore {POLICY_FILE} and the keyring from history",
                keyring(env)
            ),
            TeamError::EnvironmentChanged { file, from, to } => write!(
                f,
                "{file}: this machine sealed it for environment {from}, and {POLICY_FILE} now puts it in environment {to}, whose members would open what you seal; check the history of {POLICY_FILE}, then pass --accept-new-env"
            ),
            TeamError::CannotAttest {
                file,
                env: Some(env),
                key,
            } => write!(
                f,
                "{file}: cannot attest: no identity given holds environment {env}'s key (key id {key}) or opens its keyring; only its members and deploy targets can attest its files"
            ),
            TeamError::CannotAttest {
                file,
                env: None,
                key,
            } => write!(
                f,
                "{file}: cannot attest: no identity given holds the key of key id {key}; give it with -i FILE or CACHET_IDENTITY"
            ),
            TeamError::AttesterUnknown(file) => write!(
                f,
                "{file}: cannot tell which key attests it: no environment covers it, and neither its sealed values nor the identities given name exactly one key; give the one identity with -i FILE"
            ),
            TeamError::OtherEnvironmentKey { at, env, held } => write!(
                f,
                "{}environment {env}: the key given is environment {held}'s, which opens neither {env}'s values nor its keyring; give {env}'s key (printed by a member's `cachet env key {env}`)",
                at.as_ref().map_or(String::new(), |a| format!("{a}: "))
            ),
            TeamError::MergeConflict {
                file,
                keyring: None,
            } => write!(
                f,
                "{file}: holds an unresolved git merge conflict (<<<<<<< … >>>>>>>); resolve it by hand, keeping the changes of both sides, then run `cachet check`"
            ),
            TeamError::MergeConflict {
                file,
                keyring: Some(env),
            } => write!(
                f,
                "{file}: holds an unresolved git merge conflict, and a keyring cannot be merged line by line: take one side (`git checkout --ours {file}`), resolve {POLICY_FILE}, then run `cachet members sync {env}` (with --grant for a member the other side added) and `cachet check`"
            ),
            TeamError::InitInsideTree(outer) => write!(
                f,
                "this directory is inside the tree of {}; cachet uses one policy per repository: add environments to that one (`cachet env add`)",
                outer.display()
            ),
            TeamError::Walk(e) => e.fmt(f),
            TeamError::Git(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TeamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TeamError::Io { source, .. } => Some(source),
            TeamError::Policy { source, .. } => Some(source),
            TeamError::IdentityUnusable { why, .. } | TeamError::Identity { why, .. } => Some(why),
            TeamError::Keyring { source, .. } => Some(source),
            TeamError::UnpinnedRotation(pin) => Some(pin.as_ref()),
            TeamError::File { source, .. } => Some(source),
            TeamError::Walk(e) => Some(e),
            TeamError::Git(e) => Some(e),
            _ => None,
        }
    }
}

impl Classified for TeamError {
    fn kind(&self) -> ErrorKind {
        match self {
            TeamError::Io { .. }
            | TeamError::PinsInvalid(_)
            | TeamError::NoPinStore
            | TeamError::UnknownFormat(_)
            | TeamError::NotText(_)
            | TeamError::IdentityUnusable { .. }
            | TeamError::Identity { .. }
            | TeamError::KeyringExists(_)
            | TeamError::MergeConflict { .. } => ErrorKind::Input,
            TeamError::Policy { source, .. } => match source.kind() {
                ErrorKind::Usage => ErrorKind::Usage,
                _ => ErrorKind::Input,
            },
            TeamError::Keyring { writing: true, .. } => ErrorKind::Input,
            TeamError::File { source, .. } => source.kind(),
            TeamError::Walk(e) => e.kind(),
            TeamError::Git(e) => e.kind(),
            TeamError::NoPolicy
            | TeamError::BadAnchor(_)
            | TeamError::NoRecipient
            | TeamError::NoSuchFile(_)
            | TeamError::StdinNeedsEnv
            | TeamError::OutsideRoot { .. }
            | TeamError::NotCovered { .. }
            | TeamError::NoMembers { .. }
            | TeamError::MemberNamedTwice(_)
            | TeamError::MemberKeyTwice(_)
            | TeamError::MemberExists { .. }
            | TeamError::NoSuchMember { .. }
            | TeamError::LastMember { .. } => ErrorKind::Usage,
            TeamError::NestedPolicy { .. }
            | TeamError::KeyringMissing(_)
            | TeamError::NotAMember(_)
            | TeamError::Keyring { writing: false, .. }
            | TeamError::WrongEnvironment { .. }
            | TeamError::Disagree { .. }
            | TeamError::KeyChanged { .. }
            | TeamError::NewEnvironment { .. }
            | TeamError::UnpinnedRotation(_)
            | TeamError::EnvMovesFile { .. }
            | TeamError::Unopenable { .. }
            | TeamError::KeyringCannotFollow(_)
            | TeamError::GrantNeeded { .. }
            | TeamError::UnknownKeyInFile { .. }
            | TeamError::RotationIncomplete { .. }
            | TeamError::RetiredKeyInUse { .. }
            | TeamError::TeamFileLink(_)
            | TeamError::ForeignOwner { .. }
            | TeamError::AnchorMismatch { .. }
            | TeamError::FirstUseRefused { .. }
            | TeamError::KeyringMismatch { .. }
            | TeamError::NewKeyInKeyring { .. }
            | TeamError::UnvouchedKey { .. }
            | TeamError::EnvironmentChanged { .. }
            | TeamError::InitInsideTree(_)
            | TeamError::OtherEnvironmentKey { .. }
            | TeamError::CannotAttest { .. }
            | TeamError::AttesterUnknown(_) => ErrorKind::Refused,
        }
    }
}

impl TeamError {
    /// An I/O failure on `what`.
    pub(crate) fn io(what: impl Into<String>, doing: &'static str, source: std::io::Error) -> Self {
        TeamError::Io {
            what: what.into(),
            doing,
            source,
        }
    }
}
