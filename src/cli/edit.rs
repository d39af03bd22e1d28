//! Working with sealed files in an editor and in git: `edit`, `seal --like`,
//! the textconv driver `diff`, the merge driver `merge`, and `git setup`.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cachet::shell_words::split_words;
use cachet::team::Repo;
use cachet::worktree::atomic::Mode;
use cachet::{Format, Sealer};
use zeroize::Zeroizing;

use cachet::document::attestation;

use super::args::{DiffArgs, EditArgs, InputType, MergeArgs, PolicyArgs};
use super::deploy::{identities_for, with_keys};
use super::{
    Failure, Input, identity, is_stdin, lock_in_place, named_paths, note, read_input, target,
    write_file, write_stdout,
};

/// `seal FILE --like SEALED`: seals the plaintext FILE keeping SEALED's token
/// for every value whose text did not change.
pub fn seal_like(
    files: &[PathBuf],
    (like, output): (&Path, Option<&Path>),
    (recipient, paths, to_stdout): (Option<&str>, &[String], bool),
    identities: &[PathBuf],
    policy: &PolicyArgs,
    input_type: Option<InputType>,
) -> Result<(), Failure> {
    let [file] = files else {
        return Err(Failure::usage(
            "--like takes a single FILE (the plaintext working copy of SEALED)",
        ));
    };
    let named = named_paths(paths)?;
    // The environment is SEALED's: FILE is a copy, wherever it was put (a
    // private directory outside the repository, say).
    let target = target(
        like,
        identity::explicit_recipient(recipient)?,
        named.as_ref(),
        policy,
    )?;
    // Where the result goes: OUT, else FILE itself, else stdout.
    let dest = match output {
        Some(out) => Some(out),
        None if !to_stdout && !is_stdin(file) => Some(file.as_path()),
        None => None,
    };
    let _lock = match dest {
        Some(d) => Some(lock_in_place(d)?),
        None => None,
    };
    let plain = read_input(file, input_type)?;
    // SEALED is of FILE's format: its tokens are bound to it.
    let sealed = read_input(like, input_type_of(plain.format))?;
    // An empty SEALED is what `… --stdout > SEALED` leaves (the shell empties
    // it first): re-sealing against it would seal every value anew.
    if sealed.text.trim().is_empty() {
        return Err(Failure::usage(format!(
            "{}: is empty, so there is nothing to keep tokens from; if a redirection emptied it, restore it (git checkout) and write with -o {} instead",
            sealed.name, sealed.name
        )));
    }
    let mut ids = identities_for(&[&sealed], identities)?;
    let mut sealer =
        Sealer::new(&target.recipient).map_err(|e| Failure::usage(format!("recipient: {e}")))?;
    // Opening SEALED may need a keyring's key; the sealer runs once, with the keys.
    with_keys(like, &sealed.name, &mut ids, |k| {
        cachet::open_for_edit(sealed.format, &sealed.text, k).map(|_| ())
    })?;
    let (out, report) = cachet::reseal(
        plain.format,
        attestation::split(plain.format, &sealed.text).body,
        ids.keys(),
        &plain.text,
        &target.selection,
        &mut sealer,
    )
    .map_err(|e| super::seal_failure(&plain.name, e, &target))?;
    let Some(dest) = dest else {
        return write_stdout(out.as_bytes());
    };
    // What DEST held before, for whether it carried an attestation.
    let old = fs::read_to_string(dest).unwrap_or_default();
    let attested = super::attest::write_changed(
        dest,
        (&dest.display().to_string(), plain.format, &old),
        &out,
        (!policy.no_attest, target.policy.is_some()),
    )?;
    note(&format!(
        "{}: sealed {} value{} anew {}, kept {} unchanged from {}",
        dest.display(),
        report.sealed.len(),
        if report.sealed.len() == 1 { "" } else { "s" },
        target.destination(),
        report.kept,
        sealed.name
    ));
    if let Some(attested) = attested {
        note(&attested);
    }
    Ok(())
}

/// The `--input-type` of a format, so files with names that say nothing (git's
/// temporary copies, SEALED) are read as the format of the file they belong to.
fn input_type_of(format: Format) -> Option<InputType> {
    <InputType as clap::ValueEnum>::from_str(format.name(), true).ok()
}

