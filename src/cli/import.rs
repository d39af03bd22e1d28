//! `cachet import sops`: moves a SOPS file encrypted to age into cachet, sealing
//! exactly the values SOPS had encrypted (`spec/import-sops.md`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use cachet::Format;
use cachet::sops::{ImportOptions, SopsError, SopsFormat};
use cachet::team::identity_file::IdentitySet;
use cachet::worktree::atomic::Mode;
use zeroize::Zeroizing;

use super::args::{ImportSopsArgs, SopsInputType};
use super::{Failure, identity, note};

/// Runs `cachet import sops`.
pub fn sops(args: &ImportSopsArgs) -> Result<(), Failure> {
    let name = args.file.display().to_string();
    let store = match args.input_type {
        Some(SopsInputType::Yaml) => SopsFormat::Yaml,
        Some(SopsInputType::Json) => SopsFormat::Json,
        Some(SopsInputType::Dotenv) => SopsFormat::Dotenv,
        Some(SopsInputType::Ini) => SopsFormat::Ini,
        Some(SopsInputType::Binary) => SopsFormat::Binary,
        None => SopsFormat::from_path(&args.file),
    };
    let dest: Option<&Path> = if args.in_place {
        Some(&args.file)
    } else {
        args.output.as_deref()
    };
    let binary_as = (store == SopsFormat::Binary)
        .then(|| Format::from_path(&args.file))
        .flatten();
    let produced = match store {
        SopsFormat::Yaml => Format::Yaml,
        SopsFormat::Json => Format::Json,
        SopsFormat::Dotenv => Format::Env,
        SopsFormat::Ini => Format::Toml,
        SopsFormat::Binary => binary_as.unwrap_or(Format::Json),
    };
    if store == SopsFormat::Ini && args.in_place {
        return Err(Failure::usage(format!(
            "{name}: an INI file is imported as TOML (cachet has no INI format); write it with -o FILE.toml"
        )));
    }
    if let Some(d) = dest
        && let Some(named) = Format::from_path(d)
        && named != produced
        && !(named == Format::Jsonc && produced == Format::Json)
    {
        return Err(Failure::usage(format!(
            "{}: names a {} file, but importing {name} gives {}; name the output accordingly",
            d.display(),
            named.display_name(),
            produced.display_name()
        )));
    }

    let explicit = identity::explicit_recipient(args.recipient.recipient.as_deref())?;
    // The environment is the one covering the file that will hold the values.
    let covered = dest.unwrap_or(&args.file);
    let _lock = dest.map(super::lock).transpose()?;
    let text = read_text(&args.file, &name)?;
    let ids = sops_identities(&args.identities)?;
    let age_ids: Vec<&dyn age::Identity> = ids.age_identities().collect();
    let options = ImportOptions {
        ignore_mac: args.ignore_mac,
        binary_as,
    };
    let imported =
        cachet::sops::import(store, &text, &age_ids, options).map_err(|e| failure(&name, &e))?;
    if let Some((source, e)) = ids.unlock_failure() {
        note(&format!("{source}: {e}"));
    }

    // A new output file belongs to the environment whose files cover its path.
    let target = super::target_of(
        covered,
        explicit,
        Some(&imported.selection),
        &args.policy,
        !covered.exists(),
    )?;
    let mut sealers = Vec::new();
    let sealer = super::sealer_for(&mut sealers, &target.recipient)?;
    let (sealed, report) =
        cachet::seal_document(imported.format, &imported.text, &imported.selection, sealer)
            .map_err(|e| super::seal_failure(&name, e, &target))?;
    match dest {
        Some(d) => super::write_file(d, sealed.as_bytes(), Mode::Keep)?,
        None => super::write_stdout(sealed.as_bytes())?,
    }

    let n = report.sealed.len();
    note(&format!(
        "{name}: imported from SOPS; sealed {n} value{} that SOPS had encrypted",
        if n == 1 { "" } else { "s" }
    ));
    if !imported.mac_matched {
        note(&format!(
            "{name}: SOPS's MAC did not match the values (ignored with --ignore-mac)"
        ));
    }
    if imported.comments > 0 {
        note(&format!(
            "{name}: {} comment{} that SOPS had encrypted {} now plain text (cachet seals values, not comments): check {} before committing",
            imported.comments,
            if imported.comments == 1 { "" } else { "s" },
            if imported.comments == 1 { "is" } else { "are" },
            if imported.comments == 1 { "it" } else { "them" },
        ));
    }
    Ok(())
}

fn failure(name: &str, e: &SopsError) -> Failure {
    Failure::about(name, e)
}

fn read_text(path: &Path, name: &str) -> Result<Zeroizing<String>, Failure> {
    let bytes = Zeroizing::new(
        fs::read(path).map_err(|e| Failure::usage(format!("{name}: cannot read: {e}")))?,
    );
    std::str::from_utf8(&bytes)
        .map(|t| Zeroizing::new(t.to_string()))
        .map_err(|e| {
            Failure::usage(format!(
                "{name}: not UTF-8 text (invalid byte at offset {}); SOPS writes text files",
                e.valid_up_to()
            ))
        })
}

/// SOPS's default key file: `sops/age/keys.txt` in the user's configuration
/// directory (`$XDG_CONFIG_HOME`, else `~/.config`, or on macOS
/// `~/Library/Application Support`), where sops looks.
fn sops_key_file() -> Option<PathBuf> {
    let base = match env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = PathBuf::from(env::var_os("HOME")?);
            if cfg!(target_os = "macos") {
                home.join("Library").join("Application Support")
            } else {
                home.join(".config")
            }
        }
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// The identities that open the SOPS data key: the `-i` files, else every one of
/// `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and SOPS's default key file that is
/// present, as sops itself reads them.
fn sops_identities(files: &[PathBuf]) -> Result<IdentitySet, Failure> {
    if !files.is_empty() {
        return identity::load(files);
    }
    let parse = |bytes: &[u8], source: &str| {
        IdentitySet::parse(bytes, source, identity::Terminal)
            .map_err(|e| Failure::usage(format!("{source}: {e}")))
    };
    let read = |path: &Path, source: &str| {
        let bytes =
            Zeroizing::new(fs::read(path).map_err(|e| Failure::usage(format!("{source}: {e}")))?);
        parse(&bytes, source)
    };
    let mut ids = IdentitySet::new();
    let mut found = false;
    if let Some(key) = env::var_os("SOPS_AGE_KEY").filter(|v| !v.is_empty()) {
        let key = Zeroizing::new(
            key.into_string()
                .map_err(|_| Failure::usage("SOPS_AGE_KEY is not UTF-8 text"))?,
        );
        ids.extend(parse(key.as_bytes(), "SOPS_AGE_KEY")?);
        found = true;
    }
    if let Some(path) = env::var_os("SOPS_AGE_KEY_FILE").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        let source = format!("SOPS_AGE_KEY_FILE {}", path.display());
        ids.extend(read(&path, &source)?);
        found = true;
    }
    let default = sops_key_file();
    if let Some(path) = default.as_ref().filter(|p| p.is_file()) {
        let source = format!("identity file {}", path.display());
        ids.extend(read(path, &source)?);
        found = true;
    }
    if !found {
        let default = default.map_or_else(
            || "$XDG_CONFIG_HOME/sops/age/keys.txt".to_string(),
            |p| p.display().to_string(),
        );
        return Err(Failure::usage(format!(
            "no age identity for the SOPS file: pass -i FILE, or set SOPS_AGE_KEY (the key) or SOPS_AGE_KEY_FILE, or put the key in {default}"
        )));
    }
    Ok(ids)
}
