//! The command line, defined once: parsing, `--help`, completions and the man page
//! are all generated from these types.

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Seal values inside configuration files so they can be committed; open them at
/// deploy time with the environment's key.
#[derive(Parser, Debug)]
#[command(name = "cachet", version, about, long_about = None, max_term_width = 100)]
#[command(
    after_help = "Exit status: 0 success (check: also when it found warnings only); 1 a sealed value or keyring failed to open, a pinned key changed, or check found a problem; 2 bad usage or unreadable input; exec: 125 when cachet fails before running the command."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a new environment key (an age X25519 identity).
    Keygen {
        /// Write the identity to FILE (created 0600; never overwritten) and print the
        /// public key on stdout. Without it the identity goes to stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Protect the identity with a passphrase, asked on the terminal (Argon2id,
        /// spec/identity.md). For a personal identity, never for a deploy key.
        #[arg(long)]
        passphrase: bool,
        /// Print the public key (recipient) of each identity in IDENTITY instead of
        /// making a key, as `age-keygen -y` does.
        #[arg(short = 'y', value_name = "IDENTITY", conflicts_with_all = ["output", "passphrase"])]
        public_of: Option<PathBuf>,
    },
    /// Create .cachet.toml in the current directory (the repository's root).
    Init {
        /// Also create this first environment (as `cachet env add NAME` does).
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        #[command(flatten)]
        add: EnvAddArgs,
    },
    /// Manage environments: their keys and the files they cover.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Manage who can open an environment's keyring.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Rotate an environment's key: a new key, every value of the environment
    /// re-sealed to it, the old key kept in the keyring as retired. Run it again
    /// after an interruption: it finishes the rotation instead of making a new key.
    Rotate {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        env: String,
        /// List what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Files to re-seal besides those the environment's files globs cover.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Make a new key even when an interrupted rotation could be finished with
        /// the keyring's current key (for instance when someone who knew that key
        /// has left).
        #[arg(long)]
        new_key: bool,
        /// Finish a rotation whose new key is not the one pinned on this machine
        /// (only after checking who wrote the keyring: a planted key lets its
        /// owner read what is sealed from then on).
        #[arg(long)]
        accept_new_key: bool,
        #[command(flatten)]
        identity: IdentityArg,
    },
    /// Remove an environment's retired keys from its keyring, once no value of
    /// the files it covers is sealed to them.
    Prune {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        env: String,
        #[command(flatten)]
        identity: IdentityArg,
    },
    /// The CI and pre-commit gate: check the policy, the keyrings you can open,
    /// key ages, and every configuration file for plain secrets, plaintext
    /// credentials, values sealed to a retired or unknown key, and (with --base)
    /// values whose sealed-at time went back. One line per finding; never a value.
    #[command(
        after_help = "Exit status: 0 nothing found, or warnings only (a key past its rotation period); 1 a problem was found (or a warning, with --strict); 2 bad usage or unreadable input (a bad GIT_REF, no git repository for --staged or --base, an unreadable file). The findings and exit statuses are specified in spec/audit.md."
    )]
    Check {
        /// Files or directories to check (default: every file under the
        /// directory of .cachet.toml, honouring .gitignore).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Also report values whose sealed-at time is earlier than in this git
        /// revision (an older token put back: a rollback or a replay).
        #[arg(long, value_name = "GIT_REF")]
        base: Option<String>,
        /// Check the content staged for commit (the git index), not the working
        /// tree: for a pre-commit hook.
        #[arg(long)]
        staged: bool,
        /// Treat warnings (a key past its rotation period) as problems.
        #[arg(long)]
        strict: bool,
        /// How to write the findings: text (one line each) or sarif (a SARIF
        /// 2.1.0 log, for code-scanning dashboards).
        #[arg(long, value_enum, default_value_t = CheckFormat::Text, hide_possible_values = true)]
        format: CheckFormat,
        #[command(flatten)]
        identity: IdentityArg,
    },
    /// Report every environment (key id, key dates and age against the rotation
    /// period, members, retired keys still in use) and every configuration file
    /// (sealed values per key, when each value was last set, plain secrets, files
    /// of no environment). Never shows a value.
    Audit {
        /// Print the report as JSON (stable; schema in spec/audit.schema.json).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        identity: IdentityArg,
    },
    /// Seal the secret values of files in place (only the public key is needed).
    Seal {
        /// Files to seal; `-` reads standard input and writes standard output.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        recipient: RecipientArg,
        /// Seal exactly this value (and everything beneath it) instead of the
        /// default rule; repeatable. Example: --path database.password
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<String>,
        /// Print the sealed file on stdout instead of rewriting it.
        #[arg(long)]
        stdout: bool,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        input: InputTypeArg,
        #[command(flatten)]
        like: LikeArgs,
    },
    /// Open a sealed file: print it (or write it to OUT) with every value restored,
    /// or converted with --output-type, or only checked with --check.
    Open {
        /// The sealed file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        identity: IdentityArg,
        /// Write the output to OUT (created 0600, written atomically).
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Convert the opened file: env (a dotenv file for docker compose), json,
        /// toml, yaml, or k8s-secret (a Kubernetes Secret for `kubectl apply -f -`).
        #[arg(long, value_enum, value_name = "TYPE")]
        output_type: Option<OutputType>,
        /// The Secret's name, with --output-type k8s-secret.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The Secret's namespace, with --output-type k8s-secret.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Open every value in memory and print nothing: the exit status says
        /// whether the file opens (a deploy's health gate).
        #[arg(long, conflicts_with = "output")]
        check: bool,
        #[command(flatten)]
        variables: VariableArgs,
        #[command(flatten)]
        audit: AuditArg,
        #[command(flatten)]
        attested: AttestedArg,
        #[command(flatten)]
        input: InputTypeArg,
    },
    /// Print one value's content (a string without its quotes).
    Get {
        /// The sealed file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The value's path, e.g. database.password or servers[0].token.
        #[arg(value_name = "PATH")]
        path: String,
        /// Which document of a multi-document YAML file (0-based).
        #[arg(long, value_name = "N", default_value_t = 0)]
        document: u32,
        #[command(flatten)]
        identity: IdentityArg,
        #[command(flatten)]
        audit: AuditArg,
        #[command(flatten)]
        attested: AttestedArg,
        #[command(flatten)]
        input: InputTypeArg,
    },
    /// Run a command with every value of the files (sealed and plain) as an
    /// environment variable: database.password becomes DATABASE_PASSWORD.
    #[command(
        after_help = "A variable already set in the environment is kept unless --override. Arrays are exported as JSON. Names that change how programs run (PATH, LD_*, PYTHON*, NODE_OPTIONS…; spec/deploy.md lists them) are refused unless --allow-var names them. CACHET_IDENTITY is not passed on unless --keep-identity.\n\nExit status: the command's own; 125 when cachet fails before running it; 126 when the command cannot be run; 127 when it is not found."
    )]
    Exec {
        /// A sealed (or plain) file; repeatable, a later file wins for the same name.
        #[arg(short = 'f', long = "file", value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        identity: IdentityArg,
        #[command(flatten)]
        variables: VariableArgs,
        /// Replace variables already set in the environment.
        #[arg(long = "override")]
        override_env: bool,
        /// Pass CACHET_IDENTITY on to the command.
        #[arg(long)]
        keep_identity: bool,
        #[command(flatten)]
        audit: AuditArg,
        #[command(flatten)]
        attested: AttestedArg,
        #[command(flatten)]
        input: InputTypeArg,
        /// The command and its arguments, after `--`.
        #[arg(value_name = "COMMAND", last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Seal a new value, read from standard input, at PATH (only the public key is
    /// needed). One trailing newline of the input is dropped.
    Set {
        /// The file to change in place.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The value's path.
        #[arg(value_name = "PATH")]
        path: String,
        /// Add PATH when the file does not have it (without it a mistyped path is
        /// an error, not a new key).
        #[arg(long)]
        create: bool,
        /// Which document of a multi-document YAML file (0-based).
        #[arg(long, value_name = "N", default_value_t = 0)]
        document: u32,
        #[command(flatten)]
        recipient: RecipientArg,
        /// The value's type in the file.
        #[arg(long = "type", value_enum, default_value_t = TypeArg::String)]
        ty: TypeArg,
        /// Seal a new random secret instead of reading one, never showing it: LEN
        /// characters (default: enough for 256 bits; at least 64 bits).
        #[arg(long, value_name = "LEN", num_args = 0..=1, conflicts_with = "ty")]
        generate: Option<Option<usize>>,
        /// The characters a generated secret is drawn from.
        #[arg(long, value_enum, default_value_t = CharsetArg::Alnum, requires = "generate")]
        charset: CharsetArg,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        input: InputTypeArg,
    },
    /// Import a file encrypted by another tool: its encrypted values are sealed,
    /// the rest stays plain.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Approve files as a holder of their environment's key: list what changed
    /// since the last attested version in git, then sign each file's exact bytes
    /// (spec/attest.md), so that `--require-attested` deploys run it.
    Attest(AttestArgs),
    /// Seal every value of files again, stamped now, to the key of the
    /// environment that covers each (members only): moves a file copied from
    /// another environment to its own, and accepts a value deliberately put back.
    Reseal(ResealArgs),
    /// Edit a sealed file in $CACHET_EDITOR, $VISUAL or $EDITOR: opened into a
    /// private temporary file, re-sealed afterwards, unchanged values keeping their
    /// exact sealed text.
    Edit(EditArgs),
    /// Print a file with its sealed values opened, for `git diff` (a git textconv
    /// driver): the sealed form when it cannot be opened; never fails.
    Diff(DiffArgs),
    /// Merge three versions of a sealed file value by value (a git merge driver:
    /// `cachet merge %O %A %B %P`).
    Merge(MergeArgs),
    /// Set up git for sealed files.
    #[command(subcommand)]
    Git(GitCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or with --dir write one page per command.
    Man {
        /// Write cachet.1 and a page per command (cachet-seal.1, cachet-env-add.1,
        /// …) into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Who values are sealed to.
#[derive(Args, Debug)]
pub struct RecipientArg {
    /// The environment's public key (age1…). Default: $CACHET_RECIPIENT, else the
    /// key of the file's environment in .cachet.toml.
    #[arg(short, long, value_name = "RECIPIENT")]
    pub recipient: Option<String>,
}

/// How seal and set use the policy when no recipient is given.
#[derive(Args, Debug)]
pub struct PolicyArgs {
    /// Seal for this environment of .cachet.toml instead of the one whose files
    /// globs cover the file.
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(environment_names))]
    pub env: Option<String>,
    /// Accept an environment key that differs from the one pinned on this machine
    /// (only after checking why it changed: a swapped key lets its owner read
    /// what you seal).
    #[arg(long)]
    pub accept_new_key: bool,
    /// Accept that .cachet.toml now puts the file in another environment than the
    /// one this machine sealed it for (only after checking who moved it: that
    /// environment's members will open what you seal).
    #[arg(long)]
    pub accept_new_env: bool,
    /// Refuse to use an environment key that is neither pinned on this machine nor
    /// named in CACHET_TRUST, instead of pinning it on first use (for CI).
    #[arg(long, env = "CACHET_REQUIRE_PIN", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub require_pin: bool,
    /// Seal even though no member can open the environment's key (no keyring, or
    /// no members).
    #[arg(long)]
    pub force: bool,
    /// Do not attest what is written, even with the environment's key at hand:
    /// the file is left proposed (spec/attest.md).
    #[arg(long)]
    pub no_attest: bool,
}

/// The options of a new environment.
#[derive(Args, Debug)]
pub struct EnvAddArgs {
    /// A glob of the files the environment covers, relative to .cachet.toml's
    /// directory (repeatable), e.g. 'config/prod/**'.
    #[arg(long = "files", value_name = "GLOB")]
    pub files: Vec<String>,
    /// A value path glob to seal beyond the default rule (repeatable), e.g. 'stripe.*'.
    #[arg(long = "seal", value_name = "GLOB")]
    pub seal: Vec<String>,
    /// A member, NAME=RECIPIENT (age1…, ssh-ed25519 …, ssh-rsa … or an age plugin
    /// recipient); repeatable.
    #[arg(long = "member", value_name = "NAME=RECIPIENT")]
    pub members: Vec<String>,
    /// Do not make your own identity a member.
    #[arg(long)]
    pub no_self: bool,
    /// Your name as a member (default: git config user.name, else $USER).
    #[arg(long, value_name = "NAME")]
    pub self_name: Option<String>,
    /// How often the key is to be rotated, in days, e.g. 90d.
    #[arg(long, value_name = "DAYS", default_value = "90d")]
    pub rotate_every: String,
    #[command(flatten)]
    pub identity: IdentityArg,
}

/// `cachet env …`
#[derive(Subcommand, Debug)]
pub enum EnvCommand {
    /// Create an environment: a new key, its keyring and its entry in .cachet.toml.
    Add {
        /// The environment's name (lower-case letters, digits, - and _).
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        add: EnvAddArgs,
    },
    /// List the environments of .cachet.toml.
    List,
    /// Print an environment's private key(s) as an identity file, to provision a
    /// deploy target (needs a member's identity).
    Key {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        name: String,
        /// Print even when standard output is a terminal.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        identity: IdentityArg,
    },
}

/// `cachet members …`
#[derive(Subcommand, Debug)]
pub enum MembersCommand {
    /// Add a member: re-encrypt the keyring to them too.
    Add {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        env: String,
        /// NAME=RECIPIENT (age1…, ssh-ed25519 …, ssh-rsa … or an age plugin recipient).
        #[arg(value_name = "NAME=RECIPIENT")]
        member: String,
        #[command(flatten)]
        identity: IdentityArg,
    },
    /// Remove a member: re-encrypt the keyring without them. They knew the key:
    /// rotate it and change the secrets.
    Remove {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        env: String,
        /// The member's name.
        #[arg(value_name = "NAME")]
        name: String,
        /// Rotate the environment's key right after the removal (`cachet rotate`),
        /// so the removed member never holds the new key.
        #[arg(long)]
        rotate: bool,
        #[command(flatten)]
        identity: IdentityArg,
    },
    /// List an environment's members.
    List {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        env: String,
    },
    /// Make the keyring and .cachet.toml agree again (after an interrupted command
    /// or a merge): re-encrypt the keyring to the members .cachet.toml lists.
    Sync {
        /// The environment.
        #[arg(value_name = "ENV", add = ArgValueCandidates::new(environment_names))]
        env: String,
        /// Rewrite .cachet.toml from the keyring instead (members and public key).
        #[arg(long)]
        from_keyring: bool,
        /// Give the key to members listed in .cachet.toml but not in the keyring
        /// (only after checking who added them: a hand-edited member list is how
        /// someone would grant themselves access).
        #[arg(long, conflicts_with = "from_keyring")]
        grant: bool,
        /// With --from-keyring: adopt a keyring key this machine has not pinned
        /// (only after checking who wrote the keyring).
        #[arg(long, requires = "from_keyring")]
        accept_new_key: bool,
        #[command(flatten)]
        identity: IdentityArg,
    },
}

/// Where identities come from.
#[derive(Args, Debug)]
pub struct IdentityArg {
    /// An identity file (repeatable): age keys, an SSH private key, or either
    /// protected by a passphrase. Without -i: $CACHET_IDENTITY (the key text), else
    /// $CACHET_IDENTITY_FILE, else $CACHET_IDENTITY_COMMAND (run without a shell;
    /// its output is the key), else $XDG_CONFIG_HOME/cachet/identity.txt, else
    /// ~/.ssh/id_ed25519 and ~/.ssh/id_rsa; the first present is used.
    #[arg(short, long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
}

/// The format of the input, when its name does not say.
#[derive(Args, Debug)]
pub struct InputTypeArg {
    /// The file format (default: from the file's extension).
    #[arg(long, value_enum, value_name = "TYPE")]
    pub input_type: Option<InputType>,
}

/// Formats accepted by `--input-type`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum InputType {
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
    /// Strict JSON.
    Json,
    /// JSON with comments and trailing commas.
    Jsonc,
    /// Dotenv (`KEY=value` lines).
    Env,
}