/// The editor command: `$CACHET_EDITOR`, `$VISUAL`, `$EDITOR`, else `vi`, split
/// into words as a shell would.
fn editor_command() -> Result<Vec<String>, Failure> {
    for var in ["CACHET_EDITOR", "VISUAL", "EDITOR"] {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let value = value
                .into_string()
                .map_err(|_| Failure::usage(format!("{var} is not UTF-8 text")))?;
            let words =
                split_words(&value).map_err(|why| Failure::usage(format!("{var}: {why}")))?;
            if words.is_empty() {
                continue;
            }
            return Ok(private_vim(words));
        }
    }
    // vi with no terminal would draw the opened file, plaintext and all, on
    // whatever stdout is (a CI log).
    if !(io::stdin().is_terminal() && io::stdout().is_terminal()) {
        return Err(Failure::usage(
            "no editor is set (CACHET_EDITOR, VISUAL or EDITOR) and there is no terminal to run vi on; set one of them",
        ));
    }
    Ok(vec!["vi".to_string()])
}

/// Vim and Neovim keep what is edited outside the private directory unless told
/// not to: the viminfo/shada history (registers, search strings), swap, backup
/// and undo files. For them the plaintext stays in the private copy only. Other
/// editors have their own backups (an IDE's local history, for one): README says
/// so.
fn private_vim(mut words: Vec<String>) -> Vec<String> {
    let program = Path::new(&words[0])
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if matches!(
        program,
        "vim" | "nvim" | "gvim" | "vim.basic" | "vim.tiny" | "vim.gtk3"
    ) {
        let flags = [
            "-n",
            "-i",
            "NONE",
            "--cmd",
            "set nobackup nowritebackup noundofile",
        ];
        words.splice(1..1, flags.iter().map(|f| f.to_string()));
    }
    words
}

/// Where the private temporary directory goes: `$CACHET_EDIT_DIR` (for tests and
/// systems with another RAM-backed place), else the RAM-backed `$XDG_RUNTIME_DIR`
/// or `/dev/shm`, else the system temporary directory.
fn scratch_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("CACHET_EDIT_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    runtime
        .into_iter()
        .chain([PathBuf::from("/dev/shm")])
        .find(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// The private directories of edits are `cachet-edit-<pid>-XXXXXX`.
const SCRATCH_PREFIX: &str = "cachet-edit-";

/// Overwrites with zeros every regular file directly in `dir` that belongs to
/// `uid` and has one link, then removes `dir`. A file is zeroed only through a
/// handle that is, by device and inode, the file listed: one swapped for a
/// symlink or a hard link to another file in between is left alone (only
/// unlinked, which `remove_dir_all` does without following links).
fn wipe_dir(dir: &Path, uid: u32) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let Ok(listed) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if !listed.file_type().is_file() || listed.uid() != uid || listed.nlink() != 1 {
                continue;
            }
            let Ok(mut f) = fs::OpenOptions::new().write(true).open(entry.path()) else {
                continue;
            };
            let same = f.metadata().is_ok_and(|m| {
                m.file_type().is_file()
                    && m.dev() == listed.dev()
                    && m.ino() == listed.ino()
                    && m.nlink() == 1
            });
            if same {
                let len = usize::try_from(listed.len()).unwrap_or(0);
                let _ = f.write_all(&vec![0u8; len]).and_then(|()| f.sync_all());
            }
        }
    }
    let _ = fs::remove_dir_all(dir);
}

/// Removes the private directories that edits killed with SIGKILL (or by a
/// crash) left in `base`: those named after a process that no longer runs, that
/// are directories (not symlinks), belong to this user and are private (0700),
/// as `edit` makes them; anything else, another user's above all, is left alone.
/// Only on systems with `/proc` (Linux), where that can be told for certain; a
/// process id reused since is taken as alive, so nothing in use is removed.
fn remove_abandoned(base: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let proc = Path::new("/proc");
    // The owner of /proc/self is this process's user.
    let Ok(uid) = fs::metadata(proc.join("self")).map(|m| m.uid()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SCRATCH_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let ours = fs::symlink_metadata(entry.path()).is_ok_and(|m| {
            m.file_type().is_dir() && m.uid() == uid && m.permissions().mode() & 0o7777 == 0o700
        });
        if ours && pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            wipe_dir(&entry.path(), uid);
        }
    }
}

