//! The lines cachet adds to a repository's `.gitignore`: its own lock and
//! temporary files, which hold nothing to commit (`spec/security.md` section 3).

use std::fs;
use std::io;
use std::path::Path;

use super::atomic::{self, Mode};

/// The patterns of cachet's own files: empty lock files that stay beside what
/// they guard, and the temporary file a killed write can leave.
pub const OWN_FILES: &[&str] = &["*.cachet-lock", "*.cachet-tmp"];

/// Adds every pattern of [`OWN_FILES`] that `.gitignore` in `root` lacks (as a
/// line of its own), creating the file if there is none. Returns the patterns
/// added. The file is replaced atomically and keeps every line it had.
pub fn ignore_own_files(root: &Path) -> io::Result<Vec<&'static str>> {
    let path = root.join(".gitignore");
    atomic::refuse_link(&path)?;
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let missing: Vec<&'static str> = OWN_FILES
        .iter()
        .copied()
        .filter(|p| !text.lines().any(|l| l.trim_end() == *p))
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut out = text;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("# cachet's lock and temporary files\n");
    for p in &missing {
        out.push_str(p);
        out.push('\n');
    }
    atomic::write_atomic(&path, out.as_bytes(), Mode::Keep, false)?;
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_what_is_missing_once_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ignore_own_files(dir.path()).unwrap(), OWN_FILES);
        let first = fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(first.ends_with("*.cachet-lock\n*.cachet-tmp\n"), "{first}");
        assert!(ignore_own_files(dir.path()).unwrap().is_empty());
        assert_eq!(
            fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            first
        );

        let other = tempfile::tempdir().unwrap();
        fs::write(other.path().join(".gitignore"), "target/\n*.cachet-lock").unwrap();
        assert_eq!(ignore_own_files(other.path()).unwrap(), ["*.cachet-tmp"]);
        assert_eq!(
            fs::read_to_string(other.path().join(".gitignore")).unwrap(),
            "target/\n*.cachet-lock\n# cachet's lock and temporary files\n*.cachet-tmp\n"
        );
    }
}