/// How values become environment variables (`exec`, and `open --output-type env`
/// or `k8s-secret`).
#[derive(Args, Debug)]
pub struct VariableArgs {
    /// Export only the values this path glob matches, or those under a table it
    /// matches (repeatable), e.g. 'database' or 'jwt.*'.
    #[arg(long = "only", value_name = "GLOB")]
    pub only: Vec<String>,
    /// Joins nested keys: database.password is DATABASE_PASSWORD; with `__`
    /// (pydantic-settings' env_nested_delimiter) DATABASE__PASSWORD.
    #[arg(long, value_name = "SEP", default_value = "_")]
    pub separator: String,
    /// Put before every name.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// Upper-case the names (the default).
    #[arg(long, conflicts_with = "keep_case")]
    pub upper: bool,
    /// Keep the keys' case in the names.
    #[arg(long)]
    pub keep_case: bool,
    /// Allow a refused name (PATH, LD_*, PYTHON*…); repeatable.
    #[arg(long = "allow-var", value_name = "NAME")]
    pub allow: Vec<String>,
}

/// Where the access log goes.
#[derive(Args, Debug)]
pub struct AuditArg {
    /// Append one JSON line per file opened (time, command, file, environment, key,
    /// paths, identity; never a value) to FILE, created 0600; `-` writes it to
    /// stderr. Default: $CACHET_AUDIT_LOG.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// The arguments of `reseal`.
#[derive(Args, Debug)]
pub struct ResealArgs {
    /// The files to re-seal in place.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArg,
    #[command(flatten)]
    pub recipient: RecipientArg,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub input: InputTypeArg,
}

/// The arguments of `attest`.
#[derive(Args, Debug)]
pub struct AttestArgs {
    /// The files to approve.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArg,
    /// Approve without asking (what changed is still listed).
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub input: InputTypeArg,
}

/// Whether a file must carry a valid attestation to be opened.
#[derive(Args, Debug)]
pub struct AttestedArg {
    /// Refuse a file that no key holder attested, or that changed since
    /// (spec/attest.md); nothing is opened, shown or run. Default:
    /// $CACHET_REQUIRE_ATTESTED.
    #[arg(long, env = "CACHET_REQUIRE_ATTESTED", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub require_attested: bool,
}

/// Formats of `open --output-type`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OutputType {
    /// Dotenv lines for docker compose (`env_file:`).
    Env,
    /// JSON.
    Json,
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
    /// A Kubernetes Secret manifest (needs --name).
    K8sSecret,
}

