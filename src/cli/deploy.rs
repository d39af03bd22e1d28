//! The commands that open sealed files: `open` (as it was written, converted, or
//! only checked), `get` and `exec`, and the access log they write.

use std::ffi::OsString;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use cachet::deploy::access_log::{self, AccessRecord};
use cachet::deploy::exec::{self as plan, ExecOptions};
use cachet::deploy::export;
use cachet::deploy::variables::{self, Case, Variable, VariableOptions};
use cachet::document::attestation::{self, AttestError, Attestation};
use cachet::team::identity_file::IdentitySet;
use cachet::team::unlock::{self, KeyringOpened};
use cachet::worktree::atomic::Mode;
use cachet::{KeyId, PathGlob, SealedAt, ValuePath};
use zeroize::Zeroizing;

use super::args::{AttestedArg, AuditArg, InputType, OutputType, VariableArgs};
use super::team::{Notes, safe_directories};
use super::{Failure, Input, identity, note, parse_path, read_input, write_file, write_stdout};

/// What the commands that open files record and require: where access records
/// go (`--audit-log`, else `$CACHET_AUDIT_LOG`, else nowhere), and whether a file
/// must be attested before anything in it is opened.
#[derive(Clone)]
pub struct Reading {
    log: Option<PathBuf>,
    require_attested: bool,
    /// Check the attestation of every file opened, to report it.
    report_attested: bool,
}

/// What the access log says of one file a command read.
#[derive(Default)]
struct Access {
    file: String,
    environment: Option<String>,
    key_ids: Vec<KeyId>,
    paths: Vec<(u32, ValuePath)>,
    identity: Option<String>,
    member: Option<String>,
    /// The file's attestation, when it was checked.
    attested: Option<Result<Attestation, cachet::Error>>,
}

impl Reading {
    pub fn new(arg: &AuditArg, attested: &AttestedArg) -> Reading {
        Reading {
            log: arg.audit_log.clone().or_else(|| {
                std::env::var_os("CACHET_AUDIT_LOG")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            }),
            require_attested: attested.require_attested,
            report_attested: false,
        }
    }

    /// Logs a command's access to `files` with its outcome, then returns that
    /// outcome. A file the command read is logged with what it opened; one it
    /// failed before reading, with its name only. A file that opened but whose
    /// command was then refused (a refused name, a conversion that failed) is
    /// logged as refused, since nothing was shown or run. The log is asked for,
    /// so a record that cannot be written stops the command before anything is
    /// shown or run.
    fn finish<T>(
        &self,
        command: &str,
        files: &[&Path],
        accesses: &[Access],
        outcome: Result<T, Failure>,
    ) -> Result<T, Failure> {
        let Some(target) = &self.log else {
            return outcome;
        };
        let error = outcome.as_ref().err().map(|f| f.message.as_str());
        let named: Vec<Access> = files
            .iter()
            .map(|f| super::input_name(f))
            .filter(|name| !accesses.iter().any(|a| a.file == *name))
            .map(|file| Access {
                file,
                ..Access::default()
            })
            .collect();
        let mut lines = String::new();
        for a in accesses.iter().chain(&named) {
            let record = AccessRecord {
                time: SealedAt::now(),
                command,
                file: &a.file,
                environment: a.environment.as_deref(),
                key_ids: &a.key_ids,
                paths: if error.is_some() { &[] } else { &a.paths },
                identity: a.identity.as_deref(),
                member: a.member.as_deref(),
                pid: std::process::id(),
                error,
            };
            lines.push_str(&record.to_json_line());
            lines.push('\n');
        }
        let written = if target.as_os_str() == "-" {
            io::stderr().write_all(lines.as_bytes())
        } else {
            access_log::append(target, &lines)
        };
        written.map_err(|e| {
            Failure::usage(format!(
                "{}: cannot write the access log: {e}",
                target.display()
            ))
        })?;
        outcome
    }
}

/// The identities to open `inputs` with. A file with no sealed value opens
/// without a key, so none is looked for unless one is named with `-i`.
pub(super) fn identities_for(
    inputs: &[&Input],
    identities: &[PathBuf],
) -> Result<IdentitySet, Failure> {
    identities_needed(inputs, identities, false)
}