/// A private directory (0700) holding the plaintext copy (0600). Dropping it
/// removes both, and whatever the editor left beside the copy (swap and backup
/// files), on every way out of `edit`.
struct Scratch {
    // Held for its Drop, which removes the directory.
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Scratch {
    fn create(name: &str, text: &str) -> Result<Scratch, Failure> {
        let base = scratch_base();
        let fail = |e: io::Error| {
            Failure::usage(format!(
                "{}: cannot create the private temporary file: {e}",
                base.display()
            ))
        };
        remove_abandoned(&base);
        // The process id in the name lets a later edit tell an abandoned
        // directory (its process was killed) from one in use.
        let prefix = format!("{SCRATCH_PREFIX}{}-", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // Made 0700, not changed to it after: a kill between the two would leave
        // a directory others can list.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder.tempdir_in(&base).map_err(fail)?;
        let file = dir.path().join(name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            // Whatever the umask took away, the owner keeps exactly rwx.
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).map_err(fail)?;
            options.mode(0o600);
        }
        options
            .open(&file)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .map_err(fail)?;
        Ok(Scratch { _dir: dir, file })
    }

    fn read(&self) -> Result<Zeroizing<String>, Failure> {
        let mut bytes = Zeroizing::new(Vec::new());
        fs::File::open(&self.file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Failure::usage(format!("cannot read the edited copy back: {e}")))?;
        std::str::from_utf8(&bytes)
            .map(|t| Zeroizing::new(t.to_string()))
            .map_err(|e| {
                Failure::usage(format!(
                    "the edited copy is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ))
            })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Overwrite before unlinking: a RAM-backed page may outlive the file.
        if let Ok(meta) = fs::metadata(&self.file)
            && let Ok(mut f) = fs::OpenOptions::new().write(true).open(&self.file)
        {
            let len = usize::try_from(meta.len()).unwrap_or(0);
            let _ = f.write_all(&vec![0u8; len]).and_then(|()| f.sync_all());
        }
        // The TempDir field then removes the directory and anything left in it.
        let _ = fs::remove_file(&self.file);
    }
}

/// The signals that end an edit: on each, the editor is stopped and the copy
/// removed. signal-hook's `flag` API stores the signal's number from the handler,
/// so no unsafe code is needed here and the cleanup runs in ordinary code.
/// SIGQUIT is among them: its default action would dump core, with the
/// plaintext in memory, and leave the copy behind.
struct Signals {
    received: Arc<AtomicUsize>,
}

impl Signals {
    fn register() -> Result<Signals, Failure> {
        let received = Arc::new(AtomicUsize::new(0));
        let fail = |e: io::Error| Failure::usage(format!("cannot handle signals: {e}"));
        #[cfg(unix)]
        let signals = {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
            [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
        };
        #[cfg(not(unix))]
        let signals = {
            use signal_hook::consts::{SIGINT, SIGTERM};
            [SIGINT, SIGTERM]
        };
        for signal in signals {
            let number = usize::try_from(signal).unwrap_or(0);
            signal_hook::flag::register_usize(signal, Arc::clone(&received), number)
                .map_err(fail)?;
        }
        Ok(Signals { received })
    }

    /// The exit status for the signal received, if any: 128 + its number, as a
    /// shell reports a process the signal ended.
    fn received(&self) -> Option<u8> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            n => Some(u8::try_from(128 + n.min(127)).unwrap_or(255)),
        }
    }
}

fn interrupted(code: u8, name: &str) -> Failure {
    Failure::exit(
        code,
        format!("{name}: interrupted; the file is unchanged and the temporary copy was removed"),
    )
}

/// Runs the editor on `file` and waits for it, watching for signals.
fn run_editor(
    command: &[String],
    file: &Path,
    signals: &Signals,
    name: &str,
) -> Result<ExitStatus, Failure> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Failure::usage("the editor command is empty"))?;
    let mut child = Process::new(program)
        .args(args)
        .arg(file)
        .spawn()
        .map_err(|e| {
            Failure::usage(format!(
                "cannot run the editor {program:?}: {e}; set CACHET_EDITOR, VISUAL or EDITOR"
            ))
        })?;
    loop {
        if let Some(code) = signals.received() {
            // The editor may still hold the copy open; it must not outlive it.
            let _ = child.kill();
            let _ = child.wait();
            return Err(interrupted(code, name));
        }
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                return Err(Failure::usage(format!("cannot wait for the editor: {e}")));
            }
        }
    }
}

