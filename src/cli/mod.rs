//! The `cachet` command: a thin layer over the library. It reads files and the
//! environment, calls the library, writes results atomically, and turns errors into
//! one line on stderr and an exit status.

mod args;
mod attest;
mod check;
mod deploy;
mod edit;
mod identity;
mod import;
mod inventory;
mod reseal;
mod rotate;
mod team;

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cachet::document::attestation;
use cachet::seal::generate::Charset;
use cachet::team::rotation::RotateOptions;
use cachet::team::target::{self, Accept, SealTarget, TargetOptions};
use cachet::worktree::atomic::{self, FileLock, Mode};
use cachet::{
    Classified, ErrorKind, Format, PublicKey, ScalarType, SealedAt, Sealer, SecretKey, Selection,
    ValuePath,
};
use clap::{CommandFactory, Parser};
use zeroize::Zeroizing;

use args::{Cli, Command, EnvCommand, InputType, MembersCommand, PolicyArgs, TypeArg};

/// Why the command stopped: the message (one line, no secret) and what kind of
/// failure it is, which decides the exit status ([`Failure::exit_status`]).
pub struct Failure {
    status: Status,
    message: String,
}

/// Where a failure's exit status comes from.
enum Status {
    /// The kind of error: see [`Failure::exit_status`].
    Kind(ErrorKind),
    /// A status of its own (`exec`'s 125, 126 and 127, as `env` has them).
    Exit(u8),
}

impl Failure {
    /// Bad usage or unreadable input on the command line itself.
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            status: Status::Kind(ErrorKind::Usage),
            message: message.into(),
        }
    }

    /// A refusal for safety that only the command line makes.
    fn refused(message: impl Into<String>) -> Self {
        Failure {
            status: Status::Kind(ErrorKind::Refused),
            message: message.into(),
        }
    }

    /// A failure with an exit status of its own.
    fn exit(code: u8, message: impl Into<String>) -> Self {
        Failure {
            status: Status::Exit(code),
            message: message.into(),
        }
    }

    /// A library error.
    fn of(e: &impl Classified) -> Self {
        Failure {
            status: Status::Kind(e.kind()),
            message: e.to_string(),
        }
    }

    /// A library error about `file`, named first.
    fn about(file: &str, e: &impl Classified) -> Self {
        Failure {
            status: Status::Kind(e.kind()),
            message: format!("{file}: {e}"),
        }
    }

    /// The exit status, decided here and nowhere else: 2 for bad usage or input,
    /// 1 for a refusal or a value that does not open (`spec/format.md` section
    /// 11.3).
    fn exit_status(&self) -> u8 {
        match self.status {
            Status::Exit(code) => code,
            Status::Kind(ErrorKind::Refused | ErrorKind::Open) => 1,
            Status::Kind(_) => 2,
        }
    }
}

impl<E: Classified> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::of(&e)
    }
}

/// Runs the command line and returns the exit status.
pub fn run() -> ExitCode {
    // Shell completion asks through the environment (`COMPLETE=bash cachet`):
    // answered here, and nothing else runs.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `exec` keeps 1 and 2 for the program it runs.
            let exec = std::env::args_os().nth(1).is_some_and(|a| a == "exec");
            return ExitCode::from(match e.exit_code() {
                0 => 0,
                _ if exec => deploy::EXEC_FAILED,
                code => u8::try_from(code).unwrap_or(2),
            });
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // One line, always: a message must never spill onto a second line.
            let line = f.message.replace(['\n', '\r'], " ");
            let _ = writeln!(io::stderr(), "cachet: {line}");
            ExitCode::from(f.exit_status())
        }
    }
}

/// A line for the person at the terminal (progress, warnings): on stderr, so
/// stdout carries only what was asked for.
fn note(message: &str) {
    let _ = writeln!(io::stderr(), "cachet: {message}");
}

fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Keygen {
            public_of: Some(file),
            ..
        } => identity::show_public(&file),
        Command::Keygen {
            output, passphrase, ..
        } => keygen(output.as_deref(), passphrase),
        Command::Init { env, add } => team::init(env.as_deref(), &add),
        Command::Env(EnvCommand::Add { name, add }) => team::env_add(&name, &add),
        Command::Env(EnvCommand::List) => team::env_list(),
        Command::Env(EnvCommand::Key {
            name,
            force,
            identity,
        }) => team::env_key(&name, force, &identity.identities),
        Command::Members(MembersCommand::Add {
            env,
            member,
            identity,
        }) => team::members_change(
            &env,
            &team::MemberChangeArg::Add(&member),
            &identity.identities,
        ),
        Command::Members(MembersCommand::Remove {
            env,
            name,
            rotate,
            identity,
        }) => {
            // Removal first, so the removed member is never given the new key.
            team::members_change(
                &env,
                &team::MemberChangeArg::Remove(&name),
                &identity.identities,
            )?;
            if rotate {
                // Always a new key: the keyring's current one is known to the
                // member just removed, even if a rotation was in progress.
                let options = RotateOptions {
                    new_key: true,
                    ..Default::default()
                };
                rotate::rotate(&env, &[], options, &identity.identities)?;
            }
            Ok(())
        }
        Command::Rotate {
            env,
            dry_run,
            files,
            new_key,
            accept_new_key,
            identity,
        } => {
            let options = RotateOptions {
                dry_run,
                new_key,
                accept_new_key,
            };
            rotate::rotate(&env, &files, options, &identity.identities)
        }
        Command::Prune { env, identity } => rotate::prune(&env, &identity.identities),
        Command::Members(MembersCommand::List { env }) => team::members_list(&env),
        Command::Members(MembersCommand::Sync {
            env,
            from_keyring,
            grant,
            accept_new_key,
            identity,
        }) => team::members_sync(
            &env,
            (from_keyring, grant, accept_new_key),
            &identity.identities,
        ),
        Command::Check {
            paths,
            base,
            staged,
            strict,
            format,
            identity,
        } => check::check(
            &check::CheckArgs {
                paths: &paths,
                base: base.as_deref(),
                staged,
                strict,
                sarif: format == args::CheckFormat::Sarif,
            },
            &identity.identities,
        ),
        Command::Audit { json, identity } => inventory::audit(json, &identity.identities),
        Command::Seal {
            files,
            recipient,
            paths,
            stdout,
            policy,
            input,
            like:
                args::LikeArgs {
                    like: Some(like),
                    output,
                    identity,
                },
        } => edit::seal_like(
            &files,
            (&like, output.as_deref()),
            (recipient.recipient.as_deref(), &paths, stdout),
            &identity.identities,
            &policy,
            input.input_type,
        ),
        Command::Seal {
            files,
            recipient,
            paths,
            stdout,
            policy,
            input,
            like: _,
        } => seal(
            &files,
            recipient.recipient.as_deref(),
            &paths,
            stdout,
            &policy,
            input.input_type,
        ),
        Command::Open {
            file,
            identity,
            output,
            output_type,
            name,
            namespace,
            check,
            variables,
            audit,
            attested,
            input,
        } => deploy::open(
            &file,
            &identity.identities,
            input.input_type,
            &deploy::OpenArgs {
                output: output.as_deref(),
                output_type,
                name: name.as_deref(),
                namespace: namespace.as_deref(),
                check,
                variables: &variables,
            },
            &deploy::Reading::new(&audit, &attested),
        ),
        Command::Get {
            file,
            path,
            document,
            identity,
            audit,
            attested,
            input,
        } => deploy::get(
            &file,
            (document, &path),
            &identity.identities,
            input.input_type,
            &deploy::Reading::new(&audit, &attested),
        ),
        Command::Exec {
            files,
            identity,
            variables,
            override_env,
            keep_identity,
            audit,
            attested,
            input,
            command,
        } => Err(deploy::exec(
            &deploy::ExecArgs {
                files: &files,
                identities: &identity.identities,
                input_type: input.input_type,
                variables: &variables,
                override_env,
                keep_identity,
                command: &command,
            },
            &deploy::Reading::new(&audit, &attested),
        )),
        Command::Set {
            file,
            path,
            create,
            document,
            recipient,
            ty,
            generate,
            charset,
            policy,
            input,
        } => set(
            &file,
            (document, &path, create),
            recipient.recipient.as_deref(),
            ty,
            generate.map(|len| (charset.into(), len)),
            &policy,
            input.input_type,
        ),
        Command::Import(args::ImportCommand::Sops(args)) => import::sops(&args),
        Command::Attest(a) => attest::attest(&a),
        Command::Reseal(a) => reseal::reseal(&a),
        Command::Edit(a) => edit::edit(&a),
        Command::Diff(a) => edit::diff(&a),
        Command::Merge(a) => edit::merge(&a),
        Command::Git(args::GitCommand::Setup { patterns }) => edit::git_setup(&patterns),
        Command::Completions { shell } => completions(shell),
        Command::Man { dir } => man(dir.as_deref()),
    }
}