/// [`identities_for`], and always when `attested` (an attestation is checked
/// with the environment's key even in a file with no sealed value).
fn identities_needed(
    inputs: &[&Input],
    identities: &[PathBuf],
    attested: bool,
) -> Result<IdentitySet, Failure> {
    let sealed = |input: &&Input| {
        cachet::list_values(input.format, &input.text)
            .is_ok_and(|values| values.iter().any(|v| v.sealed.is_some()))
    };
    if !attested && identities.is_empty() && !inputs.iter().any(sealed) {
        return Ok(IdentitySet::new());
    }
    identity::load(identities)
}

/// Runs `f` with the keys at hand, and through the keyrings of a member
/// ([`unlock::with_keys`]).
pub(super) fn with_keys<T>(
    file: &Path,
    name: &str,
    ids: &mut IdentitySet,
    f: impl Fn(&cachet::Identities) -> Result<T, cachet::Error>,
) -> Result<(T, Vec<KeyringOpened>), Failure> {
    Ok(unlock::with_keys(
        (file, name),
        ids,
        (&safe_directories(), &Notes),
        f,
    )?)
}

/// Opens what `f` opens of `input`, and notes for the access log (when it is
/// kept) what that was and with which identity. `wanted` picks the sealed values
/// `f` opens.
fn open_file<T>(
    (file, input): (&Path, &Input),
    ids: &mut IdentitySet,
    audit: &Reading,
    wanted: impl Fn(u32, &ValuePath) -> bool,
    f: impl Fn(&cachet::Identities) -> Result<T, cachet::Error>,
) -> (Result<T, Failure>, Access) {
    let require = audit.require_attested;
    // Checked before anything is opened; the keyring is opened for it if need be.
    let verified = std::cell::RefCell::new(None);
    let result = with_keys(file, &input.name, ids, |keys| {
        if require {
            *verified.borrow_mut() = Some(attestation_of(file, input, keys)?);
        }
        f(keys)
    });
    let attested = match verified.into_inner() {
        Some(a) => Some(Ok(a)),
        None if audit.report_attested && result.is_ok() => {
            Some(attestation_of(file, input, ids.keys()))
        }
        None => None,
    };
    let mut access = Access {
        file: input.name.clone(),
        attested,
        ..Access::default()
    };
    if audit.log.is_none() {
        return (result.map(|(t, _)| t), access);
    }
    // What the file holds, read without a key; an unreadable file has none.
    for v in cachet::list_values(input.format, &input.text).unwrap_or_default() {
        if let Some((id, _)) = v.sealed
            && wanted(v.document, &v.path)
        {
            if !access.key_ids.contains(&id) {
                access.key_ids.push(id);
            }
            access.paths.push((v.document, v.path));
        }
    }
    let unlocked: &[KeyringOpened] = result.as_ref().map_or(&[], |(_, u)| u);
    access.environment = match unlocked.first() {
        Some(u) => Some(u.environment.clone()),
        None => unlock::environment_of_keys(file, &access.key_ids, &safe_directories()),
    };
    let member = unlocked.iter().find_map(|u| u.member.as_ref());
    access.member = member.map(|m| m.name.clone());
    access.identity = match member {
        Some(m) => Some(m.recipient.to_string()),
        // A deploy key: the environment key's own public key.
        None if result.is_ok() => access
            .key_ids
            .iter()
            .find_map(|id| ids.keys().get(id))
            .map(|k| k.public_key().to_string()),
        None => None,
    };
    (result.map(|(t, _)| t), access)
}