/// Asks on the terminal whether to re-open the editor; false without one.
fn ask_reopen(problem: &str) -> bool {
    if !(io::stdin().is_terminal() && io::stderr().is_terminal()) {
        return false;
    }
    let _ = write!(
        io::stderr(),
        "cachet: {problem}\ncachet: re-open the editor to fix it? [Y/n] "
    );
    let mut answer = String::new();
    if io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    !matches!(answer.trim(), "n" | "N" | "no" | "No")
}

/// Whether re-opening the editor can fix a failed re-seal (the person's text is
/// at fault, not the file or the keys).
fn fixable(e: &cachet::Error) -> bool {
    matches!(
        e,
        cachet::Error::Format(_)
            | cachet::Error::Unresolved(_)
            | cachet::Error::InvalidValue { .. }
            | cachet::Error::ForeignKey { .. }
            | cachet::Error::Open { .. }
    )
}

/// `cachet edit FILE`.
pub fn edit(args: &EditArgs) -> Result<(), Failure> {
    let file = &args.file;
    if is_stdin(file) {
        return Err(Failure::usage(
            "edit changes a file in place; name the file (not `-`)",
        ));
    }
    let explicit = match identity::explicit_recipient(args.recipient.recipient.as_deref())? {
        Some(r) => Some(r),
        None => super::solo_recipient(file, args.input.input_type, &args.identity.identities)?,
    };
    let target = target(file, explicit, None, &args.policy)?;
    let editor = editor_command()?;
    // Held while the editor runs, so a concurrent seal or set waits rather than
    // being overwritten by this edit.
    let _lock = lock_in_place(file)?;
    let input = read_input(file, args.input.input_type)?;
    let mut ids = identities_for(&[&input], &args.identity.identities)?;
    // The attestation line is not shown: it is made anew (or dropped) on writing.
    let body = attestation::split(input.format, &input.text).body;
    let view = with_keys(file, &input.name, &mut ids, |k| {
        cachet::open_for_edit(input.format, body, k)
    })?
    .0;
    let base_name = file
        .file_name()
        .map_or_else(|| OsString::from("edit"), OsString::from);
    // Handlers first: a signal that comes while the copy is being written still
    // finds it removed.
    let signals = Signals::register()?;
    let scratch = Scratch::create(&base_name.to_string_lossy(), &view.text)?;
    if !view.conflicts.is_empty() {
        let paths: Vec<String> = view.conflicts.iter().map(|(_, p)| p.to_string()).collect();
        note(&format!(
            "{}: merge conflict at {}: shown as CONFLICT text; keep one value of each",
            input.name,
            paths.join(", ")
        ));
    }
    loop {
        let status = run_editor(&editor, &scratch.file, &signals, &input.name)?;
        if let Some(code) = signals.received() {
            return Err(interrupted(code, &input.name));
        }
        if !status.success() {
            let how = status
                .code()
                .map_or_else(|| "was killed".to_string(), |c| format!("exited with {c}"));
            return Err(Failure::refused(format!(
                "{}: the editor {how}; the file is unchanged",
                input.name
            )));
        }
        let edited = scratch.read()?;
        if *edited == *view.text {
            note(&format!("{}: no changes", input.name));
            return Ok(());
        }
        let mut sealer = Sealer::new(&target.recipient)
            .map_err(|e| Failure::usage(format!("recipient: {e}")))?;
        match cachet::reseal(
            input.format,
            body,
            ids.keys(),
            &edited,
            &target.selection,
            &mut sealer,
        ) {
            Ok((out, report)) => {
                let attested =
                    super::attest::write_resealed(file, &input, &out, (&target, &args.policy))?;
                note(&format!(
                    "{}: sealed {} value{} anew {}, kept {} unchanged",
                    input.name,
                    report.sealed.len(),
                    if report.sealed.len() == 1 { "" } else { "s" },
                    target.destination(),
                    report.kept
                ));
                if let Some(attested) = attested {
                    note(&attested);
                }
                return Ok(());
            }
            Err(e) if fixable(&e) && ask_reopen(&format!("{}: {e}", input.name)) => {}
            Err(e) => {
                let f = super::seal_failure(&input.name, e, &target);
                return Err(Failure {
                    message: format!(
                        "{}; the edit was discarded and the file is unchanged",
                        f.message
                    ),
                    ..f
                });
            }
        }
    }
}

