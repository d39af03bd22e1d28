//! Where the command line finds identities (secret keys) and recipients, and how
//! it asks for a passphrase (on the terminal only, never from a pipe).

use std::env;
use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cachet::PublicKey;
use cachet::identity_file::IdentitySet;

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

/// The default identity file: `identity.txt` in [`config_dir`].
fn default_identity_file() -> Option<PathBuf> {
    Some(config_dir()?.join("identity.txt"))
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
/// group or others. A file someone else owns is left alone: a Kubernetes secret
/// mount is root's and group-readable on purpose (`fsGroup`), and the user could
/// not change it anyway.
fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // The owner of /proc/self is this process's user (Linux); where it cannot
        // be known, every exposed file is reported.
        let me = fs::metadata("/proc/self").map(|m| m.uid()).ok();
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 && me.is_none_or(|uid| uid == meta.uid()) {
                let _ = writeln!(
                    std::io::stderr(),
                    "cachet: warning: identity file {} is accessible by group or others (mode {mode:04o}); run chmod 600 on it",
                    path.display()
                );
            }
        }
    }
}

fn parse_identities(bytes: &[u8], source: &str) -> Result<IdentitySet, Failure> {
    IdentitySet::parse(bytes, source, Terminal)
        .map_err(|e| Failure::usage(format!("{source}: {e}")))
}

fn read_identity_file(path: &Path) -> Result<IdentitySet, Failure> {
    warn_if_exposed(path);
    let name = format!("identity file {}", path.display());
    let bytes = zeroize::Zeroizing::new(
        fs::read(path).map_err(|e| Failure::usage(format!("{name}: {e}")))?,
    );
    parse_identities(&bytes, &name)
}

/// Runs `CACHET_IDENTITY_COMMAND` and reads the identities it prints.
fn identity_from_command(line: &str) -> Result<IdentitySet, Failure> {
    let from = "CACHET_IDENTITY_COMMAND";
    let words = super::edit::split_words(line)
        .and_then(|w| {
            if w.is_empty() {
                Err("it names no command")
            } else {
                Ok(w)
            }
        })
        .map_err(|why| Failure::usage(format!("{from}: {why}")))?;
    let out = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::usage(format!("{from}: cannot run {}: {e}", words[0])))?;
    let stdout = zeroize::Zeroizing::new(out.stdout);
    if !out.status.success() {
        return Err(Failure::usage(format!(
            "{from}: {} failed ({})",
            words[0], out.status
        )));
    }
    parse_identities(&stdout, &format!("{from}: output of {}", words[0]))
}

/// The identities to open with: the FIRST present of `-i` files (all of them),
/// `CACHET_IDENTITY`, `CACHET_IDENTITY_FILE`, `CACHET_IDENTITY_COMMAND`, the
/// default identity file, `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` (both).
pub fn load(files: &[PathBuf]) -> Result<IdentitySet, Failure> {
    if !files.is_empty() {
        let mut ids = IdentitySet::new();
        for f in files {
            ids.extend(read_identity_file(f)?);
        }
        return Ok(ids);
    }
    if let Some(text) = env::var_os("CACHET_IDENTITY").filter(|v| !v.is_empty()) {
        let text = zeroize::Zeroizing::new(
            text.into_string()
                .map_err(|_| Failure::usage("CACHET_IDENTITY is not UTF-8 text"))?,
        );
        return parse_identities(text.as_bytes(), "CACHET_IDENTITY");
    }
    if let Some(path) = env::var_os("CACHET_IDENTITY_FILE").filter(|v| !v.is_empty()) {
        return read_identity_file(Path::new(&path));
    }
    if let Some(line) = env::var_os("CACHET_IDENTITY_COMMAND").filter(|v| !v.is_empty()) {
        let line = line
            .into_string()
            .map_err(|_| Failure::usage("CACHET_IDENTITY_COMMAND is not UTF-8 text"))?;
        return identity_from_command(&line);
    }
    if let Some(path) = default_identity_file().filter(|p| p.exists()) {
        return read_identity_file(&path);
    }
    let ssh: Vec<PathBuf> = env::var_os("HOME")
        .map(|h| {
            ["id_ed25519", "id_rsa"]
                .iter()
                .map(|n| PathBuf::from(&h).join(".ssh").join(n))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    if !ssh.is_empty() {
        let mut ids = IdentitySet::new();
        for path in &ssh {
            ids.extend(read_identity_file(path)?);
        }
        return Ok(ids);
    }
    Err(Failure::usage(
        "no identity: pass -i FILE, or set CACHET_IDENTITY (the key), CACHET_IDENTITY_FILE or CACHET_IDENTITY_COMMAND, or create ~/.config/cachet/identity.txt with `cachet keygen -o`",
    ))
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

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_split_like_a_shell_quotes_and_no_more() {
        let ok = |s: &str| super::super::edit::split_words(s).unwrap();
        assert_eq!(
            ok("vault kv get -field=key secret/app"),
            ["vault", "kv", "get", "-field=key", "secret/app"]
        );
        assert_eq!(ok("cat 'my key.txt'"), ["cat", "my key.txt"]);
        assert_eq!(
            ok(r#"echo "a \"b\" \$HOME \n" c\ d"#),
            ["echo", r#"a "b" $HOME \n"#, "c d"]
        );
        assert_eq!(ok("a '' \"\""), ["a", "", ""]);
        assert_eq!(ok("x | y $HOME *"), ["x", "|", "y", "$HOME", "*"]);
        for bad in ["'open", "\"open", "x\\"] {
            assert!(super::super::edit::split_words(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ok("   "), Vec::<String>::new());
    }
}