/// The attestation of `input`, read from `file`, verified with `keys`
/// (`spec/attest.md` section 5).
fn attestation_of(
    file: &Path,
    input: &Input,
    keys: &cachet::Identities,
) -> Result<Attestation, cachet::Error> {
    let unverifiable = |why| cachet::Error::Attestation(AttestError::Malformed(why));
    if super::is_stdin(file) {
        return Err(unverifiable(
            "standard input has no file name to check it against; name the file",
        ));
    }
    // The name is checked against the path the file was asked for, links left
    // as they are: a directory replaced by a link to another must not pass off
    // the other's file, approved under its own name, as this one.
    // A relative path is taken from the shell's `$PWD` when it names the
    // current directory: the process's own idea of it has links resolved.
    let path = match std::env::var_os("PWD").map(std::path::PathBuf::from) {
        Some(pwd)
            if file.is_relative()
                && pwd.is_absolute()
                && fs::canonicalize(&pwd).ok() == fs::canonicalize(".").ok() =>
        {
            Ok(pwd.join(file))
        }
        _ => std::path::absolute(file),
    }
    .map_err(|_| unverifiable("the file's path cannot be made absolute"))?;
    let sidecar = attestation::read_sidecar(input.format, file);
    attestation::verify_file(input.format, &path, &input.text, sidecar.as_deref(), keys)
}

/// What `open --check` says of a file's attestation.
fn attested_note(file: &str, attested: &Result<Attestation, cachet::Error>) -> String {
    match attested {
        Ok(a) if a.approver.is_empty() => format!(
            "{file}: attested at {} with key id {}",
            a.attested_at.rfc3339(),
            a.key_id
        ),
        Ok(a) => format!(
            "{file}: attested by {} at {} with key id {}",
            a.approver,
            a.attested_at.rfc3339(),
            a.key_id
        ),
        Err(e) => format!("{file}: {e}"),
    }
}

/// The options of `open`.
pub struct OpenArgs<'a> {
    pub output: Option<&'a Path>,
    pub output_type: Option<OutputType>,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub check: bool,
    pub variables: &'a VariableArgs,
}

pub fn open(
    file: &Path,
    identities: &[PathBuf],
    input_type: Option<InputType>,
    args: &OpenArgs<'_>,
    audit: &Reading,
) -> Result<(), Failure> {
    let options = variable_options(args.variables)?;
    let names_variables = matches!(
        args.output_type,
        Some(OutputType::Env | OutputType::K8sSecret)
    );
    if !names_variables && args.variables.given() {
        return Err(Failure::usage(
            "--only, --separator, --prefix, --keep-case and --allow-var name variables: use them with --output-type env or k8s-secret",
        ));
    }
    let secret = match (args.output_type, args.name, args.namespace) {
        (Some(OutputType::K8sSecret), Some(name), ns) => {
            export::check_k8s_name(name)
                .map_err(|why| Failure::usage(format!("--name {name:?}: {why}")))?;
            if let Some(ns) = ns {
                export::check_k8s_namespace(ns)
                    .map_err(|why| Failure::usage(format!("--namespace {ns:?}: {why}")))?;
            }
            Some((name, ns))
        }
        (Some(OutputType::K8sSecret), None, _) => {
            return Err(Failure::usage(
                "--output-type k8s-secret needs --name, the Secret's name",
            ));
        }
        (_, None, None) => None,
        _ => {
            return Err(Failure::usage(
                "--name and --namespace are for --output-type k8s-secret",
            ));
        }
    };
    let conversion = args.output_type.map(|ty| Conversion {
        ty,
        options,
        secret,
    });
    let mut accesses = Vec::new();
    let audit = &Reading {
        report_attested: args.check,
        ..audit.clone()
    };
    let opened = open_converted(
        (file, input_type, identities),
        conversion.as_ref(),
        audit,
        &mut accesses,
    );
    let text = audit.finish("open", &[file], &accesses, opened)?;
    if args.check {
        // Every value opened, in memory only: the exit status is the answer.
        // A file without attestation is no news; one with it is reported.
        if let Some(Some(attested)) = accesses.first().map(|a| &a.attested)
            && !matches!(
                attested,
                Err(cachet::Error::Attestation(AttestError::Missing))
            )
        {
            note(&attested_note(&accesses[0].file, attested));
        }
        return Ok(());
    }
    match args.output {
        Some(out) => {
            // Under the output's lock: two opens to one file take turns, and a
            // temporary copy (plaintext, 0600) left by a killed one is removed.
            let _lock = super::lock(out)?;
            write_file(out, text.as_bytes(), Mode::Private)
        }
        None => write_stdout(text.as_bytes()),
    }
}

