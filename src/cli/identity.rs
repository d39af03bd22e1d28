//! Where the command line finds identities (secret keys) and recipients.

use std::env;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cachet::{Identities, PublicKey};

use super::Failure;

/// The default identity file: `$XDG_CONFIG_HOME/cachet/identity.txt`, else
/// `~/.config/cachet/identity.txt`.
fn default_identity_file() -> Option<PathBuf> {
    let base = env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("cachet").join("identity.txt"))
}

/// Warns, as ssh does, when an identity file can be read by group or others.
fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                let _ = writeln!(
                    std::io::stderr(),
                    "cachet: warning: identity file {} is accessible by group or others (mode {mode:04o}); run chmod 600 on it",
                    path.display()
                );
            }
        }
    }
}

fn read_identity_file(path: &Path) -> Result<Identities, Failure> {
    warn_if_exposed(path);
    let text = fs::read(path)
        .map_err(|e| Failure::usage(format!("identity file {}: {e}", path.display())))?;
    let text = zeroize::Zeroizing::new(text);
    let text = std::str::from_utf8(&text)
        .map_err(|_| Failure::usage(format!("identity file {}: not UTF-8 text", path.display())))?;
    Identities::parse(text)
        .map_err(|e| Failure::usage(format!("identity file {}: {e}", path.display())))
}

/// Splits a command line into words the way a shell quotes, and no more: blanks
/// separate words; `'…'` is literal; `"…"` allows `\"`, `\\` and `\$`; a backslash
/// outside quotes escapes the next character. There are no variables, globs,
/// pipes or redirections: the words are run as they are, without a shell.
fn split_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a single quote is not closed"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("a double quote is not closed"),
                        },
                        Some(c) => w.push(c),
                        None => return Err("a double quote is not closed"),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("it ends with a backslash"),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    if words.is_empty() {
        return Err("it names no command");
    }
    Ok(words)
}

/// Runs `CACHET_IDENTITY_COMMAND` and reads the identities it prints.
fn identity_from_command(line: &str) -> Result<Identities, Failure> {
    let from = "CACHET_IDENTITY_COMMAND";
    let words = split_words(line).map_err(|why| Failure::usage(format!("{from}: {why}")))?;
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
    let text = std::str::from_utf8(&stdout).map_err(|_| {
        Failure::usage(format!(
            "{from}: the output of {} is not UTF-8 text",
            words[0]
        ))
    })?;
    Identities::parse(text)
        .map_err(|e| Failure::usage(format!("{from}: output of {}: {e}", words[0])))
}

/// The identities to open with: the FIRST present of `-i` files (all of them),
/// `CACHET_IDENTITY`, `CACHET_IDENTITY_FILE`, `CACHET_IDENTITY_COMMAND`, the
/// default identity file.
pub fn load(files: &[PathBuf]) -> Result<Identities, Failure> {
    if !files.is_empty() {
        let mut ids = Identities::new();
        for f in files {
            ids.extend(read_identity_file(f)?.iter().cloned());
        }
        return Ok(ids);
    }
    if let Some(text) = env::var_os("CACHET_IDENTITY").filter(|v| !v.is_empty()) {
        let text = zeroize::Zeroizing::new(
            text.into_string()
                .map_err(|_| Failure::usage("CACHET_IDENTITY is not UTF-8 text"))?,
        );
        return Identities::parse(&text)
            .map_err(|e| Failure::usage(format!("CACHET_IDENTITY: {e}")));
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
    Err(Failure::usage(
        "no identity: pass -i FILE, or set CACHET_IDENTITY (the key), CACHET_IDENTITY_FILE or CACHET_IDENTITY_COMMAND, or create ~/.config/cachet/identity.txt",
    ))
}

/// The recipient to seal to: `-r`, else `CACHET_RECIPIENT`.
pub fn recipient(arg: Option<&str>) -> Result<PublicKey, Failure> {
    let (text, from) = match arg {
        Some(r) => (r.to_string(), "-r"),
        None => match env::var("CACHET_RECIPIENT") {
            Ok(r) if !r.is_empty() => (r, "CACHET_RECIPIENT"),
            _ => {
                return Err(Failure::usage(
                    "no recipient: pass -r age1… (the environment's public key) or set CACHET_RECIPIENT",
                ));
            }
        },
    };
    text.parse::<PublicKey>()
        .map_err(|e| Failure::usage(format!("{from}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn words_are_split_like_a_shell_quotes_and_no_more() {
        let ok = |s: &str| split_words(s).unwrap();
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
        for bad in ["", "   ", "'open", "\"open", "x\\"] {
            assert!(split_words(bad).is_err(), "{bad:?}");
        }
    }
}
