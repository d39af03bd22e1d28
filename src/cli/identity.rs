//! Where the command line finds identities (secret keys) and recipients, and how
//! it asks for a passphrase (on the terminal only, never from a pipe).

use std::env;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use cachet::PublicKey;
use cachet::team::IdentitySources;
use cachet::team::identity_file::IdentitySet;

use super::Failure;

/// cachet's configuration directory: `$XDG_CONFIG_HOME/cachet`, else
/// `~/.config/cachet`.
pub fn config_dir() -> Option<PathBuf> {
    let base = env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("cachet"))
}

/// How the library talks to the person running cachet: messages on stderr, and
/// passphrases read without echo from the terminal, only when there is one.
#[derive(Clone, Copy, Debug)]
pub struct Terminal;

impl Terminal {
    /// Whether a person is there to answer: stderr (where prompts go) is a terminal.
    pub fn present() -> bool {
        std::io::stderr().is_terminal()
    }
}

impl age::Callbacks for Terminal {
    fn display_message(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "cachet: {message}");
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        if !Terminal::present() {
            return None;
        }
        rpassword::prompt_password(description)
            .ok()
            .map(age::secrecy::SecretString::from)
    }
}

/// Warns, as ssh does, when an identity file of the user's own can be read by
/// group or others.
fn warn_exposed(path: &Path, mode: u32) {
    let _ = writeln!(
        std::io::stderr(),
        "cachet: warning: identity file {} is accessible by group or others (mode {mode:04o}); run chmod 600 on it",
        path.display()
    );
}

/// The identities to open with, from the sources of `spec/policy.md` section 5 in
/// their order: `-i` files, then this process's environment and home.
pub fn load(files: &[PathBuf]) -> Result<IdentitySet, Failure> {
    let sources = IdentitySources {
        files: files.to_vec(),
        identity: env::var_os("CACHET_IDENTITY"),
        identity_file: env::var_os("CACHET_IDENTITY_FILE"),
        identity_command: env::var_os("CACHET_IDENTITY_COMMAND"),
        config_dir: config_dir(),
        home: env::var_os("HOME").map(PathBuf::from),
    };
    Ok(sources.load(Terminal, &warn_exposed)?)
}

/// `keygen -y FILE`: the public key of each identity in FILE, one per line
/// (asking for a passphrase only when the file holds no public key comment).
pub fn show_public(file: &Path) -> Result<(), Failure> {
    let sources = IdentitySources {
        files: vec![file.to_path_buf()],
        identity: None,
        identity_file: None,
        identity_command: None,
        config_dir: None,
        home: None,
    };
    // Showing the public half is no time to warn about the file's mode.
    let set = sources.load(Terminal, &|_: &Path, _: u32| {})?;
    let mut out = String::new();
    for r in set.recipients() {
        out.push_str(&format!("{r}\n"));
    }
    if out.is_empty() {
        return Err(Failure::usage(format!(
            "{}: holds no identity whose public key cachet can tell",
            file.display()
        )));
    }
    super::write_stdout(out.as_bytes())
}

/// The recipient given explicitly: `-r`, else `CACHET_RECIPIENT`; `None` when
/// neither is, so the policy decides.
pub fn explicit_recipient(arg: Option<&str>) -> Result<Option<PublicKey>, Failure> {
    let (text, from) = match arg {
        Some(r) => (r.to_string(), "-r"),
        None => match env::var("CACHET_RECIPIENT") {
            Ok(r) if !r.is_empty() => (r, "CACHET_RECIPIENT"),
            _ => return Ok(None),
        },
    };
    text.parse::<PublicKey>()
        .map(Some)
        .map_err(|e| Failure::usage(format!("{from}: {e}")))
}