/// What `open --output-type` turns the opened file into.
struct Conversion<'a> {
    ty: OutputType,
    options: VariableOptions,
    /// The Secret's name and namespace, for `k8s-secret`.
    secret: Option<(&'a str, Option<&'a str>)>,
}

/// Opens `file` and converts it as `open` was asked, noting what was opened.
fn open_converted(
    (file, input_type, identities): (&Path, Option<InputType>, &[PathBuf]),
    conversion: Option<&Conversion<'_>>,
    audit: &Reading,
    accesses: &mut Vec<Access>,
) -> Result<Zeroizing<String>, Failure> {
    let input = read_input(file, input_type)?;
    let mut ids = identities_needed(&[&input], identities, audit.require_attested)?;
    let source = (file, &input);
    let everything = |_: u32, _: &ValuePath| true;
    let Some(conversion) = conversion else {
        let (opened, access) = open_file(source, &mut ids, audit, everything, |keys| {
            cachet::open_document(input.format, &input.text, keys)
        });
        accesses.push(access);
        return opened;
    };
    let (tree, access) = open_file(source, &mut ids, audit, everything, |keys| {
        cachet::open_tree(input.format, &input.text, keys)
    });
    accesses.push(access);
    let docs = &tree?.documents;
    let variables = || {
        export::single_document(docs, "environment variables")
            .and_then(|d| variables::variables(d, &conversion.options))
    };
    let converted = match conversion.ty {
        OutputType::Json => export::to_json(docs),
        OutputType::Toml => export::to_toml(docs),
        OutputType::Yaml => export::to_yaml(docs),
        OutputType::Env => variables().and_then(|v| export::to_dotenv(&v)),
        OutputType::K8sSecret => {
            let (name, ns) = conversion.secret.unwrap_or_default();
            variables().and_then(|v| export::to_k8s_secret(&v, name, ns))
        }
    };
    converted.map_err(|e| Failure::about(&input.name, &e))
}

fn variable_options(args: &VariableArgs) -> Result<VariableOptions, Failure> {
    let only = args
        .only
        .iter()
        .map(|g| PathGlob::new(g).map_err(|e| Failure::usage(format!("--only {g:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VariableOptions {
        separator: args.separator.clone(),
        prefix: args.prefix.clone(),
        case: if args.keep_case {
            Case::Keep
        } else {
            Case::Upper
        },
        only,
        allow: args.allow.clone(),
    })
}

pub fn get(
    file: &Path,
    (document, path): (u32, &str),
    identities: &[PathBuf],
    input_type: Option<InputType>,
    audit: &Reading,
) -> Result<(), Failure> {
    let path = parse_path(path)?;
    let mut accesses = Vec::new();
    let mut read = || {
        let input = read_input(file, input_type)?;
        let mut ids = identities_needed(&[&input], identities, audit.require_attested)?;
        let (value, access) = open_file(
            (file, &input),
            &mut ids,
            audit,
            |d, p| d == document && *p == path,
            |keys| cachet::get_value_in(input.format, &input.text, document, &path, keys),
        );
        accesses.push(access);
        value
    };
    let value = read();
    let value = audit.finish("get", &[file], &accesses, value)?;
    // The exact content for pipes and `$(…)`; a newline only for a person's terminal.
    write_stdout(value.as_bytes())?;
    if io::stdout().is_terminal() {
        write_stdout(b"\n")?;
    }
    Ok(())
}

/// The options of `exec`.
pub struct ExecArgs<'a> {
    pub files: &'a [PathBuf],
    pub identities: &'a [PathBuf],
    pub input_type: Option<InputType>,
    pub variables: &'a VariableArgs,
    pub override_env: bool,
    pub keep_identity: bool,
    pub command: &'a [OsString],
}

/// Opens the files and runs the command with their values in its environment.
/// Returns only on failure: on Unix the command replaces this process.
/// A failure of cachet itself exits 125 (as `env` and `docker run` do), so the
/// program's own statuses 1 and 2 stay unambiguous.
pub fn exec(args: &ExecArgs<'_>, audit: &Reading) -> Failure {
    match prepare(args, audit) {
        Ok((mut process, program)) => run(&mut process, &program),
        Err(f) => Failure::exit(EXEC_FAILED, f.message),
    }
}

/// The exit status of `exec` when cachet fails before running the program.
pub const EXEC_FAILED: u8 = 125;

/// Everything up to the point of running the command.
fn prepare(args: &ExecArgs<'_>, audit: &Reading) -> Result<(Process, OsString), Failure> {
    let mut accesses = Vec::new();
    let exported = exported_variables(args, audit, &mut accesses);
    let files: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    let exported = audit.finish("exec", &files, &accesses, exported)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::usage("name the command to run after --"))?;
    let mut process = Process::new(program);
    process.args(rest);
    let options = ExecOptions {
        override_env: args.override_env,
        keep_identity: args.keep_identity,
    };
    for v in exported
        .iter()
        .filter(|v| !variables::shell_readable(&v.name))
    {
        note(&format!(
            "warning: variable {:?} ({}) has a name a shell cannot read as $NAME; programs that read their environment directly still see it; rename the key if a shell must read it",
            v.name, v.path
        ));
    }
    let env = plan::environment(exported, options, |name| std::env::var_os(name).is_some());
    for name in env.remove {
        process.env_remove(name);
    }
    for v in &env.set {
        process.env(&v.name, v.value.as_str());
    }
    Ok((process, program.clone()))
}