/// `cachet diff FILE`: git's textconv. Prints the file opened where it can, else
/// as it is; fails only when stdout cannot be written.
pub fn diff(args: &DiffArgs) -> Result<(), Failure> {
    let mut bytes = Zeroizing::new(Vec::new());
    if let Err(e) = fs::File::open(&args.file).and_then(|mut f| f.read_to_end(&mut bytes)) {
        // Nothing to show; git shows an empty side rather than failing.
        note(&format!("{}: cannot read: {e}", args.file.display()));
        return Ok(());
    }
    match opened_for_diff(&args.file, &bytes, &args.identity.identities) {
        Ok(Some(text)) => write_stdout(text.as_bytes()),
        Ok(None) => write_stdout(&bytes),
        Err(f) => {
            note(&format!("shown sealed: {}", f.message));
            write_stdout(&bytes)
        }
    }
}

fn opened_for_diff(
    file: &Path,
    bytes: &[u8],
    identities: &[PathBuf],
) -> Result<Option<Zeroizing<String>>, Failure> {
    let Some(format) = Format::from_path(file) else {
        return Ok(None);
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let input = Input {
        name: name.clone(),
        format,
        text: Zeroizing::new(text.to_string()),
    };
    let mut ids = identities_for(&[&input], identities)?;
    // git's copy lives outside the repository: a bare name makes the keyring
    // lookup start from the current directory.
    let here = Path::new(&name);
    // The opened view leaves the attestation line out, as `open` does.
    let body = attestation::split(format, text).body;
    let view = with_keys(here, &name, &mut ids, |k| {
        cachet::open_for_edit(format, body, k)
    })?;
    Ok(Some(view.0.text))
}

/// `cachet merge %O %A %B %P`.
pub fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let shown = args.path.display().to_string();
    let Some(format) = Format::from_path(&args.path) else {
        return line_merge(args, None);
    };
    let read = |p: &Path| read_input(p, input_type_of(format));
    let (o, a, b) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    // The merge may be attested only when every side was: it approves nothing
    // a side brought that nobody reviewed (spec/git.md 2). Ours and theirs
    // are each approved no earlier than the base: a side that puts back an
    // older approved version is a replay, not a change someone approved. (The
    // base is older than both by nature, and either side may be the older.)
    let every_side_attested = format != Format::Json
        && !args.no_attest
        && super::attest::quiet_attester(&args.path, format, &a.text).is_some_and(|who| {
            let when =
                |side: &Input| super::attest::attested_at(&args.path, format, &side.text, &who);
            match (when(&o), when(&a), when(&b)) {
                (Some(base), Some(ours), Some(theirs)) => ours >= base && theirs >= base,
                _ => false,
            }
        });
    // Each side's attestation approves that side only; the three are git's
    // temporary copies, merged without them (a line merge of two attestation
    // lines would be a conflict), and the result is attested anew or proposed.
    let (o, a, b) = (
        without_attestation(&args.base, o)?,
        without_attestation(&args.ours, a)?,
        without_attestation(&args.theirs, b)?,
    );
    let mut ids = match identities_for(&[&o, &a, &b], &args.identity.identities) {
        Ok(ids) => ids,
        Err(f) => {
            note(&format!("{shown}: merged by lines: {}", f.message));
            return line_merge(args, None);
        }
    };
    let result = with_keys(&args.path, &shown, &mut ids, |k| {
        match cachet::merge(format, &o.text, &a.text, &b.text, k) {
            Err(cachet::Error::CannotMerge(why)) => {
                let normalized = cachet::reseal::normalize_to(format, &o.text, &a.text, k)
                    .and_then(|a| {
                        cachet::reseal::normalize_to(format, &o.text, &b.text, k).map(|b| (a, b))
                    })?;
                Ok(Err((why, normalized)))
            }
            other => other.map(Ok),
        }
    });
    match result {
        Ok((Ok(merged), _)) => {
            if !merged.conflicts.is_empty() {
                write_file(&args.ours, merged.text.as_bytes(), Mode::Keep)?;
            } else {
                let attested = super::attest::write_changed_as(
                    &args.path,
                    &args.ours,
                    (
                        &shown,
                        format,
                        super::attest::Prior::Approved(every_side_attested),
                    ),
                    &merged.text,
                    // A strict JSON file's sidecar is beside the file in the work
                    // tree, not beside git's copy: its merge is left proposed.
                    (!args.no_attest && format != Format::Json, true),
                )?;
                if let Some(attested) = attested {
                    note(&attested);
                }
                return Ok(());
            }
            let paths: Vec<String> = merged
                .conflicts
                .iter()
                .map(|(_, p)| p.to_string())
                .collect();
            Err(Failure::refused(format!(
                "{shown}: {} changed on both sides; left sealed as a conflict: resolve with `cachet edit {shown}`",
                paths.join(", ")
            )))
        }
        Ok((Err((why, (a, b))), _)) => {
            note(&format!("{shown}: merged by lines ({why})"));
            write_file(&args.ours, a.as_bytes(), Mode::Keep)?;
            line_merge(args, Some(&b))
        }
        Err(f) => {
            note(&format!("{shown}: merged by lines: {}", f.message));
            line_merge(args, None)
        }
    }
}