/// `cachet completions SHELL`: the script that registers cachet's completions
/// with the shell. It asks cachet itself for each completion (as
/// `COMPLETE=SHELL cachet` prints), so environment names come from the policy
/// of the directory the shell is in.
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Elvish => &Elvish,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::PowerShell => &Powershell,
        clap_complete::Shell::Zsh => &Zsh,
        _ => return Err(Failure::usage(format!("no completions for {shell}"))),
    };
    let mut out = Vec::new();
    completer
        .write_registration("COMPLETE", "cachet", "cachet", "cachet", &mut out)
        .map_err(|e| Failure::usage(format!("cannot write the script: {e}")))?;
    write_stdout(&out)
}

/// A file read into memory, with the name used in messages and its format.
struct Input {
    name: String,
    format: Format,
    text: Zeroizing<String>,
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a file named on the command line is named in messages and logs.
fn input_name(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

fn read_input(path: &Path, input_type: Option<InputType>) -> Result<Input, Failure> {
    let name = input_name(path);
    let format = match input_type {
        Some(InputType::Toml) => Format::Toml,
        Some(InputType::Yaml) => Format::Yaml,
        Some(InputType::Json) => Format::Json,
        Some(InputType::Jsonc) => Format::Jsonc,
        Some(InputType::Env) => Format::Env,
        None => Format::from_path(path).ok_or_else(|| {
            Failure::usage(format!(
                "{name}: cannot tell the format from the file name; pass --input-type toml|yaml|json|jsonc|env"
            ))
        })?,
    };
    // Room reserved up front: a growing buffer would be copied on reallocation,
    // leaving unwiped copies of the secret in freed memory.
    let mut bytes = Zeroizing::new(Vec::with_capacity(64 << 10));
    let read = if is_stdin(path) {
        io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|e| Failure::usage(format!("{name}: cannot read: {e}")))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => Zeroizing::new(t.to_string()),
        Err(e) => {
            return Err(Failure::usage(format!(
                "{name}: not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            )));
        }
    };
    Ok(Input { name, format, text })
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::usage(format!("cannot write to stdout: {e}")))
}

fn write_file(path: &Path, bytes: &[u8], mode: Mode) -> Result<(), Failure> {
    atomic::write_atomic(path, bytes, mode, false)
        .map_err(|e| Failure::usage(format!("{}: cannot write: {e}", path.display())))
}

fn lock(path: &Path) -> Result<FileLock, Failure> {
    FileLock::acquire(path, || {
        let _ = writeln!(
            io::stderr(),
            "cachet: waiting for another cachet process that is writing {}",
            path.display()
        );
    })
    .map_err(|e| {
        let message = format!("{}: cannot take the lock: {e}", path.display());
        // A link where the lock file goes is a refusal for safety, not bad usage.
        if fs::symlink_metadata(atomic::lock_path(path)).is_ok_and(|m| m.file_type().is_symlink()) {
            Failure::refused(message)
        } else {
            Failure::usage(message)
        }
    })
}

/// Takes the lock of a file rewritten in place, which must not be a symbolic
/// link: reading through a link committed to a repository could seal a file from
/// elsewhere into it, and the rewrite would replace the link.
fn lock_in_place(path: &Path) -> Result<FileLock, Failure> {
    refuse_link(path)?;
    lock(path)
}

/// Refuses a file to be rewritten in place that is a symbolic link.
fn refuse_link(path: &Path) -> Result<(), Failure> {
    atomic::refuse_link(path).map_err(|e| Failure::refused(format!("{}: {e}", path.display())))
}

/// The selection that `--path` options name, if any.
fn named_paths(paths: &[String]) -> Result<Option<Selection>, Failure> {
    if paths.is_empty() {
        return Ok(None);
    }
    let paths = paths
        .iter()
        .map(|p| parse_path(p))
        .collect::<Result<_, _>>()?;
    Ok(Some(Selection::Paths(paths)))
}

fn parse_path(s: &str) -> Result<ValuePath, Failure> {
    s.parse::<ValuePath>()
        .map_err(|e| Failure::usage(format!("{s:?}: {e}")))
}

/// Asks for a new passphrase twice, on the terminal only.
fn new_passphrase() -> Result<Zeroizing<String>, Failure> {
    if !identity::Terminal::present() {
        return Err(Failure::usage(
            "keygen --passphrase asks for the passphrase on a terminal, and there is none",
        ));
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| Failure::usage(format!("cannot read the passphrase: {e}")))
    };
    let first = ask("New passphrase: ")?;
    if first.is_empty() {
        return Err(Failure::usage("the passphrase must not be empty"));
    }
    if *ask("Same passphrase again: ")? != *first {
        return Err(Failure::usage(
            "the two passphrases differ; nothing was written",
        ));
    }
    Ok(first)
}

/// The sections of cachet(1) that clap does not know: where identities, pins and
/// the team files are, and the variables that steer cachet.
const MAN_ENVIRONMENT_AND_FILES: &str = r#".SH ENVIRONMENT
.TP
\fBCACHET_IDENTITY\fR, \fBCACHET_IDENTITY_FILE\fR, \fBCACHET_IDENTITY_COMMAND\fR
The identity to open with when no \fB\-i\fR is given: the key text, a file, or a command whose output is the key, tried in this order before the identity file below and \fI~/.ssh/id_ed25519\fR, \fI~/.ssh/id_rsa\fR.
.TP
\fBCACHET_RECIPIENT\fR
The public key to seal to when no \fB\-r\fR is given.
.TP
\fBCACHET_TRUST\fR
Environment keys vouched for from outside the repository, \fIENV\fR=\fIKEY\fR separated by commas.
.TP
\fBCACHET_REQUIRE_PIN\fR
Refuse the first use of a key that is neither pinned nor anchored.
.TP
\fBCACHET_SAFE_DIRECTORIES\fR
Repositories (or \fB*\fR) whose team files another user may own.
.TP
\fBCACHET_EDITOR\fR, \fBVISUAL\fR, \fBEDITOR\fR
The editor of \fBcachet edit\fR; \fBCACHET_EDIT_DIR\fR, where its private copy goes.
.TP
\fBCACHET_AUDIT_LOG\fR
The access log of \fBopen\fR, \fBget\fR and \fBexec\fR.
.TP
\fBXDG_CONFIG_HOME\fR
Where cachet's own files are (default \fI~/.config\fR).
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/cachet/identity.txt\fR
Your identity (made with \fBcachet keygen \-o\fR).
.TP
\fI$XDG_CONFIG_HOME/cachet/known_keys.toml\fR
The environment keys this machine pinned, per repository.
.TP
\fI.cachet.toml\fR, \fI.cachet/keys/ENV.age\fR
A repository's policy and each environment's keyring (spec/policy.md).
"#;

/// `cachet man [--dir DIR]`.
fn man(dir: Option<&Path>) -> Result<(), Failure> {
    let fail = |e: io::Error| Failure::usage(format!("cannot write the man page: {e}"));
    let mut top = Vec::new();
    // As the per-command pages are made: `help` gets no page, so the top page
    // must not name one.
    clap_mangen::Man::new(Cli::command().disable_help_subcommand(true))
        .render(&mut top)
        .map_err(fail)?;
    top.extend_from_slice(MAN_ENVIRONMENT_AND_FILES.as_bytes());
    let Some(dir) = dir else {
        return write_stdout(&top);
    };
    fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("{}: cannot create: {e}", dir.display())))?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(fail)?;
    write_file(&dir.join("cachet.1"), &top, Mode::Keep)
}

