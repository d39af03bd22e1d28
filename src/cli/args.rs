//! The command line, defined once: parsing, `--help`, completions and the man page
//! are all generated from these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Seal values inside configuration files so they can be committed; open them at
/// deploy time with the environment's key.
#[derive(Parser, Debug)]
#[command(name = "cachet", version, about, long_about = None, max_term_width = 100)]
#[command(
    after_help = "Exit status: 0 success; 1 a sealed value failed to open; 2 bad usage or unreadable input."
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
        input: InputTypeArg,
    },
    /// Open a sealed file: print it (or write it to OUT) with every value restored.
    Open {
        /// The sealed file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        identity: IdentityArg,
        /// Write the opened file to OUT (created 0600, written atomically).
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
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
        input: InputTypeArg,
    },
    /// Seal a new value, read from standard input, at PATH (only the public key is
    /// needed). One trailing newline of the input is dropped.
    Set {
        /// The file to change in place.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The value's path; a missing key is added.
        #[arg(value_name = "PATH")]
        path: String,
        /// Which document of a multi-document YAML file (0-based).
        #[arg(long, value_name = "N", default_value_t = 0)]
        document: u32,
        #[command(flatten)]
        recipient: RecipientArg,
        /// The value's type in the file.
        #[arg(long = "type", value_enum, default_value_t = TypeArg::String)]
        ty: TypeArg,
        #[command(flatten)]
        input: InputTypeArg,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Who values are sealed to.
#[derive(Args, Debug)]
pub struct RecipientArg {
    /// The environment's public key (age1…). Default: $CACHET_RECIPIENT.
    #[arg(short, long, value_name = "RECIPIENT")]
    pub recipient: Option<String>,
}

/// Where identities come from.
#[derive(Args, Debug)]
pub struct IdentityArg {
    /// An identity file (repeatable). Without -i: $CACHET_IDENTITY (the key text),
    /// else $CACHET_IDENTITY_FILE, else $CACHET_IDENTITY_COMMAND (run without a
    /// shell; its output is the key), else $XDG_CONFIG_HOME/cachet/identity.txt;
    /// the first present is used.
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