/// `input`, read from `path`, without its attestation line: the file is
/// rewritten when it had one.
fn without_attestation(path: &Path, input: Input) -> Result<Input, Failure> {
    let body = attestation::split(input.format, &input.text).body;
    if body.len() == input.text.len() {
        return Ok(input);
    }
    let text = Zeroizing::new(body.to_string());
    write_file(path, text.as_bytes(), Mode::Keep)?;
    Ok(Input { text, ..input })
}

/// git's own line merge of %A (in place), %O and %B, or of %A, %O and `theirs`
/// (sealed text, never plaintext) when given.
fn line_merge(args: &MergeArgs, theirs: Option<&str>) -> Result<(), Failure> {
    let copy;
    let theirs_path = match theirs {
        Some(text) => {
            copy = tempfile::NamedTempFile::new()
                .and_then(|mut f| f.write_all(text.as_bytes()).map(|()| f))
                .map_err(|e| Failure::usage(format!("cannot write a temporary file: {e}")))?;
            copy.path().to_path_buf()
        }
        None => args.theirs.clone(),
    };
    let status = Process::new("git")
        .arg("merge-file")
        .args(["-L", "ours", "-L", "base", "-L", "theirs"])
        .arg(&args.ours)
        .arg(&args.base)
        .arg(&theirs_path)
        .status()
        .map_err(|e| Failure::usage(format!("cannot run git merge-file: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(n) if n > 0 => Err(Failure::refused(format!(
            "{}: git's line merge left {n} conflict{}",
            args.path.display(),
            if n == 1 { "" } else { "s" }
        ))),
        _ => Err(Failure::usage(format!(
            "{}: git merge-file failed",
            args.path.display()
        ))),
    }
}