/// The variables of every file of `exec`, noting what was opened.
fn exported_variables(
    args: &ExecArgs<'_>,
    audit: &Reading,
    accesses: &mut Vec<Access>,
) -> Result<Vec<Variable>, Failure> {
    let options = variable_options(args.variables)?;
    let inputs = args
        .files
        .iter()
        .map(|f| read_input(f, args.input_type))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids = identities_needed(
        &inputs.iter().collect::<Vec<_>>(),
        args.identities,
        audit.require_attested,
    )?;
    // One file must not give a name twice; a later file wins over an earlier one.
    let mut per_file: Vec<Vec<Variable>> = Vec::new();
    for (file, input) in args.files.iter().zip(&inputs) {
        let (tree, access) = open_file(
            (file, input),
            &mut ids,
            audit,
            |_, _| true,
            |keys| cachet::open_tree(input.format, &input.text, keys),
        );
        accesses.push(access);
        let vars = export::single_document(&tree?.documents, "environment variables")
            .and_then(|d| variables::variables(d, &options))
            .map_err(|e| Failure::about(&input.name, &e))?;
        per_file.push(vars);
    }
    Ok(plan::merge_files(per_file))
}

#[cfg(unix)]
fn run(process: &mut Process, program: &OsString) -> Failure {
    use std::os::unix::process::CommandExt;
    // Replaces this process: signals reach the program and its exit status is the
    // command's own.
    let e = process.exec();
    cannot_run(program, &e)
}

#[cfg(not(unix))]
fn run(process: &mut Process, program: &OsString) -> Failure {
    match process.status() {
        // No exec here: pass the program's status on as ours.
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => cannot_run(program, &e),
    }
}

/// As `env` does: 127 when the program is not found, 126 when it cannot be run;
/// but 125 when the variables are too large to pass (E2BIG), which is cachet's
/// failure, not the program's.
fn cannot_run(program: &OsString, e: &io::Error) -> Failure {
    if e.kind() == io::ErrorKind::ArgumentListTooLong {
        return Failure::exit(
            125,
            format!(
                "{}: cannot run: the variables and arguments are too large to pass (the system's limit); pass fewer with --only",
                program.to_string_lossy()
            ),
        );
    }
    Failure::exit(
        if e.kind() == io::ErrorKind::NotFound {
            127
        } else {
            126
        },
        format!("{}: cannot run: {e}", program.to_string_lossy()),
    )
}

impl VariableArgs {
    /// Whether any naming option was given.
    fn given(&self) -> bool {
        !self.only.is_empty()
            || self.separator != "_"
            || !self.prefix.is_empty()
            || self.upper
            || self.keep_case
            || !self.allow.is_empty()
    }
}