/// `n` and `word`, with an `s` unless `n` is 1: "1 file", "2 files".
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn keygen(output: Option<&Path>, passphrase: bool) -> Result<(), Failure> {
    let key = SecretKey::generate();
    let mut text = cachet::seal::key::identity_file_text(&key, &SealedAt::now().rfc3339());
    let public = key.public_key().to_string();
    if passphrase {
        let pass = new_passphrase()?;
        text = Zeroizing::new(
            cachet::team::protected_identity::protect(
                &text,
                &pass,
                cachet::team::protected_identity::KdfParams::DEFAULT,
                &mut rand_core::OsRng,
            )
            .map_err(|e| Failure::usage(format!("cannot protect the key: {e}")))?
            .to_string(),
        );
    }
    match output {
        Some(path) => {
            // A fresh machine has no ~/.config/cachet yet: made private, as ssh
            // makes ~/.ssh.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let mut builder = fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder.create(dir).map_err(|e| {
                    Failure::usage(format!("{}: cannot create: {e}", dir.display()))
                })?;
            }
            atomic::write_atomic(path, text.as_bytes(), Mode::Private, true).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Failure::usage(format!(
                        "{}: already exists; keygen never overwrites a key (remove the file first if you mean it)",
                        path.display()
                    ))
                } else {
                    // The kind alone: the error's own text names a temporary file.
                    Failure::usage(format!(
                        "{}: cannot write: {}",
                        path.display(),
                        io::Error::from(e.kind())
                    ))
                }
            })?;
            write_stdout(format!("{public}\n").as_bytes())
        }
        None => {
            write_stdout(text.as_bytes())?;
            let _ = writeln!(io::stderr(), "Public key: {public}");
            Ok(())
        }
    }
}