/// Types accepted by `set --type`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TypeArg {
    /// A string (quoted in the file).
    String,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// true or false.
    Bool,
}

/// Alphabets for `set --generate`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum CharsetArg {
    /// A–Z a–z 0–9: safe everywhere.
    Alnum,
    /// 0–9 a–f.
    Hex,
    /// A–Z a–z 0–9 - _ (URL-safe base64 alphabet).
    Base64url,
    /// 0–9.
    Digits,
    /// Printable ASCII without space, quotes, backslash and $.
    Symbols,
}

impl From<CharsetArg> for cachet::seal::generate::Charset {
    fn from(c: CharsetArg) -> Self {
        use cachet::seal::generate::Charset;
        match c {
            CharsetArg::Alnum => Charset::Alnum,
            CharsetArg::Hex => Charset::Hex,
            CharsetArg::Base64url => Charset::Base64Url,
            CharsetArg::Digits => Charset::Digits,
            CharsetArg::Symbols => Charset::Symbols,
        }
    }
}

/// `cachet import …`
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a SOPS file encrypted to age (YAML, JSON, dotenv; INI becomes TOML):
    /// decrypt it, check its MAC, and seal exactly the values SOPS had encrypted
    /// (spec/import-sops.md).
    Sops(ImportSopsArgs),
}

