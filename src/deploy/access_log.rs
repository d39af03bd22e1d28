//! The access log: one JSON object per line for every file that `open`, `get` or
//! `exec` reads, for a log shipper to collect. The fields are specified in
//! `spec/deploy.md`. A record names what was opened and by whom, never a value.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use crate::format::json::string_literal;
use crate::path::ValuePath;
use crate::seal::key::KeyId;
use crate::seal::token::SealedAt;

/// One access: a file opened (or refused) by one command.
#[derive(Debug, Clone)]
pub struct AccessRecord<'a> {
    /// When, to the second (UTC).
    pub time: SealedAt,
    /// The command: `open`, `get` or `exec`.
    pub command: &'a str,
    /// The file as named on the command line.
    pub file: &'a str,
    /// The environment the file belongs to, where known.
    pub environment: Option<&'a str>,
    /// The key ids of the sealed values.
    pub key_ids: &'a [KeyId],
    /// The sealed values opened: document index and path.
    pub paths: &'a [(u32, ValuePath)],
    /// The public key of the identity that opened them: the environment key's
    /// (`age1…`) for a deploy key, or the member's own for a member.
    pub identity: Option<&'a str>,
    /// The member's name, when a member's identity opened the environment's keyring.
    pub member: Option<&'a str>,
    /// The process id: after `exec`, the program's own.
    pub pid: u32,
    /// `None` on success, else the error (one line, never a value).
    pub error: Option<&'a str>,
}

impl AccessRecord<'_> {
    /// The record as one line of JSON, without the line break.
    pub fn to_json_line(&self) -> String {
        let text = |s: &str| string_literal(s).to_string();
        let optional = |s: Option<&str>| s.map_or_else(|| "null".to_string(), text);
        let list = |items: Vec<String>| format!("[{}]", items.join(","));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{{\"time\":{},\"command\":{},\"file\":{},\"environment\":{},\"key_ids\":{},\"paths\":{},\"identity\":{},\"member\":{},\"pid\":{},\"outcome\":{}",
            text(&self.time.rfc3339()),
            text(self.command),
            text(self.file),
            optional(self.environment),
            list(self.key_ids.iter().map(|k| text(&k.to_string())).collect()),
            list(
                self.paths
                    .iter()
                    .map(|(d, p)| text(&path_text(*d, p)))
                    .collect()
            ),
            optional(self.identity),
            optional(self.member),
            self.pid,
            text(if self.error.is_some() {
                "refused"
            } else {
                "ok"
            }),
        );
        if let Some(e) = self.error {
            let _ = write!(out, ",\"error\":{}", text(e));
        }
        out.push('}');
        out
    }
}

/// A path as the log writes it: documents after the first are prefixed with their
/// index and `:` (a bare key never holds `:`, so this cannot be misread).
fn path_text(document: u32, path: &ValuePath) -> String {
    if document == 0 {
        path.to_string()
    } else {
        format!("{document}:{path}")
    }
}

/// Appends records (each a line, `\n`-terminated) to the log file `path` with
/// one write, creating it readable by its owner only (`spec/deploy.md` section 7).
/// A log is a regular file named as itself: a symbolic link could send the records
/// elsewhere, and a FIFO nobody reads would hang the deploy. Records written with
/// one write to a file opened for appending do not interleave with those of
/// concurrent processes.
pub fn append(path: &Path, lines: &str) -> io::Result<()> {
    let refuse = |why: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, why.to_string()));
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return refuse("it is a symbolic link; name the log file itself");
        }
        Ok(meta) if !meta.is_file() => return refuse("it is not a regular file"),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(lines.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_json_line() {
        let id = KeyId::from_bytes([7; crate::seal::key::KEY_ID_LEN]);
        let paths = vec![
            (0, "database.password".parse().unwrap()),
            (2, "\"odd\\\"key\"".parse().unwrap()),
        ];
        let record = AccessRecord {
            time: SealedAt::from_unix(1_700_000_000).unwrap(),
            command: "exec",
            file: "config/prod.toml",
            environment: Some("production"),
            key_ids: &[id],
            paths: &paths,
            identity: Some("age1xyz"),
            member: None,
            pid: 42,
            error: None,
        };
        let line = record.to_json_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
        assert_eq!(v["command"], "exec");
        assert_eq!(v["environment"], "production");
        assert_eq!(v["key_ids"][0], id.to_string());
        assert_eq!(v["paths"][0], "database.password");
        assert_eq!(v["paths"][1], "2:\"odd\\\"key\"");
        assert_eq!(v["member"], serde_json::Value::Null);
        assert_eq!(v["outcome"], "ok");
        assert!(v.get("error").is_none());
        let failed = AccessRecord {
            error: Some("environment production: you are not a member"),
            ..record
        };
        let v: serde_json::Value = serde_json::from_str(&failed.to_json_line()).unwrap();
        assert_eq!(v["outcome"], "refused");
        assert_eq!(v["error"], "environment production: you are not a member");
    }

    #[test]
    fn a_log_is_a_private_regular_file_never_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        append(&log, "one\n").unwrap();
        append(&log, "two\n").unwrap();
        assert_eq!(fs::read_to_string(&log).unwrap(), "one\ntwo\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&log).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let link = dir.path().join("link.log");
            std::os::unix::fs::symlink(&log, &link).unwrap();
            let e = append(&link, "three\n").unwrap_err();
            assert_eq!(
                e.to_string(),
                "it is a symbolic link; name the log file itself"
            );
            assert_eq!(fs::read_to_string(&log).unwrap(), "one\ntwo\n");
        }
        let e = append(dir.path(), "x\n").unwrap_err();
        assert_eq!(e.to_string(), "it is not a regular file");
    }
}
