//! The commands that open sealed files: `open` (as it was written, converted, or
//! only checked), `get` and `exec`, and the access log they write.

use std::ffi::OsString;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use cachet::atomic::Mode;
use cachet::audit::AccessRecord;
use cachet::export;
use cachet::identity_file::IdentitySet;
use cachet::variables::{self, Case, Variable, VariableOptions};
use cachet::{KeyId, PathGlob, SealedAt, ValuePath};

use super::args::{AuditArg, InputType, OutputType, VariableArgs};
use super::team::{self, KeyringOpened};
use super::{Failure, Input, identity, parse_path, read_input, write_file, write_stdout};

/// Where access records go: `--audit-log`, else `$CACHET_AUDIT_LOG`, else nowhere.
pub struct Audit(Option<PathBuf>);

impl Audit {
    pub fn new(arg: &AuditArg) -> Audit {
        Audit(arg.audit_log.clone().or_else(|| {
            std::env::var_os("CACHET_AUDIT_LOG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }))
    }

    /// Appends one record. The log is asked for, so a record that cannot be
    /// written stops the command before anything is shown or run.
    fn write(&self, record: &AccessRecord<'_>) -> Result<(), Failure> {
        let Some(target) = &self.0 else {
            return Ok(());
        };
        let mut line = record.to_json_line();
        line.push('\n');
        let written = if target.as_os_str() == "-" {
            io::stderr().write_all(line.as_bytes())
        } else {
            append_private(target).and_then(|mut f| f.write_all(line.as_bytes()))
        };
        written.map_err(|e| {
            Failure::usage(format!(
                "{}: cannot write the access log: {e}",
                target.display()
            ))
        })
    }
}

/// Opens a log for appending, creating it readable by its owner only. One
/// `write_all` of a line below the pipe buffer size is one append, so records of
/// concurrent processes do not interleave.
fn append_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The identities to open `inputs` with. A file with no sealed value opens
/// without a key, so none is looked for unless one is named with `-i`.
pub(super) fn identities_for(
    inputs: &[&Input],
    identities: &[PathBuf],
) -> Result<IdentitySet, Failure> {
    let sealed = |input: &&Input| {
        cachet::list_values(input.format, &input.text)
            .is_ok_and(|values| values.iter().any(|v| v.sealed.is_some()))
    };
    if identities.is_empty() && !inputs.iter().any(sealed) {
        return Ok(IdentitySet::new());
    }
    identity::load(identities)
}

/// Runs `f` with the keys at hand; when a value needs a key not held, takes it
/// from the environment's keyring (a member's identity) and tries again. Returns
/// the keyrings that were opened, for the access log.
pub(super) fn with_keys<T>(
    file: &Path,
    name: &str,
    ids: &mut IdentitySet,
    f: impl Fn(&cachet::Identities) -> Result<T, cachet::Error>,
) -> Result<(T, Vec<KeyringOpened>), Failure> {
    let mut tried: Vec<KeyId> = Vec::new();
    let mut unlocked = Vec::new();
    loop {
        match f(ids.keys()) {
            Err(cachet::Error::Open {
                reason: cachet::OpenError::NoIdentity(id),
                path,
            }) if !tried.contains(&id) => {
                tried.push(id);
                let before = ids.keys().len();
                unlocked.extend(team::unlock_for(file, &[id], ids)?);
                // No keyring gave the key: a passphrase-protected identity may
                // hold it itself (an environment key kept under a passphrase).
                if ids.keys().len() == before {
                    ids.open_locked()
                        .map_err(|(source, why)| Failure::usage(format!("{source}: {why}")))?;
                }
                if ids.keys().len() == before {
                    return Err(Failure::doc(
                        name,
                        cachet::Error::Open {
                            reason: cachet::OpenError::NoIdentity(id),
                            path,
                        },
                    ));
                }
            }
            other => {
                return other
                    .map(|t| (t, unlocked))
                    .map_err(|e| Failure::doc(name, e));
            }
        }
    }
}

/// Opens what `f` opens of `input`, and writes the access record of it (success
/// or refusal) before anything is shown. `wanted` picks the sealed values `f`
/// opens, for the record.
fn open_logged<T>(
    command: &str,
    (file, input): (&Path, &Input),
    ids: &mut IdentitySet,
    audit: &Audit,
    wanted: impl Fn(u32, &ValuePath) -> bool,
    f: impl Fn(&cachet::Identities) -> Result<T, cachet::Error>,
) -> Result<T, Failure> {
    let result = with_keys(file, &input.name, ids, f);
    if audit.0.is_none() {
        return result.map(|(t, _)| t);
    }
    // What the file holds, read without a key; an unreadable file has none.
    let mut key_ids: Vec<KeyId> = Vec::new();
    let mut paths = Vec::new();
    for v in cachet::list_values(input.format, &input.text).unwrap_or_default() {
        if let Some((id, _)) = v.sealed
            && wanted(v.document, &v.path)
        {
            if !key_ids.contains(&id) {
                key_ids.push(id);
            }
            paths.push((v.document, v.path));
        }
    }
    let unlocked: &[KeyringOpened] = result.as_ref().map_or(&[], |(_, u)| u);
    let environment = match unlocked.first() {
        Some(u) => Some(u.environment.clone()),
        None => team::environment_of_keys(file, &key_ids),
    };
    let member = unlocked.iter().find_map(|u| u.member.as_ref());
    let identity = match member {
        Some(m) => Some(m.recipient.to_string()),
        // A deploy key: the environment key's own public key.
        None if result.is_ok() => key_ids
            .iter()
            .find_map(|id| ids.keys().get(id))
            .map(|k| k.public_key().to_string()),
        None => None,
    };
    let error = result.as_ref().err().map(|f| f.message.as_str());
    audit.write(&AccessRecord {
        time: SealedAt::now(),
        command,
        file: &input.name,
        environment: environment.as_deref(),
        key_ids: &key_ids,
        paths: if error.is_some() { &[] } else { &paths },
        identity: identity.as_deref(),
        member: member.map(|m| m.name.as_str()),
        pid: std::process::id(),
        error,
    })?;
    result.map(|(t, _)| t)
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
    audit: &Audit,
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
    let input = read_input(file, input_type)?;
    let mut ids = identities_for(&[&input], identities)?;
    let source = (file, &input);
    let everything = |_: u32, _: &ValuePath| true;
    let text = match args.output_type {
        None => open_logged("open", source, &mut ids, audit, everything, |keys| {
            cachet::open_document(input.format, &input.text, keys)
        })?,
        Some(ty) => {
            let tree = open_logged("open", source, &mut ids, audit, everything, |keys| {
                cachet::open_tree(input.format, &input.text, keys)
            })?;
            let docs = &tree.documents;
            let converted = match ty {
                OutputType::Json => export::to_json(docs),
                OutputType::Toml => export::to_toml(docs),
                OutputType::Yaml => export::to_yaml(docs),
                OutputType::Env => export::single_document(docs, "environment variables")
                    .and_then(|d| variables::variables(d, &options))
                    .and_then(|v| export::to_dotenv(&v)),
                OutputType::K8sSecret => {
                    let (name, ns) = secret.unwrap_or_default();
                    export::single_document(docs, "environment variables")
                        .and_then(|d| variables::variables(d, &options))
                        .and_then(|v| export::to_k8s_secret(&v, name, ns))
                }
            };
            converted.map_err(|e| Failure::doc(&input.name, e.into()))?
        }
    };
    if args.check {
        // Every value opened, in memory only: the exit status is the answer.
        return Ok(());
    }
    match args.output {
        Some(out) => write_file(out, text.as_bytes(), Mode::Private),
        None => write_stdout(text.as_bytes()),
    }
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
    audit: &Audit,
) -> Result<(), Failure> {
    let path = parse_path(path)?;
    let input = read_input(file, input_type)?;
    let mut ids = identities_for(&[&input], identities)?;
    let value = open_logged(
        "get",
        (file, &input),
        &mut ids,
        audit,
        |d, p| d == document && *p == path,
        |keys| cachet::get_value_in(input.format, &input.text, document, &path, keys),
    )?;
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
pub fn exec(args: &ExecArgs<'_>, audit: &Audit) -> Failure {
    match prepare(args, audit) {
        Ok((mut process, program)) => run(&mut process, &program),
        Err(f) => Failure {
            code: EXEC_FAILED,
            message: f.message,
        },
    }
}

/// The exit status of `exec` when cachet fails before running the program.
pub const EXEC_FAILED: u8 = 125;

/// Everything up to the point of running the command.
fn prepare(args: &ExecArgs<'_>, audit: &Audit) -> Result<(Process, OsString), Failure> {
    let options = variable_options(args.variables)?;
    let inputs = args
        .files
        .iter()
        .map(|f| read_input(f, args.input_type))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids = identities_for(&inputs.iter().collect::<Vec<_>>(), args.identities)?;
    // Later files win for the same name; one file must not give a name twice.
    let mut exported: Vec<Variable> = Vec::new();
    for (file, input) in args.files.iter().zip(&inputs) {
        let tree = open_logged(
            "exec",
            (file, input),
            &mut ids,
            audit,
            |_, _| true,
            |keys| cachet::open_tree(input.format, &input.text, keys),
        )?;
        let vars = export::single_document(&tree.documents, "environment variables")
            .and_then(|d| variables::variables(d, &options))
            .map_err(|e| Failure::doc(&input.name, e.into()))?;
        exported.retain(|old| !vars.iter().any(|v| v.name == old.name));
        exported.extend(vars);
    }
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::usage("name the command to run after --"))?;
    let mut process = Process::new(program);
    process.args(rest);
    if !args.keep_identity {
        // The deploy key stays with cachet; the program gets the values only.
        process.env_remove("CACHET_IDENTITY");
    }
    for v in &exported {
        if args.override_env || std::env::var_os(&v.name).is_none() {
            process.env(&v.name, v.value.as_str());
        }
    }
    Ok((process, program.clone()))
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

/// As `env` does: 127 when the program is not found, 126 when it cannot be run.
fn cannot_run(program: &OsString, e: &io::Error) -> Failure {
    Failure {
        code: if e.kind() == io::ErrorKind::NotFound {
            127
        } else {
            126
        },
        message: format!("{}: cannot run: {e}", program.to_string_lossy()),
    }
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