/// The arguments of `cachet import sops`.
#[derive(Args, Debug)]
pub struct ImportSopsArgs {
    /// The SOPS file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An age identity file that opens the SOPS file's data key (repeatable).
    /// Without -i: $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE and
    /// $XDG_CONFIG_HOME/sops/age/keys.txt, every one present, as sops reads them.
    #[arg(short, long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub recipient: RecipientArg,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Write the sealed file to OUT (atomically). Without -o or --in-place it goes
    /// to stdout.
    #[arg(short, long, value_name = "OUT", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Replace FILE with the sealed file.
    #[arg(long)]
    pub in_place: bool,
    /// How SOPS stored the file (default: from its extension, as sops decides).
    #[arg(long, value_enum, value_name = "TYPE")]
    pub input_type: Option<SopsInputType>,
    /// Import even when SOPS's MAC does not match the values (every value must
    /// still decrypt).
    #[arg(long)]
    pub ignore_mac: bool,
}

/// SOPS's stores, for `import sops --input-type`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SopsInputType {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
    /// Dotenv (`KEY=value` lines).
    Dotenv,
    /// INI (imported as TOML).
    Ini,
    /// A whole file as one value.
    Binary,
}

/// How `check` writes its findings.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    /// One line per finding.
    Text,
    /// A SARIF 2.1.0 log.
    Sarif,
}