/// Where one file's values are sealed to, and which of them.
struct Target {
    recipient: PublicKey,
    selection: Selection,
    policy: Option<SealTarget>,
}

impl Target {
    /// Where a write sealed to, as every write says it: the environment and its
    /// key id, or the key id of the recipient given.
    fn destination(&self) -> String {
        match &self.policy {
            Some(t) => format!(
                "for environment {} (key id {})",
                t.env.name,
                self.recipient.key_id()
            ),
            None => format!("to key id {}", self.recipient.key_id()),
        }
    }
}

/// With no policy above `file` and no `-r`: one person's file, sealed to their
/// own key. That is the key its values are sealed to, when they are all sealed
/// to one key and an identity holds it; for a file with no sealed value yet, the
/// key of the only identity there is. `None` otherwise, and the usual "no
/// recipient" error follows.
fn solo_recipient(
    file: &Path,
    input_type: Option<InputType>,
    identities: &[PathBuf],
) -> Result<Option<PublicKey>, Failure> {
    let safe = team::safe_directories();
    if cachet::team::Repo::of_file(file, &safe)
        .map_err(|e| Failure::about(&file.display().to_string(), &e))?
        .is_some()
    {
        return Ok(None);
    }
    let Ok(input) = read_input(file, input_type) else {
        return Ok(None);
    };
    let mut sealed = cachet::list_values(input.format, &input.text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.sealed.map(|(id, _)| id));
    let first = sealed.next();
    if sealed.any(|id| Some(id) != first) {
        return Ok(None);
    }
    let held = identity::load(identities)?;
    Ok(match first {
        Some(id) => held.keys().get(&id).map(|k| k.public_key()),
        None => match held.keys().iter().collect::<Vec<_>>().as_slice() {
            [only] => Some(only.public_key()),
            _ => None,
        },
    })
}

/// Resolves a file's target: the recipient given explicitly, else its
/// environment in the policy (checked and pinned).
fn target(
    file: &Path,
    explicit: Option<PublicKey>,
    named: Option<&Selection>,
    args: &PolicyArgs,
) -> Result<Target, Failure> {
    target_of(file, explicit, named, args, false)
}

/// [`target`], for a file that may not exist yet when `new_file`.
fn target_of(
    file: &Path,
    explicit: Option<PublicKey>,
    named: Option<&Selection>,
    args: &PolicyArgs,
    new_file: bool,
) -> Result<Target, Failure> {
    Ok(match explicit {
        Some(recipient) => Target {
            recipient,
            selection: named.cloned().unwrap_or_default(),
            policy: None,
        },
        None => {
            let options = TargetOptions {
                env: args.env.as_deref(),
                force: args.force,
                accept: Accept {
                    new_key: args.accept_new_key,
                    new_env: args.accept_new_env,
                },
                new_file,
            };
            let t = team::with_session(&team::Notes, args.require_pin, |session| {
                Ok(target::seal_target(file, is_stdin(file), options, session)?)
            })?;
            Target {
                recipient: t.recipient,
                selection: named.cloned().unwrap_or_else(|| t.env.selection()),
                policy: Some(t),
            }
        }
    })
}