fn git(args: &[&str]) -> Result<String, Failure> {
    let out = Process::new("git")
        .args(args)
        .output()
        .map_err(|e| Failure::usage(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(Failure::usage(format!(
            "git {}: {}",
            args.join(" "),
            why.lines().next().unwrap_or("failed")
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// `cachet git setup [PATTERN…]`.
pub fn git_setup(patterns: &[String]) -> Result<(), Failure> {
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    let patterns: Vec<String> = if patterns.is_empty() {
        let repo = Repo::find_from(Path::new("."), &super::team::safe_directories())?.ok_or_else(|| {
            Failure::usage(
                "no .cachet.toml here or above: name the sealed files' patterns, e.g. `cachet git setup 'config/*.toml'`",
            )
        })?;
        // The policy's globs are relative to its directory; .gitattributes at the
        // top of the work tree needs them relative to the top.
        let top = fs::canonicalize(&top).unwrap_or(top.clone());
        let prefix = repo
            .root
            .strip_prefix(&top)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let mut out: Vec<String> = Vec::new();
        for env in &repo.policy.environments {
            for glob in &env.files {
                let p = if prefix.is_empty() {
                    glob.as_str().to_string()
                } else {
                    format!("{prefix}/{}", glob.as_str())
                };
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        if out.is_empty() {
            return Err(Failure::usage(
                "no environment of .cachet.toml has files globs: name the sealed files' patterns",
            ));
        }
        out
    } else {
        patterns.to_vec()
    };
    for p in &patterns {
        if p.is_empty() || p.chars().any(|c| c.is_whitespace()) {
            return Err(Failure::usage(format!(
                "{p:?}: a .gitattributes pattern must be non-empty, without blanks"
            )));
        }
    }
    git(&["config", "diff.cachet.textconv", "cachet diff"])?;
    git(&["config", "merge.cachet.name", "cachet value-by-value merge"])?;
    git(&["config", "merge.cachet.driver", "cachet merge %O %A %B %P"])?;
    let attributes = top.join(".gitattributes");
    let mut text = match fs::read_to_string(&attributes) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Failure::usage(format!(
                "{}: cannot read: {e}",
                attributes.display()
            )));
        }
    };
    let mut added = 0;
    for p in &patterns {
        let line = format!("{p} diff=cachet merge=cachet");
        if text.lines().any(|l| l.trim() == line) {
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        added += 1;
    }
    if added > 0 {
        write_file(&attributes, text.as_bytes(), Mode::Keep)?;
    }
    note(&format!(
        "git config: diff.cachet.textconv and merge.cachet.driver set; .gitattributes: {added} line{} added",
        if added == 1 { "" } else { "s" }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{SCRATCH_PREFIX, remove_abandoned, split_words};
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn only_private_directories_of_dead_edits_are_wiped_and_links_are_not_followed() {
        let base = tempfile::tempdir().unwrap();
        // Above any pid_max Linux allows, so no process has it.
        let dead = 4_194_305;
        let mk = |name: &str, mode: u32| {
            let d = base.path().join(format!("{SCRATCH_PREFIX}{dead}-{name}"));
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
            d
        };
        let victim = base.path().join("victim.txt");
        fs::write(&victim, "keep me").unwrap();
        let private = mk("aaaaaa", 0o700);
        fs::write(private.join("copy.toml"), "secret = 1").unwrap();
        symlink(&victim, private.join("link")).unwrap();
        let shared = mk("bbbbbb", 0o755);
        fs::write(shared.join("copy.toml"), "x").unwrap();
        let live = base
            .path()
            .join(format!("{SCRATCH_PREFIX}{}-cccccc", std::process::id()));
        fs::create_dir(&live).unwrap();
        fs::set_permissions(&live, fs::Permissions::from_mode(0o700)).unwrap();

        remove_abandoned(base.path());
        assert!(
            !private.exists(),
            "an abandoned private directory is removed"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(shared.exists(), "a directory that is not 0700 is not ours");
        assert!(live.exists(), "a running edit's directory stays");
    }

    #[test]
    fn editor_commands_split_like_a_shell() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(w("code --wait"), ["code", "--wait"]);
        assert_eq!(w("  vim  "), ["vim"]);
        assert_eq!(
            w(r#"'/opt/my editor/bin/ed' -c "set ft=\"toml\"" a\ b"#),
            ["/opt/my editor/bin/ed", "-c", "set ft=\"toml\"", "a b"]
        );
        assert_eq!(w("''"), [""]);
        assert_eq!(w(""), Vec::<String>::new());
        assert_eq!(split_words("'vim"), Err("a single quote is not closed"));
        assert_eq!(split_words("\"vim"), Err("a double quote is not closed"));
        assert_eq!(split_words("vim\\"), Err("it ends with a lone backslash"));
        assert_eq!(
            super::private_vim(w("/usr/bin/vim -p")),
            [
                "/usr/bin/vim",
                "-n",
                "-i",
                "NONE",
                "--cmd",
                "set nobackup nowritebackup noundofile",
                "-p"
            ]
        );
        assert_eq!(super::private_vim(w("code --wait")), ["code", "--wait"]);
    }
}
