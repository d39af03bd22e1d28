//! Where the command line finds identities (secret keys) and recipients.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

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

fn read_identity_file(path: &Path) -> Result<Identities, Failure> {
    let text = fs::read(path)
        .map_err(|e| Failure::usage(format!("identity file {}: {e}", path.display())))?;
    let text = zeroize::Zeroizing::new(text);
    let text = std::str::from_utf8(&text)
        .map_err(|_| Failure::usage(format!("identity file {}: not UTF-8 text", path.display())))?;
    Identities::parse(text)
        .map_err(|e| Failure::usage(format!("identity file {}: {e}", path.display())))
}

/// The identities to open with: the FIRST present of `-i` files (all of them),
/// `CACHET_IDENTITY`, `CACHET_IDENTITY_FILE`, the default identity file.
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
    if let Some(path) = default_identity_file().filter(|p| p.exists()) {
        return read_identity_file(&path);
    }
    Err(Failure::usage(
        "no identity: pass -i FILE, or set CACHET_IDENTITY (the key) or CACHET_IDENTITY_FILE, or create ~/.config/cachet/identity.txt",
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