/// A library error of seal or set, naming the other environment when a value
/// carries its key.
fn seal_failure(file: &str, e: cachet::Error, target: &Target) -> Failure {
    if let (cachet::Error::ForeignKey { path, found, .. }, Some(t)) = (&e, &target.policy)
        && let Some(other) = t.policy.environment_of_key(found)
    {
        return Failure::refused(format!(
            "{file}: {path}: is sealed to the key of environment {}, but the file belongs to environment {}; a file holds the values of one environment: a member of both re-seals it with `cachet reseal {file}`",
            other.name, t.env.name
        ));
    }
    Failure::about(file, &e)
}

/// One sealer per recipient for the whole run: one ephemeral key per run and
/// environment, so opening costs one X25519 per environment.
fn sealer_for<'a>(
    sealers: &'a mut Vec<(PublicKey, Sealer)>,
    recipient: &PublicKey,
) -> Result<&'a mut Sealer, Failure> {
    let i = match sealers.iter().position(|(r, _)| r == recipient) {
        Some(i) => i,
        None => {
            let s =
                Sealer::new(recipient).map_err(|e| Failure::usage(format!("recipient: {e}")))?;
            sealers.push((*recipient, s));
            sealers.len() - 1
        }
    };
    Ok(&mut sealers[i].1)
}

/// The files named, one entry per file however it was named (`a.toml`,
/// `./a.toml`), in a fixed order: the order every lock is taken in, so two runs
/// cannot deadlock, and naming a file twice does not wait for its own lock.
fn distinct_sorted(files: &[PathBuf]) -> Vec<&PathBuf> {
    let mut order: Vec<&PathBuf> = Vec::new();
    let mut seen = Vec::new();
    for f in files {
        let key = fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if !seen.contains(&key) {
            seen.push(key);
            order.push(f);
        }
    }
    order.sort();
    order
}

fn seal(
    files: &[PathBuf],
    recipient: Option<&str>,
    paths: &[String],
    to_stdout: bool,
    policy: &PolicyArgs,
    input_type: Option<InputType>,
) -> Result<(), Failure> {
    let explicit = identity::explicit_recipient(recipient)?;
    let named = named_paths(paths)?;
    let stdin_files = files.iter().filter(|f| is_stdin(f)).count();
    if (to_stdout || stdin_files > 0) && files.len() > 1 {
        return Err(Failure::usage(
            "--stdout and `-` take a single FILE; seal several files in place",
        ));
    }
    let in_place = !to_stdout && stdin_files == 0;
    // Take every lock (in a fixed order, so two runs cannot deadlock), seal everything
    // in memory, and only then write: one bad file leaves every file untouched.
    let order = distinct_sorted(files);
    // Locks first: they refuse a file that is a symbolic link before its
    // environment is looked up where the link points.
    let _locks = if in_place {
        order
            .iter()
            .map(|f| lock_in_place(f))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let targets = order
        .iter()
        .map(|f| target(f, explicit, named.as_ref(), policy))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sealers = Vec::new();
    let mut results = Vec::new();
    for (file, target) in order.into_iter().zip(&targets) {
        let input = read_input(file, input_type)?;
        let sealer = sealer_for(&mut sealers, &target.recipient)?;
        // The attestation line is dropped, and made anew (or not) on writing.
        let text = attestation::split(input.format, &input.text).body;
        let (sealed, report) = cachet::seal_document(input.format, text, &target.selection, sealer)
            .map_err(|e| seal_failure(&input.name, e, target))?;
        if !in_place {
            return write_stdout(sealed.as_bytes());
        }
        results.push((file, input, sealed, report));
    }
    for ((file, input, sealed, report), target) in results.into_iter().zip(&targets) {
        if report.sealed.is_empty() {
            // Nothing new: leave the file (and its modification time) alone.
            let _ = writeln!(
                io::stderr(),
                "{}: nothing to seal ({} already sealed)",
                input.name,
                report.already_sealed
            );
            continue;
        }
        let attested = attest::write_resealed(file, &input, &sealed, (target, policy))?;
        let _ = writeln!(
            io::stderr(),
            "{}: sealed {} value{} {} ({} already sealed)",
            input.name,
            report.sealed.len(),
            if report.sealed.len() == 1 { "" } else { "s" },
            target.destination(),
            report.already_sealed
        );
        if let Some(attested) = attested {
            let _ = writeln!(io::stderr(), "{attested}");
        }
    }
    Ok(())
}

/// Reads the new value: without echo from a terminal, else all of stdin. One
/// trailing newline (`\n` or `\r\n`) is dropped, as `echo` and editors add one.
fn read_value(path: &ValuePath) -> Result<Zeroizing<String>, Failure> {
    let mut value = if io::stdin().is_terminal() {
        Zeroizing::new(
            rpassword::prompt_password(format!("value for {path}: "))
                .map_err(|e| Failure::usage(format!("cannot read the value: {e}")))?,
        )
    } else {
        // Room reserved up front: a growing buffer would be copied on reallocation,
        // leaving unwiped copies of the secret in freed memory.
        let mut bytes = Zeroizing::new(Vec::with_capacity(64 << 10));
        io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::usage(format!("cannot read the value from stdin: {e}")))?;
        Zeroizing::new(
            std::str::from_utf8(&bytes)
                .map_err(|_| Failure::usage("the value on stdin is not UTF-8 text"))?
                .to_string(),
        )
    };
    let keep = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .map(str::len);
    if let Some(len) = keep {
        value.truncate(len);
    }
    Ok(value)
}

