//! Where a command finds the identities (secret keys) it opens with, and in which
//! order (`spec/policy.md` section 5): the first source present is used, and the
//! others are not looked at.
//!
//! The library never reads the environment: the caller fills [`IdentitySources`]
//! from its own (the command-line tool from the process environment).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::identity_file::IdentitySet;
use crate::error::{Classified, ErrorKind};
use crate::seal::KeyError;
use crate::shell_words::split_words;

/// The sources of identities, as the caller's environment gives them. An empty
/// value counts as absent.
#[derive(Clone, Debug, Default)]
pub struct IdentitySources {
    /// Identity files named explicitly (`-i FILE`); all of them are read.
    pub files: Vec<PathBuf>,
    /// The text of identities itself (`CACHET_IDENTITY`).
    pub identity: Option<OsString>,
    /// An identity file (`CACHET_IDENTITY_FILE`).
    pub identity_file: Option<OsString>,
    /// A command line whose output is identities (`CACHET_IDENTITY_COMMAND`).
    pub identity_command: Option<OsString>,
    /// cachet's configuration directory, holding the default `identity.txt`.
    pub config_dir: Option<PathBuf>,
    /// The home directory, holding `.ssh/id_ed25519` and `.ssh/id_rsa`.
    pub home: Option<PathBuf>,
}

/// Why no identity could be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum IdentityError {
    /// No source holds an identity.
    None,
    /// A source's text is not identities.
    Parse {
        /// The source, as messages name it.
        source: String,
        /// What is wrong.
        error: KeyError,
    },
    /// An identity file could not be read.
    Read {
        /// The file, as messages name it.
        source: String,
        /// The system's reason.
        error: std::io::Error,
    },
    /// A variable is not UTF-8 text.
    NotText(&'static str),
    /// The identity command could not be split, run, or failed.
    Command(String),
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityError::None => f.write_str(
                "no identity: pass -i FILE, or set CACHET_IDENTITY (the key), CACHET_IDENTITY_FILE or CACHET_IDENTITY_COMMAND; a deploy target takes the environment's key (printed by a member's `cachet env key ENV`), a person their own identity (~/.config/cachet/identity.txt, made once with `cachet keygen -o`)",
            ),
            IdentityError::Parse { source, error } => write!(f, "{source}: {error}"),
            IdentityError::Read { source, error } => write!(f, "{source}: {error}"),
            IdentityError::NotText(var) => write!(f, "{var} is not UTF-8 text"),
            IdentityError::Command(why) => write!(f, "{COMMAND_VAR}: {why}"),
        }
    }
}