/// `seal --like`: re-seal a plaintext working copy with the fewest changes.
#[derive(Args, Debug)]
pub struct LikeArgs {
    /// The sealed version FILE was opened from: every value whose text is
    /// unchanged keeps SEALED's token, so the sealed file changes only where
    /// values changed. Needs an identity that opens SEALED.
    #[arg(long, value_name = "SEALED")]
    pub like: Option<PathBuf>,
    /// With --like: write the result to OUT (usually SEALED itself), replaced
    /// atomically once it is complete, instead of rewriting FILE in place.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT",
        requires = "like",
        conflicts_with = "stdout"
    )]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArg,
}

/// `cachet edit`.
#[derive(Args, Debug)]
#[command(
    after_help = "The editor command is split like a shell would (e.g. CACHET_EDITOR='code --wait'). The temporary file is created 0600 in a private directory under $CACHET_EDIT_DIR, else $XDG_RUNTIME_DIR, else /dev/shm, else the system temporary directory, and removed on every exit (also on Ctrl-C, SIGTERM and an editor failure). Ctrl-C while editing abandons the edit."
)]
pub struct EditArgs {
    /// The sealed file to edit in place.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArg,
    #[command(flatten)]
    pub recipient: RecipientArg,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub input: InputTypeArg,
}