fn set(
    file: &Path,
    (document, path, create): (u32, &str, bool),
    recipient: Option<&str>,
    ty: TypeArg,
    generate: Option<(Charset, Option<usize>)>,
    policy: &PolicyArgs,
    input_type: Option<InputType>,
) -> Result<(), Failure> {
    if is_stdin(file) {
        return Err(Failure::usage(
            "set changes a file in place; name the file (not `-`)",
        ));
    }
    let path = parse_path(path)?;
    // A generated secret is drawn (and its length checked) before anything else,
    // so a bad length fails before a key is looked up or a lock taken.
    let generated = match generate {
        Some((charset, len)) => {
            Some(cachet::seal::generate::generate(charset, len).map_err(|e| {
                Failure::usage(format!("{}: {path}: --generate: {e}", file.display()))
            })?)
        }
        None => None,
    };
    // Before the environment is looked up where a link would point.
    refuse_link(file)?;
    // A mistyped path fails before a value is asked for.
    if !create {
        let input = read_input(file, input_type)?;
        if cachet::document::set_adds_key(input.format, &input.text, document, &path)
            .map_err(|e| Failure::about(&input.name, &e))?
        {
            return Err(Failure::usage(format!(
                "{}: {path}: no such value in the file; check the path, or pass --create to add it",
                input.name
            )));
        }
    }
    let explicit = match identity::explicit_recipient(recipient)? {
        Some(r) => Some(r),
        // Without an identity at hand this is no solo file: the policy, or the
        // "no recipient" error, decides.
        None => solo_recipient(file, input_type, &[]).ok().flatten(),
    };
    let target = target(file, explicit, None, policy)?;
    let ty = match ty {
        TypeArg::String => ScalarType::String,
        TypeArg::Int => ScalarType::Int,
        TypeArg::Float => ScalarType::Float,
        TypeArg::Bool => ScalarType::Bool,
    };
    let value = match generated {
        Some(value) => value,
        None => read_value(&path)?,
    };
    let mut sealer =
        Sealer::new(&target.recipient).map_err(|e| Failure::usage(format!("recipient: {e}")))?;
    let _lock = lock_in_place(file)?;
    let input = read_input(file, input_type)?;
    let out = cachet::set_value_in(
        input.format,
        attestation::split(input.format, &input.text).body,
        document,
        &path,
        &value,
        ty,
        &mut sealer,
    )
    .map_err(|e| seal_failure(&input.name, e, &target))?;
    let attested = attest::write_resealed(file, &input, &out, (&target, policy))?;
    match generate {
        Some((charset, _)) => {
            let _ = writeln!(
                io::stderr(),
                "{}: sealed {path} {}: a new secret of {} {} characters",
                input.name,
                target.destination(),
                value.len(),
                charset.name()
            );
        }
        None => {
            let _ = writeln!(
                io::stderr(),
                "{}: sealed {path} {}",
                input.name,
                target.destination()
            );
        }
    }
    if let Some(attested) = attested {
        let _ = writeln!(io::stderr(), "{attested}");
    }
    Ok(())
}