impl std::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IdentityError::Parse { error, .. } => Some(error),
            IdentityError::Read { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl Classified for IdentityError {
    fn kind(&self) -> ErrorKind {
        match self {
            IdentityError::None => ErrorKind::Usage,
            _ => ErrorKind::Input,
        }
    }
}

const COMMAND_VAR: &str = "CACHET_IDENTITY_COMMAND";

/// The mode bits of a file of this process's user that group or others can
/// access (`None` when it is private, or someone else's: a Kubernetes secret mount
/// is root's and group-readable on purpose, and the user could not change it).
pub fn exposed_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // The owner of /proc/self is this process's user (Linux); where it cannot
        // be known, every exposed file is reported.
        let me = fs::metadata("/proc/self").map(|m| m.uid()).ok();
        let meta = fs::metadata(path).ok()?;
        let mode = meta.permissions().mode() & 0o777;
        (mode & 0o077 != 0 && me.is_none_or(|uid| uid == meta.uid())).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn present(v: &Option<OsString>) -> Option<&OsString> {
    v.as_ref().filter(|v| !v.is_empty())
}

impl IdentitySources {
    /// The identities of the first source present, in this order: the files
    /// named (all of them), `CACHET_IDENTITY`, `CACHET_IDENTITY_FILE`,
    /// `CACHET_IDENTITY_COMMAND`, the default identity file, `~/.ssh/id_ed25519`
    /// and `~/.ssh/id_rsa` (both). `callbacks` ask for passphrases; `exposed` is
    /// told of each identity file group or others can read ([`exposed_mode`]).
    pub fn load<C: age::Callbacks>(
        &self,
        callbacks: C,
        exposed: &dyn Fn(&Path, u32),
    ) -> Result<IdentitySet, IdentityError> {
        let read_file = |path: &Path| -> Result<IdentitySet, IdentityError> {
            let source = format!("identity file {}", path.display());
            let bytes = Zeroizing::new(fs::read(path).map_err(|error| IdentityError::Read {
                source: source.clone(),
                error,
            })?);
            let set = parse(&bytes, &source, callbacks.clone())?;
            // Only a file that holds identities is worth a warning about who can
            // read it (not, say, a public key given by mistake).
            if let Some(mode) = exposed_mode(path) {
                exposed(path, mode);
            }
            Ok(set)
        };
        if !self.files.is_empty() {
            let mut ids = IdentitySet::new();
            for f in &self.files {
                ids.extend(read_file(f)?);
            }
            return Ok(ids);
        }
        if let Some(text) = present(&self.identity) {
            let text = Zeroizing::new(
                text.to_str()
                    .ok_or(IdentityError::NotText("CACHET_IDENTITY"))?
                    .to_string(),
            );
            return parse(text.as_bytes(), "CACHET_IDENTITY", callbacks);
        }
        if let Some(path) = present(&self.identity_file) {
            return read_file(Path::new(path));
        }
        if let Some(line) = present(&self.identity_command) {
            let line = line.to_str().ok_or(IdentityError::NotText(COMMAND_VAR))?;
            return from_command(line, callbacks);
        }
        if let Some(path) = self
            .config_dir
            .as_ref()
            .map(|d| d.join("identity.txt"))
            .filter(|p| p.exists())
        {
            return read_file(&path);
        }
        let ssh: Vec<PathBuf> = self
            .home
            .as_ref()
            .map(|h| {
                ["id_ed25519", "id_rsa"]
                    .iter()
                    .map(|n| h.join(".ssh").join(n))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        if !ssh.is_empty() {
            let mut ids = IdentitySet::new();
            for path in &ssh {
                ids.extend(read_file(path)?);
            }
            return Ok(ids);
        }
        Err(IdentityError::None)
    }
}

fn parse<C: age::Callbacks>(
    bytes: &[u8],
    source: &str,
    callbacks: C,
) -> Result<IdentitySet, IdentityError> {
    IdentitySet::parse(bytes, source, callbacks).map_err(|error| IdentityError::Parse {
        source: source.to_string(),
        error,
    })
}

/// Runs the identity command (without a shell) and reads the identities it prints.
fn from_command<C: age::Callbacks>(line: &str, callbacks: C) -> Result<IdentitySet, IdentityError> {
    let words = split_words(line)
        .and_then(|w| {
            if w.is_empty() {
                Err("it names no command")
            } else {
                Ok(w)
            }
        })
        .map_err(|why| IdentityError::Command(why.to_string()))?;
    let out = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| IdentityError::Command(format!("cannot run {}: {e}", words[0])))?;
    let stdout = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return Err(IdentityError::Command(format!(
            "{} failed ({})",
            words[0], out.status
        )));
    }
    parse(
        &stdout,
        &format!("{COMMAND_VAR}: output of {}", words[0]),
        callbacks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::SecretKey;

    fn key_file(dir: &Path, name: &str, seed: u8) -> (PathBuf, SecretKey) {
        let key = SecretKey::from_bytes([seed; 32]);
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, key.to_age_string().as_bytes()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        (path, key)
    }

    fn holds(ids: &IdentitySet, key: &SecretKey) -> bool {
        ids.keys().get(&key.public_key().key_id()).is_some()
    }

    #[test]
    fn the_first_source_present_is_used_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let (file, from_file) = key_file(dir.path(), "a.txt", 1);
        let (env_file, from_env_file) = key_file(dir.path(), "b.txt", 2);
        let (_, default) = key_file(dir.path(), "config/identity.txt", 3);
        let (_, ssh) = key_file(dir.path(), "home/.ssh/id_ed25519", 4);
        let direct = SecretKey::from_bytes([5; 32]);
        let quiet = |_: &Path, _: u32| panic!("every file is 0600");
        let mut sources = IdentitySources {
            files: vec![file],
            identity: Some(direct.to_age_string().as_str().into()),
            identity_file: Some(env_file.into()),
            identity_command: Some("false".into()),
            config_dir: Some(dir.path().join("config")),
            home: Some(dir.path().join("home")),
        };
        let only = |sources: &IdentitySources, key: &SecretKey| {
            let ids = sources.load(age::NoCallbacks, &quiet).unwrap();
            assert!(holds(&ids, key));
            assert_eq!(ids.keys().len(), 1);
        };
        only(&sources, &from_file);
        sources.files.clear();
        only(&sources, &direct);
        // An empty variable counts as unset.
        sources.identity = Some("".into());
        only(&sources, &from_env_file);
        sources.identity_file = None;
        // The command comes before the default file, and `false` fails.
        let e = sources.load(age::NoCallbacks, &quiet).unwrap_err();
        assert_eq!(
            e.to_string(),
            "CACHET_IDENTITY_COMMAND: false failed (exit status: 1)"
        );
        sources.identity_command = None;
        only(&sources, &default);
        sources.config_dir = None;
        only(&sources, &ssh);
        sources.home = None;
        let e = sources.load(age::NoCallbacks, &quiet).unwrap_err();
        assert!(matches!(e, IdentityError::None), "{e}");
        assert_eq!(e.kind(), ErrorKind::Usage);
    }

    #[cfg(unix)]
    #[test]
    fn an_identity_file_others_can_read_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = key_file(dir.path(), "a.txt", 1);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let seen = std::cell::Cell::new(None);
        let sources = IdentitySources {
            files: vec![file],
            ..IdentitySources::default()
        };
        sources
            .load(age::NoCallbacks, &|_, mode| seen.set(Some(mode)))
            .unwrap();
        assert_eq!(seen.get(), Some(0o644));
    }

    #[test]
    fn a_source_that_is_not_identities_is_named() {
        let sources = IdentitySources {
            identity: Some("not a key".into()),
            ..IdentitySources::default()
        };
        let e = sources.load(age::NoCallbacks, &|_, _| {}).unwrap_err();
        assert!(e.to_string().starts_with("CACHET_IDENTITY: "), "{e}");
        let sources = IdentitySources {
            identity_command: Some("'unclosed".into()),
            ..IdentitySources::default()
        };
        let e = sources.load(age::NoCallbacks, &|_, _| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "CACHET_IDENTITY_COMMAND: a single quote is not closed"
        );
    }
}