/// `cachet diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The file git asks for (often a temporary copy: the format comes from the
    /// name's extension, the environment's policy from the current directory).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArg,
}

/// `cachet merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The common ancestor (git's %O).
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// Our version (git's %A); the result is written here.
    #[arg(value_name = "OURS")]
    pub ours: PathBuf,
    /// Their version (git's %B).
    #[arg(value_name = "THEIRS")]
    pub theirs: PathBuf,
    /// The file's path in the repository (git's %P): gives the format and the
    /// environment.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArg,
    /// Do not attest the merged file, even with its environment's key at hand.
    #[arg(long)]
    pub no_attest: bool,
}

/// `cachet git …`
#[derive(Subcommand, Debug)]
pub enum GitCommand {
    /// Register `cachet diff` and `cachet merge` in the repository's git config and
    /// add `diff=cachet merge=cachet` lines to .gitattributes.
    Setup {
        /// A .gitattributes pattern of sealed files (repeatable). Default: the files
        /// globs of every environment in .cachet.toml.
        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
    },
}

/// The environments of the policy above the current directory, for shell
/// completion (none outside a repository or when the policy cannot be read).
fn environment_names() -> Vec<CompletionCandidate> {
    let Ok(dir) = std::env::current_dir() else {
        return Vec::new();
    };
    let safe = super::team::safe_directories();
    match cachet::team::Repo::find_from(&dir, &safe) {
        Ok(Some(repo)) => repo
            .policy
            .environments
            .iter()
            .map(|e| CompletionCandidate::new(&e.name))
            .collect(),
        _ => Vec::new(),
    }
}
