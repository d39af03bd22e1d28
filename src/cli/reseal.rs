//! `cachet reseal FILE…`: every sealed value of a file opened and sealed again,
//! stamped now, to the key of the environment that covers the file
//! (`spec/policy.md` 6.4): a file copied from another environment is moved to
//! its own, and a value deliberately put back is accepted as set anew. Members
//! only: the values must open.

use std::io::{self, Write};

use cachet::SealedAt;
use cachet::document::attestation;
use cachet::document::rekey::reseal_values_at;
use cachet::team::unlock;

use super::args::ResealArgs;
use super::deploy::identities_for;
use super::team::{Notes, safe_directories};
use super::{Failure, identity, is_stdin, lock_in_place, read_input, target};

/// `cachet reseal FILE…`: every file is locked, opened and re-sealed in memory
/// before any is written.
pub fn reseal(args: &ResealArgs) -> Result<(), Failure> {
    if args.files.iter().any(|f| is_stdin(f)) {
        return Err(Failure::usage(
            "reseal changes files in place; name the files (not `-`)",
        ));
    }
    let explicit = identity::explicit_recipient(args.recipient.recipient.as_deref())?;
    let files = super::distinct_sorted(&args.files);
    let _locks = files
        .iter()
        .map(|f| lock_in_place(f))
        .collect::<Result<Vec<_>, _>>()?;
    let now = SealedAt::now();
    let mut done = Vec::new();
    for file in files {
        let target = target(file, explicit, None, &args.policy)?;
        let input = read_input(file, args.input.input_type)?;
        let body = attestation::split(input.format, &input.text).body;
        let values =
            cachet::list_values(input.format, body).map_err(|e| Failure::about(&input.name, &e))?;
        let mut needed: Vec<_> = values
            .iter()
            .filter_map(|v| v.sealed.map(|s| s.0))
            .collect();
        needed.dedup();
        let mut ids = identities_for(&[&input], &args.identity.identities)?;
        // The keys of every value: held, or from the keyrings of the environments
        // they belong to; a value no key here opens stops the whole run.
        unlock::unlock_for(file, &needed, &mut ids, (&safe_directories(), &Notes))?;
        if let Some(v) = values.iter().find(|v| {
            v.sealed
                .is_some_and(|(id, _)| ids.keys().get(&id).is_none())
        }) {
            let id = v.sealed.map(|s| s.0).unwrap_or(target.recipient.key_id());
            return Err(Failure::refused(format!(
                "{}: {}: sealed to key id {id}, which no identity given holds or opens through a keyring: only a member of the environment it was sealed for can re-seal it",
                input.name, v.path
            )));
        }
        let (out, report) =
            reseal_values_at(input.format, body, (ids.keys(), &target.recipient), now)
                .map_err(|e| Failure::about(&input.name, &e))?;
        done.push((file, input, target, out, report.resealed.len()));
    }
    for (file, input, target, out, n) in done {
        let attested = super::attest::write_resealed(file, &input, &out, (&target, &args.policy))?;
        let _ = writeln!(
            io::stderr(),
            "{}: sealed {n} value{} anew {}",
            input.name,
            if n == 1 { "" } else { "s" },
            target.destination()
        );
        if let Some(attested) = attested {
            let _ = writeln!(io::stderr(), "{attested}");
        }
    }
    Ok(())
}
